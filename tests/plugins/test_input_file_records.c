/* Unit tests for input_file's record assembly (inputs/input_file/multiline.c: every Multiline
 * combination as LoongCollector splits them, JSON mode, unmatched lines kept or dropped, the
 * unfinished record at the end of a read), its encodings (encoding.c: GBK and UTF-16 to UTF-8,
 * line ends in UTF-16, invalid input), its path patterns (discovery.c) and the pod filters and
 * tags of sidecar mode (k8s_meta.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "inputs/input_file/input_file_internal.h"

/* ===================================================================== record assembly ===== */

typedef struct {
    pt_if_conf_t c;
    pt_plugin_inst_t inst;
    pt_cfg_diag_t d;
    pt_if_ml_t ml;
    pt_if_line_t lines[64];
    uint32_t n;
    char text[4096];
} ml_env_t;

static int ml_setup(ml_env_t *e, const char *mode, const char *start, const char *cont,
                    const char *end, const char *unmatched)
{
    memset(e, 0, sizeof(*e));
    e->c.ml_mode = (char *)mode;
    e->c.ml_start = (char *)start;
    e->c.ml_continue = (char *)cont;
    e->c.ml_end = (char *)end;
    e->c.ml_unmatched = (char *)unmatched;
    e->inst.id = (char *)"p/input_file";
    e->inst.line = 3;
    pt_cfg_diag_init(&e->d, "t.yaml", "p");
    e->d.plugin = "input_file";
    return pt_if_ml_init(&e->ml, &e->c, &e->inst, &e->d);
}

static void ml_teardown(ml_env_t *e)
{
    pt_if_ml_free(&e->ml);
    pt_cfg_diag_free(&e->d);
}

/* Splits text at '\n' into e->lines (the last piece too, even if empty-free). */
static void ml_lines(ml_env_t *e, const char *text)
{
    snprintf(e->text, sizeof(e->text), "%s", text);
    e->n = 0;
    char *p = e->text;
    uint64_t off = 0;
    while (*p != '\0') {
        char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        e->lines[e->n].p = p;
        e->lines[e->n].len = (uint32_t)len;
        e->lines[e->n].off = off;
        e->lines[e->n].cut = 0;
        e->n++;
        off += len + 1;
        p += len + (nl != NULL);
    }
}

/* Runs the split and renders the records as "a|b;c;" (lines of a record joined by '|'); the
 * pending index and the unmatched count are returned through the pointers. */
static const char *ml_run(ml_env_t *e, int final, uint32_t *pending, uint64_t *unmatched)
{
    static char out[4096];
    pt_if_rec_t recs[64];
    uint64_t um = 0;
    uint32_t pend = 0;
    uint32_t nr = pt_if_ml_split(&e->ml, e->lines, e->n, final, recs, &pend, &um);
    out[0] = '\0';
    for (uint32_t i = 0; i < nr; i++) {
        for (uint32_t k = recs[i].first; k <= recs[i].last; k++) {
            strncat(out, e->lines[k].p, e->lines[k].len);
            if (k < recs[i].last) {
                strcat(out, "|");
            }
        }
        strcat(out, ";");
    }
    if (pending != NULL) {
        *pending = pend;
    }
    if (unmatched != NULL) {
        *unmatched = um;
    }
    return out;
}

static const char *java = "junk before\n"
                          "2024-01-01 ERROR boom\n"
                          "\tat a.b(C.java:1)\n"
                          "\tat d.e(F.java:2)\n"
                          "2024-01-01 INFO fine\n"
                          "2024-01-01 WARN again\n"
                          "\tat x.y(Z.java:3)";

static void test_start_only(void **state)
{
    (void)state;
    ml_env_t e;
    assert_int_equal(ml_setup(&e, "custom", "\\d{4}-\\d{2}-\\d{2} .*", NULL, NULL, NULL), 0);
    assert_int_equal(e.ml.mode, PT_IF_ML_CUSTOM);
    ml_lines(&e, java);
    uint32_t pending;
    uint64_t um;
    /* Not final: the last record may still grow, so it is pending from its start line. */
    assert_string_equal(ml_run(&e, 0, &pending, &um),
                        "junk before;2024-01-01 ERROR boom|\tat a.b(C.java:1)|\tat d.e(F.java:2);"
                        "2024-01-01 INFO fine;");
    assert_int_equal(pending, 5);
    assert_int_equal(um, 1);
    /* Final (flush timeout): the pending record is delivered as it is. */
    assert_string_equal(ml_run(&e, 1, &pending, &um),
                        "junk before;2024-01-01 ERROR boom|\tat a.b(C.java:1)|\tat d.e(F.java:2);"
                        "2024-01-01 INFO fine;2024-01-01 WARN again|\tat x.y(Z.java:3);");
    assert_int_equal(pending, e.n);
    /* Anchored at the line start: a date later in a line does not start a record. */
    ml_lines(&e, "2024-01-01 a\nsee 2024-01-01 b\n2024-01-01 c");
    assert_string_equal(ml_run(&e, 1, NULL, NULL), "2024-01-01 a|see 2024-01-01 b;2024-01-01 c;");
    ml_teardown(&e);
}

