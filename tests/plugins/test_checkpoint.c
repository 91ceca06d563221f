/* Tests for input_file's checkpoint store (inputs/input_file/checkpoint.c): save/load round trips
 * with awkward paths, corrupt files that must not stop start-up, the atomic replace, and the file
 * fingerprint that tells a rotated or replaced file from the one a checkpoint was written for. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "inputs/input_file/input_file_internal.h"

static char dir[256];
static char ckdir[320];

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        unlink(path);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static int setup(void **state)
{
    (void)state;
    pt_log_set_level(PT_LOG_ERROR); /* corrupt files are logged as warnings */
    snprintf(dir, sizeof(dir), "/tmp/petrel-test-ckpt-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(ckdir, sizeof(ckdir), "%s/checkpoints", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_tree(dir);
    return 0;
}

static void write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static uint64_t fnv1a(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ c[i]) * 1099511628211ull;
    }
    return h;
}

/* Names of the files in the checkpoint directory, sorted, joined by spaces. */
static const char *listing(void)
{
    static char out[1024];
    char names[16][256];
    int n = 0;
    DIR *d = opendir(ckdir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 16) {
        if (de->d_name[0] != '.') {
            snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
        }
    }
    closedir(d);
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            if (strcmp(names[j], names[i]) < 0) {
                char t[256];
                memcpy(t, names[i], sizeof(t));
                memcpy(names[i], names[j], sizeof(t));
                memcpy(names[j], t, sizeof(t));
            }
        }
    }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(out, i ? " " : "");
        strcat(out, names[i]);
    }
    return out;
}

/* ========================================================================== round trip === */

static void test_round_trip(void **state)
{
    (void)state;
    pt_ckpt_t c;
    /* No file yet: fine, empty, and the directory is created. */
    assert_int_equal(pt_ckpt_load(&c, dir, "pipe", "test"), 0);
    assert_int_equal(c.n, 0);
    char want_path[512];
    snprintf(want_path, sizeof(want_path), "%s/checkpoints/pipe.json", dir);
    assert_string_equal(c.path, want_path);
    struct stat st;
    assert_int_equal(stat(ckdir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    char p0[] = "/var/log/a \"quoted\" \\ back\\slash.log";
    char p1[] = "/日志/файл-é/😀.log";
    char p2[] = "/logs/tab\there/new\nline/ctl\x01.log";
    char p3[] = "";
    pt_ckpt_entry_t v[4] = {
        {UINT64_MAX, UINT64_MAX - 1, 0xfedcba9876543210ull, 1024, (1ull << 40) + 3, p0, 0, 0, 0, 0},
        {2049, 12345678901234ull, 0x0000000000000001ull, 17, 0, p1, 0, 0, 0, 0},
        {1, 2, 0, 0, 99, p2, 0, 0, 0, 0},
        {0, 0, 0xffffffffffffffffull, 4096, UINT64_MAX, p3, 0, 0, 0, 0},
    };
    assert_int_equal(pt_ckpt_save(&c, v, 4), 0);
    assert_string_equal(listing(), "pipe.json");
    pt_ckpt_free(&c);

    assert_int_equal(pt_ckpt_load(&c, dir, "pipe", "test"), 0);
    assert_int_equal(c.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(c.v[i].dev, v[i].dev);
        assert_int_equal(c.v[i].ino, v[i].ino);
        assert_int_equal(c.v[i].fp, v[i].fp);
        assert_int_equal(c.v[i].fplen, v[i].fplen);
        assert_int_equal(c.v[i].offset, v[i].offset);
        assert_string_equal(c.v[i].path, v[i].path);
        assert_int_equal(c.v[i].seen, 0);
    }
    /* Lookup by device and inode. */
    const pt_ckpt_entry_t *e = pt_ckpt_find(&c, 2049, 12345678901234ull);
    assert_non_null(e);
    assert_string_equal(e->path, p1);
    assert_null(pt_ckpt_find(&c, 2049, 12345678901235ull));
    assert_null(pt_ckpt_find(&c, 2050, 12345678901234ull));

    /* Saving again replaces the file; no entry means an empty list. */
    assert_int_equal(pt_ckpt_save(&c, v + 1, 1), 0);
    pt_ckpt_free(&c);
    assert_int_equal(pt_ckpt_load(&c, dir, "pipe", "test"), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0].path, p1);
    assert_int_equal(pt_ckpt_save(&c, NULL, 0), 0);
    pt_ckpt_free(&c);
    assert_int_equal(pt_ckpt_load(&c, dir, "pipe", "test"), 0);
    assert_int_equal(c.n, 0);
    assert_string_equal(listing(), "pipe.json");
    pt_ckpt_free(&c);
    pt_ckpt_free(&c); /* freeing twice is harmless: it was reset */
}

/* Many entries, and a document that is not exactly what petrel writes (spaces, extra keys,
 * other key order) but says the same. */
static void test_many_entries_and_foreign_layout(void **state)
{
    (void)state;
    pt_ckpt_t c;
    assert_int_equal(pt_ckpt_load(&c, dir, "many", "test"), 0);
    enum { N = 2000 };
    pt_ckpt_entry_t *v = calloc(N, sizeof(*v));
    char(*paths)[64] = calloc(N, 64);
    for (int i = 0; i < N; i++) {
        snprintf(paths[i], 64, "/data/app-%d.log", i);
        v[i] = (pt_ckpt_entry_t){(uint64_t)i,
                                 (uint64_t)i * 7u,
                                 (uint64_t)i * 0x9e3779b97f4a7c15ull,
                                 (uint32_t)(i % 1025),
                                 (uint64_t)i * 1000u,
                                 paths[i],
                                 0,
                                 0,
                                 0,
                                 0};
    }
    assert_int_equal(pt_ckpt_save(&c, v, N), 0);
    pt_ckpt_free(&c);
    assert_int_equal(pt_ckpt_load(&c, dir, "many", "test"), 0);
    assert_int_equal(c.n, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(c.v[i].ino, (uint64_t)i * 7u);
        assert_int_equal(c.v[i].fp, (uint64_t)i * 0x9e3779b97f4a7c15ull);
        assert_int_equal(c.v[i].offset, (uint64_t)i * 1000u);
        assert_string_equal(c.v[i].path, paths[i]);
    }
    pt_ckpt_free(&c);
    free(v);
    free(paths);

    char path[512];
    snprintf(path, sizeof(path), "%s/foreign.json", ckdir);
    const char *doc =
        "{ \"comment\": {\"x\": [1, 2]},\n"
        "  \"files\" : [ { \"offset\" : 77, \"extra\": null, \"fp\": \"00000000000000ff\","
        " \"path\": \"/a\\u00e9\\n.log\", \"ino\": 5, \"dev\": 6, \"fplen\": 3 } ],\n"
        "  \"version\": 1 }\n";
    write_file(path, doc, strlen(doc));
    assert_int_equal(pt_ckpt_load(&c, dir, "foreign", "test"), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].offset, 77);
    assert_int_equal(c.v[0].fp, 0xff);
    assert_int_equal(c.v[0].ino, 5);
    assert_int_equal(c.v[0].dev, 6);
    assert_int_equal(c.v[0].fplen, 3);
    assert_string_equal(c.v[0].path, "/a\xc3\xa9\n.log");
    pt_ckpt_free(&c);
}

