/* Tests for core/tls.c: certificates made on the fly with OpenSSL (a CA, a server certificate
 * for 127.0.0.1 and localhost, client certificates from that CA and from another one), then a
 * client and a server connection pumped against each other in memory, asserting what each side
 * reads, the negotiated ALPN, and the exact error texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "core/mem.h"
#include "core/tls.h"

#include "tls_test_certs.h"

/* ---- contexts and a pump ------------------------------------------------------------------ */

static pt_tls_ctx_t *server_ctx(const char *ca, const char *alpn, int required)
{
    pt_tls_opts_t o = {.cert_file = path_of("server.pem"),
                       .key_file = path_of("server.key"),
                       .ca_file = ca != NULL ? path_of(ca) : NULL,
                       .alpn = alpn,
                       .alpn_required = required};
    pt_tls_error_t err;
    pt_tls_ctx_t *ctx = NULL;
    int rc = pt_tls_ctx_create_server(&o, &ctx, &err);
    if (rc != 0) {
        fail_msg("server context: %s", err.msg);
    }
    return ctx;
}

static pt_tls_ctx_t *client_ctx(const char *ca, const char *cert, const char *alpn)
{
    pt_tls_opts_t o = {.ca_file = ca != NULL ? path_of(ca) : NULL,
                       .cert_file = cert != NULL ? path_of(cert) : NULL,
                       .key_file = cert != NULL ? path_of("client.key") : NULL,
                       .alpn = alpn};
    pt_tls_error_t err;
    pt_tls_ctx_t *ctx = NULL;
    int rc = pt_tls_ctx_create_client(&o, &ctx, &err);
    if (rc != 0) {
        fail_msg("client context: %s", err.msg);
    }
    return ctx;
}

typedef struct side_s {
    pt_tls_t *t;
    pt_buf_t got; /* plaintext read */
    int rc;       /* last pt_tls_read status that ended a round: 0, -EPIPE, -EPROTO */
} side_t;

/* Moves a's ciphertext to b and reads b dry. Returns the bytes moved. */
static size_t move(side_t *a, side_t *b)
{
    static char buf[1 << 16];
    size_t moved = 0;
    size_t n;

    while ((n = pt_tls_out_read(a->t, buf, sizeof(buf))) > 0) {
        assert_int_equal(pt_tls_feed(b->t, buf, n), 0);
        moved += n;
    }
    if (b->rc != 0) {
        return moved;
    }
    for (;;) {
        int rc = pt_tls_read(b->t, buf, sizeof(buf), &n);
        if (rc == 0) {
            assert_int_equal(pt_buf_append(&b->got, buf, n), 0);
            continue;
        }
        if (rc != PT_AGAIN) {
            b->rc = rc;
        }
        break;
    }
    return moved;
}

/* Runs both sides until neither has anything to send. */
static void pump(side_t *c, side_t *s)
{
    for (int i = 0; i < 1000; i++) {
        size_t n = move(c, s) + move(s, c);
        if (n == 0 && pt_tls_out_pending(c->t) == 0 && pt_tls_out_pending(s->t) == 0) {
            return;
        }
    }
    fail_msg("pump did not settle");
}

static void sides(side_t *c, side_t *s, pt_tls_ctx_t *cctx, pt_tls_ctx_t *sctx, const char *name)
{
    memset(c, 0, sizeof(*c));
    memset(s, 0, sizeof(*s));
    assert_int_equal(pt_tls_create(cctx, name, &c->t), 0);
    assert_int_equal(pt_tls_create(sctx, NULL, &s->t), 0);
    assert_int_equal(pt_tls_handshake(c->t), PT_AGAIN);
}

static void sides_free(side_t *c, side_t *s)
{
    pt_tls_destroy(c->t);
    pt_tls_destroy(s->t);
    pt_buf_free(&c->got);
    pt_buf_free(&s->got);
}

/* ---- tests: contexts ---------------------------------------------------------------------- */

static void expect_server_error(const char *cert, const char *key, const char *ca,
                                pt_tls_file_t file, const char *msg)
{
    pt_tls_opts_t o = {.cert_file = cert, .key_file = key, .ca_file = ca};
    pt_tls_error_t err;
    pt_tls_ctx_t *ctx = NULL;

    assert_int_not_equal(pt_tls_ctx_create_server(&o, &ctx, &err), 0);
    assert_null(ctx);
    assert_string_equal(err.msg, msg);
    assert_int_equal(err.file, file);
}

