/* OTLP codecs shared by the OTLP receiver, the OTLP exporter, the tests and the fuzzers: request
 * bodies (protobuf through protobuf-c, JSON through the core tokenizer) decoded into the
 * generated message structs inside a request arena, those structs turned into event groups (one
 * per resource and scope), responses and google.rpc.Status bodies, and bounded decompression.
 * Everything is reentrant; the arena rules of core/arena.h apply (one thread allocates). */
#ifndef PT_OTLP_H
#define PT_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"
#include "core/event.h"
#include "core/str.h"

/* google.rpc.Code values used by OTLP. */
#define PT_GRPC_OK 0
#define PT_GRPC_CANCELLED 1
#define PT_GRPC_UNKNOWN 2
#define PT_GRPC_INVALID_ARGUMENT 3
#define PT_GRPC_DEADLINE_EXCEEDED 4
#define PT_GRPC_NOT_FOUND 5
#define PT_GRPC_PERMISSION_DENIED 7
#define PT_GRPC_RESOURCE_EXHAUSTED 8
#define PT_GRPC_ABORTED 10
#define PT_GRPC_OUT_OF_RANGE 11
#define PT_GRPC_UNIMPLEMENTED 12
#define PT_GRPC_INTERNAL 13
#define PT_GRPC_UNAVAILABLE 14
#define PT_GRPC_DATA_LOSS 15
#define PT_GRPC_UNAUTHENTICATED 16

/* The "spans" / "data points" / "log records" noun of a signal, for messages. */
const char *pt_otlp_signal_records(int signal);
/* "traces", "metrics", "logs". */
const char *pt_otlp_signal_name(int signal);

/* A protobuf-c allocator that bump-allocates from arena a; free is a no-op (the arena goes all
 * at once). The caller owns *out (usually on its stack) and must use it on the arena's thread. */
void pt_otlp_allocator(ProtobufCAllocator *out, pt_arena_t *a);

/* ---- decoding ---------------------------------------------------------------------------- */

/* Decodes an Export{Trace,Metrics,Logs}ServiceRequest (by signal) from protobuf bytes into
 * structs allocated in a. The bytes are not referenced afterwards (protobuf-c copies strings and
 * bytes). Nesting deeper than PT_OTLP_MAX_DEPTH messages is refused before protobuf-c sees it
 * (its decoder recurses). On success *msg is the request (a ProtobufCMessage of the signal's
 * request type). Returns 0, -EINVAL (malformed; err gets a one-line reason) or -ENOMEM. */
#define PT_OTLP_MAX_DEPTH 64
int pt_otlp_decode_pb(int signal, pt_arena_t *a, const void *data, size_t len,
                      ProtobufCMessage **msg, char *err, size_t errlen);

/* Same from OTLP/JSON: lowerCamelCase or snake_case keys, trace/span ids as hex (or base64),
 * enums as numbers or names, 64-bit integers as numbers or strings, doubles also as "NaN",
 * "Infinity", "-Infinity"; unknown keys are ignored. Strings are copied into a. err names the
 * offending path ("resourceSpans[0].scopeSpans[0].spans[3].traceId: ..."). */
int pt_otlp_decode_json(int signal, pt_arena_t *a, const char *data, size_t len,
                        ProtobufCMessage **msg, char *err, size_t errlen);

/* ---- events ------------------------------------------------------------------------------ */

typedef struct pt_otlp_groups_s {
    pt_group_t **groups; /* in a */
    uint32_t ngroups;
    uint64_t records;  /* spans / data points / log records turned into events */
    uint64_t rejected; /* records refused (invalid ids, metric without name, ...) */
    char reason[160];  /* why the first record was rejected ("" when none) */
} pt_otlp_groups_t;

/* Turns a decoded request into groups, one per ResourceX/ScopeX that has at least one valid
 * record: tags, pt_otlp_origin_t in g->ext, one event per span / data point / log record with
 * every field of the data model (core/event.h). Groups are created in a (each holds a reference)
 * with no ack, source or bytes set. `now_ns` stands in for missing timestamps. Returns 0 or
 * -ENOMEM (then no group is left: they were released). */
