/* Test certificates made with OpenSSL's API in a fresh temporary directory: a CA, another CA,
 * a server certificate for 127.0.0.1 and localhost (with and without its chain), client
 * certificates from each CA, a key that matches nothing, an encrypted key and non-PEM files.
 * Header-only, static, test code only (cmocka asserts). */
#ifndef PT_TLS_TEST_CERTS_H
#define PT_TLS_TEST_CERTS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/common.h"

static char dir[64];
static char path_buf[32][128];
static int n_paths;

static const char *path_of(const char *name)
{
    char *p = path_buf[n_paths++ % 32];
    snprintf(p, 128, "%s/%s", dir, name);
    return p;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A certificate for key, signed by issuer (self-signed when NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int is_ca,
                       const char *san)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *name;

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
    add_ext(x, issuer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (is_ca) {
        add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (san != NULL) {
        add_ext(x, issuer, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static void write_cert(const char *name, X509 *x, X509 *chain)
{
    FILE *f = fopen(path_of(name), "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    if (chain != NULL) {
        PEM_write_X509(f, chain);
    }
    fclose(f);
}

static void write_key(const char *name, EVP_PKEY *k, const char *password)
{
    FILE *f = fopen(path_of(name), "w");
    assert_non_null(f);
    if (password != NULL) {
        PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(), (unsigned char *)password,
                             (int)strlen(password), NULL, NULL);
    } else {
        PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    }
    fclose(f);
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_certs(void **state)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *other_key = EVP_EC_gen("P-256");
    EVP_PKEY *srv_key = EVP_EC_gen("P-256");
    EVP_PKEY *cli_key = EVP_EC_gen("P-256");
    EVP_PKEY *bad_key = EVP_EC_gen("P-256");
    X509 *ca, *other, *srv, *cli, *cli_other;

    PT_UNUSED(state);
    snprintf(dir, sizeof(dir), "/tmp/petrel-test-tls.XXXXXX");
    assert_non_null(mkdtemp(dir));
    ca = make_cert(ca_key, "petrel test CA", NULL, NULL, 1, NULL);
    other = make_cert(other_key, "some other CA", NULL, NULL, 1, NULL);
    srv = make_cert(srv_key, "localhost", ca, ca_key, 0, "IP:127.0.0.1,DNS:localhost");
    cli = make_cert(cli_key, "client", ca, ca_key, 0, NULL);
    cli_other = make_cert(cli_key, "client", other, other_key, 0, NULL);
    write_cert("ca.pem", ca, NULL);
    write_cert("other-ca.pem", other, NULL);
    write_cert("server.pem", srv, NULL);
    write_cert("server-chain.pem", srv, ca);
    write_key("server.key", srv_key, NULL);
    write_key("server-enc.key", srv_key, "secret");
    write_key("wrong.key", bad_key, NULL);
    write_cert("client.pem", cli, NULL);
    write_cert("client-other.pem", cli_other, NULL);
    write_key("client.key", cli_key, NULL);
    write_text("notpem.txt", "this is not a certificate\n");
    write_text("empty.pem", "");
    X509_free(ca);
    X509_free(other);
    X509_free(srv);
    X509_free(cli);
    X509_free(cli_other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(cli_key);
    EVP_PKEY_free(bad_key);
    return 0;
}

static int teardown_certs(void **state)
{
    char cmd[128];
    PT_UNUSED(state);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
