/* Zero-copy JSON reader and a JSON writer.
 * The reader never copies: it yields views into the input. Strings that contain escapes are
 * flagged; the caller decodes them (into its arena) with pt_json_unescape only when it needs to.
 * All functions are reentrant and may run on any thread. Views are valid as long as the input.
 *
 * Conformance (tests/fixtures/json-conformance): every RFC 8259 document is accepted, every
 * invalid one rejected. Implementation-defined choices (the i_ cases, checked by test_json.c):
 * - numbers are kept as text (no overflow handling needed): huge numbers, exponents and
 *   underflows are accepted (i_number_*);
 * - invalid UTF-8 in strings is rejected: overlongs, UTF-8-encoded surrogates, > U+10FFFF,
 *   stray continuation bytes, truncated sequences, Latin-1 (i_string_*utf*, *overlong*, ...);
 * - lone or mismatched surrogate escapes (\uD800, \uDC00\uD800) are accepted and decoded as
 *   U+FFFD (the i_string_*surrogate* escape cases, i_object_key_lone_2nd_surrogate);
 * - the input must be UTF-8: a BOM is rejected, and so is UTF-16 with or without a BOM;
 * - nesting deeper than PT_JSON_MAX_DEPTH is rejected (500 levels are accepted).
 * Only space, tab, CR and LF count as whitespace. Inputs of 4 GiB or more are rejected by
 * pt_json_tokenize and pt_json_object_foreach, whose offsets are 32-bit. */
#ifndef PT_JSON_H
#define PT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "str.h"

#define PT_JSON_MAX_DEPTH 512

typedef enum {
    PT_JSON_NONE = 0,
    PT_JSON_OBJECT,
    PT_JSON_ARRAY,
    PT_JSON_STRING,
    PT_JSON_NUMBER,
    PT_JSON_TRUE,
    PT_JSON_FALSE,
    PT_JSON_NULL,
} pt_json_type_t;

/* One token of a tokenized document, in document order (jsmn style).
 * - start/len: the value's bytes in the input. For strings, the bytes between the quotes
 *   (still escaped if `escaped`). For objects and arrays, from '{' / '[' through '}' / ']'.
 * - size: objects: number of members; arrays: number of elements; else 0.
 * - skip: number of tokens in this value's subtree, itself included, so that the next sibling
 *   is at index i + skip. An object member is two tokens: the key (a STRING) then its value. */
typedef struct pt_json_tok_s {
    uint8_t type;
    uint8_t escaped;
    uint32_t start;
    uint32_t len;
    uint32_t size;
    uint32_t skip;
} pt_json_tok_t;

/* Tokenizes a whole document (one value, optional surrounding whitespace). toks is caller
 * memory for max tokens. Returns the number of tokens (>= 1), -EINVAL on malformed input
 * (*err_off, if not NULL, gets the byte offset of the error), or -ENOSPC if max is too small.
 * Malformed input is -EINVAL whatever max is, so -ENOSPC means "valid, retry with more"; a
 * document never needs more than len tokens. */
int pt_json_tokenize(const char *s, size_t len, pt_json_tok_t *toks, size_t max, size_t *err_off);

/* A value met by pt_json_object_foreach. raw is the value's bytes as in pt_json_tok_t. */
typedef struct pt_json_value_s {
    pt_json_type_t type;
    int escaped;
    pt_str_t raw;
} pt_json_value_t;

/* Called once per first-level member, in order. key is the raw (maybe escaped) key bytes.
 * A non-zero return stops the walk and is returned by pt_json_object_foreach. */
typedef int (*pt_json_member_cb)(void *ctx, pt_str_t key, int key_escaped,
                                 const pt_json_value_t *val);

/* Fast path for "first-level keys become fields": validates the whole document, which must
 * be an object, and calls cb for each member without building a token array. Callbacks may
 * already have fired when a later syntax error is found: the caller must then discard what
 * they produced. Returns 0, -EINVAL (malformed or not an object; *err_off set), or cb's
 * non-zero return. */
int pt_json_object_foreach(const char *s, size_t len, pt_json_member_cb cb, void *ctx,
                           size_t *err_off);

/* As pt_json_object_foreach, but bytes inside strings that are not valid UTF-8 are accepted and
 * passed through (as rapidjson does by default, which is what LoongCollector's parsers see), so
 * one stray Latin-1 byte does not make a whole log line unparseable. Everything else is checked
 * as strictly. Writers replace such bytes with U+FFFD on output. */
int pt_json_object_foreach_lax(const char *s, size_t len, pt_json_member_cb cb, void *ctx,
                               size_t *err_off);

/* Validates a whole document. Returns 0 or -EINVAL (*err_off set when not NULL). */
int pt_json_validate(const char *s, size_t len, size_t *err_off);

/* Decodes the escapes of string contents s[0..len) (no quotes) into out, which must have room
 * for len bytes (decoding never grows; out may be s itself, to decode in place). \uXXXX becomes
 * UTF-8, surrogate pairs are joined, a lone surrogate becomes U+FFFD. Other bytes are copied as
 * they are. Returns the decoded length, or -EINVAL on a malformed escape or len > INT_MAX. */
int pt_json_unescape(const char *s, size_t len, char *out);

/* ---- writer ------------------------------------------------------------------------------ */

/* Appends s as a quoted JSON string to b, escaping '"', '\\' and control characters; bytes
 * that are not valid UTF-8 are replaced by U+FFFD so the output is always valid JSON (one
 * U+FFFD per maximal ill-formed subsequence, Unicode's recommended practice: "\xE2\x82" is one,
 * "\xC0\x80" is two). Returns 0 or -ENOMEM; on -ENOMEM b keeps its old contents. */
int pt_json_write_str(pt_buf_t *b, const char *s, size_t len);

/* A streaming writer that places commas and colons. The buffer is the caller's.
 * Usage: pt_jw_init; obj_open; key; str; ... obj_close. Errors are sticky in `err`, and every
 * call is a no-op once it is set: -ENOMEM, or -EINVAL for misuse (a close with nothing open, a
 * key right after a key, a close right after a key, nesting deeper than 63 levels). */
typedef struct pt_jw_s {
    pt_buf_t *buf;
    int err;
    uint32_t depth;
    uint8_t first[64]; /* per depth: no element written yet */
    uint8_t after_key;
} pt_jw_t;

void pt_jw_init(pt_jw_t *w, pt_buf_t *b);
void pt_jw_obj_open(pt_jw_t *w);
void pt_jw_obj_close(pt_jw_t *w);
void pt_jw_arr_open(pt_jw_t *w);
void pt_jw_arr_close(pt_jw_t *w);
void pt_jw_key(pt_jw_t *w, const char *k, size_t len);
void pt_jw_str(pt_jw_t *w, const char *s, size_t len);
/* Writes already-valid JSON text verbatim (e.g. a nested value kept as raw JSON). */
void pt_jw_raw(pt_jw_t *w, const char *s, size_t len);
void pt_jw_int(pt_jw_t *w, int64_t v);
void pt_jw_uint(pt_jw_t *w, uint64_t v);
/* The shortest of %.15g, %.16g, %.17g that reads back to v (3.0 is written as 3, 1e21 as
 * 1e+21); non-finite values are written as null. */
void pt_jw_double(pt_jw_t *w, double v);
void pt_jw_bool(pt_jw_t *w, int v);
void pt_jw_null(pt_jw_t *w);

#endif
