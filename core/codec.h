/* Compression of outgoing request bodies (gzip with zlib, zstd with libzstd). Reentrant; any
 * thread (serializers run on workers). */
#ifndef PT_CODEC_H
#define PT_CODEC_H

#include <stddef.h>

#include "str.h"

typedef enum { PT_CODEC_NONE = 0, PT_CODEC_GZIP, PT_CODEC_ZSTD } pt_codec_t;

/* Parses "", "none", "gzip", "zstd". Returns the codec or -EINVAL. */
int pt_codec_parse(const char *name);
/* The Content-Encoding token of a codec ("gzip", "zstd"), NULL for none. */
const char *pt_codec_name(pt_codec_t c);
/* Replaces the contents of b with their compressed form. Returns 0, -ENOMEM or -EIO. */
int pt_codec_encode(pt_codec_t c, pt_buf_t *b);

#endif
