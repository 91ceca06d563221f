/* TLS connections on OpenSSL through memory BIOs, so that any libuv stream code can add TLS
 * without handing its socket over: ciphertext read from the socket is fed into one BIO, OpenSSL
 * writes what must go out into another, and the caller moves bytes between those and the
 * network itself. Contexts are made in tls_ctx.c. */
#include "tls.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common.h"
#include "mem.h"
#include "tls_internal.h"

/* =============================================================== connections ============== */

/* Strips "[...]" from an IPv6 literal into buf; returns the bare name. */
static const char *bare_host(const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    if (n >= 2 && name[0] == '[' && name[n - 1] == ']' && n - 2 < cap) {
        memcpy(buf, name + 1, n - 2);
        buf[n - 2] = '\0';
        return buf;
    }
    return name;
}

int pt_tls_create(pt_tls_ctx_t *ctx, const char *peer_name, pt_tls_t **out)
{
    pt_tls_t *t;

    if (ctx == NULL || out == NULL || (!ctx->server && !ctx->insecure && peer_name == NULL)) {
        return -EINVAL;
    }
    t = pt_calloc(1, sizeof(*t));
    if (t == NULL) {
        return -ENOMEM;
    }
    pt_buf_init(&t->held);
    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        goto fail;
    }
    /* An empty input BIO means "wait for more", not end of file. */
    BIO_set_mem_eof_return(t->rbio, -1);
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_app_data(t->ssl, t);
    if (ctx->server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (peer_name != NULL) {
            char buf[256];
            const char *host = bare_host(peer_name, buf, sizeof(buf));
            ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
            if (ip != NULL) {
                /* RFC 6066: no SNI for an address; the certificate must list it as an IP SAN. */
                ASN1_OCTET_STRING_free(ip);
                if (!ctx->insecure &&
                    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1) {
                    goto fail;
                }
            } else {
                ERR_clear_error();
                if (SSL_set_tlsext_host_name(t->ssl, host) != 1 ||
                    (!ctx->insecure && SSL_set1_host(t->ssl, host) != 1)) {
                    goto fail;
                }
            }
        }
    }
    atomic_fetch_add(&ctx->refs, 1);
    t->ctx = ctx;
    *out = t;
    return 0;

fail:
    if (t->ssl != NULL && SSL_get_rbio(t->ssl) == t->rbio) {
        SSL_free(t->ssl); /* frees the BIOs too */
    } else {
        SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
    }
    pt_free(t);
    ERR_clear_error();
    return -ENOMEM;
}

void pt_tls_destroy(pt_tls_t *t)
{
    if (t == NULL) {
        return;
    }
    SSL_free(t->ssl);
    if (t->held.data != NULL) {
        OPENSSL_cleanse(t->held.data, t->held.len);
    }
    pt_buf_free(&t->held);
    pt_tls_ctx_destroy(t->ctx); /* the connection's reference */
    pt_free(t);
}

/* Records why the connection failed (the first reason wins: the ALPN callback may have set a
 * better one than OpenSSL's) and marks it done. */
static int fail(pt_tls_t *t, int ssl_err)
{
    t->failed = 1;
    if (t->err[0] == '\0') {
        unsigned long e = ERR_peek_last_error();
        long vr = SSL_get_verify_result(t->ssl);
        char why[160];

        if (e == 0) {
            snprintf(t->err, sizeof(t->err), "TLS failure (SSL_get_error %d)", ssl_err);
        } else {
            int reason = ERR_GET_REASON(e);
            pt_tls__ossl_reason(why, sizeof(why));
            if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK) {
                snprintf(t->err, sizeof(t->err), "%s: %s", why, X509_verify_cert_error_string(vr));
            } else {
                snprintf(t->err, sizeof(t->err), "%s", why);
            }
        }
    }
    ERR_clear_error();
    return -EPROTO;
}

