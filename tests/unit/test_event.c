/* Tests for core/event.c and the JSON-line serializer in core/serialize.c: groups, tags, fields
 * and their order, raw-to-log conversion, live counts, and the exact bytes a flusher writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/event.h"
#include "core/json.h"
#include "core/mem.h"
#include "core/plugin.h"
#include "core/str.h"

/* An allocator that can be told to fail, to check what an out-of-memory error leaves behind. */
static int fail_allocs;

static void *fail_malloc(size_t n)
{
    return fail_allocs ? NULL : malloc(n);
}

static void *fail_realloc(void *p, size_t n)
{
    return fail_allocs ? NULL : realloc(p, n);
}

static void *fail_calloc(size_t c, size_t n)
{
    return fail_allocs ? NULL : calloc(c, n);
}

typedef struct {
    pt_arena_t *a;
    pt_group_t *g;
    pt_buf_t out;
} fx_t;

static int setup(void **state)
{
    static fx_t fx;
    memset(&fx, 0, sizeof(fx));
    fx.a = pt_arena_create(PT_ARENA_SMALL);
    if (fx.a == NULL) {
        return -1;
    }
    fx.g = pt_group_create(fx.a, 0);
    if (fx.g == NULL) {
        return -1;
    }
    pt_arena_unref(fx.a); /* the group holds the arena now */
    pt_buf_init(&fx.out);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    pt_group_release(fx->g);
    pt_buf_free(&fx->out);
    pt_arena_pool_purge();
    return 0;
}

/* The output as a NUL-terminated string (for readable failure messages). */
static const char *out_str(fx_t *fx)
{
    pt_buf_putc(&fx->out, '\0');
    fx->out.len--;
    return fx->out.data;
}

static void assert_fields(const pt_event_t *ev, const char *const *kv, size_t n)
{
    assert_int_equal(ev->nfields, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ev->fields[i].key.len, strlen(kv[2 * i]));
        assert_memory_equal(ev->fields[i].key.ptr, kv[2 * i], ev->fields[i].key.len);
        assert_int_equal(ev->fields[i].val.len, strlen(kv[2 * i + 1]));
        assert_memory_equal(ev->fields[i].val.ptr, kv[2 * i + 1], ev->fields[i].val.len);
    }
}

/* ========================================================================== groups ======= */

static void test_group_create_and_refs(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(a);
    pt_group_t *g = pt_group_create(a, 10);
    assert_non_null(g);
    assert_ptr_equal(g->arena, a);
    assert_int_equal(atomic_load(&a->refs), 2);
    assert_int_equal(g->nevents, 0);
    assert_int_equal(g->capevents, 10);
    assert_int_equal(g->ntags, 0);
    assert_null(g->ack);
    assert_null(g->next);
    assert_int_equal(g->source, 0);
    assert_int_equal(g->bytes, 0);
    pt_group_t *g2 = pt_group_create(a, 0);
    assert_non_null(g2);
    assert_int_equal(g2->capevents, 4); /* the minimum */
    assert_int_equal(atomic_load(&a->refs), 3);
    pt_group_release(g2);
    pt_group_release(g);
    assert_int_equal(atomic_load(&a->refs), 1);
    pt_group_release(NULL); /* no-op */
    pt_arena_unref(a);
}

static void test_add_events_past_capacity(void **state)
{
    fx_t *fx = *state;
    pt_group_t *g = fx->g;
    assert_int_equal(g->capevents, 4);
    char *texts = pt_arena_alloc(g->arena, 1000 * 16);
    assert_non_null(texts);
    for (int i = 0; i < 1000; i++) {
        pt_event_t *ev = pt_group_add_event(g, i % 2 ? PT_EVENT_LOG : PT_EVENT_RAW);
        assert_non_null(ev);
        assert_ptr_equal(ev, &g->events[i]);
        assert_int_equal(ev->flags, 0);
        assert_int_equal(ev->nfields, 0);
        assert_int_equal(ev->time_ns, 0);
        assert_null(ev->raw.ptr);
        assert_null(ev->fields);
        int n = snprintf(texts + i * 16, 16, "event-%d", i);
        ev->raw = pt_str(texts + i * 16, (size_t)n);
        ev->time_ns = i;
    }
    assert_int_equal(g->nevents, 1000);
    assert_true(g->capevents >= 1000);
    for (int i = 0; i < 1000; i++) {
        char want[16];
        int n = snprintf(want, sizeof(want), "event-%d", i);
        assert_int_equal(g->events[i].type, i % 2 ? PT_EVENT_LOG : PT_EVENT_RAW);
        assert_int_equal(g->events[i].time_ns, i);
        assert_int_equal(g->events[i].raw.len, n);
        assert_memory_equal(g->events[i].raw.ptr, want, (size_t)n);
    }
}

