/* Metrics for the OTLP encoder: METRIC events back to Metrics, consecutive points of one metric
 * (same name, kind and details) under one Metric of their kind, each data point with every field
 * otlp_events.c kept (buckets, quantiles, exemplars). */
#include <string.h>

#include "core/common.h"
#include "otlp.h"
#include "otlp_export_internal.h"

static pb_exemplar_t **exemplars_of(enc_t *e, const pt_metric_ext_t *x, size_t *n)
{
    pb_exemplar_t **v = A(e, x->nexemplars * sizeof(*v));
    *n = 0;
    for (uint32_t i = 0; v != NULL && i < x->nexemplars; i++) {
        const pt_exemplar_t *ex = &x->exemplars[i];
        pb_exemplar_t *o = A(e, sizeof(*o));
        if (o == NULL) {
            break;
        }
        opentelemetry__proto__metrics__v1__exemplar__init(o);
        o->time_unix_nano = ex->time_ns;
        if (ex->is_int) {
            o->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT;
            o->as_int = ex->int_value;
        } else {
            o->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
            o->as_double = ex->value;
        }
        if (ex->has_trace) {
            o->trace_id = bin(e, ex->trace_id, 16);
            o->span_id = bin(e, ex->span_id, 8);
        }
        o->filtered_attributes =
            pt_otlp_enc_attrs(e, ex->attrs, ex->nattrs, &o->n_filtered_attributes);
        v[(*n)++] = o;
    }
    return v;
}

