/* A tiny blocking-style HTTP/1.1 test client for the server tests: real TCP sockets on
 * 127.0.0.1, with the server's libuv loop run in the same thread while the client waits, so a
 * test reads top to bottom. Header-only, static, test code only. */
#ifndef PT_HTTP_TEST_CLIENT_H
#define PT_HTTP_TEST_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define TC_TIMEOUT_MS 5000

typedef struct tc_client_s {
    uv_loop_t *loop;
    int fd;
    char buf[1 << 16];
    size_t len;
} tc_client_t;

static inline uint64_t tc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the loop for about ms milliseconds. */
static inline void tc_spin(uv_loop_t *loop, unsigned ms)
{
    uint64_t end = tc_now_ms() + ms;
    do {
        uv_run(loop, UV_RUN_NOWAIT);
        poll(NULL, 0, 1);
    } while (tc_now_ms() < end);
}

/* Runs the loop until *flag is set (or the timeout). Returns *flag. */
static inline int tc_spin_until(uv_loop_t *loop, const int *flag, unsigned ms)
{
    uint64_t end = tc_now_ms() + ms;
    while (!*flag && tc_now_ms() < end) {
        uv_run(loop, UV_RUN_NOWAIT);
        poll(NULL, 0, 1);
    }
    return *flag;
}

static inline int tc_connect_addr(tc_client_t *c, uv_loop_t *loop, int family, const char *ip,
                                  int port)
{
    struct sockaddr_storage ss;
    socklen_t sl;

    memset(c, 0, sizeof(*c));
    memset(&ss, 0, sizeof(ss));
    c->loop = loop;
    if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &in6->sin6_addr);
        sl = sizeof(*in6);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &in->sin_addr);
        sl = sizeof(*in);
    }
    c->fd = socket(family, SOCK_STREAM, 0);
    if (c->fd < 0) {
        return -errno;
    }
    /* Loopback connects complete in the kernel's backlog, before the server accepts. */
    if (connect(c->fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = -errno;
        close(c->fd);
        c->fd = -1;
        return e;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

static inline int tc_connect(tc_client_t *c, uv_loop_t *loop, int port)
{
    return tc_connect_addr(c, loop, AF_INET, "127.0.0.1", port);
}

static inline void tc_close(tc_client_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

/* Closes with a RST instead of a FIN. */
static inline void tc_reset(tc_client_t *c)
{
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    tc_close(c);
}

/* Sends everything, running the loop whenever the socket is full. 0 or -errno. */
static inline int tc_send_n(tc_client_t *c, const void *data, size_t len)
{
    const char *p = data;
    uint64_t end = tc_now_ms() + TC_TIMEOUT_MS;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return -errno;
        }
        if (tc_now_ms() > end) {
            return -ETIMEDOUT;
        }
        uv_run(c->loop, UV_RUN_NOWAIT);
        poll(NULL, 0, 1);
    }
    return 0;
}

static inline int tc_send(tc_client_t *c, const char *s)
{
    return tc_send_n(c, s, strlen(s));
}

/* Reads what is available into the buffer. 1 on data, 0 on nothing yet, -1 on EOF or error. */
static inline int tc_fill(tc_client_t *c)
{
    ssize_t n;
    if (c->len == sizeof(c->buf)) {
        return 0;
    }
    n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n > 0) {
        c->len += (size_t)n;
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return 0;
    }
    return -1;
}

/* Length of a complete response at the start of the buffer, or 0. head_only: no body follows
 * (a response to HEAD). Only Content-Length framing: the server always sends it. */
static inline size_t tc_complete(const tc_client_t *c, int head_only)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    size_t head;
    size_t body = 0;
    if (end == NULL) {
        return 0;
    }
    head = (size_t)(end - c->buf) + 4;
    if (!head_only) {
        for (const char *p = c->buf; p < end; p++) {
            if ((p == c->buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
                body = strtoul(p + 15, NULL, 10);
                break;
            }
        }
    }
    return c->len >= head + body ? head + body : 0;
}

/* Waits for one complete response and returns it as a malloc'd NUL-terminated string (the
 * caller frees it), or NULL on timeout or EOF first. */
static inline char *tc_read_response_ex(tc_client_t *c, int head_only)
{
    uint64_t end = tc_now_ms() + TC_TIMEOUT_MS;
    for (;;) {
        size_t n = tc_complete(c, head_only);
        if (n > 0) {
            char *r = malloc(n + 1);
            memcpy(r, c->buf, n);
            r[n] = '\0';
            memmove(c->buf, c->buf + n, c->len - n);
            c->len -= n;
            return r;
        }
        int rc = tc_fill(c);
        if (rc < 0 || tc_now_ms() > end) {
            return NULL;
        }
        if (rc == 0) {
            uv_run(c->loop, UV_RUN_NOWAIT);
            poll(NULL, 0, 1);
        }
    }
}

static inline char *tc_read_response(tc_client_t *c)
{
    return tc_read_response_ex(c, 0);
}

/* Waits up to ms for the server to close (EOF or reset). 1 if it did, 0 if not. Bytes that
 * arrive meanwhile stay in the buffer. */
static inline int tc_wait_closed(tc_client_t *c, unsigned ms)
{
    uint64_t end = tc_now_ms() + ms;
    while (tc_now_ms() < end) {
        int rc = tc_fill(c);
        if (rc < 0) {
            return 1;
        }
        if (rc == 0) {
            uv_run(c->loop, UV_RUN_NOWAIT);
            poll(NULL, 0, 1);
        }
    }
    return 0;
}

#endif
