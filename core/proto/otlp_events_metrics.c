/* Metrics to events: one METRIC event per data point of any kind, its attributes as fields and
 * the metric's and point's details (buckets, quantiles, exemplars) in its pt_metric_ext_t. */
#include <errno.h>
#include <string.h>

#include "core/common.h"
#include "otlp_events_internal.h"

typedef struct {
    const pb_metric_t *m;
    uint8_t mtype;
    uint8_t temporality;
    uint8_t is_monotonic;
    pt_attr_t *metadata;
    uint32_t nmetadata;
} metric_info_t;

static int exemplars_load(conv_t *cv, pt_metric_ext_t *x, pb_exemplar_t *const *ex, size_t n)
{
    if (n == 0) {
        return 0;
    }
    x->exemplars = pt_arena_alloc(cv->a, n * sizeof(*x->exemplars));
    if (x->exemplars == NULL) {
        return -ENOMEM;
    }
    memset(x->exemplars, 0, n * sizeof(*x->exemplars));
    for (size_t i = 0; i < n; i++) {
        pt_exemplar_t *o = &x->exemplars[i];
        o->time_ns = ex[i]->time_unix_nano;
        if (ex[i]->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT) {
            o->is_int = 1;
            o->int_value = ex[i]->as_int;
            o->value = (double)ex[i]->as_int;
        } else {
            o->value = ex[i]->as_double;
        }
        if (ex[i]->trace_id.len == 16 && ex[i]->span_id.len == 8) {
            memcpy(o->trace_id, ex[i]->trace_id.data, 16);
            memcpy(o->span_id, ex[i]->span_id.data, 8);
            o->has_trace = 1;
        }
        int rc = pt_otlp_conv_typed_attrs(cv, ex[i]->filtered_attributes,
                                          ex[i]->n_filtered_attributes, &o->attrs, &o->nattrs);
        if (rc != 0) {
            return rc;
        }
    }
    x->nexemplars = (uint32_t)n;
    return 0;
}

/* A new metric event with the metric-level details; the caller fills the point. */
static pt_metric_ext_t *point_open(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                                   pb_kv_t *const *attrs, size_t nattrs, uint64_t start,
                                   uint64_t time, uint32_t flags)
{
    pt_metric_ext_t *x;
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_METRIC);
    pt_attr_t *hints;

    x = pt_arena_alloc(cv->a, sizeof(*x));
    if (ev == NULL || x == NULL) {
        return NULL;
    }
    memset(x, 0, sizeof(*x));
    ev->ext = x;
    x->name = cstr(mi->m->name);
    x->description = cstr(mi->m->description);
    x->unit = cstr(mi->m->unit);
    x->mtype = mi->mtype;
    x->temporality = mi->temporality;
    x->is_monotonic = mi->is_monotonic;
    x->metadata = mi->metadata;
    x->nmetadata = mi->nmetadata;
    x->detailed = 1;
    x->start_ns = start;
    x->time_ns = time;
    x->flags = flags;
    ev->time_ns = time ? (int64_t)time : cv->now_ns;
    if (pt_otlp_conv_fields_alloc(cv, ev, nattrs, &hints) != 0) {
        return NULL;
    }
    x->hints = hints;
    if (pt_otlp_conv_attrs_to_fields(cv, ev, hints, &x->nhints, attrs, nattrs) != 0) {
        return NULL;
    }
    return x;
}

/* The end of a point that has exemplars (all kinds but summaries): load them and count the
 * record. Returns 0 or -ENOMEM. */
static int point_close(conv_t *cv, pt_metric_ext_t *x, pb_exemplar_t *const *ex, size_t n)
{
    int rc = exemplars_load(cv, x, ex, n);
    if (rc == 0) {
        cv->out->records++;
    }
    return rc;
}

/* The optional sum, min and max of an explicit or exponential histogram point; the sum is also
 * the event's value. */
