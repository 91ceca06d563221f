/* The spool: a flusher's disk buffer of serialized requests, so that acknowledged data survives
 * a dead destination, a crash or a pod deleted at pause.
 * Layout: DIR/seg-<n>.log segment files of framed records (magic, length, CRC32C, metadata,
 * bytes) and DIR/ledger, an append-only list of "<segment> <offset>" lines for records already
 * delivered. A segment is deleted once all its records are delivered. Replay on open is oldest
 * first; a corrupt or truncated record is skipped and counted and never stops start-up; losing
 * the ledger only means duplicates.
 * A spool is used from one thread (the sender loop); nothing here locks. */
#ifndef PT_SPOOL_H
#define PT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "str.h"

typedef struct pt_spool_s pt_spool_t;

typedef enum {
    PT_SPOOL_FSYNC_BATCH = 0, /* fsync before an append returns (before the data is acked) */
    PT_SPOOL_FSYNC_INTERVAL,  /* fsync from pt_spool_sync, called every 500 ms by the owner */
} pt_spool_fsync_t;

typedef struct pt_spool_stats_s {
    uint64_t records;         /* pending records (not yet delivered) */
    uint64_t bytes;           /* bytes of live segment files */
    uint64_t corrupt;         /* records skipped at replay (bad frame or CRC) */
    uint64_t truncated;       /* segments that ended in a partial record */
    uint64_t dropped_records; /* records thrown away by drop_oldest */
} pt_spool_stats_t;

/* A record handed out by pt_spool_next: its location, for ack/nack. */
typedef struct pt_spool_ref_s {
    uint64_t seg;
    uint64_t off;
    uint32_t idx; /* position in the spool's index, for O(1) ack */
} pt_spool_ref_t;

/* Opens (creating DIR if needed) and replays the spool. seg_bytes: segment size (0: 8 MiB).
 * Returns 0 or -errno; *out is the spool. */
int pt_spool_open(const char *dir, uint64_t cap_bytes, pt_spool_fsync_t fsync_mode,
                  uint64_t seg_bytes, pt_spool_t **out);
void pt_spool_close(pt_spool_t *sp);

/* Appends a record. meta is carried with it (e.g. route, event count). Returns 0, -ENOSPC when
 * the spool is at its cap (nothing written), or -errno on I/O errors. With FSYNC_BATCH the
 * record is on disk when this returns 0. */
int pt_spool_append(pt_spool_t *sp, const void *data, size_t len, uint32_t meta0, uint32_t meta1);
/* As pt_spool_append, but the record is handed out at once (as if by pt_spool_next) with its
 * ref in *out: the caller already holds the bytes and sends them; ack or nack it as usual. */
int pt_spool_append_out(pt_spool_t *sp, const void *data, size_t len, uint32_t meta0,
                        uint32_t meta1, pt_spool_ref_t *out);
/* Makes room under the cap by deleting the oldest segments (drop_oldest). Returns the number of
 * records dropped. */
uint64_t pt_spool_drop_oldest(pt_spool_t *sp, size_t need);

/* Takes the oldest pending record that is not already out: copies its bytes into out (replacing
 * its contents) and its metadata into meta0 and meta1. Returns 0, PT_DECLINED when nothing is
 * pending, or -errno (an unreadable record is skipped and counted as corrupt). */
int pt_spool_next(pt_spool_t *sp, pt_spool_ref_t *ref, pt_buf_t *out, uint32_t *meta0,
                  uint32_t *meta1);
/* The record was delivered: record it in the ledger; free its segment once all are. */
void pt_spool_ack(pt_spool_t *sp, const pt_spool_ref_t *ref);
/* The record was not delivered: it becomes pending again (kept in order). */
void pt_spool_nack(pt_spool_t *sp, const pt_spool_ref_t *ref);

/* fsyncs what was appended since the last sync (FSYNC_INTERVAL). */
int pt_spool_sync(pt_spool_t *sp);
/* 1 when appends would exceed the cap. */
int pt_spool_full(const pt_spool_t *sp, size_t len);
/* Pending records not handed out (may be 0 while some are out). */
uint64_t pt_spool_pending(const pt_spool_t *sp);
void pt_spool_stats(const pt_spool_t *sp, pt_spool_stats_t *st);

#endif
