/* Tests for core/batcher.c: which open batch a group joins (route and tag set), and the shard's
 * bookkeeping (hash table, oldest-first list, bytes, urgent count) under a long random run
 * checked against its invariants. */
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
#include "core/pipeline_internal.h"

/* Every group a test made, released at its end (each holds a reference on its arena). */
static pt_group_t *made[1024];
static int nmade;

static void release_all(pt_arena_t *a)
{
    while (nmade > 0) {
        pt_group_release(made[--nmade]);
    }
    pt_arena_unref(a);
}

static pt_group_t *tagged(pt_arena_t *a, const char *k1, const char *v1, const char *k2,
                          const char *v2)
{
    pt_group_t *g = pt_group_create(a, 1);
    assert_non_null(g);
    assert_true(nmade < (int)(sizeof(made) / sizeof(made[0])));
    made[nmade++] = g;
    if (k1 != NULL) {
        assert_int_equal(pt_group_set_tag(g, pt_str_c(k1), pt_str_c(v1)), 0);
    }
    if (k2 != NULL) {
        assert_int_equal(pt_group_set_tag(g, pt_str_c(k2), pt_str_c(v2)), 0);
    }
    g->bytes = 100;
    return g;
}

static pt_open_batch_t *join(pt_shard_t *s, pt_group_t *g, uint32_t route, int by_tags)
{
    static uint64_t now;
    pt_open_batch_t *ob = pt_batcher_get(s, g, route, by_tags, ++now);
    assert_non_null(ob);
    assert_int_equal(pt_batcher_append(s, ob, g, 1), 0);
    return ob;
}

static void drain(pt_shard_t *s)
{
    while (s->oldest != NULL) {
        pt_batcher_retire(s, s->oldest);
    }
    pt_batcher_free(s);
}

static void test_batch_per_route_and_tag_set(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    pt_shard_t s;
    memset(&s, 0, sizeof(s));
    pt_group_t *a1 = tagged(a, "__path__", "/l/a.log", "host", "h1");
    pt_group_t *a2 = tagged(a, "__path__", "/l/a.log", "host", "h1");
    pt_group_t *b = tagged(a, "__path__", "/l/b.log", "host", "h1");
    pt_group_t *ab = tagged(a, "__path__", "/l/a.logho", "st", "h1"); /* same bytes, joined */
    pt_group_t *swapped = tagged(a, "host", "h1", "__path__", "/l/a.log");
    pt_group_t *none = tagged(a, NULL, NULL, NULL, NULL);

    pt_open_batch_t *oa = join(&s, a1, 0, 1);
    assert_ptr_equal(join(&s, a2, 0, 1), oa);
    assert_int_equal(oa->b.ngroups, 2);
    assert_int_equal(oa->b.nevents, 2);
    assert_int_equal(oa->b.bytes, 200);
    pt_open_batch_t *ob = join(&s, b, 0, 1);
    assert_ptr_not_equal(ob, oa);
    assert_ptr_not_equal(join(&s, ab, 0, 1), oa); /* lengths are part of the key */
    /* The same set in another order is another batch (sources keep their order). */
    assert_ptr_not_equal(join(&s, swapped, 0, 1), oa);
    pt_open_batch_t *on = join(&s, none, 0, 1);
    assert_ptr_not_equal(on, oa);
    /* Another route, same tags: another batch. */
    pt_open_batch_t *or = join(&s, a1, 2, 1);
    assert_ptr_not_equal(or, oa);
    assert_int_equal(or->b.route, 2);
    assert_int_equal(s.nopen, 6);
    assert_int_equal(s.open_bytes, 700);
    /* Oldest first: the list is in the order the batches were opened. */
    assert_ptr_equal(s.oldest, oa);
    assert_ptr_equal(s.newest, or);

    /* A retired batch leaves the table: the next group with its tags opens a new one. */
    pt_batcher_retire(&s, oa);
    assert_int_equal(s.nopen, 5);
    assert_int_equal(s.open_bytes, 500);
    assert_ptr_equal(s.oldest, ob);
    pt_open_batch_t *oa2 = join(&s, a2, 0, 1);
    assert_int_equal(oa2->b.ngroups, 1);
    assert_ptr_equal(s.newest, oa2);
    drain(&s);
    release_all(a);
}

