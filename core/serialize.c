/* Event to JSON line, in LoongCollector's layout: "__time__" (seconds), the event's fields, then
 * the group tags as "__tag__:<key>". All values are strings, as in a LoongCollector LogEvent. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "plugin.h"
#include "proto/otlp.h"

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

/* ---- OTLP details ---------------------------------------------------------------------------
 * Events decoded from OTLP carry typed attributes (hints) and the rest of their data model in
 * ext. Values that are not strings are written as JSON values; span details use LoongCollector's
 * span JSON names (traceId, startTimeNs, attributes, events, links, status), log and metric
 * details "__name__"-style keys that cannot clash with an attribute. */

static void write_typed(pt_jw_t *w, uint8_t type, pt_str_t val)
{
    switch (type) {
    case PT_VAL_BOOL:
    case PT_VAL_INT:
    case PT_VAL_ARRAY:
    case PT_VAL_KVLIST:
        pt_jw_raw(w, val.ptr, val.len);
        break;
    case PT_VAL_DOUBLE:
        /* NaN and the infinities have no JSON number form. */
        if ((val.len > 0 && (val.ptr[0] == 'N' || val.ptr[0] == 'I')) ||
            (val.len > 1 && val.ptr[1] == 'I')) {
            pt_jw_str(w, val.ptr, val.len);
        } else {
            pt_jw_raw(w, val.ptr, val.len);
        }
        break;
    case PT_VAL_EMPTY:
        pt_jw_null(w);
        break;
    default:
        pt_jw_str(w, val.ptr, val.len);
        break;
    }
}

static void write_fields_typed(pt_jw_t *w, const pt_event_t *ev, const pt_attr_t *hints,
                               uint32_t nhints)
{
    uint32_t cursor = 0;
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const pt_field_t *f = &ev->fields[i];
        pt_jw_key(w, f->key.ptr, f->key.len);
        write_typed(w, pt_field_type(hints, nhints, &cursor, f), f->val);
    }
}

static void write_attrs(pt_jw_t *w, const char *key, const pt_attr_t *a, uint32_t n)
{
    pt_jw_key(w, key, strlen(key));
    pt_jw_obj_open(w);
    for (uint32_t i = 0; i < n; i++) {
        pt_jw_key(w, a[i].key.ptr, a[i].key.len);
        write_typed(w, a[i].type, a[i].val);
    }
    pt_jw_obj_close(w);
}

static void write_hex(pt_jw_t *w, const char *key, const uint8_t *id, size_t n)
{
    char hex[32];
    pt_otlp_hex(id, n, hex);
    pt_jw_key(w, key, strlen(key));
    pt_jw_str(w, hex, 2 * n);
}

static void write_u64(pt_jw_t *w, const char *key, uint64_t v)
{
    pt_jw_key(w, key, strlen(key));
    pt_jw_uint(w, v);
}

static void write_nonempty(pt_jw_t *w, const char *key, pt_str_t s)
{
    if (s.len > 0) {
        pt_jw_key(w, key, strlen(key));
        pt_jw_str(w, s.ptr, s.len);
    }
}

/* A double that reads back as a double: pt_jw_double's shortest form, plus ".0" when that
 * looks like an integer (6012 -> 6012.0), so that readers can tell asDouble from asInt. */
static void write_dbl(pt_jw_t *w, double v)
{
    size_t before = w->buf->len;
    pt_jw_double(w, v);
    if (w->err != 0) {
        return;
    }
    const char *p = w->buf->data + before;
    size_t n = w->buf->len - before;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.' || p[i] == 'e' || p[i] == 'E' || p[i] == 'n') {
            return;
        }
    }
    w->err = pt_buf_append(w->buf, ".0", 2);
}

