/* A strptime for log timestamps: the conversions LoongCollector's Strptime knows (itself from
 * NetBSD's), compiled once per format, parsed with plain loops, and turned into epoch time with
 * days-from-civil arithmetic. The only time zone database call is localtime_r, once per hour
 * of log time, and only for a host zone with daylight saving. */
#include "timestamp_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
    OP_END = 0,
    OP_LIT,      /* one byte, exactly */
    OP_WS,       /* any run of white space, maybe empty */
    OP_YEAR,     /* %Y 0..9999 */
    OP_YEAR2,    /* %y 0..99 */
    OP_CENTURY,  /* %C 0..99 */
    OP_MONTH,    /* %m 1..12 */
    OP_MONNAME,  /* %b %B %h */
    OP_DAY,      /* %d 1..31 */
    OP_DAYSP,    /* %e: 1..31, leading spaces allowed */
    OP_HOUR,     /* %H %k 0..23 */
    OP_HOUR12,   /* %I %l 1..12 */
    OP_MIN,      /* %M 0..59 */
    OP_SEC,      /* %S 0..61 */
    OP_FRAC,     /* %f */
    OP_YDAY,     /* %j 1..366 */
    OP_AMPM,     /* %p */
    OP_WDAYNAME, /* %a %A: checked, not used */
    OP_ZONE,     /* %z */
    OP_ZONENAME, /* %Z */
    OP_EPOCH,    /* %s */
    OP_WEEK,     /* %U %W %V 0..53: checked, not used */
    OP_WDAY0,    /* %w 0..6: checked, not used */
    OP_WDAY1,    /* %u 1..7: checked, not used */
    OP_ISOYEAR2, /* %g 0..99: checked, not used */
    OP_ISOYEAR,  /* %G digits: checked, not used */
};

/* ========================================================================= compile ===== */

typedef struct {
    pt_ts_format_t *f;
    char *err;
    size_t errlen;
    int depth;
} compiler_t;

static int emit(compiler_t *c, uint8_t op, char ch)
{
    if (c->f->nsteps >= PT_TS_MAX_STEPS - 1) {
        snprintf(c->err, c->errlen, "format too long (more than %d steps)", PT_TS_MAX_STEPS - 1);
        return -EINVAL;
    }
    c->f->steps[c->f->nsteps].op = op;
    c->f->steps[c->f->nsteps].c = ch;
    c->f->nsteps++;
    return 0;
}

