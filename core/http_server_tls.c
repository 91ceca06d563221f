/* TLS glue for the HTTP server: core/tls.c sits between the socket and the connection's state
 * machine, so reads are decrypted before they reach the parser and every write is encrypted on
 * its way out. Failed handshakes are counted and logged without flooding the log. */
#include <errno.h>

#include "common.h"
#include "http_server_internal.h"
#include "log.h"
#include "mem.h"

/* Failed TLS handshakes (scanners, plaintext clients, untrusted certificates) are logged at
 * most once per this interval per server, with a count of the ones not shown. */
#define TLS_LOG_INTERVAL_NS 1000000000ull

/* ---- TLS ---------------------------------------------------------------------------------- */

/* Writes whatever TLS has to send (handshake, alerts, tickets, encrypted responses). */
int pt_http__tls_flush(conn_t *c)
{
    size_t n = pt_tls_out_pending(c->tls);
    wreq_t *wr;

    if (n == 0) {
        return 0;
    }
    wr = pt_malloc(sizeof(*wr) + n);
    if (wr == NULL) {
        return -ENOMEM;
    }
    wr->len = pt_tls_out_read(c->tls, wr->data, n);
    return pt_http__conn_send_raw(c, wr);
}

/* Counts a failed handshake and logs it at debug, at most once a second per server: a scanner
 * or a misconfigured client fleet must not flood the log even at debug level. */
void pt_http__tls_handshake_failed(conn_t *c, const char *why)
{
    pt_http_server_t *srv = c->srv;
    uint64_t now = pt_now_mono_ns();

    pt_http__count(srv->m_tls_failed);
    if (srv->tls_log_ns != 0 && now - srv->tls_log_ns < TLS_LOG_INTERVAL_NS) {
        srv->tls_suppressed++;
        return;
    }
    if (srv->tls_suppressed > 0) {
        pt_log_debug("http server %s: TLS handshake with %s failed: %s (and %u more since the "
                     "last message)",
                     srv->name, c->peer_str, why, srv->tls_suppressed);
    } else {
        pt_log_debug("http server %s: TLS handshake with %s failed: %s", srv->name, c->peer_str,
                     why);
    }
    srv->tls_log_ns = now;
    srv->tls_suppressed = 0;
}

/* Plaintext out of TLS goes where a plaintext read goes. */
static int on_tls_plain(void *ud, const char *data, size_t len)
{
    conn_t *c = ud;
    pt_http__conn_on_data(c, data, len);
    return c->state == ST_CLOSED ? -ECONNABORTED : 0;
}

void pt_http__conn_on_tls_data(conn_t *c, const char *data, size_t len)
{
    int was_ready = pt_tls_is_ready(c->tls);
    int rc;

    /* The plaintext goes through the server's read buffer: the ciphertext in it is copied into
     * TLS first, and the parser copies out what it keeps, as for a plaintext read. */
    rc = pt_tls_recv(c->tls, data, len, c->srv->rbuf, sizeof(c->srv->rbuf), on_tls_plain, c);
    if (c->state == ST_CLOSED) {
        return;
    }
    /* The handshake, tickets and alerts are written as a side effect of reading. */
    if (pt_http__tls_flush(c) != 0) {
        pt_http__conn_close(c);
        return;
    }
    if (rc == 0) {
        return;
    }
    if (rc == -EPIPE) {
        /* close_notify: the client's clean end of data, handled as its FIN. */
        pt_http__conn_on_eof(c, UV_EOF);
        return;
    }
    if (!was_ready && !pt_tls_is_ready(c->tls)) {
        pt_http__tls_handshake_failed(c,
                                      rc == -EPROTO ? pt_tls_error_text(c->tls) : pt_strerror(rc));
    } else {
        pt_log_debug("http server %s: TLS error from %s: %s", c->srv->name, c->peer_str,
                     rc == -EPROTO ? pt_tls_error_text(c->tls) : pt_strerror(rc));
    }
    if (c->writes > 0 && rc == -EPROTO) {
        /* An alert is on its way: let it reach the client before the connection goes. */
        c->close_after = 1;
        pt_http__conn_linger(c);
        return;
    }
    pt_http__conn_close(c);
}
