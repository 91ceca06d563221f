/* Sidecar mode: petrel runs beside the agent in the same pod, so "container discovery" is about
 * that one pod. Its metadata comes from the downward API (env POD_NAME, POD_NAMESPACE, POD_UID,
 * NODE_NAME, POD_IP, CONTAINER_NAME, CONTAINER_IMAGE and a mounted labels file), is matched
 * against ContainerFilters once at start (a pipeline whose filters do not match this pod stays
 * idle and says why), and is attached to every group as LoongCollector's tags (_pod_name_,
 * _namespace_, ..., ExternalK8sLabelTag, ExternalEnvTag). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

#define DEFAULT_LABELS_FILE "/etc/podinfo/labels"

/* ====================================================================== filter compile ==== */

/* Label and env conditions: an empty value asks only for the key; "^...$" is a regex on the
 * value; anything else must be equal. Returns per-entry compiled regexes (NULL entries where the
 * value is plain). */
static int compile_map(pt_plugin_inst_t *inst, pt_cfg_diag_t *d, const char *key,
                       const pt_strmap_t *map, pt_pcre2_code_t ***out)
{
    *out = NULL;
    if (map->n == 0) {
        return 0;
    }
    pt_pcre2_code_t **v = pt_calloc(map->n, sizeof(*v));
    if (v == NULL) {
        return -ENOMEM;
    }
    *out = v;
    int rc = 0;
    for (size_t i = 0; i < map->n; i++) {
        const char *val = map->vals[i] != NULL ? map->vals[i] : "";
        size_t n = strlen(val);
        if (n >= 2 && val[0] == '^' && val[n - 1] == '$') {
            char err[512];
            v[i] = pt_if_re_compile(val, 1, err, sizeof(err));
            if (v[i] == NULL) {
                pt_cfg_error(d, inst->line, key, "%s: %s", map->keys[i], err);
                rc = -EINVAL;
            }
        }
    }
    return rc;
}

static void free_map(pt_pcre2_code_t **v, const pt_strmap_t *map)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < map->n; i++) {
        pt_if_re_free(v[i]);
    }
    pt_free(v);
}

static int compile_one(pt_plugin_inst_t *inst, pt_cfg_diag_t *d, const char *key, const char *pat,
                       pt_pcre2_code_t **out)
{
    *out = NULL;
    if (pat == NULL || pat[0] == '\0') {
        return 0;
    }
    char err[512];
    /* LoongCollector matches these against the whole name. */
    *out = pt_if_re_compile(pat, 1, err, sizeof(err));
    if (*out == NULL) {
        pt_cfg_error(d, inst->line, key, "%s", err);
        return -EINVAL;
    }
    return 0;
}

int pt_if_k8s_init(pt_if_k8s_t *k, const pt_if_conf_t *c, pt_plugin_inst_t *inst, pt_cfg_diag_t *d)
{
    memset(k, 0, sizeof(*k));
    int rc = 0;
    int r;
#define STEP(call)                                                                                 \
    do {                                                                                           \
        r = (call);                                                                                \
        if (r == -ENOMEM) {                                                                        \
            rc = -ENOMEM;                                                                          \
        } else if (r != 0 && rc == 0) {                                                            \
            rc = r;                                                                                \
        }                                                                                          \
    } while (0)
    STEP(compile_one(inst, d, "ContainerFilters.K8sPodRegex", c->cf_pod_regex, &k->pod_re));
    STEP(compile_one(inst, d, "ContainerFilters.K8sNamespaceRegex", c->cf_ns_regex, &k->ns_re));
    STEP(compile_one(inst, d, "ContainerFilters.K8sContainerRegex", c->cf_container_regex,
                     &k->ctr_re));
    STEP(compile_map(inst, d, "ContainerFilters.IncludeK8sLabel", &c->cf_include_label,
                     &k->inc_label_re));
    STEP(compile_map(inst, d, "ContainerFilters.ExcludeK8sLabel", &c->cf_exclude_label,
                     &k->exc_label_re));
    STEP(compile_map(inst, d, "ContainerFilters.IncludeEnv", &c->cf_include_env, &k->inc_env_re));
    STEP(compile_map(inst, d, "ContainerFilters.ExcludeEnv", &c->cf_exclude_env, &k->exc_env_re));
    STEP(compile_map(inst, d, "ContainerFilters.IncludeContainerLabel", &c->cf_include_ctr_label,
                     &k->inc_cl_re));
    STEP(compile_map(inst, d, "ContainerFilters.ExcludeContainerLabel", &c->cf_exclude_ctr_label,
                     &k->exc_cl_re));
#undef STEP
    if (rc != 0) {
        pt_if_k8s_free(k, c);
    }
    return rc;
}