/* ============================================================================ corrupt ==== */

static void load_corrupt(const char *name, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.json", ckdir, name);
    write_file(path, data, n);
    pt_ckpt_t c;
    assert_int_equal(pt_ckpt_load(&c, dir, name, "test"), 0);
    if (c.n != 0) {
        fail_msg("%s: %zu entries from a corrupt file", name, c.n);
    }
    /* The store stays usable: the next save replaces the corrupt file. */
    pt_ckpt_entry_t e = {1, 2, 3, 4, 5, (char *)"/ok.log", 0, 0, 0, 0};
    assert_int_equal(pt_ckpt_save(&c, &e, 1), 0);
    pt_ckpt_free(&c);
    assert_int_equal(pt_ckpt_load(&c, dir, name, "test"), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].offset, 5);
    pt_ckpt_free(&c);
}

#define LOAD_CORRUPT_LIT(name, lit) load_corrupt((name), (lit), sizeof(lit) - 1)

static void test_corrupt_files_load_empty(void **state)
{
    (void)state;
    pt_ckpt_t c;
    assert_int_equal(pt_ckpt_load(&c, dir, "seed", "test"), 0); /* makes the directory */
    /* A valid file with two entries, cut in the middle of the second one. */
    pt_ckpt_entry_t v[2] = {{1, 2, 3, 4, 500, (char *)"/a.log", 0, 0, 0, 0},
                            {5, 6, 7, 8, 900, (char *)"/b.log", 0, 0, 0, 0}};
    assert_int_equal(pt_ckpt_save(&c, v, 2), 0);
    size_t len = 0;
    char full[512];
    {
        FILE *f = fopen(c.path, "rb");
        assert_non_null(f);
        len = fread(full, 1, sizeof(full), f);
        fclose(f);
    }
    pt_ckpt_free(&c);
    assert_true(len > 40);
    load_corrupt("truncated", full, len * 3 / 4);
    load_corrupt("truncated1", full, len - 3); /* only the closing brackets are missing */
    LOAD_CORRUPT_LIT("empty", "");
    LOAD_CORRUPT_LIT("garbage", "\x89PNG\r\n\x1a\n\x00\x00\xff\xfe garbage");
    LOAD_CORRUPT_LIT("text", "offset=12\n");
    LOAD_CORRUPT_LIT("array", "[{\"offset\":1}]");
    LOAD_CORRUPT_LIT("not_object_entry", "{\"files\":[{\"dev\":1,\"offset\":2},3]}");
    LOAD_CORRUPT_LIT("nul_inside", "{\"files\":[]}\0{}");
    LOAD_CORRUPT_LIT("bad_utf8", "{\"files\":[{\"path\":\"\xff\",\"offset\":1}]}");
}

