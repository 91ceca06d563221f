/* libFuzzer target for OTLP/JSON requests (core/proto/otlp_json.c): the first byte picks the
 * signal (0 logs, 1 metrics, 2 traces), the rest is the body. Any bytes either fail with a path
 * and a reason, or decode into a request that packs to protobuf and decodes back, and whose
 * groups serialize to valid JSON lines. Seeds: the .json fixtures behind their signal byte. */
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
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    ProtobufCMessage *msg = NULL;
    pt_otlp_groups_t gr;
    char err[256];
    pt_buf_t out;

    PT_ASSERT(a != NULL);
    pt_buf_init(&out);
    err[0] = '\0';
    int rc = pt_otlp_decode_json(signal, a, body, len, &msg, err, sizeof(err));
    if (rc != 0) {
        PT_ASSERT(rc == -EINVAL && err[0] != '\0');
        goto done;
    }
    /* What decoded must also pack and decode again as protobuf (the JSON walker fills the same
     * structs protobuf-c reads). */
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *pb = pt_arena_alloc(a, n + 1);
    PT_ASSERT(pb != NULL);
    PT_ASSERT(protobuf_c_message_pack(msg, pb) == n);
    ProtobufCMessage *again = NULL;
    rc = pt_otlp_decode_pb(signal, a, pb, n, &again, err, sizeof(err));
    PT_ASSERT(rc == 0 || strstr(err, "nested too deep") != NULL);
    rc = pt_otlp_to_groups(signal, msg, a, 1, &gr);
    PT_ASSERT(rc == 0);
    for (uint32_t i = 0; i < gr.ngroups; i++) {
        pt_group_t *g = gr.groups[i];
        for (uint32_t e = 0; e < g->nevents; e++) {
            out.len = 0;
            PT_ASSERT(pt_event_write_json(&out, g, &g->events[e]) == 0);
            PT_ASSERT(pt_json_validate(out.data, out.len - 1, NULL) == 0);
        }
        pt_group_release(g);
    }
done:
    pt_buf_free(&out);
    pt_arena_unref(a);
    return 0;
}