void pt_if_k8s_free(pt_if_k8s_t *k, const pt_if_conf_t *c)
{
    pt_if_re_free(k->pod_re);
    pt_if_re_free(k->ns_re);
    pt_if_re_free(k->ctr_re);
    free_map(k->inc_label_re, &c->cf_include_label);
    free_map(k->exc_label_re, &c->cf_exclude_label);
    free_map(k->inc_env_re, &c->cf_include_env);
    free_map(k->exc_env_re, &c->cf_exclude_env);
    free_map(k->inc_cl_re, &c->cf_include_ctr_label);
    free_map(k->exc_cl_re, &c->cf_exclude_ctr_label);
    memset(k, 0, sizeof(*k));
}

/* ========================================================================== pod metadata === */

static int dup_env(const char *name, char **out)
{
    const char *v = getenv(name);
    *out = NULL;
    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    *out = pt_strdup(v);
    return *out != NULL ? 0 : -ENOMEM;
}

static int map_add(pt_strmap_t *m, const char *k, size_t kl, const char *v, size_t vl)
{
    char **nk = pt_realloc(m->keys, sizeof(char *) * (m->n + 1));
    if (nk == NULL) {
        return -ENOMEM;
    }
    m->keys = nk;
    char **nv = pt_realloc(m->vals, sizeof(char *) * (m->n + 1));
    if (nv == NULL) {
        return -ENOMEM;
    }
    m->vals = nv;
    m->keys[m->n] = pt_strndup(k, kl);
    m->vals[m->n] = pt_strndup(v, vl);
    if (m->keys[m->n] == NULL || m->vals[m->n] == NULL) {
        pt_free(m->keys[m->n]);
        pt_free(m->vals[m->n]);
        return -ENOMEM;
    }
    m->n++;
    return 0;
}

/* The downward API writes one `key="value"` per line, the value quoted with Go's %q escapes. */
static int parse_labels(pt_strmap_t *m, const char *text, size_t len)
{
    const char *p = text;
    const char *end = text + len;
    char *val = pt_malloc(len + 1);
    if (val == NULL) {
        return -ENOMEM;
    }
    int rc = 0;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        const char *eq = memchr(p, '=', (size_t)(le - p));
        if (eq != NULL && eq > p) {
            const char *v = eq + 1;
            size_t vl = 0;
            if (v < le && *v == '"') {
                v++;
                while (v < le && *v != '"') {
                    if (*v == '\\' && v + 1 < le) {
                        v++;
                        char ch = *v;
                        val[vl++] = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch == 'r' ? '\r' : ch;
                    } else {
                        val[vl++] = *v;
                    }
                    v++;
                }
            } else {
                vl = (size_t)(le - v);
                memcpy(val, v, vl);
            }
            rc = map_add(m, p, (size_t)(eq - p), val, vl);
        }
        p = le + 1;
    }
    pt_free(val);
    return rc;
}