/* Appends ev's data point to metric m (whose kind matches). */
static void point_add(enc_t *e, pb_metric_t *m, const pt_event_t *ev, vec_t *points)
{
    const pt_metric_ext_t *x = ev->ext;
    uint8_t mtype = x != NULL ? x->mtype : PT_METRIC_GAUGE;
    uint64_t time = x != NULL && x->detailed ? x->time_ns : (uint64_t)ev->time_ns;
    uint64_t start = x != NULL ? x->start_ns : 0;
    uint32_t flags = x != NULL ? x->flags : 0;
    size_t nattrs;
    pb_kv_t **attrs = pt_otlp_enc_fields(e, ev, x != NULL ? x->hints : NULL,
                                         x != NULL ? x->nhints : 0, NULL, &nattrs);

    if (mtype == PT_METRIC_GAUGE || mtype == PT_METRIC_SUM) {
        pb_number_dp_t *dp = A(e, sizeof(*dp));
        if (dp == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__number_data_point__init(dp);
        dp->attributes = attrs;
        dp->n_attributes = nattrs;
        dp->start_time_unix_nano = start;
        dp->time_unix_nano = time;
        dp->flags = flags;
        if (x != NULL && x->is_int) {
            dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
            dp->as_int = x->int_value;
        } else if (x == NULL || !x->detailed || (x->has & PT_METRIC_HAS_VALUE)) {
            dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
            dp->as_double = x != NULL ? x->value : 0;
        }
        if (x != NULL) {
            dp->exemplars = exemplars_of(e, x, &dp->n_exemplars);
        }
        pt_otlp_vec_push(e, points, dp);
    } else if (mtype == PT_METRIC_HISTOGRAM) {
        pb_histogram_dp_t *dp = A(e, sizeof(*dp));
        if (dp == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__histogram_data_point__init(dp);
        dp->attributes = attrs;
        dp->n_attributes = nattrs;
        dp->start_time_unix_nano = start;
        dp->time_unix_nano = time;
        dp->flags = flags;
        dp->count = x->count;
        if (x->has & PT_METRIC_HAS_SUM) {
            dp->sum__case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM__SUM;
            dp->sum = x->sum;
        }
        if (x->has & PT_METRIC_HAS_MIN) {
            dp->min__case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN__MIN;
            dp->min = x->min;
        }
        if (x->has & PT_METRIC_HAS_MAX) {
            dp->max__case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX__MAX;
            dp->max = x->max;
        }
        dp->bucket_counts = x->bucket_counts;
        dp->n_bucket_counts = x->nbucket_counts;
        dp->explicit_bounds = x->bounds;
        dp->n_explicit_bounds = x->nbounds;
        dp->exemplars = exemplars_of(e, x, &dp->n_exemplars);
        pt_otlp_vec_push(e, points, dp);
    } else if (mtype == PT_METRIC_EXP_HISTOGRAM) {
        pb_exp_histogram_dp_t *dp = A(e, sizeof(*dp));
        pb_buckets_t *pos = A(e, sizeof(*pos));
        pb_buckets_t *neg = A(e, sizeof(*neg));
        if (dp == NULL || pos == NULL || neg == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__exponential_histogram_data_point__init(dp);
        opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__init(pos);
        opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__init(neg);
        dp->attributes = attrs;
        dp->n_attributes = nattrs;
        dp->start_time_unix_nano = start;
        dp->time_unix_nano = time;
        dp->flags = flags;
        dp->count = x->count;
        if (x->has & PT_METRIC_HAS_SUM) {
            dp->sum__case =
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM__SUM;
            dp->sum = x->sum;
        }
        if (x->has & PT_METRIC_HAS_MIN) {
            dp->min__case =
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN__MIN;
            dp->min = x->min;
        }
        if (x->has & PT_METRIC_HAS_MAX) {
            dp->max__case =
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MAX__MAX;
            dp->max = x->max;
        }
        dp->scale = x->scale;
        dp->zero_count = x->zero_count;
        dp->zero_threshold = x->zero_threshold;
        pos->offset = x->pos_offset;
        pos->bucket_counts = x->pos_counts;
        pos->n_bucket_counts = x->npos;
        neg->offset = x->neg_offset;
        neg->bucket_counts = x->neg_counts;
        neg->n_bucket_counts = x->nneg;
        dp->positive = pos;
        dp->negative = neg;
        dp->exemplars = exemplars_of(e, x, &dp->n_exemplars);
        pt_otlp_vec_push(e, points, dp);
    } else {
        pb_summary_dp_t *dp = A(e, sizeof(*dp));
        if (dp == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__summary_data_point__init(dp);
        dp->attributes = attrs;
        dp->n_attributes = nattrs;
        dp->start_time_unix_nano = start;
        dp->time_unix_nano = time;
        dp->flags = flags;
        dp->count = x->count;
        dp->sum = x->sum;
        dp->quantile_values = A(e, x->nquantiles * sizeof(*dp->quantile_values));
        for (uint32_t i = 0; dp->quantile_values != NULL && i < x->nquantiles; i++) {
            pb_quantile_t *q = A(e, sizeof(*q));
            if (q == NULL) {
                break;
            }
            opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__init(q);
            q->quantile = x->quantiles[i].quantile;
            q->value = x->quantiles[i].value;
            dp->quantile_values[dp->n_quantile_values++] = q;
        }
        pt_otlp_vec_push(e, points, dp);
    }
}

/* Points of one metric are consecutive events with the same name, kind and metric details. */
static int same_metric(const pt_event_t *a, const pt_event_t *b)
{
    const pt_metric_ext_t *x = a->ext;
    const pt_metric_ext_t *y = b->ext;
    if (x == NULL || y == NULL) {
        return x == y;
    }
    return x->mtype == y->mtype && pt_str_eq(x->name, y->name) && pt_str_eq(x->unit, y->unit) &&
           pt_str_eq(x->description, y->description) && x->temporality == y->temporality &&
           x->is_monotonic == y->is_monotonic && x->metadata == y->metadata;
}

static pb_metric_t *metric_open(enc_t *e, const pt_event_t *ev)
{
    const pt_metric_ext_t *x = ev->ext;
    pb_metric_t *m = A(e, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    opentelemetry__proto__metrics__v1__metric__init(m);
    if (x != NULL) {
        m->name = S(e, x->name);
        m->description = S(e, x->description);
        m->unit = S(e, x->unit);
        m->metadata = pt_otlp_enc_attrs(e, x->metadata, x->nmetadata, &m->n_metadata);
    }
    return m;
}

static void metric_close(enc_t *e, pb_metric_t *m, const pt_event_t *first, vec_t *pts)
{
    const pt_metric_ext_t *x = first->ext;
    uint8_t mtype = x != NULL ? x->mtype : PT_METRIC_GAUGE;
    switch (mtype) {
    case PT_METRIC_SUM: {
        pb_sum_t *s = A(e, sizeof(*s));
        if (s == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__sum__init(s);
        s->data_points = (pb_number_dp_t **)pts->v;
        s->n_data_points = pts->n;
        s->aggregation_temporality = x->temporality;
        s->is_monotonic = x->is_monotonic;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
        m->sum = s;
        break;
    }
    case PT_METRIC_HISTOGRAM: {
        pb_histogram_t *h = A(e, sizeof(*h));
        if (h == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__histogram__init(h);
        h->data_points = (pb_histogram_dp_t **)pts->v;
        h->n_data_points = pts->n;
        h->aggregation_temporality = x->temporality;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
        m->histogram = h;
        break;
    }
    case PT_METRIC_EXP_HISTOGRAM: {
        pb_exp_histogram_t *h = A(e, sizeof(*h));
        if (h == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__exponential_histogram__init(h);
        h->data_points = (pb_exp_histogram_dp_t **)pts->v;
        h->n_data_points = pts->n;
        h->aggregation_temporality = x->temporality;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
        m->exponential_histogram = h;
        break;
    }
    case PT_METRIC_SUMMARY: {
        pb_summary_t *s = A(e, sizeof(*s));
        if (s == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__summary__init(s);
        s->data_points = (pb_summary_dp_t **)pts->v;
        s->n_data_points = pts->n;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
        m->summary = s;
        break;
    }
    default: {
        pb_gauge_t *gg = A(e, sizeof(*gg));
        if (gg == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__gauge__init(gg);
        gg->data_points = (pb_number_dp_t **)pts->v;
        gg->n_data_points = pts->n;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
        m->gauge = gg;
        break;
    }
    }
}

uint32_t pt_otlp_enc_metrics(enc_t *e, const pt_group_t *g, vec_t *recs)
{
    const pt_event_t *first = NULL;
    pb_metric_t *m = NULL;
    vec_t pts = {0};
    uint32_t n = 0;

    for (uint32_t i = 0; i < g->nevents; i++) {
        const pt_event_t *ev = &g->events[i];
        if ((ev->flags & PT_EVENT_F_DROPPED) || ev->type != PT_EVENT_METRIC) {
            continue;
        }
        if (m == NULL || !same_metric(first, ev)) {
            if (m != NULL) {
                metric_close(e, m, first, &pts);
            }
            m = metric_open(e, ev);
            pt_otlp_vec_push(e, recs, m);
            first = ev;
            memset(&pts, 0, sizeof(pts));
        }
        point_add(e, m, ev, &pts);
        n++;
    }
    if (m != NULL) {
        metric_close(e, m, first, &pts);
    }
    return n;
}