static void write_span(pt_jw_t *w, const pt_span_ext_t *s, const pt_event_t *ev)
{
    write_hex(w, "traceId", s->trace_id, 16);
    write_hex(w, "spanId", s->span_id, 8);
    if (s->has_parent) {
        write_hex(w, "parentSpanId", s->parent_span_id, 8);
    }
    write_nonempty(w, "traceState", s->trace_state);
    if (s->flags != 0) {
        write_u64(w, "flags", s->flags);
    }
    pt_jw_key(w, "name", 4);
    pt_jw_str(w, s->name.ptr, s->name.len);
    write_u64(w, "kind", s->kind);
    write_u64(w, "startTimeNs", s->start_ns);
    write_u64(w, "endTimeNs", s->end_ns);
    pt_jw_key(w, "attributes", 10);
    pt_jw_obj_open(w);
    write_fields_typed(w, ev, s->hints, s->nhints);
    pt_jw_obj_close(w);
    if (s->dropped_attributes_count != 0) {
        write_u64(w, "droppedAttributesCount", s->dropped_attributes_count);
    }
    if (s->nevents > 0) {
        pt_jw_key(w, "events", 6);
        pt_jw_arr_open(w);
        for (uint32_t i = 0; i < s->nevents; i++) {
            const pt_span_event_t *e = &s->events[i];
            pt_jw_obj_open(w);
            write_u64(w, "timeNs", e->time_ns);
            pt_jw_key(w, "name", 4);
            pt_jw_str(w, e->name.ptr, e->name.len);
            write_attrs(w, "attributes", e->attrs, e->nattrs);
            if (e->dropped_attributes_count != 0) {
                write_u64(w, "droppedAttributesCount", e->dropped_attributes_count);
            }
            pt_jw_obj_close(w);
        }
        pt_jw_arr_close(w);
    }
    if (s->dropped_events_count != 0) {
        write_u64(w, "droppedEventsCount", s->dropped_events_count);
    }
    if (s->nlinks > 0) {
        pt_jw_key(w, "links", 5);
        pt_jw_arr_open(w);
        for (uint32_t i = 0; i < s->nlinks; i++) {
            const pt_span_link_t *l = &s->links[i];
            pt_jw_obj_open(w);
            write_hex(w, "traceId", l->trace_id, 16);
            write_hex(w, "spanId", l->span_id, 8);
            write_nonempty(w, "traceState", l->trace_state);
            if (l->flags != 0) {
                write_u64(w, "flags", l->flags);
            }
            write_attrs(w, "attributes", l->attrs, l->nattrs);
            if (l->dropped_attributes_count != 0) {
                write_u64(w, "droppedAttributesCount", l->dropped_attributes_count);
            }
            pt_jw_obj_close(w);
        }
        pt_jw_arr_close(w);
    }
    if (s->dropped_links_count != 0) {
        write_u64(w, "droppedLinksCount", s->dropped_links_count);
    }
    write_u64(w, "status", s->status_code);
    write_nonempty(w, "statusMessage", s->status_message);
}

static void write_log_details(pt_jw_t *w, const pt_log_ext_t *l)
{
    if (l->time_ns != 0) {
        write_u64(w, "__time_unix_nano__", l->time_ns);
    }
    if (l->observed_ns != 0) {
        write_u64(w, "__observed_time_unix_nano__", l->observed_ns);
    }
    if (l->severity_number != 0) {
        write_u64(w, "__severity_number__", l->severity_number);
    }
    write_nonempty(w, "__severity_text__", l->severity_text);
    write_nonempty(w, "__event_name__", l->event_name);
    if (l->has_trace) {
        write_hex(w, "__trace_id__", l->trace_id, 16);
    }
    if (l->has_span) {
        write_hex(w, "__span_id__", l->span_id, 8);
    }
    if (l->flags != 0) {
        write_u64(w, "__flags__", l->flags);
    }
    if (l->dropped_attributes_count != 0) {
        write_u64(w, "__dropped_attributes_count__", l->dropped_attributes_count);
    }
}

static void write_doubles(pt_jw_t *w, const char *key, const double *v, uint32_t n)
{
    pt_jw_key(w, key, strlen(key));
    pt_jw_arr_open(w);
    for (uint32_t i = 0; i < n; i++) {
        write_dbl(w, v[i]);
    }
    pt_jw_arr_close(w);
}

static void write_u64s(pt_jw_t *w, const char *key, const uint64_t *v, uint32_t n)
{
    pt_jw_key(w, key, strlen(key));
    pt_jw_arr_open(w);
    for (uint32_t i = 0; i < n; i++) {
        pt_jw_uint(w, v[i]);
    }
    pt_jw_arr_close(w);
}

static void write_buckets(pt_jw_t *w, const char *key, int32_t offset, const uint64_t *v,
                          uint32_t n)
{
    pt_jw_key(w, key, strlen(key));
    pt_jw_obj_open(w);
    pt_jw_key(w, "offset", 6);
    pt_jw_int(w, offset);
    write_u64s(w, "bucket_counts", v, n);
    pt_jw_obj_close(w);
}

