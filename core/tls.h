/* TLS for libuv stream code, on OpenSSL with memory BIOs: the caller keeps its socket and its
 * reads and writes, feeds the ciphertext it reads in and takes the plaintext out, and hands the
 * plaintext it wants to send in and takes the ciphertext out to write (the way h2o and nginx
 * plug TLS into their own event loops). Server and client contexts, ALPN, TLS 1.2 minimum. */
#ifndef PT_TLS_H
#define PT_TLS_H

#include <stddef.h>

#include "str.h"

/* A configured context (certificate, key, trust, ALPN), shared by its connections. Immutable
 * once created: connections may be created from it on any thread. */
typedef struct pt_tls_ctx_s pt_tls_ctx_t;

/* One TLS connection. Used by one thread at a time (its loop thread). */
typedef struct pt_tls_s pt_tls_t;

/* Which of the option files a context error is about, so that a config loader can name its
 * key ("TLS.KeyFile"). */
typedef enum {
    PT_TLS_FILE_NONE = 0, /* not about a file (out of memory, bad ALPN list, ...) */
    PT_TLS_FILE_CERT,
    PT_TLS_FILE_KEY,
    PT_TLS_FILE_CA,
} pt_tls_file_t;

/* Why a context could not be made. msg reads "<path>: <reason>" for a file's content
 * ("/x/key.pem: key does not match the certificate"), "cannot read <path>: <errno text>" when
 * the file cannot be opened, or just the reason otherwise; OpenSSL's own reason is quoted
 * where it adds something. */
typedef struct pt_tls_error_s {
    pt_tls_file_t file;
    char msg[512];
} pt_tls_error_t;

/* Settings for a context; every string is only read during the create call. */
typedef struct pt_tls_opts_s {
    /* Server: its certificate chain (PEM, leaf first) and private key (PEM, unencrypted); both
     * required. Client: an optional client certificate and key (both or neither). */
    const char *cert_file;
    const char *key_file;
    /* Server: CA bundle (PEM) client certificates must chain to; when set, a client without a
     * valid certificate is refused in the handshake. NULL: no client certificate asked for.
     * Client: CA bundle the server must chain to; NULL: the system store. */
    const char *ca_file;
    /* ALPN protocols in preference order, comma-separated ("h2", "http/1.1", "h2,http/1.1");
     * NULL or "": no ALPN. A server picks its first protocol the client also offers; a client
     * offers them all. */
    const char *alpn;
    /* Server: a client that negotiates none of alpn (offers others, or no ALPN at all) fails
     * the handshake. Client: a server that picks none fails it. */
    int alpn_required;
    /* Client only: do not verify the server's certificate or name (tests, never production). */
    int insecure;
} pt_tls_opts_t;

/* Makes a server context: TLS 1.2 minimum, OpenSSL's default ciphers at security level 2 (at
 * least), session tickets and a session cache, no renegotiation. The files are read now, and
 * a certificate, key or CA problem is reported here, never at the first handshake.
 * On 0, *out holds one reference (pt_tls_ctx_destroy). On error, err (may be NULL) says why
 * and nothing is left to free. Returns 0, -EINVAL (bad file or option), -ENOENT/-EACCES/...
 * (a file cannot be opened) or -ENOMEM. Any thread. */
int pt_tls_ctx_create_server(const pt_tls_opts_t *o, pt_tls_ctx_t **out, pt_tls_error_t *err);

/* Makes a client context: TLS 1.2 minimum, peer verification against ca_file or the system
 * store (unless insecure), optional client certificate, ALPN offer. Same contract as above. */
int pt_tls_ctx_create_client(const pt_tls_opts_t *o, pt_tls_ctx_t **out, pt_tls_error_t *err);

/* Takes another reference for a holder that must keep ctx past its creator (a server that
 * makes connections from it); drop it with pt_tls_ctx_destroy. Returns ctx. Any thread. */
pt_tls_ctx_t *pt_tls_ctx_ref(pt_tls_ctx_t *ctx);

/* Drops a reference (the creator's, or one from pt_tls_ctx_ref). The context is freed when its last
 * connection is destroyed too, so this may be called while connections still use it. NULL is
 * ignored. Any thread. */
void pt_tls_ctx_destroy(pt_tls_ctx_t *ctx);

/* A new connection on ctx (it takes a reference). For a client, peer_name is the host name or
 * IP literal ("[::1]" allowed) the server's certificate must match; a name is also sent as SNI.
 * It is required unless the context is insecure. For a server, peer_name is NULL.
 * Returns 0, -EINVAL or -ENOMEM. Free with pt_tls_destroy. Any thread; then only its own. */
