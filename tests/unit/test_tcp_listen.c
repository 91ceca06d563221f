/* Tests for core/tcp_listen.c: address literals in and out, and on a real libuv loop with a
 * real client on 127.0.0.1: listen on port 0, the bound port, a taken port, and accept-and-close.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/mem.h"
#include "core/tcp_listen.h"

/* ---- addresses ---------------------------------------------------------------------------- */

static void test_addr_parse(void **state)
{
    struct sockaddr_storage ss;
    char text[64];
    char long_host[80];

    (void)state;
    assert_int_equal(pt_tcp_addr_parse("127.0.0.1", 4318, &ss), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    pt_tcp_addr_format(&ss, text, sizeof(text));
    assert_string_equal(text, "127.0.0.1:4318");

    assert_int_equal(pt_tcp_addr_parse("[::1]", 4317, &ss), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    pt_tcp_addr_format(&ss, text, sizeof(text));
    assert_string_equal(text, "[::1]:4317");

    /* Bare IPv6, and brackets around IPv4, are taken as they always were. */
    assert_int_equal(pt_tcp_addr_parse("::", 80, &ss), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    pt_tcp_addr_format(&ss, text, sizeof(text));
    assert_string_equal(text, "[::]:80");
    assert_int_equal(pt_tcp_addr_parse("[10.0.0.7]", 0, &ss), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    pt_tcp_addr_format(&ss, text, sizeof(text));
    assert_string_equal(text, "10.0.0.7:0");

    /* Names are not resolved; broken literals are refused. */
    assert_int_equal(pt_tcp_addr_parse("localhost", 80, &ss), -EINVAL);
    assert_int_equal(pt_tcp_addr_parse("[localhost]", 80, &ss), -EINVAL);
    assert_int_equal(pt_tcp_addr_parse("", 80, &ss), -EINVAL);
    assert_int_equal(pt_tcp_addr_parse("[]", 80, &ss), -EINVAL);
    assert_int_equal(pt_tcp_addr_parse("1.2.3", 80, &ss), -EINVAL);
    assert_int_equal(pt_tcp_addr_parse("[::1", 80, &ss), -EINVAL);
    assert_int_equal(pt_tcp_addr_parse("::1]", 80, &ss), -EINVAL);
    assert_int_equal(pt_tcp_addr_parse("[::1]:80", 80, &ss), -EINVAL);
    memset(long_host, '1', sizeof(long_host));
    long_host[0] = '[';
    long_host[sizeof(long_host) - 2] = ']';
    long_host[sizeof(long_host) - 1] = '\0';
    assert_int_equal(pt_tcp_addr_parse(long_host, 80, &ss), -EINVAL);
}

static void test_addr_format_edges(void **state)
{
    struct sockaddr_storage ss;
    char text[64];
    char small[6];

    (void)state;
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    pt_tcp_addr_format(&ss, text, sizeof(text));
    assert_string_equal(text, "unknown");

    /* Cut to the buffer, still NUL-terminated. */
    assert_int_equal(pt_tcp_addr_parse("192.168.100.200", 65535, &ss), 0);
    pt_tcp_addr_format(&ss, small, sizeof(small));
    assert_string_equal(small, "192.1");
}

/* ---- on a loop ---------------------------------------------------------------------------- */

typedef struct fx_s {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_tcp_t client;
    uv_connect_t conn;
    uv_timer_t deadline;
    int accepts;    /* connection callbacks */
    int reject_rc;  /* what pt_tcp_reject returned */
    int closed;     /* the rejected handle's close callback ran */
    void *close_ud; /* t->data it saw */
    int connected;  /* the client's connect status */
    ssize_t client_end;
    int timed_out;
    char buf[64];
} fx_t;

static fx_t *fx_of(uv_handle_t *h)
{
    return h->data;
}

static void on_rejected_closed(uv_handle_t *h)
{
    fx_t *fx = h->data;
    fx->closed++;
    fx->close_ud = h->data;
    pt_free(h);
}

static void on_connection(uv_stream_t *l, int status)
{
    fx_t *fx = fx_of((uv_handle_t *)l);
    uv_tcp_t *t = pt_malloc(sizeof(*t));

    assert_int_equal(status, 0);
    assert_non_null(t);
    fx->accepts++;
    fx->reject_rc = pt_tcp_reject(l, t, fx, on_rejected_closed);
}

static void on_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    fx_t *fx = fx_of(h);
    (void)suggested;
    *buf = uv_buf_init(fx->buf, sizeof(fx->buf));
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fx_t *fx = fx_of((uv_handle_t *)s);
    (void)buf;
    if (n == 0) {
        return;
    }
    /* A rejected client gets no byte: only its end (FIN, or a reset). */
    fx->client_end = n;
    uv_read_stop(s);
    uv_close((uv_handle_t *)&fx->listener, NULL);
    uv_close((uv_handle_t *)&fx->client, NULL);
    uv_close((uv_handle_t *)&fx->deadline, NULL);
}

static void on_client_connect(uv_connect_t *req, int status)
{
    fx_t *fx = req->data;
    fx->connected = status;
    if (status == 0) {
        uv_read_start((uv_stream_t *)&fx->client, on_client_alloc, on_client_read);
    }
}

static void on_deadline(uv_timer_t *t)
{
    fx_t *fx = t->data;
    fx->timed_out = 1;
    uv_stop(&fx->loop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

static void loop_finish(uv_loop_t *loop)
{
    uv_walk(loop, close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_listen_and_reject(void **state)
{
    fx_t *fx = pt_calloc(1, sizeof(*fx));
    struct sockaddr_storage ss;
    struct sockaddr_in dst;
    int port;

    (void)state;
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    assert_int_equal(uv_tcp_init(&fx->loop, &fx->listener), 0);
    fx->listener.data = fx;
    assert_int_equal(pt_tcp_addr_parse("127.0.0.1", 0, &ss), 0);
    assert_int_equal(pt_tcp_listen(&fx->listener, &ss, 16, on_connection), 0);
    port = pt_tcp_port(&fx->listener);
    assert_true(port > 0 && port <= 65535);

    assert_int_equal(uv_tcp_init(&fx->loop, &fx->client), 0);
    fx->client.data = fx;
    fx->conn.data = fx;
    assert_int_equal(uv_ip4_addr("127.0.0.1", port, &dst), 0);
    assert_int_equal(
        uv_tcp_connect(&fx->conn, &fx->client, (const struct sockaddr *)&dst, on_client_connect),
        0);
    uv_timer_init(&fx->loop, &fx->deadline);
    fx->deadline.data = fx;
    uv_timer_start(&fx->deadline, on_deadline, 5000, 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);

    assert_int_equal(fx->timed_out, 0);
    assert_int_equal(fx->connected, 0);
    assert_int_equal(fx->accepts, 1);
    assert_int_equal(fx->reject_rc, 0);
    assert_int_equal(fx->closed, 1);
    assert_ptr_equal(fx->close_ud, fx);
    assert_true(fx->client_end == UV_EOF || fx->client_end == UV_ECONNRESET);
    loop_finish(&fx->loop);
    pt_free(fx);
}

static void test_listen_taken_port(void **state)
{
    uv_loop_t loop;
    uv_tcp_t a;
    uv_tcp_t b;
    uv_tcp_t c;
    struct sockaddr_storage ss;
    int port;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_tcp_init(&loop, &a);
    uv_tcp_init(&loop, &b);
    assert_int_equal(pt_tcp_addr_parse("127.0.0.1", 0, &ss), 0);
    assert_int_equal(pt_tcp_listen(&a, &ss, 4, on_connection), 0);
    port = pt_tcp_port(&a);
    assert_true(port > 0);
    assert_int_equal(pt_tcp_addr_parse("127.0.0.1", port, &ss), 0);
    assert_int_equal(pt_tcp_listen(&b, &ss, 4, on_connection), UV_EADDRINUSE);
    /* Not bound: no port to report. */
    uv_tcp_init(&loop, &c);
    assert_true(pt_tcp_port(&c) < 0);
    loop_finish(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse),
        cmocka_unit_test(test_addr_format_edges),
        cmocka_unit_test(test_listen_and_reject),
        cmocka_unit_test(test_listen_taken_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
