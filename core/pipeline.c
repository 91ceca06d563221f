/* Pipelines at run time: start and stop, pushing groups, running the processor chain, batching
 * (the aggregator stage) and handing serialized payloads to the sender thread. Start/stop run on
 * the input thread; process and flush run on workers holding a shard. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "mem.h"
#include "pipeline_internal.h"
#include "pool.h"

static pt_pool_t payload_pool = PT_POOL_INIT(sizeof(pt_payload_t), 1);

/* ========================================================================= lifecycle ===== */

typedef struct {
    pt_pipeline_t *p;
    int rc;
    int stop;
} flusher_call_t;

/* Stops one flusher on the sender loop: the flusher first (it completes or fails what it has in
 * flight, which the delivery layer spools), then its delivery layer. */
static void flusher_stop_one(pt_plugin_inst_t *f, pt_flusher_rt_t *rt)
{
    if (rt->dl != NULL) {
        pt_delivery_spool_all(rt->dl);
    }
    if (f->plugin->stop != NULL) {
        f->plugin->stop(f);
    }
    if (rt->dl != NULL) {
        pt_delivery_destroy(rt->dl);
        rt->dl = NULL;
    }
}

static void flushers_on_sender(void *arg)
{
    flusher_call_t *c = arg;
    uv_loop_t *loop = pt_sender_loop();
    for (int i = 0; i < c->p->nflushers; i++) {
        pt_plugin_inst_t *f = &c->p->flushers[i];
        pt_flusher_rt_t *rt = &c->p->frt[i];
        if (c->stop) {
            flusher_stop_one(f, rt);
            continue;
        }
        int rc = f->plugin->start != NULL ? f->plugin->start(f, loop) : 0;
        if (rc == 0 && f->plugin->delivery_offset != 0) {
            rc = pt_delivery_create(f, rt, loop, &rt->dl);
            if (rc != 0 && f->plugin->stop != NULL) {
                f->plugin->stop(f);
            }
        }
        if (rc != 0) {
            pt_log_error("[%s] cannot start: %s", f->id, pt_strerror(rc));
            c->rc = rc;
            /* The pipeline will not run: stop the flushers that did start. */
            for (int k = 0; k < i; k++) {
                flusher_stop_one(&c->p->flushers[k], &c->p->frt[k]);
            }
            return;
        }
    }
}

static void spool_all_on_sender(void *arg)
{
    pt_pipeline_t *p = arg;
    for (int i = 0; i < p->nflushers; i++) {
        if (p->frt[i].dl != NULL) {
            pt_delivery_spool_all(p->frt[i].dl);
        }
    }
}

void pt_pipeline_spool_all(pt_pipeline_t *p)
{
    pt_sender_call(spool_all_on_sender, p);
}

void pt_pipeline_stop_flushers(pt_pipeline_t *p)
{
    flusher_call_t c = {p, 0, 1};
    pt_sender_call(flushers_on_sender, &c);
}

static void on_resume(uv_async_t *h)
{
    pt_pipeline_t *p = h->data;
    if (p->state != PT_PIPE_RUNNING) {
        return;
    }
    for (int i = 0; i < p->ninputs; i++) {
        if (p->inputs[i].plugin->resume != NULL) {
            p->inputs[i].plugin->resume(&p->inputs[i]);
        }
    }
}

int pt_pipeline_start(pt_pipeline_t *p, uv_loop_t *loop)
{
    flusher_call_t c = {p, 0, 0};
    pt_sender_call(flushers_on_sender, &c);
    if (c.rc != 0) {
        return c.rc;
    }
    p->resume_async = pt_malloc(sizeof(uv_async_t));
    if (p->resume_async == NULL) {
        return -ENOMEM;
    }
    uv_async_init(loop, p->resume_async, on_resume);
    p->resume_async->data = p;
    p->state = PT_PIPE_RUNNING;
    pt_sched_add(p);
    for (int i = 0; i < p->ninputs; i++) {
        pt_plugin_inst_t *in = &p->inputs[i];
        int rc = in->plugin->start != NULL ? in->plugin->start(in, loop) : 0;
        if (rc != 0) {
            pt_log_error("[%s] cannot start: %s", in->id, pt_strerror(rc));
            return rc;
        }
    }
    pt_log_info("pipeline %s started (%s; %d input(s), %d processor(s), %d flusher(s))", p->name,
                p->file, p->ninputs, p->nprocessors, p->nflushers);
    return 0;
}

void pt_pipeline_stop_inputs(pt_pipeline_t *p)
{
    if (p->state != PT_PIPE_RUNNING) {
        return;
    }
    p->state = PT_PIPE_STOPPING;
    for (int i = 0; i < p->ninputs; i++) {
        if (p->inputs[i].plugin->stop != NULL) {
            p->inputs[i].plugin->stop(&p->inputs[i]);
        }
    }
    __atomic_store_n(&p->draining, 1, __ATOMIC_RELEASE);
    pt_sched_kick();
}