/* The handshake is done: check ALPN, then send what was written meanwhile. */
static int on_handshake_done(pt_tls_t *t)
{
    const unsigned char *proto = NULL;
    unsigned len = 0;

    SSL_get0_alpn_selected(t->ssl, &proto, &len);
    if (t->ctx->alpn_required && len == 0) {
        snprintf(t->err, sizeof(t->err), "the %s negotiated no ALPN protocol (this side speaks %s)",
                 t->ctx->server ? "client" : "server", t->ctx->alpn_text);
        /* OpenSSL has no call to send an arbitrary alert once the handshake is over (the
         * server side never gets here: its ALPN callback refused in the handshake, unless the
         * client sent no ALPN at all); close_notify at least ends the connection cleanly. */
        SSL_shutdown(t->ssl);
        t->failed = 1;
        ERR_clear_error();
        return -EPROTO;
    }
    snprintf(t->alpn, sizeof(t->alpn), "%.*s", (int)len, (const char *)proto);
    t->ready = 1;
    snprintf(t->desc, sizeof(t->desc), "%s %s", SSL_get_version(t->ssl),
             SSL_get_cipher_name(t->ssl));
    if (t->held.len > 0) {
        int rc = pt_tls_write(t, t->held.data, t->held.len);
        OPENSSL_cleanse(t->held.data, t->held.len);
        pt_buf_free(&t->held);
        return rc;
    }
    return 0;
}

int pt_tls_handshake(pt_tls_t *t)
{
    int r;

    if (t->failed) {
        return -EPROTO;
    }
    if (t->ready) {
        return 0;
    }
    ERR_clear_error();
    r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        return on_handshake_done(t);
    }
    r = SSL_get_error(t->ssl, r);
    if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) {
        return PT_AGAIN;
    }
    return fail(t, r);
}

int pt_tls_feed(pt_tls_t *t, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        int n = (int)PT_MIN(len, (size_t)INT_MAX);
        if (BIO_write(t->rbio, p, n) != n) {
            ERR_clear_error();
            return -ENOMEM;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int pt_tls_read(pt_tls_t *t, void *buf, size_t cap, size_t *n)
{
    int r;

    *n = 0;
    if (t->failed || cap == 0) {
        return t->failed ? -EPROTO : PT_AGAIN;
    }
    if (!t->ready && (r = pt_tls_handshake(t)) != 0) {
        return r;
    }
    ERR_clear_error();
    r = SSL_read(t->ssl, buf, (int)PT_MIN(cap, (size_t)INT_MAX));
    if (r > 0) {
        *n = (size_t)r;
        return 0;
    }
    r = SSL_get_error(t->ssl, r);
    switch (r) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return PT_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return -EPIPE;
    default:
        return fail(t, r);
    }
}

int pt_tls_recv(pt_tls_t *t, const void *data, size_t len, char *buf, size_t cap, pt_tls_data_cb cb,
                void *ud)
{
    int rc = pt_tls_feed(t, data, len);

    while (rc == 0) {
        size_t n;
        rc = pt_tls_read(t, buf, cap, &n);
        if (rc == 0) {
            rc = cb(ud, buf, n);
        }
    }
    return rc == PT_AGAIN ? 0 : rc;
}

int pt_tls_write(pt_tls_t *t, const void *data, size_t len)
{
    const char *p = data;

    if (t->failed || t->shut) {
        return -EPROTO;
    }
    if (len == 0) {
        return 0;
    }
    if (!t->ready) {
        return pt_buf_append(&t->held, data, len);
    }
    while (len > 0) {
        int n = (int)PT_MIN(len, (size_t)INT_MAX / 2);
        int r;
        ERR_clear_error();
        r = SSL_write(t->ssl, p, n);
        if (r <= 0) {
            return fail(t, SSL_get_error(t->ssl, r));
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

size_t pt_tls_out_pending(const pt_tls_t *t)
{
    return BIO_ctrl_pending(t->wbio);
}

size_t pt_tls_out_read(pt_tls_t *t, void *buf, size_t cap)
{
    int n;

    if (cap == 0) {
        return 0;
    }
    n = BIO_read(t->wbio, buf, (int)PT_MIN(cap, (size_t)INT_MAX));
    return n > 0 ? (size_t)n : 0;
}

int pt_tls_out_take(pt_tls_t *t, pt_buf_t *out)
{
    size_t n = pt_tls_out_pending(t);

    if (n == 0) {
        return 0;
    }
    if (pt_buf_reserve(out, n) != 0) {
        return -ENOMEM;
    }
    out->len += pt_tls_out_read(t, out->data + out->len, n);
    return 0;
}

int pt_tls_is_ready(const pt_tls_t *t)
{
    return t->ready;
}

const char *pt_tls_alpn(const pt_tls_t *t)
{
    return t->alpn;
}

const char *pt_tls_describe(const pt_tls_t *t)
{
    return t->desc;
}

const char *pt_tls_error_text(const pt_tls_t *t)
{
    return t->err;
}

void pt_tls_shutdown(pt_tls_t *t)
{
    if (t->ready && !t->failed && !t->shut) {
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
    t->shut = 1;
}
