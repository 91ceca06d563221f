/* Engine test on a real loop: input_file reads a file of known lines, the scheduler's workers
 * batch them, the sender thread hands them to flusher_file, and the acks come back to commit the
 * checkpoint. Asserts what a user checks: every line arrives once, in order, and the checkpoint
 * holds the end of the file. Runs the way `petrel --oneshot` does (core/manager.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "config/node.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pipeline_internal.h"
#include "inputs/input_file/input_file_internal.h"

/* ====================================================== allocator with a quarantine ===== */

/* While `quarantine` is on, freed blocks are kept with a hash of their bytes instead of being
 * returned to malloc; afterwards a block whose bytes changed was written after it was freed.
 * This catches use-after-free the same way in normal and sanitizer builds. */
#define HDR 16u

typedef struct qrec_s {
    struct qrec_s *next;
    char *ptr;
    size_t size;
    uint64_t hash;
} qrec_t;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static int quarantine;
static qrec_t *quarantined;

/* When set, allocations of a payload's size on any thread but the main one fail: on workers that
 * size is only ever a pt_payload_t (acks arrays are 64 bytes, group lists 128, buffers 256+). */
static pthread_t main_thread;
static atomic_int fail_payload_allocs;
static atomic_int payload_allocs_failed;

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    }
    return h;
}

static void *q_malloc(size_t n)
{
    if (atomic_load(&fail_payload_allocs) && n == sizeof(pt_payload_t) &&
        !pthread_equal(pthread_self(), main_thread)) {
        atomic_fetch_add(&payload_allocs_failed, 1);
        return NULL;
    }
    char *p = malloc(n + HDR);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, &n, sizeof(n));
    return p + HDR;
}

static void q_free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    char *p = (char *)ptr - HDR;
    size_t n;
    memcpy(&n, p, sizeof(n));
    pthread_mutex_lock(&q_lock);
    qrec_t *q = quarantine ? malloc(sizeof(*q)) : NULL;
    if (q != NULL) {
        q->ptr = ptr;
        q->size = n;
        q->hash = hash_bytes(ptr, n);
        q->next = quarantined;
        quarantined = q;
        pthread_mutex_unlock(&q_lock);
        return;
    }
    pthread_mutex_unlock(&q_lock);
    free(p);
}

static void *q_calloc(size_t c, size_t n)
{
    if (n != 0 && c > SIZE_MAX / n) {
        return NULL;
    }
    void *p = q_malloc(c * n);
    if (p != NULL) {
        memset(p, 0, c * n);
    }
    return p;
}

static void *q_realloc(void *ptr, size_t n)
{
    if (ptr == NULL) {
        return q_malloc(n);
    }
    size_t old;
    memcpy(&old, (char *)ptr - HDR, sizeof(old));
    void *np = q_malloc(n);
    if (np == NULL) {
        return NULL;
    }
    memcpy(np, ptr, old < n ? old : n);
    q_free(ptr);
    return np;
}

/* Ends the quarantine: frees the kept blocks and describes those written after their free
 * ("" when none) in out. */
static void quarantine_end(char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    pthread_mutex_lock(&q_lock);
    quarantine = 0;
    while (quarantined != NULL) {
        qrec_t *q = quarantined;
        quarantined = q->next;
        if (hash_bytes(q->ptr, q->size) != q->hash && n + 64 < cap) {
            n += (size_t)snprintf(out + n, cap - n, "%s%zu-byte block", n ? ", " : "", q->size);
        }
        free(q->ptr - HDR);
        free(q);
    }
    pthread_mutex_unlock(&q_lock);
}

/* ========================================================================= helpers ====== */

typedef struct {
    char dir[256];
    char in_dir[300];
    char in_file[320];
    char out_file[320];
    char data_dir[300];
} env_t;

