/* Pipeline manager: the set of running pipelines and how it changes. A changed config is built
 * and validated before the old pipeline stops; if the build fails the old one keeps running and
 * the error is logged and counted. The old pipeline's inputs stop, it drains (every pushed group
 * acknowledged, so checkpoints are current), and only then does the new one start: its inputs
 * resume from the checkpoints the old one committed. */
#include "manager.h"

#include <dirent.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "common.h"
#include "log.h"
#include "mem.h"
#include "pipeline_internal.h"

typedef struct retiring_s {
    pt_pipeline_t *old;
    pt_pipeline_t *successor; /* started when old has drained (or after the drain timeout) */
    uint64_t since_ns;
    struct retiring_s *next;
} retiring_t;

typedef struct {
    uv_loop_t *loop;
    const pt_manager_opts_t *o;
    pt_pipeline_opts_t popts;
    pt_pipeline_t *running;
    retiring_t *retiring;
    uv_timer_t tick;
    uv_timer_t reload_timer;
    uv_signal_t sig_term;
    uv_signal_t sig_int;
    uv_signal_t sig_hup;
    uv_fs_event_t dir_watch;
    int dir_watching;
    int shutting_down;
    int spooled_at_shutdown;
    uint64_t shutdown_deadline;
    uint64_t shutdown_spool_at;
    int exit_code;
    pt_admin_t *admin;
    pt_counter_t *m_reload_ok;
    pt_counter_t *m_reload_fail;
    uint64_t last_dir_sig;
} manager_t;

/* ========================================================================== helpers ====== */

void pt_pipeline_name_of(const char *file, char *buf, size_t len)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    snprintf(buf, len, "%s", base);
    char *dot = strrchr(buf, '.');
    if (dot != NULL && dot != buf) {
        *dot = '\0';
    }
}

static int is_config_name(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.') {
        return 0;
    }
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int pt_config_dir_list(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    *out = NULL;
    if (d == NULL) {
        return -errno;
    }
    char **v = NULL;
    int n = 0;
    int cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_config_name(de->d_name)) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = pt_realloc(v, sizeof(*nv) * (size_t)cap);
            if (nv == NULL) {
                break;
            }
            v = nv;
        }
        char path[4096];
        size_t dl = strlen(dir);
        while (dl > 1 && dir[dl - 1] == '/') {
            dl--;
        }
        snprintf(path, sizeof(path), "%.*s/%s", (int)dl, dir, de->d_name);
        v[n] = pt_strdup(path);
        if (v[n] != NULL) {
            n++;
        }
    }
    closedir(d);
    if (n > 0) {
        qsort(v, (size_t)n, sizeof(*v), cmp_str);
    }
    *out = v;
    return n;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++) {
        pt_free(v[i]);
    }
    pt_free(v);
}

static void print_diag(const pt_cfg_diag_t *d, int level)
{
    if (d->text.len == 0) {
        return;
    }
    /* One log line per diagnostic. */
    const char *p = d->text.data;
    const char *end = p + d->text.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        int n = (int)((nl ? nl : end) - p);
        int lv = (n > 0 && strstr(p, "warning:") != NULL &&
                  strstr(p, "warning:") < p + n) ? PT_LOG_WARN : level;
        PT_LOG(lv, NULL, "%.*s", n, p);
        p = nl ? nl + 1 : end;
    }
}

static pt_pipeline_t *find_running(manager_t *m, const char *name)
{
    for (pt_pipeline_t *p = m->running; p != NULL; p = p->next) {
        if (strcmp(p->name, name) == 0) {
            return p;
        }
    }
    return NULL;
}

static void unlink_running(manager_t *m, pt_pipeline_t *p)
{
    for (pt_pipeline_t **pp = &m->running; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            p->next = NULL;
            return;
        }
    }
}

static void retire(manager_t *m, pt_pipeline_t *old, pt_pipeline_t *successor);

static int start_pipeline(manager_t *m, pt_pipeline_t *p)
{
    int rc = pt_pipeline_start(p, m->loop);
    if (rc != 0) {
        pt_log_error("pipeline %s failed to start: %s", p->name, pt_strerror(rc));
        if (p->state == PT_PIPE_RUNNING) {
            /* Some inputs ran: drain what they pushed like any retired pipeline. */
            retire(m, p, NULL);
        } else {
            pt_pipeline_destroy(p);
        }
        return rc;
    }
    p->next = m->running;
    m->running = p;
    return 0;
}

