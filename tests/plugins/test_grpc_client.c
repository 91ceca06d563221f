/* Tests for flusher_otlp's gRPC client (flushers/flusher_otlp/grpc_client.c): target parsing and
 * metadata checks with their exact messages, the answer rules (status codes, RetryInfo, response
 * unframing, grpc-message decoding), and the client on a real libuv loop against an nghttp2
 * server in this process that can hold answers, advertise a stream limit, send GOAWAY with a
 * last_stream_id below open streams, refuse a stream, or never answer: calls share one
 * connection within the limit, streams above GOAWAY's last_stream_id and refused ones go out
 * again, deadlines reset the stream, a refused connect fails retryably, destroy ends every call. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "core/codec.h"
#include "core/common.h"
#include "core/proto/otlp.h"
#include "flushers/flusher_otlp/grpc_client_internal.h"

/* ======================================================================= the server ====== */

enum { M_OK = 0, M_GOAWAY, M_REFUSE, M_SILENT, M_STATUS };

typedef struct sconn_s sconn_t;

typedef struct {
    uv_loop_t *loop;
    uv_tcp_t lis;
    uv_timer_t tick;
    int port;
    nghttp2_session_callbacks *cbs;
    uint32_t max_streams;
    int mode;
    int conns;
    int requests;
    int refused;
    int open;
    int max_open;
    int resets;  /* streams the client reset */
    int running; /* listening: srv_stop not called yet */
    int eofs;    /* connections the client closed */
    int goaways; /* GOAWAY frames from the client */
    int grpc_status;
    char details[256];
    char last_timeout[32];
    char last_path[128];
    size_t last_body;
    sconn_t *list;
} srv_t;

struct sconn_s {
    srv_t *srv;
    uv_tcp_t tcp;
    nghttp2_session *h2;
    sconn_t *next;
    int32_t held[64];
    int nheld;
    int nth; /* 1 for the server's first connection */
    int dead;
};

static srv_t S;

static void s_flush(sconn_t *c);

static void on_s_write(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void s_flush(sconn_t *c)
{
    const uint8_t *data;
    ssize_t n;
    while (!c->dead && (n = nghttp2_session_mem_send(c->h2, &data)) > 0) {
        uv_write_t *w = malloc(sizeof(*w));
        char *copy = malloc((size_t)n);
        memcpy(copy, data, (size_t)n);
        w->data = copy;
        uv_buf_t b = uv_buf_init(copy, (unsigned)n);
        if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_s_write) != 0) {
            free(copy);
            free(w);
            return;
        }
    }
}

static int s_begin(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    (void)h2;
    (void)ud;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        S.open++;
        S.max_open = S.open > S.max_open ? S.open : S.max_open;
    }
    return 0;
}

static int s_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)h2;
    (void)f;
    (void)flags;
    (void)ud;
    if (namelen == 12 && memcmp(name, "grpc-timeout", 12) == 0) {
        snprintf(S.last_timeout, sizeof(S.last_timeout), "%.*s", (int)valuelen, value);
    } else if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
        snprintf(S.last_path, sizeof(S.last_path), "%.*s", (int)valuelen, value);
    }
    return 0;
}

static int s_data(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                  void *ud)
{
    (void)h2;
    (void)flags;
    (void)id;
    (void)data;
    (void)ud;
    S.last_body += len;
    return 0;
}

static int s_frame(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    sconn_t *c = ud;
    S.goaways += f->hd.type == NGHTTP2_GOAWAY;
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM) && f->hd.stream_id > 0) {
        S.requests++;
        if (S.mode == M_REFUSE && S.refused == 0) {
            S.refused++;
            nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, f->hd.stream_id,
                                      NGHTTP2_REFUSED_STREAM);
            return 0;
        }
        if (c->nheld < 64) {
            c->held[c->nheld++] = f->hd.stream_id;
        }
    }
    return 0;
}

