/* The self-metrics registry and its Prometheus text renderer. Values live in atomics that
 * callers update without locks; the family and series lists change only under one mutex, which
 * rendering also holds, so a render never sees a half-removed series. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "mem.h"

#ifndef PETREL_VERSION
#define PETREL_VERSION "unknown"
#endif

/* ---- registry data ------------------------------------------------------------------------ */

typedef enum { KIND_COUNTER = 0, KIND_GAUGE = 1 } kind_t;

typedef struct family_s family_t;
typedef struct series_s series_t;

/* One sample line: a metric name with one label set. The cell must stay the first member:
 * counter and gauge handles point at it, and unregister turns them back into the series. */
struct series_s {
    union {
        pt_counter_t counter;
        pt_gauge_t gauge;
    } cell;
    series_t *next;
    family_t *family;
    uint32_t refs;      /* plain registrations sharing the cell */
    pt_gauge_fn_t *fns; /* callback gauges summed into this sample */
    char labels[];
};

struct pt_gauge_fn_s {
    pt_gauge_fn_t *next;
    series_t *series;
    pt_metrics_gauge_cb fn;
    void *ud;
};

/* Every series of one name, so that they share a single # HELP / # TYPE block. */
struct family_s {
    family_t *next;
    series_t *series; /* sorted by label string */
    kind_t kind;
    char *help;
    char name[];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static family_t *reg_families; /* sorted by name */

/* Names the renderer writes itself; a registration under one would duplicate a family. */
static const char *const reserved_names[] = {
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_start_time_seconds",
    "petrel_build_info",
};

/* ---- validation --------------------------------------------------------------------------- */

static int is_name_char(char ch, int first, int allow_colon)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_') {
        return 1;
    }
    if (allow_colon && ch == ':') {
        return 1;
    }
    return !first && ch >= '0' && ch <= '9';
}

static int valid_metric_name(const char *name)
{
    if (name == NULL || name[0] == '\0') {
        return 0;
    }
    for (size_t i = 0; name[i] != '\0'; i++) {
        if (!is_name_char(name[i], i == 0, 1)) {
            return 0;
        }
    }
    return 1;
}

/* Checks `k="v",k2="v2"`: label names as the format defines them, values with only the three
 * escapes it knows, and nothing a scraper would choke on (raw newlines, a dangling backslash). */
static int valid_labels(const char *s)
{
    size_t i = 0;
    if (s == NULL || s[0] == '\0') {
        return 1;
    }
    for (;;) {
        size_t start = i;
        while (s[i] != '\0' && is_name_char(s[i], i == start, 0)) {
            i++;
        }
        if (i == start || s[i] != '=' || s[i + 1] != '"') {
            return 0;
        }
        i += 2;
        while (s[i] != '"') {
            if (s[i] == '\0' || s[i] == '\n') {
                return 0;
            }
            if (s[i] == '\\') {
                char e = s[i + 1];
                if (e != '\\' && e != '"' && e != 'n') {
                    return 0;
                }
                i++;
            }
            i++;
        }
        i++;
        if (s[i] == '\0') {
            return 1;
        }
        if (s[i] != ',') {
            return 0;
        }
        i++;
    }
}

