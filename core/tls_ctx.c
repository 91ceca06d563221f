/* TLS contexts on OpenSSL: certificate, key and CA files are read and checked when the context
 * is made, so a config check reports them with the file's name instead of the first client
 * finding out; the ALPN list, and the server's ALPN choice. The per-connection engine is in
 * tls.c. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "common.h"
#include "mem.h"
#include "tls_internal.h"

/* Certificates and keys are small; a bigger file is a mistake (a log file named by accident),
 * and reading it whole would waste memory at each config check. */
#define PEM_FILE_MAX (4u << 20)
/* Session id context for the server cache: OpenSSL refuses to resume a session on a server
 * that verifies client certificates unless one is set. */
#define SESSION_ID_CTX "petrel"

/* ==================================================================== errors ============== */

/* OpenSSL's reason for the most recent failure on this thread ("no start line"), and clears
 * the queue; "unknown error" when it is empty. */
void pt_tls__ossl_reason(char *out, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    if (r != NULL) {
        snprintf(out, cap, "%s", r);
    } else if (e != 0) {
        ERR_error_string_n(e, out, cap);
    } else {
        snprintf(out, cap, "unknown error");
    }
    ERR_clear_error();
}

/* " (reason)" for a PEM file OpenSSL could not parse, or "" when the reason only restates
 * that nothing of the wanted kind was found ("no start line", or "unsupported" from the
 * OpenSSL 3 decoders given a certificate where a key was expected). */
static void pem_reason(char *out, size_t cap)
{
    int r = ERR_GET_REASON(ERR_peek_last_error());

    if (ERR_peek_last_error() == 0 || r == PEM_R_NO_START_LINE || r == ERR_R_UNSUPPORTED) {
        out[0] = '\0';
        ERR_clear_error();
        return;
    }
    out[0] = ' ';
    out[1] = '(';
    pt_tls__ossl_reason(out + 2, cap - 3);
    strcat(out, ")");
}

static int ossl_last_reason(void)
{
    return ERR_GET_REASON(ERR_peek_last_error());
}

static int set_err(pt_tls_error_t *err, pt_tls_file_t file, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_err(pt_tls_error_t *err, pt_tls_file_t file, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->file = file;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
    return rc;
}

/* ================================================================ file loading ============ */

/* Reads a whole PEM file into a memory BIO (the bytes are wiped when it is freed: keys pass
 * through here). Reading it ourselves gives the errno for a missing or unreadable file. */
static int read_pem(const char *path, pt_tls_file_t file, BIO **out, pt_tls_error_t *err)
{
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    int fd;
    int rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        return set_err(err, file, rc, "cannot read %s: %s", path, pt_strerror(rc));
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        set_err(err, file, rc, "cannot read %s: %s", path, pt_strerror(rc));
        goto done;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)PEM_FILE_MAX) {
        rc = -EINVAL;
        set_err(err, file, rc, "%s: %s", path,
                S_ISREG(st.st_mode) ? "larger than 4 MiB, not a PEM file" : "not a regular file");
        goto done;
    }
    data = pt_malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        rc = -ENOMEM;
        set_err(err, PT_TLS_FILE_NONE, rc, "out of memory");
        goto done;
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
            set_err(err, file, rc, "cannot read %s: %s", path, pt_strerror(rc));
            goto done;
        }
        if (n == 0) {
            break; /* shrank meanwhile: parse what is there */
        }
        len += (size_t)n;
    }
    *out = BIO_new(BIO_s_secmem());
    if (*out == NULL || BIO_write(*out, data, (int)len) != (int)len) {
        BIO_free(*out);
        *out = NULL;
        rc = -ENOMEM;
        set_err(err, PT_TLS_FILE_NONE, rc, "out of memory");
    }
done:
    if (data != NULL) {
        OPENSSL_cleanse(data, len);
        pt_free(data);
    }
    close(fd);
    return rc;
}

/* The key callback: petrel runs unattended, so an encrypted key is an error, never a prompt on
 * the terminal (OpenSSL's default). */
