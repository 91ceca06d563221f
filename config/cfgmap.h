/* Config maps: every plugin (and the agent config) declares a table of its keys: type, default,
 * bounds, one-line description, field offset. One generic loader validates a node against it,
 * and the plugin docs are generated from the same tables.
 * Errors read "[file:line] pipeline/plugin.Key: reason"; unknown keys are warnings that name the
 * nearest known key. Not thread-safe per diag; tables are const and shareable. */
#ifndef PT_CONFIG_CFGMAP_H
#define PT_CONFIG_CFGMAP_H

#include <stddef.h>
#include <stdint.h>

#include "config/node.h"
#include "core/str.h"

typedef enum {
    PT_CFG_BOOL = 1, /* int: accepts true/false (and "true"/"false" strings) */
    PT_CFG_INT,      /* int64_t */
    PT_CFG_DOUBLE,   /* double */
    PT_CFG_STRING,   /* char * (heap; NULL when absent and no default) */
    PT_CFG_STRLIST,  /* pt_strlist_t: a list of scalars; a single scalar is a list of one;
                        with PT_CFG_COMMA a "a,b,c" string is split too */
    PT_CFG_STRMAP,   /* pt_strmap_t: a map of scalar values (Headers, Tags, raw settings) */
    PT_CFG_NODE,     /* const pt_node_t *: borrowed; valid while the config tree lives */
    PT_CFG_SECTION,  /* a map of sub-keys declared with dotted names ("Batch.MinCnt"); no storage */
} pt_cfg_type_t;

#define PT_CFG_REQUIRED 0x1u /* missing key is an error */
#define PT_CFG_SECRET 0x2u   /* value never appears in logs or errors */
#define PT_CFG_COMMA 0x4u    /* STRLIST: also split a comma-joined string */
#define PT_CFG_BOUNDED 0x8u  /* INT/DOUBLE: enforce [min, max] */
#define PT_CFG_PRESENCE 0x10u /* SECTION: store its map (const pt_node_t *, NULL when absent or
                               * null) at offset, for sections whose presence means something */

typedef struct pt_strlist_s {
    char **v;
    size_t n;
} pt_strlist_t;

typedef struct pt_strmap_s {
    char **keys;
    char **vals;
    size_t n;
} pt_strmap_t;

typedef struct pt_cfg_field_s {
    const char *key;     /* may be dotted: "Batch.MinCnt" (then declare "Batch" as SECTION) */
    pt_cfg_type_t type;
    const char *def;     /* default as text ("true", "1024", "a,b"); NULL: zero / NULL */
    double min, max;     /* bounds, with PT_CFG_BOUNDED */
    const char *choices; /* STRING: "a|b|c" allowed values (case-sensitive), or NULL */
    unsigned flags;
    size_t offset;       /* offsetof(config struct, field) */
    const char *alias;   /* another accepted name for the same key, or NULL */
    const char *desc;    /* one line, for docs and errors */
} pt_cfg_field_t;

/* Collects diagnostics for one file. `file`, `pipeline`, `plugin` are borrowed strings set by
 * the caller as it descends (plugin may be NULL for top-level keys). */
typedef struct pt_cfg_diag_s {
    const char *file;
    const char *pipeline;
    const char *plugin;
    int nerrors;
    int nwarnings;
    pt_buf_t text; /* one message per line, errors and warnings, in order */
} pt_cfg_diag_t;

void pt_cfg_diag_init(pt_cfg_diag_t *d, const char *file, const char *pipeline);
void pt_cfg_diag_free(pt_cfg_diag_t *d);
/* All messages so far as one NUL-terminated string ("" when none). Valid until the next message
 * is added or the diag is freed. */
const char *pt_cfg_diag_text(const pt_cfg_diag_t *d);
/* Adds "[file:line] pipeline/plugin.key: reason" (key may be NULL: "pipeline/plugin: reason"). */
void pt_cfg_error(pt_cfg_diag_t *d, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pt_cfg_warn(pt_cfg_diag_t *d, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills `out` from `node` (a MAP) according to the table: defaults first, then the present keys
 * with type and bound checks. Keys in `ignore` (NULL-terminated, e.g. {"Type", NULL}) are
 * skipped silently; any other unknown key is a warning: "unknown key; did you mean 'X'?".
 * A key set to null ("Key:" with no value) counts as absent. An alias is looked up beside its
 * key (in the same section); setting both is an error. A NULL or null node is an empty map.
 * `out` is overwritten without being freed first: pass it zeroed or after pt_cfg_free.
 * Returns 0 if no error was added, else -EINVAL (out-of-memory is reported as an error too).
 * `out` must be freed with pt_cfg_free either way; NODE fields borrow from `node`. */
int pt_cfg_load(const pt_cfg_field_t *map, size_t n, const pt_node_t *node, void *out,
                const char *const *ignore, pt_cfg_diag_t *d);
/* Frees STRING, STRLIST and STRMAP storage (wiping SECRET values first) and resets those fields
 * and NODE fields to NULL / empty. */
void pt_cfg_free(const pt_cfg_field_t *map, size_t n, void *out);

/* Appends a Markdown table of the map (key, type, default, description) to b. Bounds, choices,
 * REQUIRED, aliases and SECRET are noted in the description; a SECRET default is not shown.
 * Returns 0 or -ENOMEM (b may then hold a partial table). */
int pt_cfg_doc(const pt_cfg_field_t *map, size_t n, pt_buf_t *b);

/* The known key nearest to `key` (case-insensitive edit distance <= max(2, len/3)), or NULL.
 * Compares against the full (dotted) keys and the aliases; ties go to the earlier entry. The
 * loader's own warnings compare within one section and name the leaf ('MinCnt'). */
const char *pt_cfg_nearest(const pt_cfg_field_t *map, size_t n, const char *key);

void pt_strlist_free(pt_strlist_t *l);
void pt_strmap_free(pt_strmap_t *m);

#endif
