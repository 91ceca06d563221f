/* input_file discovery: FilePaths patterns (`*` in any component, `**` as the last directory
 * with MaxDirSearchDepth), exclusions, and two ways of noticing change: inotify on every
 * directory a pattern can reach (new files and directories at any depth, renames, deletions,
 * writes) and a periodic full scan as a backstop for missed events, overflowed queues and
 * filesystems without inotify. Symlinked files and directories are followed. Problems a user can
 * fix (a missing directory, a path that is a directory, an unreadable file) are logged once. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

#define SEC_NS 1000000000ull
#define WATCH_MASK                                                                                 \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_ATTRIB |                 \
     IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

/* A path that could not be opened (or is not a regular file): logged once, retried when its
 * inode or change time moves. */
typedef struct pt_if_failed_s {
    char *path;
    uint64_t ino;
    int64_t ctime_ns;
} failed_t;

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

static int dir_excluded(const pt_if_state_t *s, const char *dir)
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

static int file_excluded(const pt_if_state_t *s, const char *path)
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
            if (dir_excluded(s, dir)) {
                return 1;
            }
        }
    }
    return 0;
}

/* ======================================================================= logged once ====== */

static int failed_known(pt_if_state_t *s, const char *path, const struct stat *st, int add)
{
    int64_t ct = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
    for (size_t i = 0; i < s->nfailed; i++) {
        failed_t *f = &s->failed[i];
        if (strcmp(f->path, path) == 0) {
            if (f->ino == (uint64_t)st->st_ino && f->ctime_ns == ct) {
                return 1;
            }
            if (add) {
                f->ino = (uint64_t)st->st_ino;
                f->ctime_ns = ct;
            }
            return 0;
        }
    }
    if (add && s->nfailed < 4096) {
        if (s->nfailed == s->capfailed) {
            size_t ncap = s->capfailed ? s->capfailed * 2 : 8;
            failed_t *nv = pt_realloc(s->failed, sizeof(*nv) * ncap);
            if (nv == NULL) {
                return 0;
            }
            s->failed = nv;
            s->capfailed = ncap;
        }
        char *p = pt_strdup(path);
        if (p != NULL) {
            s->failed[s->nfailed].path = p;
            s->failed[s->nfailed].ino = (uint64_t)st->st_ino;
            s->failed[s->nfailed].ctime_ns = ct;
            s->nfailed++;
        }
    }
    return 0;
}

void pt_if_failed_free(pt_if_state_t *s)
{
    for (size_t i = 0; i < s->nfailed; i++) {
        pt_free(s->failed[i].path);
    }
    pt_free(s->failed);
    s->failed = NULL;
    s->nfailed = s->capfailed = 0;
}

/* ======================================================================== candidates ====== */

/* A path matched a pattern: start collecting it unless it is known, excluded or someone else's.
 * Returns 1 when the path is a regular file (collected or not), 0 otherwise. */
static int consider(pt_if_state_t *s, const char *path, int at_startup)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return 0; /* gone again, or a dangling symlink */
    }
    if (!S_ISREG(st.st_mode)) {
        if (!failed_known(s, path, &st, 0)) {
            failed_known(s, path, &st, 1);
            if (S_ISDIR(st.st_mode)) {
                pt_plg_warn(s->id,
                            "%s is a directory, not a file: it is skipped (to collect the files "
                            "in it, use a pattern such as %s/*.log)",
                            path, path);
            } else {
                pt_plg_warn(s->id, "%s is not a regular file: it is skipped", path);
            }
        }
        return 0;
    }
    if (file_excluded(s, path)) {
        return 1;
    }
    pt_if_file_t *f = pt_if_file_by_id(s, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (f != NULL) {
        f->seen = 1;
        struct stat ost;
        if (f->state == PT_IF_ACTIVE && strcmp(f->path, path) != 0 &&
            (stat(f->path, &ost) != 0 || ost.st_ino != st.st_ino || ost.st_dev != st.st_dev)) {
            /* Renamed to another matched name: same file, same reader. */
            pt_if_file_set_path(s, f, path);
        }
        return 1;
    }
    pt_if_file_t *old = pt_if_file_by_path(s, path);
    if (old != NULL) {
        /* Another file took this path (rotation, replacement): the old one is read to its
         * end; the new one is a new file. */
        pt_if_file_gone(s, old, NULL);
    }
    if (!pt_if_claims_mine(s, path)) {
        PT_LOG(PT_LOG_DEBUG, s->id, "%s belongs to a better-matching pipeline", path);
        return 1;
    }
    if (failed_known(s, path, &st, 0)) {
        return 1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int err = errno;
        failed_known(s, path, &st, 1);
        pt_plg_warn(s->id, "cannot open %s: %s (retried when the file changes)", path,
                    strerror(err));
        return 1;
    }
    struct stat fst;
    if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
        close(fd);
        return 1;
    }
    pt_if_file_add(s, path, fd, &fst, at_startup, PT_IF_ACTIVE);
    return 1;
}

