/* Test hooks for the HTTP server: runs the connection state machine over a byte buffer with no
 * socket and no loop, so the fuzzer and unit tests reach the parser the way a client does. */
#ifndef PT_HTTP_SERVER_INTERNAL_H
#define PT_HTTP_SERVER_INTERNAL_H

#include "http_server.h"

/* Called by pt_http__feed after each piece, once the writes it caused have completed: the
 * place to answer a request the handler kept, as a timer would on a real loop. */
typedef void (*pt_http__tick_cb)(void *ud);

/* Feeds data to one simulated connection in pieces of at most chunk bytes (0 or more than
 * 64 KiB: 64 KiB, the size of a real read), as if a client sent it, and appends every byte the
 * server would write to out (caller-owned). Requests go to cb as on a real connection; a write
 * completes before the next piece is fed; tick (may be NULL) runs after each piece. When
 * fire_timeout is set, the connection's timer fires once after the last piece if it is armed;
 * then the client half-closes, and the connection is closed. Requests the handler has not
 * answered by then are detached: answer them afterwards (pt_http_respond returns -ENOTCONN).
 * Metrics are not registered. Returns 0, -EINVAL or -ENOMEM (setting up). Any thread, no loop
 * needed: calls share no state. */
int pt_http__feed(const pt_http_server_opts_t *opts, const void *data, size_t len, size_t chunk,
                  int fire_timeout, pt_http_request_cb cb, pt_http__tick_cb tick, void *ud,
                  pt_buf_t *out);

#endif