static void test_tags(void **state)
{
    fx_t *fx = *state;
    pt_group_t *g = fx->g;
    assert_null(pt_group_get_tag(g, PT_STR_LIT("__path__")));
    assert_int_equal(pt_group_set_tag(g, PT_STR_LIT("__path__"), PT_STR_LIT("/a.log")), 0);
    assert_int_equal(pt_group_set_tag(g, PT_STR_LIT("host"), PT_STR_LIT("h1")), 0);
    assert_int_equal(g->ntags, 2);
    /* Replacing keeps the count and the position. */
    assert_int_equal(pt_group_set_tag(g, PT_STR_LIT("__path__"), PT_STR_LIT("/b.log")), 0);
    assert_int_equal(g->ntags, 2);
    assert_true(pt_str_eq_c(g->tags[0].key, "__path__"));
    assert_true(pt_str_eq_c(g->tags[0].val, "/b.log"));
    const pt_str_t *v = pt_group_get_tag(g, PT_STR_LIT("host"));
    assert_non_null(v);
    assert_true(pt_str_eq_c(*v, "h1"));
    /* Exact match only: prefix, longer and other case are different keys. */
    assert_null(pt_group_get_tag(g, PT_STR_LIT("hos")));
    assert_null(pt_group_get_tag(g, PT_STR_LIT("hostname")));
    assert_null(pt_group_get_tag(g, PT_STR_LIT("HOST")));
    /* Many tags: past every growth step, all readable. */
    char *keys = pt_arena_alloc(g->arena, 100 * 8);
    for (int i = 0; i < 100; i++) {
        int n = snprintf(keys + i * 8, 8, "k%d", i);
        assert_int_equal(pt_group_set_tag(g, pt_str(keys + i * 8, (size_t)n), PT_STR_LIT("v")), 0);
    }
    assert_int_equal(g->ntags, 102);
    for (int i = 0; i < 100; i++) {
        char k[8];
        int n = snprintf(k, sizeof(k), "k%d", i);
        v = pt_group_get_tag(g, pt_str(k, (size_t)n));
        assert_non_null(v);
        assert_true(pt_str_eq_c(*v, "v"));
    }
    assert_true(pt_str_eq_c(*pt_group_get_tag(g, PT_STR_LIT("__path__")), "/b.log"));
}

/* ========================================================================== fields ======= */