static void env_make(env_t *e)
{
    snprintf(e->dir, sizeof(e->dir), "/tmp/petrel-test-pipeline-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->in_dir, sizeof(e->in_dir), "%s/in", e->dir);
    snprintf(e->in_file, sizeof(e->in_file), "%s/app.log", e->in_dir);
    snprintf(e->out_file, sizeof(e->out_file), "%s/out/out.jsonl", e->dir);
    snprintf(e->data_dir, sizeof(e->data_dir), "%s/data", e->dir);
    assert_int_equal(mkdir(e->in_dir, 0755), 0);
    assert_int_equal(mkdir(e->data_dir, 0755), 0);
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
                continue;
            }
            char sub[1024];
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        if (d != NULL) {
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *len = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void append_file(const char *path, const char *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* Line i of a generated input: only characters that JSON writes as they are. */
static int make_line(char *buf, size_t cap, unsigned i, unsigned pad)
{
    int n = snprintf(buf, cap, "line %07u ", i);
    for (unsigned k = 0; k < pad && (size_t)n + 1 < cap; k++) {
        buf[n++] = (char)('a' + (i + k) % 26);
    }
    buf[n] = '\0';
    return n;
}

/* Writes lines [from, to) to the input file; returns the bytes written. */
static size_t write_lines(const char *path, unsigned from, unsigned to, unsigned pad)
{
    size_t cap = (size_t)(to - from) * (pad + 32) + 1;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n = 0;
    for (unsigned i = from; i < to; i++) {
        n += (size_t)make_line(buf + n, cap - n, i, pad);
        buf[n++] = '\n';
    }
    append_file(path, buf, n);
    free(buf);
    return n;
}

/* Checks one output line: {"__time__":<digits>,<rest>} where rest is given. Returns the end of
 * the line. */
static const char *expect_line(const char *at, const char *end, const char *rest, unsigned index)
{
    const char *nl = memchr(at, '\n', (size_t)(end - at));
    if (nl == NULL) {
        fail_msg("output line %u missing", index);
    }
    const char *p = at;
    if (strncmp(p, "{\"__time__\":", 12) != 0) {
        fail_msg("output line %u: %.*s", index, (int)(nl - at), at);
    }
    p += 12;
    const char *digits = p;
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    size_t rl = strlen(rest);
    if (p == digits || *p != ',' || (size_t)(nl - p - 1) != rl || memcmp(p + 1, rest, rl) != 0) {
        fail_msg("output line %u:\n  got  %.*s\n  want {\"__time__\":N,%s", index, (int)(nl - at),
                 at, rest);
    }
    return nl + 1;
}

/* ====================================================================== the runner ===== */

typedef struct {
    uv_loop_t *loop;
    pt_pipeline_t *p;
    uint64_t deadline;
    int done;
    int timed_out;
} drive_t;

/* What the manager's tick does in oneshot mode: once every input is read to its end, send the
 * open batches now; once every group is acknowledged, stop. */
static void on_tick(uv_timer_t *t)
{
    drive_t *d = t->data;
    if (pt_pipeline_inputs_finished(d->p)) {
        if (pt_pipeline_drained(d->p)) {
            d->done = 1;
            uv_stop(d->loop);
            return;
        }
        pt_pipeline_flush_batches(d->p);
    }
    if (pt_now_mono_ns() > d->deadline) {
        d->timed_out = 1;
        uv_stop(d->loop);
    }
}

typedef struct {
    uint64_t high_watermark;
    int nshards;
    uint64_t pushed;
    /* 1: destroy right after stop_inputs, without a loop turn between (as the manager does
     * when a pipeline fails to start, and on its way out). */
    int destroy_at_once;
    char written_after_free[512];
} run_opts_t;

/* Builds the pipeline from yaml, runs it to the end of its inputs, stops and destroys it. */
static void run_pipeline(const char *yaml, const char *name, const env_t *e, run_opts_t *ro)
{
    char err[512];
    pt_node_t *tree = pt_node_parse_string(yaml, strlen(yaml), name, err, sizeof(err));
    if (tree == NULL) {
        fail_msg("yaml: %s", err);
    }
    pt_pipeline_opts_t o;
    memset(&o, 0, sizeof(o));
    o.data_dir = e->data_dir;
    o.oneshot = 1;
    o.nshards = ro->nshards;
    o.high_watermark = ro->high_watermark;
    o.sender_cap = 32u << 20;
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, name, name);
    pt_pipeline_t *p = pt_pipeline_build_tree(tree, "/nonexistent/test.yaml", name, &o, &d);
    if (p == NULL || d.nerrors != 0 || d.nwarnings != 0) {
        fail_msg("build: %s", pt_cfg_diag_text(&d));
    }
    pt_cfg_diag_free(&d);

    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(pt_pipeline_start(p, &loop), 0);
    drive_t dr = {&loop, p, pt_now_mono_ns() + 60ull * 1000000000ull, 0, 0};
    uv_timer_t tick;
    uv_timer_init(&loop, &tick);
    tick.data = &dr;
    uv_timer_start(&tick, on_tick, 5, 5);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&tick, NULL);

    ro->pushed = p->pushed;
    pt_pipeline_stop_inputs(p);
    if (ro->destroy_at_once) {
        quarantine = 1;
    } else {
        uv_run(&loop, UV_RUN_NOWAIT); /* the inputs' handles finish closing */
    }
    pt_pipeline_destroy(p);
    uv_run(&loop, UV_RUN_DEFAULT); /* lets the closed handles finish */
    if (ro->destroy_at_once) {
        quarantine_end(ro->written_after_free, sizeof(ro->written_after_free));
    }
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(dr.timed_out, 0);
    assert_int_equal(dr.done, 1);
}

static void check_checkpoint(const env_t *e, const char *name, uint64_t want_offset)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/checkpoints/%s.json", e->data_dir, name);
    struct stat st;
    if (stat(path, &st) != 0) {
        fail_msg("no checkpoint file %s", path);
    }
    pt_ckpt_t c;
    assert_int_equal(pt_ckpt_load(&c, e->data_dir, name, "test"), 0);
    assert_int_equal(c.n, 1);
    struct stat in;
    assert_int_equal(stat(e->in_file, &in), 0);
    assert_string_equal(c.v[0].path, e->in_file);
    assert_int_equal(c.v[0].dev, (uint64_t)in.st_dev);
    assert_int_equal(c.v[0].ino, (uint64_t)in.st_ino);
    assert_int_equal(c.v[0].offset, want_offset);
    assert_int_equal(c.v[0].fplen, in.st_size < 1024 ? (uint32_t)in.st_size : 1024u);
    int fd = open(e->in_file, O_RDONLY);
    uint32_t len = 0;
    assert_int_equal(c.v[0].fp, pt_file_fingerprint(fd, c.v[0].fplen, &len));
    close(fd);
    pt_ckpt_free(&c);
    /* No temporary file is left next to it. */
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_not_equal(stat(tmp, &st), 0);
}

