/* Processor workers. Each worker takes a shard (a slice of one pipeline's process queue) that is
 * not held by another worker: highest priority first (0, 1, 2), round-robin within a priority,
 * skipping pipelines whose sender queues are full. Holding the shard keeps order per source.
 * One mutex guards the queues: a queue item is a whole group (hundreds of KiB), so the lock is
 * taken a few thousand times a second at 1 GB/s, far from contention. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "log.h"
#include "mem.h"
#include "pipeline_internal.h"
#include "pool.h"

#define NPRIO 3

typedef struct sched_entry_s {
    pt_pipeline_t *p;
    struct sched_entry_s *next;
} sched_entry_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_cond_t idle_cond;
    pthread_t *threads;
    int nworkers;
    int running;
    sched_entry_t *prio[NPRIO];
    unsigned rr[NPRIO];
    unsigned epoch; /* bumped on every kick so sleepers re-scan */
} S = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .cond = PTHREAD_COND_INITIALIZER,
       .idle_cond = PTHREAD_COND_INITIALIZER};

static int shard_ready(pt_shard_t *s, uint64_t now, uint64_t *next_deadline)
{
    if (s->busy) {
        return 0;
    }
    pt_pipeline_t *p = s->p;
    if (s->head != NULL && !pt_pipeline_sender_full(p)) {
        return 1;
    }
    if (s->nopen > 0) {
        if (__atomic_load_n(&p->draining, __ATOMIC_ACQUIRE) && s->head == NULL) {
            return 1;
        }
        /* The oldest open batch is the first due. */
        uint64_t due = s->oldest->opened_ns + p->batch_timeout_ns;
        if (due <= now) {
            return 1;
        }
        if (due < *next_deadline) {
            *next_deadline = due;
        }
    }
    return 0;
}

/* Picks a shard to work on. Lock held. */
static pt_shard_t *pick(uint64_t now, uint64_t *next_deadline)
{
    for (int pr = 0; pr < NPRIO; pr++) {
        unsigned total = 0;
        for (sched_entry_t *e = S.prio[pr]; e != NULL; e = e->next) {
            total += (unsigned)e->p->nshards;
        }
        if (total == 0) {
            continue;
        }
        unsigned start = S.rr[pr] % total;
        for (unsigned k = 0; k < total; k++) {
            unsigned idx = (start + k) % total;
            for (sched_entry_t *e = S.prio[pr]; e != NULL; e = e->next) {
                if (idx < (unsigned)e->p->nshards) {
                    pt_shard_t *s = &e->p->shards[idx];
                    if (shard_ready(s, now, next_deadline)) {
                        S.rr[pr] = (start + k + 1) % total;
                        return s;
                    }
                    break;
                }
                idx -= (unsigned)e->p->nshards;
            }
        }
    }
    return NULL;
}

static void *worker_main(void *arg)
{
    PT_UNUSED(arg);
    pthread_mutex_lock(&S.lock);
    while (S.running) {
        uint64_t now = pt_now_mono_ns();
        uint64_t next = UINT64_MAX;
        pt_shard_t *s = pick(now, &next);
        if (s == NULL) {
            /* Sleep until the next batch deadline, a kick, or 1 s at most. */
            uint64_t wait_ns = 1000000000ull;
            if (next != UINT64_MAX) {
                wait_ns = next > now ? next - now : 0;
                if (wait_ns > 1000000000ull) {
                    wait_ns = 1000000000ull;
                }
            }
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t t = (uint64_t)ts.tv_nsec + wait_ns;
            ts.tv_sec += (time_t)(t / 1000000000ull);
            ts.tv_nsec = (long)(t % 1000000000ull);
            pthread_cond_timedwait(&S.cond, &S.lock, &ts);
            continue;
        }
        s->busy = 1;
        pt_pipeline_t *p = s->p;
        pt_group_t *g = NULL;
        int drained = 0; /* g was the last queued group of the shard */
        if (s->head != NULL && !pt_pipeline_sender_full(p)) {
            g = s->head;
            s->head = g->next;
            if (s->head == NULL) {
                s->tail = NULL;
                drained = 1;
            }
            s->nqueued--;
            g->next = NULL;
            p->queued_bytes -= g->bytes;
            pt_gauge_set(p->m_queue_bytes, (int64_t)p->queued_bytes);
            if (p->input_blocked && p->queued_bytes <= p->low_watermark) {
                p->input_blocked = 0;
                uv_async_send(p->resume_async);
            }
        }
        pthread_mutex_unlock(&S.lock);
        if (g != NULL) {
            pt_pipeline_process(s, g);
        }
        if (drained) {
            pt_pipeline_flush_urgent(s);
        }
        pt_pipeline_flush_due(s, pt_now_mono_ns(), 0);
        pthread_mutex_lock(&S.lock);
        s->busy = 0;
        pthread_cond_broadcast(&S.idle_cond);
    }
    pthread_mutex_unlock(&S.lock);
    pt_arena_thread_flush();
    pt_pool_thread_flush();
    return NULL;
}

