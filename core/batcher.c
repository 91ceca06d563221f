/* Open batches of a shard, keyed by route and by the groups' tags, so that one batch (and so one
 * request) carries one source's tags, as LoongCollector's batcher does. A hash table finds the
 * batch for a group; a list keeps the open batches oldest first, which is also the order in
 * which their timeouts fall due. Emitted batches are kept for reuse with their group arrays. */
#include <string.h>

#include "mem.h"
#include "pipeline_internal.h"

#define BUCKETS_MIN 16

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    /* FNV-1a: tag sets are short, and this runs once per group, not per event. */
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t batch_key(const pt_group_t *g, uint32_t route, int by_tags)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = mix(h, &route, sizeof(route));
    if (!by_tags) {
        return h;
    }
    for (uint32_t i = 0; i < g->ntags; i++) {
        const pt_field_t *t = &g->tags[i];
        h = mix(h, &t->key.len, sizeof(t->key.len));
        h = mix(h, t->key.ptr, t->key.len);
        h = mix(h, &t->val.len, sizeof(t->val.len));
        h = mix(h, t->val.ptr, t->val.len);
    }
    return h;
}

/* Same tags in the same order: what the key hashes. A source sets its tags in a fixed order,
 * so the rare same set in another order only costs a second batch. */
static int same_tags(const pt_group_t *a, const pt_group_t *b)
{
    if (a->ntags != b->ntags) {
        return 0;
    }
    for (uint32_t i = 0; i < a->ntags; i++) {
        if (!pt_str_eq(a->tags[i].key, b->tags[i].key) ||
            !pt_str_eq(a->tags[i].val, b->tags[i].val)) {
            return 0;
        }
    }
    return 1;
}

static int grow_buckets(pt_shard_t *s)
{
    uint32_t n = s->nbuckets ? s->nbuckets * 2 : BUCKETS_MIN;
    pt_open_batch_t **nb = pt_calloc(n, sizeof(*nb));
    if (nb == NULL) {
        return -ENOMEM;
    }
    for (pt_open_batch_t *ob = s->oldest; ob != NULL; ob = ob->next) {
        uint32_t i = (uint32_t)ob->key & (n - 1);
        ob->hnext = nb[i];
        nb[i] = ob;
    }
    pt_free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
    return 0;
}

pt_open_batch_t *pt_batcher_get(pt_shard_t *s, const pt_group_t *g, uint32_t route, int by_tags,
                                uint64_t now)
{
    uint64_t key = batch_key(g, route, by_tags);
    if (s->nbuckets > 0) {
        for (pt_open_batch_t *ob = s->buckets[(uint32_t)key & (s->nbuckets - 1)]; ob != NULL;
             ob = ob->hnext) {
            if (ob->key == key && ob->b.route == route &&
                (!by_tags || same_tags(ob->b.groups[0], g))) {
                return ob;
            }
        }
    }
    /* Load factor 1; past it a failed growth only lengthens the chains. */
    if (s->nopen + 1 > s->nbuckets && grow_buckets(s) != 0 && s->nbuckets == 0) {
        return NULL;
    }
    pt_open_batch_t *ob = s->spare;
    if (ob != NULL) {
        s->spare = ob->next;
    } else if ((ob = pt_calloc(1, sizeof(*ob))) == NULL) {
        return NULL;
    }
    if (ob->capgroups == 0) {
        ob->b.groups = pt_malloc(sizeof(*ob->b.groups) * 16);
        if (ob->b.groups == NULL) {
            pt_free(ob);
            return NULL;
        }
        ob->capgroups = 16;
    }
    ob->key = key;
    ob->b.route = route;
    ob->opened_ns = now;
    uint32_t i = (uint32_t)key & (s->nbuckets - 1);
    ob->hnext = s->buckets[i];
    s->buckets[i] = ob;
    ob->prev = s->newest;
    ob->next = NULL;
    if (s->newest != NULL) {
        s->newest->next = ob;
    } else {
        s->oldest = ob;
    }
    s->newest = ob;
    s->nopen++;
    return ob;
}

int pt_batcher_append(pt_shard_t *s, pt_open_batch_t *ob, pt_group_t *g, uint32_t live)
{
    if (ob->b.ngroups == ob->capgroups) {
        uint32_t ncap = ob->capgroups * 2;
        pt_group_t **ng = pt_realloc(ob->b.groups, sizeof(*ng) * ncap);
        if (ng == NULL) {
            return -ENOMEM;
        }
        ob->b.groups = ng;
        ob->capgroups = ncap;
    }
    ob->b.groups[ob->b.ngroups++] = g;
    ob->b.nevents += live;
    ob->b.bytes += g->bytes;
    s->open_bytes += g->bytes;
    return 0;
}

void pt_batcher_retire(pt_shard_t *s, pt_open_batch_t *ob)
{
    pt_open_batch_t **pp = &s->buckets[(uint32_t)ob->key & (s->nbuckets - 1)];
    while (*pp != ob) {
        pp = &(*pp)->hnext;
    }
    *pp = ob->hnext;
    if (ob->prev != NULL) {
        ob->prev->next = ob->next;
    } else {
        s->oldest = ob->next;
    }
    if (ob->next != NULL) {
        ob->next->prev = ob->prev;
    } else {
        s->newest = ob->prev;
    }
    s->nopen--;
    s->open_bytes -= ob->b.bytes;
    if (ob->urgent) {
        ob->urgent = 0;
        s->nurgent--;
    }
    ob->b.ngroups = 0;
    ob->b.nevents = 0;
    ob->b.bytes = 0;
    ob->hnext = NULL;
    ob->prev = NULL;
    ob->next = s->spare;
    s->spare = ob;
}

void pt_batcher_free(pt_shard_t *s)
{
    pt_open_batch_t *lists[2] = {s->oldest, s->spare};
    for (int l = 0; l < 2; l++) {
        pt_open_batch_t *ob = lists[l];
        while (ob != NULL) {
            pt_open_batch_t *next = ob->next;
            pt_free(ob->b.groups);
            pt_free(ob);
            ob = next;
        }
    }
    pt_free(s->buckets);
    s->buckets = NULL;
    s->nbuckets = 0;
    s->oldest = s->newest = s->spare = NULL;
    s->nopen = 0;
    s->nurgent = 0;
    s->open_bytes = 0;
}
