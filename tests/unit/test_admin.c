/* Tests for core/admin.c: real HTTP requests to /metrics, /healthz and /readyz on a libuv loop,
 * asserting the status lines, headers and bodies a scraper or a kubelet would see. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/admin.h"
#include "core/metrics.h"
#include "http_test_client.h"

typedef struct fx_s {
    uv_loop_t loop;
    pt_admin_t *admin;
    int port;
    bool ready;
    int ready_calls;
    int stopped;
} fx_t;

static bool on_ready(void *ud)
{
    fx_t *fx = ud;
    fx->ready_calls++;
    return fx->ready;
}

static void on_stopped(void *ud)
{
    fx_t *fx = ud;
    fx->stopped = 1;
}

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    assert_int_equal(pt_admin_start(&fx->loop, NULL, 0, on_ready, fx, &fx->admin), 0);
    fx->port = pt_admin_port(fx->admin);
    assert_true(fx->port > 0);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    pt_admin_stop(fx->admin, on_stopped, fx);
    assert_true(tc_spin_until(&fx->loop, &fx->stopped, TC_TIMEOUT_MS));
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx);
    return 0;
}

/* One request on a fresh connection; returns the whole response (caller frees). */
static char *get(fx_t *fx, const char *request)
{
    tc_client_t c;
    char *r;
    assert_int_equal(tc_connect(&c, &fx->loop, fx->port), 0);
    assert_int_equal(tc_send(&c, request), 0);
    r = tc_read_response(&c);
    tc_close(&c);
    assert_non_null(r);
    return r;
}

static void expect(fx_t *fx, const char *request, const char *want)
{
    char *r = get(fx, request);
    assert_string_equal(r, want);
    free(r);
}

static void test_healthz(void **state)
{
    expect(*state, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n"
           "\r\nok");
}

static void test_readyz(void **state)
{
    fx_t *fx = *state;
    fx->ready = false;
    expect(fx, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
           "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: 9\r\n\r\nnot ready");
    fx->ready = true;
    expect(fx, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n"
           "\r\nready");
    assert_int_equal(fx->ready_calls, 2);
}

static void test_not_found_and_method(void **state)
{
    fx_t *fx = *state;
    expect(fx, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
           "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: 9\r\n\r\nnot found");
    expect(fx, "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n",
           "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: 9\r\n\r\nnot found");
    expect(fx, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
           "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: 18\r\nAllow: GET, HEAD\r\n\r\nmethod not allowed");
    expect(fx, "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
           "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: 18\r\nAllow: GET, HEAD\r\n\r\nmethod not allowed");
}

static void test_metrics(void **state)
{
    fx_t *fx = *state;
    pt_counter_t *c = NULL;
    char *r;
    char *body;

    assert_int_equal(pt_metrics_counter_register("petrel_test_events_total", "Test events.",
                                                 "pipeline=\"p1\",plugin=\"input_file\"", &c),
                     0);
    pt_counter_add(c, 12);
    /* A query string does not change the route. */
    r = get(fx, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(strncmp(r,
                             "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                             "Content-Length: ",
                             88),
                     0);
    body = strstr(r, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    assert_int_equal(strtoul(r + 88, NULL, 10), strlen(body));
    assert_non_null(strstr(body, "# HELP petrel_test_events_total Test events.\n"
                                 "# TYPE petrel_test_events_total counter\n"
                                 "petrel_test_events_total{pipeline=\"p1\",plugin=\"input_file\"} "
                                 "12\n"));
    /* The admin server counts its own traffic: this request is the one in progress. */
    assert_non_null(strstr(body, "\npetrel_http_connections_active{server=\"admin\"} 1\n"));
    assert_non_null(strstr(body, "\n# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(body, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(body, "\nprocess_start_time_seconds "));
    assert_non_null(strstr(body, "\npetrel_build_info{version=\"" PETREL_VERSION "\"} 1\n"));
    free(r);

    /* Earlier requests show in the request counter on the next scrape. */
    r = get(fx, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_non_null(strstr(r, "\npetrel_http_requests_total{server=\"admin\"} 2\n"));
    free(r);

    /* HEAD: the headers of a scrape without its body. */
    {
        tc_client_t cl;
        assert_int_equal(tc_connect(&cl, &fx->loop, fx->port), 0);
        assert_int_equal(tc_send(&cl, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        r = tc_read_response_ex(&cl, 1);
        assert_non_null(r);
        assert_string_equal(r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: 2\r\n\r\n");
        free(r);
        tc_close(&cl);
    }
    pt_metrics_counter_unregister(c);
    r = get(fx, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_null(strstr(r, "petrel_test_events_total"));
    free(r);
}

static void test_stop_removes_metrics(void **state)
{
    fx_t fx;
    pt_buf_t b;
    (void)state;

    memset(&fx, 0, sizeof(fx));
    assert_int_equal(uv_loop_init(&fx.loop), 0);
    assert_int_equal(pt_admin_start(&fx.loop, "127.0.0.1", 0, NULL, NULL, &fx.admin), 0);
    fx.port = pt_admin_port(fx.admin);
    /* No readiness callback: always ready. */
    expect(&fx, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n"
           "\r\nready");
    pt_admin_stop(fx.admin, on_stopped, &fx);
    assert_true(tc_spin_until(&fx.loop, &fx.stopped, TC_TIMEOUT_MS));
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx.loop), 0);
    pt_buf_init(&b);
    assert_int_equal(pt_metrics_render(&b), 0);
    assert_int_equal(pt_buf_putc(&b, '\0'), 0);
    assert_null(strstr(b.data, "server=\"admin\""));
    pt_buf_free(&b);

    /* A bad host is refused up front. */
    assert_int_equal(uv_loop_init(&fx.loop), 0);
    assert_int_equal(pt_admin_start(&fx.loop, "not-an-ip", 0, NULL, NULL, &fx.admin), -EINVAL);
    assert_int_equal(uv_loop_close(&fx.loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_readyz, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_metrics, fx_setup, fx_teardown),
        cmocka_unit_test(test_stop_removes_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