static int s_close(nghttp2_session *h2, int32_t id, uint32_t code, void *ud)
{
    (void)h2;
    (void)id;
    (void)ud;
    S.open--;
    S.resets += code == NGHTTP2_CANCEL;
    return 0;
}

#define NV(n, v)                                                                                   \
    (nghttp2_nv)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                 \
    }

/* A trailers-only answer with the server's grpc-status (and details). */
static void s_answer(sconn_t *c, int32_t id)
{
    char st[16];
    nghttp2_nv nv[4];
    size_t n = 0;
    snprintf(st, sizeof(st), "%d", S.mode == M_STATUS ? S.grpc_status : 0);
    nv[n++] = NV(":status", "200");
    nv[n++] = NV("content-type", "application/grpc");
    nv[n++] = NV("grpc-status", st);
    if (S.details[0] != '\0') {
        nv[n++] = NV("grpc-status-details-bin", S.details);
    }
    nghttp2_submit_response(c->h2, id, nv, n, NULL);
}

/* Every 20 ms the held requests are answered (so that several streams are open at once). */
static void on_s_tick(uv_timer_t *t)
{
    (void)t;
    for (sconn_t *c = S.list; c != NULL; c = c->next) {
        if (c->dead || S.mode == M_SILENT) {
            continue;
        }
        if (S.mode == M_GOAWAY && c->nth == 1) {
            if (c->nheld >= 3) {
                /* Only the first stream was processed: the others are refused by GOAWAY. */
                s_answer(c, c->held[0]);
                nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, c->held[0], NGHTTP2_NO_ERROR, NULL,
                                      0);
                c->nheld = 0;
            }
        } else {
            for (int i = 0; i < c->nheld; i++) {
                s_answer(c, c->held[i]);
            }
            c->nheld = 0;
        }
        s_flush(c);
    }
}

static void on_s_closed(uv_handle_t *h)
{
    (void)h;
}

static void s_kill(sconn_t *c)
{
    if (!c->dead) {
        c->dead = 1;
        uv_close((uv_handle_t *)&c->tcp, on_s_closed);
    }
}

static void on_s_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    static char buf[65536];
    (void)h;
    (void)sz;
    b->base = buf;
    b->len = sizeof(buf);
}

static void on_s_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    sconn_t *c = st->data;
    if (n < 0) {
        S.eofs += n == UV_EOF;
        s_kill(c);
        return;
    }
    if (n > 0 && nghttp2_session_mem_recv(c->h2, (const uint8_t *)b->base, (size_t)n) < 0) {
        s_kill(c);
        return;
    }
    s_flush(c);
}

static void on_s_conn(uv_stream_t *l, int status)
{
    (void)status;
    sconn_t *c = calloc(1, sizeof(*c));
    c->srv = &S;
    uv_tcp_init(S.loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
    nghttp2_session_server_new(&c->h2, S.cbs, c);
    nghttp2_settings_entry iv[1] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, S.max_streams}};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1);
    c->nth = ++S.conns;
    c->next = S.list;
    S.list = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_s_alloc, on_s_read);
    s_flush(c);
}