static void hist_stats(pt_metric_ext_t *x, int has_sum, double sum, int has_min, double min,
                       int has_max, double max)
{
    if (has_sum) {
        x->sum = x->value = sum;
        x->has |= PT_METRIC_HAS_SUM;
    }
    if (has_min) {
        x->min = min;
        x->has |= PT_METRIC_HAS_MIN;
    }
    if (has_max) {
        x->max = max;
        x->has |= PT_METRIC_HAS_MAX;
    }
}

static int number_points(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                         pb_number_dp_t *const *dps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pb_number_dp_t *dp = dps[i];
        pt_metric_ext_t *x = point_open(cv, g, mi, dp->attributes, dp->n_attributes,
                                        dp->start_time_unix_nano, dp->time_unix_nano, dp->flags);
        if (x == NULL) {
            return -ENOMEM;
        }
        if (dp->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT) {
            x->is_int = 1;
            x->int_value = dp->as_int;
            x->value = (double)dp->as_int;
            x->has |= PT_METRIC_HAS_VALUE;
        } else if (dp->value_case ==
                   OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE) {
            x->value = dp->as_double;
            x->has |= PT_METRIC_HAS_VALUE;
        }
        int rc = point_close(cv, x, dp->exemplars, dp->n_exemplars);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int histogram_points(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                            pb_histogram_dp_t *const *dps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pb_histogram_dp_t *dp = dps[i];
        pt_metric_ext_t *x;
        if (dp->n_bucket_counts != 0 && dp->n_bucket_counts != dp->n_explicit_bounds + 1) {
            pt_otlp_conv_reject(cv, 1, "%s", "a histogram needs one more bucket count than bounds");
            continue;
        }
        x = point_open(cv, g, mi, dp->attributes, dp->n_attributes, dp->start_time_unix_nano,
                       dp->time_unix_nano, dp->flags);
        if (x == NULL) {
            return -ENOMEM;
        }
        x->count = dp->count;
        hist_stats(
            x, dp->sum__case == OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM__SUM,
            dp->sum,
            dp->min__case == OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN__MIN,
            dp->min,
            dp->max__case == OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX__MAX,
            dp->max);
        x->bucket_counts = dp->bucket_counts;
        x->nbucket_counts = (uint32_t)dp->n_bucket_counts;
        x->bounds = dp->explicit_bounds;
        x->nbounds = (uint32_t)dp->n_explicit_bounds;
        int rc = point_close(cv, x, dp->exemplars, dp->n_exemplars);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int exp_histogram_points(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                                pb_exp_histogram_dp_t *const *dps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pb_exp_histogram_dp_t *dp = dps[i];
        pt_metric_ext_t *x = point_open(cv, g, mi, dp->attributes, dp->n_attributes,
                                        dp->start_time_unix_nano, dp->time_unix_nano, dp->flags);
        if (x == NULL) {
            return -ENOMEM;
        }
        x->count = dp->count;
        hist_stats(
            x,
            dp->sum__case ==
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM__SUM,
            dp->sum,
            dp->min__case ==
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN__MIN,
            dp->min,
            dp->max__case ==
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MAX__MAX,
            dp->max);
        x->scale = dp->scale;
        x->zero_count = dp->zero_count;
        x->zero_threshold = dp->zero_threshold;
        if (dp->positive != NULL) {
            x->pos_offset = dp->positive->offset;
            x->pos_counts = dp->positive->bucket_counts;
            x->npos = (uint32_t)dp->positive->n_bucket_counts;
        }
        if (dp->negative != NULL) {
            x->neg_offset = dp->negative->offset;
            x->neg_counts = dp->negative->bucket_counts;
            x->nneg = (uint32_t)dp->negative->n_bucket_counts;
        }
        int rc = point_close(cv, x, dp->exemplars, dp->n_exemplars);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int summary_points(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                          pb_summary_dp_t *const *dps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pb_summary_dp_t *dp = dps[i];
        pt_metric_ext_t *x = point_open(cv, g, mi, dp->attributes, dp->n_attributes,
                                        dp->start_time_unix_nano, dp->time_unix_nano, dp->flags);
        if (x == NULL) {
            return -ENOMEM;
        }
        x->count = dp->count;
        x->sum = x->value = dp->sum;
        x->has |= PT_METRIC_HAS_SUM;
        if (dp->n_quantile_values > 0) {
            x->quantiles = pt_arena_alloc(cv->a, dp->n_quantile_values * sizeof(*x->quantiles));
            if (x->quantiles == NULL) {
                return -ENOMEM;
            }
            for (size_t q = 0; q < dp->n_quantile_values; q++) {
                x->quantiles[q].quantile = dp->quantile_values[q]->quantile;
                x->quantiles[q].value = dp->quantile_values[q]->value;
            }
            x->nquantiles = (uint32_t)dp->n_quantile_values;
        }
        cv->out->records++;
    }
    return 0;
}

static size_t metric_points(const pb_metric_t *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return m->gauge->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return m->sum->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return m->histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return m->exponential_histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return m->summary->n_data_points;
    default:
        return 0;
    }
}

static int metric_events(conv_t *cv, pt_group_t *g, const pb_metric_t *m)
{
    metric_info_t mi;
    int rc;

    memset(&mi, 0, sizeof(mi));
    mi.m = m;
    if ((rc = pt_otlp_conv_typed_attrs(cv, m->metadata, m->n_metadata, &mi.metadata,
                                       &mi.nmetadata)) != 0) {
        return rc;
    }
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        mi.mtype = PT_METRIC_GAUGE;
        return number_points(cv, g, &mi, m->gauge->data_points, m->gauge->n_data_points);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        mi.mtype = PT_METRIC_SUM;
        mi.temporality = (uint8_t)m->sum->aggregation_temporality;
        mi.is_monotonic = (uint8_t)m->sum->is_monotonic;
        return number_points(cv, g, &mi, m->sum->data_points, m->sum->n_data_points);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        mi.mtype = PT_METRIC_HISTOGRAM;
        mi.temporality = (uint8_t)m->histogram->aggregation_temporality;
        return histogram_points(cv, g, &mi, m->histogram->data_points, m->histogram->n_data_points);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        mi.mtype = PT_METRIC_EXP_HISTOGRAM;
        mi.temporality = (uint8_t)m->exponential_histogram->aggregation_temporality;
        return exp_histogram_points(cv, g, &mi, m->exponential_histogram->data_points,
                                    m->exponential_histogram->n_data_points);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        mi.mtype = PT_METRIC_SUMMARY;
        return summary_points(cv, g, &mi, m->summary->data_points, m->summary->n_data_points);
    default:
        return 0;
    }
}