static void test_ctx_errors(void **state)
{
    char want[512];
    PT_UNUSED(state);

    snprintf(want, sizeof(want), "cannot read %s: No such file or directory", path_of("nope.pem"));
    expect_server_error(path_of("nope.pem"), path_of("server.key"), NULL, PT_TLS_FILE_CERT, want);

    snprintf(want, sizeof(want), "cannot read %s: No such file or directory", path_of("nope.key"));
    expect_server_error(path_of("server.pem"), path_of("nope.key"), NULL, PT_TLS_FILE_KEY, want);

    snprintf(want, sizeof(want), "%s: no PEM certificate found", path_of("notpem.txt"));
    expect_server_error(path_of("notpem.txt"), path_of("server.key"), NULL, PT_TLS_FILE_CERT, want);

    snprintf(want, sizeof(want), "%s: no PEM private key found", path_of("server.pem"));
    expect_server_error(path_of("server.pem"), path_of("server.pem"), NULL, PT_TLS_FILE_KEY, want);

    snprintf(want, sizeof(want), "%s: key does not match the certificate", path_of("wrong.key"));
    expect_server_error(path_of("server.pem"), path_of("wrong.key"), NULL, PT_TLS_FILE_KEY, want);

    snprintf(want, sizeof(want), "%s: the key is encrypted; petrel needs an unencrypted PEM key",
             path_of("server-enc.key"));
    expect_server_error(path_of("server.pem"), path_of("server-enc.key"), NULL, PT_TLS_FILE_KEY,
                        want);

    snprintf(want, sizeof(want), "%s: no PEM certificate found", path_of("empty.pem"));
    expect_server_error(path_of("server.pem"), path_of("server.key"), path_of("empty.pem"),
                        PT_TLS_FILE_CA, want);

    snprintf(want, sizeof(want), "%s: no PEM certificate found", path_of("notpem.txt"));
    expect_server_error(path_of("server.pem"), path_of("server.key"), path_of("notpem.txt"),
                        PT_TLS_FILE_CA, want);

    snprintf(want, sizeof(want), "%s: not a regular file", dir);
    expect_server_error(dir, path_of("server.key"), NULL, PT_TLS_FILE_CERT, want);

    expect_server_error(path_of("server.pem"), NULL, NULL, PT_TLS_FILE_KEY,
                        "a TLS server needs both a certificate and a key file");
}

static void test_ctx_ok(void **state)
{
    pt_tls_opts_t o = {.cert_file = path_of("server-chain.pem"),
                       .key_file = path_of("server.key"),
                       .ca_file = path_of("ca.pem"),
                       .alpn = "h2,http/1.1"};
    pt_tls_error_t err;
    pt_tls_ctx_t *ctx = NULL;
    pt_tls_t *t = NULL;

    PT_UNUSED(state);
    assert_int_equal(pt_tls_ctx_create_server(&o, &ctx, &err), 0);
    assert_int_equal(pt_tls_create(ctx, NULL, &t), 0);
    /* The context outlives its creator's reference while a connection holds it. */
    pt_tls_ctx_destroy(ctx);
    assert_int_equal(pt_tls_is_ready(t), 0);
    assert_string_equal(pt_tls_alpn(t), "");
    pt_tls_destroy(t);

    o.alpn = "h2,,x";
    assert_int_equal(pt_tls_ctx_create_server(&o, &ctx, &err), -EINVAL);
    assert_string_equal(err.msg, "bad ALPN protocol list 'h2,,x'");
}

/* ---- tests: connections ------------------------------------------------------------------- */

