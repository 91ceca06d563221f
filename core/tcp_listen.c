/* TCP listener pieces shared by the HTTP server and the OTLP/gRPC receiver: parsing and printing
 * IP literal addresses, bind and listen, and the accept-and-close of refused connections. */
#include "tcp_listen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pt_tcp_addr_parse(const char *host, int port, struct sockaddr_storage *ss)
{
    char buf[64];
    size_t n = strlen(host);

    /* Accept the bracketed form too, as in URLs and "[::1]:4318" configs. The longest literal,
     * an IPv6 address with a zone ("%eth0"), fits the buffer. */
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        if (n - 2 >= sizeof(buf)) {
            return -EINVAL;
        }
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        host = buf;
    }
    memset(ss, 0, sizeof(*ss));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) {
        return 0;
    }
    if (strchr(host, ':') != NULL && uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) {
        return 0;
    }
    return -EINVAL;
}

void pt_tcp_addr_format(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "";

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        uv_ip4_name(in, ip, sizeof(ip));
        snprintf(out, len, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(in6, ip, sizeof(ip));
        snprintf(out, len, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(out, len, "unknown");
    }
}

int pt_tcp_listen(uv_tcp_t *tcp, const struct sockaddr_storage *ss, int backlog,
                  uv_connection_cb cb)
{
    int rc = uv_tcp_bind(tcp, (const struct sockaddr *)ss, 0);

    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)tcp, backlog, cb);
    }
    return rc;
}

int pt_tcp_port(const uv_tcp_t *tcp)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int rc = uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len);

    if (rc != 0) {
        return rc;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return -EAFNOSUPPORT;
}

int pt_tcp_reject(uv_stream_t *listener, uv_tcp_t *t, void *data, uv_close_cb done)
{
    int rc;

    uv_tcp_init(listener->loop, t);
    t->data = data;
    rc = uv_accept(listener, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, done);
    return rc;
}