int pt_sched_start(int nworkers)
{
    if (nworkers < 1) {
        nworkers = 1;
    }
    S.threads = pt_calloc((size_t)nworkers, sizeof(pthread_t));
    if (S.threads == NULL) {
        return -ENOMEM;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&S.cond);
    pthread_cond_init(&S.cond, &ca);
    pthread_condattr_destroy(&ca);
    S.running = 1;
    for (int i = 0; i < nworkers; i++) {
        int rc = pthread_create(&S.threads[i], NULL, worker_main, NULL);
        if (rc != 0) {
            pt_log_error("cannot start worker thread: %s", strerror(rc));
            S.nworkers = i;
            pt_sched_stop();
            return -rc;
        }
    }
    S.nworkers = nworkers;
    return 0;
}

void pt_sched_stop(void)
{
    pthread_mutex_lock(&S.lock);
    S.running = 0;
    pthread_cond_broadcast(&S.cond);
    pthread_mutex_unlock(&S.lock);
    for (int i = 0; i < S.nworkers; i++) {
        pthread_join(S.threads[i], NULL);
    }
    pt_free(S.threads);
    S.threads = NULL;
    S.nworkers = 0;
}

int pt_sched_nworkers(void)
{
    return S.nworkers;
}

void pt_sched_add(pt_pipeline_t *p)
{
    sched_entry_t *e = pt_malloc(sizeof(*e));
    PT_ASSERT(e != NULL);
    e->p = p;
    pthread_mutex_lock(&S.lock);
    int pr = p->priority < 0 ? 0 : (p->priority >= NPRIO ? NPRIO - 1 : p->priority);
    e->next = S.prio[pr];
    S.prio[pr] = e;
    pthread_mutex_unlock(&S.lock);
}

void pt_sched_remove(pt_pipeline_t *p)
{
    pthread_mutex_lock(&S.lock);
    for (;;) {
        int busy = 0;
        for (int i = 0; i < p->nshards; i++) {
            busy |= p->shards[i].busy;
        }
        if (!busy) {
            break;
        }
        pthread_cond_wait(&S.idle_cond, &S.lock);
    }
    for (int pr = 0; pr < NPRIO; pr++) {
        for (sched_entry_t **pe = &S.prio[pr]; *pe != NULL; pe = &(*pe)->next) {
            if ((*pe)->p == p) {
                sched_entry_t *e = *pe;
                *pe = e->next;
                pt_free(e);
                goto out;
            }
        }
    }
out:
    /* Whatever is still queued (shutdown past its deadline) is released unacknowledged: the
     * input will read it again after restart. */
    for (int i = 0; i < p->nshards; i++) {
        pt_shard_t *s = &p->shards[i];
        while (s->head != NULL) {
            pt_group_t *g = s->head;
            s->head = g->next;
            pt_ack_abandon(g->ack);
            pt_group_release(g);
        }
        s->tail = NULL;
        while (s->oldest != NULL) {
            pt_open_batch_t *ob = s->oldest;
            for (uint32_t k = 0; k < ob->b.ngroups; k++) {
                pt_ack_abandon(ob->b.groups[k]->ack);
                pt_group_release(ob->b.groups[k]);
            }
            pt_batcher_retire(s, ob);
        }
    }
    pthread_mutex_unlock(&S.lock);
}

static uint64_t source_hash(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

int pt_sched_push(pt_pipeline_t *p, pt_group_t *g)
{
    pthread_mutex_lock(&S.lock);
    if (p->queued_bytes >= p->high_watermark) {
        p->input_blocked = 1;
        pthread_mutex_unlock(&S.lock);
        return PT_AGAIN;
    }
    pt_shard_t *s = &p->shards[source_hash(g->source) % (uint64_t)p->nshards];
    g->next = NULL;
    if (s->tail != NULL) {
        s->tail->next = g;
    } else {
        s->head = g;
    }
    s->tail = g;
    s->nqueued++;
    p->queued_bytes += g->bytes;
    pt_gauge_set(p->m_queue_bytes, (int64_t)p->queued_bytes);
    pthread_cond_signal(&S.cond);
    pthread_mutex_unlock(&S.lock);
    return 0;
}

void pt_sched_kick(void)
{
    pthread_mutex_lock(&S.lock);
    S.epoch++;
    pthread_cond_broadcast(&S.cond);
    pthread_mutex_unlock(&S.lock);
}
