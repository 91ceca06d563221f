/* Ack tokens: how an input learns that every flusher has taken its data.
 * An input creates a token per group (one reference). The pipeline adds one reference per
 * payload that carries the group and drops the input's reference once the group is batched.
 * When the count reaches zero the token is queued to its acker, and the callback runs on the
 * acker's loop (the input's own thread), so inputs never see acks from another thread. */
#ifndef PT_ACK_H
#define PT_ACK_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

typedef struct pt_ack_s pt_ack_t;
typedef struct pt_acker_s pt_acker_t;

/* Runs on the acker's loop. status is 0 when every flusher delivered or durably took the data,
 * negative when at least one dropped it (counted elsewhere). The token is freed after return. */
typedef void (*pt_ack_cb)(pt_ack_t *ack, int status);

struct pt_ack_s {
    atomic_int refs;
    atomic_int status;
    pt_ack_cb cb;
    pt_acker_t *acker;
    void *owner;    /* the input's state */
    void *target;   /* e.g. the file the data came from */
    uint64_t value; /* e.g. the end offset */
    void *pipeline; /* set by the pipeline at push, for drain accounting */
    pt_ack_t *next;
};

/* An acker lives on one loop. Create and destroy on that loop's thread. */
int pt_acker_create(uv_loop_t *loop, pt_acker_t **out);
/* Closes the async handle; tokens still pending are completed first. */
void pt_acker_destroy(pt_acker_t *acker);

/* Creates a token with one reference. Loop thread of the acker. NULL on ENOMEM. */
pt_ack_t *pt_ack_create(pt_acker_t *acker, pt_ack_cb cb, void *owner, void *target,
                        uint64_t value);
/* Adds n references. Any thread. */
void pt_ack_hold(pt_ack_t *ack, int n);
/* Drops one reference with a status (0 ok, negative: dropped). Any thread. At zero the token is
 * handed to its acker's loop. */
void pt_ack_release(pt_ack_t *ack, int status);

/* Frees a token that only its creator still references, without calling back (a group thrown
 * away at forced shutdown: the input will read the data again after restart). NULL is a no-op. */
void pt_ack_abandon(pt_ack_t *ack);

#endif