/* The new version of a pipeline built but failed to start (e.g. its output directory is not
 * writable). The old version was already stopped, so rebuild it from the text it was built from
 * and run it again: a bad config never leaves a pipeline dead. */
static void restore_previous(manager_t *m, pt_pipeline_t *old, uint64_t failed_hash)
{
    pt_node_err_t err;
    pt_node_t *tree = pt_node_parse_string_ex(old->source.data ? old->source.data : "",
                                              old->source.len, &err);
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, old->file, old->name);
    pt_pipeline_t *np = NULL;
    if (tree != NULL) {
        np = pt_pipeline_build_tree(tree, old->file, old->name, &m->popts, &d);
    }
    pt_cfg_diag_free(&d);
    if (np == NULL) {
        pt_log_error("pipeline %s: the previous version could not be rebuilt; it stays stopped "
                     "until its config is fixed", old->name);
        return;
    }
    /* Keep the failed file's hash so the poll does not retry it every second; an edit (or
     * SIGHUP) does. Keep the old text as the one to restore. */
    np->content_hash = failed_hash;
    pt_buf_free(&np->source);
    pt_buf_append(&np->source, old->source.data, old->source.len);
    if (start_pipeline(m, np) == 0) {
        pt_log_warn("pipeline %s: running the previous version again", old->name);
    }
}

static void retire(manager_t *m, pt_pipeline_t *old, pt_pipeline_t *successor)
{
    retiring_t *r = pt_calloc(1, sizeof(*r));
    if (r == NULL) {
        /* Cannot track it: keep the old pipeline running rather than lose data. */
        pt_pipeline_destroy(successor);
        return;
    }
    unlink_running(m, old);
    pt_pipeline_stop_inputs(old);
    r->old = old;
    r->successor = successor;
    r->since_ns = pt_now_mono_ns();
    r->next = m->retiring;
    m->retiring = r;
}

/* ========================================================================== reload ======= */

static int file_listed(char **files, int n, const char *path)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(files[i], path) == 0) {
            return 1;
        }
    }
    return 0;
}


/* Builds the desired set from the files and reconciles the running set with it. Returns the
 * number of files that failed to build. */
static int reload(manager_t *m, int initial)
{
    char **files = NULL;
    int n = 0;
    if (m->o->config_dir != NULL) {
        n = pt_config_dir_list(m->o->config_dir, &files);
        if (n < 0) {
            pt_log_error("cannot read config dir %s: %s", m->o->config_dir, pt_strerror(n));
            n = 0;
            if (!initial) {
                /* Keep what runs: an unreadable directory is not an instruction to stop. */
                return 1;
            }
        }
    }
    for (const char *const *f = m->o->files; f != NULL && *f != NULL; f++) {
        char **nv = pt_realloc(files, sizeof(*nv) * (size_t)(n + 1));
        if (nv == NULL) {
            break;
        }
        files = nv;
        files[n] = pt_strdup(*f);
        if (files[n] != NULL) {
            n++;
        }
    }
    int failures = 0;
    for (int i = 0; i < n; i++) {
        char name[256];
        pt_pipeline_name_of(files[i], name, sizeof(name));
        pt_pipeline_t *cur = find_running(m, name);
        uint64_t h = pt_config_file_hash(files[i], NULL);
        if (cur != NULL && cur->content_hash == h && strcmp(cur->file, files[i]) == 0) {
            continue;
        }
        pt_cfg_diag_t d;
        pt_cfg_diag_init(&d, files[i], name);
        pt_node_err_t err;
        pt_node_t *tree = pt_node_parse_file_ex(files[i], &err);
        pt_pipeline_t *np = NULL;
        if (tree == NULL) {
            pt_cfg_error(&d, err.line, NULL, "%s", err.reason);
        } else if (!pt_pipeline_is_enabled(tree)) {
            pt_node_free(tree);
            pt_cfg_diag_free(&d);
            if (cur != NULL) {
                pt_log_info("pipeline %s disabled (enable: false); stopping it", name);
                retire(m, cur, NULL);
            }
            continue;
        } else {
            np = pt_pipeline_build_tree(tree, files[i], name, &m->popts, &d);
        }
        if (np == NULL) {
            failures++;
            print_diag(&d, PT_LOG_ERROR);
            pt_counter_add(m->m_reload_fail, 1);
            if (cur != NULL) {
                pt_log_error("pipeline %s: new config rejected; the running version stays",
                             name);
            }
            pt_cfg_diag_free(&d);
            continue;
        }
        print_diag(&d, PT_LOG_WARN);
        pt_cfg_diag_free(&d);
        if (!initial) {
            pt_counter_add(m->m_reload_ok, 1);
        }
        if (cur != NULL) {
            pt_log_info("pipeline %s changed; replacing it once the old version drains", name);
            retire(m, cur, np);
        } else if (start_pipeline(m, np) != 0 && !initial) {
            pt_counter_add(m->m_reload_fail, 1);
        }
    }
    /* Pipelines whose file went away stop. */
    pt_pipeline_t *p = m->running;
    while (p != NULL) {
        pt_pipeline_t *next = p->next;
        if (!file_listed(files, n, p->file)) {
            pt_log_info("pipeline %s removed (%s is gone); stopping it", p->name, p->file);
            retire(m, p, NULL);
        }
        p = next;
    }
    free_list(files, n);
    return failures;
}

