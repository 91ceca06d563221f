/* Private to input_file: the configuration, the per-instance state, one reader per file, and the
 * functions the plugin's files share (discovery, reading, records, encodings, checkpoints,
 * Kubernetes metadata, the process-wide file claims and open-file budget). Everything here runs
 * on the input loop unless a comment says otherwise. */
#ifndef PT_INPUT_FILE_INTERNAL_H
#define PT_INPUT_FILE_INTERNAL_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/plugin.h"

/* ============================================================================ checkpoints === */

/* One checkpoint entry: the committed (acknowledged) offset of one file, and what identifies the
 * file: device + inode, a fingerprint of its first bytes, and one of the bytes just before the
 * offset (so that a file replaced by another with the same head is still told apart). */
typedef struct pt_ckpt_entry_s {
    uint64_t dev;
    uint64_t ino;
    uint64_t fp; /* FNV-1a of the first fplen bytes */
    uint32_t fplen;
    uint64_t offset; /* committed offset */
    char *path;
    int seen;         /* matched by a live file since load */
    uint64_t tail_fp; /* FNV-1a of the tail_len bytes before offset (0 bytes: not checked) */
    uint32_t tail_len;
    int64_t gone_since; /* wall seconds since the file was last known to petrel; 0 while known */
} pt_ckpt_entry_t;

typedef struct pt_ckpt_s {
    char *path; /* data_dir/checkpoints/<pipeline>.json */
    pt_ckpt_entry_t *v;
    size_t n;
    size_t cap;
} pt_ckpt_t;

/* Loads the checkpoint file (missing is fine; a corrupt one is logged and ignored: the files are
 * then read by the start-position rules, duplicates over loss). */
int pt_ckpt_load(pt_ckpt_t *c, const char *data_dir, const char *pipeline, const char *log_id);
/* Parses a checkpoint document into c (appending). 0, -EINVAL (corrupt) or -ENOMEM. On error c
 * may hold the entries parsed before the fault; the caller discards them. */
int pt_ckpt_parse(pt_ckpt_t *c, const char *s, size_t len);
/* Atomically replaces the checkpoint file (write tmp, fsync, rename, fsync dir). */
int pt_ckpt_save(const pt_ckpt_t *c, const pt_ckpt_entry_t *v, size_t n);
const pt_ckpt_entry_t *pt_ckpt_find(const pt_ckpt_t *c, uint64_t dev, uint64_t ino);
/* Adds or replaces (by dev + ino) a retained entry for a file petrel no longer holds; the path
 * is copied. 0 or -ENOMEM. */
int pt_ckpt_put(pt_ckpt_t *c, const pt_ckpt_entry_t *e);
/* Drops the entries of files gone for longer than max_age_s (wall clock now_s). Returns how many
 * were dropped. */
size_t pt_ckpt_expire(pt_ckpt_t *c, int64_t now_s, int64_t max_age_s);
void pt_ckpt_free(pt_ckpt_t *c);

/* FNV-1a over n bytes at the start of fd. *len gets the bytes hashed (min(n, size)). */
uint64_t pt_file_fingerprint(int fd, uint32_t n, uint32_t *len);
/* FNV-1a over the min(n, end) bytes that end at offset `end`. *len gets the bytes hashed. */
uint64_t pt_file_fingerprint_at(int fd, uint64_t end, uint32_t n, uint32_t *len);

/* ========================================================================== configuration === */

#define PT_IF_MAX_PATHS 10
#define PT_IF_FP_BYTES 1024u   /* head fingerprint */
#define PT_IF_TAIL_BYTES 1024u /* bytes before a saved offset that must still match */

typedef enum { PT_IF_ENC_UTF8 = 0, PT_IF_ENC_GBK, PT_IF_ENC_UTF16 } pt_if_enc_t;
typedef enum { PT_IF_ML_NONE = 0, PT_IF_ML_CUSTOM, PT_IF_ML_JSON } pt_if_ml_mode_t;