static int on_key_password(char *buf, int size, int rwflag, void *ud)
{
    PT_UNUSED(buf);
    PT_UNUSED(size);
    PT_UNUSED(rwflag);
    if (ud != NULL) {
        *(int *)ud = 1; /* load_key's flag; NULL when OpenSSL calls the context's default */
    }
    return -1;
}

/* Loads the certificate chain (leaf first) into ctx; *leaf is the leaf, not owned. */
static int load_chain(SSL_CTX *ctx, const char *path, X509 **leaf, pt_tls_error_t *err)
{
    char why[160];
    BIO *bio = NULL;
    X509 *x = NULL;
    int rc;

    if ((rc = read_pem(path, PT_TLS_FILE_CERT, &bio, err)) != 0) {
        return rc;
    }
    x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
    if (x == NULL) {
        pem_reason(why, sizeof(why));
        rc = set_err(err, PT_TLS_FILE_CERT, -EINVAL, "%s: no PEM certificate found%s", path, why);
        goto done;
    }
    if (SSL_CTX_use_certificate(ctx, x) != 1) {
        pt_tls__ossl_reason(why, sizeof(why));
        rc = set_err(err, PT_TLS_FILE_CERT, -EINVAL, "%s: certificate refused: %s", path, why);
        goto done;
    }
    *leaf = SSL_CTX_get0_certificate(ctx);
    /* The rest of the file is the chain up to (not necessarily including) the root. */
    for (;;) {
        X509 *ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (ca == NULL) {
            break;
        }
        if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
            X509_free(ca);
            pt_tls__ossl_reason(why, sizeof(why));
            rc = set_err(err, PT_TLS_FILE_CERT, -EINVAL, "%s: chain certificate refused: %s", path,
                         why);
            goto done;
        }
    }
    /* The loop ends on "no start line" at the end of the file; anything else is a broken
     * certificate in the chain. */
    if (ERR_peek_last_error() != 0 && ossl_last_reason() != PEM_R_NO_START_LINE) {
        pt_tls__ossl_reason(why, sizeof(why));
        rc = set_err(err, PT_TLS_FILE_CERT, -EINVAL, "%s: bad certificate in the chain (%s)", path,
                     why);
        goto done;
    }
    ERR_clear_error();
    rc = 0;
done:
    X509_free(x);
    BIO_free(bio);
    return rc;
}

static int load_key(SSL_CTX *ctx, const char *path, X509 *leaf, pt_tls_error_t *err)
{
    char why[160];
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;
    int encrypted = 0;
    int rc;

    if ((rc = read_pem(path, PT_TLS_FILE_KEY, &bio, err)) != 0) {
        return rc;
    }
    key = PEM_read_bio_PrivateKey(bio, NULL, on_key_password, &encrypted);
    if (key == NULL) {
        pem_reason(why, sizeof(why));
        rc = set_err(err, PT_TLS_FILE_KEY, -EINVAL, "%s: %s%s", path,
                     encrypted ? "the key is encrypted; petrel needs an unencrypted PEM key"
                               : "no PEM private key found",
                     encrypted ? "" : why);
        goto done;
    }
    /* Checked here so the message can say what is wrong: OpenSSL's "key values mismatch"
     * does not name the files involved. */
    if (leaf != NULL && X509_check_private_key(leaf, key) != 1) {
        rc = set_err(err, PT_TLS_FILE_KEY, -EINVAL, "%s: key does not match the certificate", path);
        goto done;
    }
    if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        pt_tls__ossl_reason(why, sizeof(why));
        rc = set_err(err, PT_TLS_FILE_KEY, -EINVAL, "%s: key refused: %s", path, why);
        goto done;
    }
    rc = 0;
done:
    EVP_PKEY_free(key);
    BIO_free(bio);
    return rc;
}

/* Loads every certificate of a CA bundle as a trust anchor; for a server, their subjects are
 * also the CA names sent in the certificate request. */
