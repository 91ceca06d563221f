/* libFuzzer target for OTLP protobuf requests (core/proto): the first byte picks the signal
 * (0 logs, 1 metrics, 2 traces), the rest is the body. Whatever the bytes, decoding must either
 * fail with a reason or give a request whose groups serialize to valid JSON lines, and that the
 * exporter encodes into a request decoding to the very same lines; nothing may crash, leak or
 * read past the arena. Seeds: the SDK's .pb bodies behind their signal byte. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/common.h"
#include "core/json.h"
#include "core/plugin.h"
#include "core/proto/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    int signal = 1 + data[0] % 3;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    ProtobufCMessage *msg = NULL;
    pt_otlp_groups_t gr;
    char err[256];
    pt_buf_t out;

    PT_ASSERT(a != NULL);
    pt_buf_init(&out);
    /* gRPC frames in the seeds carry a 5-byte prefix: skip it when it is there. */
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    if (len >= 5 && body[0] == 0 &&
        ((size_t)body[1] << 24 | (size_t)body[2] << 16 | (size_t)body[3] << 8 | body[4]) ==
            len - 5) {
        body += 5;
        len -= 5;
    }
    err[0] = '\0';
    int rc = pt_otlp_decode_pb(signal, a, body, len, &msg, err, sizeof(err));
    if (rc != 0) {
        PT_ASSERT(rc == -EINVAL && err[0] != '\0');
        goto done;
    }
    rc = pt_otlp_to_groups(signal, msg, a, 1, &gr);
    PT_ASSERT(rc == 0);
    PT_ASSERT(gr.rejected == 0 || gr.reason[0] != '\0');
    for (uint32_t i = 0; i < gr.ngroups; i++) {
        pt_group_t *g = gr.groups[i];
        PT_ASSERT(g->nevents > 0);
        for (uint32_t e = 0; e < g->nevents; e++) {
            size_t start = out.len;
            PT_ASSERT(pt_event_write_json(&out, g, &g->events[e]) == 0);
            PT_ASSERT(out.len > start + 1 && out.data[out.len - 1] == '\n');
            PT_ASSERT(pt_json_validate(out.data + start, out.len - start - 1, NULL) == 0);
        }
    }
    /* The exporter's round trip: encoding the groups and decoding that again gives the same
     * events, JSON line for JSON line. */
    {
        pt_buf_t pb;
        pt_buf_t again;
        pt_buf_t *outs[4] = {NULL, NULL, NULL, NULL};
        uint32_t counts[4];
        ProtobufCMessage *m2 = NULL;
        pt_otlp_groups_t gr2;
        pt_arena_t *a2 = pt_arena_create(PT_ARENA_SMALL);
        PT_ASSERT(a2 != NULL);
        pt_buf_init(&pb);
        pt_buf_init(&again);
        outs[signal] = &pb;
        PT_ASSERT(pt_otlp_encode_groups(gr.groups, gr.ngroups, outs, counts) == 0);
        PT_ASSERT(counts[signal] == gr.records);
        PT_ASSERT(pt_otlp_decode_pb(signal, a2, pb.data, pb.len, &m2, err, sizeof(err)) == 0);
        PT_ASSERT(pt_otlp_to_groups(signal, m2, a2, 1, &gr2) == 0);
        PT_ASSERT(gr2.records == gr.records && gr2.rejected == 0);
        for (uint32_t i = 0; i < gr2.ngroups; i++) {
            for (uint32_t e = 0; e < gr2.groups[i]->nevents; e++) {
                PT_ASSERT(pt_event_write_json(&again, gr2.groups[i], &gr2.groups[i]->events[e]) ==
                          0);
            }
            pt_group_release(gr2.groups[i]);
        }
        PT_ASSERT(again.len == out.len &&
                  (out.len == 0 || memcmp(again.data, out.data, out.len) == 0));
        pt_buf_free(&pb);
        pt_buf_free(&again);
        pt_arena_unref(a2);
    }
    for (uint32_t i = 0; i < gr.ngroups; i++) {
        pt_group_release(gr.groups[i]);
    }
done:
    pt_buf_free(&out);
    pt_arena_unref(a);
    return 0;
}