typedef struct pt_if_conf_s {
    pt_strlist_t file_paths;
    int64_t max_depth;
    pt_strlist_t exclude_file_paths;
    pt_strlist_t exclude_files;
    pt_strlist_t exclude_dirs;
    char *encoding;
    int tail_all;
    int64_t tail_size_kb;
    int64_t flush_timeout_secs;
    int64_t max_line_bytes;
    int append_position_meta;
    char *file_offset_key;
    pt_strmap_t tags;
    int container_discovery;
    char *cf_pod_regex;
    char *cf_ns_regex;
    char *cf_container_regex;
    pt_strmap_t cf_include_label;
    pt_strmap_t cf_exclude_label;
    pt_strmap_t cf_include_env;
    pt_strmap_t cf_exclude_env;
    pt_strmap_t cf_include_ctr_label;
    pt_strmap_t cf_exclude_ctr_label;
    pt_strmap_t external_k8s_label_tag;
    pt_strmap_t external_env_tag;
    char *ml_mode;
    char *ml_start;
    char *ml_continue;
    char *ml_end;
    char *ml_unmatched;
    int ignoring_unmatch_warning;
    int allow_root_dir;
    int allow_multi_configs;
    int64_t close_unused_secs;
    int64_t rotator_queue_size;
    int64_t rotate_wait_secs;
    int64_t deleted_hold_secs;
    int64_t max_open_files;
    int64_t checkpoint_interval_ms;
    int64_t checkpoint_expire_secs;
    int64_t preserved_dir_depth;
} pt_if_conf_t;

/* ======================================================================= path patterns ===== */

/* One FilePaths entry, split for walking: a fixed base directory, then directory components
 * that may hold wildcards, then (with `**`) any subdirectory up to max_depth, then the file name
 * pattern. */
typedef struct pt_if_pattern_s {
    char *text;   /* as configured */
    char *base;   /* leading components without wildcards ("/" at least) */
    char **comps; /* following directory components (fnmatch patterns) */
    int ncomps;
    int recursive;   /* the directory part ended with / ** */
    int max_depth;   /* subdirectory levels below the last component, with recursive */
    char *file;      /* file name pattern */
    int rank;        /* directory depth of the pattern, for the best-match rule */
    int exact_file;  /* the file pattern has no wildcard */
    uint64_t nfound; /* files matched by the last scans, for the "nothing matches" log */
} pt_if_pattern_t;

/* ========================================================================= multiline ====== */

typedef struct pcre2_real_code_8 pt_pcre2_code_t;
typedef struct pcre2_real_match_data_8 pt_pcre2_md_t;

typedef struct pt_if_ml_s {
    pt_if_ml_mode_t mode;
    pt_pcre2_code_t *start;
    pt_pcre2_code_t *cont;
    pt_pcre2_code_t *end;
    pt_pcre2_md_t *md;
    int discard_unmatched;
} pt_if_ml_t;

/* A line of text ready for record assembly: UTF-8 bytes (a view into the read buffer, or into
 * converted text in the group's arena) and where it started in the file. */
typedef struct pt_if_line_s {
    const char *p;
    uint32_t len;
    uint32_t cut; /* the line was longer than the cap and was cut (the rest skipped) */
    uint64_t off;
} pt_if_line_t;

/* What record assembly yields: records [first, last] of lines, or unmatched lines. */
typedef struct pt_if_rec_s {
    uint32_t first;
    uint32_t last;
} pt_if_rec_t;

/* pcre2 helpers. Compiles pat (UTF-8, invalid UTF-8 in subjects tolerated) anchored at the
 * start, and with `full` at the end too; NULL with a message in err. */
pt_pcre2_code_t *pt_if_re_compile(const char *pat, int full, char *err, size_t errlen);
/* 1 on a match of re at the start of p[0..n). md may be NULL (allocated per call). */
int pt_if_re_match(const pt_pcre2_code_t *re, pt_pcre2_md_t *md, const char *p, size_t n);
void pt_if_re_free(pt_pcre2_code_t *re);

/* Compiles the Multiline options into ml. Errors go to d (returns -EINVAL), -ENOMEM. */
int pt_if_ml_init(pt_if_ml_t *ml, const pt_if_conf_t *c, pt_plugin_inst_t *inst, pt_cfg_diag_t *d);
void pt_if_ml_free(pt_if_ml_t *ml);
/* Assembles n lines into records. With `final`, a pending record at the end is emitted too;
 * otherwise *pending gets the index of the first line of the unfinished record (n when none).
 * recs (capacity n) gets the records in order; returns their count. Lines that are unmatched and
 * discarded appear in no record. *unmatched counts the unmatched lines. */