/* ========================================================================== timers ======= */

static void begin_shutdown(manager_t *m, const char *why)
{
    if (m->shutting_down) {
        return;
    }
    pt_log_info("%s: stopping intake and draining (up to %lld ms)", why,
                (long long)m->o->agent->shutdown_timeout_ms);
    m->shutting_down = 1;
    uint64_t now = pt_now_mono_ns();
    m->shutdown_deadline = now + (uint64_t)m->o->agent->shutdown_timeout_ms * 1000000ull;
    /* Try to deliver for the first 60% of the grace period, then write what is still in memory
     * to the spools so its acks (and the checkpoints) complete before the deadline. */
    m->shutdown_spool_at = now + (uint64_t)m->o->agent->shutdown_timeout_ms * 600000ull;
    while (m->running != NULL) {
        retire(m, m->running, NULL);
    }
    for (retiring_t *r = m->retiring; r != NULL; r = r->next) {
        if (r->successor != NULL) {
            pt_pipeline_destroy(r->successor);
            r->successor = NULL;
        }
    }
}

static void on_tick(uv_timer_t *t)
{
    manager_t *m = t->data;
    uint64_t now = pt_now_mono_ns();
    uint64_t drain_ns = (uint64_t)m->o->agent->reload_drain_timeout_ms * 1000000ull;
    retiring_t **pr = &m->retiring;
    while (*pr != NULL) {
        retiring_t *r = *pr;
        int drained = pt_pipeline_drained(r->old);
        if (r->successor != NULL && (drained || now - r->since_ns >= drain_ns)) {
            if (!drained) {
                pt_log_warn("pipeline %s did not drain in time; starting its new version "
                            "(data in flight may be read twice)", r->old->name);
            }
            pt_pipeline_flush_state(r->old);
            pt_pipeline_t *succ = r->successor;
            uint64_t succ_hash = succ->content_hash;
            r->successor = NULL;
            if (start_pipeline(m, succ) != 0) {
                pt_counter_add(m->m_reload_fail, 1);
                pt_log_error("pipeline %s: the new version failed to start", r->old->name);
                restore_previous(m, r->old, succ_hash);
            }
        }
        if (drained && r->successor == NULL) {
            *pr = r->next;
            pt_pipeline_destroy(r->old);
            pt_free(r);
            continue;
        }
        pr = &r->next;
    }
    if (m->o->oneshot && !m->shutting_down) {
        int done = m->running != NULL || m->retiring == NULL;
        for (pt_pipeline_t *p = m->running; p != NULL && done; p = p->next) {
            done = pt_pipeline_inputs_finished(p);
            if (done && !pt_pipeline_drained(p)) {
                /* Everything is read: send partial batches now instead of at their timeout. */
                pt_pipeline_flush_batches(p);
                done = 0;
            }
            /* Acknowledged can mean spooled (Spool.Mode always, or a failing destination):
             * a one-shot run also waits until the spools are delivered. */
            done = done && pt_pipeline_delivered(p);
        }
        if (done) {
            pt_log_info("oneshot: every input read to its end and acknowledged");
            begin_shutdown(m, "oneshot done");
        }
    }
    if (m->shutting_down && !m->spooled_at_shutdown && now >= m->shutdown_spool_at) {
        m->spooled_at_shutdown = 1;
        for (retiring_t *r = m->retiring; r != NULL; r = r->next) {
            if (!pt_pipeline_drained(r->old)) {
                pt_pipeline_spool_all(r->old);
            }
        }
    }
    if (m->shutting_down) {
        if (m->retiring == NULL) {
            uv_stop(m->loop);
        } else if (now >= m->shutdown_deadline) {
            pt_log_warn("shutdown timeout: data not yet acknowledged stays uncommitted and is "
                        "read again at the next start");
            for (retiring_t *r = m->retiring; r != NULL; r = r->next) {
                pt_pipeline_flush_state(r->old);
            }
            m->exit_code = 0;
            uv_stop(m->loop);
        }
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    manager_t *m = h->data;
    if (signum == SIGHUP) {
        pt_log_info("SIGHUP: reloading pipeline configs");
        reload(m, 0);
        return;
    }
    begin_shutdown(m, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void on_reload_timer(uv_timer_t *t)
{
    manager_t *m = t->data;
    if (m->shutting_down) {
        return;
    }
    /* Poll as well as watch: inotify misses edits on some filesystems and ConfigMap symlink
     * swaps; a cheap signature of names, sizes and mtimes decides whether to reload. */
    uint64_t sig = 1469598103934665603ull;
    char **files = NULL;
    int n = m->o->config_dir ? pt_config_dir_list(m->o->config_dir, &files) : 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(files[i], &st) == 0) {
            sig = (sig ^ (uint64_t)st.st_size) * 1099511628211ull;
            sig = (sig ^ (uint64_t)st.st_mtim.tv_nsec) * 1099511628211ull;
            sig = (sig ^ (uint64_t)st.st_mtim.tv_sec) * 1099511628211ull;
        }
        for (const char *c = files[i]; *c; c++) {
            sig = (sig ^ (uint8_t)*c) * 1099511628211ull;
        }
    }
    for (const char *const *f = m->o->files; f != NULL && *f != NULL; f++) {
        struct stat st;
        if (stat(*f, &st) == 0) {
            sig = (sig ^ (uint64_t)st.st_mtim.tv_nsec) * 1099511628211ull;
            sig = (sig ^ (uint64_t)st.st_size) * 1099511628211ull;
        }
    }
    free_list(files, n > 0 ? n : 0);
    if (sig != m->last_dir_sig) {
        m->last_dir_sig = sig;
        reload(m, 0);
    }
}

static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    manager_t *m = h->data;
    /* Coalesce bursts of events (editors write, rename, chmod) into one reload shortly after. */
    uv_timer_start(&m->reload_timer, on_reload_timer, 200, 1000);
}