int pt_if_pod_load(pt_if_pod_t *pod)
{
    memset(pod, 0, sizeof(*pod));
    int rc = 0;
    if (dup_env("POD_NAME", &pod->name) || dup_env("POD_NAMESPACE", &pod->ns) ||
        dup_env("POD_UID", &pod->uid) || dup_env("NODE_NAME", &pod->node) ||
        dup_env("POD_IP", &pod->ip) || dup_env("CONTAINER_NAME", &pod->container) ||
        dup_env("CONTAINER_IMAGE", &pod->image)) {
        rc = -ENOMEM;
        goto fail;
    }
    const char *lf = getenv("PETREL_POD_LABELS_FILE");
    pod->labels_file = pt_strdup(lf != NULL && lf[0] != '\0' ? lf : DEFAULT_LABELS_FILE);
    if (pod->labels_file == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    FILE *f = fopen(pod->labels_file, "rb");
    if (f != NULL) {
        pt_buf_t b;
        pt_buf_init(&b);
        char tmp[4096];
        size_t r;
        while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0 && b.len < (1u << 20)) {
            if (pt_buf_append(&b, tmp, r) != 0) {
                rc = -ENOMEM;
                break;
            }
        }
        fclose(f);
        if (rc == 0) {
            rc = parse_labels(&pod->labels, b.data != NULL ? b.data : "", b.len);
            pod->have_labels = 1;
        }
        pt_buf_free(&b);
        if (rc != 0) {
            goto fail;
        }
    }
    return 0;
fail:
    pt_if_pod_free(pod);
    return rc;
}

void pt_if_pod_free(pt_if_pod_t *pod)
{
    pt_free(pod->name);
    pt_free(pod->ns);
    pt_free(pod->uid);
    pt_free(pod->node);
    pt_free(pod->ip);
    pt_free(pod->container);
    pt_free(pod->image);
    pt_free(pod->labels_file);
    pt_strmap_free(&pod->labels);
    memset(pod, 0, sizeof(*pod));
}

/* ============================================================================ matching ==== */

static const char *lookup(const pt_strmap_t *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->keys[i], key) == 0) {
            return m->vals[i] != NULL ? m->vals[i] : "";
        }
    }
    return NULL;
}

/* A key/value source: the pod labels, petrel's environment, or no container labels. */
typedef const char *(*get_fn)(const void *src, const char *key);

static const char *get_label(const void *src, const char *key)
{
    return lookup(src, key);
}

static const char *get_env(const void *src, const char *key)
{
    (void)src;
    return getenv(key);
}

static const char *get_none(const void *src, const char *key)
{
    (void)src;
    (void)key;
    return NULL;
}

/* 1 when any condition of map holds for the source (LoongCollector: entries are OR'ed). */
static int any_holds(const pt_strmap_t *map, pt_pcre2_code_t *const *re, get_fn get,
                     const void *src, size_t *which)
{
    for (size_t i = 0; i < map->n; i++) {
        const char *have = get(src, map->keys[i]);
        if (have == NULL) {
            continue;
        }
        const char *want = map->vals[i] != NULL ? map->vals[i] : "";
        if (want[0] == '\0' ||
            (re != NULL && re[i] != NULL ? pt_if_re_match(re[i], NULL, have, strlen(have))
                                         : strcmp(want, have) == 0)) {
            *which = i;
            return 1;
        }
    }
    return 0;
}

static int check_regex(const pt_pcre2_code_t *re, const char *key, const char *what,
                       const char *envname, const char *have, char *why, size_t whylen)
{
    if (re == NULL) {
        return 1;
    }
    if (have == NULL) {
        snprintf(why, whylen, "%s is set but %s is unknown (%s is not set)", key, what, envname);
        return 0;
    }
    if (!pt_if_re_match(re, NULL, have, strlen(have))) {
        snprintf(why, whylen, "%s does not match %s '%s'", key, what, have);
        return 0;
    }
    return 1;
}