uint32_t pt_if_ml_split(pt_if_ml_t *ml, const pt_if_line_t *lines, uint32_t n, int final,
                        pt_if_rec_t *recs, uint32_t *pending, uint64_t *unmatched);

/* ========================================================================== encodings ===== */

typedef struct pt_if_conv_s {
    pt_if_enc_t enc;
    void *cd; /* iconv_t, opened lazily per byte order */
    int cd_be;
} pt_if_conv_t;

/* Parses a FileEncoding value (case-insensitive). -EINVAL when unknown. */
int pt_if_enc_parse(const char *name, pt_if_enc_t *out);
void pt_if_conv_free(pt_if_conv_t *cv);
/* Offset of the byte after the first line terminator in p[0..n) for the encoding, or -1. base
 * is the file offset of p[0] (UTF-16 code units are aligned to even file offsets); be selects
 * big-endian UTF-16. */
ssize_t pt_if_find_nl(pt_if_enc_t enc, int be, const char *p, size_t n, uint64_t base);
/* Length of the terminator (1, or 2 for UTF-16). */
size_t pt_if_nl_len(pt_if_enc_t enc);
/* Converts in[0..n) to UTF-8 into out (capacity cap >= pt_if_conv_bound(n)); invalid input
 * becomes U+FFFD. Returns the bytes written. */
size_t pt_if_conv(pt_if_conv_t *cv, int be, const char *in, size_t n, char *out, size_t cap);
size_t pt_if_conv_bound(size_t n);

/* ========================================================================= Kubernetes ====== */

typedef struct pt_if_tag_s {
    char *key;
    char *val;
} pt_if_tag_t;

/* The pod petrel runs in, from the downward API: env (POD_NAME, POD_NAMESPACE, POD_UID,
 * NODE_NAME, POD_IP, CONTAINER_NAME, CONTAINER_IMAGE) and the mounted labels file
 * ($PETREL_POD_LABELS_FILE, default /etc/podinfo/labels). */
typedef struct pt_if_pod_s {
    char *name;
    char *ns;
    char *uid;
    char *node;
    char *ip;
    char *container;
    char *image;
    pt_strmap_t labels;
    int have_labels;
    char *labels_file;
} pt_if_pod_t;

typedef struct pt_if_k8s_s {
    pt_pcre2_code_t *pod_re;
    pt_pcre2_code_t *ns_re;
    pt_pcre2_code_t *ctr_re;
    pt_pcre2_code_t **inc_label_re; /* per IncludeK8sLabel entry: regex when ^...$, else NULL */
    pt_pcre2_code_t **exc_label_re;
    pt_pcre2_code_t **inc_env_re;
    pt_pcre2_code_t **exc_env_re;
    pt_pcre2_code_t **inc_cl_re;
    pt_pcre2_code_t **exc_cl_re;
} pt_if_k8s_t;

/* Compiles the ContainerFilters regexes (create time). Errors to d: -EINVAL; -ENOMEM. */
int pt_if_k8s_init(pt_if_k8s_t *k, const pt_if_conf_t *c, pt_plugin_inst_t *inst, pt_cfg_diag_t *d);
void pt_if_k8s_free(pt_if_k8s_t *k, const pt_if_conf_t *c);
/* Reads this pod's metadata (start time). Missing pieces stay NULL. 0 or -ENOMEM. */
int pt_if_pod_load(pt_if_pod_t *pod);
void pt_if_pod_free(pt_if_pod_t *pod);
/* 1 when the pod matches every filter; 0 with the first reason in why. */
int pt_if_k8s_match(const pt_if_k8s_t *k, const pt_if_conf_t *c, const pt_if_pod_t *pod, char *why,
                    size_t whylen);
/* Appends the Kubernetes group tags (LoongCollector names, renamed by Tags) to *tags. */
int pt_if_k8s_tags(const pt_if_conf_t *c, const pt_if_pod_t *pod, pt_if_tag_t **tags,
                   size_t *ntags);
/* Looks up a tag rename in Tags: returns the default when absent, NULL when renamed to "". */
const char *pt_if_tag_name(const pt_if_conf_t *c, const char *option, const char *def);

/* ============================================================================ readers ====== */

typedef enum {
    PT_IF_ACTIVE = 0, /* matched at its path */
    PT_IF_ROTATED,    /* renamed away (or no longer ours): read to its end, then closed */
    PT_IF_DELETED,    /* unlinked while open: read to its end, then closed */
} pt_if_fstate_t;