/* ======================================================================== directories ===== */

static pt_if_dir_t *dir_find(pt_if_state_t *s, const char *path)
{
    for (size_t i = 0; i < s->ndirs; i++) {
        if (strcmp(s->dirs[i]->path, path) == 0) {
            return s->dirs[i];
        }
    }
    return NULL;
}

static pt_if_dir_t *dir_by_wd(pt_if_state_t *s, int wd)
{
    if (wd < 0 || (size_t)wd >= s->wdcap || s->wdmap[wd] < 0) {
        return NULL;
    }
    return s->dirs[s->wdmap[wd]];
}

static void wd_set(pt_if_state_t *s, int wd, int idx)
{
    if (wd < 0) {
        return;
    }
    if ((size_t)wd >= s->wdcap) {
        size_t ncap = s->wdcap ? s->wdcap : 64;
        while (ncap <= (size_t)wd) {
            ncap *= 2;
        }
        int *nm = pt_realloc(s->wdmap, sizeof(int) * ncap);
        if (nm == NULL) {
            return;
        }
        for (size_t i = s->wdcap; i < ncap; i++) {
            nm[i] = -1;
        }
        s->wdmap = nm;
        s->wdcap = ncap;
    }
    s->wdmap[wd] = idx;
}

static void dir_remove(pt_if_state_t *s, size_t idx, int rm_watch)
{
    pt_if_dir_t *d = s->dirs[idx];
    if (d->wd >= 0) {
        if (rm_watch && s->ino_fd >= 0) {
            inotify_rm_watch(s->ino_fd, d->wd);
        }
        wd_set(s, d->wd, -1);
    }
    s->ndirs--;
    if (idx != s->ndirs) {
        s->dirs[idx] = s->dirs[s->ndirs];
        if (s->dirs[idx]->wd >= 0) {
            wd_set(s, s->dirs[idx]->wd, (int)idx);
        }
    }
    pt_free(d->ctx);
    pt_free(d->path);
    pt_free(d);
}

void pt_if_dirs_free(pt_if_state_t *s)
{
    while (s->ndirs > 0) {
        dir_remove(s, s->ndirs - 1, 0);
    }
    pt_free(s->dirs);
    s->dirs = NULL;
    s->capdirs = 0;
    pt_free(s->wdmap);
    s->wdmap = NULL;
    s->wdcap = 0;
}

/* Notes that `path` was reached by pattern pi at (level, depth), and watches it. */
static pt_if_dir_t *dir_note(pt_if_state_t *s, const char *path, int pi, int level, int depth)
{
    pt_if_dir_t *d = dir_find(s, path);
    if (d == NULL) {
        if (s->ndirs == s->capdirs) {
            size_t ncap = s->capdirs ? s->capdirs * 2 : 16;
            pt_if_dir_t **nv = pt_realloc(s->dirs, sizeof(*nv) * ncap);
            if (nv == NULL) {
                return NULL;
            }
            s->dirs = nv;
            s->capdirs = ncap;
        }
        d = pt_calloc(1, sizeof(*d));
        if (d == NULL || (d->path = pt_strdup(path)) == NULL) {
            pt_free(d);
            return NULL;
        }
        d->wd = -1;
        s->dirs[s->ndirs++] = d;
    }
    d->gen = s->scan_gen;
    if (d->wd < 0 && s->ino_fd >= 0 && !s->ino_failed) {
        int wd = inotify_add_watch(s->ino_fd, path, WATCH_MASK);
        if (wd >= 0) {
            /* Two paths to one directory (a symlink) share the watch: keep the first. */
            if (dir_by_wd(s, wd) == NULL) {
                d->wd = wd;
                wd_set(s, wd, (int)(s->ndirs - 1));
                for (size_t i = 0; i < s->ndirs; i++) {
                    if (s->dirs[i] == d) {
                        wd_set(s, wd, (int)i);
                    }
                }
            }
        } else if (errno == ENOSPC) {
            s->ino_failed = 1;
            pt_plg_warn(s->id,
                        "inotify watch limit reached (fs.inotify.max_user_watches) at %s: "
                        "new files are found by the periodic scan instead",
                        path);
        }
    }
    for (int i = 0; i < d->nctx; i++) {
        if (d->ctx[i].pi == pi && d->ctx[i].level == level) {
            if (depth < d->ctx[i].depth) {
                d->ctx[i].depth = depth;
            }
            return d;
        }
    }
    pt_if_dctx_t *nc = pt_realloc(d->ctx, sizeof(*nc) * (size_t)(d->nctx + 1));
    if (nc != NULL) {
        d->ctx = nc;
        d->ctx[d->nctx].pi = pi;
        d->ctx[d->nctx].level = level;
        d->ctx[d->nctx].depth = depth;
        d->nctx++;
    }
    return d;
}