static int is_space(unsigned char ch)
{
    return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static int compile_str(compiler_t *c, const char *fmt, const char *base);

/* The composite conversions, as LoongCollector expands them. */
static const char *composite(char conv)
{
    switch (conv) {
    case 'c':
        return "%a %b %d %H:%M:%S %Y";
    case 'D':
    case 'x':
        return "%m/%d/%y";
    case 'F':
        return "%Y-%m-%d";
    case 'R':
        return "%H:%M";
    case 'r':
        return "%I:%M:%S %p";
    case 'T':
    case 'X':
        return "%H:%M:%S";
    default:
        return NULL;
    }
}

static int conversion(compiler_t *c, char conv)
{
    pt_ts_format_t *f = c->f;
    uint8_t op;
    switch (conv) {
    case 'Y':
        op = OP_YEAR;
        f->have |= PT_TS_HAVE_YEAR | PT_TS_HAVE_DATE;
        break;
    case 'y':
        op = OP_YEAR2;
        f->have |= PT_TS_HAVE_YEAR | PT_TS_HAVE_DATE;
        break;
    case 'C':
        op = OP_CENTURY;
        f->have |= PT_TS_HAVE_YEAR | PT_TS_HAVE_DATE;
        break;
    case 'm':
        op = OP_MONTH;
        f->have |= PT_TS_HAVE_DATE;
        break;
    case 'b':
    case 'B':
    case 'h':
        op = OP_MONNAME;
        f->have |= PT_TS_HAVE_DATE;
        break;
    case 'd':
        op = OP_DAY;
        f->have |= PT_TS_HAVE_DATE;
        break;
    case 'e':
        op = OP_DAYSP;
        f->have |= PT_TS_HAVE_DATE;
        break;
    case 'j':
        op = OP_YDAY;
        f->have |= PT_TS_HAVE_DATE;
        break;
    case 'H':
    case 'k':
        op = OP_HOUR;
        break;
    case 'I':
    case 'l':
        op = OP_HOUR12;
        break;
    case 'M':
        op = OP_MIN;
        break;
    case 'S':
        op = OP_SEC;
        break;
    case 'f':
        op = OP_FRAC;
        break;
    case 'p':
        op = OP_AMPM;
        break;
    case 'a':
    case 'A':
        op = OP_WDAYNAME;
        break;
    case 'z':
        op = OP_ZONE;
        break;
    case 'Z':
        op = OP_ZONENAME;
        break;
    case 's':
        op = OP_EPOCH;
        f->have |= PT_TS_HAVE_EPOCH | PT_TS_HAVE_DATE | PT_TS_HAVE_YEAR;
        break;
    case 'U':
    case 'W':
    case 'V':
        op = OP_WEEK;
        break;
    case 'w':
        op = OP_WDAY0;
        break;
    case 'u':
        op = OP_WDAY1;
        break;
    case 'g':
        op = OP_ISOYEAR2;
        break;
    case 'G':
        op = OP_ISOYEAR;
        break;
    case 'n':
    case 't':
        op = OP_WS;
        break;
    case '%':
        return emit(c, OP_LIT, '%');
    default:
        return 1; /* not a simple conversion */
    }
    return emit(c, op, 0);
}

static int compile_str(compiler_t *c, const char *fmt, const char *base)
{
    for (const char *p = fmt; *p != '\0'; p++) {
        if (is_space((unsigned char)*p)) {
            if (emit(c, OP_WS, 0) != 0) {
                return -EINVAL;
            }
            continue;
        }
        if (*p != '%') {
            if (emit(c, OP_LIT, *p) != 0) {
                return -EINVAL;
            }
            continue;
        }
        const char *at = p;
        p++;
        /* The E and O modifiers (alternative representations) are accepted and ignored. */
        if (*p == 'E' || *p == 'O') {
            p++;
        }
        if (*p == '\0') {
            snprintf(c->err, c->errlen, "'%%' at the end of the format (offset %zu)",
                     (size_t)(at - base));
            return -EINVAL;
        }
        int rc = conversion(c, *p);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            continue;
        }
        const char *sub = composite(*p);
        if (sub == NULL) {
            if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f) {
                snprintf(c->err, c->errlen, "unsupported conversion %%%c at offset %zu", *p,
                         (size_t)(at - base));
            } else {
                snprintf(c->err, c->errlen, "unsupported conversion at offset %zu",
                         (size_t)(at - base));
            }
            return -EINVAL;
        }
        rc = compile_str(c, sub, base);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int pt_ts_compile(pt_ts_format_t *f, const char *fmt, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    compiler_t c = {f, err, errlen, 0};
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (fmt == NULL || fmt[0] == '\0') {
        snprintf(err, errlen, "must not be empty");
        return -EINVAL;
    }
    int rc = compile_str(&c, fmt, fmt);
    if (rc != 0) {
        return rc;
    }
    f->steps[f->nsteps].op = OP_END;
    return 0;
}

/* =========================================================================== civil ===== */

/* Howard Hinnant's days_from_civil, for the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t pt_ts_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    /* Day overflow (Feb 30) carries into the next month, as mktime normalises it. */
    return days_from_civil(y, m, 1) + (d - 1);
}

static void civil_from_days(int64_t z, int32_t *y, int32_t *m, int32_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int32_t)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int32_t)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int32_t)(yy + (*m <= 2));
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ============================================================================= env ===== */