static int load_ca(SSL_CTX *ctx, const char *path, int server, pt_tls_error_t *err)
{
    char why[160];
    STACK_OF(X509_INFO) *infos = NULL;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    BIO *bio = NULL;
    int n = 0;
    int rc;

    if ((rc = read_pem(path, PT_TLS_FILE_CA, &bio, err)) != 0) {
        return rc;
    }
    infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    if (infos == NULL) {
        pem_reason(why, sizeof(why));
        rc = set_err(err, PT_TLS_FILE_CA, -EINVAL, "%s: no PEM certificate found%s", path, why);
        goto done;
    }
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *xi = sk_X509_INFO_value(infos, i);
        if (xi->x509 == NULL) {
            continue;
        }
        if (X509_STORE_add_cert(store, xi->x509) != 1 ||
            (server && SSL_CTX_add_client_CA(ctx, xi->x509) != 1)) {
            pt_tls__ossl_reason(why, sizeof(why));
            rc = set_err(err, PT_TLS_FILE_CA, -EINVAL, "%s: CA certificate refused: %s", path, why);
            goto done;
        }
        n++;
    }
    if (n == 0) {
        rc = set_err(err, PT_TLS_FILE_CA, -EINVAL, "%s: no PEM certificate found", path);
        goto done;
    }
    ERR_clear_error();
    rc = 0;
done:
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(bio);
    return rc;
}

/* "h2,http/1.1" -> "\x02h2\x08http/1.1". */
static int parse_alpn(pt_tls_ctx_t *c, const char *list, pt_tls_error_t *err)
{
    const char *p = list;

    c->alpn_len = 0;
    if (list == NULL || list[0] == '\0') {
        return 0;
    }
    snprintf(c->alpn_text, sizeof(c->alpn_text), "%s", list);
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n > 31 || c->alpn_len + 1 + n > sizeof(c->alpn)) {
            return set_err(err, PT_TLS_FILE_NONE, -EINVAL, "bad ALPN protocol list '%s'", list);
        }
        c->alpn[c->alpn_len++] = (unsigned char)n;
        memcpy(c->alpn + c->alpn_len, p, n);
        c->alpn_len += (unsigned)n;
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    return 0;
}

/* ================================================================== contexts ============== */