/* ============================================================================= walking ==== */

typedef struct walk_s {
    pt_if_state_t *s;
    int at_startup;
    uint64_t stack_dev[64]; /* directories on the way down, against symlink loops */
    uint64_t stack_ino[64];
    int nstack;
} walk_t;

static void walk(walk_t *w, const char *dir, int pi, int level, int depth);

static void walk_child_dir(walk_t *w, const char *child, int pi, int level, int depth)
{
    struct stat st;
    if (stat(child, &st) != 0) {
        return;
    }
    for (int i = 0; i < w->nstack; i++) {
        if (w->stack_dev[i] == (uint64_t)st.st_dev && w->stack_ino[i] == (uint64_t)st.st_ino) {
            return; /* a symlink loop */
        }
    }
    if (w->nstack == 64) {
        return;
    }
    w->stack_dev[w->nstack] = (uint64_t)st.st_dev;
    w->stack_ino[w->nstack] = (uint64_t)st.st_ino;
    w->nstack++;
    walk(w, child, pi, level, depth);
    w->nstack--;
}

static void walk(walk_t *w, const char *dir, int pi, int level, int depth)
{
    pt_if_state_t *s = w->s;
    const pt_if_pattern_t *p = &s->pats[pi];
    if (dir_excluded(s, dir)) {
        return;
    }
    dir_note(s, dir, pi, level, depth);
    DIR *dh = opendir(dir);
    if (dh == NULL) {
        return;
    }
    struct dirent *de;
    char child[PATH_MAX];
    const char *sep = strcmp(dir, "/") == 0 ? "" : "/";
    while ((de = readdir(dh)) != NULL) {
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
            continue;
        }
        if (snprintf(child, sizeof(child), "%s%s%s", dir, sep, name) >= (int)sizeof(child)) {
            continue;
        }
        int is_dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) {
            struct stat st;
            is_dir = stat(child, &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir) {
            if (level < p->ncomps) {
                if (fnmatch(p->comps[level], name, 0) == 0) {
                    walk_child_dir(w, child, pi, level + 1, 0);
                }
                continue;
            }
            if (p->recursive && depth < p->max_depth) {
                walk_child_dir(w, child, pi, level, depth + 1);
            }
            if (p->exact_file && strcmp(p->file, name) == 0) {
                consider(s, child, w->at_startup); /* logs "is a directory" once */
            }
        } else if (level == p->ncomps && fnmatch(p->file, name, 0) == 0) {
            s->pats[pi].nfound += (uint64_t)consider(s, child, w->at_startup);
        }
    }
    closedir(dh);
}

/* The base directory does not exist (yet): watch its nearest existing ancestor, so that its
 * creation is noticed at once. */
static void watch_missing_base(pt_if_state_t *s, int pi)
{
    char anc[PATH_MAX];
    snprintf(anc, sizeof(anc), "%s", s->pats[pi].base);
    for (;;) {
        char *slash = strrchr(anc, '/');
        if (slash == NULL) {
            return;
        }
        if (slash == anc) {
            anc[1] = '\0';
        } else {
            *slash = '\0';
        }
        struct stat st;
        if (stat(anc, &st) == 0 && S_ISDIR(st.st_mode)) {
            dir_note(s, anc, pi, -1, 0);
            return;
        }
        if (strcmp(anc, "/") == 0) {
            return;
        }
    }
}