static void test_fields_order(void **state)
{
    fx_t *fx = *state;
    pt_group_t *g = fx->g;
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_LOG);
    assert_non_null(ev);
    assert_null(pt_event_get(ev, PT_STR_LIT("a")));
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pt_event_append(g, ev, pt_str_c(names[i]), pt_str_c(names[i])), 0);
    }
    {
        const char *want[] = {"a", "a", "b", "b", "c", "c", "d", "d", "e", "e"};
        assert_fields(ev, want, 5);
    }
    /* set on an existing key replaces in place; on a new key appends. */
    assert_int_equal(pt_event_set(g, ev, PT_STR_LIT("c"), PT_STR_LIT("C")), 0);
    assert_int_equal(pt_event_set(g, ev, PT_STR_LIT("f"), PT_STR_LIT("F")), 0);
    {
        const char *want[] = {"a", "a", "b", "b", "c", "C", "d", "d", "e", "e", "f", "F"};
        assert_fields(ev, want, 6);
    }
    /* del from the middle, the front and the back keeps the order of the rest. */
    assert_int_equal(pt_event_del(ev, PT_STR_LIT("c")), 1);
    assert_int_equal(pt_event_del(ev, PT_STR_LIT("a")), 1);
    assert_int_equal(pt_event_del(ev, PT_STR_LIT("f")), 1);
    assert_int_equal(pt_event_del(ev, PT_STR_LIT("f")), 0);
    assert_int_equal(pt_event_del(ev, PT_STR_LIT("zz")), 0);
    {
        const char *want[] = {"b", "b", "d", "d", "e", "e"};
        assert_fields(ev, want, 3);
    }
    const pt_str_t *v = pt_event_get(ev, PT_STR_LIT("d"));
    assert_non_null(v);
    assert_true(pt_str_eq_c(*v, "d"));
    assert_null(pt_event_get(ev, PT_STR_LIT("c")));
    /* append does not look for duplicates; get finds the first. */
    assert_int_equal(pt_event_append(g, ev, PT_STR_LIT("b"), PT_STR_LIT("second")), 0);
    assert_int_equal(ev->nfields, 4);
    assert_true(pt_str_eq_c(*pt_event_get(ev, PT_STR_LIT("b")), "b"));
    /* Past the initial capacity: 200 fields, all in order. */
    pt_event_t *ev2 = pt_group_add_event(g, PT_EVENT_LOG);
    char *buf = pt_arena_alloc(g->arena, 200 * 8);
    for (int i = 0; i < 200; i++) {
        int n = snprintf(buf + i * 8, 8, "f%d", i);
        assert_int_equal(
            pt_event_append(g, ev2, pt_str(buf + i * 8, (size_t)n), pt_str(buf + i * 8, (size_t)n)),
            0);
    }
    assert_int_equal(ev2->nfields, 200);
    for (int i = 0; i < 200; i++) {
        char k[8];
        int n = snprintf(k, sizeof(k), "f%d", i);
        assert_true(pt_str_eq(ev2->fields[i].key, pt_str(k, (size_t)n)));
        assert_true(pt_str_eq(*pt_event_get(ev2, pt_str(k, (size_t)n)), pt_str(k, (size_t)n)));
    }
    /* The first event was not disturbed by the second one's growth. */
    {
        const char *want[] = {"b", "b", "d", "d", "e", "e", "b", "second"};
        assert_fields(&g->events[0], want, 4);
    }
}

static void test_raw_to_log(void **state)
{
    fx_t *fx = *state;
    pt_group_t *g = fx->g;
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
    ev->raw = PT_STR_LIT("the line");
    ev->time_ns = 42;
    ev->flags = PT_EVENT_F_TRUNCATED;
    assert_int_equal(pt_event_to_log(g, ev), 0);
    assert_int_equal(ev->type, PT_EVENT_LOG);
    assert_null(ev->raw.ptr);
    assert_int_equal(ev->raw.len, 0);
    assert_int_equal(ev->time_ns, 42);
    assert_int_equal(ev->flags, PT_EVENT_F_TRUNCATED);
    const char *want[] = {"content", "the line"};
    assert_fields(ev, want, 1);
    /* A LOG event is left alone. */
    assert_int_equal(pt_event_to_log(g, ev), 0);
    assert_fields(ev, want, 1);
    /* An empty raw line becomes an empty content. */
    pt_event_t *e2 = pt_group_add_event(g, PT_EVENT_RAW);
    e2->raw = pt_str("", 0);
    assert_int_equal(pt_event_to_log(g, e2), 0);
    assert_int_equal(e2->nfields, 1);
    assert_int_equal(e2->fields[0].val.len, 0);
}

/* Fills the arena's current block so that the next allocation needs a new one. */
static void exhaust_block(pt_arena_t *a)
{
    size_t avail = 0;
    assert_non_null(pt_arena_reserve(a, 1, &avail));
    pt_arena_commit(a, avail);
}

/* An operation that fails for lack of memory leaves the event and the group as they were: the
 * caller may drop them, count them, or retry, but must not find them half-changed. */
