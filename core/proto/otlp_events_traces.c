/* Traces to events: one SPAN event per valid span, its attributes as fields and every other
 * field of the span (ids, times, status, events, links) in its pt_span_ext_t. */
#include <errno.h>
#include <string.h>

#include "core/common.h"
#include "otlp_events_internal.h"

static int span_event(conv_t *cv, pt_group_t *g, const pb_span_t *sp)
{
    pt_span_ext_t *x;
    pt_event_t *ev;
    pt_attr_t *hints;
    int rc;

    ev = pt_group_add_event(g, PT_EVENT_SPAN);
    x = pt_arena_alloc(cv->a, sizeof(*x));
    if (ev == NULL || x == NULL) {
        return -ENOMEM;
    }
    memset(x, 0, sizeof(*x));
    ev->ext = x;
    memcpy(x->trace_id, sp->trace_id.data, 16);
    memcpy(x->span_id, sp->span_id.data, 8);
    if (sp->parent_span_id.len == 8) {
        memcpy(x->parent_span_id, sp->parent_span_id.data, 8);
        x->has_parent = 1;
    }
    x->detailed = 1;
    x->name = cstr(sp->name);
    x->kind = (uint8_t)sp->kind;
    x->start_ns = sp->start_time_unix_nano;
    x->end_ns = sp->end_time_unix_nano;
    x->flags = sp->flags;
    x->trace_state = cstr(sp->trace_state);
    x->dropped_attributes_count = sp->dropped_attributes_count;
    x->dropped_events_count = sp->dropped_events_count;
    x->dropped_links_count = sp->dropped_links_count;
    if (sp->status != NULL) {
        x->status_code = (uint8_t)sp->status->code;
        x->status_message = cstr(sp->status->message);
    }
    ev->time_ns = sp->start_time_unix_nano ? (int64_t)sp->start_time_unix_nano : cv->now_ns;
    if (sp->n_events > 0) {
        x->events = pt_arena_alloc(cv->a, sp->n_events * sizeof(*x->events));
        if (x->events == NULL) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < sp->n_events; i++) {
            const pb_span_event_t *e = sp->events[i];
            pt_span_event_t *o = &x->events[i];
            o->time_ns = e->time_unix_nano;
            o->name = cstr(e->name);
            o->dropped_attributes_count = e->dropped_attributes_count;
            if ((rc = pt_otlp_conv_typed_attrs(cv, e->attributes, e->n_attributes, &o->attrs,
                                               &o->nattrs))) {
                return rc;
            }
        }
        x->nevents = (uint32_t)sp->n_events;
    }
    if (sp->n_links > 0) {
        x->links = pt_arena_alloc(cv->a, sp->n_links * sizeof(*x->links));
        if (x->links == NULL) {
            return -ENOMEM;
        }
        memset(x->links, 0, sp->n_links * sizeof(*x->links));
        for (size_t i = 0; i < sp->n_links; i++) {
            const pb_span_link_t *l = sp->links[i];
            pt_span_link_t *o = &x->links[i];
            memcpy(o->trace_id, l->trace_id.data, PT_MIN(l->trace_id.len, 16u));
            memcpy(o->span_id, l->span_id.data, PT_MIN(l->span_id.len, 8u));
            o->trace_state = cstr(l->trace_state);
            o->flags = l->flags;
            o->dropped_attributes_count = l->dropped_attributes_count;
            if ((rc = pt_otlp_conv_typed_attrs(cv, l->attributes, l->n_attributes, &o->attrs,
                                               &o->nattrs))) {
                return rc;
            }
        }
        x->nlinks = (uint32_t)sp->n_links;
    }
    if (pt_otlp_conv_fields_alloc(cv, ev, sp->n_attributes, &hints) != 0) {
        return -ENOMEM;
    }
    x->hints = hints;
    return pt_otlp_conv_attrs_to_fields(cv, ev, hints, &x->nhints, sp->attributes,
                                        sp->n_attributes);
}

static const char *span_invalid(const pb_span_t *sp)
{
    if (sp->trace_id.len != 16 || pt_otlp_id_zero(sp->trace_id.data, 16)) {
        return "trace_id must be 16 bytes, not all zero";
    }
    if (sp->span_id.len != 8 || pt_otlp_id_zero(sp->span_id.data, 8)) {
        return "span_id must be 8 bytes, not all zero";
    }
    if (sp->parent_span_id.len != 0 && sp->parent_span_id.len != 8) {
        return "parent_span_id must be empty or 8 bytes";
    }
    for (size_t i = 0; i < sp->n_links; i++) {
        if (sp->links[i]->trace_id.len != 16 || sp->links[i]->span_id.len != 8) {
            return "a link's trace_id/span_id must be 16/8 bytes";
        }
    }
    return NULL;
}

int pt_otlp_conv_traces(conv_t *cv, const pb_trace_req_t *req)
{
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        const pb_resource_spans_t *rs = req->resource_spans[r];
        res_t res;
        int rc = pt_otlp_conv_resource_load(cv, rs->resource, rs->schema_url, &res);
        if (rc != 0) {
            return rc;
        }
        for (size_t s = 0; s < rs->n_scope_spans; s++) {
            const pb_scope_spans_t *ss = rs->scope_spans[s];
            pt_group_t *g;
            if (ss->n_spans == 0) {
                continue;
            }
            g = pt_otlp_conv_group_open(cv, PT_SIGNAL_TRACES, &res, ss->scope, ss->schema_url,
                                        ss->n_spans);
            if (g == NULL) {
                return -ENOMEM;
            }
            for (size_t i = 0; i < ss->n_spans; i++) {
                const char *bad = span_invalid(ss->spans[i]);
                if (bad != NULL) {
                    pt_otlp_conv_reject(cv, 1, "%s", bad);
                    continue;
                }
                if ((rc = span_event(cv, g, ss->spans[i])) != 0) {
                    return rc;
                }
                cv->out->records++;
            }
            pt_otlp_conv_group_close(cv, g);
        }
    }
    return 0;
}
