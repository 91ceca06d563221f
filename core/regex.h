/* Regular expressions for processors: PCRE2 (8-bit) compiled with JIT, allocating through
 * core/mem.h. A compiled pattern is immutable and may be shared by every worker; the mutable
 * match state (match data, JIT stack, limits) is kept per thread, so one processor instance can
 * match on several workers at once. */
#ifndef PT_REGEX_H
#define PT_REGEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct pt_regex_s pt_regex_t;

/* Compile flags. PT_RE_FULL: a match must span the whole subject (boost::regex_match).
 * PT_RE_UTF: UTF-8 semantics like RE2's default ('.' is one character); subjects that are not
 * valid UTF-8 still match, byte by byte where invalid. */
#define PT_RE_FULL 0x1u
#define PT_RE_UTF 0x2u
/* PT_RE_BOOST: Boost.Regex's Perl defaults, which LoongCollector's parsers run with: '.' also
 * matches a newline and '^'/'$' also match at line breaks (PCRE2_DOTALL | PCRE2_MULTILINE), so
 * a multi-line event matches as it does there. */
#define PT_RE_BOOST 0x4u

/* Set when a group did not take part in the match (same value as PCRE2_UNSET). */
#define PT_RE_UNSET (~(size_t)0)

/* Compiles `pat` (len bytes; may contain NUL) with the PT_RE_* flags. Returns NULL on failure
 * and writes the reason into err (always NUL-terminated when errlen > 0): PCRE2's message, e.g.
 * "missing closing parenthesis", and *erroff (may be NULL) gets the byte offset in `pat` where
 * the error was found; on out-of-memory err reads "out of memory" and *erroff is 0. Any thread.
 * Free with pt_regex_free (NULL is a no-op). */
pt_regex_t *pt_regex_compile(const char *pat, size_t len, unsigned flags, char *err, size_t errlen,
                             size_t *erroff);
void pt_regex_free(pt_regex_t *re);

/* Number of capturing groups in the pattern. */
uint32_t pt_regex_groups(const pt_regex_t *re);

/* Matches `re` against subj[0..n), starting the search at byte `start` (<= n; what lies before
 * it still counts as context for lookbehind and \b). On a match, ov (when not NULL) receives
 * `npairs` start/end byte-offset pairs: the whole match, then group 1, 2, ...; groups that did
 * not take part, or beyond the pattern's groups, are PT_RE_UNSET.
 * Returns 1 on a match, 0 when there is none, -E2BIG when the match gave up on a resource limit
 * (backtracking or JIT stack: a pathological pattern for this subject; count it as an error and
 * treat it as no match), -ENOMEM, or -EINVAL (start > n). Any thread; re may be shared. */
int pt_regex_match(const pt_regex_t *re, const char *subj, size_t n, size_t start, size_t *ov,
                   uint32_t npairs);

/* Frees the calling thread's match state now (it is also freed when the thread exits). */
void pt_regex_thread_cleanup(void);

#endif