int pt_otlp_conv_metrics(conv_t *cv, const pb_metrics_req_t *req)
{
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        const pb_resource_metrics_t *rm = req->resource_metrics[r];
        res_t res;
        int rc = pt_otlp_conv_resource_load(cv, rm->resource, rm->schema_url, &res);
        if (rc != 0) {
            return rc;
        }
        for (size_t s = 0; s < rm->n_scope_metrics; s++) {
            const pb_scope_metrics_t *sm = rm->scope_metrics[s];
            size_t npoints = 0;
            pt_group_t *g;
            for (size_t i = 0; i < sm->n_metrics; i++) {
                npoints += metric_points(sm->metrics[i]);
            }
            if (npoints == 0) {
                continue;
            }
            g = pt_otlp_conv_group_open(cv, PT_SIGNAL_METRICS, &res, sm->scope, sm->schema_url,
                                        npoints);
            if (g == NULL) {
                return -ENOMEM;
            }
            for (size_t i = 0; i < sm->n_metrics; i++) {
                const pb_metric_t *m = sm->metrics[i];
                if (m->name == NULL || m->name[0] == '\0') {
                    pt_otlp_conv_reject(cv, metric_points(m), "%s", "a metric needs a name");
                    continue;
                }
                if ((rc = metric_events(cv, g, m)) != 0) {
                    return rc;
                }
            }
            pt_otlp_conv_group_close(cv, g);
        }
    }
    return 0;
}