static void test_out_of_memory_leaves_state(void **state)
{
    fx_t *fx = *state;
    pt_group_t *g = fx->g;
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_LOG);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pt_event_append(g, ev, PT_STR_LIT("k"), PT_STR_LIT("v")), 0);
    }
    for (int i = 0; i < 3; i++) {
        assert_non_null(pt_group_add_event(g, PT_EVENT_RAW));
    }
    assert_int_equal(g->nevents, g->capevents);
    assert_int_equal(pt_group_set_tag(g, PT_STR_LIT("t0"), PT_STR_LIT("v")), 0);
    for (int i = 1; i < 4; i++) {
        char *k = pt_arena_alloc(g->arena, 4);
        snprintf(k, 4, "t%d", i);
        assert_int_equal(pt_group_set_tag(g, pt_str(k, 2), PT_STR_LIT("v")), 0);
    }
    pt_event_t *raw = &g->events[1];
    raw->raw = PT_STR_LIT("precious line");

    exhaust_block(g->arena);
    fail_allocs = 1;
    /* Field array full (4 of 4): the append needs to grow it. */
    assert_int_equal(pt_event_append(g, &g->events[0], PT_STR_LIT("x"), PT_STR_LIT("y")), -ENOMEM);
    assert_int_equal(g->events[0].nfields, 4);
    assert_int_equal(pt_event_set(g, &g->events[0], PT_STR_LIT("x"), PT_STR_LIT("y")), -ENOMEM);
    assert_int_equal(g->events[0].nfields, 4);
    /* Event array full. */
    uint32_t nev = g->nevents;
    assert_null(pt_group_add_event(g, PT_EVENT_RAW));
    assert_int_equal(g->nevents, nev);
    /* Tag array full. */
    assert_int_equal(pt_group_set_tag(g, PT_STR_LIT("new"), PT_STR_LIT("v")), -ENOMEM);
    assert_int_equal(g->ntags, 4);
    /* raw -> log needs a field array. On failure the line must still be there. */
    int rc = pt_event_to_log(g, raw);
    fail_allocs = 0;
    assert_int_equal(rc, -ENOMEM);
    assert_int_equal(raw->type, PT_EVENT_RAW);
    assert_true(pt_str_eq_c(raw->raw, "precious line"));
}

static void test_live_events(void **state)
{
    fx_t *fx = *state;
    pt_group_t *g = fx->g;
    assert_int_equal(pt_group_live_events(g), 0);
    for (int i = 0; i < 7; i++) {
        pt_group_add_event(g, PT_EVENT_RAW);
    }
    assert_int_equal(pt_group_live_events(g), 7);
    g->events[0].flags |= PT_EVENT_F_DROPPED;
    g->events[3].flags |= PT_EVENT_F_DROPPED | PT_EVENT_F_TRUNCATED;
    g->events[6].flags |= PT_EVENT_F_TRUNCATED; /* truncated is still live */
    assert_int_equal(pt_group_live_events(g), 5);
    for (int i = 0; i < 7; i++) {
        g->events[i].flags |= PT_EVENT_F_DROPPED;
    }
    assert_int_equal(pt_group_live_events(g), 0);
}

/* ============================================================================= JSON ====== */

static void test_json_raw(void **state)
{
    fx_t *fx = *state;
    pt_event_t *ev = pt_group_add_event(fx->g, PT_EVENT_RAW);
    ev->raw = PT_STR_LIT("hello world");
    ev->time_ns = 1700000000999999999LL;
    assert_int_equal(pt_event_write_json(&fx->out, fx->g, ev), 0);
    assert_string_equal(out_str(fx), "{\"__time__\":1700000000,\"content\":\"hello world\"}\n");
    /* Appends: a second call adds a second line. */
    ev->raw = PT_STR_LIT("");
    ev->time_ns = 0;
    assert_int_equal(pt_event_write_json(&fx->out, fx->g, ev), 0);
    assert_string_equal(out_str(fx), "{\"__time__\":1700000000,\"content\":\"hello world\"}\n"
                                     "{\"__time__\":0,\"content\":\"\"}\n");
}

