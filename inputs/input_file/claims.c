/* Process-wide bookkeeping shared by every input_file instance: which pipeline collects a file
 * when several match it (LoongCollector's rule: unless AllowingIncludedByMultiConfigs, a file
 * belongs to the best-matching config only, the one with the deepest path pattern, then the
 * oldest), and a budget of open files so that many pipelines together stay under the process
 * descriptor limit. Instances register at start and leave at stop; a mutex guards the registry
 * because pipelines are built and torn down on other threads than the input loop. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

typedef struct claimant_s {
    const pt_if_state_t *s;
    char *pipeline;
    uint64_t seq;
} claimant_t;

/* Pipelines keep their registration order across hot reloads (the tie-break of the best-match
 * rule), so a reloaded pipeline does not lose the files it had to a younger one. */
typedef struct seqname_s {
    char *pipeline;
    uint64_t seq;
} seqname_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static claimant_t *claimants;
static size_t nclaimants;
static size_t capclaimants;
static seqname_t *seqs;
static size_t nseqs;
static size_t capseqs;
static uint64_t next_seq = 1;

static uint64_t seq_for(const char *pipeline)
{
    for (size_t i = 0; i < nseqs; i++) {
        if (strcmp(seqs[i].pipeline, pipeline) == 0) {
            return seqs[i].seq;
        }
    }
    uint64_t seq = next_seq++;
    if (nseqs == capseqs) {
        size_t ncap = capseqs ? capseqs * 2 : 16;
        seqname_t *nv = pt_realloc(seqs, sizeof(*nv) * ncap);
        if (nv == NULL) {
            return seq; /* only the tie-break order suffers */
        }
        seqs = nv;
        capseqs = ncap;
    }
    seqs[nseqs].pipeline = pt_strdup(pipeline);
    if (seqs[nseqs].pipeline != NULL) {
        seqs[nseqs].seq = seq;
        nseqs++;
    }
    return seq;
}

int pt_if_claims_register(pt_if_state_t *s)
{
    const char *name = pt_pipeline_name(s->inst->pipeline);
    char *copy = pt_strdup(name);
    if (copy == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_lock(&lock);
    int rc = 0;
    if (nclaimants == capclaimants) {
        size_t ncap = capclaimants ? capclaimants * 2 : 8;
        claimant_t *nv = pt_realloc(claimants, sizeof(*nv) * ncap);
        if (nv == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        claimants = nv;
        capclaimants = ncap;
    }
    claimants[nclaimants].s = s;
    claimants[nclaimants].pipeline = copy;
    claimants[nclaimants].seq = seq_for(name);
    nclaimants++;
    copy = NULL;
    s->registered = 1;
out:
    pthread_mutex_unlock(&lock);
    pt_free(copy);
    return rc;
}

void pt_if_claims_unregister(pt_if_state_t *s)
{
    if (!s->registered) {
        return;
    }
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nclaimants; i++) {
        if (claimants[i].s == s) {
            pt_free(claimants[i].pipeline);
            claimants[i] = claimants[--nclaimants];
            break;
        }
    }
    if (nclaimants == 0) {
        pt_free(claimants);
        claimants = NULL;
        capclaimants = 0;
    }
    pthread_mutex_unlock(&lock);
    s->registered = 0;
}

/* The rank of s for path: the depth of its deepest pattern that matches, or -1. */
static int rank_of(const pt_if_state_t *s, const char *path)
{
    int best = -1;
    for (int i = 0; i < s->npats; i++) {
        if (s->pats[i].rank > best && pt_if_pattern_match(&s->pats[i], path)) {
            best = s->pats[i].rank;
        }
    }
    return best;
}

int pt_if_claims_mine(const pt_if_state_t *s, const char *path)
{
    if (s->c->allow_multi_configs) {
        return 1;
    }
    pthread_mutex_lock(&lock);
    int mine = 1;
    const claimant_t *me = NULL;
    for (size_t i = 0; i < nclaimants; i++) {
        if (claimants[i].s == s) {
            me = &claimants[i];
        }
    }
    if (me != NULL) {
        int my_rank = rank_of(s, path);
        for (size_t i = 0; i < nclaimants && mine; i++) {
            const claimant_t *o = &claimants[i];
            /* Instances that allow sharing do not compete; versions of the same pipeline
             * (a hot reload in progress) are one owner. */
            if (o->s == s || o->s->c->allow_multi_configs ||
                strcmp(o->pipeline, me->pipeline) == 0 || o->s->stopped || o->s->idle_reason_set) {
                continue;
            }
            int r = rank_of(o->s, path);
            if (r > my_rank || (r == my_rank && r >= 0 && o->seq < me->seq)) {
                mine = 0;
            }
        }
    }
    pthread_mutex_unlock(&lock);
    return mine;
}

/* ======================================================================= open-file budget === */

static _Atomic int64_t fd_used;
static _Atomic int64_t fd_limit; /* 0: not computed yet */

int64_t pt_if_fd_budget(void)
{
    int64_t lim = atomic_load(&fd_limit);
    if (lim == 0) {
        /* Leave room for everything else the process opens (sockets, spools, configs): a
         * quarter of the soft limit, at least 128 descriptors. */
        struct rlimit rl;
        int64_t soft = 1024;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
            soft = (int64_t)rl.rlim_cur;
        } else if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            soft = 65536;
        }
        lim = soft - PT_MAX(soft / 4, 128);
        if (lim < 16) {
            lim = 16;
        }
        atomic_store(&fd_limit, lim);
    }
    return lim;
}

int pt_if_fd_acquire(void)
{
    int64_t lim = pt_if_fd_budget();
    int64_t cur = atomic_load(&fd_used);
    while (cur < lim) {
        if (atomic_compare_exchange_weak(&fd_used, &cur, cur + 1)) {
            return 0;
        }
    }
    return -EMFILE;
}

void pt_if_fd_force(void)
{
    atomic_fetch_add(&fd_used, 1);
}

void pt_if_fd_release(void)
{
    atomic_fetch_sub(&fd_used, 1);
}
