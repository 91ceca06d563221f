/* The delimiter splitter of processor_parse_delimiter_native, exposed for its tests and fuzz
 * target. It follows LoongCollector's rules: a single-character Separator with a Quote runs the
 * CSV-like state machine (quoted fields, doubled quotes as escapes, a quote inside an unquoted
 * field is an error); a multi-character Separator (or a Quote equal to it) splits on the bytes.
 * Not for plugins. */
#ifndef PT_DELIMITER_INTERNAL_H
#define PT_DELIMITER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"

typedef enum {
    PT_DELIM_EXTEND = 0, /* every extra column becomes __column<i>__ */
    PT_DELIM_KEEP,       /* the rest of the line, from the separator on, is __column<nkeys>__ */
    PT_DELIM_DISCARD,    /* extra columns are dropped (and keys named "_" skip their column) */
} pt_delim_overflow_t;

typedef struct pt_delim_s {
    char sep[4];
    uint8_t seplen; /* 1..4 */
    char quote;
    uint8_t use_quote; /* seplen == 1 and quote != sep[0] */
    uint8_t overflow;  /* pt_delim_overflow_t */
    uint32_t nkeys;
} pt_delim_t;

/* Output columns. The caller provides initial room (v, cap); more is taken from `arena` when a
 * line has more columns. */
typedef struct pt_delim_cols_s {
    pt_str_t *v;
    uint32_t n;
    uint32_t cap;
    pt_arena_t *arena;
} pt_delim_cols_t;

/* Splits s[0..len) (already trimmed by the caller) into columns. Columns are views into s,
 * except quoted fields with doubled quotes, which are rebuilt in cols->arena. With KEEP or
 * DISCARD, at most nkeys + 1 columns come out: the last one is the rest of the line from the
 * separator that ends column nkeys (LoongCollector keeps that separator). Returns 0, -EINVAL
 * when the line breaks the quoting rules (cols->n is then meaningless), or -ENOMEM. */
int pt_delim_split(const pt_delim_t *d, const char *s, size_t len, pt_delim_cols_t *cols);

#endif