static void test_unmatched_discard(void **state)
{
    (void)state;
    ml_env_t e;
    assert_int_equal(ml_setup(&e, "custom", "\\d{4}-", NULL, NULL, "discard"), 0);
    ml_lines(&e, java);
    uint64_t um;
    assert_string_equal(ml_run(&e, 1, NULL, &um),
                        "2024-01-01 ERROR boom|\tat a.b(C.java:1)|\tat d.e(F.java:2);"
                        "2024-01-01 INFO fine;2024-01-01 WARN again|\tat x.y(Z.java:3);");
    assert_int_equal(um, 1);
    ml_teardown(&e);
}

static void test_start_continue(void **state)
{
    (void)state;
    ml_env_t e;
    assert_int_equal(ml_setup(&e, NULL, "\\d{4}-", "\\tat ", NULL, NULL), 0);
    ml_lines(&e, "2024-1 a\n\tat 1\n\tat 2\nloose\n2024-2 b\n2024-3 c\n\tat 3");
    uint32_t pending;
    uint64_t um;
    assert_string_equal(ml_run(&e, 0, &pending, &um), "2024-1 a|\tat 1|\tat 2;loose;2024-2 b;");
    assert_int_equal(pending, 5);
    assert_int_equal(um, 1);
    ml_teardown(&e);
}

static void test_start_end(void **state)
{
    (void)state;
    ml_env_t e;
    assert_int_equal(ml_setup(&e, NULL, "BEGIN", NULL, "END", NULL), 0);
    ml_lines(&e, "x\nBEGIN 1\nmid\nEND 1\ny\nBEGIN 2\nmid");
    uint32_t pending;
    uint64_t um;
    assert_string_equal(ml_run(&e, 0, &pending, &um), "x;BEGIN 1|mid|END 1;y;");
    assert_int_equal(pending, 5);
    /* The end never came: at the flush the lines are unmatched, one event each. */
    assert_string_equal(ml_run(&e, 1, &pending, &um), "x;BEGIN 1|mid|END 1;y;BEGIN 2;mid;");
    assert_int_equal(um, 4);
    ml_teardown(&e);
}

static void test_continue_end_and_end_only(void **state)
{
    (void)state;
    ml_env_t e;
    assert_int_equal(ml_setup(&e, NULL, NULL, "\\s", "END", NULL), 0);
    ml_lines(&e, "a\n b\n c\nEND\nEND alone\nq\n d\nnot end");
    assert_string_equal(ml_run(&e, 1, NULL, NULL), "a; b| c|END;END alone;q; d;not end;");
    ml_teardown(&e);

    assert_int_equal(ml_setup(&e, NULL, NULL, NULL, ".*;$", NULL), 0);
    ml_lines(&e, "select 1\nfrom t;\nselect 2;\nselect 3");
    uint32_t pending;
    assert_string_equal(ml_run(&e, 0, &pending, NULL), "select 1|from t;;select 2;;");
    assert_int_equal(pending, 3);
    ml_teardown(&e);
}

