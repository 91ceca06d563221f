/* Private to core/tls*.c: the context and connection structs, which the context code
 * (tls_ctx.c: files, ALPN choice) and the connection engine (tls.c) both use. */
#ifndef PT_TLS_INTERNAL_H
#define PT_TLS_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "str.h"
#include "tls.h"

/* A context: one reference for its creator and each pt_tls_ctx_ref holder, one for each
 * connection; freed with the last. */
struct pt_tls_ctx_s {
    SSL_CTX *ssl;
    atomic_int refs;
    int server;
    int insecure;
    int alpn_required;
    unsigned char alpn[256]; /* wire format: length-prefixed names */
    unsigned alpn_len;
    char alpn_text[128]; /* as configured, for messages */
};

/* A connection, owned by the code that created it (pt_tls_create / pt_tls_destroy). */
struct pt_tls_s {
    pt_tls_ctx_t *ctx;
    SSL *ssl;
    BIO *rbio;     /* ciphertext from the peer (owned by ssl) */
    BIO *wbio;     /* ciphertext to the peer (owned by ssl) */
    pt_buf_t held; /* plaintext written before the handshake completed */
    unsigned ready : 1;
    unsigned failed : 1;
    unsigned shut : 1;
    char alpn[32]; /* negotiated protocol, "" for none */
    char err[256];
    char desc[96];
};

/* OpenSSL's reason for the most recent failure on this thread ("no start line") into out, and
 * clears the queue; "unknown error" when it is empty. */
void pt_tls__ossl_reason(char *out, size_t cap);

#endif