static void test_json_log_escapes(void **state)
{
    fx_t *fx = *state;
    pt_event_t *ev = pt_group_add_event(fx->g, PT_EVENT_LOG);
    ev->time_ns = 5000000000LL;
    pt_event_append(fx->g, ev, PT_STR_LIT("a"), PT_STR_LIT("1"));
    static const char esc[] = "q\"b\\s\n\r\t\b\f\x01\x1f/\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    pt_event_append(fx->g, ev, PT_STR_LIT("m\"k"), pt_str(esc, sizeof(esc) - 1));
    pt_event_append(fx->g, ev, PT_STR_LIT("empty"), PT_STR_NULL);
    assert_int_equal(pt_event_write_json(&fx->out, fx->g, ev), 0);
    assert_string_equal(out_str(fx),
                        "{\"__time__\":5,\"a\":\"1\",\"m\\\"k\":"
                        "\"q\\\"b\\\\s\\n\\r\\t\\b\\f\\u0001\\u001f/\x7f\xc3\xa9\xe2\x82\xac"
                        "\xf0\x9f\x98\x80\",\"empty\":\"\"}\n");
    assert_int_equal(pt_json_validate(fx->out.data, fx->out.len - 1, NULL), 0);
}

static void test_json_invalid_utf8(void **state)
{
    fx_t *fx = *state;
    pt_event_t *ev = pt_group_add_event(fx->g, PT_EVENT_RAW);
    /* a lone 0xFF, a truncated 3-byte sequence, an overlong NUL, a lone continuation byte and
     * an encoded surrogate. */
    static const char bad[] = "x\xffy\xe2\x82z\xc0\x80w\x80v\xed\xa0\x80.";
    ev->raw = pt_str(bad, sizeof(bad) - 1);
    ev->time_ns = 1000000000LL;
    assert_int_equal(pt_event_write_json(&fx->out, fx->g, ev), 0);
#define FFFD "\xef\xbf\xbd"
    assert_string_equal(out_str(fx), "{\"__time__\":1,\"content\":\"x" FFFD "y" FFFD "z" FFFD FFFD
                                     "w" FFFD "v" FFFD FFFD FFFD ".\"}\n");
#undef FFFD
    assert_int_equal(pt_json_validate(fx->out.data, fx->out.len - 1, NULL), 0);

    /* Invalid bytes in keys and tag values are replaced too. */
    pt_buf_free(&fx->out);
    pt_event_t *lg = pt_group_add_event(fx->g, PT_EVENT_LOG);
    pt_event_append(fx->g, lg, pt_str("k\xfe", 2), pt_str("\xc3", 1));
    pt_group_set_tag(fx->g, pt_str("t\xff", 2), pt_str("v\xff", 2));
    assert_int_equal(pt_event_write_json(&fx->out, fx->g, lg), 0);
    assert_string_equal(out_str(fx), "{\"__time__\":0,\"k\xef\xbf\xbd\":\"\xef\xbf\xbd\","
                                     "\"__tag__:t\xef\xbf\xbd\":\"v\xef\xbf\xbd\"}\n");
    assert_int_equal(pt_json_validate(fx->out.data, fx->out.len - 1, NULL), 0);
}

static void test_json_tags_truncated_metric(void **state)
{
    fx_t *fx = *state;
    pt_group_t *g = fx->g;
    pt_group_set_tag(g, PT_STR_LIT("__path__"), PT_STR_LIT("/var/log/a \"b\".log"));
    pt_group_set_tag(g, PT_STR_LIT("host"), PT_STR_LIT("h1"));
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
    ev->raw = PT_STR_LIT("cut");
    ev->flags = PT_EVENT_F_TRUNCATED;
    ev->time_ns = 2000000000LL;
    assert_int_equal(pt_event_write_json(&fx->out, g, ev), 0);
    assert_string_equal(
        out_str(fx),
        "{\"__time__\":2,\"content\":\"cut\",\"__truncated__\":\"true\","
        "\"__tag__:__path__\":\"/var/log/a \\\"b\\\".log\",\"__tag__:host\":\"h1\"}\n");

    pt_buf_free(&fx->out);
    pt_event_t *m = pt_group_add_event(g, PT_EVENT_METRIC);
    pt_metric_ext_t *ext = pt_arena_alloc(g->arena, sizeof(*ext));
    memset(ext, 0, sizeof(*ext));
    ext->name = PT_STR_LIT("cpu_usage");
    ext->value = 0.25;
    m->ext = ext;
    m->time_ns = 3000000000LL;
    pt_event_append(g, m, PT_STR_LIT("core"), PT_STR_LIT("0"));
    assert_int_equal(pt_event_write_json(&fx->out, g, m), 0);
    assert_string_equal(out_str(fx),
                        "{\"__time__\":3,\"__name__\":\"cpu_usage\",\"__value__\":0.25,"
                        "\"core\":\"0\",\"__tag__:__path__\":\"/var/log/a \\\"b\\\".log\","
                        "\"__tag__:host\":\"h1\"}\n");
}

