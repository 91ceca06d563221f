/* The sender thread: a libuv loop for flusher I/O. Workers submit serialized payloads from any
 * thread; a uv_async wakes the loop, which calls each payload's flusher send(). Control calls
 * (flusher start/stop) are run on the loop synchronously through pt_sender_call. */
#include <pthread.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "mem.h"
#include "pipeline_internal.h"
#include "pool.h"

typedef struct call_s {
    void (*fn)(void *);
    void *arg;
    int done;
    struct call_s *next;
} call_t;

static struct {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    pt_payload_t *head;
    pt_payload_t *tail;
    call_t *calls;
    int stopping;
    int started;
} T = {.lock = PTHREAD_MUTEX_INITIALIZER, .done_cond = PTHREAD_COND_INITIALIZER};

static void on_wakeup(uv_async_t *h)
{
    PT_UNUSED(h);
    for (;;) {
        pthread_mutex_lock(&T.lock);
        pt_payload_t *list = T.head;
        call_t *calls = T.calls;
        T.head = T.tail = NULL;
        T.calls = NULL;
        int stopping = T.stopping;
        pthread_mutex_unlock(&T.lock);
        if (list == NULL && calls == NULL) {
            if (stopping) {
                uv_close((uv_handle_t *)&T.async, NULL);
            }
            return;
        }
        while (list != NULL) {
            pt_payload_t *p = list;
            list = p->next;
            p->next = NULL;
            pt_plugin_inst_t *f = p->flusher;
            pt_flusher_rt_t *rt = &f->pipeline->frt[f - f->pipeline->flushers];
            if (rt->dl != NULL) {
                pt_delivery_submit(rt->dl, p);
                continue;
            }
            int rc = f->plugin->send(f, p);
            if (rc != 0 && rc != PT_DONE) {
                /* A send that fails at once never calls back: complete it here. */
                pt_payload_done(p, rc);
            }
        }
        while (calls != NULL) {
            call_t *c = calls;
            calls = c->next;
            c->fn(c->arg);
            pthread_mutex_lock(&T.lock);
            c->done = 1;
            pthread_cond_broadcast(&T.done_cond);
            pthread_mutex_unlock(&T.lock);
        }
    }
}

static void *sender_main(void *arg)
{
    PT_UNUSED(arg);
    uv_run(&T.loop, UV_RUN_DEFAULT);
    pt_arena_thread_flush();
    pt_pool_thread_flush();
    return NULL;
}

int pt_sender_start(void)
{
    int rc = uv_loop_init(&T.loop);
    if (rc != 0) {
        return rc;
    }
    rc = uv_async_init(&T.loop, &T.async, on_wakeup);
    if (rc != 0) {
        uv_loop_close(&T.loop);
        return rc;
    }
    T.stopping = 0;
    rc = pthread_create(&T.thread, NULL, sender_main, NULL);
    if (rc != 0) {
        return -rc;
    }
    T.started = 1;
    return 0;
}

void pt_sender_stop(void)
{
    if (!T.started) {
        return;
    }
    pthread_mutex_lock(&T.lock);
    T.stopping = 1;
    pthread_mutex_unlock(&T.lock);
    uv_async_send(&T.async);
    pthread_join(T.thread, NULL);
    /* Flushers close their own handles in stop(); anything left is walked closed here. */
    uv_run(&T.loop, UV_RUN_NOWAIT);
    if (uv_loop_close(&T.loop) != 0) {
        pt_log_warn("sender loop closed with handles still open");
    }
    T.started = 0;
}

void pt_sender_submit(pt_payload_t *p)
{
    p->next = NULL;
    pthread_mutex_lock(&T.lock);
    if (T.tail != NULL) {
        T.tail->next = p;
    } else {
        T.head = p;
    }
    T.tail = p;
    pthread_mutex_unlock(&T.lock);
    uv_async_send(&T.async);
}

void pt_sender_call(void (*fn)(void *), void *arg)
{
    call_t c = {fn, arg, 0, NULL};
    pthread_mutex_lock(&T.lock);
    c.next = T.calls;
    T.calls = &c;
    pthread_mutex_unlock(&T.lock);
    uv_async_send(&T.async);
    pthread_mutex_lock(&T.lock);
    while (!c.done) {
        pthread_cond_wait(&T.done_cond, &T.lock);
    }
    pthread_mutex_unlock(&T.lock);
}

uv_loop_t *pt_sender_loop(void)
{
    return &T.loop;
}
