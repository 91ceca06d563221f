/* FileEncoding: files in GBK or UTF-16 are turned into UTF-8 line by line with glibc's iconv,
 * so that record assembly, processors and flushers only ever see UTF-8. Offsets stay those of
 * the file's own bytes (checkpoints, __file_offset__). Invalid input becomes U+FFFD instead of
 * stopping the file. */
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "input_file_internal.h"

int pt_if_enc_parse(const char *name, pt_if_enc_t *out)
{
    if (name == NULL || name[0] == '\0' || strcasecmp(name, "utf8") == 0 ||
        strcasecmp(name, "utf-8") == 0) {
        *out = PT_IF_ENC_UTF8;
    } else if (strcasecmp(name, "gbk") == 0) {
        *out = PT_IF_ENC_GBK;
    } else if (strcasecmp(name, "utf16") == 0 || strcasecmp(name, "utf-16") == 0) {
        *out = PT_IF_ENC_UTF16;
    } else {
        return -EINVAL;
    }
    return 0;
}

void pt_if_conv_free(pt_if_conv_t *cv)
{
    if (cv->cd != NULL) {
        iconv_close((iconv_t)cv->cd);
        cv->cd = NULL;
    }
}

size_t pt_if_nl_len(pt_if_enc_t enc)
{
    return enc == PT_IF_ENC_UTF16 ? 2 : 1;
}

ssize_t pt_if_find_nl(pt_if_enc_t enc, int be, const char *p, size_t n, uint64_t base)
{
    if (enc != PT_IF_ENC_UTF16) {
        /* UTF-8 and GBK: 0x0A never occurs inside a multi-byte character (GBK trail bytes
         * are 0x40-0xFE), so a byte search is exact. */
        const char *nl = memchr(p, '\n', n);
        return nl != NULL ? (ssize_t)(nl - p) + 1 : -1;
    }
    /* UTF-16: the code unit 0x000A at an even file offset. */
    size_t i = (base & 1u) ? 1 : 0;
    for (; i + 1 < n; i += 2) {
        const char *u = p + i;
        if (be ? (u[0] == 0 && u[1] == '\n') : (u[0] == '\n' && u[1] == 0)) {
            return (ssize_t)(i + 2);
        }
    }
    return -1;
}

size_t pt_if_conv_bound(size_t n)
{
    /* GB18030 and UTF-16 never grow by more than 3/2 when valid, but every invalid byte may
     * become a 3-byte U+FFFD. */
    return n * 3 + 8;
}

static const char replacement[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

size_t pt_if_conv(pt_if_conv_t *cv, int be, const char *in, size_t n, char *out, size_t cap)
{
    if (cv->cd == NULL || cv->cd_be != be) {
        pt_if_conv_free(cv);
        /* GB18030 is a superset of GBK: every GBK file decodes the same way. */
        const char *from = cv->enc == PT_IF_ENC_GBK ? "GB18030" : (be ? "UTF-16BE" : "UTF-16LE");
        iconv_t cd = iconv_open("UTF-8", from);
        if (cd == (iconv_t)-1) {
            /* Cannot happen with glibc; pass the bytes through rather than lose them. */
            size_t k = n < cap ? n : cap;
            memcpy(out, in, k);
            return k;
        }
        cv->cd = cd;
        cv->cd_be = be;
    }
    iconv_t cd = (iconv_t)cv->cd;
    char *ip = (char *)in;
    size_t il = n;
    char *op = out;
    size_t ol = cap;
    size_t unit = cv->enc == PT_IF_ENC_UTF16 ? 2 : 1;
    iconv(cd, NULL, NULL, NULL, NULL);
    while (il > 0) {
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        if (r != (size_t)-1) {
            break;
        }
        if (errno == E2BIG || ol < sizeof(replacement)) {
            break; /* cannot happen with cap >= pt_if_conv_bound(n) */
        }
        /* EILSEQ (invalid) or EINVAL (cut sequence at the end): one replacement character per
         * bad unit, then go on. */
        memcpy(op, replacement, sizeof(replacement));
        op += sizeof(replacement);
        ol -= sizeof(replacement);
        size_t skip = il < unit ? il : unit;
        ip += skip;
        il -= skip;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    return (size_t)(op - out);
}
