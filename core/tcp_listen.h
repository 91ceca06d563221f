/* TCP listener pieces shared by the servers on the input loop (core/http_server and the OTLP/gRPC
 * receiver): IP literal addresses, bind and listen, and the accept-and-close of a connection a
 * server will not serve. Each server keeps its own policy: limits, counters and logs. */
#ifndef PT_TCP_LISTEN_H
#define PT_TCP_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

/* Parses host, an IPv4 or IPv6 literal ("[::1]" allowed, as in URLs and "[::1]:4318" configs),
 * and port into the caller's ss. Names are not resolved: that would need a resolver on the
 * loop. Returns 0 or -EINVAL. Any thread. */
int pt_tcp_addr_parse(const char *host, int port, struct sockaddr_storage *ss);

/* Writes ss as "127.0.0.1:5123" or "[::1]:5123" ("unknown" for another family) into the
 * caller's out, NUL-terminated and cut to len. Any thread. */
void pt_tcp_addr_format(const struct sockaddr_storage *ss, char *out, size_t len);

/* Binds tcp (the caller's handle, uv_tcp_init'ed on its loop) to ss and listens with backlog; cb
 * runs for each pending connection. Returns 0 or the libuv error (-EADDRINUSE, -EACCES, ...);
 * in both cases tcp is the caller's to uv_close. Loop thread. */
int pt_tcp_listen(uv_tcp_t *tcp, const struct sockaddr_storage *ss, int backlog,
                  uv_connection_cb cb);

/* The port tcp is bound to (useful after binding port 0), or a negative errno. Loop thread. */
int pt_tcp_port(const uv_tcp_t *tcp);

/* Accepts the connection pending on listener into t and closes it at once. A connection a
 * server will not serve must still be taken this way: libuv stops watching a listener whose
 * pending connection was not accepted. t is the caller's memory (heap or a spare handle); it is
 * initialised here, t->data is set to data, and done runs once it is closed, where the caller
 * may free or reuse it. Returns 0 when a connection was accepted (a rejection to count), or the
 * accept error. Loop thread (listener's). */
int pt_tcp_reject(uv_stream_t *listener, uv_tcp_t *t, void *data, uv_close_cb done);

#endif
