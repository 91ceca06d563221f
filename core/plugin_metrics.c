/* Per-plugin metrics: counters and gauges labelled with the pipeline and plugin. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "mem.h"
#include "pipeline_internal.h"

/* ===================================================================== metrics helpers ==== */

static pt_counter_t dummy_counter;
static pt_gauge_t dummy_gauge;

pt_counter_t *pt_counter_new(const char *name, const char *help, const char *labels)
{
    pt_counter_t *c = NULL;
    if (pt_metrics_counter_register(name, help, labels, &c) != 0) {
        pt_log_warn("cannot register metric %s{%s}", name, labels);
        return &dummy_counter;
    }
    return c;
}

pt_gauge_t *pt_gauge_new(const char *name, const char *help, const char *labels)
{
    pt_gauge_t *g = NULL;
    if (pt_metrics_gauge_register(name, help, labels, &g) != 0) {
        pt_log_warn("cannot register metric %s{%s}", name, labels);
        return &dummy_gauge;
    }
    return g;
}

void pt_plugin_counter_free(pt_counter_t *c)
{
    if (c != NULL && c != &dummy_counter) {
        pt_metrics_counter_unregister(c);
    }
}

void pt_plugin_gauge_free(pt_gauge_t *g)
{
    if (g != NULL && g != &dummy_gauge) {
        pt_metrics_gauge_unregister(g);
    }
}

static void inst_labels(const pt_plugin_inst_t *inst, pt_buf_t *b)
{
    pt_metrics_label_append(b, "pipeline", inst->pipeline->name);
    pt_metrics_label_append(b, "plugin", strchr(inst->id, '/') + 1);
    pt_buf_putc(b, '\0');
}

pt_counter_t *pt_plugin_counter(const pt_plugin_inst_t *inst, const char *name, const char *help)
{
    pt_buf_t b;
    pt_buf_init(&b);
    inst_labels(inst, &b);
    pt_counter_t *c = pt_counter_new(name, help, b.data ? b.data : "");
    pt_buf_free(&b);
    return c;
}

pt_gauge_t *pt_plugin_gauge(const pt_plugin_inst_t *inst, const char *name, const char *help)
{
    pt_buf_t b;
    pt_buf_init(&b);
    inst_labels(inst, &b);
    pt_gauge_t *g = pt_gauge_new(name, help, b.data ? b.data : "");
    pt_buf_free(&b);
    return g;
}

void pt_plugin_metrics_init(pt_plugin_inst_t *inst)
{
    inst->m.events_in = pt_plugin_counter(inst, "petrel_plugin_events_in_total", "Events received");
    inst->m.events_out = pt_plugin_counter(inst, "petrel_plugin_events_out_total", "Events emitted");
    inst->m.events_dropped =
        pt_plugin_counter(inst, "petrel_plugin_events_dropped_total", "Events dropped");
    inst->m.bytes_in = pt_plugin_counter(inst, "petrel_plugin_bytes_in_total", "Bytes received");
    inst->m.bytes_out = pt_plugin_counter(inst, "petrel_plugin_bytes_out_total", "Bytes emitted");
    inst->m.errors = pt_plugin_counter(inst, "petrel_plugin_errors_total", "Errors");
}

void pt_plugin_metrics_free(pt_plugin_inst_t *inst)
{
    pt_plugin_counter_free(inst->m.events_in);
    pt_plugin_counter_free(inst->m.events_out);
    pt_plugin_counter_free(inst->m.events_dropped);
    pt_plugin_counter_free(inst->m.bytes_in);
    pt_plugin_counter_free(inst->m.bytes_out);
    pt_plugin_counter_free(inst->m.errors);
}
