/* Event to JSON line, in LoongCollector's layout: "__time__" (seconds), the event's fields, then
 * the group tags as "__tag__:<key>". All values are strings, as in a LoongCollector LogEvent. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "plugin.h"

static void write_tags(pt_jw_t *w, const pt_group_t *g)
{
    char key[256];
    for (uint32_t i = 0; i < g->ntags; i++) {
        const pt_field_t *t = &g->tags[i];
        size_t klen = t->key.len;
        if (klen > sizeof(key) - 8) {
            klen = sizeof(key) - 8;
        }
        memcpy(key, "__tag__:", 8);
        memcpy(key + 8, t->key.ptr, klen);
        pt_jw_key(w, key, klen + 8);
        pt_jw_str(w, t->val.ptr, t->val.len);
    }
}

int pt_event_write_json(pt_buf_t *b, const pt_group_t *g, const pt_event_t *ev)
{
    pt_jw_t w;
    pt_jw_init(&w, b);
    pt_jw_obj_open(&w);
    pt_jw_key(&w, "__time__", 8);
    pt_jw_int(&w, ev->time_ns / 1000000000);
    if (ev->type == PT_EVENT_RAW) {
        pt_jw_key(&w, "content", 7);
        pt_jw_str(&w, ev->raw.ptr, ev->raw.len);
    } else {
        if (ev->type == PT_EVENT_METRIC && ev->ext != NULL) {
            const pt_metric_ext_t *m = ev->ext;
            pt_jw_key(&w, "__name__", 8);
            pt_jw_str(&w, m->name.ptr, m->name.len);
            pt_jw_key(&w, "__value__", 9);
            pt_jw_double(&w, m->value);
        } else if (ev->type == PT_EVENT_SPAN && ev->ext != NULL) {
            const pt_span_ext_t *s = ev->ext;
            pt_jw_key(&w, "name", 4);
            pt_jw_str(&w, s->name.ptr, s->name.len);
        }
        for (uint32_t i = 0; i < ev->nfields; i++) {
            pt_jw_key(&w, ev->fields[i].key.ptr, ev->fields[i].key.len);
            pt_jw_str(&w, ev->fields[i].val.ptr, ev->fields[i].val.len);
        }
    }
    if (ev->flags & PT_EVENT_F_TRUNCATED) {
        pt_jw_key(&w, "__truncated__", 13);
        pt_jw_str(&w, "true", 4);
    }
    write_tags(&w, g);
    pt_jw_obj_close(&w);
    if (w.err == 0) {
        w.err = pt_buf_putc(b, '\n');
    }
    return w.err;
}

int pt_batch_write_jsonl(pt_buf_t *b, const pt_batch_t *batch, int with_tags)
{
    for (uint32_t gi = 0; gi < batch->ngroups; gi++) {
        const pt_group_t *g = batch->groups[gi];
        pt_group_t notags;
        if (!with_tags) {
            notags = *g;
            notags.ntags = 0;
            g = &notags;
        }
        for (uint32_t i = 0; i < g->nevents; i++) {
            const pt_event_t *ev = &g->events[i];
            if (ev->flags & PT_EVENT_F_DROPPED) {
                continue;
            }
            int rc = pt_event_write_json(b, g, ev);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

int pt_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