/* The server's ALPN choice: its own first protocol that the client offers too. */
static int on_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg)
{
    pt_tls_ctx_t *c = arg;
    unsigned char *sel = NULL;
    unsigned char sellen = 0;

    if (SSL_select_next_proto(&sel, &sellen, c->alpn, c->alpn_len, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = sel;
        *outlen = sellen;
        return SSL_TLSEXT_ERR_OK;
    }
    if (c->alpn_required) {
        pt_tls_t *t = SSL_get_app_data(ssl);
        if (t != NULL) {
            snprintf(t->err, sizeof(t->err),
                     "the client offered no ALPN protocol this server speaks (%s)", c->alpn_text);
        }
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    /* Go on without ALPN: an HTTP/1.1 server can still serve a client that prefers h2. */
    return SSL_TLSEXT_ERR_NOACK;
}

static int ctx_new(const pt_tls_opts_t *o, int server, pt_tls_ctx_t **out, pt_tls_error_t *err)
{
    char why[160];
    pt_tls_ctx_t *c;
    int rc;

    if (err != NULL) {
        err->file = PT_TLS_FILE_NONE;
        err->msg[0] = '\0';
    }
    if (o == NULL || out == NULL) {
        return set_err(err, PT_TLS_FILE_NONE, -EINVAL, "no TLS options");
    }
    c = pt_calloc(1, sizeof(*c));
    if (c == NULL) {
        return set_err(err, PT_TLS_FILE_NONE, -ENOMEM, "out of memory");
    }
    atomic_init(&c->refs, 1);
    c->server = server;
    c->insecure = !server && o->insecure;
    c->alpn_required = o->alpn_required;
    if ((rc = parse_alpn(c, o->alpn, err)) != 0) {
        goto fail;
    }
    if (c->alpn_required && c->alpn_len == 0) {
        rc = set_err(err, PT_TLS_FILE_NONE, -EINVAL, "ALPN is required but no protocol is set");
        goto fail;
    }
    ERR_clear_error();
    c->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (c->ssl == NULL) {
        pt_tls__ossl_reason(why, sizeof(why));
        rc = set_err(err, PT_TLS_FILE_NONE, -ENOMEM, "cannot make a TLS context: %s", why);
        goto fail;
    }
    SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION);
    /* OpenSSL's default ciphers; level 2 refuses keys under 112 bits of security (RSA < 2048,
     * SHA-1 signatures). A system policy asking for more is kept. */
    if (SSL_CTX_get_security_level(c->ssl) < 2) {
        SSL_CTX_set_security_level(c->ssl, 2);
    }
    /* Idle keep-alive connections give their read and write buffers back (about 34 KiB each),
     * as nginx does. */
    SSL_CTX_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(c->ssl, on_key_password);
    if (server) {
        /* Client-initiated renegotiation (TLS 1.2) only costs the server CPU. */
        SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        SSL_CTX_set_session_id_context(c->ssl, (const unsigned char *)SESSION_ID_CTX,
                                       sizeof(SESSION_ID_CTX) - 1);
        if (o->cert_file == NULL || o->key_file == NULL) {
            rc = set_err(err, o->cert_file == NULL ? PT_TLS_FILE_CERT : PT_TLS_FILE_KEY, -EINVAL,
                         "a TLS server needs both a certificate and a key file");
            goto fail;
        }
        if (c->alpn_len > 0) {
            SSL_CTX_set_alpn_select_cb(c->ssl, on_alpn_select, c);
        }
    } else {
        if ((o->cert_file == NULL) != (o->key_file == NULL)) {
            rc = set_err(err, o->cert_file == NULL ? PT_TLS_FILE_CERT : PT_TLS_FILE_KEY, -EINVAL,
                         "a client certificate and its key go together");
            goto fail;
        }
        if (c->alpn_len > 0 && SSL_CTX_set_alpn_protos(c->ssl, c->alpn, c->alpn_len) != 0) {
            rc = set_err(err, PT_TLS_FILE_NONE, -ENOMEM, "out of memory");
            goto fail;
        }
        SSL_CTX_set_verify(c->ssl, c->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    }
    if (o->cert_file != NULL) {
        X509 *leaf = NULL;
        if ((rc = load_chain(c->ssl, o->cert_file, &leaf, err)) != 0 ||
            (rc = load_key(c->ssl, o->key_file, leaf, err)) != 0) {
            goto fail;
        }
    }
    if (o->ca_file != NULL) {
        if ((rc = load_ca(c->ssl, o->ca_file, server, err)) != 0) {
            goto fail;
        }
        if (server) {
            SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        }
    } else if (!server && !c->insecure && SSL_CTX_set_default_verify_paths(c->ssl) != 1) {
        pt_tls__ossl_reason(why, sizeof(why));
        rc = set_err(err, PT_TLS_FILE_CA, -EINVAL, "cannot load the system CA store: %s", why);
        goto fail;
    }
    ERR_clear_error();
    *out = c;
    return 0;

fail:
    SSL_CTX_free(c->ssl);
    pt_free(c);
    return rc;
}

int pt_tls_ctx_create_server(const pt_tls_opts_t *o, pt_tls_ctx_t **out, pt_tls_error_t *err)
{
    return ctx_new(o, 1, out, err);
}

int pt_tls_ctx_create_client(const pt_tls_opts_t *o, pt_tls_ctx_t **out, pt_tls_error_t *err)
{
    return ctx_new(o, 0, out, err);
}

static void ctx_unref(pt_tls_ctx_t *c)
{
    if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1) {
        SSL_CTX_free(c->ssl);
        pt_free(c);
    }
}

pt_tls_ctx_t *pt_tls_ctx_ref(pt_tls_ctx_t *ctx)
{
    atomic_fetch_add(&ctx->refs, 1);
    return ctx;
}

void pt_tls_ctx_destroy(pt_tls_ctx_t *ctx)
{
    ctx_unref(ctx);
}