void pt_pipeline_flush_batches(pt_pipeline_t *p)
{
    if (!__atomic_load_n(&p->draining, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&p->draining, 1, __ATOMIC_RELEASE);
        pt_sched_kick();
    }
}

int pt_pipeline_drained(const pt_pipeline_t *p)
{
    return p->acked == p->pushed;
}

int pt_pipeline_delivered(const pt_pipeline_t *p)
{
    for (int i = 0; i < p->nflushers; i++) {
        if (atomic_load(&p->frt[i].busy)) {
            return 0;
        }
    }
    return 1;
}

int pt_pipeline_inputs_finished(pt_pipeline_t *p)
{
    for (int i = 0; i < p->ninputs; i++) {
        const pt_plugin_t *pl = p->inputs[i].plugin;
        if (pl->finished != NULL && !pl->finished(&p->inputs[i])) {
            return 0;
        }
    }
    return 1;
}

void pt_pipeline_flush_state(pt_pipeline_t *p)
{
    for (int i = 0; i < p->ninputs; i++) {
        if (p->inputs[i].plugin->flush_state != NULL) {
            p->inputs[i].plugin->flush_state(&p->inputs[i]);
        }
    }
}

void pt_pipeline_ack_done(pt_pipeline_t *p)
{
    p->acked++;
}

/* ========================================================================= data path ===== */

int pt_pipeline_push(pt_pipeline_t *p, pt_group_t *g)
{
    if (p->state != PT_PIPE_RUNNING) {
        return -ECANCELED;
    }
    if (g->ack == NULL) {
        return -EINVAL;
    }
    g->ack->pipeline = p;
    int rc = pt_sched_push(p, g);
    if (rc == 0) {
        p->pushed++;
        pt_counter_add(p->m_groups_in, 1);
    }
    return rc;
}

/* Drops a group that will not be batched: its ack is released as taken. */
static void group_done(pt_group_t *g, int status)
{
    pt_ack_t *ack = g->ack;
    pt_group_release(g);
    if (ack != NULL) {
        pt_ack_release(ack, status);
    }
}

static void emit_batch(pt_pipeline_t *p, pt_open_batch_t *ob);

void pt_pipeline_process(pt_shard_t *s, pt_group_t *g)
{
    pt_pipeline_t *p = s->p;
    uint32_t live = g->nevents;
    for (int i = 0; i < p->nprocessors; i++) {
        pt_plugin_inst_t *proc = &p->processors[i];
        pt_counter_add(proc->m.events_in, live);
        int rc = proc->plugin->process(proc, g);
        if (rc != 0) {
            pt_counter_add(proc->m.errors, 1);
            pt_counter_add(proc->m.events_dropped, live);
            pt_counter_add(p->m_events_dropped, live);
            PT_LOG(PT_LOG_DEBUG, proc->id, "group dropped: %s", pt_strerror(rc));
            group_done(g, 0);
            return;
        }
        uint32_t now_live = pt_group_live_events(g);
        pt_counter_add(proc->m.events_out, now_live);
        if (now_live < live) {
            pt_counter_add(proc->m.events_dropped, live - now_live);
        }
        live = now_live;
    }
    if (live == 0) {
        group_done(g, 0);
        return;
    }
    pt_plugin_inst_t *agg = p->aggregator;
    uint32_t route = 0;
    if (agg->plugin->route != NULL) {
        route = agg->plugin->route(agg, g) % PT_MAX_ROUTES;
    }
    g->route = route;
    pt_open_batch_t *ob = pt_batcher_get(s, g, route, p->batch_by_tags, pt_now_mono_ns());
    if (ob != NULL && ob->b.ngroups > 0 && ob->b.bytes + g->bytes > p->batch_hard_max) {
        /* Batch.MaxSizeBytes: what is there goes now, g starts the next batch. */
        emit_batch(p, ob);
        pt_batcher_retire(s, ob);
        ob = pt_batcher_get(s, g, route, p->batch_by_tags, pt_now_mono_ns());
    }
    if (ob == NULL || pt_batcher_append(s, ob, g, live) != 0) {
        /* Out of memory on the data path: drop the group, count it, go on. An open batch that
         * could not take it is not empty (a new one always has room). */
        pt_counter_add(p->m_events_dropped, live);
        group_done(g, -ENOMEM);
        return;
    }
    pt_counter_add(agg->m.events_in, live);
    if (ob->b.nevents >= p->batch_max_events || ob->b.bytes >= p->batch_max_bytes ||
        ob->b.bytes >= p->batch_hard_max) {
        emit_batch(p, ob);
        pt_batcher_retire(s, ob);
    } else if ((g->flags & PT_GROUP_F_FLUSH) && !ob->urgent) {
        ob->urgent = 1; /* sent by pt_pipeline_flush_urgent */
        s->nurgent++;
    }
    /* Many tag sets at once (many files, many SDK processes): the oldest batches go early
     * rather than let open batches hold more than their share of memory. */
    while (s->oldest != NULL &&
           (s->open_bytes > p->batch_open_cap || s->nopen > p->batch_open_max)) {
        ob = s->oldest;
        emit_batch(p, ob);
        pt_batcher_retire(s, ob);
    }
}