typedef struct pt_if_range_s {
    uint64_t end;
    int state; /* 0 in flight, 1 acked, -1 failed */
    struct pt_if_range_s *next;
} pt_if_range_t;

typedef struct pt_if_file_s pt_if_file_t;
struct pt_if_file_s {
    char *path; /* the matched path: tags and logs (kept after a rotation) */
    uint64_t dev;
    uint64_t ino;
    uint64_t source;
    int fd;             /* -1 while closed (idle, or waiting for the open-file cap) */
    int state;          /* pt_if_fstate_t */
    uint64_t read_off;  /* next byte to read */
    uint64_t committed; /* acknowledged prefix */
    uint64_t size;      /* last known size */
    uint64_t fp;        /* head fingerprint (first fplen bytes) as of open */
    uint32_t fplen;
    uint64_t tail_fp; /* fingerprint of the bytes before tail_off */
    uint32_t tail_len;
    uint64_t tail_off;
    char *carry; /* bytes of an unfinished record, from read_off - carry_len */
    size_t carry_len;
    size_t carry_cap;
    int discarding; /* dropping the rest of an over-long line */
    int utf16_be;
    int ready;    /* may have bytes to read */
    int wants_fd; /* closed with data to read: waits for a slot */
    int commit_stalled;
    int seen; /* scan marker */
    int warned_gone;
    uint64_t last_data_ns;   /* last read that returned bytes (monotonic) */
    uint64_t last_change_ns; /* last time its size changed (monotonic) */
    uint64_t opened_ns;      /* when the current fd was opened */
    uint64_t gone_ns;        /* when it became ROTATED / DELETED */
    uint64_t head_check_ns;
    int bulk;              /* the last read filled a whole chunk */
    pt_if_range_t *ranges; /* in-flight groups, in offset order */
    pt_if_range_t *ranges_tail;
    pt_group_t *pending; /* built but refused (PT_AGAIN) */
    pt_if_file_t *hnext; /* path hash chain (ACTIVE readers) */
    pt_if_file_t *inext; /* device + inode hash chain */
};

/* A directory being watched (or just walked, without inotify) and the ways it was reached. */
typedef struct pt_if_dctx_s {
    int pi;    /* pattern index */
    int level; /* components matched so far (ncomps: a directory whose files are candidates);
                  -1: an ancestor of a base directory that does not exist yet */
    int depth; /* levels below the last component (recursive patterns) */
} pt_if_dctx_t;

typedef struct pt_if_dir_s {
    char *path;
    int wd; /* inotify watch, -1 without */
    pt_if_dctx_t *ctx;
    int nctx;
    int gen; /* scan generation that last reached it */
} pt_if_dir_t;

typedef struct pt_if_state_s {
    pt_plugin_inst_t *inst;
    const pt_if_conf_t *c;
    const char *id;
    const char *data_dir;
    int oneshot;
    uv_loop_t *loop;
    pt_acker_t *acker;
    uv_timer_t poll_timer;
    uv_timer_t ckpt_timer;
    uv_idle_t idle;
    uv_poll_t ino_poll;
    int ino_fd;
    int ino_poll_on;
    int ino_failed; /* watch limit reached: rely on scans */
    uint64_t ino_overflows;
    int idle_on;
    int blocked;
    int stopped;
    int started;
    int handles_open;
    int free_on_close;
    int registered;      /* in the claims registry */
    int idle_reason_set; /* ContainerFilters did not match: the pipeline stays idle */

    pt_if_pattern_t pats[PT_IF_MAX_PATHS];
    int npats;
    pt_if_ml_t ml;
    pt_if_conv_t conv;
    pt_if_k8s_t k8s;
    pt_if_pod_t pod;
    pt_if_tag_t *tags; /* group tags added to every group besides path and inode */
    size_t ntags;
    const char *path_tag;   /* NULL: no path tag */
    const char *inode_tag;  /* NULL: none */
    const char *offset_key; /* NULL: none */
    int general;            /* records need the general path (multiline, encoding, offsets) */

    pt_if_file_t **files;
    size_t nfiles;
    size_t capfiles;
    size_t cursor;       /* fair reading: where the next turn starts */
    pt_if_file_t **htab; /* path hash */
    size_t hcap;
    pt_if_file_t **itab; /* device + inode hash */
    size_t icap;
    int64_t open_count;
    int64_t waiting;

    pt_if_dir_t **dirs; /* indexed by position; wd lookup through wdmap */
    size_t ndirs;
    size_t capdirs;
    int *wdmap; /* wd -> index in dirs, -1 */
    size_t wdcap;
    int scan_gen;
    uint64_t last_scan_ns;
    int rescue_done;

    struct pt_if_failed_s *failed; /* paths that could not be opened, logged once */
    size_t nfailed;
    size_t capfailed;
    uint32_t moved_cookie; /* last IN_MOVED_FROM, to pair with its IN_MOVED_TO */
    char *moved_from;

    pt_ckpt_t ckpt;
    int ckpt_dirty;
    uint64_t start_ns;

    pt_if_line_t *lines; /* scratch for the general record path */
    pt_if_rec_t *recs;
    uint32_t caplines;

    pt_gauge_t *m_files_open;
    pt_gauge_t *m_files_deleted;
    pt_gauge_t *m_files_waiting;
    pt_counter_t *m_rotations;
    pt_counter_t *m_truncations;
    pt_counter_t *m_truncated_lines;
    pt_counter_t *m_unmatched_lines;
    pt_counter_t *m_overflows;
    pt_gauge_t *m_lag;
    pt_gauge_t *m_idle;
} pt_if_state_t;