void pt_ts_env_init(pt_ts_env_t *e, int local, int32_t offset, int32_t source_year, int64_t now)
{
    memset(e, 0, sizeof(*e));
    e->local = local;
    e->offset = offset;
    e->source_year = source_year;
    e->now = now;
    e->hour_key = INT64_MIN;
}

static int32_t gmtoff_at(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (localtime_r(&tt, &tm) == NULL) {
        return 0;
    }
    return (int32_t)tm.tm_gmtoff;
}

/* The host zone's offset for a wall-clock time given as seconds "as if UTC". Cached per hour:
 * daylight-saving changes fall on hour boundaries in practice, and a group of log lines rarely
 * spans more than one. */
static int32_t local_offset(pt_ts_env_t *e, int64_t wall)
{
    int64_t key = wall >= 0 ? wall / 3600 : (wall - 3599) / 3600;
    if (key == e->hour_key) {
        return e->hour_off;
    }
    int32_t off = gmtoff_at(wall);
    off = gmtoff_at(wall - off);
    e->hour_key = key;
    e->hour_off = off;
    return off;
}

static int32_t zone_offset(pt_ts_env_t *e, int64_t wall)
{
    return e->local ? local_offset(e, wall) : e->offset;
}

/* Today's date in the env's zone, for formats without a year or a date. */
static void today(pt_ts_env_t *e)
{
    if (e->today_ok) {
        return;
    }
    int32_t off = e->local ? gmtoff_at(e->now) : e->offset;
    int64_t wall = e->now + off;
    int64_t days = wall >= 0 ? wall / 86400 : (wall - 86399) / 86400;
    civil_from_days(days, &e->today_y, &e->today_m, &e->today_d);
    e->today_ok = 1;
}

/* ============================================================================ parse ===== */

typedef struct {
    int32_t year, year2, century;
    int32_t mon, day, yday;
    int32_t hour, min, sec;
    int32_t nsec;
    int32_t pm; /* -1 unset, 0 AM, 1 PM */
    int32_t zone;
    int zone_set;
    int64_t epoch;
    int epoch_set;
} tm_t;

/* LoongCollector's conv_num: as many digits as the upper limit has, stopping early once
 * another digit could only overflow it; then the range check. */
static const char *num(const char *p, const char *end, int32_t *out, int32_t lo, int32_t hi)
{
    if (p >= end || *p < '0' || *p > '9') {
        return NULL;
    }
    int32_t v = 0;
    int32_t rl = hi;
    do {
        v = v * 10 + (*p - '0');
        rl /= 10;
        p++;
    } while (v * 10 <= hi && rl != 0 && p < end && *p >= '0' && *p <= '9');
    if (v < lo || v > hi) {
        return NULL;
    }
    *out = v;
    return p;
}

/* Up to 9 digits of a fraction, scaled to nanoseconds; further digits are consumed and
 * dropped (truncated, not rounded). */
static const char *frac(const char *p, const char *end, int32_t *ns)
{
    if (p >= end || *p < '0' || *p > '9') {
        return NULL;
    }
    int32_t v = 0;
    int n = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (n < 9) {
            v = v * 10 + (*p - '0');
            n++;
        }
        p++;
    }
    for (; n < 9; n++) {
        v *= 10;
    }
    *ns = v;
    return p;
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int prefix_ci(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(end - p) < n) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (lower((unsigned char)p[i]) != lower((unsigned char)word[i])) {
            return 0;
        }
    }
    return 1;
}