/* ============================================================================= atomic ==== */

static void test_atomic_replace(void **state)
{
    (void)state;
    pt_ckpt_t c;
    assert_int_equal(pt_ckpt_load(&c, dir, "atomic", "test"), 0);
    pt_ckpt_entry_t e = {1, 2, 3, 4, 5, (char *)"/x.log", 0, 0, 0, 0};
    for (int i = 0; i < 50; i++) {
        e.offset = (uint64_t)i;
        assert_int_equal(pt_ckpt_save(&c, &e, 1), 0);
        /* Only the file itself, never its temporary, after every save. */
        assert_string_equal(listing(), "atomic.json");
    }
    /* A stale temporary from a crash is simply overwritten by the next save. */
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", c.path);
    write_file(tmp, "half a checkp", 13);
    assert_int_equal(pt_ckpt_save(&c, &e, 1), 0);
    assert_string_equal(listing(), "atomic.json");
    pt_ckpt_free(&c);
    assert_int_equal(pt_ckpt_load(&c, dir, "atomic", "test"), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].offset, 49);
    /* The directory gone: the save fails with an errno and writes nothing. */
    rm_tree(ckdir);
    assert_int_equal(pt_ckpt_save(&c, &e, 1), -ENOENT);
    struct stat st;
    assert_int_not_equal(stat(ckdir, &st), 0);
    pt_ckpt_free(&c);
}

/* ======================================================================== fingerprint ==== */

static void test_fingerprint(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/f.log", dir);
    uint32_t len = 99;

    write_file(path, "", 0);
    int fd = open(path, O_RDONLY);
    assert_int_equal(pt_file_fingerprint(fd, 1024, &len), 1469598103934665603ull);
    assert_int_equal(len, 0);
    close(fd);

    write_file(path, "hello\n", 6);
    fd = open(path, O_RDONLY);
    assert_int_equal(pt_file_fingerprint(fd, 1024, &len), fnv1a("hello\n", 6));
    assert_int_equal(len, 6);
    assert_int_equal(pt_file_fingerprint(fd, 3, &len), fnv1a("hel", 3));
    assert_int_equal(len, 3);
    assert_int_equal(pt_file_fingerprint(fd, 0, &len), 1469598103934665603ull);
    assert_int_equal(len, 0);
    close(fd);

    enum { BIG = 10000 };
    char *big = malloc(BIG);
    for (int i = 0; i < BIG; i++) {
        big[i] = (char)(i * 13 + 7);
    }
    write_file(path, big, BIG);
    fd = open(path, O_RDONLY);
    /* Reads from the start whatever the file position. */
    assert_int_equal(lseek(fd, 5000, SEEK_SET), 5000);
    assert_int_equal(pt_file_fingerprint(fd, 1024, &len), fnv1a(big, 1024));
    assert_int_equal(len, 1024);
    assert_int_equal(pt_file_fingerprint(fd, 4096, &len), fnv1a(big, 4096));
    assert_int_equal(len, 4096);
    /* Only the first bytes count: a change after them does not change the fingerprint, a
     * change inside them does. */
    uint64_t before = pt_file_fingerprint(fd, 1024, &len);
    close(fd);
    big[2000] ^= 1;
    write_file(path, big, BIG);
    fd = open(path, O_RDONLY);
    assert_int_equal(pt_file_fingerprint(fd, 1024, &len), before);
    close(fd);
    big[10] ^= 1;
    write_file(path, big, BIG);
    fd = open(path, O_RDONLY);
    assert_int_not_equal(pt_file_fingerprint(fd, 1024, &len), before);
    close(fd);
    /* An unreadable descriptor hashes nothing. */
    assert_int_equal(pt_file_fingerprint(-1, 1024, &len), 1469598103934665603ull);
    assert_int_equal(len, 0);
    free(big);
}

/* The header promises *len = min(n, size). A checkpoint written with a longer fingerprint (a
 * future FP_BYTES, or another build) must compare equal on the same file, or every restart
 * re-reads every file from offset 0. */
static void test_fingerprint_len_is_min_of_n_and_size(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/g.log", dir);
    enum { BIG = 10000 };
    char *big = malloc(BIG);
    memset(big, 'g', BIG);
    write_file(path, big, BIG);
    int fd = open(path, O_RDONLY);
    uint32_t len = 0;
    uint64_t fp = pt_file_fingerprint(fd, 8192, &len);
    close(fd);
    uint64_t want = fnv1a(big, 8192);
    free(big);
    assert_int_equal(len, 8192);
    assert_int_equal(fp, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_entries_and_foreign_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_files_load_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint_len_is_min_of_n_and_size, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