/* ---- patterns.c: FilePaths patterns and exclusions ---- */
int pt_if_patterns_init(pt_if_state_t *s, pt_cfg_diag_t *d);
void pt_if_patterns_free(pt_if_state_t *s);
/* 1 when path (absolute, normalised) is matched by pattern p (path rules only). */
int pt_if_pattern_match(const pt_if_pattern_t *p, const char *path);
/* 1 when the directory (absolute, no trailing '/') is excluded by ExcludeDirs. */
int pt_if_dir_excluded(const pt_if_state_t *s, const char *dir);
/* 1 when the file is excluded by ExcludeFilePaths, ExcludeFiles or ExcludeDirs. */
int pt_if_file_excluded(const pt_if_state_t *s, const char *path);

/* ---- discovery.c: the full scan, starting collection of a matched path ---- */
/* Full scan of every pattern; at_startup selects the start-position rule for new files. */
void pt_if_scan(pt_if_state_t *s, int at_startup);
/* A path matched a pattern: collect it unless known, excluded or another pipeline's. Returns 1
 * when the path is a regular file (collected or not), 0 otherwise. */
int pt_if_consider(pt_if_state_t *s, const char *path, int at_startup);
/* A directory `name` appeared at path inside the watched d: walk it as the patterns allow. */
void pt_if_walk_new_dir(pt_if_state_t *s, const pt_if_dir_t *d, const char *path, const char *name);
void pt_if_failed_free(pt_if_state_t *s);
/* Re-reads the checkpoint entries of files not found by the patterns: rotated generations that
 * still hold unread data are opened and read to their end (start-up only). */
void pt_if_rescue_rotated(pt_if_state_t *s);

/* ---- watch.c: the directory table, inotify watches and events ---- */
/* Notes that path was reached by pattern pi at (level, depth) and watches it. NULL on -ENOMEM. */
pt_if_dir_t *pt_if_dir_note(pt_if_state_t *s, const char *path, int pi, int level, int depth);
/* Forgets s->dirs[idx] (and with rm_watch removes its inotify watch). */
void pt_if_dir_remove(pt_if_state_t *s, size_t idx, int rm_watch);
void pt_if_dirs_free(pt_if_state_t *s);
int pt_if_inotify_start(pt_if_state_t *s);
void pt_if_inotify_close(pt_if_state_t *s, uv_close_cb cb);

/* ---- files.c: readers' identity, descriptors, start position, rotation, truncation ---- */
/* Starts reading a file found at path (fd is taken over, closed on failure). NULL on -ENOMEM. */
pt_if_file_t *pt_if_file_add(pt_if_state_t *s, const char *path, int fd, const struct stat *st,
                             int at_startup, int state);