void pt_pipeline_flush_urgent(pt_shard_t *s)
{
    pt_open_batch_t *ob = s->oldest;
    while (s->nurgent > 0 && ob != NULL) {
        pt_open_batch_t *next = ob->next;
        if (ob->urgent) {
            emit_batch(s->p, ob);
            pt_batcher_retire(s, ob);
        }
        ob = next;
    }
}

uint64_t pt_pipeline_flush_due(pt_shard_t *s, uint64_t now, int force)
{
    pt_pipeline_t *p = s->p;
    if (__atomic_load_n(&p->draining, __ATOMIC_ACQUIRE) && s->head == NULL) {
        force = 1;
    }
    /* Oldest first, which is also the order the timeouts fall due in. */
    while (s->oldest != NULL) {
        pt_open_batch_t *ob = s->oldest;
        uint64_t due = ob->opened_ns + p->batch_timeout_ns;
        if (!force && due > now) {
            return due;
        }
        emit_batch(p, ob);
        pt_batcher_retire(s, ob);
    }
    return UINT64_MAX;
}

int pt_pipeline_sender_full(pt_pipeline_t *p)
{
    for (int i = 0; i < p->nflushers; i++) {
        if (atomic_load_explicit(&p->frt[i].spool_full, memory_order_relaxed)) {
            atomic_store(&p->sender_blocked, 1);
            return 1;
        }
        if (atomic_load_explicit(&p->frt[i].inflight_bytes, memory_order_relaxed) >=
            p->frt[i].cap_bytes) {
            atomic_store(&p->sender_blocked, 1);
            return 1;
        }
    }
    return 0;
}

static int payload_add_ack(pt_payload_t *pl, pt_ack_t *ack)
{
    if (pl->nacks > 0 && pl->acks[pl->nacks - 1] == ack) {
        return 0;
    }
    if (pl->nacks == pl->capacks) {
        uint32_t ncap = pl->capacks ? pl->capacks * 2 : 8;
        pt_ack_t **na = pt_realloc(pl->acks, sizeof(*na) * ncap);
        if (na == NULL) {
            return -ENOMEM;
        }
        pl->acks = na;
        pl->capacks = ncap;
    }
    pt_ack_hold(ack, 1);
    pl->acks[pl->nacks++] = ack;
    return 0;
}

int pt_match_group(const pt_match_t *m, const pt_group_t *g)
{
    if (m->kind == 1) {
        for (uint32_t i = 0; i < g->nevents; i++) {
            const pt_event_t *ev = &g->events[i];
            if (!(ev->flags & PT_EVENT_F_DROPPED)) {
                int t = ev->type == PT_EVENT_RAW ? PT_EVENT_LOG : ev->type;
                return t == m->event_type;
            }
        }
        return 0;
    }
    if (m->kind == 2) {
        const pt_str_t *v = pt_group_get_tag(g, pt_str_c(m->key));
        return v != NULL && pt_str_eq_c(*v, m->value);
    }
    return 1;
}