static void test_batch_jsonl(void **state)
{
    fx_t *fx = *state;
    pt_group_t *g1 = fx->g;
    pt_group_set_tag(g1, PT_STR_LIT("__path__"), PT_STR_LIT("/1.log"));
    const char *lines1[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        pt_event_t *ev = pt_group_add_event(g1, PT_EVENT_RAW);
        ev->raw = pt_str_c(lines1[i]);
        ev->time_ns = 1000000000LL * (i + 1);
    }
    g1->events[1].flags |= PT_EVENT_F_DROPPED;

    pt_arena_t *a2 = pt_arena_create(PT_ARENA_SMALL);
    pt_group_t *g2 = pt_group_create(a2, 2);
    pt_arena_unref(a2);
    pt_group_set_tag(g2, PT_STR_LIT("__path__"), PT_STR_LIT("/2.log"));
    pt_event_t *d = pt_group_add_event(g2, PT_EVENT_LOG);
    d->flags = PT_EVENT_F_DROPPED;
    pt_event_t *l = pt_group_add_event(g2, PT_EVENT_LOG);
    pt_event_append(g2, l, PT_STR_LIT("k"), PT_STR_LIT("v"));

    pt_group_t *groups[] = {g1, g2};
    pt_batch_t b = {groups, 2, 3, 0, 0};
    assert_int_equal(pt_batch_write_jsonl(&fx->out, &b, 1), 0);
    assert_string_equal(out_str(fx),
                        "{\"__time__\":1,\"content\":\"one\",\"__tag__:__path__\":\"/1.log\"}\n"
                        "{\"__time__\":3,\"content\":\"three\",\"__tag__:__path__\":\"/1.log\"}\n"
                        "{\"__time__\":0,\"k\":\"v\",\"__tag__:__path__\":\"/2.log\"}\n");
    pt_buf_free(&fx->out);
    assert_int_equal(pt_batch_write_jsonl(&fx->out, &b, 0), 0);
    assert_string_equal(out_str(fx), "{\"__time__\":1,\"content\":\"one\"}\n"
                                     "{\"__time__\":3,\"content\":\"three\"}\n"
                                     "{\"__time__\":0,\"k\":\"v\"}\n");
    /* Writing without tags left the groups' tags alone. */
    assert_int_equal(g1->ntags, 1);
    assert_int_equal(g2->ntags, 1);
    /* A batch whose events are all dropped writes nothing. */
    pt_buf_free(&fx->out);
    pt_batch_t only_dropped = {&groups[1], 1, 0, 0, 0};
    l->flags |= PT_EVENT_F_DROPPED;
    assert_int_equal(pt_batch_write_jsonl(&fx->out, &only_dropped, 1), 0);
    assert_int_equal(fx->out.len, 0);
    pt_group_release(g2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_create_and_refs),
        cmocka_unit_test_setup_teardown(test_add_events_past_capacity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_to_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory_leaves_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_log_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_tags_truncated_metric, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_jsonl, setup, teardown),
    };
    /* Installed before any petrel call, as pt_replace_allocator requires. */
    if (pt_replace_allocator(fail_malloc, fail_realloc, fail_calloc, free) != 0) {
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