pt_if_file_t *pt_if_file_by_id(pt_if_state_t *s, uint64_t dev, uint64_t ino);
pt_if_file_t *pt_if_file_by_path(pt_if_state_t *s, const char *path);
void pt_if_file_set_path(pt_if_state_t *s, pt_if_file_t *f, const char *path);
void pt_if_file_free(pt_if_state_t *s, pt_if_file_t *f);
/* The file left its path (renamed away or deleted): read it to its end, then close it. */
void pt_if_file_gone(pt_if_state_t *s, pt_if_file_t *f, const char *why);
/* Removes s->files[idx] for good, keeping its checkpoint entry; `why` is logged. */
void pt_if_retire(pt_if_state_t *s, size_t idx, const char *why);
/* 1 while groups of f wait for their ack (f must outlive them). */
int pt_if_in_flight(const pt_if_file_t *f);
/* Descriptor slots: under MaxOpenFiles and the process budget (0 or -EMFILE); forced beyond the
 * cap for files that cannot be reopened by name; given back. */
int pt_if_slot_take(pt_if_state_t *s);
void pt_if_slot_force(pt_if_state_t *s);
void pt_if_slot_give(pt_if_state_t *s);
/* Marks f as waiting (or no longer) for a descriptor slot. */
void pt_if_set_wants(pt_if_state_t *s, pt_if_file_t *f, int v);
/* Closes f's descriptor (if open) and gives its slot back. */
void pt_if_close_fd(pt_if_state_t *s, pt_if_file_t *f);
/* The file was truncated or rewritten (size, how: for the log): read it again from 0. */
void pt_if_truncated(pt_if_state_t *s, pt_if_file_t *f, uint64_t size, const char *how);
/* 1 when the first bytes of f are no longer those seen at open (extends a short fingerprint). */
int pt_if_head_changed(pt_if_state_t *s, pt_if_file_t *f);
void pt_if_save_checkpoint(pt_if_state_t *s);

/* ---- records.c: bytes to groups of events, acks and the committed offset ---- */
/* Fast path: buf[0..len) in arena a holds complete lines (force_last 1: the last one has no
 * newline; 2: it is the head of a longer line, flagged truncated); the group covers the file up
 * to end_off, `bytes` of it. 0, PT_AGAIN (the group waits in f->pending), negative errno. */
int pt_if_emit_lines(pt_if_state_t *s, pt_if_file_t *f, pt_arena_t *a, const char *buf, size_t len,
                     uint64_t end_off, int force_last, size_t bytes);
/* General path (multiline, encodings, offsets): buf[0..total) are the bytes from file offset
 * base; with `final` unfinished records are emitted too. 1, PT_AGAIN or a negative errno. */
int pt_if_process_general(pt_if_state_t *s, pt_if_file_t *f, pt_arena_t *a, const char *buf,
                          size_t total, uint64_t base, int final);
/* Keeps p[0..n) as f's unfinished record. 0 or -ENOMEM. */
int pt_if_carry_set(pt_if_file_t *f, const char *p, size_t n);
/* Pushes f->pending to the pipeline: 0, PT_AGAIN (kept; the instance is blocked), or errno. */
int pt_if_push_pending(pt_if_state_t *s, pt_if_file_t *f);
/* Bytes up to end consumed without a record: committed once everything before them is. */
void pt_if_advance_without_group(pt_if_state_t *s, pt_if_file_t *f, uint64_t end);
void pt_if_on_ack(pt_ack_t *ack, int status);

/* ---- reader.c: the read loop, waking and the periodic poll ---- */
void pt_if_poll(pt_if_state_t *s);
void pt_if_wake(pt_if_state_t *s, pt_if_file_t *f);
void pt_if_start_idle(pt_if_state_t *s);
void pt_if_on_idle(uv_idle_t *h);
void pt_if_drop_pending(pt_if_state_t *s);
int pt_if_all_read(const pt_if_state_t *s);

/* ---- claims.c: which pipeline collects a file, process-wide (any thread) ---- */
int pt_if_claims_register(pt_if_state_t *s);
void pt_if_claims_unregister(pt_if_state_t *s);
/* 1 when s should collect path: it allows multiple configs, or no other registered instance
 * that matches path ranks better (deeper pattern, then earlier registration). */
int pt_if_claims_mine(const pt_if_state_t *s, const char *path);
/* Process-wide budget of open files (all instances). 0 when a slot was taken, -EMFILE. */
int pt_if_fd_acquire(void);
/* Takes a slot even over the budget (files that cannot be reopened by name). */
void pt_if_fd_force(void);
void pt_if_fd_release(void);
int64_t pt_if_fd_budget(void);

#endif