static void test_handshake_and_data(void **state)
{
    pt_tls_ctx_t *sctx = server_ctx(NULL, "h2", 1);
    pt_tls_ctx_t *cctx = client_ctx("ca.pem", NULL, "h2");
    side_t c, s;
    char *big;
    size_t big_len = 8u << 20;

    PT_UNUSED(state);
    sides(&c, &s, cctx, sctx, "127.0.0.1");
    /* Written before the handshake: held, then sent once it is done. */
    assert_int_equal(pt_tls_write(c.t, "PRI * HTTP/2.0", 14), 0);
    pump(&c, &s);
    assert_int_equal(pt_tls_is_ready(c.t), 1);
    assert_int_equal(pt_tls_is_ready(s.t), 1);
    assert_string_equal(pt_tls_alpn(c.t), "h2");
    assert_string_equal(pt_tls_alpn(s.t), "h2");
    assert_non_null(strstr(pt_tls_describe(s.t), "TLSv1.3"));
    assert_int_equal(s.got.len, 14);
    assert_memory_equal(s.got.data, "PRI * HTTP/2.0", 14);

    /* 8 MiB each way arrives intact. */
    big = malloc(big_len);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (char)(i * 7 + i / 4096);
    }
    assert_int_equal(pt_tls_write(s.t, big, big_len), 0);
    assert_int_equal(pt_tls_write(c.t, big, big_len), 0);
    pump(&c, &s);
    assert_int_equal(c.got.len, big_len);
    assert_int_equal(s.got.len, 14 + big_len);
    assert_memory_equal(c.got.data, big, big_len);
    assert_memory_equal(s.got.data + 14, big, big_len);
    free(big);

    /* close_notify: the other side reads a clean end. */
    pt_tls_shutdown(c.t);
    assert_int_equal(pt_tls_write(c.t, "x", 1), -EPROTO);
    pump(&c, &s);
    assert_int_equal(s.rc, -EPIPE);
    assert_string_equal(pt_tls_error_text(s.t), "");
    sides_free(&c, &s);
    pt_tls_ctx_destroy(sctx);
    pt_tls_ctx_destroy(cctx);
}

/* pt_tls_recv over a buffer that is also its scratch, as the servers use it. */
static int on_plain(void *ud, const char *data, size_t len)
{
    return pt_buf_append(ud, data, len);
}

static void test_recv_helper(void **state)
{
    pt_tls_ctx_t *sctx = server_ctx(NULL, NULL, 0);
    pt_tls_ctx_t *cctx = client_ctx("ca.pem", NULL, NULL);
    static char buf[1 << 16];
    pt_buf_t got;
    side_t c, s;
    size_t n;
    int rc = 0;

    PT_UNUSED(state);
    pt_buf_init(&got);
    sides(&c, &s, cctx, sctx, "localhost");
    pump(&c, &s);
    assert_int_equal(pt_tls_is_ready(s.t), 1);
    assert_string_equal(pt_tls_alpn(s.t), "");
    for (int i = 0; i < 100; i++) {
        assert_int_equal(pt_tls_write(c.t, "GET / HTTP/1.1\r\n\r\n", 18), 0);
    }
    while (rc == 0 && (n = pt_tls_out_read(c.t, buf, 1000)) > 0) {
        rc = pt_tls_recv(s.t, buf, n, buf, sizeof(buf), on_plain, &got);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(got.len, 1800);
    assert_memory_equal(got.data + 1782, "GET / HTTP/1.1\r\n\r\n", 18);
    pt_buf_free(&got);
    sides_free(&c, &s);
    pt_tls_ctx_destroy(sctx);
    pt_tls_ctx_destroy(cctx);
}

static void expect_failure(const char *server_ca, const char *client_ca, const char *client_cert,
                           const char *salpn, int required, const char *calpn, const char *name,
                           const char *client_err, const char *server_err)
{
    pt_tls_ctx_t *sctx = server_ctx(server_ca, salpn, required);
    pt_tls_ctx_t *cctx = client_ctx(client_ca, client_cert, calpn);
    side_t c, s;

    sides(&c, &s, cctx, sctx, name);
    /* TLS 1.3 clients finish before the server checks their certificate: the refusal comes
     * with the first read after. */
    assert_int_equal(pt_tls_write(c.t, "hello", 5), 0);
    pump(&c, &s);
    assert_int_equal(s.got.len, 0);
    if (client_err != NULL) {
        assert_int_equal(c.rc, -EPROTO);
        assert_string_equal(pt_tls_error_text(c.t), client_err);
    }
    if (server_err != NULL) {
        assert_int_equal(s.rc, -EPROTO);
        assert_string_equal(pt_tls_error_text(s.t), server_err);
    }
    assert_int_equal(pt_tls_write(s.t, "x", 1), -EPROTO);
    sides_free(&c, &s);
    pt_tls_ctx_destroy(sctx);
    pt_tls_ctx_destroy(cctx);
}

static void test_verify_failures(void **state)
{
    PT_UNUSED(state);
    /* The client does not trust the server's CA. */
    expect_failure(NULL, "other-ca.pem", NULL, NULL, 0, NULL, "localhost",
                   "certificate verify failed: unable to get local issuer certificate",
                   "tlsv1 alert unknown ca");
    /* The name is not in the certificate. */
    expect_failure(NULL, "ca.pem", NULL, NULL, 0, NULL, "example.com",
                   "certificate verify failed: hostname mismatch", NULL);
    expect_failure(NULL, "ca.pem", NULL, NULL, 0, NULL, "127.0.0.2",
                   "certificate verify failed: IP address mismatch", NULL);
}

static void test_client_certs(void **state)
{
    pt_tls_ctx_t *sctx = server_ctx("ca.pem", NULL, 0);
    pt_tls_ctx_t *cctx = client_ctx("ca.pem", "client.pem", NULL);
    side_t c, s;

    PT_UNUSED(state);
    expect_failure("ca.pem", "ca.pem", NULL, NULL, 0, NULL, "localhost", NULL,
                   "peer did not return a certificate");
    expect_failure("ca.pem", "ca.pem", "client-other.pem", NULL, 0, NULL, "localhost", NULL,
                   "certificate verify failed: unable to get local issuer certificate");
    sides(&c, &s, cctx, sctx, "localhost");
    assert_int_equal(pt_tls_write(c.t, "hello", 5), 0);
    pump(&c, &s);
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.got.len, 5);
    sides_free(&c, &s);
    pt_tls_ctx_destroy(sctx);
    pt_tls_ctx_destroy(cctx);
}