static int is_reserved(const char *name)
{
    for (size_t i = 0; i < PT_ARRAY_SIZE(reserved_names); i++) {
        if (strcmp(name, reserved_names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

int pt_metrics_label_append(pt_buf_t *labels, const char *key, const char *value)
{
    size_t mark = labels->len;
    int rc = 0;

    if (key == NULL || key[0] == '\0' || value == NULL) {
        return -EINVAL;
    }
    for (size_t i = 0; key[i] != '\0'; i++) {
        if (!is_name_char(key[i], i == 0, 0)) {
            return -EINVAL;
        }
    }
    if (labels->len > 0 && (rc = pt_buf_putc(labels, ',')) != 0) {
        goto fail;
    }
    if ((rc = pt_buf_append_str(labels, key)) != 0 || (rc = pt_buf_append(labels, "=\"", 2)) != 0) {
        goto fail;
    }
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"') {
            char esc[2] = {'\\', *p};
            rc = pt_buf_append(labels, esc, 2);
        } else if (*p == '\n') {
            rc = pt_buf_append(labels, "\\n", 2);
        } else {
            rc = pt_buf_putc(labels, *p);
        }
        if (rc != 0) {
            goto fail;
        }
    }
    if ((rc = pt_buf_putc(labels, '"')) != 0) {
        goto fail;
    }
    return 0;

fail:
    /* Leave the caller's label string as it was rather than half-appended. */
    labels->len = mark;
    return rc;
}

/* ---- registration ------------------------------------------------------------------------- */

/* Finds or creates the series for (name, labels) with the registry locked. New families and
 * series are linked in sorted position so rendering needs no sort. */
static int series_get(const char *name, const char *help, const char *labels, kind_t kind,
                      series_t **out)
{
    family_t **fpp = &reg_families;
    family_t *fam = NULL;
    series_t **spp;
    series_t *s;
    int cmp = 1;
    int rc = -ENOMEM;
    size_t lab_len;

    if (!valid_metric_name(name) || !valid_labels(labels)) {
        return -EINVAL;
    }
    if (is_reserved(name)) {
        return -EEXIST;
    }
    if (labels == NULL) {
        labels = "";
    }
    if (help == NULL) {
        help = "";
    }
    while (*fpp != NULL && (cmp = strcmp((*fpp)->name, name)) < 0) {
        fpp = &(*fpp)->next;
    }
    if (*fpp != NULL && cmp == 0) {
        fam = *fpp;
        if (fam->kind != kind) {
            return -EINVAL;
        }
    } else {
        size_t name_len = strlen(name);
        fam = pt_calloc(1, sizeof(*fam) + name_len + 1);
        if (fam == NULL) {
            goto fail;
        }
        memcpy(fam->name, name, name_len + 1);
        fam->kind = kind;
        fam->help = pt_strdup(help);
        if (fam->help == NULL) {
            goto fail;
        }
    }

    spp = &fam->series;
    cmp = 1;
    while (*spp != NULL && (cmp = strcmp((*spp)->labels, labels)) < 0) {
        spp = &(*spp)->next;
    }
    if (*spp != NULL && cmp == 0) {
        *out = *spp;
        return 0;
    }
    lab_len = strlen(labels);
    s = pt_calloc(1, sizeof(*s) + lab_len + 1);
    if (s == NULL) {
        goto fail;
    }
    memcpy(s->labels, labels, lab_len + 1);
    s->family = fam;
    s->next = *spp;
    *spp = s;
    if (*fpp != fam) {
        fam->next = *fpp;
        *fpp = fam;
    }
    *out = s;
    return 0;

fail:
    /* Only a family created by this call is unlinked, and it has no series yet. */
    if (fam != NULL && *fpp != fam) {
        pt_free(fam->help);
        pt_free(fam);
    }
    return rc;
}

/* Unlinks and frees a series nobody holds any more, and its family with its last series. */
static void series_release(series_t *s)
{
    family_t *fam = s->family;
    family_t **fpp;
    series_t **spp;

    if (s->refs > 0 || s->fns != NULL) {
        return;
    }
    for (spp = &fam->series; *spp != s; spp = &(*spp)->next) {
    }
    *spp = s->next;
    pt_free(s);
    if (fam->series != NULL) {
        return;
    }
    for (fpp = &reg_families; *fpp != fam; fpp = &(*fpp)->next) {
    }
    *fpp = fam->next;
    pt_free(fam->help);
    pt_free(fam);
}

static int register_cell(const char *name, const char *help, const char *labels, kind_t kind,
                         series_t **out)
{
    series_t *s = NULL;
    int rc;

    pthread_mutex_lock(&reg_lock);
    rc = series_get(name, help, labels, kind, &s);
    if (rc == 0) {
        s->refs++;
        *out = s;
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

int pt_metrics_counter_register(const char *name, const char *help, const char *labels,
                                pt_counter_t **out)
{
    series_t *s;
    int rc = register_cell(name, help, labels, KIND_COUNTER, &s);
    if (rc == 0) {
        *out = &s->cell.counter;
    }
    return rc;
}

int pt_metrics_gauge_register(const char *name, const char *help, const char *labels,
                              pt_gauge_t **out)
{
    series_t *s;
    int rc = register_cell(name, help, labels, KIND_GAUGE, &s);
    if (rc == 0) {
        *out = &s->cell.gauge;
    }
    return rc;
}

int pt_metrics_gauge_fn_register(const char *name, const char *help, const char *labels,
                                 pt_metrics_gauge_cb fn, void *ud, pt_gauge_fn_t **out)
{
    pt_gauge_fn_t *g;
    series_t *s;
    int rc;

    if (fn == NULL) {
        return -EINVAL;
    }
    g = pt_calloc(1, sizeof(*g));
    if (g == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_lock(&reg_lock);
    rc = series_get(name, help, labels, KIND_GAUGE, &s);
    if (rc == 0) {
        g->series = s;
        g->fn = fn;
        g->ud = ud;
        g->next = s->fns;
        s->fns = g;
        *out = g;
    }
    pthread_mutex_unlock(&reg_lock);
    if (rc != 0) {
        pt_free(g);
    }
    return rc;
}

static void unregister_cell(series_t *s)
{
    pthread_mutex_lock(&reg_lock);
    PT_ASSERT(s->refs > 0);
    s->refs--;
    if (s->refs == 0) {
        /* Callback gauges may keep the series; the departed gauge's value must not linger in
         * their sum, nor reappear if the gauge is registered again. */
        atomic_store_explicit(&s->cell.gauge.value, 0, memory_order_relaxed);
    }
    series_release(s);
    pthread_mutex_unlock(&reg_lock);
}

void pt_metrics_counter_unregister(pt_counter_t *c)
{
    if (c != NULL) {
        unregister_cell((series_t *)(void *)c);
    }
}

void pt_metrics_gauge_unregister(pt_gauge_t *g)
{
    if (g != NULL) {
        unregister_cell((series_t *)(void *)g);
    }
}

void pt_metrics_gauge_fn_unregister(pt_gauge_fn_t *g)
{
    pt_gauge_fn_t **pp;
    series_t *s;

    if (g == NULL) {
        return;
    }
    pthread_mutex_lock(&reg_lock);
    s = g->series;
    for (pp = &s->fns; *pp != g; pp = &(*pp)->next) {
    }
    *pp = g->next;
    series_release(s);
    pthread_mutex_unlock(&reg_lock);
    pt_free(g);
}

/* ---- process metrics ---------------------------------------------------------------------- */

static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static double start_time_seconds;

/* The kernel's start time (boot time plus the starttime field of /proc/self/stat) is what
 * other Prometheus clients report, and it does not depend on when this module was first used. */
static void on_start_time_once(void)
{
    char buf[1024];
    unsigned long long start_ticks = 0;
    unsigned long long btime = 0;
    long hz = sysconf(_SC_CLK_TCK);
    FILE *f;
    size_t n;
    char *p;

    start_time_seconds = (double)pt_now_wall_ns() / 1e9;
    f = fopen("/proc/self/stat", "r");
    if (f == NULL) {
        return;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses; fields restart after the
     * last ')'. starttime is field 22, the 20th after it. */
    p = strrchr(buf, ')');
    if (p == NULL) {
        return;
    }
    p++;
    for (int field = 3; field < 22 && p != NULL; field++) {
        p = strchr(p + 1, ' ');
    }
    if (p == NULL || sscanf(p, " %llu", &start_ticks) != 1) {
        return;
    }
    f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return;
    }
    while (fgets(buf, sizeof(buf), f) != NULL) {
        if (sscanf(buf, "btime %llu", &btime) == 1) {
            break;
        }
    }
    fclose(f);
    if (btime > 0 && hz > 0) {
        start_time_seconds = (double)btime + (double)start_ticks / (double)hz;
    }
}

static int render_process(pt_buf_t *out)
{
    struct rusage ru;
    double cpu = 0;
    unsigned long long vm_pages = 0;
    unsigned long long rss_pages = 0;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f;
    int rc;

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
    f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%llu %llu", &vm_pages, &rss_pages) != 2) {
            vm_pages = rss_pages = 0;
        }
        fclose(f);
    }
    if (page < 0) {
        page = 0;
    }
    pthread_once(&start_once, on_start_time_once);

    rc = pt_buf_appendf(out,
                        "# HELP process_cpu_seconds_total Total user and system CPU time spent in "
                        "seconds.\n"
                        "# TYPE process_cpu_seconds_total counter\n"
                        "process_cpu_seconds_total %.6f\n",
                        cpu);
    if (rc == 0) {
        rc = pt_buf_appendf(out,
                            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                            "# TYPE process_resident_memory_bytes gauge\n"
                            "process_resident_memory_bytes %llu\n",
                            rss_pages * (unsigned long long)page);
    }
    if (rc == 0) {
        rc = pt_buf_appendf(out,
                            "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                            "# TYPE process_virtual_memory_bytes gauge\n"
                            "process_virtual_memory_bytes %llu\n",
                            vm_pages * (unsigned long long)page);
    }
    if (rc == 0) {
        rc = pt_buf_appendf(out,
                            "# HELP process_start_time_seconds Start time of the process since "
                            "unix epoch in seconds.\n"
                            "# TYPE process_start_time_seconds gauge\n"
                            "process_start_time_seconds %.2f\n",
                            start_time_seconds);
    }
    if (rc == 0) {
        rc = pt_buf_append_str(out, "# HELP petrel_build_info A metric with a constant '1' value "
                                    "labeled by the petrel version.\n"
                                    "# TYPE petrel_build_info gauge\n"
                                    "petrel_build_info{version=\"" PETREL_VERSION "\"} 1\n");
    }
    return rc;
}

/* ---- rendering ---------------------------------------------------------------------------- */

/* HELP text escapes backslash and newline (format 0.0.4); nothing else. */
static int append_help(pt_buf_t *out, const char *help)
{
    int rc = 0;
    for (const char *p = help; *p != '\0' && rc == 0; p++) {
        if (*p == '\\') {
            rc = pt_buf_append(out, "\\\\", 2);
        } else if (*p == '\n') {
            rc = pt_buf_append(out, "\\n", 2);
        } else {
            rc = pt_buf_putc(out, *p);
        }
    }
    return rc;
}

static int render_family(pt_buf_t *out, const family_t *fam)
{
    const char *type = fam->kind == KIND_COUNTER ? "counter" : "gauge";
    int rc;

    if ((rc = pt_buf_appendf(out, "# HELP %s ", fam->name)) != 0 ||
        (rc = append_help(out, fam->help)) != 0 ||
        (rc = pt_buf_appendf(out, "\n# TYPE %s %s\n", fam->name, type)) != 0) {
        return rc;
    }
    for (const series_t *s = fam->series; s != NULL; s = s->next) {
        const char *open = s->labels[0] != '\0' ? "{" : "";
        const char *close = s->labels[0] != '\0' ? "}" : "";
        if (fam->kind == KIND_COUNTER) {
            uint64_t v = atomic_load_explicit(&s->cell.counter.value, memory_order_relaxed);
            rc =
                pt_buf_appendf(out, "%s%s%s%s %" PRIu64 "\n", fam->name, open, s->labels, close, v);
        } else {
            int64_t v = atomic_load_explicit(&s->cell.gauge.value, memory_order_relaxed);
            for (const pt_gauge_fn_t *g = s->fns; g != NULL; g = g->next) {
                v += g->fn(g->ud);
            }
            rc =
                pt_buf_appendf(out, "%s%s%s%s %" PRId64 "\n", fam->name, open, s->labels, close, v);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int pt_metrics_render(pt_buf_t *out)
{
    int rc = 0;

    pthread_mutex_lock(&reg_lock);
    for (const family_t *fam = reg_families; fam != NULL && rc == 0; fam = fam->next) {
        rc = render_family(out, fam);
    }
    pthread_mutex_unlock(&reg_lock);
    if (rc == 0) {
        rc = render_process(out);
    }
    return rc;
}