static int walk_pattern(pt_if_state_t *s, int pi, int at_startup)
{
    const pt_if_pattern_t *p = &s->pats[pi];
    struct stat st;
    if (stat(p->base, &st) != 0 || !S_ISDIR(st.st_mode)) {
        watch_missing_base(s, pi);
        return -ENOENT;
    }
    walk_t w = {.s = s, .at_startup = at_startup};
    w.stack_dev[0] = (uint64_t)st.st_dev;
    w.stack_ino[0] = (uint64_t)st.st_ino;
    w.nstack = 1;
    walk(&w, p->base, pi, 0, 0);
    return 0;
}

/* ================================================================================ scan ==== */

void pt_if_scan(pt_if_state_t *s, int at_startup)
{
    s->scan_gen++;
    s->last_scan_ns = pt_now_mono_ns();
    for (size_t i = 0; i < s->nfiles; i++) {
        s->files[i]->seen = 0;
    }
    for (int i = 0; i < s->npats; i++) {
        s->pats[i].nfound = 0;
        int rc = walk_pattern(s, i, at_startup);
        if (at_startup && rc == -ENOENT) {
            pt_plg_warn(s->id,
                        "no file matches %s: directory %s does not exist (yet); files are "
                        "collected as soon as it appears",
                        s->pats[i].text, s->pats[i].base);
        } else if (at_startup && s->pats[i].nfound == 0) {
            pt_plg_info(s->id, "no file matches %s yet; files are collected as they appear",
                        s->pats[i].text);
        }
    }
    /* Files no longer found at a matched path were renamed away, deleted, excluded or claimed:
     * they are read to their end, then closed once their data is acknowledged. */
    for (size_t i = 0; i < s->nfiles; i++) {
        pt_if_file_t *f = s->files[i];
        if (f->seen || f->state != PT_IF_ACTIVE || f->fd < 0) {
            continue;
        }
        struct stat st;
        if (stat(f->path, &st) == 0 && (uint64_t)st.st_dev == f->dev &&
            (uint64_t)st.st_ino == f->ino) {
            pt_if_file_gone(s, f, "(no longer matched)");
        } else {
            pt_if_file_gone(s, f, NULL);
        }
    }
    /* Directories not reached any more: drop their watches. */
    for (size_t i = 0; i < s->ndirs;) {
        if (s->dirs[i]->gen != s->scan_gen) {
            dir_remove(s, i, 1);
            continue;
        }
        i++;
    }
}

/* ============================================================================ rescue ====== */