static const char *const mon_full[12] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
static const char *const mon_abbr[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_full[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};
static const char *const day_abbr[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

/* Full names first, then abbreviations, case-insensitively (LoongCollector's find_string). */
static const char *name(const char *p, const char *end, const char *const *full,
                        const char *const *abbr, int n, int32_t *out)
{
    for (int i = 0; i < n; i++) {
        if (prefix_ci(p, end, full[i])) {
            *out = i;
            return p + strlen(full[i]);
        }
    }
    for (int i = 0; i < n; i++) {
        if (prefix_ci(p, end, abbr[i])) {
            *out = i;
            return p + strlen(abbr[i]);
        }
    }
    return NULL;
}

/* RFC 822 North American zones, as NetBSD's strptime knows them. */
static const struct {
    const char *name;
    int32_t off;
} na_zones[] = {
    {"EST", -5 * 3600}, {"EDT", -4 * 3600}, {"CST", -6 * 3600}, {"CDT", -5 * 3600},
    {"MST", -7 * 3600}, {"MDT", -6 * 3600}, {"PST", -8 * 3600}, {"PDT", -7 * 3600},
};

/* %z: Z, UT, UTC, GMT, +hh, +hhmm, +hh:mm (and -), or a North American zone name. */
static const char *zone(const char *p, const char *end, tm_t *t)
{
    while (p < end && is_space((unsigned char)*p)) {
        p++;
    }
    if (p >= end) {
        return NULL;
    }
    if (*p == 'Z') {
        t->zone = 0;
        t->zone_set = 1;
        return p + 1;
    }
    if (prefix_ci(p, end, "UTC") || prefix_ci(p, end, "GMT")) {
        t->zone = 0;
        t->zone_set = 1;
        return p + 3;
    }
    if (prefix_ci(p, end, "UT")) {
        t->zone = 0;
        t->zone_set = 1;
        return p + 2;
    }
    for (size_t i = 0; i < sizeof(na_zones) / sizeof(na_zones[0]); i++) {
        if (prefix_ci(p, end, na_zones[i].name)) {
            t->zone = na_zones[i].off;
            t->zone_set = 1;
            return p + 3;
        }
    }
    if (*p != '+' && *p != '-') {
        return NULL;
    }
    int neg = *p == '-';
    p++;
    int32_t v = 0;
    int digits = 0;
    while (digits < 4 && p < end) {
        if (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            digits++;
            p++;
        } else if (digits == 2 && *p == ':' && p + 1 < end && p[1] >= '0' && p[1] <= '9') {
            p++;
        } else {
            break;
        }
    }
    int32_t sec;
    if (digits == 2) {
        sec = v * 3600;
    } else if (digits == 4) {
        if (v % 100 >= 60) {
            return NULL;
        }
        sec = (v / 100) * 3600 + (v % 100) * 60;
    } else {
        return NULL;
    }
    if (sec > 24 * 3600) {
        return NULL;
    }
    t->zone = neg ? -sec : sec;
    t->zone_set = 1;
    return p;
}

/* %Z: GMT, UTC, UT or Z set the zone to UTC. Any other abbreviation (CST, CEST, ...) is
 * ambiguous without a zone database; it is skipped and the value is read in SourceTimezone. */
static const char *zone_name(const char *p, const char *end, tm_t *t)
{
    if (prefix_ci(p, end, "UTC") || prefix_ci(p, end, "GMT")) {
        t->zone = 0;
        t->zone_set = 1;
        return p + 3;
    }
    if (prefix_ci(p, end, "UT")) {
        t->zone = 0;
        t->zone_set = 1;
        return p + 2;
    }
    if (p < end && *p == 'Z' && (p + 1 == end || !((p[1] | 32) >= 'a' && (p[1] | 32) <= 'z'))) {
        t->zone = 0;
        t->zone_set = 1;
        return p + 1;
    }
    const char *q = p;
    while (q < end && q - p < 6 && (((*q | 32) >= 'a' && (*q | 32) <= 'z'))) {
        q++;
    }
    return q - p >= 2 ? q : NULL;
}

/* %s: up to 10 digits of seconds (LoongCollector keeps 10 at most). When %s ends the format,
 * further digits are the fraction: 1700000000123 is 1700000000.123 (milliseconds). */
static const char *epoch(const char *p, const char *end, tm_t *t, int last)
{
    int64_t v = 0;
    int n = 0;
    while (p < end && *p >= '0' && *p <= '9' && n < 10) {
        v = v * 10 + (*p - '0');
        n++;
        p++;
    }
    if (n == 0 || v == 0) {
        return NULL;
    }
    t->epoch = v;
    t->epoch_set = 1;
    if (last && p < end && *p >= '0' && *p <= '9') {
        p = frac(p, end, &t->nsec);
    }
    return p;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_space((unsigned char)*p)) {
        p++;
    }
    return p;
}

/* Runs the steps. Returns 0 or -EINVAL. */
static int run(const pt_ts_format_t *f, const char *s, size_t len, tm_t *t)
{
    const char *p = s;
    const char *end = s + len;
    int32_t ignored;
    for (uint32_t i = 0; i < f->nsteps && p != NULL; i++) {
        const pt_ts_step_t *st = &f->steps[i];
        switch (st->op) {
        case OP_LIT:
            if (p >= end || *p != st->c) {
                return -EINVAL;
            }
            p++;
            break;
        case OP_WS:
            p = skip_ws(p, end);
            break;
        case OP_YEAR:
            p = num(p, end, &t->year, 0, 9999);
            break;
        case OP_YEAR2:
            p = num(p, end, &t->year2, 0, 99);
            break;
        case OP_CENTURY:
            p = num(p, end, &t->century, 0, 99);
            break;
        case OP_MONTH:
            p = num(p, end, &t->mon, 1, 12);
            break;
        case OP_MONNAME:
            p = name(p, end, mon_full, mon_abbr, 12, &t->mon);
            t->mon++;
            break;
        case OP_DAYSP:
            while (p < end && *p == ' ') {
                p++;
            }
            p = num(p, end, &t->day, 1, 31);
            break;
        case OP_DAY:
            p = num(p, end, &t->day, 1, 31);
            break;
        case OP_HOUR:
            p = num(p, end, &t->hour, 0, 23);
            break;
        case OP_HOUR12:
            p = num(p, end, &t->hour, 1, 12);
            if (t->hour == 12) {
                t->hour = 0;
            }
            break;
        case OP_MIN:
            p = num(p, end, &t->min, 0, 59);
            break;
        case OP_SEC:
            p = num(p, end, &t->sec, 0, 61);
            break;
        case OP_FRAC:
            p = frac(p, end, &t->nsec);
            break;
        case OP_YDAY:
            p = num(p, end, &t->yday, 1, 366);
            break;
        case OP_AMPM:
            if (prefix_ci(p, end, "AM")) {
                t->pm = 0;
                p += 2;
            } else if (prefix_ci(p, end, "PM")) {
                t->pm = 1;
                p += 2;
            } else {
                p = NULL;
            }
            break;
        case OP_WDAYNAME:
            p = name(p, end, day_full, day_abbr, 7, &ignored);
            break;
        case OP_ZONE:
            p = zone(p, end, t);
            break;
        case OP_ZONENAME:
            p = zone_name(p, end, t);
            break;
        case OP_EPOCH:
            p = epoch(p, end, t, i + 1 == f->nsteps);
            break;
        case OP_WEEK:
            p = num(p, end, &ignored, 0, 53);
            break;
        case OP_WDAY0:
            p = num(p, end, &ignored, 0, 6);
            break;
        case OP_WDAY1:
            p = num(p, end, &ignored, 1, 7);
            break;
        case OP_ISOYEAR2:
            p = num(p, end, &ignored, 0, 99);
            break;
        case OP_ISOYEAR:
            if (p >= end || *p < '0' || *p > '9') {
                return -EINVAL;
            }
            while (p < end && *p >= '0' && *p <= '9') {
                p++;
            }
            break;
        default:
            return -EINVAL;
        }
    }
    return p != NULL ? 0 : -EINVAL;
}

/* Seconds of int64 nanoseconds: up to 2262-04-11. */
#define TS_MAX_SEC 9223372035LL

int pt_ts_parse(const pt_ts_format_t *f, const char *s, size_t len, pt_ts_env_t *e, int64_t *ns)
{
    tm_t t;
    memset(&t, 0, sizeof(t));
    t.year = t.year2 = t.century = -1;
    t.mon = t.day = t.yday = -1;
    t.pm = -1;
    if (run(f, s, len, &t) != 0) {
        return -EINVAL;
    }
    int64_t sec;
    if (t.epoch_set) {
        sec = t.epoch; /* absolute: no zone applies */
    } else {
        if (t.pm >= 0) {
            if (t.hour > 11) {
                return -EINVAL; /* "13:00 PM" */
            }
            t.hour += 12 * t.pm;
        }
        int64_t y;
        if (t.year >= 0) {
            y = t.year;
        } else if (t.century >= 0 || t.year2 >= 0) {
            if (t.century >= 0) {
                y = t.century * 100 + (t.year2 >= 0 ? t.year2 : 0);
            } else {
                y = t.year2 <= 68 ? 2000 + t.year2 : 1900 + t.year2;
            }
        } else if (e->source_year > 0) {
            y = e->source_year;
        } else {
            /* The current year, except across New Year: a Dec 31 line read on Jan 1 is last
             * year's, a Jan 1 line read on Dec 31 next year's (LoongCollector's DeduceYear). */
            today(e);
            y = e->today_y;
            if (t.mon == 1 && t.day == 1 && e->today_m == 12 && e->today_d == 31) {
                y++;
            } else if (t.mon == 12 && t.day == 31 && e->today_m == 1 && e->today_d == 1) {
                y--;
            }
        }
        int64_t days;
        if (!(f->have & PT_TS_HAVE_DATE)) {
            /* A time of day alone is today's. */
            today(e);
            days = days_from_civil(e->today_y, e->today_m, e->today_d);
        } else if (t.yday > 0 && t.mon < 0 && t.day < 0) {
            if (t.yday > 365 + is_leap(y)) {
                return -EINVAL;
            }
            days = days_from_civil(y, 1, 1) + t.yday - 1;
        } else {
            days = pt_ts_days_from_civil(y, t.mon > 0 ? t.mon : 1, t.day > 0 ? t.day : 1);
        }
        int64_t wall = days * 86400 + t.hour * 3600 + t.min * 60 + t.sec;
        sec = wall - (t.zone_set ? t.zone : zone_offset(e, wall));
    }
    if (sec <= 0 || sec > TS_MAX_SEC) {
        return -EINVAL;
    }
    *ns = sec * 1000000000LL + t.nsec;
    return 0;
}

int pt_ts_parse_zone(const char *z, int32_t *offset)
{
    if (z == NULL) {
        return -EINVAL;
    }
    if (strcmp(z, "GMT") == 0 || strcmp(z, "UTC") == 0) {
        *offset = 0;
        return 0;
    }
    /* Exactly GMT+HH:MM, as LoongCollector's ParseTimeZoneOffsetSecond. */
    if (strlen(z) != 9 || strncmp(z, "GMT", 3) != 0 || (z[3] != '+' && z[3] != '-') ||
        z[6] != ':') {
        return -EINVAL;
    }
    const char *d = z + 4;
    if (d[0] < '0' || d[0] > '9' || d[1] < '0' || d[1] > '9' || d[3] < '0' || d[3] > '9' ||
        d[4] < '0' || d[4] > '9') {
        return -EINVAL;
    }
    int h = (d[0] - '0') * 10 + (d[1] - '0');
    int m = (d[3] - '0') * 10 + (d[4] - '0');
    if (h > 14 || m > 59) {
        return -EINVAL;
    }
    int32_t off = h * 3600 + m * 60;
    *offset = z[3] == '-' ? -off : off;
    return 0;
}
