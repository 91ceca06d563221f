/* Logs to events: one LOG event per log record, its body as the "content" field and its
 * attributes as the other fields, the rest of the record in its pt_log_ext_t. */
#include <errno.h>
#include <string.h>

#include "core/common.h"
#include "otlp_events_internal.h"

static int log_event(conv_t *cv, pt_group_t *g, const pb_log_record_t *lr)
{
    pt_log_ext_t *x;
    pt_event_t *ev;
    pt_attr_t *hints;
    int has_body =
        lr->body != NULL &&
        lr->body->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET;
    int rc;

    ev = pt_group_add_event(g, PT_EVENT_LOG);
    x = pt_arena_alloc(cv->a, sizeof(*x));
    if (ev == NULL || x == NULL) {
        return -ENOMEM;
    }
    memset(x, 0, sizeof(*x));
    ev->ext = x;
    x->time_ns = lr->time_unix_nano;
    x->observed_ns = lr->observed_time_unix_nano;
    x->severity_number = (uint8_t)PT_MIN((unsigned)lr->severity_number, 255u);
    x->severity_text = cstr(lr->severity_text);
    x->event_name = cstr(lr->event_name);
    x->flags = lr->flags;
    x->dropped_attributes_count = lr->dropped_attributes_count;
    if (lr->trace_id.len == 16) {
        memcpy(x->trace_id, lr->trace_id.data, 16);
        x->has_trace = 1;
    }
    if (lr->span_id.len == 8) {
        memcpy(x->span_id, lr->span_id.data, 8);
        x->has_span = 1;
    }
    ev->time_ns = lr->time_unix_nano            ? (int64_t)lr->time_unix_nano
                  : lr->observed_time_unix_nano ? (int64_t)lr->observed_time_unix_nano
                                                : cv->now_ns;
    if (pt_otlp_conv_fields_alloc(cv, ev, lr->n_attributes + (size_t)has_body, &hints) != 0) {
        return -ENOMEM;
    }
    x->hints = hints;
    if (has_body) {
        pt_str_t val;
        uint8_t type;
        if ((rc = pt_otlp_conv_any(cv, lr->body, &val, &type)) != 0) {
            return rc;
        }
        pt_otlp_conv_field_add(ev, pt_str(cv->body_key, 7), val, type, hints, &x->nhints);
        x->body_key = cv->body_key;
    }
    return pt_otlp_conv_attrs_to_fields(cv, ev, hints, &x->nhints, lr->attributes,
                                        lr->n_attributes);
}

int pt_otlp_conv_logs(conv_t *cv, const pb_logs_req_t *req)
{
    for (size_t r = 0; r < req->n_resource_logs; r++) {
        const pb_resource_logs_t *rl = req->resource_logs[r];
        res_t res;
        int rc = pt_otlp_conv_resource_load(cv, rl->resource, rl->schema_url, &res);
        if (rc != 0) {
            return rc;
        }
        for (size_t s = 0; s < rl->n_scope_logs; s++) {
            const pb_scope_logs_t *sl = rl->scope_logs[s];
            pt_group_t *g;
            if (sl->n_log_records == 0) {
                continue;
            }
            g = pt_otlp_conv_group_open(cv, PT_SIGNAL_LOGS, &res, sl->scope, sl->schema_url,
                                        sl->n_log_records);
            if (g == NULL) {
                return -ENOMEM;
            }
            for (size_t i = 0; i < sl->n_log_records; i++) {
                const pb_log_record_t *lr = sl->log_records[i];
                if ((lr->trace_id.len != 0 && lr->trace_id.len != 16) ||
                    (lr->span_id.len != 0 && lr->span_id.len != 8)) {
                    pt_otlp_conv_reject(cv, 1, "%s",
                                        "trace_id/span_id must be empty or 16/8 bytes");
                    continue;
                }
                if ((rc = log_event(cv, g, lr)) != 0) {
                    return rc;
                }
                cv->out->records++;
            }
            pt_otlp_conv_group_close(cv, g);
        }
    }
    return 0;
}
