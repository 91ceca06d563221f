/* libFuzzer target for OTLP protobuf requests (core/proto): the first byte picks the signal
 * (0 logs, 1 metrics, 2 traces), the rest is the body. Whatever the bytes, decoding must either
 * fail with a reason or give a request whose groups serialize to valid JSON lines; nothing may
 * crash, leak or read past the arena. Seeds: the SDK's .pb bodies behind their signal byte. */
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
            out.len = 0;
            PT_ASSERT(pt_event_write_json(&out, g, &g->events[e]) == 0);
            PT_ASSERT(out.len > 1 && out.data[out.len - 1] == '\n');
            PT_ASSERT(pt_json_validate(out.data, out.len - 1, NULL) == 0);
        }
        pt_group_release(g);
    }
done:
    pt_buf_free(&out);
    pt_arena_unref(a);
    return 0;
}