static bool ready_cb(void *ud)
{
    manager_t *m = ud;
    return !m->shutting_down && m->running != NULL;
}

/* ========================================================================== run ========== */

static void on_close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

int pt_manager_run(uv_loop_t *loop, const pt_manager_opts_t *o)
{
    manager_t m;
    memset(&m, 0, sizeof(m));
    m.loop = loop;
    m.o = o;
    m.exit_code = 0;
    const pt_agent_conf_t *a = o->agent;
    int nworkers = (int)a->processor_threads;
    if (nworkers <= 0) {
        nworkers = (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (nworkers < 1) {
            nworkers = 1;
        }
    }
    m.popts.data_dir = a->data_dir;
    m.popts.oneshot = o->oneshot;
    m.popts.nshards = nworkers;
    m.popts.high_watermark = (uint64_t)a->queue_high_bytes;
    m.popts.sender_cap = (uint64_t)a->sender_queue_bytes;
    m.m_reload_ok = pt_counter_new("petrel_config_reloads_total", "Pipeline configs (re)loaded",
                                   "result=\"ok\"");
    m.m_reload_fail = pt_counter_new("petrel_config_reloads_total", "Pipeline configs (re)loaded",
                                     "result=\"failed\"");

    int rc = pt_sender_start();
    if (rc == 0) {
        rc = pt_sched_start(nworkers);
    }
    if (rc != 0) {
        pt_log_error("cannot start threads: %s", pt_strerror(rc));
        return 1;
    }
    if (a->admin_enable) {
        rc = pt_admin_start(loop, a->admin_host, (int)a->admin_port, ready_cb, &m, &m.admin);
        if (rc != 0) {
            pt_log_error("cannot serve the admin endpoint on %s:%lld: %s", a->admin_host,
                         (long long)a->admin_port, pt_strerror(rc));
            m.exit_code = 1;
            goto out;
        }
    }
    int failures = reload(&m, 1);
    if (m.running == NULL) {
        pt_log_error("no pipeline could be started (%d config error(s))", failures);
        m.exit_code = 1;
        goto out;
    }
    uv_timer_init(loop, &m.tick);
    m.tick.data = &m;
    uv_timer_start(&m.tick, on_tick, 20, 20);
    uv_timer_init(loop, &m.reload_timer);
    m.reload_timer.data = &m;
    if (!o->oneshot) {
        on_reload_timer(&m.reload_timer); /* records the current signature */
        uv_timer_start(&m.reload_timer, on_reload_timer, 1000, 1000);
        if (o->config_dir != NULL && uv_fs_event_init(loop, &m.dir_watch) == 0) {
            m.dir_watch.data = &m;
            m.dir_watching = uv_fs_event_start(&m.dir_watch, on_dir_event, o->config_dir, 0) == 0;
        }
    }
    uv_signal_init(loop, &m.sig_term);
    uv_signal_init(loop, &m.sig_int);
    uv_signal_init(loop, &m.sig_hup);
    m.sig_term.data = m.sig_int.data = m.sig_hup.data = &m;
    uv_signal_start(&m.sig_term, on_signal, SIGTERM);
    uv_signal_start(&m.sig_int, on_signal, SIGINT);
    uv_signal_start(&m.sig_hup, on_signal, SIGHUP);
    signal(SIGPIPE, SIG_IGN);

    uv_run(loop, UV_RUN_DEFAULT);

    if (m.retiring != NULL) {
        /* Shutdown deadline passed with data in flight: checkpoints were written with the
         * committed offsets only. Leave at once, as a 1-second grace period demands; the
         * unacknowledged data is read again at the next start. */
        fflush(NULL);
        _exit(m.exit_code);
    }
out:
    while (m.running != NULL) {
        pt_pipeline_t *p = m.running;
        m.running = p->next;
        pt_pipeline_stop_inputs(p);
        pt_pipeline_destroy(p);
    }
    if (m.admin != NULL) {
        pt_admin_stop(m.admin, NULL, NULL);
    }
    pt_sched_stop();
    pt_sender_stop();
    uv_walk(loop, on_close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    pt_plugin_counter_free(m.m_reload_ok);
    pt_plugin_counter_free(m.m_reload_fail);
    pt_arena_pool_purge();
    pt_pipeline_pools_purge();
    return m.exit_code;
}

/* ========================================================================== check ======== */

static int check_file(const char *file)
{
    char name[256];
    pt_pipeline_name_of(file, name, sizeof(name));
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, file, name);
    pt_pipeline_opts_t po = {"/nonexistent-check-mode", 0, 1, 1u << 20, 1u << 20};
    pt_pipeline_t *p = pt_pipeline_build(file, name, &po, &d);
    int bad = p == NULL || d.nerrors > 0;
    fflush(stdout);
    if (d.text.len > 0) {
        fwrite(d.text.data, 1, d.text.len, stderr);
        fflush(stderr);
    }
    if (!bad) {
        printf("%s: ok (pipeline %s: %d input(s), %d processor(s), %d flusher(s))\n", file, name,
               p->ninputs, p->nprocessors, p->nflushers);
    } else {
        printf("%s: %d error(s)\n", file, d.nerrors ? d.nerrors : 1);
    }
    pt_pipeline_destroy(p);
    pt_cfg_diag_free(&d);
    return bad;
}

int pt_manager_check(const char *const *paths, int npaths)
{
    int bad = 0;
    for (int i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            fprintf(stderr, "%s: cannot read: %s\n", paths[i], strerror(errno));
            bad++;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            char **files;
            int n = pt_config_dir_list(paths[i], &files);
            if (n < 0) {
                fprintf(stderr, "%s: cannot read: %s\n", paths[i], pt_strerror(n));
                bad++;
                continue;
            }
            if (n == 0) {
                fprintf(stderr, "%s: no *.yaml, *.yml or *.json pipeline config\n", paths[i]);
                bad++;
            }
            for (int k = 0; k < n; k++) {
                bad += check_file(files[k]);
            }
            free_list(files, n);
        } else {
            bad += check_file(paths[i]);
        }
    }
    return bad;
}