static int group_setup(void **state)
{
    (void)state;
    pt_log_set_level(PT_LOG_WARN);
    if (pt_sender_start() != 0 || pt_sched_start(2) != 0) {
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pt_sched_stop();
    pt_sender_stop();
    pt_arena_pool_purge();
    pt_pipeline_pools_purge();
    return 0;
}

static char yaml_buf[4096];

static const char *yaml_file_to_file(const env_t *e, const char *extra_input, const char *procs,
                                     int tags)
{
    snprintf(yaml_buf, sizeof(yaml_buf),
             "enable: true\n"
             "inputs:\n"
             "  - Type: input_file\n"
             "    FilePaths: [\"%s/*.log\"]\n"
             "%s"
             "%s"
             "flushers:\n"
             "  - Type: flusher_file\n"
             "    FilePath: \"%s\"\n"
             "    MaxFileSize: 0\n"
             "    Tags: %s\n",
             e->in_dir, extra_input ? extra_input : "", procs ? procs : "", e->out_file,
             tags ? "true" : "false");
    return yaml_buf;
}

/* ============================================================================ tests ====== */

static void test_lines_arrive_in_order(void **state)
{
    (void)state;
    env_t e;
    env_make(&e);
    const unsigned n = 20000;
    size_t size = write_lines(e.in_file, 0, n, 40);
    run_opts_t ro = {8u << 20, 2, 0, 0, ""};
    run_pipeline(yaml_file_to_file(&e, NULL, NULL, 1), "p_order", &e, &ro);
    assert_true(ro.pushed >= 1);

    size_t len;
    char *out = read_all(e.out_file, &len);
    assert_non_null(out);
    const char *at = out;
    const char *end = out + len;
    for (unsigned i = 0; i < n; i++) {
        char line[128];
        char rest[512];
        make_line(line, sizeof(line), i, 40);
        snprintf(rest, sizeof(rest), "\"content\":\"%s\",\"__tag__:__path__\":\"%s\"}", line,
                 e.in_file);
        at = expect_line(at, end, rest, i);
    }
    assert_ptr_equal(at, end); /* nothing more: no line twice */
    free(out);
    check_checkpoint(&e, "p_order", size);
    rm_rf(e.dir);
}

/* A process queue high watermark of 64 KiB against 8 MiB of input: the input pauses after
 * almost every group and resumes below the low watermark. Nothing may be lost or reordered. */
static void test_backpressure_complete_and_ordered(void **state)
{
    (void)state;
    env_t e;
    env_make(&e);
    const unsigned n = 100000;
    size_t size = write_lines(e.in_file, 0, n, 70);
    assert_true(size > (8u << 20));
    run_opts_t ro = {65536, 2, 0, 0, ""};
    run_pipeline(yaml_file_to_file(&e, NULL, NULL, 0), "p_bp", &e, &ro);
    /* Each group is one read of up to 448 KiB. */
    assert_true(ro.pushed >= size / (448u * 1024u));

    size_t len;
    char *out = read_all(e.out_file, &len);
    assert_non_null(out);
    const char *at = out;
    const char *end = out + len;
    for (unsigned i = 0; i < n; i++) {
        char line[128];
        char rest[256];
        make_line(line, sizeof(line), i, 70);
        snprintf(rest, sizeof(rest), "\"content\":\"%s\"}", line);
        at = expect_line(at, end, rest, i);
    }
    assert_ptr_equal(at, end);
    free(out);
    check_checkpoint(&e, "p_bp", size);
    rm_rf(e.dir);
}

/* Over-long lines are cut at MaxLineBytes and flagged, a line longer than a whole read is cut
 * and its rest skipped, and the last line without a newline is still delivered at the end. */
static void test_long_lines_and_last_line(void **state)
{
    (void)state;
    env_t e;
    env_make(&e);
    size_t huge_n = 600u * 1024u; /* more than one 448 KiB read */
    char *huge = malloc(huge_n + 1);
    for (size_t i = 0; i < huge_n; i++) {
        huge[i] = (char)('A' + i % 26);
    }
    huge[huge_n] = '\n';
    append_file(e.in_file, "first\n", 6);
    char mid[3000];
    memset(mid, 'm', 2000);
    mid[2000] = '\n';
    append_file(e.in_file, mid, 2001);
    append_file(e.in_file, huge, huge_n + 1);
    append_file(e.in_file, "after\nlast without newline", 26);
    struct stat st;
    assert_int_equal(stat(e.in_file, &st), 0);

    run_opts_t ro = {8u << 20, 2, 0, 0, ""};
    run_pipeline(yaml_file_to_file(&e, "    MaxLineBytes: 1024\n", NULL, 0), "p_long", &e, &ro);

    size_t len;
    char *out = read_all(e.out_file, &len);
    assert_non_null(out);
    const char *at = out;
    const char *end = out + len;
    char rest[4096];
    at = expect_line(at, end, "\"content\":\"first\"}", 0);
    snprintf(rest, sizeof(rest), "\"content\":\"%.1024s\",\"__truncated__\":\"true\"}", mid);
    at = expect_line(at, end, rest, 1);
    snprintf(rest, sizeof(rest), "\"content\":\"%.1024s\",\"__truncated__\":\"true\"}", huge);
    at = expect_line(at, end, rest, 2);
    at = expect_line(at, end, "\"content\":\"after\"}", 3);
    at = expect_line(at, end, "\"content\":\"last without newline\"}", 4);
    assert_ptr_equal(at, end);
    free(out);
    free(huge);
    check_checkpoint(&e, "p_long", (uint64_t)st.st_size);
    rm_rf(e.dir);
}

/* A second run resumes at the checkpoint: only the lines appended since are delivered. */
static void test_restart_resumes_at_checkpoint(void **state)
{
    (void)state;
    env_t e;
    env_make(&e);
    size_t size1 = write_lines(e.in_file, 0, 1000, 10);
    run_opts_t ro = {8u << 20, 1, 0, 0, ""};
    run_pipeline(yaml_file_to_file(&e, NULL, NULL, 0), "p_restart", &e, &ro);
    check_checkpoint(&e, "p_restart", size1);

    size_t size2 = write_lines(e.in_file, 1000, 1500, 10);
    assert_int_equal(unlink(e.out_file), 0);
    run_pipeline(yaml_file_to_file(&e, NULL, NULL, 0), "p_restart", &e, &ro);
    size_t len;
    char *out = read_all(e.out_file, &len);
    assert_non_null(out);
    const char *at = out;
    const char *end = out + len;
    for (unsigned i = 1000; i < 1500; i++) {
        char line[128];
        char rest[256];
        make_line(line, sizeof(line), i, 10);
        snprintf(rest, sizeof(rest), "\"content\":\"%s\"}", line);
        at = expect_line(at, end, rest, i - 1000);
    }
    assert_ptr_equal(at, end);
    free(out);
    check_checkpoint(&e, "p_restart", size1 + size2);
    rm_rf(e.dir);
}

/* The processor chain runs on the workers: JSON lines become fields, bad lines are dropped
 * (and still acknowledged, so the checkpoint reaches the end of the file). */
static void test_parse_json_in_pipeline(void **state)
{
    (void)state;
    env_t e;
    env_make(&e);
    char buf[128];
    size_t size = 0;
    for (unsigned i = 0; i < 3000; i++) {
        int n = i % 100 == 99
                    ? snprintf(buf, sizeof(buf), "not json %u\n", i)
                    : snprintf(buf, sizeof(buf), "{\"seq\":%u,\"msg\":\"m\\t%u\"}\n", i, i);
        append_file(e.in_file, buf, (size_t)n);
        size += (size_t)n;
    }
    run_opts_t ro = {8u << 20, 2, 0, 0, ""};
    run_pipeline(yaml_file_to_file(&e, NULL,
                                   "processors:\n"
                                   "  - Type: processor_parse_json_native\n"
                                   "    SourceKey: content\n",
                                   0),
                 "p_json", &e, &ro);
    size_t len;
    char *out = read_all(e.out_file, &len);
    assert_non_null(out);
    const char *at = out;
    const char *end = out + len;
    unsigned k = 0;
    for (unsigned i = 0; i < 3000; i++) {
        if (i % 100 == 99) {
            continue;
        }
        char rest[256];
        snprintf(rest, sizeof(rest), "\"seq\":\"%u\",\"msg\":\"m\\t%u\"}", i, i);
        at = expect_line(at, end, rest, k++);
    }
    assert_ptr_equal(at, end);
    free(out);
    check_checkpoint(&e, "p_json", size);
    rm_rf(e.dir);
}

/* pt_pipeline_destroy may follow pt_pipeline_stop_inputs at once (core/manager.c does so when
 * a start fails and when it leaves its loop): whatever the inputs closed in stop must not be
 * touched by libuv's close callbacks after destroy freed it. */
static void test_destroy_right_after_stop(void **state)
{
    (void)state;
    env_t e;
    env_make(&e);
    size_t size = write_lines(e.in_file, 0, 100, 10);
    run_opts_t ro = {8u << 20, 1, 0, 1, ""};
    run_pipeline(yaml_file_to_file(&e, NULL, NULL, 0), "p_atonce", &e, &ro);
    check_checkpoint(&e, "p_atonce", size);
    rm_rf(e.dir);
    if (ro.written_after_free[0] != '\0') {
        fail_msg("written after free: %s", ro.written_after_free);
    }
}

/* At-least-once under memory pressure: when the payload for the only flusher cannot be
 * allocated, the batch is dropped and counted -- but its acks must say so (a negative status),
 * so that input_file keeps its checkpoint before that data and reads it again after a restart.
 * The second run, with memory back, must deliver every line. */
static void test_dropped_batch_is_not_committed(void **state)
{
    (void)state;
    env_t e;
    env_make(&e);
    size_t size = write_lines(e.in_file, 0, 100, 10);
    run_opts_t ro = {8u << 20, 1, 0, 0, ""};
    atomic_store(&payload_allocs_failed, 0);
    atomic_store(&fail_payload_allocs, 1);
    run_pipeline(yaml_file_to_file(&e, NULL, NULL, 0), "p_oom", &e, &ro);
    atomic_store(&fail_payload_allocs, 0);
    assert_true(atomic_load(&payload_allocs_failed) >= 1);
    size_t len;
    char *out = read_all(e.out_file, &len);
    free(out);
    assert_int_equal(len, 0); /* nothing was delivered */

    pt_ckpt_t c;
    assert_int_equal(pt_ckpt_load(&c, e.data_dir, "p_oom", "test"), 0);
    uint64_t committed = c.n == 1 ? c.v[0].offset : UINT64_MAX;
    pt_ckpt_free(&c);

    run_pipeline(yaml_file_to_file(&e, NULL, NULL, 0), "p_oom", &e, &ro);
    out = read_all(e.out_file, &len);
    unsigned lines = 0;
    for (size_t i = 0; i < len; i++) {
        lines += out[i] == '\n';
    }
    free(out);
    rm_rf(e.dir);
    assert_int_equal(committed, 0);
    assert_int_equal(lines, 100);
    (void)size;
}

int main(void)
{
    main_thread = pthread_self();
    /* Installed before any petrel call, as pt_replace_allocator requires. */
    if (pt_replace_allocator(q_malloc, q_realloc, q_calloc, q_free) != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_arrive_in_order),
        cmocka_unit_test(test_backpressure_complete_and_ordered),
        cmocka_unit_test(test_long_lines_and_last_line),
        cmocka_unit_test(test_restart_resumes_at_checkpoint),
        cmocka_unit_test(test_parse_json_in_pipeline),
        cmocka_unit_test(test_dropped_batch_is_not_committed),
        cmocka_unit_test(test_destroy_right_after_stop),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