int pt_tls_create(pt_tls_ctx_t *ctx, const char *peer_name, pt_tls_t **out);

/* Frees the connection and what it buffered (no close_notify: see pt_tls_shutdown). NULL is
 * ignored. */
void pt_tls_destroy(pt_tls_t *t);

/* ---- the read side: ciphertext in, plaintext out -------------------------------------------- */

/* Takes ciphertext read from the socket (copied). Returns 0 or -ENOMEM. */
int pt_tls_feed(pt_tls_t *t, const void *data, size_t len);

/* Decrypts into buf (at most cap bytes), advancing the handshake as needed. Returns 0 with
 * *n > 0 bytes of plaintext; PT_AGAIN when more ciphertext is needed (*n = 0); -EPIPE when the
 * peer sent close_notify (its clean end of data); -EPROTO when the handshake or a record
 * failed (pt_tls_error_text says why; the connection is done). After every call, send what
 * pt_tls_out_pending reports: the handshake, alerts and session tickets are written as a side
 * effect of reading. */
int pt_tls_read(pt_tls_t *t, void *buf, size_t cap, size_t *n);

/* Called by pt_tls_recv with each piece of plaintext; data is valid only during the call.
 * Returns 0 to go on; anything else stops pt_tls_recv, which returns it. */
typedef int (*pt_tls_data_cb)(void *ud, const char *data, size_t len);

/* pt_tls_feed then pt_tls_read until more ciphertext is needed, handing each piece to cb.
 * buf/cap is the caller's scratch for the plaintext (it may be the buffer data was read into:
 * data is copied before buf is written). Returns 0 (all of data taken, waiting for more), or
 * what pt_tls_read or cb returned to end it (-EPIPE, -EPROTO, -ENOMEM, cb's value). Send
 * pt_tls_out_pending afterwards in every case (a failed handshake leaves an alert to send). */
int pt_tls_recv(pt_tls_t *t, const void *data, size_t len, char *buf, size_t cap, pt_tls_data_cb cb,
                void *ud);

/* ---- the write side: plaintext in, ciphertext out ------------------------------------------- */

/* Encrypts len bytes of plaintext (copied). Before the handshake is done they are held and
 * encrypted as soon as it completes, so a client may write its first bytes right after
 * pt_tls_create. Returns 0, -ENOMEM, or -EPROTO once the connection has failed or was shut. */
int pt_tls_write(pt_tls_t *t, const void *data, size_t len);

/* Ciphertext waiting to be written to the socket, in bytes. */
size_t pt_tls_out_pending(const pt_tls_t *t);

/* Moves up to cap bytes of that ciphertext into buf; returns how many. */
size_t pt_tls_out_read(pt_tls_t *t, void *buf, size_t cap);

/* Appends all of it to out. Returns 0 or -ENOMEM (nothing taken). */
int pt_tls_out_take(pt_tls_t *t, pt_buf_t *out);

/* ---- handshake and state -------------------------------------------------------------------- */

/* Advances the handshake without reading application data. A client calls it once after
 * pt_tls_create to produce its ClientHello (then sends pt_tls_out_pending). Returns 0 when
 * the handshake is complete, PT_AGAIN while it needs more from the peer, -EPROTO when it
 * failed. A server need not call it: pt_tls_read drives the handshake. */
int pt_tls_handshake(pt_tls_t *t);

/* 1 once the handshake completed (and ALPN, when required, was agreed). */
int pt_tls_is_ready(const pt_tls_t *t);

/* The negotiated ALPN protocol ("h2"), or "" when none. Valid while t lives. */
const char *pt_tls_alpn(const pt_tls_t *t);

/* The TLS version and cipher of a completed handshake ("TLSv1.3 TLS_AES_256_GCM_SHA384"), for
 * logs. Valid while t lives. */
const char *pt_tls_describe(const pt_tls_t *t);

/* Why the connection failed ("certificate verify failed: unable to get local issuer
 * certificate", "peer did not return a certificate", "wrong version number"), or "" if it
 * has not. Valid while t lives. */
const char *pt_tls_error_text(const pt_tls_t *t);

/* Queues a close_notify alert (send pt_tls_out_pending, then shut the socket down). Further
 * writes fail. Harmless before the handshake completes or after a failure (nothing queued). */
void pt_tls_shutdown(pt_tls_t *t);

#endif