static void write_metric_details(pt_jw_t *w, const pt_metric_ext_t *m)
{
    static const char *const types[] = {"gauge", "sum", "histogram", "exponential_histogram",
                                        "summary"};
    pt_jw_key(w, "__type__", 8);
    pt_jw_str(w, m->mtype < 5 ? types[m->mtype] : "unknown",
              strlen(m->mtype < 5 ? types[m->mtype] : "unknown"));
    write_nonempty(w, "__unit__", m->unit);
    write_nonempty(w, "__description__", m->description);
    write_u64(w, "__time_unix_nano__", m->time_ns);
    if (m->start_ns != 0) {
        write_u64(w, "__start_time_unix_nano__", m->start_ns);
    }
    if (m->temporality != 0) {
        pt_jw_key(w, "__temporality__", 15);
        pt_jw_str(w, m->temporality == 1 ? "delta" : "cumulative", m->temporality == 1 ? 5 : 10);
    }
    if (m->mtype == PT_METRIC_SUM) {
        pt_jw_key(w, "__monotonic__", 13);
        pt_jw_bool(w, m->is_monotonic);
    }
    if (m->flags != 0) {
        write_u64(w, "__flags__", m->flags);
    }
    if (m->mtype >= PT_METRIC_HISTOGRAM) {
        write_u64(w, "__count__", m->count);
        if (m->has & PT_METRIC_HAS_SUM) {
            pt_jw_key(w, "__sum__", 7);
            write_dbl(w, m->sum);
        }
        if (m->has & PT_METRIC_HAS_MIN) {
            pt_jw_key(w, "__min__", 7);
            write_dbl(w, m->min);
        }
        if (m->has & PT_METRIC_HAS_MAX) {
            pt_jw_key(w, "__max__", 7);
            write_dbl(w, m->max);
        }
    }
    if (m->mtype == PT_METRIC_HISTOGRAM) {
        write_u64s(w, "__bucket_counts__", m->bucket_counts, m->nbucket_counts);
        write_doubles(w, "__explicit_bounds__", m->bounds, m->nbounds);
    } else if (m->mtype == PT_METRIC_EXP_HISTOGRAM) {
        pt_jw_key(w, "__scale__", 9);
        pt_jw_int(w, m->scale);
        write_u64(w, "__zero_count__", m->zero_count);
        if (m->zero_threshold != 0) {
            pt_jw_key(w, "__zero_threshold__", 18);
            write_dbl(w, m->zero_threshold);
        }
        write_buckets(w, "__positive__", m->pos_offset, m->pos_counts, m->npos);
        write_buckets(w, "__negative__", m->neg_offset, m->neg_counts, m->nneg);
    } else if (m->mtype == PT_METRIC_SUMMARY) {
        pt_jw_key(w, "__quantiles__", 13);
        pt_jw_arr_open(w);
        for (uint32_t i = 0; i < m->nquantiles; i++) {
            pt_jw_obj_open(w);
            pt_jw_key(w, "quantile", 8);
            write_dbl(w, m->quantiles[i].quantile);
            pt_jw_key(w, "value", 5);
            write_dbl(w, m->quantiles[i].value);
            pt_jw_obj_close(w);
        }
        pt_jw_arr_close(w);
    }
    if (m->nexemplars > 0) {
        pt_jw_key(w, "__exemplars__", 13);
        pt_jw_arr_open(w);
        for (uint32_t i = 0; i < m->nexemplars; i++) {
            const pt_exemplar_t *e = &m->exemplars[i];
            pt_jw_obj_open(w);
            write_u64(w, "timeNs", e->time_ns);
            pt_jw_key(w, "value", 5);
            if (e->is_int) {
                pt_jw_int(w, e->int_value);
            } else {
                write_dbl(w, e->value);
            }
            if (e->has_trace) {
                write_hex(w, "traceId", e->trace_id, 16);
                write_hex(w, "spanId", e->span_id, 8);
            }
            write_attrs(w, "attributes", e->attrs, e->nattrs);
            pt_jw_obj_close(w);
        }
        pt_jw_arr_close(w);
    }
    if (m->nmetadata > 0) {
        write_attrs(w, "__metadata__", m->metadata, m->nmetadata);
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
        const pt_attr_t *hints = NULL;
        uint32_t nhints = 0;
        if (ev->type == PT_EVENT_METRIC && ev->ext != NULL) {
            const pt_metric_ext_t *m = ev->ext;
            pt_jw_key(&w, "__name__", 8);
            pt_jw_str(&w, m->name.ptr, m->name.len);
            pt_jw_key(&w, "__value__", 9);
            if (m->is_int) {
                pt_jw_int(&w, m->int_value);
            } else if (m->detailed) {
                write_dbl(&w, m->value);
            } else {
                pt_jw_double(&w, m->value);
            }
            hints = m->hints;
            nhints = m->nhints;
        } else if (ev->type == PT_EVENT_SPAN && ev->ext != NULL) {
            const pt_span_ext_t *s = ev->ext;
            if (s->detailed) {
                write_span(&w, s, ev);
                goto tail;
            }
            pt_jw_key(&w, "name", 4);
            pt_jw_str(&w, s->name.ptr, s->name.len);
        } else if (ev->type == PT_EVENT_LOG && ev->ext != NULL) {
            hints = ((const pt_log_ext_t *)ev->ext)->hints;
            nhints = ((const pt_log_ext_t *)ev->ext)->nhints;
        }
        if (nhints > 0) {
            write_fields_typed(&w, ev, hints, nhints);
        } else {
            for (uint32_t i = 0; i < ev->nfields; i++) {
                pt_jw_key(&w, ev->fields[i].key.ptr, ev->fields[i].key.len);
                pt_jw_str(&w, ev->fields[i].val.ptr, ev->fields[i].val.len);
            }
        }
        if (ev->type == PT_EVENT_LOG && ev->ext != NULL) {
            write_log_details(&w, ev->ext);
        } else if (ev->type == PT_EVENT_METRIC && ev->ext != NULL &&
                   ((const pt_metric_ext_t *)ev->ext)->detailed) {
            write_metric_details(&w, ev->ext);
        }
    }
tail:
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
