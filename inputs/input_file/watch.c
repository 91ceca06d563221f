/* input_file watches: the table of directories a pattern can reach, each with its inotify watch,
 * and the handling of inotify events (new files and directories at any depth, renames,
 * deletions, writes, queue overflows). What inotify misses, the periodic scan finds. */
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

#define WATCH_MASK                                                                                 \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_ATTRIB |                 \
     IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

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

void pt_if_dir_remove(pt_if_state_t *s, size_t idx, int rm_watch)
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
        pt_if_dir_remove(s, s->ndirs - 1, 0);
    }
    pt_free(s->dirs);
    s->dirs = NULL;
    s->capdirs = 0;
    pt_free(s->wdmap);
    s->wdmap = NULL;
    s->wdcap = 0;
}

/* Notes that `path` was reached by pattern pi at (level, depth), and watches it. */
pt_if_dir_t *pt_if_dir_note(pt_if_state_t *s, const char *path, int pi, int level, int depth)
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

/* =========================================================================== inotify ====== */

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

/* The reader at path (if any) lost its file: it is read to its end. */
static void gone_at(pt_if_state_t *s, const char *path)
{
    pt_if_file_t *f = pt_if_file_by_path(s, path);
    if (f != NULL) {
        pt_if_file_gone(s, f, NULL);
    }
}

/* The same, once path names nothing any more (a rename away whose reader was not moved). */
static void gone_if_missing(pt_if_state_t *s, const char *path)
{
    pt_if_file_t *f = pt_if_file_by_path(s, path);
    if (f != NULL && access(path, F_OK) != 0) {
        pt_if_file_gone(s, f, NULL);
    }
}

/* A file moved from a matched name to a name the patterns do not match (logrotate's rename):
 * it is a rotated generation. If petrel never opened it (it lived too briefly) or had closed it
 * while idle, it is opened by its new name and read to its end. */
static void on_moved_away(pt_if_state_t *s, const char *from, const char *to)
{
    struct stat st;
    if (stat(to, &st) != 0 || !S_ISREG(st.st_mode)) {
        gone_at(s, from);
        return;
    }
    pt_if_file_t *g = pt_if_file_by_id(s, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (g != NULL && g->fd >= 0) {
        pt_if_file_gone(s, g, NULL);
        return;
    }
    if (pt_if_file_excluded(s, from) || !pt_if_claims_mine(s, from)) {
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
        pt_if_slot_force(s);
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
                pt_if_dir_remove(s, i, 0);
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
            pt_if_walk_new_dir(s, d, path, ev->name);
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
            gone_at(s, path);
        }
    }
    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        int matched = name_matches(s, d, ev->name);
        if (matched) {
            pt_if_consider(s, path, 0);
        }
        if ((ev->mask & IN_MOVED_TO) && s->moved_from != NULL && ev->cookie == s->moved_cookie) {
            if (!matched) {
                on_moved_away(s, s->moved_from, path);
            } else {
                /* Renamed to another matched name: pt_if_consider() moved the reader; a reader left
                 * at the old path is a stale entry. */
                gone_if_missing(s, s->moved_from);
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
        gone_at(s, path);
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
        gone_if_missing(s, s->moved_from);
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