void pt_if_rescue_rotated(pt_if_state_t *s)
{
    size_t want = 0;
    for (size_t i = 0; i < s->ckpt.n; i++) {
        want += !s->ckpt.v[i].seen;
    }
    if (want == 0) {
        return;
    }
    char child[PATH_MAX];
    for (size_t di = 0; di < s->ndirs && want > 0; di++) {
        const pt_if_dir_t *d = s->dirs[di];
        int final = 0;
        for (int k = 0; k < d->nctx; k++) {
            final |= d->ctx[k].level >= 0 && d->ctx[k].level == s->pats[d->ctx[k].pi].ncomps;
        }
        if (!final) {
            continue;
        }
        DIR *dh = opendir(d->path);
        if (dh == NULL) {
            continue;
        }
        struct dirent *de;
        while ((de = readdir(dh)) != NULL && want > 0) {
            const pt_ckpt_entry_t *e = NULL;
            for (size_t i = 0; i < s->ckpt.n; i++) {
                if (!s->ckpt.v[i].seen && s->ckpt.v[i].ino == (uint64_t)de->d_ino) {
                    e = &s->ckpt.v[i];
                }
            }
            if (e == NULL) {
                continue;
            }
            snprintf(child, sizeof(child), "%s/%s", d->path, de->d_name);
            struct stat st;
            if (stat(child, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != e->dev ||
                (uint64_t)st.st_size <= e->offset ||
                pt_if_file_by_id(s, e->dev, (uint64_t)st.st_ino) != NULL) {
                continue;
            }
            int fd = open(child, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
            if (fd < 0) {
                continue;
            }
            char *logical = pt_strdup(e->path);
            if (logical == NULL) {
                close(fd);
                continue;
            }
            /* file_add checks the fingerprints against the entry: a stranger starts at 0, but
             * then it is not ours to read; only a verified generation is kept. */
            uint32_t len;
            uint64_t fp = pt_file_fingerprint(fd, e->fplen, &len);
            if (len != e->fplen || fp != e->fp) {
                close(fd);
                pt_free(logical);
                continue;
            }
            pt_plg_info(s->id, "%s is a rotated generation of %s with unread data", child, logical);
            pt_if_file_add(s, logical, fd, &st, 1, PT_IF_ROTATED);
            pt_free(logical);
            want--;
        }
        closedir(dh);
    }
}

/* =========================================================================== inotify ====== */

static void on_new_dir(pt_if_state_t *s, const pt_if_dir_t *d, const char *path, const char *name)
{
    /* Copy the contexts: walking may grow the directory table and move d. */
    int n = d->nctx;
    pt_if_dctx_t ctx[16];
    if (n > 16) {
        n = 16;
    }
    memcpy(ctx, d->ctx, sizeof(ctx[0]) * (size_t)n);
    for (int i = 0; i < n; i++) {
        const pt_if_pattern_t *p = &s->pats[ctx[i].pi];
        walk_t w = {.s = s, .at_startup = 0};
        if (ctx[i].level < 0) {
            walk_pattern(s, ctx[i].pi, 0);
        } else if (ctx[i].level < p->ncomps) {
            if (fnmatch(p->comps[ctx[i].level], name, 0) == 0) {
                walk_child_dir(&w, path, ctx[i].pi, ctx[i].level + 1, 0);
            }
        } else if (p->recursive && ctx[i].depth < p->max_depth) {
            walk_child_dir(&w, path, ctx[i].pi, ctx[i].level, ctx[i].depth + 1);
        }
    }
}

static int name_matches(const pt_if_state_t *s, const pt_if_dir_t *d, const char *name)
{
    for (int i = 0; i < d->nctx; i++) {
        const pt_if_pattern_t *p = &s->pats[d->ctx[i].pi];
        if (d->ctx[i].level == p->ncomps && fnmatch(p->file, name, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A file moved from a matched name to a name the patterns do not match (logrotate's rename):
 * it is a rotated generation. If petrel never opened it (it lived too briefly) or had closed it
 * while idle, it is opened by its new name and read to its end. */
static void on_moved_away(pt_if_state_t *s, const char *from, const char *to)
{
    pt_if_file_t *f = pt_if_file_by_path(s, from);
    struct stat st;
    if (stat(to, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f != NULL) {
            pt_if_file_gone(s, f, NULL);
        }
        return;
    }
    pt_if_file_t *g = pt_if_file_by_id(s, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (g != NULL && g->fd >= 0) {
        pt_if_file_gone(s, g, NULL);
        return;
    }
    if (file_excluded(s, from) || !pt_if_claims_mine(s, from)) {
        return;
    }
    int fd = open(to, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return;
    }
    if (g != NULL) {
        /* An idle reader: give it back its descriptor under the new name. */
        pt_if_file_gone(s, g, NULL);
        g->fd = fd;
        g->ready = 1;
        pt_if_fd_force();
        s->open_count++;
        pt_gauge_add(s->m_files_open, 1);
        pt_if_start_idle(s);
        return;
    }
    struct stat fst;
    if (fstat(fd, &fst) != 0) {
        close(fd);
        return;
    }
    pt_if_file_add(s, from, fd, &fst, 0, PT_IF_ROTATED);
}

static void on_event(pt_if_state_t *s, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        s->ino_overflows++;
        pt_counter_inc(s->m_overflows);
        if (s->ino_overflows == 1 || (s->ino_overflows & (s->ino_overflows - 1)) == 0) {
            pt_plg_warn(s->id, "inotify queue overflowed (%llu times): rescanning",
                        (unsigned long long)s->ino_overflows);
        }
        s->last_scan_ns = 0; /* the next poll scans */
        return;
    }
    pt_if_dir_t *d = dir_by_wd(s, ev->wd);
    if (d == NULL) {
        return;
    }
    if (ev->mask & IN_IGNORED) {
        for (size_t i = 0; i < s->ndirs; i++) {
            if (s->dirs[i] == d) {
                dir_remove(s, i, 0);
                break;
            }
        }
        return;
    }
    if (ev->len == 0 || ev->name[0] == '\0') {
        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
            s->last_scan_ns = 0;
        }
        return;
    }
    char path[PATH_MAX];
    const char *sep = strcmp(d->path, "/") == 0 ? "" : "/";
    if (snprintf(path, sizeof(path), "%s%s%s", d->path, sep, ev->name) >= (int)sizeof(path)) {
        return;
    }
    if (ev->mask & IN_ISDIR) {
        if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
            on_new_dir(s, d, path, ev->name);
        } else if (ev->mask & (IN_MOVED_FROM | IN_DELETE)) {
            s->last_scan_ns = 0; /* files below it moved or went away */
        }
        return;
    }
    if (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE)) {
        pt_if_file_t *f = pt_if_file_by_path(s, path);
        if (f != NULL) {
            pt_if_wake(s, f);
        }
    }
    if (ev->mask & IN_MOVED_FROM) {
        pt_free(s->moved_from);
        s->moved_from = name_matches(s, d, ev->name) ? pt_strdup(path) : NULL;
        s->moved_cookie = ev->cookie;
        if (s->moved_from == NULL) {
            pt_if_file_t *f = pt_if_file_by_path(s, path);
            if (f != NULL) {
                pt_if_file_gone(s, f, NULL);
            }
        }
    }
    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        int matched = name_matches(s, d, ev->name);
        if (matched) {
            consider(s, path, 0);
        }
        if ((ev->mask & IN_MOVED_TO) && s->moved_from != NULL && ev->cookie == s->moved_cookie) {
            if (!matched) {
                on_moved_away(s, s->moved_from, path);
            } else {
                /* Renamed to another matched name: consider() moved the reader; a reader left
                 * at the old path is a stale entry. */
                pt_if_file_t *f = pt_if_file_by_path(s, s->moved_from);
                if (f != NULL && access(s->moved_from, F_OK) != 0) {
                    pt_if_file_gone(s, f, NULL);
                }
            }
            pt_free(s->moved_from);
            s->moved_from = NULL;
        }
        for (int i = 0; i < d->nctx; i++) {
            if (d->ctx[i].level < 0) {
                s->last_scan_ns = 0; /* something appeared on the way to a missing base */
            }
        }
    }
    if (ev->mask & IN_DELETE) {
        pt_if_file_t *f = pt_if_file_by_path(s, path);
        if (f != NULL) {
            pt_if_file_gone(s, f, NULL);
        }
    }
    if (ev->mask & IN_ATTRIB) {
        pt_if_file_t *f = pt_if_file_by_path(s, path);
        struct stat st;
        if (f != NULL && f->fd >= 0 && fstat(f->fd, &st) == 0 && st.st_nlink == 0) {
            pt_if_file_gone(s, f, NULL);
        }
    }
}

static void on_inotify(uv_poll_t *h, int status, int events)
{
    pt_if_state_t *s = h->data;
    (void)events;
    if (status < 0 || s->stopped) {
        return;
    }
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (int rounds = 0; rounds < 64; rounds++) {
        ssize_t n = read(s->ino_fd, buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            on_event(s, ev);
            p += sizeof(*ev) + ev->len;
        }
    }
    /* A rename whose IN_MOVED_TO never came (moved out of the watched directories): the file
     * left its path. */
    if (s->moved_from != NULL) {
        pt_if_file_t *f = pt_if_file_by_path(s, s->moved_from);
        if (f != NULL && access(s->moved_from, F_OK) != 0) {
            pt_if_file_gone(s, f, NULL);
        }
        pt_free(s->moved_from);
        s->moved_from = NULL;
    }
}

int pt_if_inotify_start(pt_if_state_t *s)
{
    s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->ino_fd < 0) {
        pt_plg_warn(s->id, "inotify is not available (%s): relying on a scan every second",
                    strerror(errno));
        return -errno;
    }
    int rc = uv_poll_init(s->loop, &s->ino_poll, s->ino_fd);
    if (rc != 0) {
        close(s->ino_fd);
        s->ino_fd = -1;
        return rc;
    }
    s->ino_poll.data = s;
    s->ino_poll_on = 1;
    s->handles_open++;
    uv_poll_start(&s->ino_poll, UV_READABLE, on_inotify);
    return 0;
}

void pt_if_inotify_close(pt_if_state_t *s, uv_close_cb cb)
{
    if (s->ino_poll_on) {
        uv_close((uv_handle_t *)&s->ino_poll, cb);
        s->ino_poll_on = 0;
    }
    if (s->ino_fd >= 0) {
        /* uv_close stopped the poll synchronously; the descriptor is ours to close. */
        close(s->ino_fd);
        s->ino_fd = -1;
    }
    pt_free(s->moved_from);
    s->moved_from = NULL;
}
