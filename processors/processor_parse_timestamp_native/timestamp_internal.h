/* The strptime-like time parser of processor_parse_timestamp_native, exposed for its tests and
 * fuzz target. A format is compiled once into a list of steps; parsing a value runs the steps
 * and turns the civil time into nanoseconds since the epoch with integer arithmetic only (no
 * mktime, no locale). Not for plugins. */
#ifndef PT_TIMESTAMP_INTERNAL_H
#define PT_TIMESTAMP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define PT_TS_MAX_STEPS 128

typedef struct pt_ts_step_s {
    uint8_t op;
    char c; /* the byte of a literal step */
} pt_ts_step_t;

/* A compiled SourceFormat. Read-only once compiled: shared by every worker. */
typedef struct pt_ts_format_s {
    pt_ts_step_t steps[PT_TS_MAX_STEPS];
    uint32_t nsteps;
    uint32_t have; /* PT_TS_HAVE_* bits: what the format can set */
} pt_ts_format_t;

#define PT_TS_HAVE_YEAR 0x01u  /* %Y %y %C (or a composite holding one) */
#define PT_TS_HAVE_DATE 0x02u  /* any of year, month, day, day of year */
#define PT_TS_HAVE_EPOCH 0x04u /* %s */

/* Compiles fmt. Returns 0, or -EINVAL with a message in err ("unsupported conversion %Q at
 * offset 3", ...). */
int pt_ts_compile(pt_ts_format_t *f, const char *fmt, char *err, size_t errlen);

/* How values without an explicit zone or year are read. One per process() call (it caches):
 * fill with pt_ts_env_init, then reuse for every value of the call. Not shared between
 * threads. */
typedef struct pt_ts_env_s {
    int local;           /* 1: the host's zone with daylight saving (looked up per hour, cached) */
    int32_t offset;      /* seconds east of UTC when !local */
    int32_t source_year; /* > 0: year for formats without one; otherwise the current year */
    int64_t now;         /* wall clock, seconds; the current year and date come from it */
    /* caches */
    int64_t hour_key;
    int32_t hour_off;
    int today_ok;
    int32_t today_y, today_m, today_d;
} pt_ts_env_t;

/* local: use the host's zone (offset ignored). now: seconds since the epoch. */
void pt_ts_env_init(pt_ts_env_t *e, int local, int32_t offset, int32_t source_year, int64_t now);

/* Parses the start of s[0..len) with f (text after what the format consumes is ignored, as
 * LoongCollector does). A zone in the value (%z, or GMT/UTC for %Z) wins over the env's; %s is
 * absolute. Returns 0 and *ns (nanoseconds since the epoch, > 0), or -EINVAL when the value
 * does not match or is outside 1970..2262. */
int pt_ts_parse(const pt_ts_format_t *f, const char *s, size_t len, pt_ts_env_t *e, int64_t *ns);

/* "GMT+08:00" / "GMT-03:30" (LoongCollector's SourceTimezone form; "GMT" and "UTC" alone mean
 * +00:00) to seconds east of UTC. Returns 0 or -EINVAL. */
int pt_ts_parse_zone(const char *z, int32_t *offset);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12; day may overflow the month,
 * which carries into the next, as mktime does). */
int64_t pt_ts_days_from_civil(int64_t y, int64_t m, int64_t d);

#endif