int pt_if_k8s_match(const pt_if_k8s_t *k, const pt_if_conf_t *c, const pt_if_pod_t *pod, char *why,
                    size_t whylen)
{
    size_t i = 0;
    if (!check_regex(k->ns_re, "K8sNamespaceRegex", "namespace", "POD_NAMESPACE", pod->ns, why,
                     whylen) ||
        !check_regex(k->pod_re, "K8sPodRegex", "pod name", "POD_NAME", pod->name, why, whylen) ||
        !check_regex(k->ctr_re, "K8sContainerRegex", "container name", "CONTAINER_NAME",
                     pod->container, why, whylen)) {
        return 0;
    }
    if (c->cf_include_label.n > 0 &&
        !any_holds(&c->cf_include_label, k->inc_label_re, get_label, &pod->labels, &i)) {
        snprintf(why, whylen, "no IncludeK8sLabel condition holds for the pod labels%s",
                 pod->have_labels ? "" : " (no labels file)");
        return 0;
    }
    if (any_holds(&c->cf_exclude_label, k->exc_label_re, get_label, &pod->labels, &i)) {
        snprintf(why, whylen, "ExcludeK8sLabel '%s' matches the pod labels",
                 c->cf_exclude_label.keys[i]);
        return 0;
    }
    if (c->cf_include_env.n > 0 &&
        !any_holds(&c->cf_include_env, k->inc_env_re, get_env, NULL, &i)) {
        snprintf(why, whylen, "no IncludeEnv condition holds");
        return 0;
    }
    if (any_holds(&c->cf_exclude_env, k->exc_env_re, get_env, NULL, &i)) {
        snprintf(why, whylen, "ExcludeEnv '%s' matches", c->cf_exclude_env.keys[i]);
        return 0;
    }
    /* A sidecar sees no container runtime labels: an include condition cannot hold. */
    if (c->cf_include_ctr_label.n > 0 &&
        !any_holds(&c->cf_include_ctr_label, k->inc_cl_re, get_none, NULL, &i)) {
        snprintf(why, whylen,
                 "IncludeContainerLabel cannot hold in sidecar mode (no container "
                 "labels are visible)");
        return 0;
    }
    return 1;
}

/* ================================================================================ tags ==== */

const char *pt_if_tag_name(const pt_if_conf_t *c, const char *option, const char *def)
{
    const char *v = lookup(&c->tags, option);
    if (v == NULL || strcmp(v, "__default__") == 0) {
        return def;
    }
    return v[0] == '\0' ? NULL : v;
}

static int tag_add(pt_if_tag_t **tags, size_t *n, const char *k, const char *v)
{
    if (k == NULL) {
        return 0; /* renamed to "": dropped */
    }
    pt_if_tag_t *nt = pt_realloc(*tags, sizeof(**tags) * (*n + 1));
    if (nt == NULL) {
        return -ENOMEM;
    }
    *tags = nt;
    nt[*n].key = pt_strdup(k);
    nt[*n].val = pt_strdup(v != NULL ? v : "");
    if (nt[*n].key == NULL || nt[*n].val == NULL) {
        pt_free(nt[*n].key);
        pt_free(nt[*n].val);
        return -ENOMEM;
    }
    (*n)++;
    return 0;
}

int pt_if_k8s_tags(const pt_if_conf_t *c, const pt_if_pod_t *pod, pt_if_tag_t **tags, size_t *ntags)
{
    int rc = 0;
    rc = rc ? rc
            : tag_add(tags, ntags, pt_if_tag_name(c, "K8sNamespaceTagKey", "_namespace_"), pod->ns);
    rc = rc ? rc
            : tag_add(tags, ntags, pt_if_tag_name(c, "K8sPodNameTagKey", "_pod_name_"), pod->name);
    rc =
        rc ? rc : tag_add(tags, ntags, pt_if_tag_name(c, "K8sPodUidTagKey", "_pod_uid_"), pod->uid);
    rc = rc ? rc
            : tag_add(tags, ntags, pt_if_tag_name(c, "ContainerNameTagKey", "_container_name_"),
                      pod->container);
    rc = rc ? rc
            : tag_add(tags, ntags, pt_if_tag_name(c, "ContainerIpTagKey", "_container_ip_"),
                      pod->ip);
    rc = rc ? rc
            : tag_add(tags, ntags, pt_if_tag_name(c, "ContainerImageNameTagKey", "_image_name_"),
                      pod->image);
    if (pod->node != NULL) {
        rc = rc ? rc
                : tag_add(tags, ntags, pt_if_tag_name(c, "K8sNodeNameTagKey", "_node_name_"),
                          pod->node);
    }
    /* Absent labels and variables still get their tag, empty (LoongCollector). */
    for (size_t i = 0; i < c->external_k8s_label_tag.n && rc == 0; i++) {
        rc = tag_add(tags, ntags, c->external_k8s_label_tag.vals[i],
                     lookup(&pod->labels, c->external_k8s_label_tag.keys[i]));
    }
    for (size_t i = 0; i < c->external_env_tag.n && rc == 0; i++) {
        rc = tag_add(tags, ntags, c->external_env_tag.vals[i], getenv(c->external_env_tag.keys[i]));
    }
    return rc;
}