static void srv_start(uv_loop_t *loop, int mode, uint32_t max_streams)
{
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    memset(&S, 0, sizeof(S));
    S.loop = loop;
    S.mode = mode;
    S.max_streams = max_streams;
    nghttp2_session_callbacks_new(&S.cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(S.cbs, s_begin);
    nghttp2_session_callbacks_set_on_header_callback(S.cbs, s_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(S.cbs, s_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(S.cbs, s_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(S.cbs, s_close);
    uv_tcp_init(loop, &S.lis);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&S.lis, (struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&S.lis, 16, on_s_conn), 0);
    uv_tcp_getsockname(&S.lis, (struct sockaddr *)&ss, &len);
    S.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    uv_timer_init(loop, &S.tick);
    uv_timer_start(&S.tick, on_s_tick, 20, 20);
    S.running = 1;
}

static void srv_stop(void)
{
    S.running = 0;
    for (sconn_t *c = S.list; c != NULL; c = c->next) {
        s_kill(c);
    }
    uv_close((uv_handle_t *)&S.lis, on_s_closed);
    uv_close((uv_handle_t *)&S.tick, on_s_closed);
}

static void srv_free(void)
{
    sconn_t *c = S.list;
    while (c != NULL) {
        sconn_t *next = c->next;
        nghttp2_session_del(c->h2);
        free(c);
        c = next;
    }
    nghttp2_session_callbacks_del(S.cbs);
}

/* ======================================================================= the client ====== */

typedef struct {
    int done;
    int calls; /* times the callback ran */
    char error[160];
    long http;
    int grpc;
    int outcome;
    uint32_t retry_ms;
    uint64_t at_ns;
} res_t;

static const uint8_t MSG[] = {0, 0, 0, 0, 2, 0x0a, 0x00}; /* an ExportLogsServiceRequest */

static void on_done(void *ud, const otlp_grpc_result_t *r)
{
    res_t *x = ud;
    int throttled;
    x->calls++;
    x->done = 1;
    x->at_ns = pt_now_mono_ns();
    snprintf(x->error, sizeof(x->error), "%s", r->error != NULL ? r->error : "");
    x->http = r->http_status;
    x->grpc = r->grpc_status;
    x->outcome = r->error != NULL ? PT_RETRY : otlp_grpc_outcome(r, &x->retry_ms, &throttled);
}

static uv_loop_t loop;

static int all_done(res_t *r, int n)
{
    for (int i = 0; i < n; i++) {
        if (!r[i].done) {
            return 0;
        }
    }
    return 1;
}

static int run_until_done(res_t *r, int n, int ms)
{
    uint64_t end = pt_now_mono_ns() + (uint64_t)ms * 1000000u;
    while (!all_done(r, n) && pt_now_mono_ns() < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    return all_done(r, n);
}

static void target(otlp_grpc_target_t *t, int port, long timeout_ms)
{
    char hp[64];
    const char *why;
    snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
    assert_int_equal(
        otlp_grpc_target_init(t, hp, "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                              timeout_ms, &why),
        0);
}

/* Runs n calls on a fresh client (max_streams per connection) against the server. */
static otlp_grpc_t *start_calls(otlp_grpc_target_t *t, res_t *r, int n, uint32_t max_streams)
{
    otlp_grpc_t *cl;
    assert_int_equal(otlp_grpc_create(&loop, NULL, max_streams, NULL, &cl), 0);
    memset(r, 0, sizeof(*r) * (size_t)n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(otlp_grpc_call(cl, t, MSG, sizeof(MSG), on_done, &r[i]), 0);
        assert_int_equal(r[i].calls, 0); /* never from inside the call */
    }
    return cl;
}

static void finish(otlp_grpc_t *cl, otlp_grpc_target_t *t, int server)
{
    otlp_grpc_destroy(cl);
    if (server) {
        srv_stop();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (server) {
        srv_free();
    }
    otlp_grpc_target_free(t);
}

static int setup(void **state)
{
    (void)state;
    return uv_loop_init(&loop);
}

static int teardown(void **state)
{
    (void)state;
    if (S.running) {
        srv_stop(); /* a failed test left it running */
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop); /* every handle closed */
}

/* ======================================================================== the tests ====== */

static void test_target(void **state)
{
    otlp_grpc_target_t t;
    const char *why;
    (void)state;
    assert_int_equal(otlp_grpc_target_init(&t, "[::1]:4317", "/p", 1000, &why), 0);
    assert_string_equal(t.host, "::1");
    assert_string_equal(t.authority, "[::1]:4317");
    assert_int_equal(t.port, 4317);
    pt_strmap_t hm = {(char *[]){"X-Tenant", "authorization"}, (char *[]){"a", "Bearer x"}, 2};
    assert_int_equal(otlp_grpc_target_headers(&t, &hm, &why), 0);
    assert_int_equal(t.nheaders, 2);
    assert_string_equal(t.hnames[0], "x-tenant");
    pt_strmap_t bad = {(char *[]){"grpc-timeout"}, (char *[]){"1S"}, 1};
    assert_int_equal(otlp_grpc_target_headers(&t, &bad, &why), -EINVAL);
    assert_string_equal(why, "content-type, te, user-agent, grpc-* and the connection headers "
                             "are set by the gRPC client");
    pt_strmap_t sp = {(char *[]){"a b"}, (char *[]){"v"}, 1};
    assert_int_equal(otlp_grpc_target_headers(&t, &sp, &why), -EINVAL);
    assert_non_null(strstr(why, "letters, digits"));
    otlp_grpc_target_free(&t);

    static const char *const bad_eps[] = {"host",      "host:0", "host:70000", "a:b:c",
                                          "[::1]4317", ":4317",  "host:12x"};
    for (size_t i = 0; i < PT_ARRAY_SIZE(bad_eps); i++) {
        assert_int_equal(otlp_grpc_target_init(&t, bad_eps[i], "/p", 1000, &why), -EINVAL);
        assert_non_null(why);
        otlp_grpc_target_free(&t);
    }
}

static void test_outcome(void **state)
{
    otlp_grpc_result_t r = {.http_status = 200, .grpc_message = "", .details = ""};
    uint32_t ms;
    int thr;
    char b64[256];
    pt_buf_t st;
    (void)state;
    r.grpc_status = PT_GRPC_OK;
    assert_int_equal(otlp_grpc_outcome(&r, &ms, &thr), 0);
    r.grpc_status = -1; /* no grpc-status at all */
    assert_int_equal(otlp_grpc_outcome(&r, &ms, &thr), -EBADMSG);
    r.grpc_status = PT_GRPC_INVALID_ARGUMENT;
    assert_int_equal(otlp_grpc_outcome(&r, &ms, &thr), -EBADMSG);
    r.grpc_status = PT_GRPC_DEADLINE_EXCEEDED;
    assert_int_equal(otlp_grpc_outcome(&r, &ms, &thr), PT_RETRY);
    assert_int_equal(thr, 0);
    r.grpc_status = PT_GRPC_RESOURCE_EXHAUSTED; /* too large: no retry fixes it */
    assert_int_equal(otlp_grpc_outcome(&r, &ms, &thr), -EBADMSG);
    pt_buf_init(&st);
    assert_int_equal(pt_otlp_encode_status(0, PT_GRPC_RESOURCE_EXHAUSTED, "slow down", 2500, &st),
                     0);
    b64[pt_otlp_b64_encode((const uint8_t *)st.data, st.len, b64, 0)] = '\0';
    pt_buf_free(&st);
    r.details = b64;
    assert_int_equal(otlp_grpc_retry_info_ms(b64), 2500);
    assert_int_equal(otlp_grpc_outcome(&r, &ms, &thr), PT_RETRY); /* throttled, with a delay */
    assert_int_equal(ms, 2500);
    assert_int_equal(thr, 1);
    r.grpc_status = PT_GRPC_UNAVAILABLE;
    assert_int_equal(otlp_grpc_outcome(&r, &ms, &thr), PT_RETRY);
    assert_int_equal(ms, 2500);
    assert_int_equal(otlp_grpc_retry_info_ms("not base64!"), 0);
    assert_int_equal(otlp_grpc_retry_info_ms(""), 0);
}

static void test_unframe_and_message(void **state)
{
    const uint8_t plain[] = {0, 0, 0, 0, 3, 'a', 'b', 'c'};
    const uint8_t *m;
    size_t n;
    pt_buf_t scratch;
    pt_buf_t z;
    char out[32];
    (void)state;
    pt_buf_init(&scratch);
    assert_int_equal(otlp_grpc_unframe(plain, sizeof(plain), NULL, &scratch, &m, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(m, "abc", 3);
    assert_int_equal(otlp_grpc_unframe(plain, 7, NULL, &scratch, &m, &n), -EBADMSG); /* short */
    const uint8_t flagged[] = {1, 0, 0, 0, 1, 'x'};
    assert_int_equal(otlp_grpc_unframe(flagged, sizeof(flagged), "identity", &scratch, &m, &n),
                     -EBADMSG);
    pt_buf_init(&z);
    pt_buf_append(&z, "hello, gRPC", 11);
    assert_int_equal(pt_codec_encode(PT_CODEC_GZIP, &z), 0);
    uint8_t *framed = malloc(5 + z.len);
    framed[0] = 1;
    framed[1] = (uint8_t)(z.len >> 24);
    framed[2] = (uint8_t)(z.len >> 16);
    framed[3] = (uint8_t)(z.len >> 8);
    framed[4] = (uint8_t)z.len;
    memcpy(framed + 5, z.data, z.len);
    assert_int_equal(otlp_grpc_unframe(framed, 5 + z.len, "gzip", &scratch, &m, &n), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(m, "hello, gRPC", 11);
    free(framed);
    pt_buf_free(&z);
    pt_buf_free(&scratch);
    otlp_grpc_percent_decode("pipeline%20is%20full%zz%", 24, out, sizeof(out));
    assert_string_equal(out, "pipeline is full%zz%");
    otlp_grpc_percent_decode("abcdefgh", 8, out, 5);
    assert_string_equal(out, "abcd");
}

/* Six calls, a server that takes 2 streams at once: one connection, never more than 2 open, and
 * the limit used. */
static void test_one_connection_within_limit(void **state)
{
    otlp_grpc_target_t t;
    res_t r[6];
    (void)state;
    srv_start(&loop, M_OK, 2);
    target(&t, S.port, 5000);
    otlp_grpc_t *cl = start_calls(&t, r, 6, 8);
    assert_true(run_until_done(r, 6, 5000));
    for (int i = 0; i < 6; i++) {
        assert_string_equal(r[i].error, "");
        assert_int_equal(r[i].outcome, 0);
        assert_int_equal(r[i].calls, 1);
    }
    assert_int_equal(S.conns, 1);
    assert_int_equal(S.requests, 6);
    assert_int_equal(S.max_open, 2);
    assert_string_equal(S.last_path, "/opentelemetry.proto.collector.logs.v1.LogsService/Export");
    long tmo = atol(S.last_timeout);
    assert_true(tmo > 4000 && tmo <= 5000);
    assert_int_equal(S.last_timeout[strlen(S.last_timeout) - 1], 'm');
    assert_int_equal(S.last_body, 6 * sizeof(MSG));
    finish(cl, &t, 1);
}

/* A connection without calls is closed after the idle time: GOAWAY, then the socket; and the
 * loop goes quiet (it once spun on the passed idle deadline, starving the GOAWAY's write). */
static void test_idle_close(void **state)
{
    otlp_grpc_target_t t;
    res_t r[1];
    otlp_grpc_t *cl;
    (void)state;
    alarm(20); /* the old bug hung the loop: fail instead of waiting for ctest */
    srv_start(&loop, M_OK, 100);
    target(&t, S.port, 5000);
    assert_int_equal(otlp_grpc_create(&loop, NULL, 4, NULL, &cl), 0);
    otlp_grpc_set_idle_ms(cl, 200);
    memset(r, 0, sizeof(r));
    assert_int_equal(otlp_grpc_call(cl, &t, MSG, sizeof(MSG), on_done, &r[0]), 0);
    assert_true(run_until_done(r, 1, 5000));
    assert_int_equal(r[0].outcome, 0);
    uint64_t t0 = pt_now_mono_ns();
    uint64_t end = t0 + 3000000000ull;
    while (S.eofs < 1 && pt_now_mono_ns() < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(S.eofs, 1);
    assert_int_equal(S.goaways, 1);
    uint64_t ms = (pt_now_mono_ns() - t0) / 1000000u;
    assert_true(ms >= 100 && ms < 1500);
    /* Quiet afterwards: 300 ms of loop cost (almost) no CPU. */
    struct timespec c0;
    struct timespec c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    end = pt_now_mono_ns() + 300000000ull;
    while (pt_now_mono_ns() < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    int64_t cpu_ms = (c1.tv_sec - c0.tv_sec) * 1000 + (c1.tv_nsec - c0.tv_nsec) / 1000000;
    assert_true(cpu_ms < 100);
    finish(cl, &t, 1);
    alarm(0);
}

/* A 3 MiB message against nghttp2's default 64 KiB windows: it flows as the server opens them,
 * and arrives whole (two calls at once, sharing the connection window). */
static void test_large_message_flow_control(void **state)
{
    otlp_grpc_target_t t;
    res_t r[2];
    otlp_grpc_t *cl;
    size_t n = 3u << 20;
    uint8_t *big = malloc(5 + n);
    (void)state;
    memset(big, 'x', 5 + n);
    big[0] = 0;
    big[1] = (uint8_t)(n >> 24);
    big[2] = (uint8_t)(n >> 16);
    big[3] = (uint8_t)(n >> 8);
    big[4] = (uint8_t)n;
    srv_start(&loop, M_OK, 100);
    target(&t, S.port, 10000);
    assert_int_equal(otlp_grpc_create(&loop, NULL, 4, NULL, &cl), 0);
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(otlp_grpc_call(cl, &t, big, 5 + n, on_done, &r[i]), 0);
    }
    assert_true(run_until_done(r, 2, 10000));
    assert_int_equal(r[0].outcome, 0);
    assert_int_equal(r[1].outcome, 0);
    assert_int_equal(S.last_body, 2 * (5 + n));
    assert_int_equal(S.conns, 1);
    finish(cl, &t, 1);
    free(big);
}

/* GOAWAY with last_stream_id = the first stream while three are open: the first is answered
 * there, the two others go out again on a second connection. */
static void test_goaway_moves_the_rest(void **state)
{
    otlp_grpc_target_t t;
    res_t r[3];
    (void)state;
    srv_start(&loop, M_GOAWAY, 100);
    target(&t, S.port, 5000);
    otlp_grpc_t *cl = start_calls(&t, r, 3, 4);
    assert_true(run_until_done(r, 3, 5000));
    for (int i = 0; i < 3; i++) {
        assert_string_equal(r[i].error, "");
        assert_int_equal(r[i].outcome, 0);
    }
    assert_int_equal(S.conns, 2);
    assert_int_equal(S.requests, 5);
    finish(cl, &t, 1);
}

/* RST_STREAM REFUSED_STREAM: not processed, so sent again at once (same connection). */
static void test_refused_stream_sent_again(void **state)
{
    otlp_grpc_target_t t;
    res_t r[1];
    (void)state;
    srv_start(&loop, M_REFUSE, 100);
    target(&t, S.port, 5000);
    otlp_grpc_t *cl = start_calls(&t, r, 1, 4);
    assert_true(run_until_done(r, 1, 5000));
    assert_int_equal(r[0].outcome, 0);
    assert_int_equal(S.requests, 2);
    assert_int_equal(S.conns, 1);
    finish(cl, &t, 1);
}

/* UNAVAILABLE with RetryInfo in trailers-only: retryable, with the server's delay. */
static void test_status_and_retry_info(void **state)
{
    otlp_grpc_target_t t;
    res_t r[1];
    pt_buf_t st;
    (void)state;
    srv_start(&loop, M_STATUS, 100);
    S.grpc_status = PT_GRPC_UNAVAILABLE;
    pt_buf_init(&st);
    pt_otlp_encode_status(0, PT_GRPC_UNAVAILABLE, "full", 1500, &st);
    S.details[pt_otlp_b64_encode((const uint8_t *)st.data, st.len, S.details, 0)] = '\0';
    pt_buf_free(&st);
    target(&t, S.port, 5000);
    otlp_grpc_t *cl = start_calls(&t, r, 1, 4);
    assert_true(run_until_done(r, 1, 5000));
    assert_int_equal(r[0].http, 200);
    assert_int_equal(r[0].grpc, PT_GRPC_UNAVAILABLE);
    assert_int_equal(r[0].outcome, PT_RETRY);
    assert_int_equal(r[0].retry_ms, 1500);
    finish(cl, &t, 1);
}

/* A server that never answers: the call fails at its deadline and its stream is reset. */
static void test_deadline(void **state)
{
    otlp_grpc_target_t t;
    res_t r[2];
    (void)state;
    srv_start(&loop, M_SILENT, 100);
    target(&t, S.port, 300);
    uint64_t t0 = pt_now_mono_ns();
    otlp_grpc_t *cl = start_calls(&t, r, 2, 4);
    assert_true(run_until_done(r, 2, 5000));
    uint64_t ms = (r[0].at_ns - t0) / 1000000u;
    assert_true(ms >= 300 && ms < 1000);
    char want[96];
    snprintf(want, sizeof(want), "deadline exceeded: no answer from 127.0.0.1:%d within 300 ms",
             S.port);
    assert_string_equal(r[0].error, want);
    assert_int_equal(r[0].outcome, PT_RETRY);
    uint64_t end = pt_now_mono_ns() + 2000000000ull;
    while (S.resets < 2 && pt_now_mono_ns() < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(S.resets, 2); /* RST_STREAM CANCEL for both */
    assert_int_equal(S.open, 0);
    finish(cl, &t, 1);
}

/* Nobody listens: retryable, with the reason. */
static void test_connect_refused(void **state)
{
    otlp_grpc_target_t t;
    res_t r[1];
    uv_tcp_t probe;
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    (void)state;
    /* A port that was free a moment ago. */
    uv_tcp_init(&loop, &probe);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_bind(&probe, (struct sockaddr *)&sa, 0);
    uv_tcp_getsockname(&probe, (struct sockaddr *)&ss, &len);
    int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    uv_close((uv_handle_t *)&probe, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    target(&t, port, 2000);
    otlp_grpc_t *cl = start_calls(&t, r, 1, 4);
    assert_true(run_until_done(r, 1, 5000));
    char want[96];
    snprintf(want, sizeof(want), "127.0.0.1:%d: cannot connect: connection refused", port);
    assert_string_equal(r[0].error, want);
    assert_int_equal(r[0].outcome, PT_RETRY);
    finish(cl, &t, 0);
}

/* destroy ends the calls in flight (each callback once), and every handle closes. */
static void test_destroy_in_flight(void **state)
{
    otlp_grpc_target_t t;
    res_t r[3];
    (void)state;
    srv_start(&loop, M_SILENT, 100);
    target(&t, S.port, 10000);
    otlp_grpc_t *cl = start_calls(&t, r, 3, 2);
    uint64_t end = pt_now_mono_ns() + 2000000000ull;
    while (S.requests < 2 && pt_now_mono_ns() < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(S.requests, 2); /* the third waits for a free stream */
    otlp_grpc_destroy(cl);
    char want[96];
    snprintf(want, sizeof(want), "127.0.0.1:%d: the flusher is stopping", S.port);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_string_equal(r[i].error, want);
        assert_int_equal(r[i].outcome, PT_RETRY);
    }
    srv_stop();
    uv_run(&loop, UV_RUN_DEFAULT);
    srv_free();
    otlp_grpc_target_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_outcome),
        cmocka_unit_test(test_unframe_and_message),
        cmocka_unit_test_setup_teardown(test_one_connection_within_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_message_flow_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_goaway_moves_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_stream_sent_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_retry_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
