/* libFuzzer target for the time parser of processor_parse_timestamp_native. The first byte picks
 * a format: one of the common ones, or (when its top bit is set) a format taken from the input
 * itself, up to the first NUL; the rest is the value. The zone, SourceYear and the clock come
 * from the next bytes. Checked: a parsed time is inside 1970..2262; for the fixed numeric
 * formats, a value made only of digits in the expected places gives exactly what timegm gives;
 * parsing is deterministic; and GMT+HH:MM zones parse only in their one form.
 *   fuzz_timestamp corpus/ */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common.h"
#include "processors/processor_parse_timestamp_native/timestamp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const formats[] = {
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%d/%b/%Y:%H:%M:%S %z",
    "%s",
    "%s.%f",
    "%b %e %H:%M:%S",
    "%a, %d %b %Y %H:%M:%S %Z",
    "%m/%d/%y %I:%M:%S %p",
    "%Y %j %T",
    "%c",
    "[%F %R",
    "%H:%M:%S",
    "%C%y-%m-%d",
};

static int digits(const char *s, const char *pattern)
{
    /* pattern: 'D' is a digit, anything else is that exact byte */
    for (; *pattern; pattern++, s++) {
        if (*pattern == 'D' ? (*s < '0' || *s > '9') : *s != *pattern) {
            return 0;
        }
    }
    return 1;
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* For "%Y-%m-%d %H:%M:%S" on "YYYY-MM-DD HH:MM:SS": the expected instant, from timegm. */
static int reference(const char *v, size_t n, int32_t offset, int64_t *sec)
{
    if (n < 19 || !digits(v, "DDDD-DD-DD DD:DD:DD")) {
        return -1;
    }
    int mo = num(v + 5, 2), d = num(v + 8, 2), h = num(v + 11, 2), mi = num(v + 14, 2),
        s = num(v + 17, 2);
    if (s >= 70) {
        /* LoongCollector's conv_num stops before a digit that could only overflow %S, and the
         * format ends there: "75" reads as 7, the "5" is trailing text. */
        s /= 10;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 61) {
        return 1; /* must fail */
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = num(v, 4) - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    *sec = (int64_t)timegm(&tm) - offset;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) {
        return 0;
    }
    char fmtbuf[256];
    const char *fmt;
    const uint8_t *p = data + 4;
    size_t n = size - 4;
    if (data[0] & 0x80) {
        const uint8_t *z = memchr(p, 0, n < sizeof(fmtbuf) - 1 ? n : sizeof(fmtbuf) - 1);
        if (z == NULL) {
            return 0;
        }
        memcpy(fmtbuf, p, (size_t)(z - p) + 1);
        fmt = fmtbuf;
        n -= (size_t)(z - p) + 1;
        p = z + 1;
    } else {
        fmt = formats[data[0] % (sizeof(formats) / sizeof(formats[0]))];
    }
    /* Zone: -14:00 .. +14:00 in quarter hours; year: -1 or 1970..2225; clock: 2001..2037. */
    int32_t offset = ((int32_t)(data[1] % 113) - 56) * 900;
    int32_t year = data[2] & 1 ? 1970 + (data[2] >> 1) : -1;
    int64_t now = 1000000000LL + (int64_t)data[3] * 4000000LL;

    pt_ts_format_t f;
    char err[128];
    if (pt_ts_compile(&f, fmt, err, sizeof(err)) != 0) {
        PT_ASSERT(err[0] != '\0');
        return 0;
    }
    /* The value is parsed from its own heap copy, so reading past it is caught. */
    char *v = malloc(n ? n : 1);
    PT_ASSERT(v != NULL);
    memcpy(v, p, n);
    pt_ts_env_t e;
    pt_ts_env_init(&e, 0, offset, year, now);
    int64_t ns = 0;
    int rc = pt_ts_parse(&f, v, n, &e, &ns);
    PT_ASSERT(rc == 0 || rc == -EINVAL);
    if (rc == 0) {
        PT_ASSERT(ns > 0);
    }
    /* Deterministic, also with the env's caches warm. */
    int64_t ns2 = 0;
    PT_ASSERT(pt_ts_parse(&f, v, n, &e, &ns2) == rc);
    PT_ASSERT(rc != 0 || ns2 == ns);

    if (fmt == formats[0]) {
        int64_t sec = 0;
        int r = reference(v, n, offset, &sec);
        if (r == 1) {
            PT_ASSERT(rc != 0);
        } else if (r == 0) {
            if (sec > 0 && sec <= 9223372035LL) {
                PT_ASSERT(rc == 0 && ns == sec * 1000000000LL);
            } else {
                PT_ASSERT(rc != 0);
            }
        }
    }

    /* SourceTimezone parsing: accepted only as GMT+HH:MM / GMT-HH:MM (or GMT, UTC). */
    char zone[16];
    size_t zn = n < sizeof(zone) - 1 ? n : sizeof(zone) - 1;
    memcpy(zone, v, zn);
    zone[zn] = '\0';
    int32_t zoff = 0;
    if (pt_ts_parse_zone(zone, &zoff) == 0) {
        PT_ASSERT(strcmp(zone, "GMT") == 0 || strcmp(zone, "UTC") == 0 ||
                  (strlen(zone) == 9 && strncmp(zone, "GMT", 3) == 0));
        PT_ASSERT(zoff >= -14 * 3600 - 59 * 60 && zoff <= 14 * 3600 + 59 * 60);
    }
    free(v);
    return 0;
}