static void test_alpn(void **state)
{
    PT_UNUSED(state);
    /* A server that requires h2 refuses http/1.1-only clients and clients without ALPN. */
    expect_failure(NULL, "ca.pem", NULL, "h2", 1, "http/1.1", "localhost",
                   "tlsv1 alert no application protocol",
                   "the client offered no ALPN protocol this server speaks (h2)");
    expect_failure(NULL, "ca.pem", NULL, "h2", 1, NULL, "localhost", NULL,
                   "the client negotiated no ALPN protocol (this side speaks h2)");
}

static void test_alpn_fallback(void **state)
{
    /* An HTTP/1.1 server still serves a client that prefers h2, without ALPN. */
    pt_tls_ctx_t *sctx = server_ctx(NULL, "http/1.1", 0);
    pt_tls_ctx_t *cctx = client_ctx("ca.pem", NULL, "h2");
    pt_tls_ctx_t *cctx2 = client_ctx("ca.pem", NULL, "h2,http/1.1");
    side_t c, s;

    PT_UNUSED(state);
    sides(&c, &s, cctx, sctx, "localhost");
    pump(&c, &s);
    assert_int_equal(pt_tls_is_ready(s.t), 1);
    assert_string_equal(pt_tls_alpn(s.t), "");
    sides_free(&c, &s);
    sides(&c, &s, cctx2, sctx, "localhost");
    pump(&c, &s);
    assert_string_equal(pt_tls_alpn(s.t), "http/1.1");
    assert_string_equal(pt_tls_alpn(c.t), "http/1.1");
    sides_free(&c, &s);
    pt_tls_ctx_destroy(sctx);
    pt_tls_ctx_destroy(cctx);
    pt_tls_ctx_destroy(cctx2);
}

static void test_plaintext_to_server(void **state)
{
    static const char req[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\n\r\n";
    pt_tls_ctx_t *sctx = server_ctx(NULL, "http/1.1", 0);
    pt_tls_t *t = NULL;
    char buf[256];
    size_t n;

    PT_UNUSED(state);
    assert_int_equal(pt_tls_create(sctx, NULL, &t), 0);
    assert_int_equal(pt_tls_feed(t, req, sizeof(req) - 1), 0);
    assert_int_equal(pt_tls_read(t, buf, sizeof(buf), &n), -EPROTO);
    assert_string_equal(pt_tls_error_text(t), "http request");
    assert_int_equal(pt_tls_read(t, buf, sizeof(buf), &n), -EPROTO);
    pt_tls_destroy(t);
    pt_tls_ctx_destroy(sctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_errors),
        cmocka_unit_test(test_ctx_ok),
        cmocka_unit_test(test_handshake_and_data),
        cmocka_unit_test(test_recv_helper),
        cmocka_unit_test(test_verify_failures),
        cmocka_unit_test(test_client_certs),
        cmocka_unit_test(test_alpn),
        cmocka_unit_test(test_alpn_fallback),
        cmocka_unit_test(test_plaintext_to_server),
    };
    return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
