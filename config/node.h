/* A configuration document as a tree of nodes that remember their line numbers.
 * YAML is read with libyaml's event API; JSON files go through the same reader (YAML 1.2 is a
 * superset of JSON). A tree is owned by its root: free it with pt_node_free. It is immutable
 * after parsing and may be read from any thread. */
#ifndef PT_CONFIG_NODE_H
#define PT_CONFIG_NODE_H

#include <stddef.h>

typedef enum { PT_NODE_SCALAR = 1, PT_NODE_MAP, PT_NODE_SEQ } pt_node_type_t;

/* Limits that keep a hostile file from exhausting the agent. */
#define PT_NODE_MAX_DEPTH 64                /* nested maps and lists; deeper is an error */
#define PT_NODE_MAX_NODES 100000            /* per tree, counted after expanding aliases */
#define PT_NODE_MAX_ALIAS_BYTES (16u << 20) /* bytes of text that aliases may copy */
#define PT_NODE_MAX_FILE (64u << 20)        /* pt_node_parse_file refuses larger files */

typedef struct pt_node_s pt_node_t;
struct pt_node_s {
    pt_node_type_t type;
    int line; /* 1-based line of the node's first character */
    int col;  /* 1-based */
    /* SCALAR: NUL-terminated text; `quoted` is 1 for '...' / "..." / block scalars, and
     * `is_null` is 1 for an unquoted ~, null, Null, NULL or empty plain scalar. */
    char *scalar;
    size_t len;
    int quoted;
    int is_null;
    /* MAP: n entries, keys[i] (NUL-terminated), key_lines[i] and key_cols[i] (1-based), items[i]
     * the values. SEQ: n items. Duplicate map keys are a parse error. Nodes copied from an
     * anchor by an alias keep the anchor's positions (that is where their text is written). */
    size_t n;
    char **keys;
    int *key_lines;
    int *key_cols;
    pt_node_t **items;
};

/* Parses a file. On error returns NULL and writes "path:line:col: reason" into err (errors with
 * no position, such as an unreadable file, read "path: reason"). Anchors and aliases are
 * resolved by copying (alias bombs are refused beyond PT_NODE_MAX_NODES). Multiple documents in
 * one file: only the first is used. An empty file (or one holding only comments or an empty
 * document) yields an empty MAP. The caller frees the tree with pt_node_free. Any thread. */
pt_node_t *pt_node_parse_file(const char *path, char *err, size_t errlen);
/* Same for a buffer; `name` is used in error messages. */
pt_node_t *pt_node_parse_string(const char *text, size_t len, const char *name, char *err,
                                size_t errlen);

/* A parse error in parts, for callers that report it in their own format (the config loader's
 * "[file:line] pipeline: reason"). */
typedef struct pt_node_err_s {
    int line; /* 1-based; 0 when the error has no position (unreadable file, out of memory) */
    int col;  /* 1-based; 0 with line */
    char reason[400];
} pt_node_err_t;

/* As pt_node_parse_file / pt_node_parse_string, with the error in parts (err may be NULL); the
 * reason does not repeat the file name. */
pt_node_t *pt_node_parse_file_ex(const char *path, pt_node_err_t *err);
pt_node_t *pt_node_parse_string_ex(const char *text, size_t len, pt_node_err_t *err);
/* Frees a whole tree; NULL is a no-op. Every pointer into the tree becomes invalid. */
void pt_node_free(pt_node_t *n);

/* Map lookup by exact key; NULL if absent or if map is not a MAP. Returned nodes are borrowed
 * and valid while the tree lives. */
const pt_node_t *pt_node_get(const pt_node_t *map, const char *key);
/* Map lookup following a dotted path ("Batch.MinCnt"). NULL if any step is absent. A key that
 * itself contains dots ("alibabacloud.com/acs") matches as a whole. */
const pt_node_t *pt_node_get_path(const pt_node_t *map, const char *dotted);
/* Human name of a node's type for error messages: "a map", "a list", "null", "a boolean",
 * "a number" (plain scalars that read as such) or "a string"; "nothing" for NULL. */
const char *pt_node_kind(const pt_node_t *n);

#endif