static void test_options(void **state)
{
    (void)state;
    ml_env_t e;
    /* ContinuePattern alone is not multiline (LoongCollector ignores it, with a warning). */
    assert_int_equal(ml_setup(&e, NULL, NULL, "x", NULL, NULL), 0);
    assert_int_equal(e.ml.mode, PT_IF_ML_NONE);
    assert_non_null(strstr(pt_cfg_diag_text(&e.d), "Multiline.ContinuePattern: warning: ignored"));
    ml_teardown(&e);
    /* ".*" alone is "not set"; an escaped "\.*" is kept. */
    assert_int_equal(ml_setup(&e, NULL, ".*", NULL, NULL, NULL), 0);
    assert_int_equal(e.ml.mode, PT_IF_ML_NONE);
    ml_teardown(&e);
    assert_int_equal(ml_setup(&e, NULL, "a\\.*", NULL, NULL, NULL), 0);
    assert_int_equal(e.ml.mode, PT_IF_ML_CUSTOM);
    ml_lines(&e, "a...\nb\naz");
    assert_string_equal(ml_run(&e, 1, NULL, NULL), "a...|b;az;");
    ml_teardown(&e);
    /* A bad regex is a config error naming the key, the pattern and the position. */
    assert_int_equal(ml_setup(&e, NULL, "(unclosed", NULL, NULL, NULL), -EINVAL);
    assert_non_null(strstr(pt_cfg_diag_text(&e.d),
                           "[t.yaml:3] p/input_file.Multiline.StartPattern: '(unclosed' is not a "
                           "valid regex: missing closing parenthesis"));
    ml_teardown(&e);
}

