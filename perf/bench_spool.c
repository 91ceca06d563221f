/* Spool benchmark: appends zstd-compressed batches of realistic JSON lines to a spool, then
 * replays and acknowledges them, and prints MB/s for both, per fsync policy.
 * usage: bench_spool DIR [MiB of raw lines, default 256] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/codec.h"
#include "core/common.h"
#include "core/spool.h"

static double now_s(void)
{
    return (double)pt_now_mono_ns() / 1e9;
}

/* One 1 MiB batch of log-like JSON lines, deterministic. */
static void make_batch(pt_buf_t *b)
{
    uint64_t x = 42;
    int seq = 0;
    while (b->len < (1u << 20)) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        pt_buf_appendf(b,
                       "{\"seq\":%d,\"time\":\"2026-03-14T08:00:%02d.%03dZ\",\"level\":\"info\","
                       "\"subsystem\":\"agent/embedded\",\"msg\":\"embedded run tool end: "
                       "runId=%016llx tool=exec toolCallId=call_%08llx durationMs=%llu\"}\n",
                       seq++, (int)(x % 60), (int)(x % 1000), (unsigned long long)x,
                       (unsigned long long)(x >> 32), (unsigned long long)(x % 5000));
    }
}

static int run(const char *dir, pt_spool_fsync_t mode, const pt_buf_t *raw, const pt_buf_t *z,
               int nbatches)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        return 1;
    }
    pt_spool_t *sp;
    if (pt_spool_open(dir, 0, mode, 64u << 20, &sp) != 0) {
        fprintf(stderr, "cannot open spool %s\n", dir);
        return 1;
    }
    double t0 = now_s();
    for (int i = 0; i < nbatches; i++) {
        if (pt_spool_append(sp, z->data, z->len, 0, 1) != 0) {
            fprintf(stderr, "append failed\n");
            return 1;
        }
    }
    pt_spool_sync(sp);
    double t1 = now_s();
    pt_spool_close(sp);
    if (pt_spool_open(dir, 0, mode, 64u << 20, &sp) != 0) {
        return 1;
    }
    double t2 = now_s();
    pt_buf_t out;
    pt_buf_init(&out);
    pt_spool_ref_t ref;
    uint32_t m0;
    uint32_t m1;
    int n = 0;
    while (pt_spool_next(sp, &ref, &out, &m0, &m1) == 0) {
        pt_spool_ack(sp, &ref);
        n++;
    }
    double t3 = now_s();
    pt_spool_close(sp);
    pt_buf_free(&out);
    double raw_mb = (double)raw->len * nbatches / 1e6;
    double z_mb = (double)z->len * nbatches / 1e6;
    printf("| %-8s | %6d | %9.0f | %9.0f | %9.0f | %9.0f |\n",
           mode == PT_SPOOL_FSYNC_BATCH ? "batch" : "interval", n, raw_mb / (t1 - t0),
           z_mb / (t1 - t0), raw_mb / (t3 - t2), z_mb / (t3 - t2));
    return n == nbatches ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_spool DIR [MiB]\n");
        return 2;
    }
    int mib = argc > 2 ? atoi(argv[2]) : 256;
    pt_buf_t raw;
    pt_buf_init(&raw);
    make_batch(&raw);
    pt_buf_t z;
    pt_buf_init(&z);
    pt_buf_append(&z, raw.data, raw.len);
    if (pt_codec_encode(PT_CODEC_ZSTD, &z) != 0) {
        return 1;
    }
    int nb = (int)((uint64_t)mib * 1048576 / raw.len);
    printf("spool benchmark: %d batches of %zu raw bytes (zstd %zu bytes, ratio %.1f), "
           "segments of 64 MiB, one 1 MiB batch per record\n",
           nb, raw.len, z.len, (double)raw.len / (double)z.len);
    printf("| fsync    | batches | write raw MB/s | write zstd MB/s | replay raw MB/s | replay "
           "zstd MB/s |\n|----------|--------|-----------|-----------|-----------|-----------|\n");
    int rc = run(argv[1], PT_SPOOL_FSYNC_BATCH, &raw, &z, nb);
    rc |= run(argv[1], PT_SPOOL_FSYNC_INTERVAL, &raw, &z, nb);
    printf("raw MB/s = MB of uncompressed lines per second (what the pipeline feeds the spool)\n");
    pt_buf_free(&raw);
    pt_buf_free(&z);
    return rc;
}