static void test_without_group_by_tags(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    pt_shard_t s;
    memset(&s, 0, sizeof(s));
    pt_open_batch_t *o1 = join(&s, tagged(a, "__path__", "/a", NULL, NULL), 1, 0);
    assert_ptr_equal(join(&s, tagged(a, "__path__", "/b", NULL, NULL), 1, 0), o1);
    assert_ptr_equal(join(&s, tagged(a, NULL, NULL, NULL, NULL), 1, 0), o1);
    assert_ptr_not_equal(join(&s, tagged(a, "__path__", "/a", NULL, NULL), 0, 0), o1);
    assert_int_equal(o1->b.ngroups, 3);
    assert_int_equal(s.nopen, 2);
    drain(&s);
    release_all(a);
}

/* Random joins, retires (as batches fill), urgent marks and oldest-first evictions over 700 tag
 * sets and 3 routes; every few hundred steps the table, the list, the byte and urgent counts
 * must agree. */
static void test_random_run_keeps_invariants(void **state)
{
    (void)state;
    enum { NT = 700, STEPS = 300000, MAX_OPEN = 256 };
    static char vals[NT][16];
    pt_arena_t *a = pt_arena_create(PT_ARENA_LARGE);
    pt_group_t *proto[NT];
    pt_shard_t s;
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < NT; i++) {
        snprintf(vals[i], sizeof(vals[i]), "f%d", i);
        proto[i] = tagged(a, "__path__", vals[i], NULL, NULL);
        proto[i]->bytes = 10;
    }
    srand(7);
    uint64_t now = 0;
    int checks = 0;
    for (int step = 0; step < STEPS; step++) {
        int t = rand() % NT;
        uint32_t route = (uint32_t)(rand() % 3);
        pt_group_t *g = proto[t];
        pt_open_batch_t *ob = pt_batcher_get(&s, g, route, 1, ++now);
        assert_non_null(ob);
        if (ob->b.ngroups > 0) {
            /* the batch found holds this tag set on this route */
            assert_ptr_equal(ob->b.groups[0], g);
            assert_int_equal(ob->b.route, route);
        }
        assert_int_equal(pt_batcher_append(&s, ob, g, 1), 0);
        if (rand() % 11 == 0 && !ob->urgent) {
            ob->urgent = 1;
            s.nurgent++;
        }
        if (rand() % 7 == 0) {
            pt_batcher_retire(&s, ob);
        }
        while (s.nopen > MAX_OPEN) {
            pt_batcher_retire(&s, s.oldest);
        }
        if (step % 500 == 0) {
            uint32_t n = 0, urgent = 0, hashed = 0;
            uint64_t prev = 0, bytes = 0;
            for (pt_open_batch_t *o = s.oldest; o != NULL; o = o->next) {
                n++;
                urgent += o->urgent != 0;
                assert_true(o->opened_ns >= prev);
                prev = o->opened_ns;
                bytes += o->b.bytes;
                assert_int_equal(o->b.bytes, (uint64_t)o->b.ngroups * 10);
                if (o->next != NULL) {
                    assert_ptr_equal(o->next->prev, o);
                }
            }
            for (uint32_t i = 0; i < s.nbuckets; i++) {
                for (pt_open_batch_t *o = s.buckets[i]; o != NULL; o = o->hnext) {
                    hashed++;
                }
            }
            assert_int_equal(n, s.nopen);
            assert_int_equal(hashed, n);
            assert_int_equal(bytes, s.open_bytes);
            assert_int_equal(urgent, s.nurgent);
            assert_true(s.nopen <= MAX_OPEN);
            checks++;
        }
    }
    assert_int_equal(checks, STEPS / 500);
    drain(&s);
    assert_int_equal(s.nopen, 0);
    assert_int_equal(s.nurgent, 0);
    assert_int_equal(s.open_bytes, 0);
    release_all(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_per_route_and_tag_set),
        cmocka_unit_test(test_without_group_by_tags),
        cmocka_unit_test(test_random_run_keeps_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
