/* input_file path patterns: FilePaths entries split for walking (`*` in any component, `**` as
 * the last directory with MaxDirSearchDepth), matching a path against them, and the
 * ExcludeFilePaths / ExcludeFiles / ExcludeDirs rules. */
#include <fnmatch.h>
#include <limits.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

/* ============================================================================ patterns ==== */

static int has_wild(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Splits "/a/b/c" into components (a copy); returns their count, -ENOMEM. */
static int split_comps(const char *path, char ***out)
{
    *out = NULL;
    int n = 0;
    char **v = NULL;
    const char *p = path;
    while (*p != '\0') {
        while (*p == '/') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        const char *e = strchr(p, '/');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        if (!(len == 1 && p[0] == '.')) {
            if (len == 2 && p[0] == '.' && p[1] == '.' && n > 0 && !has_wild(v[n - 1])) {
                pt_free(v[--n]);
            } else {
                char **nv = pt_realloc(v, sizeof(char *) * (size_t)(n + 1));
                if (nv == NULL) {
                    goto oom;
                }
                v = nv;
                v[n] = pt_strndup(p, len);
                if (v[n] == NULL) {
                    goto oom;
                }
                n++;
            }
        }
        p += len;
    }
    *out = v;
    return n;
oom:
    for (int i = 0; i < n; i++) {
        pt_free(v[i]);
    }
    pt_free(v);
    return -ENOMEM;
}

static void free_comps(char **v, int n)
{
    for (int i = 0; i < n; i++) {
        pt_free(v[i]);
    }
    pt_free(v);
}

static int pattern_init(pt_if_state_t *s, pt_if_pattern_t *p, const char *text, pt_cfg_diag_t *d)
{
    const pt_if_conf_t *c = s->c;
    memset(p, 0, sizeof(*p));
    p->text = pt_strdup(text);
    if (p->text == NULL) {
        return -ENOMEM;
    }
    size_t tl = strlen(text);
    if (tl > 0 && text[tl - 1] == '/') {
        pt_cfg_error(d, s->inst->line, "FilePaths",
                     "'%s' names a directory; add a file name pattern, e.g. '%s*.log'", text, text);
        return -EINVAL;
    }
    char **comps = NULL;
    int n = split_comps(text, &comps);
    if (n < 0) {
        return -ENOMEM;
    }
    int rc = 0;
    if (n == 0) {
        pt_cfg_error(d, s->inst->line, "FilePaths", "'%s' has no file name", text);
        rc = -EINVAL;
        goto out;
    }
    int ndir = n - 1;
    if (ndir > 0 && strcmp(comps[ndir - 1], "**") == 0) {
        p->recursive = 1;
        p->max_depth = (int)c->max_depth;
        ndir--;
    }
    for (int i = 0; i < ndir; i++) {
        if (strstr(comps[i], "**") != NULL) {
            pt_cfg_error(d, s->inst->line, "FilePaths",
                         "'%s': '**' may only be the last directory, as in '/dir/**/*.log'", text);
            rc = -EINVAL;
            goto out;
        }
    }
    if (strstr(comps[n - 1], "**") != NULL) {
        pt_cfg_error(d, s->inst->line, "FilePaths",
                     "'%s': '**' may only be the last directory, as in '/dir/**/*.log'", text);
        rc = -EINVAL;
        goto out;
    }
    int nfixed = 0;
    while (nfixed < ndir && !has_wild(comps[nfixed])) {
        nfixed++;
    }
    pt_buf_t b;
    pt_buf_init(&b);
    for (int i = 0; i < nfixed; i++) {
        pt_buf_putc(&b, '/');
        pt_buf_append_str(&b, comps[i]);
    }
    if (nfixed == 0) {
        pt_buf_putc(&b, '/');
    }
    if (pt_buf_putc(&b, '\0') != 0) {
        pt_buf_free(&b);
        rc = -ENOMEM;
        goto out;
    }
    p->base = pt_buf_steal(&b, NULL);
    p->ncomps = ndir - nfixed;
    if (p->ncomps > 0) {
        p->comps = pt_calloc((size_t)p->ncomps, sizeof(char *));
        if (p->comps == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        for (int i = 0; i < p->ncomps; i++) {
            p->comps[i] = comps[nfixed + i];
            comps[nfixed + i] = NULL;
        }
    }
    p->file = comps[n - 1];
    comps[n - 1] = NULL;
    p->exact_file = !has_wild(p->file);
    p->rank = ndir;
out:
    free_comps(comps, n);
    return rc;
}

int pt_if_patterns_init(pt_if_state_t *s, pt_cfg_diag_t *d)
{
    int rc = 0;
    for (size_t i = 0; i < s->c->file_paths.n && i < PT_IF_MAX_PATHS; i++) {
        int r = pattern_init(s, &s->pats[i], s->c->file_paths.v[i], d);
        s->npats = (int)i + 1;
        if (r == -ENOMEM) {
            return r;
        }
        if (r != 0) {
            rc = r;
        }
    }
    return rc;
}

void pt_if_patterns_free(pt_if_state_t *s)
{
    for (int i = 0; i < s->npats; i++) {
        pt_if_pattern_t *p = &s->pats[i];
        pt_free(p->text);
        pt_free(p->base);
        free_comps(p->comps, p->ncomps);
        pt_free(p->file);
    }
    s->npats = 0;
}

int pt_if_pattern_match(const pt_if_pattern_t *p, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL || fnmatch(p->file, slash + 1, 0) != 0) {
        return 0;
    }
    size_t bl = strlen(p->base);
    const char *rest;
    if (strcmp(p->base, "/") == 0) {
        rest = path;
    } else {
        if (strncmp(path, p->base, bl) != 0 || path[bl] != '/') {
            return 0;
        }
        rest = path + bl;
    }
    /* rest: "/c1/c2/.../name": match the wildcard components, then count the extra levels. */
    char comp[NAME_MAX + 1];
    int level = 0;
    int extra = 0;
    const char *q = rest;
    while (q < slash) {
        q++; /* past '/' */
        const char *e = strchr(q, '/');
        size_t len = (size_t)(e - q);
        if (len > NAME_MAX) {
            return 0;
        }
        memcpy(comp, q, len);
        comp[len] = '\0';
        if (level < p->ncomps) {
            if (fnmatch(p->comps[level], comp, 0) != 0) {
                return 0;
            }
            level++;
        } else {
            extra++;
        }
        q = e;
    }
    if (level < p->ncomps) {
        return 0;
    }
    return extra == 0 || (p->recursive && extra <= p->max_depth);
}

/* ========================================================================== exclusion ===== */

int pt_if_dir_excluded(const pt_if_state_t *s, const char *dir)
{
    const pt_if_conf_t *c = s->c;
    for (size_t i = 0; i < c->exclude_dirs.n; i++) {
        const char *x = c->exclude_dirs.v[i];
        if (has_wild(x)) {
            /* "**" crosses directories; otherwise a wildcard matches one component. */
            int flags = strstr(x, "**") != NULL ? FNM_LEADING_DIR : FNM_PATHNAME | FNM_LEADING_DIR;
            if (fnmatch(x, dir, flags) == 0) {
                return 1;
            }
        } else {
            size_t xl = strlen(x);
            while (xl > 1 && x[xl - 1] == '/') {
                xl--;
            }
            if (strncmp(dir, x, xl) == 0 && (dir[xl] == '\0' || dir[xl] == '/')) {
                return 1;
            }
        }
    }
    return 0;
}

int pt_if_file_excluded(const pt_if_state_t *s, const char *path)
{
    const pt_if_conf_t *c = s->c;
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    for (size_t i = 0; i < c->exclude_file_paths.n; i++) {
        const char *x = c->exclude_file_paths.v[i];
        if (fnmatch(x, path, strstr(x, "**") != NULL ? 0 : FNM_PATHNAME) == 0) {
            return 1;
        }
    }
    for (size_t i = 0; i < c->exclude_files.n; i++) {
        if (fnmatch(c->exclude_files.v[i], base, 0) == 0) {
            return 1;
        }
    }
    if (c->exclude_dirs.n > 0) {
        size_t bl = (size_t)(base - path);
        char dir[PATH_MAX];
        if (bl > 1 && bl < sizeof(dir)) {
            memcpy(dir, path, bl - 1);
            dir[bl - 1] = '\0';
            if (pt_if_dir_excluded(s, dir)) {
                return 1;
            }
        }
    }
    return 0;
}
