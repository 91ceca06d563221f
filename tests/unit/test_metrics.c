/* Tests for core/metrics.c: registration rules, exact exposition text, and lock-free updates
 * from several threads summing exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"

#define PROCESS_MARK "# HELP process_cpu_seconds_total "

/* Renders, checks the process block is present and well-formed, and returns the registry part
 * (everything before it) as a malloc'd string. */
static char *render_registry(void)
{
    pt_buf_t b;
    char *mark;
    char *out;

    pt_buf_init(&b);
    assert_int_equal(pt_metrics_render(&b), 0);
    assert_int_equal(pt_buf_putc(&b, '\0'), 0);
    mark = strstr(b.data, PROCESS_MARK);
    assert_non_null(mark);
    assert_non_null(strstr(mark, "\nprocess_cpu_seconds_total "));
    assert_non_null(strstr(mark, "\n# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(mark, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(mark, "\nprocess_virtual_memory_bytes "));
    assert_non_null(strstr(mark, "\nprocess_start_time_seconds "));
    assert_non_null(strstr(mark, "\npetrel_build_info{version=\"" PETREL_VERSION "\"} 1\n"));
    /* The text ends with a newline, as the format requires. */
    assert_int_equal(b.data[b.len - 2], '\n');
    out = strndup(b.data, (size_t)(mark - b.data));
    pt_buf_free(&b);
    return out;
}

static void expect_registry(const char *want)
{
    char *got = render_registry();
    assert_string_equal(got, want);
    free(got);
}

static void test_empty(void **state)
{
    (void)state;
    expect_registry("");
}

static void test_register_unregister(void **state)
{
    pt_counter_t *c = NULL;
    pt_gauge_t *g = NULL;
    (void)state;

    assert_int_equal(
        pt_metrics_counter_register("t_events_total", "Events seen.", "pipeline=\"p1\"", &c), 0);
    assert_int_equal(pt_metrics_gauge_register("t_open_files", "Open files.", NULL, &g), 0);
    pt_counter_add(c, 41);
    pt_counter_inc(c);
    pt_gauge_set(g, 10);
    pt_gauge_add(g, -3);
    assert_int_equal(pt_counter_get(c), 42);
    assert_int_equal(pt_gauge_get(g), 7);
    expect_registry("# HELP t_events_total Events seen.\n"
                    "# TYPE t_events_total counter\n"
                    "t_events_total{pipeline=\"p1\"} 42\n"
                    "# HELP t_open_files Open files.\n"
                    "# TYPE t_open_files gauge\n"
                    "t_open_files 7\n");
    pt_metrics_counter_unregister(c);
    expect_registry("# HELP t_open_files Open files.\n"
                    "# TYPE t_open_files gauge\n"
                    "t_open_files 7\n");
    pt_metrics_gauge_unregister(g);
    expect_registry("");
    pt_metrics_counter_unregister(NULL);
}

static void test_shared_series(void **state)
{
    pt_counter_t *a = NULL;
    pt_counter_t *b = NULL;
    pt_counter_t *other = NULL;
    (void)state;

    /* A hot reload registers the same series again while the old pipeline still runs. */
    assert_int_equal(pt_metrics_counter_register("t_in_total", "In.", "pipeline=\"p\"", &a), 0);
    assert_int_equal(
        pt_metrics_counter_register("t_in_total", "Ignored help.", "pipeline=\"p\"", &b), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(pt_metrics_counter_register("t_in_total", "In.", "pipeline=\"q\"", &other), 0);
    assert_ptr_not_equal(a, other);
    pt_counter_add(a, 5);
    pt_counter_add(b, 1);
    pt_metrics_counter_unregister(a);
    /* Still registered once: the value carries on. */
    pt_counter_inc(b);
    expect_registry("# HELP t_in_total In.\n"
                    "# TYPE t_in_total counter\n"
                    "t_in_total{pipeline=\"p\"} 7\n"
                    "t_in_total{pipeline=\"q\"} 0\n");
    pt_metrics_counter_unregister(b);
    expect_registry("# HELP t_in_total In.\n"
                    "# TYPE t_in_total counter\n"
                    "t_in_total{pipeline=\"q\"} 0\n");
    pt_metrics_counter_unregister(other);
    expect_registry("");
}

static void test_invalid(void **state)
{
    pt_counter_t *c = NULL;
    pt_gauge_t *g = NULL;
    (void)state;

    assert_int_equal(pt_metrics_counter_register("", "h", NULL, &c), -EINVAL);
    assert_int_equal(pt_metrics_counter_register("1abc", "h", NULL, &c), -EINVAL);
    assert_int_equal(pt_metrics_counter_register("a-b", "h", NULL, &c), -EINVAL);
    assert_int_equal(pt_metrics_counter_register("a", "h", "x=1", &c), -EINVAL);
    assert_int_equal(pt_metrics_counter_register("a", "h", "x=\"1", &c), -EINVAL);
    assert_int_equal(pt_metrics_counter_register("a", "h", "x=\"1\",", &c), -EINVAL);
    assert_int_equal(pt_metrics_counter_register("a", "h", "x=\"\\q\"", &c), -EINVAL);
    assert_int_equal(pt_metrics_counter_register("a", "h", "x=\"a\nb\"", &c), -EINVAL);
    assert_int_equal(pt_metrics_counter_register("a", "h", "1x=\"a\"", &c), -EINVAL);
    assert_int_equal(pt_metrics_counter_register("process_cpu_seconds_total", "h", NULL, &c),
                     -EEXIST);
    assert_int_equal(pt_metrics_gauge_register("petrel_build_info", "h", NULL, &g), -EEXIST);
    assert_null(c);
    assert_null(g);

    /* One name, one type. */
    assert_int_equal(pt_metrics_counter_register("t_x", "h", NULL, &c), 0);
    assert_int_equal(pt_metrics_gauge_register("t_x", "h", "a=\"b\"", &g), -EINVAL);
    assert_int_equal(pt_metrics_gauge_fn_register("t_x", "h", NULL, NULL, NULL, NULL), -EINVAL);
    assert_null(g);
    pt_metrics_counter_unregister(c);
    expect_registry("");
}

static int64_t read_depth(void *ud)
{
    return *(int64_t *)ud;
}

static void test_gauge_fn(void **state)
{
    int64_t depth_old = 40;
    int64_t depth_new = 2;
    pt_gauge_fn_t *f1 = NULL;
    pt_gauge_fn_t *f2 = NULL;
    pt_gauge_t *g = NULL;
    (void)state;

    assert_int_equal(pt_metrics_gauge_fn_register("t_queue_depth", "Queued groups.",
                                                  "pipeline=\"p\"", read_depth, &depth_old, &f1),
                     0);
    expect_registry("# HELP t_queue_depth Queued groups.\n"
                    "# TYPE t_queue_depth gauge\n"
                    "t_queue_depth{pipeline=\"p\"} 40\n");
    /* The callback is read at render time. */
    depth_old = 41;
    /* Old and new pipeline overlap: their depths add up in one sample. */
    assert_int_equal(pt_metrics_gauge_fn_register("t_queue_depth", "Queued groups.",
                                                  "pipeline=\"p\"", read_depth, &depth_new, &f2),
                     0);
    assert_int_equal(
        pt_metrics_gauge_register("t_queue_depth", "Queued groups.", "pipeline=\"p\"", &g), 0);
    pt_gauge_set(g, 100);
    expect_registry("# HELP t_queue_depth Queued groups.\n"
                    "# TYPE t_queue_depth gauge\n"
                    "t_queue_depth{pipeline=\"p\"} 143\n");
    pt_metrics_gauge_fn_unregister(f1);
    pt_metrics_gauge_unregister(g);
    expect_registry("# HELP t_queue_depth Queued groups.\n"
                    "# TYPE t_queue_depth gauge\n"
                    "t_queue_depth{pipeline=\"p\"} 2\n");
    pt_metrics_gauge_fn_unregister(f2);
    expect_registry("");
}

static void test_render_exact(void **state)
{
    pt_counter_t *c[3] = {NULL};
    pt_gauge_t *g = NULL;
    pt_buf_t lab;
    (void)state;

    pt_buf_init(&lab);
    assert_int_equal(pt_metrics_label_append(&lab, "pipeline", "p\"1\\x\ny"), 0);
    assert_int_equal(pt_metrics_label_append(&lab, "plugin", "input_file"), 0);
    assert_int_equal(pt_buf_putc(&lab, '\0'), 0);
    assert_string_equal(lab.data, "pipeline=\"p\\\"1\\\\x\\ny\",plugin=\"input_file\"");
    assert_int_equal(pt_metrics_label_append(&lab, "bad-key", "v"), -EINVAL);

    /* Registered out of order: families come out sorted by name, series by labels. */
    assert_int_equal(pt_metrics_counter_register("t_z_total", "Last.", NULL, &c[0]), 0);
    assert_int_equal(
        pt_metrics_counter_register("t_a_total", "First, with \\ and\nnewline.", "x=\"2\"", &c[1]),
        0);
    assert_int_equal(pt_metrics_counter_register("t_a_total", "First.", "x=\"1\"", &c[2]), 0);
    assert_int_equal(pt_metrics_gauge_register("t_m", "Middle.", lab.data, &g), 0);
    pt_counter_add(c[0], 1);
    pt_counter_add(c[1], 2);
    pt_counter_add(c[2], 18446744073709551615ull);
    pt_gauge_set(g, -5);
    expect_registry("# HELP t_a_total First, with \\\\ and\\nnewline.\n"
                    "# TYPE t_a_total counter\n"
                    "t_a_total{x=\"1\"} 18446744073709551615\n"
                    "t_a_total{x=\"2\"} 2\n"
                    "# HELP t_m Middle.\n"
                    "# TYPE t_m gauge\n"
                    "t_m{pipeline=\"p\\\"1\\\\x\\ny\",plugin=\"input_file\"} -5\n"
                    "# HELP t_z_total Last.\n"
                    "# TYPE t_z_total counter\n"
                    "t_z_total 1\n");
    for (int i = 0; i < 3; i++) {
        pt_metrics_counter_unregister(c[i]);
    }
    pt_metrics_gauge_unregister(g);
    pt_buf_free(&lab);
    expect_registry("");
}

/* ---- threads ------------------------------------------------------------------------------ */

#define N_THREADS 4
#define N_INCS 1000000

typedef struct {
    pt_counter_t *c;
    pt_gauge_t *g;
} hot_t;

static void *hot_loop(void *arg)
{
    hot_t *h = arg;
    for (int i = 0; i < N_INCS; i++) {
        pt_counter_inc(h->c);
        pt_gauge_add(h->g, (i & 1) ? -1 : 2);
    }
    return NULL;
}

static void test_concurrent_increments(void **state)
{
    pthread_t th[N_THREADS];
    hot_t h = {NULL, NULL};
    (void)state;

    assert_int_equal(pt_metrics_counter_register("t_hot_total", "Hot.", NULL, &h.c), 0);
    assert_int_equal(pt_metrics_gauge_register("t_hot_gauge", "Hot.", NULL, &h.g), 0);
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, hot_loop, &h), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    assert_int_equal(pt_counter_get(h.c), (uint64_t)N_THREADS * N_INCS);
    assert_int_equal(pt_gauge_get(h.g), (int64_t)N_THREADS * N_INCS / 2);
    expect_registry("# HELP t_hot_gauge Hot.\n"
                    "# TYPE t_hot_gauge gauge\n"
                    "t_hot_gauge 2000000\n"
                    "# HELP t_hot_total Hot.\n"
                    "# TYPE t_hot_total counter\n"
                    "t_hot_total 4000000\n");
    pt_metrics_counter_unregister(h.c);
    pt_metrics_gauge_unregister(h.g);
}

/* Pipelines registering and leaving while another thread scrapes. */
static void *churn_loop(void *arg)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "pipeline=\"p%d\"", (int)(intptr_t)arg);
    /* cmocka's asserts must stay on the main thread: failures are counted and returned. */
    intptr_t failures = 0;
    for (int i = 0; i < 2000; i++) {
        pt_counter_t *c = NULL;
        if (pt_metrics_counter_register("t_churn_total", "Churn.", labels, &c) != 0) {
            failures++;
            continue;
        }
        pt_counter_inc(c);
        pt_metrics_counter_unregister(c);
    }
    return (void *)failures;
}

static void test_concurrent_registration(void **state)
{
    pthread_t th[N_THREADS];
    (void)state;

    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, churn_loop, (void *)(intptr_t)i), 0);
    }
    for (int i = 0; i < 200; i++) {
        pt_buf_t b;
        pt_buf_init(&b);
        assert_int_equal(pt_metrics_render(&b), 0);
        pt_buf_free(&b);
    }
    for (int i = 0; i < N_THREADS; i++) {
        void *failures = NULL;
        pthread_join(th[i], &failures);
        assert_int_equal((intptr_t)failures, 0);
    }
    expect_registry("");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_register_unregister),
        cmocka_unit_test(test_shared_series),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_gauge_fn),
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_concurrent_increments),
        cmocka_unit_test(test_concurrent_registration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
