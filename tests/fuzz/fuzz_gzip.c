/* libFuzzer target for bounded decompression (pt_otlp_decompress): the first byte picks the
 * encoding (gzip, zstd, deflate), the next two the cap, the rest is the body. The cap must hold
 * exactly: a body that decompresses within it gives the same bytes with the cap set to its own
 * length, and -EMSGSIZE one byte below; nothing ever holds more than the cap. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/common.h"
#include "core/mem.h"
#include "core/proto/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const pt_encoding_t encs[] = {PT_ENC_GZIP, PT_ENC_ZSTD, PT_ENC_DEFLATE};
    if (size < 3) {
        return 0;
    }
    pt_encoding_t enc = encs[data[0] % 3];
    size_t max = ((size_t)data[1] << 8 | data[2]) * 16 + 1;
    const uint8_t *in = data + 3;
    size_t len = size - 3;
    pt_buf_t out;
    pt_buf_t again;

    pt_buf_init(&out);
    pt_buf_init(&again);
    int rc = pt_otlp_decompress(enc, in, len, max, &out);
    PT_ASSERT(rc == 0 || rc == -EINVAL || rc == -EMSGSIZE);
    PT_ASSERT(out.cap <= max + 1 && out.len <= max);
    if (rc == 0) {
        PT_ASSERT(pt_otlp_decompress(enc, in, len, out.len, &again) == 0);
        PT_ASSERT(again.len == out.len &&
                  (out.len == 0 || memcmp(again.data, out.data, out.len) == 0));
        if (out.len > 0) {
            again.len = 0;
            PT_ASSERT(pt_otlp_decompress(enc, in, len, out.len - 1, &again) == -EMSGSIZE);
            PT_ASSERT(again.len == 0);
        }
    } else {
        PT_ASSERT(out.len == 0);
        if (rc == -EMSGSIZE) {
            /* Twice the room: it either fits now, or is still too large; never corrupt. */
            int rc2 = pt_otlp_decompress(enc, in, len, 2 * max, &again);
            PT_ASSERT(rc2 == -EMSGSIZE || (rc2 == 0 && again.len > max) || rc2 == -EINVAL);
        }
    }
    pt_buf_free(&out);
    pt_buf_free(&again);
    return 0;
}