static void emit_batch(pt_pipeline_t *p, pt_open_batch_t *ob)
{
    pt_batch_t *all = &ob->b;
    int worst = 0; /* a flusher that could not take the batch keeps it uncommitted */
    pt_counter_add(p->aggregator->m.events_out, all->nevents);
    pt_group_t **sub = NULL;
    for (int i = 0; i < p->nflushers; i++) {
        pt_plugin_inst_t *f = &p->flushers[i];
        pt_batch_t fb;
        const pt_batch_t *b = all;
        if (f->match.kind != 0) {
            /* Match: this flusher takes only the groups it matches (LoongCollector's router). */
            if (sub == NULL) {
                sub = pt_malloc(sizeof(*sub) * all->ngroups);
                if (sub == NULL) {
                    worst = -ENOMEM;
                    continue;
                }
            }
            fb = *all;
            fb.groups = sub;
            fb.ngroups = 0;
            fb.nevents = 0;
            fb.bytes = 0;
            for (uint32_t g = 0; g < all->ngroups; g++) {
                if (pt_match_group(&f->match, all->groups[g])) {
                    sub[fb.ngroups++] = all->groups[g];
                    fb.nevents += pt_group_live_events(all->groups[g]);
                    fb.bytes += all->groups[g]->bytes;
                }
            }
            if (fb.ngroups == 0) {
                continue;
            }
            b = &fb;
        }
        pt_payload_t *pl = pt_pool_get(&payload_pool);
        if (pl != NULL) {
            memset(pl, 0, sizeof(*pl));
        }
        if (pl == NULL) {
            pt_counter_add(f->m.events_dropped, b->nevents);
            pt_counter_add(p->m_events_dropped, b->nevents);
            worst = -ENOMEM;
            continue;
        }
        pl->flusher = f;
        pl->route = b->route;
        pl->nevents = b->nevents;
        pt_counter_add(f->m.events_in, b->nevents);
        int rc = f->plugin->serialize(f, b, pl);
        if (rc == PT_DECLINED) {
            pt_payload_discard(pl, 0);
            continue;
        }
        if (rc == 0) {
            for (uint32_t g = 0; g < b->ngroups && rc == 0; g++) {
                rc = payload_add_ack(pl, b->groups[g]->ack);
            }
        }
        if (rc != 0) {
            pt_counter_add(f->m.errors, 1);
            pt_counter_add(f->m.events_dropped, b->nevents);
            pt_counter_add(p->m_events_dropped, b->nevents);
            PT_LOG(PT_LOG_WARN, f->id, "batch of %u events dropped: %s", b->nevents,
                   pt_strerror(rc));
            pt_payload_discard(pl, rc);
            worst = rc;
            continue;
        }
        atomic_fetch_add(&p->frt[i].inflight_bytes, pl->data.len);
        pl->mem_counted = 1;
        pl->enqueued_ns = pt_now_mono_ns();
        pt_sender_submit(pl);
    }
    pt_free(sub);
    for (uint32_t g = 0; g < all->ngroups; g++) {
        group_done(all->groups[g], worst);
    }
    /* The caller retires ob, which empties it. */
}

void pt_pipeline_pools_purge(void)
{
    extern pt_pool_t pt_ack_pool;
    pt_pool_thread_flush();
    pt_pool_purge(&payload_pool);
    pt_pool_purge(&pt_ack_pool);
}

void pt_payload_discard(pt_payload_t *pl, int status)
{
    for (uint32_t i = 0; i < pl->nacks; i++) {
        pt_ack_release(pl->acks[i], status);
    }
    pt_free(pl->acks);
    pt_buf_free(&pl->data);
    pt_pool_put(&payload_pool, pl);
}

pt_payload_t *pt_payload_alloc(pt_plugin_inst_t *f)
{
    pt_payload_t *pl = pt_pool_get(&payload_pool);
    if (pl != NULL) {
        memset(pl, 0, sizeof(*pl));
        pl->flusher = f;
    }
    return pl;
}

void pt_payload_release_acks(pt_payload_t *pl, int status)
{
    for (uint32_t i = 0; i < pl->nacks; i++) {
        pt_ack_release(pl->acks[i], status);
    }
    pl->nacks = 0;
}

void pt_payload_free(pt_payload_t *pl)
{
    pt_payload_discard(pl, 0);
}

void pt_payload_left_memory(pt_payload_t *pl)
{
    pt_plugin_inst_t *f = pl->flusher;
    pt_pipeline_t *p = f->pipeline;
    pt_flusher_rt_t *rt = &p->frt[f - p->flushers];
    if (!pl->mem_counted) {
        return;
    }
    pl->mem_counted = 0;
    atomic_fetch_sub(&rt->inflight_bytes, pl->data.len);
    if (atomic_load(&p->sender_blocked)) {
        atomic_store(&p->sender_blocked, 0);
        pt_sched_kick();
    }
}

void pt_payload_done(pt_payload_t *pl, int status)
{
    pt_plugin_inst_t *f = pl->flusher;
    pt_pipeline_t *p = f->pipeline;
    pt_flusher_rt_t *rt = &p->frt[f - p->flushers];
    if (rt->dl != NULL) {
        pt_delivery_done(rt->dl, pl, status);
        return;
    }
    if (status == 0) {
        pt_counter_add(f->m.events_out, pl->nevents);
        pt_counter_add(f->m.bytes_out, pl->data.len);
    } else {
        pt_counter_add(f->m.errors, 1);
        pt_counter_add(f->m.events_dropped, pl->nevents);
        pt_counter_add(p->m_events_dropped, pl->nevents);
    }
    pt_payload_left_memory(pl);
    /* Acks last: once the final one is released the pipeline may be destroyed. */
    pt_payload_discard(pl, status);
}