int pt_otlp_to_groups(int signal, const ProtobufCMessage *msg, pt_arena_t *a, int64_t now_ns,
                      pt_otlp_groups_t *out);

/* Text form of a value as stored in fields and tags (pt_val_type_t rules of core/event.h),
 * allocated in a. For arrays and kvlists the JSON text. Returns 0 or -ENOMEM. */
int pt_otlp_any_text(pt_arena_t *a, const void *any_value, pt_str_t *out, uint8_t *type);

/* ---- encoding (exporters) ---------------------------------------------------------------- */

/* Appends to out[sig] (indexed by PT_SIGNAL_*; NULL entries are skipped) the protobuf
 * Export*ServiceRequest of the live events of that signal in groups[0..n): SPAN events are
 * traces, METRIC events metrics, LOG and RAW events logs. Each group is a ScopeX, consecutive
 * groups of one resource share a ResourceX; resource and scope come from the tags and the
 * pt_otlp_origin_t, attribute types from the hints. Events that did not come from OTLP are
 * exported too: a raw line, or a log's "content" field, is the body; other fields are string
 * attributes. counts[sig] gets the number of spans / data points / log records (nothing is
 * appended for 0). Any thread; uses a scratch arena. Returns 0 or -ENOMEM. */
int pt_otlp_encode_groups(pt_group_t *const *groups, uint32_t n, pt_buf_t *out[4],
                          uint32_t counts[4]);

/* ---- responses --------------------------------------------------------------------------- */

/* Appends the Export*ServiceResponse for signal: empty when rejected is 0, else with
 * partial_success {rejected, message}. json selects OTLP/JSON. Returns 0 or -ENOMEM. */
int pt_otlp_encode_response(int signal, int json, int64_t rejected, const char *message,
                            pt_buf_t *out);
/* Appends a google.rpc.Status {code, message}; with retry_delay_ms > 0 (protobuf only) a
 * google.rpc.RetryInfo detail. Returns 0 or -ENOMEM. */
int pt_otlp_encode_status(int json, int code, const char *message, uint32_t retry_delay_ms,
                          pt_buf_t *out);

/* ---- compression ------------------------------------------------------------------------- */

typedef enum { PT_ENC_IDENTITY = 0, PT_ENC_GZIP, PT_ENC_ZSTD, PT_ENC_DEFLATE } pt_encoding_t;

/* Parses a Content-Encoding / grpc-encoding token (case-insensitive; "" and "identity" are
 * identity). Returns the encoding or -ENOTSUP. */
int pt_otlp_encoding_parse(pt_str_t token);

/* Decompresses in[0..len) into out (appended; caller-owned), never holding more than max bytes
 * of output: a body that would inflate past max stops there and -EMSGSIZE is returned. Trailing
 * bytes after the compressed stream, a truncated stream or corrupt data are -EINVAL. -ENOMEM on
 * allocation failure. Memory used is the output plus the codec's window. */
int pt_otlp_decompress(pt_encoding_t enc, const void *in, size_t len, size_t max, pt_buf_t *out);

/* ---- base64 ------------------------------------------------------------------------------ */

/* Standard base64 of in[0..len) into out (room for (len + 2) / 3 * 4 bytes), with '=' padding
 * or without (gRPC "-bin" metadata). Returns the length written (no NUL). */
size_t pt_otlp_b64_encode(const uint8_t *in, size_t len, char *out, int pad);
/* Decodes standard or URL-safe base64, padding optional, into out (room for len * 3 / 4 + 3).
 * Returns the decoded length, or -1 when s is not base64. */
long pt_otlp_b64_decode(const char *s, size_t len, uint8_t *out);

/* ---- ids --------------------------------------------------------------------------------- */

/* Lowercase hex of n bytes into out (2n bytes, no NUL). */
void pt_otlp_hex(const uint8_t *id, size_t n, char *out);
/* 1 when the n bytes are all zero. */
int pt_otlp_id_zero(const uint8_t *id, size_t n);

#endif