static void test_json_mode(void **state)
{
    (void)state;
    ml_env_t e;
    assert_int_equal(ml_setup(&e, "JSON", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(e.ml.mode, PT_IF_ML_JSON);
    ml_lines(&e, "{\"a\": 1}\n"
                 "{\n"
                 "  \"b\": \"}{\",\n"
                 "  \"c\": [1, {\"d\": \"\\\"}\"}]\n"
                 "}\n"
                 "plain text\n"
                 "  {\"e\":\n"
                 "   2");
    uint32_t pending;
    uint64_t um;
    assert_string_equal(ml_run(&e, 0, &pending, &um),
                        "{\"a\": 1};{|  \"b\": \"}{\",|  \"c\": [1, {\"d\": \"\\\"}\"}]|};"
                        "plain text;");
    assert_int_equal(pending, 6);
    assert_int_equal(um, 1);
    assert_string_equal(ml_run(&e, 1, &pending, &um),
                        "{\"a\": 1};{|  \"b\": \"}{\",|  \"c\": [1, {\"d\": \"\\\"}\"}]|};"
                        "plain text;  {\"e\":|   2;");
    ml_teardown(&e);
}

/* ========================================================================== encodings ===== */

static void test_encodings(void **state)
{
    (void)state;
    pt_if_enc_t enc;
    assert_int_equal(pt_if_enc_parse("GBK", &enc), 0);
    assert_int_equal(enc, PT_IF_ENC_GBK);
    assert_int_equal(pt_if_enc_parse("utf16", &enc), 0);
    assert_int_equal(enc, PT_IF_ENC_UTF16);
    assert_int_equal(pt_if_enc_parse("utf8", &enc), 0);
    assert_int_equal(pt_if_enc_parse("latin1", &enc), -EINVAL);

    /* GBK "中文" = D6 D0 CE C4 -> UTF-8 E4 B8 AD E6 96 87; a lone 0xFF becomes U+FFFD. */
    pt_if_conv_t cv = {PT_IF_ENC_GBK, NULL, 0};
    char out[64];
    const char gbk[] = "\xD6\xD0\xCE\xC4 ok \xFF!";
    size_t n = pt_if_conv(&cv, 0, gbk, sizeof(gbk) - 1, out, sizeof(out));
    assert_int_equal(n, 6 + 4 + 3 + 1);
    assert_memory_equal(out, "\xE4\xB8\xAD\xE6\x96\x87 ok \xEF\xBF\xBD!", n);
    /* A character cut at the end of the input is replaced, not lost silently. */
    n = pt_if_conv(&cv, 0, "a\xD6", 2, out, sizeof(out));
    assert_int_equal(n, 4);
    assert_memory_equal(out, "a\xEF\xBF\xBD", 4);
    pt_if_conv_free(&cv);
    assert_int_equal(pt_if_find_nl(PT_IF_ENC_GBK, 0, "\xD6\xD0\n", 3, 0), 3);

    /* UTF-16LE "hé\n" and UTF-16BE; line ends only at even file offsets. */
    pt_if_conv_t u = {PT_IF_ENC_UTF16, NULL, 0};
    const char le[] = {'h', 0, (char)0xE9, 0, '\n', 0};
    assert_int_equal(pt_if_find_nl(PT_IF_ENC_UTF16, 0, le, 6, 0), 6);
    assert_int_equal(pt_if_find_nl(PT_IF_ENC_UTF16, 0, le, 6, 2), 6);
    /* "\n" as the high byte of a unit is no line end: U+0A68 = 68 0A. */
    const char tricky[] = {0x68, 0x0A, 'x', 0, '\n', 0};
    assert_int_equal(pt_if_find_nl(PT_IF_ENC_UTF16, 0, tricky, 6, 0), 6);
    n = pt_if_conv(&u, 0, le, 4, out, sizeof(out));
    assert_int_equal(n, 3);
    assert_memory_equal(out, "h\xC3\xA9", 3);
    const char be[] = {0, 'h', 0, (char)0xE9, 0, '\n'};
    assert_int_equal(pt_if_find_nl(PT_IF_ENC_UTF16, 1, be, 6, 0), 6);
    n = pt_if_conv(&u, 1, be, 4, out, sizeof(out));
    assert_int_equal(n, 3);
    assert_memory_equal(out, "h\xC3\xA9", 3);
    /* A lone surrogate is invalid: U+FFFD. */
    const char lone[] = {0x00, (char)0xD8, 'a', 0};
    n = pt_if_conv(&u, 0, lone, 4, out, sizeof(out));
    assert_memory_equal(out,
                        "\xEF\xBF\xBD"
                        "a",
                        4);
    pt_if_conv_free(&u);
}

/* ========================================================================== patterns ====== */

static void test_patterns(void **state)
{
    (void)state;
    pt_if_conf_t c;
    memset(&c, 0, sizeof(c));
    char *paths[] = {(char *)"/var/log/*/app/**/*.log", (char *)"/data//./x/../y/a?.txt",
                     (char *)"/srv/**/x/*.log", (char *)"/srv/dir/"};
    c.file_paths.v = paths;
    c.file_paths.n = 2;
    c.max_depth = 2;
    pt_if_state_t s;
    memset(&s, 0, sizeof(s));
    s.c = &c;
    pt_plugin_inst_t inst;
    memset(&inst, 0, sizeof(inst));
    inst.line = 7;
    s.inst = &inst;
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, "t.yaml", "p");
    assert_int_equal(pt_if_patterns_init(&s, &d), 0);
    assert_string_equal(s.pats[0].base, "/var/log");
    assert_int_equal(s.pats[0].ncomps, 2);
    assert_int_equal(s.pats[0].recursive, 1);
    assert_int_equal(s.pats[0].rank, 4);
    assert_string_equal(s.pats[1].base, "/data/y");
    assert_string_equal(s.pats[1].file, "a?.txt");
    assert_true(pt_if_pattern_match(&s.pats[0], "/var/log/svc/app/x.log"));
    assert_true(pt_if_pattern_match(&s.pats[0], "/var/log/svc/app/a/b/x.log"));
    assert_false(pt_if_pattern_match(&s.pats[0], "/var/log/svc/app/a/b/c/x.log")); /* depth 3 */
    assert_false(pt_if_pattern_match(&s.pats[0], "/var/log/svc/other/x.log"));
    assert_false(pt_if_pattern_match(&s.pats[0], "/var/log/svc/app/x.txt"));
    assert_false(pt_if_pattern_match(&s.pats[0], "/var/logs/svc/app/x.log"));
    assert_true(pt_if_pattern_match(&s.pats[1], "/data/y/a1.txt"));
    assert_false(pt_if_pattern_match(&s.pats[1], "/data/y/z/a1.txt"));
    pt_if_patterns_free(&s);
    /* ** anywhere but last, and a trailing slash, are errors. */
    c.file_paths.v = paths + 2;
    c.file_paths.n = 2;
    assert_int_equal(pt_if_patterns_init(&s, &d), -EINVAL);
    assert_non_null(strstr(pt_cfg_diag_text(&d), "'/srv/**/x/*.log': '**' may only be the last "
                                                 "directory"));
    assert_non_null(strstr(pt_cfg_diag_text(&d), "'/srv/dir/' names a directory"));
    pt_if_patterns_free(&s);
    pt_cfg_diag_free(&d);
}

/* ============================================================================ sidecar ====== */

static void test_pod_filters_and_tags(void **state)
{
    (void)state;
    char lf[] = "/tmp/petrel-test-labels-XXXXXX";
    int fd = mkstemp(lf);
    assert_true(fd >= 0);
    const char *labels = "app=\"agent\"\ntier=\"sand\\\"box\"\nempty=\"\"\n";
    assert_int_equal(write(fd, labels, strlen(labels)), (ssize_t)strlen(labels));
    close(fd);
    setenv("PETREL_POD_LABELS_FILE", lf, 1);
    setenv("POD_NAME", "agent-7f9c", 1);
    setenv("POD_NAMESPACE", "sandbox", 1);
    setenv("POD_UID", "u-1", 1);
    unsetenv("NODE_NAME");
    unsetenv("CONTAINER_NAME");
    unsetenv("CONTAINER_IMAGE");
    unsetenv("POD_IP");
    pt_if_pod_t pod;
    assert_int_equal(pt_if_pod_load(&pod), 0);
    assert_int_equal(pod.labels.n, 3);
    assert_string_equal(pod.labels.vals[1], "sand\"box");

    pt_if_conf_t c;
    memset(&c, 0, sizeof(c));
    char *ik[] = {(char *)"app"}, *iv[] = {(char *)"^ag.*$"};
    c.cf_include_label = (pt_strmap_t){ik, iv, 1};
    c.cf_ns_regex = (char *)"sand.*";
    pt_plugin_inst_t inst;
    memset(&inst, 0, sizeof(inst));
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, "t.yaml", "p");
    pt_if_k8s_t k;
    assert_int_equal(pt_if_k8s_init(&k, &c, &inst, &d), 0);
    char why[256];
    assert_int_equal(pt_if_k8s_match(&k, &c, &pod, why, sizeof(why)), 1);
    pt_if_k8s_free(&k, &c);
    /* Full-name match: "sand" alone does not match namespace "sandbox". */
    c.cf_ns_regex = (char *)"sand";
    assert_int_equal(pt_if_k8s_init(&k, &c, &inst, &d), 0);
    assert_int_equal(pt_if_k8s_match(&k, &c, &pod, why, sizeof(why)), 0);
    assert_string_equal(why, "K8sNamespaceRegex does not match namespace 'sandbox'");
    pt_if_k8s_free(&k, &c);
    c.cf_ns_regex = NULL;
    char *xk[] = {(char *)"tier"}, *xv[] = {(char *)"sand\"box"};
    c.cf_exclude_label = (pt_strmap_t){xk, xv, 1};
    assert_int_equal(pt_if_k8s_init(&k, &c, &inst, &d), 0);
    assert_int_equal(pt_if_k8s_match(&k, &c, &pod, why, sizeof(why)), 0);
    assert_string_equal(why, "ExcludeK8sLabel 'tier' matches the pod labels");
    pt_if_k8s_free(&k, &c);
    c.cf_exclude_label = (pt_strmap_t){NULL, NULL, 0};
    c.cf_container_regex = (char *)"x";
    assert_int_equal(pt_if_k8s_init(&k, &c, &inst, &d), 0);
    assert_int_equal(pt_if_k8s_match(&k, &c, &pod, why, sizeof(why)), 0);
    assert_string_equal(why, "K8sContainerRegex is set but container name is unknown "
                             "(CONTAINER_NAME is not set)");
    pt_if_k8s_free(&k, &c);
    c.cf_container_regex = NULL;

    /* Tags: LoongCollector's names, renamed or dropped by Tags, labels by ExternalK8sLabelTag. */
    char *tk[] = {(char *)"K8sPodUidTagKey", (char *)"K8sNamespaceTagKey"};
    char *tv[] = {(char *)"", (char *)"ns"};
    c.tags = (pt_strmap_t){tk, tv, 2};
    char *lk[] = {(char *)"app", (char *)"missing"}, *lv[] = {(char *)"k8s_app", (char *)"k8s_m"};
    c.external_k8s_label_tag = (pt_strmap_t){lk, lv, 2};
    pt_if_tag_t *tags = NULL;
    size_t ntags = 0;
    assert_int_equal(pt_if_k8s_tags(&c, &pod, &tags, &ntags), 0);
    char all[512] = "";
    for (size_t i = 0; i < ntags; i++) {
        char one[128];
        snprintf(one, sizeof(one), "%s=%s;", tags[i].key, tags[i].val);
        strcat(all, one);
        pt_free(tags[i].key);
        pt_free(tags[i].val);
    }
    pt_free(tags);
    assert_string_equal(all, "ns=sandbox;_pod_name_=agent-7f9c;_container_name_=;"
                             "_container_ip_=;_image_name_=;k8s_app=agent;k8s_m=;");
    pt_if_pod_free(&pod);
    pt_cfg_diag_free(&d);
    unlink(lf);
}

int main(void)
{
    pt_log_set_level(PT_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_only),
        cmocka_unit_test(test_unmatched_discard),
        cmocka_unit_test(test_start_continue),
        cmocka_unit_test(test_start_end),
        cmocka_unit_test(test_continue_end_and_end_only),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_json_mode),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_pod_filters_and_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
