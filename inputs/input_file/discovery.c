/* input_file discovery: the full scan of every pattern (walking the directories it can reach,
 * following symlinked files and directories), the start of collection for a matched path, and
 * the rescue of rotated generations at start-up. The scan runs at start and periodically as a
 * backstop for inotify (missed events, overflowed queues, filesystems without inotify). Problems
 * a user can fix (a missing directory, a path that is a directory, an unreadable file) are
 * logged once. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

/* A path that could not be opened (or is not a regular file): logged once, retried when its
 * inode or change time moves. */
typedef struct pt_if_failed_s {
    char *path;
    uint64_t ino;
    int64_t ctime_ns;
} failed_t;

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
int pt_if_consider(pt_if_state_t *s, const char *path, int at_startup)
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
    if (pt_if_file_excluded(s, path)) {
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
    if (pt_if_dir_excluded(s, dir)) {
        return;
    }
    pt_if_dir_note(s, dir, pi, level, depth);
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
                pt_if_consider(s, child, w->at_startup); /* logs "is a directory" once */
            }
        } else if (level == p->ncomps && fnmatch(p->file, name, 0) == 0) {
            s->pats[pi].nfound += (uint64_t)pt_if_consider(s, child, w->at_startup);
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
            pt_if_dir_note(s, anc, pi, -1, 0);
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
            pt_if_dir_remove(s, i, 1);
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

/* A directory appeared in d: walk it for every way d was reached. */
void pt_if_walk_new_dir(pt_if_state_t *s, const pt_if_dir_t *d, const char *path, const char *name)
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
