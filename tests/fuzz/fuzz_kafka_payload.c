/* libFuzzer target for flusher_kafka's payload framing (flushers/flusher_kafka/format.c): the
 * bytes a spool replays after a crash or a corruption. The reader must never read out of bounds,
 * every frame it accepts must re-encode to the same bytes, marking a frame delivered must keep
 * the payload valid, and the Topic template compiler must take any text without harm.
 * Run: fuzz_kafka_payload corpus/ (a scratch dir; seeds are made by the first runs). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/mem.h"
#include "core/str.h"
#include "flushers/flusher_kafka/flusher_kafka_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 4096

typedef struct {
    uint8_t flags;
    pt_str_t topic;
    pt_str_t key;
    pt_str_t value;
    uint32_t off;
} seen_t;

static seen_t frames[MAX_FRAMES];

/* Parses a whole payload; returns the frame count, or -1 when it is refused. */
static int parse(const char *p, size_t n, seen_t *out)
{
    if (pt_kafka_payload_check(p, n) != 0) {
        return -1;
    }
    size_t pos = PT_KAFKA_MAGIC_LEN;
    pt_kafka_frame_t f;
    pt_kafka_frame_t prev;
    const pt_kafka_frame_t *pp = NULL;
    int count = 0;
    int r;
    while ((r = pt_kafka_frame_next(p, n, &pos, pp, &f)) == 1) {
        PT_ASSERT(pos <= n);
        PT_ASSERT(f.off < n);
        PT_ASSERT(f.topic.len == 0 || (f.topic.ptr >= p && f.topic.ptr + f.topic.len <= p + n));
        PT_ASSERT(f.key.ptr == NULL || (f.key.ptr >= p && f.key.ptr + f.key.len <= p + n));
        PT_ASSERT(f.value.len == 0 || (f.value.ptr >= p && f.value.ptr + f.value.len <= p + n));
        PT_ASSERT(f.topic.len > 0);
        if (out != NULL && count < MAX_FRAMES) {
            out[count] = (seen_t){f.flags, f.topic, f.key, f.value, f.off};
        }
        count++;
        prev = f;
        pp = &prev;
    }
    return r < 0 ? -1 : count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;

    /* 1. The input as a payload, and as a payload body after the magic. */
    char *buf = malloc(size + PT_KAFKA_MAGIC_LEN + 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, PT_KAFKA_MAGIC, PT_KAFKA_MAGIC_LEN);
    memcpy(buf + PT_KAFKA_MAGIC_LEN, in, size);
    parse(in, size, NULL);
    size_t n = size + PT_KAFKA_MAGIC_LEN;
    int count = parse(buf, n, frames);

    if (count > 0 && count <= MAX_FRAMES) {
        /* 2. Accepted frames re-encode to the very same bytes. */
        pt_buf_t re;
        pt_buf_init(&re);
        pt_buf_append(&re, PT_KAFKA_MAGIC, PT_KAFKA_MAGIC_LEN);
        for (int i = 0; i < count; i++) {
            const seen_t *s = &frames[i];
            PT_ASSERT(pt_kafka_frame_append(&re, s->flags, s->topic, s->key, s->value) == 0);
        }
        PT_ASSERT(re.len == n && memcmp(re.data, buf, n) == 0);
        pt_buf_free(&re);

        /* 3. Marking every frame delivered keeps the payload valid, the frames the same. */
        for (int i = 0; i < count; i++) {
            pt_kafka_frame_mark(buf, frames[i].off, PT_KAFKA_F_DELIVERED);
        }
        static seen_t after[MAX_FRAMES];
        PT_ASSERT(parse(buf, n, after) == count);
        for (int i = 0; i < count; i++) {
            PT_ASSERT(after[i].flags == (frames[i].flags | PT_KAFKA_F_DELIVERED));
            PT_ASSERT(pt_str_eq(after[i].topic, frames[i].topic));
            PT_ASSERT(pt_str_eq(after[i].value, frames[i].value));
        }
    }
    free(buf);

    /* 4. The input as a Topic template. */
    if (size < 1024) {
        char *src = malloc(size + 1);
        if (src != NULL) {
            memcpy(src, in, size);
            src[size] = '\0';
            pt_kafka_tmpl_t t;
            char err[300];
            if (pt_kafka_tmpl_compile(&t, src, err, sizeof(err)) == 0) {
                PT_ASSERT(t.nparts > 0);
                if (t.is_static) {
                    PT_ASSERT(pt_kafka_topic_valid(t.parts[0].text, t.parts[0].len));
                }
                pt_kafka_tmpl_free(&t);
            } else {
                PT_ASSERT(err[0] != '\0');
            }
            free(src);
        }
    }
    return 0;
}
