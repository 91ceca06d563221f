/* Private to input_file: file state, checkpoint store. */
#ifndef PT_INPUT_FILE_INTERNAL_H
#define PT_INPUT_FILE_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "core/plugin.h"

/* One checkpoint entry: the committed (acknowledged) offset of one file. */
typedef struct pt_ckpt_entry_s {
    uint64_t dev;
    uint64_t ino;
    uint64_t fp;     /* FNV-1a of the first fplen bytes */
    uint32_t fplen;
    uint64_t offset; /* committed offset */
    char *path;
    int seen;        /* matched by a live file since load */
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
/* Atomically replaces the checkpoint file (write tmp, fsync, rename, fsync dir). */
int pt_ckpt_save(const pt_ckpt_t *c, const pt_ckpt_entry_t *v, size_t n);
const pt_ckpt_entry_t *pt_ckpt_find(const pt_ckpt_t *c, uint64_t dev, uint64_t ino);
void pt_ckpt_free(pt_ckpt_t *c);

/* FNV-1a over n bytes at the start of fd. *len gets the bytes hashed (min(n, size)). */
uint64_t pt_file_fingerprint(int fd, uint32_t n, uint32_t *len);

#endif
