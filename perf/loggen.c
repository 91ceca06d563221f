/*
 * petrel-loggen writes OpenClaw-style logs (session transcripts and the tslog gateway app log),
 * large files of JSON lines for benchmarks, and paced appends for tailing tests. The output
 * depends only on the arguments: it has its own PRNG and takes every simulated time from --start.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MS_PER_DAY 86400000LL
#define KIB 1024ull
#define MIB (1024ull * 1024ull)

/* Larger writes stop paying off beyond about 1 MiB; session files get less because a tree can
 * hold hundreds of them, all open at once. */
#define FLUSH_BIG (1 * MIB)
#define FLUSH_SESSION (256 * KIB)
#define FLUSH_SESSION_MANY (64 * KIB)
#define MAX_SESSIONS 500
#define BIG_OUTPUT_EVERY 40
#define BIG_OUTPUT_BYTES (96 * KIB)
#define IMAGE_BYTES (24 * KIB)
#define COMPACT_AFTER 60

static const char *prog = "petrel-loggen";

/* ============================================================================================
 * PRNG: xoshiro256** seeded through splitmix64, so that every seed (0 included) gives a
 * well-mixed state and the same stream on every platform. Draw at most once per function-call
 * argument list: C leaves the order of argument evaluation unspecified, and two draws there
 * make the output differ between gcc and clang.
 * ========================================================================================== */

typedef struct {
    uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed)
{
    for (size_t i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&seed);
    }
}

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Lemire's multiply-shift: its bias is below 2^-40 for our ranges, and it needs no division. */
static inline uint64_t rng_below(rng_t *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

static inline int64_t rng_range(rng_t *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

static inline double rng_unit(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static inline bool rng_chance(rng_t *r, double p)
{
    return rng_unit(r) < p;
}

#define PICK(r, arr) ((arr)[rng_below((r), ARRAY_LEN(arr))])

/* A bijection on 32 bits (murmur3's finalizer): applied to a counter it gives ids that look
 * random but never collide, as entry ids within one transcript must not. */
static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* ============================================================================================
 * Growable buffer. Allocation failure is sticky: later appends are dropped and the caller checks
 * `err` once per line, which keeps the many small appends free of error plumbing.
 * ========================================================================================== */

typedef struct {
    char *buf;
    size_t len;
    size_t cap;
    int err;
    bool fixed; /* buf is caller-provided: never realloc'd, overflow is an error */
} sb_t;

static bool sb_grow(sb_t *sb, size_t n)
{
    size_t cap;
    char *p;

    if (sb->err != 0) {
        return false;
    }
    if (sb->fixed) {
        sb->err = -ENOBUFS;
        return false;
    }
    cap = sb->cap != 0 ? sb->cap : 4096;
    while (cap - sb->len < n) {
        if (cap > SIZE_MAX / 2) {
            sb->err = -ENOMEM;
            return false;
        }
        cap *= 2;
    }
    p = realloc(sb->buf, cap);
    if (p == NULL) {
        sb->err = -ENOMEM;
        return false;
    }
    sb->buf = p;
    sb->cap = cap;
    return true;
}

#define SB_ROOM(sb, n) ((sb)->cap - (sb)->len >= (n) || sb_grow((sb), (n)))

static void sb_free(sb_t *sb)
{
    free(sb->buf);
    memset(sb, 0, sizeof(*sb));
}

static inline void sb_raw(sb_t *sb, const void *p, size_t n)
{
    if (n == 0 || !SB_ROOM(sb, n)) {
        return;
    }
    memcpy(sb->buf + sb->len, p, n);
    sb->len += n;
}

#define sb_lit(sb, s) sb_raw((sb), "" s, sizeof(s) - 1)

static inline void sb_str(sb_t *sb, const char *s)
{
    sb_raw(sb, s, strlen(s));
}

static inline void sb_ch(sb_t *sb, char c)
{
    if (!SB_ROOM(sb, 1)) {
        return;
    }
    sb->buf[sb->len++] = c;
}

static void sb_u64(sb_t *sb, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    sb_raw(sb, tmp + i, sizeof(tmp) - i);
}

static const char hex_digits[] = "0123456789abcdef";
static const char b62_digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char b64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends s as the inside of a JSON string. Only '"', '\\' and control bytes are escaped;
 * UTF-8 passes through raw, as JSON.stringify writes it. */
static void sb_esc(sb_t *sb, const char *s, size_t n)
{
    size_t i;
    size_t run = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        sb_raw(sb, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            sb_lit(sb, "\\\"");
            break;
        case '\\':
            sb_lit(sb, "\\\\");
            break;
        case '\n':
            sb_lit(sb, "\\n");
            break;
        case '\r':
            sb_lit(sb, "\\r");
            break;
        case '\t':
            sb_lit(sb, "\\t");
            break;
        case '\b':
            sb_lit(sb, "\\b");
            break;
        case '\f':
            sb_lit(sb, "\\f");
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};

            sb_raw(sb, u, sizeof(u));
            break;
        }
        }
    }
    sb_raw(sb, s + run, n - run);
}

/* A quoted, escaped JSON string. */
static void sb_jstr(sb_t *sb, const char *s, size_t n)
{
    sb_ch(sb, '"');
    sb_esc(sb, s, n);
    sb_ch(sb, '"');
}

static inline void sb_jstrz(sb_t *sb, const char *s)
{
    sb_jstr(sb, s, strlen(s));
}

static void sb_vfmt(sb_t *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (!SB_ROOM(sb, 256)) {
        return;
    }
    va_copy(ap2, ap);
    n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        sb->err = -EINVAL;
        return;
    }
    if ((size_t)n >= sb->cap - sb->len) {
        if (!SB_ROOM(sb, (size_t)n + 1)) {
            return;
        }
        vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
    }
    sb->len += (size_t)n;
}

__attribute__((format(printf, 2, 3))) static void sb_fmt(sb_t *sb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_vfmt(sb, fmt, ap);
    va_end(ap);
}

static void sb_rand_chars(sb_t *sb, rng_t *r, const char *alphabet, size_t alen, size_t n)
{
    if (!SB_ROOM(sb, n)) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sb->buf[sb->len++] = alphabet[rng_below(r, alen)];
    }
}

static void sb_hex(sb_t *sb, rng_t *r, size_t n)
{
    uint64_t bits = 0;

    if (!SB_ROOM(sb, n)) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i % 16 == 0) {
            bits = rng_next(r);
        }
        sb->buf[sb->len++] = hex_digits[bits & 15];
        bits >>= 4;
    }
}

/* Base64 of n random bytes: image data and thinking signatures. */
static void sb_b64_random(sb_t *sb, rng_t *r, size_t n)
{
    size_t out = (n + 2) / 3 * 4;
    size_t i;

    if (!SB_ROOM(sb, out)) {
        return;
    }
    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)(rng_next(r) & 0xffffff);

        sb->buf[sb->len++] = b64_digits[v >> 18];
        sb->buf[sb->len++] = b64_digits[(v >> 12) & 63];
        sb->buf[sb->len++] = b64_digits[(v >> 6) & 63];
        sb->buf[sb->len++] = b64_digits[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)(rng_next(r) & 0xffff) << 8;

        sb->buf[sb->len++] = b64_digits[v >> 18];
        sb->buf[sb->len++] = b64_digits[(v >> 12) & 63];
        sb->buf[sb->len++] = n - i == 2 ? b64_digits[(v >> 6) & 63] : '=';
        sb->buf[sb->len++] = '=';
    }
}

/* A random version-4 UUID into out (37 bytes with the NUL). */
static void uuid4(rng_t *r, char out[37])
{
    uint64_t hi = rng_next(r);
    uint64_t lo = rng_next(r);
    size_t k = 0;

    hi = (hi & ~0xf000ull) | 0x4000ull;
    lo = (lo & ~(3ull << 62)) | (2ull << 62);
    for (int i = 0; i < 32; i++) {
        uint64_t w = i < 16 ? hi : lo;
        int shift = 60 - 4 * (i % 16);

        if (i == 8 || i == 12 || i == 16 || i == 20) {
            out[k++] = '-';
        }
        out[k++] = hex_digits[(w >> shift) & 15];
    }
    out[k] = '\0';
}

static void hex8(uint32_t v, char out[9])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = hex_digits[v & 15];
        v >>= 4;
    }
    out[8] = '\0';
}

/* ============================================================================================
 * Numbers as JavaScript prints them. JSON.stringify writes the shortest decimal that reads
 * back to the same double, in plain notation from 1e-6 up to 1e21, so cost blocks carry values
 * such as 0.000005, 1e-7 and 0.022753000000000002 that a parser has to get right.
 * ========================================================================================== */

static void sb_jsnum(sb_t *sb, double x)
{
    char buf[40];
    char digits[24];
    const char *e;
    int prec;
    int k = 0;
    int n;

    if (x == 0) {
        sb_ch(sb, '0');
        return;
    }
    if (x < 0) {
        sb_ch(sb, '-');
        x = -x;
    }
    if (x < 9007199254740992.0 && x == (double)(int64_t)x) {
        sb_u64(sb, (uint64_t)x);
        return;
    }
    /* Any decimal of up to 15 digits survives the trip through a double, so if the 15-digit
     * rounding reads back exactly it is the shortest once its trailing zeros go; otherwise the
     * answer has 16 or 17 digits and the correctly rounded one is what JavaScript prints. */
    for (prec = 14; prec < 16; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, x);
        if (strtod(buf, NULL) == x) {
            break;
        }
    }
    if (prec == 16) {
        snprintf(buf, sizeof(buf), "%.*e", prec, x);
    }
    e = strchr(buf, 'e');
    if (e == NULL) {
        sb_str(sb, buf);
        return;
    }
    digits[k++] = buf[0];
    for (const char *p = buf + 2; p < e; p++) {
        digits[k++] = *p;
    }
    while (k > 1 && digits[k - 1] == '0') {
        k--;
    }
    n = atoi(e + 1) + 1; /* the value is 0.DIGITS * 10^n */
    if (k <= n && n <= 21) {
        sb_raw(sb, digits, (size_t)k);
        for (int i = k; i < n; i++) {
            sb_ch(sb, '0');
        }
    } else if (0 < n && n <= 21) {
        sb_raw(sb, digits, (size_t)n);
        sb_ch(sb, '.');
        sb_raw(sb, digits + n, (size_t)(k - n));
    } else if (-6 < n && n <= 0) {
        sb_lit(sb, "0.");
        for (int i = n; i < 0; i++) {
            sb_ch(sb, '0');
        }
        sb_raw(sb, digits, (size_t)k);
    } else {
        sb_ch(sb, digits[0]);
        if (k > 1) {
            sb_ch(sb, '.');
            sb_raw(sb, digits + 1, (size_t)(k - 1));
        }
        sb_ch(sb, 'e');
        sb_ch(sb, n - 1 >= 0 ? '+' : '-');
        sb_u64(sb, (uint64_t)(n - 1 >= 0 ? n - 1 : 1 - n));
    }
}

/* ============================================================================================
 * Calendar. Howard Hinnant's civil-from-days algorithms, so that no libc time zone state (and
 * no wall clock) is involved.
 * ========================================================================================== */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if (a % b != 0 && (a < 0) != (b < 0)) {
        q--;
    }
    return q;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe;
    unsigned doy;
    unsigned doe;

    y -= m <= 2;
    era = floor_div(y, 400);
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe;
    unsigned yoe;
    unsigned doy;
    unsigned mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static inline void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* "YYYY-MM-DDTHH:MM:SS.mmm" (23 bytes, no NUL); --start keeps the year within 1970..9999. */
static void fmt_datetime(int64_t ms, char out[23])
{
    int64_t day = floor_div(ms, MS_PER_DAY);
    int64_t rem = ms - day * MS_PER_DAY;
    int64_t y;
    unsigned mo;
    unsigned d;
    unsigned sec = (unsigned)(rem / 1000);

    civil_from_days(day, &y, &mo, &d);
    put2(out, (unsigned)(y / 100));
    put2(out + 2, (unsigned)(y % 100));
    out[4] = '-';
    put2(out + 5, mo);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = 'T';
    put2(out + 11, sec / 3600);
    out[13] = ':';
    put2(out + 14, sec / 60 % 60);
    out[16] = ':';
    put2(out + 17, sec % 60);
    out[19] = '.';
    out[20] = (char)('0' + rem % 1000 / 100);
    put2(out + 21, (unsigned)(rem % 100));
}

/* ISO-8601 UTC with milliseconds, as Date#toISOString writes it. */
static void sb_iso_z(sb_t *sb, int64_t ms)
{
    char b[24];

    fmt_datetime(ms, b);
    b[23] = 'Z';
    sb_raw(sb, b, sizeof(b));
}

/* Local time with its offset, as tslog writes the "time" key. */
static void sb_iso_local(sb_t *sb, int64_t ms, int tz_min)
{
    char b[29];
    unsigned off = (unsigned)(tz_min < 0 ? -tz_min : tz_min);

    fmt_datetime(ms + (int64_t)tz_min * 60000, b);
    b[23] = tz_min < 0 ? '-' : '+';
    put2(b + 24, off / 60);
    b[26] = ':';
    put2(b + 27, off % 60);
    sb_raw(sb, b, sizeof(b));
}

/* ============================================================================================
 * Vocabulary. Written for this tool; it reads like an assistant's day and carries the awkward
 * bytes on purpose: CJK, emoji, quotes, newlines and JSON inside strings.
 * ========================================================================================== */

typedef struct {
    const char *provider;
    const char *api;
    const char *model;
    double in; /* USD per million tokens */
    double out;
    double cache_read;
    double cache_write;
} model_t;

static const model_t models[] = {
    {"anthropic", "anthropic-messages", "claude-sonnet-4-5", 3.0, 15.0, 0.3, 3.75},
    {"anthropic", "anthropic-messages", "claude-opus-4-5", 5.0, 25.0, 0.5, 6.25},
    {"openai", "openai-responses", "gpt-5.1", 1.25, 10.0, 0.125, 0.0},
    {"google", "google-generative-ai", "gemini-2.5-pro", 1.25, 10.0, 0.31, 0.0},
    {"openrouter", "openai-completions", "deepseek/deepseek-chat-v3.1", 0.27, 1.1, 0.07, 0.0},
};

static const char *const channels[] = {"telegram", "whatsapp", "slack",   "discord",
                                       "signal",   "webchat",  "imessage"};
static const char *const channel_names[] = {"Telegram", "WhatsApp", "Slack",   "Discord",
                                            "Signal",   "WebChat",  "iMessage"};
static const char *const senders[] = {"ana", "jonas", "mei", "ravi", "ольга", "王芳", "kai"};
static const char *const thinking_levels[] = {"off", "low", "medium", "high"};

static const char *const user_texts[] = {
    "the disk alert fired again on db-2, can you look?",
    "what's left on my todo list for today",
    "book a table for 4 at 7:30 somewhere near the office",
    "rebase my feature branch on main and run the tests",
    "把昨天的会议纪要整理一下发给我",
    "这个报错是什么意思？\nTypeError: Cannot read properties of undefined (reading 'profile')",
    "summarize https://example.org/blog/post-42 in 3 bullets",
    "any new issues labeled \"bug\" since Monday?",
    "thanks 🙏",
    "how much did we spend on the API this week? 💸",
    "Wie wird das Wetter morgen in Hamburg?",
    "retry",
    "set a reminder: dentist on Friday 10:00 🦷",
    "grep the nginx logs for 502s in the last hour",
};

static const char *const assistant_texts[] = {
    "db-2 is at 93% on /var/lib/postgresql. The WAL archive wasn't being pruned; I removed "
    "segments older than 7 days and usage is now 61%.",
    "Today's list:\n- [ ] renew the TLS cert\n- [ ] reply to Sam about the offsite\n- [x] push "
    "the release notes",
    "Booked: Trattoria Sole, 19:30, 4 people. Confirmation code K7Q2.",
    "Rebased cleanly onto main (3 commits). Tests: 482 passed, 0 failed ✅",
    "会议纪要已整理好：\n1. 下周一发布 v2.3\n2. 监控告警阈值调到 85%\n3. 小王负责回归测试",
    "That error means `user.profile` is undefined on the first render; add a guard or a "
    "default value.",
    "Three new bug issues since Monday: #812 (login loop), #815 (CSV export drops quotes), #819 "
    "(\"Save\" button stays disabled).",
    "API spend this week: $41.27 (Mon–Sun), mostly claude-sonnet-4-5 on the nightly digest job.",
    "I found 57 upstream 502s between 13:05 and 13:20, all from /api/search; the backend pod "
    "restarted at 13:04.",
};

static const char *const thoughts[] = {
    "Check the disk usage first, then find what grew. Leave everything outside the archive.",
    "The user asked for three bullets; fetch the page, then keep it short.",
    "I should run the tests after the rebase before saying it's done.",
    "The nginx log is in local time and the user means UTC+1; convert before counting.",
};

enum {
    T_EXEC,
    T_READ,
    T_WRITE,
    T_EDIT,
    T_WEB_SEARCH,
    T_WEB_FETCH,
    T_BROWSER,
    T_MEMORY_SEARCH,
    T_MESSAGE,
    T_CRON,
    T_SESSIONS_SPAWN,
    T_PROCESS,
    T_COUNT
};

static const char *const tool_names[T_COUNT] = {
    "exec",    "read",          "write",   "edit", "web_search",     "web_fetch",
    "browser", "memory_search", "message", "cron", "sessions_spawn", "process",
};

static const char *const commands[] = {
    "df -h /var/lib/postgresql",
    "du -sh /var/lib/postgresql/wal_archive",
    "git fetch origin && git rebase origin/main",
    "npm test -- --silent",
    "grep -c ' 502 ' /var/log/nginx/access.log",
    "gh issue list --label bug --state open --json number,title",
    "systemctl status nginx --no-pager",
    "tail -n 40 ~/notes/todo.md",
};

static const char *const workspace_files[] = {
    "/home/node/.openclaw/workspace/AGENTS.md",
    "/home/node/.openclaw/workspace/memory/2026-03-13.md",
    "/home/node/.openclaw/workspace/TOOLS.md",
    "/home/node/.openclaw/workspace/projects/api/README.md",
};

static const char *const exec_outputs[] = {
    "Filesystem      Size  Used Avail Use% Mounted on\n/dev/nvme1n1    200G  186G   14G  93% "
    "/var/lib/postgresql",
    "Successfully rebased and updated refs/heads/feature/export.",
    "> api@2.3.0 test\n> vitest run\n\n Test Files  41 passed (41)\n      Tests  482 passed (482)",
    "57",
    "(no output)",
    "● nginx.service - A high performance web server\n     Loaded: loaded "
    "(/lib/systemd/system/nginx.service; enabled)\n     Active: active (running) since Fri "
    "2026-03-13 09:12:44 UTC; 1 day ago",
    "[{\"number\":812,\"title\":\"Login loop after SSO\"},{\"number\":815,\"title\":\"CSV export "
    "drops quotes\"}]",
};

static const char *const tool_failures[] = {
    "ENOENT: no such file or directory, open '/home/node/notes/todo.md'",
    "Command exited with code 1",
    "EACCES: permission denied, open '/etc/nginx/nginx.conf'",
    "Tool timed out after 120000ms",
};

static const char *const provider_errors[] = {
    "529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
    "429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"This request "
    "would exceed the rate limit for your organization\"}}",
    "Request was aborted.",
    "fetch failed: ECONNRESET",
    "400 {\"error\":{\"message\":\"Invalid 'input[12].content': string too long\",\"type\":"
    "\"invalid_request_error\"}}",
};

static const char *const ws_methods[] = {"health",      "status",       "sessions.list",
                                         "chat.send",   "chat.history", "config.get",
                                         "models.list", "node.list",    "cron.list"};

static const char *const memory_queries[] = {"wal archive retention", "offsite dates", "dentist",
                                             "release checklist"};

/* ============================================================================================
 * Output files: one buffer each, written out in large chunks. The offset and length of the
 * last line are kept for --partial-tail.
 * ========================================================================================== */

typedef struct {
    int fd;
    sb_t sb;
    uint64_t flushed; /* bytes already handed to write() */
    uint64_t lines;
    uint64_t line_off; /* where the current (or last) line starts */
    uint64_t line_len;
    size_t flush_at;
} outf_t;

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int outf_open(outf_t *f, const char *path, size_t flush_at)
{
    memset(f, 0, sizeof(*f));
    f->flush_at = flush_at;
    if (strcmp(path, "-") == 0) {
        f->fd = STDOUT_FILENO;
        return 0;
    }
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        return -errno;
    }
    return 0;
}

static int outf_flush(outf_t *f)
{
    int rc;

    if (f->sb.err != 0) {
        return f->sb.err;
    }
    rc = write_all(f->fd, f->sb.buf, f->sb.len);
    if (rc != 0) {
        return rc;
    }
    f->flushed += f->sb.len;
    f->sb.len = 0;
    return 0;
}

static inline void outf_line_begin(outf_t *f)
{
    f->line_off = f->flushed + f->sb.len;
}

/* Ends the line started by outf_line_begin and returns its length, or a negative errno. */
static int64_t outf_line_end(outf_t *f)
{
    int rc;

    sb_ch(&f->sb, '\n');
    if (f->sb.err != 0) {
        return f->sb.err;
    }
    f->line_len = f->flushed + f->sb.len - f->line_off;
    f->lines++;
    if (f->sb.len >= f->flush_at) {
        rc = outf_flush(f);
        if (rc != 0) {
            return rc;
        }
    }
    return (int64_t)f->line_len;
}

static int outf_close(outf_t *f)
{
    int rc = outf_flush(f);

    if (f->fd > STDERR_FILENO && close(f->fd) != 0 && rc == 0) {
        rc = -errno;
    }
    f->fd = -1;
    sb_free(&f->sb);
    return rc;
}

/* Cuts the last line in half, without its newline, as a tailer sees a writer mid-append.
 * Returns the number of bytes removed. */
static int64_t outf_cut_tail(outf_t *f)
{
    uint64_t keep;

    if (f->lines == 0 || outf_flush(f) != 0) {
        return 0;
    }
    keep = f->line_len / 2 > 0 ? f->line_len / 2 : 1;
    if (ftruncate(f->fd, (off_t)(f->line_off + keep)) != 0) {
        return -errno;
    }
    f->lines--;
    return (int64_t)(f->line_len - keep);
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf)) {
        return -ENAMETOOLONG;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') {
            continue;
        }
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            return -errno;
        }
        buf[i] = path[i];
    }
    return 0;
}

/* ============================================================================================
 * Options
 * ========================================================================================== */

enum { MODE_NONE, MODE_TREE, MODE_LINES, MODE_APPEND };

typedef struct {
    int mode;
    const char *path;
    uint64_t seed;
    uint64_t size;
    char *agents_buf;
    const char *agents[64];
    size_t n_agents;
    unsigned sessions;
    int64_t start_ms;
    int tz_min;
    bool partial_tail;
    bool if_empty;
    bool force;
    bool quiet;
    bool seq;
    uint64_t count;
    bool count_set;
    uint64_t start_seq;
    double rate;
    const char *prefix;
    const char *hostname;
} opts_t;

static double now_mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ============================================================================================
 * OpenClaw tree: transcripts under .openclaw/agents/<id>/sessions/ and the tslog app log
 * under tmp/openclaw/, interleaved in simulated time like a gateway serving a few chats.
 * ========================================================================================== */

typedef struct {
    outf_t out;
    const char *agent;
    char id[37];
    char key[128];
    const model_t *model;
    size_t channel;
    const char *thinking;
    uint32_t id_salt;
    uint32_t n_ids;
    char leaf[9];
    int msgs_since_compaction;
    bool bootstrapped;
} session_t;

enum { LV_TRACE = 1, LV_DEBUG, LV_INFO, LV_WARN, LV_ERROR, LV_FATAL };
static const char *const level_names[] = {"", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

/* The call site tslog records; "none" is a logger called from the gateway bundle. */
enum { M_LOG_TO_FILE, M_CONSOLE, M_LOG_ERROR, M_NONE };

typedef struct {
    const opts_t *o;
    rng_t rng;
    int64_t now;
    sb_t msg;  /* raw text of the app message being built */
    sb_t text; /* raw text of a transcript string being built */
    sb_t obj;  /* an object argument of an app line */
    session_t *sessions;
    size_t n_sessions;
    session_t *newest;
    outf_t app;
    bool app_open;
    int64_t app_day;
    char chunk[40];
    char gw_chunk[40];
    char conn[3][24];
    uint64_t sess_target;
    uint64_t app_target;
    uint64_t sess_bytes;
    uint64_t app_bytes;
    uint64_t files;
    uint64_t lines;
    uint64_t tool_seq;
    bool gate;
    bool in_turn;
    int err;
    bool reported; /* err was already printed, naming its file */
} gen_t;

static inline void tick(gen_t *g, int64_t lo, int64_t hi)
{
    g->now += rng_range(&g->rng, lo, hi);
}

static int64_t local_day(const gen_t *g, int64_t ms)
{
    return floor_div(ms + (int64_t)g->o->tz_min * 60000, MS_PER_DAY);
}

static void fmt_day(int64_t day, char out[11])
{
    char b[23];

    fmt_datetime(day * MS_PER_DAY, b);
    memcpy(out, b, 10);
    out[10] = '\0';
}

/* Switches the app log to the file of the current local day; tslog rolls over at midnight. */
static int app_file_for(gen_t *g, int64_t day)
{
    char path[4096];
    char ymd[11];
    int rc;

    if (g->app_open && g->app_day == day) {
        return 0;
    }
    if (g->app_open) {
        g->lines += g->app.lines;
        g->app_open = false;
        rc = outf_close(&g->app);
        if (rc != 0) {
            return rc;
        }
    }
    fmt_day(day, ymd);
    snprintf(path, sizeof(path), "%s/tmp/openclaw/openclaw-%s.log", g->o->path, ymd);
    rc = outf_open(&g->app, path, FLUSH_BIG);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-rc));
        g->reported = true;
        return rc;
    }
    g->app_open = true;
    g->app_day = day;
    g->files++;
    return 0;
}

/* The scratch buffers fail like the output buffers: stickily, checked once per line. */
static bool scratch_failed(gen_t *g)
{
    int err = g->msg.err != 0 ? g->msg.err : g->obj.err != 0 ? g->obj.err : g->text.err;

    if (err != 0 && g->err == 0) {
        g->err = err;
    }
    return g->err != 0;
}

static void put_path_meta(sb_t *sb, const char *chunk, unsigned line, unsigned col,
                          const char *method)
{
    sb_fmt(sb,
           "\"path\":{\"fullFilePath\":\"file:///app/dist/%s:%u:%u\",\"fileName\":\"%s\","
           "\"fileNameWithLine\":\"%s:%u\",\"fileColumn\":\"%u\",\"fileLine\":\"%u\","
           "\"filePath\":\"dist/%s\",\"filePathWithLine\":\"dist/%s:%u\"",
           chunk, line, col, chunk, chunk, line, col, line, chunk, chunk, line);
    if (method != NULL) {
        sb_fmt(sb, ",\"method\":\"%s\"", method);
    }
    sb_ch(sb, '}');
}

/*
 * Writes one tslog line. name_json is the logger's name object as raw JSON (tslog's "0" for a
 * subsystem logger), or NULL for captured console output. g->obj, when not empty, is an object
 * argument that comes before the message, and g->msg holds the message text.
 */
static void app_emit(gen_t *g, const char *name_json, int level, int method)
{
    static const unsigned lines[] = {1208, 961, 1244, 6013};
    static const unsigned cols[] = {12, 42, 9, 17};
    static const char *const methods[] = {"logToFile", "console.log", "logError", NULL};
    sb_t *sb;
    int64_t len;
    unsigned key = 0;
    int rc;

    if (scratch_failed(g)) {
        return;
    }
    rc = app_file_for(g, local_day(g, g->now));
    if (rc != 0) {
        g->err = rc;
        return;
    }
    sb = &g->app.sb;
    outf_line_begin(&g->app);
    sb_ch(sb, '{');
    if (name_json != NULL) {
        sb_lit(sb, "\"0\":");
        sb_jstrz(sb, name_json);
        key = 1;
    }
    if (g->obj.len > 0) {
        sb_fmt(sb, "%s\"%u\":", key > 0 ? "," : "", key);
        key++;
        sb_raw(sb, g->obj.buf, g->obj.len);
    }
    sb_fmt(sb, "%s\"%u\":", key > 0 ? "," : "", key);
    sb_jstr(sb, g->msg.buf, g->msg.len);
    sb_lit(sb, ",\"_meta\":{\"runtime\":\"node\",\"runtimeVersion\":\"22.14.0\",\"hostname\":");
    sb_jstrz(sb, g->o->hostname);
    sb_lit(sb, ",\"name\":");
    if (name_json != NULL) {
        sb_jstrz(sb, name_json);
        sb_lit(sb, ",\"parentNames\":[\"openclaw\"]");
    } else {
        sb_lit(sb, "\"openclaw\"");
    }
    sb_lit(sb, ",\"date\":\"");
    sb_iso_z(sb, g->now);
    sb_fmt(sb, "\",\"logLevelId\":%d,\"logLevelName\":\"%s\",", level, level_names[level]);
    put_path_meta(sb, method == M_NONE ? g->gw_chunk : g->chunk, lines[method], cols[method],
                  methods[method]);
    sb_lit(sb, "},\"time\":\"");
    /* tslog stamps "time" when the line is written, a few ms after the event's date. */
    sb_iso_local(sb, g->now + rng_range(&g->rng, 0, 6), g->o->tz_min);
    sb_lit(sb, "\"}");
    len = outf_line_end(&g->app);
    if (len < 0) {
        g->err = (int)len;
        return;
    }
    g->app_bytes += (uint64_t)len;
}

static bool app_wanted(const gen_t *g)
{
    if (!g->gate || g->app_target == 0) {
        return false;
    }
    return g->app_bytes < g->app_target || g->in_turn;
}

/* A subsystem logger line: msg is printf-formatted. */
__attribute__((format(printf, 4, 5))) static void app(gen_t *g, const char *subsystem, int level,
                                                      const char *fmt, ...)
{
    char name[160];
    va_list ap;

    if (!app_wanted(g)) {
        return;
    }
    g->msg.len = 0;
    va_start(ap, fmt);
    sb_vfmt(&g->msg, fmt, ap);
    va_end(ap);
    if (subsystem != NULL) {
        snprintf(name, sizeof(name), "{\"subsystem\":\"%s\"}", subsystem);
    }
    app_emit(g, subsystem != NULL ? name : NULL, level,
             subsystem == NULL ? (level >= LV_ERROR ? M_LOG_ERROR : M_CONSOLE) : M_LOG_TO_FILE);
    g->obj.len = 0;
}

/* The same with an object argument (raw JSON, printf-formatted) before the message. */
__attribute__((format(printf, 5, 6))) static void
app_obj(gen_t *g, const char *subsystem, int level, const char *msg, const char *fmt, ...)
{
    va_list ap;

    if (!app_wanted(g)) {
        return;
    }
    g->obj.len = 0;
    va_start(ap, fmt);
    sb_vfmt(&g->obj, fmt, ap);
    va_end(ap);
    app(g, subsystem, level, "%s", msg);
    g->obj.len = 0;
}

/* ---- transcript entries ---- */

static void entry_end(gen_t *g, session_t *s)
{
    int64_t len;

    sb_ch(&s->out.sb, '}');
    if (scratch_failed(g)) {
        return;
    }
    len = outf_line_end(&s->out);
    if (len < 0) {
        if (g->err == 0) {
            g->err = (int)len;
        }
        return;
    }
    g->sess_bytes += (uint64_t)len;
    g->newest = s;
}

/* Starts a non-header entry: type, id, parentId (the previous entry, null for the first) and
 * timestamp; the caller appends its own fields and calls entry_end. Returns the new id. */
static const char *entry_start(gen_t *g, session_t *s, const char *type)
{
    sb_t *sb = &s->out.sb;
    char id[9];

    hex8(mix32(s->n_ids++ ^ s->id_salt), id);
    outf_line_begin(&s->out);
    sb_lit(sb, "{\"type\":\"");
    sb_str(sb, type);
    sb_lit(sb, "\",\"id\":\"");
    sb_raw(sb, id, 8);
    sb_lit(sb, "\",\"parentId\":");
    if (s->leaf[0] != '\0') {
        sb_ch(sb, '"');
        sb_raw(sb, s->leaf, 8);
        sb_ch(sb, '"');
    } else {
        sb_lit(sb, "null");
    }
    sb_lit(sb, ",\"timestamp\":\"");
    sb_iso_z(sb, g->now);
    sb_ch(sb, '"');
    memcpy(s->leaf, id, sizeof(id));
    return s->leaf;
}

/* Appends a prefix of s of at most max bytes that does not split a UTF-8 sequence. */
static void sb_esc_prefix(sb_t *sb, const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    sb_esc(sb, s, n);
}

static session_t *session_new(gen_t *g)
{
    const opts_t *o = g->o;
    rng_t *r = &g->rng;
    session_t *s = &g->sessions[g->n_sessions];
    char path[4096];
    double kind;
    int rc;

    memset(s, 0, sizeof(*s));
    s->out.fd = -1;
    s->agent = o->agents[rng_below(r, o->n_agents)];
    s->channel = (size_t)rng_below(r, ARRAY_LEN(channels));
    s->model = &models[rng_below(r, ARRAY_LEN(models))];
    s->thinking = PICK(r, thinking_levels);
    s->id_salt = (uint32_t)rng_next(r);
    uuid4(r, s->id);
    kind = rng_unit(r);
    if (kind < 0.25) {
        snprintf(s->key, sizeof(s->key), "agent:%s:main", s->agent);
    } else if (kind < 0.85) {
        snprintf(s->key, sizeof(s->key), "agent:%s:%s:direct:%lld", s->agent, channels[s->channel],
                 (long long)rng_range(r, 100000000, 9999999999));
    } else {
        uint64_t group = rng_next(r);

        snprintf(s->key, sizeof(s->key), "agent:%s:%s:group:%010llx", s->agent,
                 channels[s->channel], (unsigned long long)(group >> 24));
    }
    snprintf(path, sizeof(path), "%s/.openclaw/agents/%s/sessions", o->path, s->agent);
    rc = mkdir_p(path);
    if (rc == 0) {
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s.jsonl", s->id);
        rc = outf_open(&s->out, path, o->sessions > 16 ? FLUSH_SESSION_MANY : FLUSH_SESSION);
    }
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-rc));
        g->err = rc;
        g->reported = true;
        return NULL;
    }
    g->n_sessions++;
    g->files++;

    tick(g, 5, 40);
    outf_line_begin(&s->out);
    sb_lit(&s->out.sb, "{\"type\":\"session\",\"version\":3,\"id\":\"");
    sb_str(&s->out.sb, s->id);
    sb_lit(&s->out.sb, "\",\"timestamp\":\"");
    sb_iso_z(&s->out.sb, g->now);
    sb_lit(&s->out.sb, "\",\"cwd\":\"/home/node/.openclaw/workspace\"");
    entry_end(g, s);

    tick(g, 1, 3);
    entry_start(g, s, "model_change");
    sb_fmt(&s->out.sb, ",\"provider\":\"%s\",\"modelId\":\"%s\"", s->model->provider,
           s->model->model);
    entry_end(g, s);
    entry_start(g, s, "thinking_level_change");
    sb_fmt(&s->out.sb, ",\"thinkingLevel\":\"%s\"", s->thinking);
    entry_end(g, s);
    entry_start(g, s, "custom");
    sb_fmt(&s->out.sb,
           ",\"customType\":\"model-snapshot\",\"data\":{\"timestamp\":%lld,\"provider\":\"%s\","
           "\"modelApi\":\"%s\",\"modelId\":\"%s\"}",
           (long long)g->now, s->model->provider, s->model->api, s->model->model);
    entry_end(g, s);
    return g->err == 0 ? s : NULL;
}

/* usage{} with its cost block, priced the way pi-ai does it: USD per token times tokens, in
 * doubles, so the sums carry the usual binary rounding. */
static void put_usage(gen_t *g, sb_t *sb, const model_t *m, int64_t ctx, int64_t out_tok)
{
    int64_t cache_read = 0;
    int64_t cache_write = 0;
    int64_t input = 0;
    double c_in;
    double c_out;
    double c_read;
    double c_write;

    if (ctx > 0) {
        if (m->cache_read > 0) {
            cache_read = (int64_t)((double)ctx * (0.6 + 0.35 * rng_unit(&g->rng)));
        }
        if (m->cache_write > 0) {
            cache_write = rng_range(&g->rng, 0, 2500);
        }
        input = ctx - cache_read - cache_write;
        if (input < 1) {
            input = 1;
        }
    }
    c_in = m->in / 1e6 * (double)input;
    c_out = m->out / 1e6 * (double)out_tok;
    c_read = m->cache_read / 1e6 * (double)cache_read;
    c_write = m->cache_write / 1e6 * (double)cache_write;
    sb_fmt(sb,
           ",\"usage\":{\"input\":%lld,\"output\":%lld,\"cacheRead\":%lld,\"cacheWrite\":%lld,"
           "\"totalTokens\":%lld,\"cost\":{\"input\":",
           (long long)input, (long long)out_tok, (long long)cache_read, (long long)cache_write,
           (long long)(input + out_tok + cache_read + cache_write));
    sb_jsnum(sb, c_in);
    sb_lit(sb, ",\"output\":");
    sb_jsnum(sb, c_out);
    sb_lit(sb, ",\"cacheRead\":");
    sb_jsnum(sb, c_read);
    sb_lit(sb, ",\"cacheWrite\":");
    sb_jsnum(sb, c_write);
    sb_lit(sb, ",\"total\":");
    sb_jsnum(sb, c_in + c_out + c_read + c_write);
    sb_lit(sb, "}}");
}

static void put_tool_args(gen_t *g, sb_t *sb, int tool)
{
    rng_t *r = &g->rng;

    switch (tool) {
    case T_EXEC:
        sb_lit(sb, "{\"command\":");
        sb_jstrz(sb, PICK(r, commands));
        if (rng_chance(r, 0.3)) {
            sb_lit(sb, ",\"timeout\":120");
        }
        sb_ch(sb, '}');
        break;
    case T_READ:
        sb_fmt(sb, "{\"path\":\"%s\"}", PICK(r, workspace_files));
        break;
    case T_WRITE:
        sb_fmt(sb, "{\"path\":\"%s\",\"content\":\"# notes\\n- ", PICK(r, workspace_files));
        sb_esc_prefix(sb, PICK(r, user_texts), SIZE_MAX);
        sb_lit(sb, "\\n\"}");
        break;
    case T_EDIT:
        sb_fmt(sb,
               "{\"path\":\"%s\",\"oldText\":\"- [ ] renew the TLS cert\","
               "\"newText\":\"- [x] renew the TLS cert\"}",
               PICK(r, workspace_files));
        break;
    case T_WEB_SEARCH:
        sb_lit(sb, "{\"query\":\"");
        sb_esc_prefix(sb, PICK(r, user_texts), 60);
        sb_lit(sb, "\",\"count\":5}");
        break;
    case T_WEB_FETCH:
        sb_fmt(sb, "{\"url\":\"https://docs.example.org/guide/%lld\",\"extractMode\":\"markdown\"}",
               (long long)rng_range(r, 1, 999));
        break;
    case T_BROWSER: {
        static const char *const actions[] = {"snapshot", "navigate", "act"};

        sb_fmt(sb, "{\"action\":\"%s\",\"targetUrl\":\"https://example.com/\"}", PICK(r, actions));
        break;
    }
    case T_MEMORY_SEARCH:
        sb_fmt(sb, "{\"query\":\"%s\",\"maxResults\":6}", PICK(r, memory_queries));
        break;
    case T_MESSAGE:
        sb_fmt(sb, "{\"action\":\"send\",\"channel\":\"%s\",\"message\":\"on it 👍\"}",
               PICK(r, channels));
        break;
    case T_CRON:
        sb_fmt(sb,
               "{\"action\":\"add\",\"job\":{\"name\":\"reminder\",\"schedule\":{\"kind\":\"at\","
               "\"atMs\":%lld},\"payload\":{\"kind\":\"systemEvent\",\"text\":\"dentist 🦷\"}}}",
               (long long)(g->now + 3600000));
        break;
    case T_SESSIONS_SPAWN: {
        static const char *const tasks[] = {"the flaky e2e test", "the slow build",
                                            "the disk usage on db-2"};

        const char *task = PICK(r, tasks);

        sb_fmt(sb, "{\"task\":\"Investigate %s\",\"label\":\"sub-%u\"}", task,
               (unsigned)rng_range(r, 1, 99));
        break;
    }
    default:
        sb_lit(sb, "{\"action\":\"poll\",\"sessionId\":\"");
        sb_hex(sb, r, 8);
        sb_lit(sb, "\"}");
        break;
    }
}

/* The raw text of a tool result, into g->text. Every BIG_OUTPUT_EVERY-th one is about
 * BIG_OUTPUT_BYTES, a line long enough to cross any small read buffer. */
static void build_tool_output(gen_t *g, int tool, bool big)
{
    rng_t *r = &g->rng;
    sb_t *t = &g->text;

    t->len = 0;
    if (big) {
        static const char *const levels[] = {"INFO ", "INFO ", "WARN ", "DEBUG"};

        while (t->len < BIG_OUTPUT_BYTES && t->err == 0) {
            int64_t at = g->now - rng_range(r, 0, MS_PER_DAY);
            const char *level = PICK(r, levels);
            unsigned pid = (unsigned)rng_range(r, 100, 9999);

            if (t->len > 0) {
                sb_ch(t, '\n');
            }
            sb_iso_z(t, at);
            sb_fmt(t, " %s sync[%u]: object %llu stored etag=", level, pid,
                   (unsigned long long)rng_below(r, 10000000));
            sb_hex(t, r, 32);
            sb_fmt(t, " size=%llu", (unsigned long long)rng_below(r, 1u << 24));
        }
        return;
    }
    switch (tool) {
    case T_EXEC:
        sb_str(t, PICK(r, exec_outputs));
        break;
    case T_READ: {
        int n = (int)rng_range(r, 1, 6);

        for (int i = 0; i < n; i++) {
            sb_lit(t, "# MEMORY\n\n- Prefers short answers\n- Timezone: Europe/Berlin\n"
                      "- Backups live in /data/backups (keep 30 days)\n");
        }
        break;
    }
    case T_WEB_SEARCH: {
        /* Tool results that are JSON text: a parser sees JSON escaped inside JSON. */
        int n = (int)rng_range(r, 1, 5);

        sb_lit(t, "{\"provider\":\"brave\",\"results\":[");
        for (int i = 0; i < n; i++) {
            sb_fmt(t, "%s{\"title\":\"Result %d\",\"url\":\"https://example.org/", i ? "," : "",
                   i + 1);
            sb_hex(t, r, 6);
            sb_lit(t, "\",\"snippet\":\"");
            sb_esc_prefix(t, PICK(r, assistant_texts), 120);
            sb_lit(t, "\"}");
        }
        sb_lit(t, "]}");
        break;
    }
    case T_WEB_FETCH:
        sb_lit(t, "# Configuration\n\nSet `logging.level` to `debug` to see run details.\n\n"
                  "| key | default |\n| --- | --- |\n| logging.file | /tmp/openclaw |\n");
        break;
    default: {
        int k = (int)rng_below(r, 3);

        if (k == 0) {
            sb_lit(t, "ok");
        } else if (k == 1) {
            sb_fmt(t, "Successfully wrote %u bytes", (unsigned)rng_range(r, 20, 4000));
        } else {
            sb_lit(t, "{\"status\":\"accepted\",\"childSessionKey\":\"agent:main:subagent:");
            sb_hex(t, r, 8);
            sb_lit(t, "\"}");
        }
        break;
    }
    }
}

typedef struct {
    char id[40];
    int tool;
} tool_call_t;

static void tool_call_id(gen_t *g, const model_t *m, char out[40])
{
    sb_t sb = {out, 0, 40, 0, true};

    /* Anthropic ids look like toolu_01 + 22 base62, OpenAI-style ones call_ + 24. */
    if (strcmp(m->provider, "anthropic") == 0) {
        sb_lit(&sb, "toolu_01");
        sb_rand_chars(&sb, &g->rng, b62_digits, 62, 22);
    } else {
        sb_lit(&sb, "call_");
        sb_rand_chars(&sb, &g->rng, b62_digits, 62, 24);
    }
    out[sb.len] = '\0';
}

/* A turn that ends in a provider error: OpenClaw records an empty assistant message with the
 * error, a prompt-error custom entry, and WARN/ERROR app lines. */
static void turn_error(gen_t *g, session_t *s, const char *run_id, const char *lane,
                       int64_t started)
{
    rng_t *r = &g->rng;
    sb_t *sb = &s->out.sb;
    const model_t *m = s->model;
    const char *err = PICK(r, provider_errors);
    bool aborted = strstr(err, "aborted") != NULL;
    static const char *const decisions[] = {"retry", "fallback_model", "surface_error"};

    tick(g, 200, 30000);
    app(g, "agent/embedded", LV_WARN, "embedded run agent end: runId=%s isError=true error=%.80s",
        run_id, err);
    entry_start(g, s, "message");
    sb_fmt(sb,
           ",\"message\":{\"role\":\"assistant\",\"content\":[],\"api\":\"%s\",\"provider\":\"%s\","
           "\"model\":\"%s\"",
           m->api, m->provider, m->model);
    put_usage(g, sb, m, 0, 0);
    sb_fmt(sb, ",\"stopReason\":\"%s\",\"errorMessage\":", aborted ? "aborted" : "error");
    sb_jstrz(sb, err);
    sb_fmt(sb, ",\"timestamp\":%lld}", (long long)g->now);
    entry_end(g, s);

    entry_start(g, s, "custom");
    sb_fmt(
        sb,
        ",\"customType\":\"openclaw:prompt-error\",\"data\":{\"timestamp\":%lld,\"runId\":\"%s\","
        "\"sessionId\":\"%s\",\"provider\":\"%s\",\"model\":\"%s\",\"api\":\"%s\",\"error\":",
        (long long)g->now, run_id, s->id, m->provider, m->model, m->api);
    sb_jstrz(sb, err);
    sb_lit(sb, "}");
    entry_end(g, s);

    if (app_wanted(g)) {
        char msg[128];

        snprintf(msg, sizeof(msg), "embedded run failed: %.60s", err);
        app_obj(g, "agent/embedded", LV_ERROR, msg,
                "{\"event\":\"embedded_run_failover_decision\",\"tags\":[\"error_handling\","
                "\"failover\",\"assistant\"],\"runId\":\"%s\",\"provider\":\"%s\",\"model\":\"%s\","
                "\"decision\":\"%s\"}",
                run_id, m->provider, m->model, PICK(r, decisions));
    }
    app(g, "agent/embedded", LV_DEBUG,
        "embedded run done: runId=%s sessionId=%s durationMs=%lld aborted=%s", run_id, s->id,
        (long long)(g->now - started), aborted ? "true" : "false");
    app(g, "diagnostic", LV_DEBUG, "lane task done: lane=%s durationMs=%lld active=0 queued=0",
        lane, (long long)(g->now - started + 4));
}

static void turn(gen_t *g)
{
    const opts_t *o = g->o;
    rng_t *r = &g->rng;
    session_t *s;
    sb_t *sb;
    const model_t *m;
    char run_id[37];
    char lane[160];
    char chan_sub[64];
    char first_kept[9];
    static const int round_counts[] = {1, 1, 2, 2, 3, 4};
    int rounds;
    int64_t started;
    int64_t ctx;

    if (g->n_sessions == 0 || (g->n_sessions < o->sessions && rng_chance(r, 0.35))) {
        s = session_new(g);
    } else {
        s = &g->sessions[rng_below(r, g->n_sessions)];
    }
    if (s == NULL) {
        return;
    }
    sb = &s->out.sb;
    m = s->model;
    uuid4(r, run_id);
    snprintf(lane, sizeof(lane), "session:%s", s->key);
    snprintf(chan_sub, sizeof(chan_sub), "gateway/channels/%s", channels[s->channel]);
    tick(g, 5000, 40000);

    /* Channel messages reach the model wrapped in an envelope: channel, sender, local time. */
    g->text.len = 0;
    if (strcmp(channels[s->channel], "webchat") != 0) {
        char local[29];
        sb_t lsb = {local, 0, sizeof(local), 0, true};
        const char *sender = PICK(r, senders);

        sb_iso_local(&lsb, g->now, o->tz_min);
        local[10] = ' ';
        sb_fmt(&g->text, "[%s %s id:%lld %.16s] ", channel_names[s->channel], sender,
               (long long)rng_range(r, 1000000, 999999999), local);
    }
    sb_str(&g->text, PICK(r, user_texts));
    app(g, chan_sub, LV_INFO, "inbound message from %s chat=%lld len=%zu", channels[s->channel],
        (long long)rng_range(r, 1000000, 999999999), g->text.len);
    app(g, "diagnostic", LV_DEBUG, "lane enqueue: lane=%s queueSize=1", lane);
    app(g, "diagnostic", LV_DEBUG,
        "session state: sessionId=%s prev=idle new=processing reason=\"run_started\" "
        "queueDepth=0",
        s->id);
    tick(g, 2, 30);

    memcpy(first_kept, entry_start(g, s, "message"), sizeof(first_kept));
    sb_lit(sb, ",\"message\":{\"role\":\"user\",\"content\":");
    if (rng_chance(r, 0.2)) {
        sb_jstr(sb, g->text.buf, g->text.len);
    } else {
        sb_lit(sb, "[{\"type\":\"text\",\"text\":");
        sb_jstr(sb, g->text.buf, g->text.len);
        sb_ch(sb, '}');
        if (rng_chance(r, 0.02)) {
            sb_lit(sb, ",{\"type\":\"image\",\"data\":\"");
            sb_b64_random(sb, r, IMAGE_BYTES);
            sb_lit(sb, "\",\"mimeType\":\"image/jpeg\"}");
        }
        sb_ch(sb, ']');
    }
    sb_fmt(sb, ",\"timestamp\":%lld}", (long long)g->now);
    entry_end(g, s);

    if (!s->bootstrapped) {
        s->bootstrapped = true;
        entry_start(g, s, "custom");
        sb_fmt(sb,
               ",\"customType\":\"openclaw:bootstrap-context:full\",\"data\":{\"timestamp\":%lld,"
               "\"runId\":\"%s\",\"sessionId\":\"%s\"}",
               (long long)g->now, run_id, s->id);
        entry_end(g, s);
    }
    app(g, "agent/embedded", LV_DEBUG,
        "embedded run start: runId=%s sessionId=%s provider=%s model=%s thinking=%s "
        "messageChannel=%s",
        run_id, s->id, m->provider, m->model, s->thinking, channels[s->channel]);
    app(g, "agent/embedded", LV_DEBUG, "embedded run prompt start: runId=%s sessionId=%s", run_id,
        s->id);
    started = g->now;

    if (rng_chance(r, 0.04)) {
        turn_error(g, s, run_id, lane, started);
        return;
    }

    rounds = PICK(r, round_counts);
    ctx = rng_range(r, 8000, 60000);
    for (int rnd = 0; rnd < rounds && g->err == 0; rnd++) {
        bool last = rnd == rounds - 1;
        tool_call_t calls[3];
        int n_calls = 0;
        bool first = true;

        tick(g, 400, 9000);
        entry_start(g, s, "message");
        sb_lit(sb, ",\"message\":{\"role\":\"assistant\",\"content\":[");
        if (strcmp(s->thinking, "off") != 0 && rng_chance(r, 0.7)) {
            sb_lit(sb, "{\"type\":\"thinking\",\"thinking\":");
            sb_jstrz(sb, PICK(r, thoughts));
            sb_lit(sb, ",\"thinkingSignature\":\"");
            sb_b64_random(sb, r, 48);
            sb_lit(sb, "\"}");
            first = false;
        }
        if (!last) {
            static const int call_counts[] = {1, 1, 1, 2, 3};

            if (rng_chance(r, 0.3)) {
                if (!first) {
                    sb_ch(sb, ',');
                }
                sb_lit(sb, "{\"type\":\"text\",\"text\":\"Let me check.\"}");
                first = false;
            }
            n_calls = PICK(r, call_counts);
            for (int i = 0; i < n_calls; i++) {
                calls[i].tool = (int)rng_below(r, T_COUNT);
                tool_call_id(g, m, calls[i].id);
                if (!first) {
                    sb_ch(sb, ',');
                }
                sb_fmt(sb, "{\"type\":\"toolCall\",\"id\":\"%s\",\"name\":\"%s\",\"arguments\":",
                       calls[i].id, tool_names[calls[i].tool]);
                put_tool_args(g, sb, calls[i].tool);
                sb_ch(sb, '}');
                first = false;
            }
        } else {
            if (!first) {
                sb_ch(sb, ',');
            }
            sb_lit(sb, "{\"type\":\"text\",\"text\":");
            sb_jstrz(sb, PICK(r, assistant_texts));
            sb_ch(sb, '}');
        }
        ctx += rng_range(r, 200, 4000);
        sb_fmt(sb, "],\"api\":\"%s\",\"provider\":\"%s\",\"model\":\"%s\"", m->api, m->provider,
               m->model);
        put_usage(g, sb, m, ctx, rng_range(r, 20, 1800));
        sb_fmt(sb, ",\"stopReason\":\"%s\",\"timestamp\":%lld}", n_calls > 0 ? "toolUse" : "stop",
               (long long)g->now);
        entry_end(g, s);

        for (int i = 0; i < n_calls && g->err == 0; i++) {
            const char *tool = tool_names[calls[i].tool];
            int64_t dur = rng_range(r, 3, 6000);
            bool big = ++g->tool_seq % BIG_OUTPUT_EVERY == 0;
            bool fail = rng_chance(r, 0.06);

            app(g, "agent/embedded", LV_DEBUG,
                "embedded run tool start: runId=%s tool=%s toolCallId=%s", run_id, tool,
                calls[i].id);
            tick(g, dur, dur + 5);
            if (fail) {
                const char *why = PICK(r, tool_failures);

                /* Tool failures go through the root logger: no subsystem, name "openclaw". */
                app(g, NULL, LV_ERROR, "[tools] %s failed: %s", tool, why);
                g->text.len = 0;
                sb_fmt(&g->text, "{\"status\":\"error\",\"tool\":\"%s\",\"error\":", tool);
                sb_jstrz(&g->text, why);
                sb_ch(&g->text, '}');
            } else {
                build_tool_output(g, calls[i].tool, big);
            }
            entry_start(g, s, "message");
            sb_fmt(
                sb,
                ",\"message\":{\"role\":\"toolResult\",\"toolCallId\":\"%s\",\"toolName\":\"%s\","
                "\"content\":[{\"type\":\"text\",\"text\":",
                calls[i].id, tool);
            sb_jstr(sb, g->text.buf, g->text.len);
            sb_fmt(sb, "}],\"details\":{\"durationMs\":%lld", (long long)dur);
            if (calls[i].tool == T_EXEC) {
                sb_fmt(sb,
                       ",\"status\":\"completed\",\"exitCode\":%d,"
                       "\"cwd\":\"/home/node/.openclaw/workspace\"",
                       fail ? 1 : 0);
            }
            sb_fmt(sb, "},\"isError\":%s,\"timestamp\":%lld}", fail ? "true" : "false",
                   (long long)g->now);
            entry_end(g, s);
            app(g, "agent/embedded", LV_DEBUG,
                "embedded run tool end: runId=%s tool=%s toolCallId=%s", run_id, tool, calls[i].id);
        }
    }

    entry_start(g, s, "custom");
    sb_fmt(
        sb,
        ",\"customType\":\"openclaw.cache-ttl\",\"data\":{\"timestamp\":%lld,\"provider\":\"%s\","
        "\"modelId\":\"%s\",\"prunedToolResults\":[],\"ambiguousToolResultBaseKeys\":[],"
        "\"frozenToolResults\":[]}",
        (long long)g->now, m->provider, m->model);
    entry_end(g, s);
    app(g, "agent/embedded", LV_DEBUG,
        "embedded run prompt end: runId=%s sessionId=%s durationMs=%lld", run_id, s->id,
        (long long)(g->now - started));
    app(g, "agent/embedded", LV_DEBUG, "embedded run agent end: runId=%s isError=false", run_id);
    tick(g, 5, 60);
    app(g, "agent/embedded", LV_DEBUG,
        "embedded run done: runId=%s sessionId=%s durationMs=%lld aborted=false", run_id, s->id,
        (long long)(g->now - started));
    app(g, "diagnostic", LV_DEBUG, "lane task done: lane=%s durationMs=%lld active=0 queued=0",
        lane, (long long)(g->now - started + 3));
    app(g, "diagnostic", LV_DEBUG,
        "session state: sessionId=%s prev=processing new=idle reason=\"run_completed\" "
        "queueDepth=0",
        s->id);
    if (strcmp(channels[s->channel], "webchat") != 0) {
        int64_t chat = rng_range(r, 1000000, 999999999);

        app(g, chan_sub, LV_INFO, "%s sendMessage ok chat=%lld message=%lld", channels[s->channel],
            (long long)chat, (long long)rng_range(r, 1000, 99999));
    }

    s->msgs_since_compaction += 1 + 2 * rounds;
    if (s->msgs_since_compaction > COMPACT_AFTER) {
        int64_t before = ctx + rng_range(r, 50000, 150000);

        s->msgs_since_compaction = 0;
        tick(g, 3000, 20000);
        entry_start(g, s, "compaction");
        sb_lit(sb, ",\"summary\":\"## Goal\\n");
        sb_esc_prefix(sb, PICK(r, user_texts), SIZE_MAX);
        sb_lit(sb, "\\n\\n## Progress\\n- ");
        sb_esc_prefix(sb, PICK(r, assistant_texts), 160);
        sb_fmt(sb, "\",\"firstKeptEntryId\":\"%s\",\"tokensBefore\":%lld", first_kept,
               (long long)before);
        entry_end(g, s);
        app(g, "agent/embedded", LV_INFO,
            "compaction done: sessionId=%s tokensBefore=%lld tokensAfter=%lld", s->id,
            (long long)before, (long long)(before / 5));
    }
}

/* The cron service logs through its own module logger from the gateway bundle. */
static void app_cron(gen_t *g)
{
    rng_t *r = &g->rng;
    int jobs;
    int enabled;

    if (!app_wanted(g)) {
        return;
    }
    jobs = (int)rng_range(r, 0, 5);
    enabled = (int)rng_range(r, 0, jobs);
    g->obj.len = 0;
    sb_fmt(&g->obj, "{\"jobCount\":%d,\"enabledCount\":%d,\"withNextRun\":%d}", jobs, enabled,
           (int)rng_range(r, 0, enabled));
    g->msg.len = 0;
    sb_lit(&g->msg, "cron: armTimer");
    app_emit(g, "{\"module\":\"cron\",\"storePath\":\"/home/node/.openclaw/cron/jobs.json\"}",
             LV_DEBUG, M_NONE);
    g->obj.len = 0;
}

/* Gateway chatter between turns: control-UI requests, heartbeats, health, cron, console. */
static void background(gen_t *g)
{
    rng_t *r = &g->rng;
    double x = rng_unit(r);

    if (x < 0.55) {
        char id[16];
        sb_t isb = {id, 0, sizeof(id), 0, true};
        const char *method = PICK(r, ws_methods);
        int ms = (int)rng_range(r, 1, 400);

        sb_hex(&isb, r, 8);
        sb_lit(&isb, "…");
        sb_hex(&isb, r, 4);
        app(g, "gateway/ws", LV_INFO, "⇄ res ✓ %s %dms conn=%s id=%.*s", method, ms,
            g->conn[rng_below(r, 3)], (int)isb.len, id);
    } else if (x < 0.65) {
        app_obj(g, "gateway/heartbeat", LV_INFO, "heartbeat: started", "{\"intervalMs\":%d}",
                1800000);
    } else if (x < 0.75) {
        int n = (int)rng_range(r, 1, 4);

        app(g, "gateway/health-monitor", LV_DEBUG, "health check ok channels=%d uptimeMs=%lld", n,
            (long long)rng_range(r, 100000, 999999999));
    } else if (x < 0.85) {
        app_cron(g);
    } else if (x < 0.93) {
        const char *agent = g->o->agents[rng_below(r, g->o->n_agents)];

        app(g, NULL, LV_INFO, "- agent:%s:main (%dm ago)", agent, (int)rng_range(r, 0, 59));
    } else {
        app(g, "gateway/reload", LV_WARN,
            "config change detected; evaluating reload (agents.defaults.model.fallbacks)");
    }
}

static void startup(gen_t *g)
{
    char ymd[11];

    app(g, "gateway/canvas", LV_INFO,
        "canvas host mounted at http://127.0.0.1:18789/__openclaw__/canvas/ "
        "(root /home/node/.openclaw/canvas)");
    tick(g, 50, 300);
    app_obj(g, "gateway/heartbeat", LV_INFO, "heartbeat: started", "{\"intervalMs\":%d}", 1800000);
    app(g, "gateway/health-monitor", LV_INFO,
        "started (interval: 300s, startup-grace: 60s, channel-connect-grace: 120s)");
    app(g, "gateway", LV_INFO, "agent model: %s/%s", models[0].provider, models[0].model);
    app(g, "gateway", LV_INFO, "listening on ws://127.0.0.1:18789, ws://[::1]:18789 (PID 14)");
    fmt_day(local_day(g, g->now), ymd);
    app(g, "gateway", LV_INFO, "log file: /tmp/openclaw/openclaw-%s.log", ymd);
    app(g, NULL, LV_INFO,
        "bonjour: advertised gateway fqdn=%s (OpenClaw)._openclaw-gw._tcp.local. "
        "host=openclaw.local. port=18789 state=announcing",
        g->o->hostname);
}

static double share(uint64_t done, uint64_t target)
{
    return target != 0 ? (double)done / (double)target : 1.0;
}

/* Returns 1 if dir has entries, 0 if it is empty or missing, or a negative errno. */
static int dir_has_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;

    if (d == NULL) {
        return errno == ENOENT ? 0 : -errno;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            found = 1;
            break;
        }
    }
    closedir(d);
    return found;
}

static int run_tree(const opts_t *o)
{
    gen_t g;
    char path[4096];
    double t0 = now_mono_s();
    double secs;
    uint64_t cut = 0;
    bool reported = false;
    int rc;

    rc = dir_has_entries(o->path);
    if (rc < 0) {
        fprintf(stderr, "%s: --out %s: %s\n", prog, o->path, strerror(-rc));
        return rc;
    }
    if (rc > 0 && o->if_empty) {
        if (!o->quiet) {
            fprintf(stderr, "%s: %s already has files; nothing written (--if-empty)\n", prog,
                    o->path);
        }
        return 0;
    }
    if (rc > 0 && !o->force) {
        fprintf(stderr,
                "%s: --out %s is not empty (use --if-empty to keep it, --force to write into it)\n",
                prog, o->path);
        return -EEXIST;
    }
    memset(&g, 0, sizeof(g));
    g.o = o;
    g.now = o->start_ms;
    g.gate = true;
    rng_seed(&g.rng, o->seed);
    g.app_target = o->size / 4;
    g.sess_target = o->size - g.app_target;
    g.sessions = calloc(o->sessions, sizeof(*g.sessions));
    if (g.sessions == NULL) {
        rc = -ENOMEM;
        goto done;
    }
    snprintf(path, sizeof(path), "%s/tmp/openclaw", o->path);
    rc = mkdir_p(path);
    if (rc != 0) {
        fprintf(stderr, "%s: --out: cannot create %s: %s\n", prog, path, strerror(-rc));
        reported = true;
        goto done;
    }
    /* Bundle chunk names carry a content hash; one per run, as after one build. */
    {
        sb_t c = {g.chunk, 0, sizeof(g.chunk), 0, true};
        sb_t w = {g.gw_chunk, 0, sizeof(g.gw_chunk), 0, true};

        sb_lit(&c, "subsystem-");
        sb_rand_chars(&c, &g.rng, b62_digits, 62, 8);
        sb_lit(&c, ".js");
        g.chunk[c.len] = '\0';
        sb_lit(&w, "gateway-cli-");
        sb_rand_chars(&w, &g.rng, b62_digits, 62, 8);
        sb_lit(&w, ".js");
        g.gw_chunk[w.len] = '\0';
    }
    for (size_t i = 0; i < ARRAY_LEN(g.conn); i++) {
        sb_t c = {g.conn[i], 0, sizeof(g.conn[i]), 0, true};

        sb_hex(&c, &g.rng, 8);
        sb_lit(&c, "…");
        sb_hex(&c, &g.rng, 4);
        g.conn[i][c.len] = '\0';
    }

    startup(&g);
    /* The app log is paced to cover the same simulated time as the transcripts: a turn's app
     * lines are written all or nothing (so every logged run has its tool and done lines), and
     * background lines fill in while the app log lags behind. */
    while (g.err == 0 && (g.sess_bytes < g.sess_target || g.app_bytes < g.app_target)) {
        if (g.sess_bytes < g.sess_target) {
            int n = (int)rng_range(&g.rng, 0, 3);

            g.gate = g.app_bytes < g.app_target &&
                     share(g.app_bytes, g.app_target) <= share(g.sess_bytes, g.sess_target) + 0.002;
            g.in_turn = true;
            turn(&g);
            g.in_turn = false;
            g.gate = true;
            for (int i = 0;
                 i < n && share(g.app_bytes, g.app_target) <= share(g.sess_bytes, g.sess_target);
                 i++) {
                tick(&g, 10, 2000);
                background(&g);
            }
            for (int i = 0; i < 500 && g.app_bytes < g.app_target &&
                            share(g.app_bytes, g.app_target) < share(g.sess_bytes, g.sess_target);
                 i++) {
                tick(&g, 10, 500);
                background(&g);
            }
        } else {
            tick(&g, 10, 3000);
            background(&g);
        }
    }
    rc = g.err;
    if (rc == 0 && o->partial_tail) {
        int64_t c1 = g.newest != NULL ? outf_cut_tail(&g.newest->out) : 0;
        int64_t c2 = g.app_open ? outf_cut_tail(&g.app) : 0;

        if (c1 < 0 || c2 < 0) {
            rc = (int)(c1 < 0 ? c1 : c2);
        } else {
            cut = (uint64_t)(c1 + c2);
        }
    }

done:
    for (size_t i = 0; i < g.n_sessions; i++) {
        int crc;

        g.lines += g.sessions[i].out.lines;
        crc = outf_close(&g.sessions[i].out);
        if (rc == 0) {
            rc = crc;
        }
    }
    if (g.app_open) {
        int crc;

        g.lines += g.app.lines;
        crc = outf_close(&g.app);
        if (rc == 0) {
            rc = crc;
        }
    }
    free(g.sessions);
    sb_free(&g.msg);
    sb_free(&g.text);
    sb_free(&g.obj);
    if (rc != 0) {
        if (!reported && !g.reported) {
            fprintf(stderr, "%s: writing under %s failed: %s\n", prog, o->path, strerror(-rc));
        }
        return rc;
    }
    secs = now_mono_s() - t0;
    if (!o->quiet) {
        uint64_t bytes = g.sess_bytes + g.app_bytes - cut;

        fprintf(stderr,
                "%s: %llu files, %llu lines, %llu bytes (transcripts %llu, app log %llu) "
                "in %.2fs (%.0f MB/s) -> %s%s\n",
                prog, (unsigned long long)g.files, (unsigned long long)g.lines,
                (unsigned long long)bytes, (unsigned long long)g.sess_bytes,
                (unsigned long long)g.app_bytes, secs, secs > 0 ? (double)bytes / 1e6 / secs : 0.0,
                o->path, o->partial_tail ? " (partial tail)" : "");
    }
    return 0;
}

/* ============================================================================================
 * --lines: one file of JSON lines for benchmarks. A mix of flattened app-log records and
 * transcript-like entries averaging about 250 bytes, with 6 to 10 first-level keys (one more with
 * --seq), some nested objects, escapes and non-ASCII text. No printf on the hot path.
 * ========================================================================================== */

typedef struct {
    rng_t rng;
    int64_t now;
    char sessions[8][37];
    uint32_t ids;
    uint32_t id_salt;
    char last_id[9];
    const char *hostname;
} lines_t;

static void put_time(lines_t *l, sb_t *sb)
{
    sb_lit(sb, "\"time\":\"");
    sb_iso_local(sb, l->now, 0);
    sb_ch(sb, '"');
}

static void put_entry_head(lines_t *l, sb_t *sb, const char *type, size_t type_len, bool parent)
{
    char id[9];

    hex8(mix32(l->ids++ ^ l->id_salt), id);
    sb_lit(sb, "\"type\":\"");
    sb_raw(sb, type, type_len);
    sb_lit(sb, "\",\"id\":\"");
    sb_raw(sb, id, 8);
    if (parent) {
        sb_lit(sb, "\",\"parentId\":\"");
        sb_raw(sb, l->last_id, 8);
    }
    sb_lit(sb, "\",\"timestamp\":\"");
    sb_iso_z(sb, l->now);
    sb_lit(sb, "\",\"sessionId\":\"");
    sb_raw(sb, l->sessions[rng_below(&l->rng, ARRAY_LEN(l->sessions))], 36);
    sb_ch(sb, '"');
    memcpy(l->last_id, id, sizeof(id));
}

static void put_host_pid(lines_t *l, sb_t *sb)
{
    sb_lit(sb, ",\"hostname\":");
    sb_jstrz(sb, l->hostname);
    sb_lit(sb, ",\"pid\":14");
}

static void line_body(lines_t *l, sb_t *sb)
{
    rng_t *r = &l->rng;
    unsigned k = (unsigned)rng_below(r, 100);

    if (k < 25) { /* 6 keys, ~240 bytes */
        put_time(l, sb);
        sb_lit(sb, ",\"level\":\"info\",\"subsystem\":\"gateway/ws\",\"msg\":\"");
        if (rng_chance(r, 0.2)) {
            sb_lit(sb, "⇄ res ✓ ");
        } else {
            sb_lit(sb, "res ok ");
        }
        sb_str(sb, PICK(r, ws_methods));
        sb_ch(sb, ' ');
        sb_u64(sb, (uint64_t)rng_range(r, 1, 400));
        sb_lit(sb, "ms conn=");
        sb_hex(sb, r, 12);
        sb_lit(sb, " id=");
        sb_hex(sb, r, 8);
        sb_lit(sb, "\",\"hostname\":");
        sb_jstrz(sb, l->hostname);
        sb_lit(sb, ",\"_meta\":{\"logLevelId\":3,\"logLevelName\":\"INFO\"}");
    } else if (k < 45) { /* 9 keys, ~260 bytes */
        uint64_t dur = (uint64_t)rng_range(r, 5, 90000);
        const char *agent = rng_chance(r, 0.7) ? "main" : "ops";

        put_time(l, sb);
        sb_lit(sb, ",\"level\":\"debug\",\"subsystem\":\"diagnostic\",\"msg\":\"lane task done: "
                   "lane=session:agent:");
        sb_str(sb, agent);
        sb_lit(sb, ":main durationMs=");
        sb_u64(sb, dur);
        sb_lit(sb, " active=0 queued=0\",\"lane\":\"session:agent:");
        sb_str(sb, agent);
        sb_lit(sb, ":main\",\"durationMs\":");
        sb_u64(sb, dur);
        sb_lit(sb, ",\"active\":0,\"queued\":0,\"pid\":14");
    } else if (k < 60) { /* 8 keys + nested message, ~290 bytes */
        put_entry_head(l, sb, "message", 7, true);
        sb_lit(sb, ",\"role\":\"user\",\"message\":{\"content\":\"[");
        sb_str(sb, PICK(r, channel_names));
        sb_ch(sb, ' ');
        sb_str(sb, PICK(r, senders));
        sb_lit(sb, " id:");
        sb_u64(sb, (uint64_t)rng_range(r, 1000000, 999999999));
        sb_lit(sb, "] ");
        sb_esc_prefix(sb, PICK(r, user_texts), SIZE_MAX);
        sb_lit(sb, "\",\"timestamp\":");
        sb_u64(sb, (uint64_t)l->now);
        sb_ch(sb, '}');
    } else if (k < 70) { /* 11 keys, nested usage and cost, ~380 bytes */
        const model_t *m = &PICK(r, models);
        uint64_t in = (uint64_t)rng_range(r, 1, 4000);
        uint64_t out = (uint64_t)rng_range(r, 20, 1800);
        uint64_t cached = (uint64_t)rng_range(r, 0, 60000);

        put_entry_head(l, sb, "message", 7, false);
        sb_lit(sb, ",\"role\":\"assistant\",\"provider\":\"");
        sb_str(sb, m->provider);
        sb_lit(sb, "\",\"model\":\"");
        sb_str(sb, m->model);
        sb_lit(sb, "\",\"usage\":{\"input\":");
        sb_u64(sb, in);
        sb_lit(sb, ",\"output\":");
        sb_u64(sb, out);
        sb_lit(sb, ",\"cacheRead\":");
        sb_u64(sb, cached);
        sb_lit(sb, ",\"cost\":{\"total\":");
        sb_jsnum(sb, m->in / 1e6 * (double)in + m->out / 1e6 * (double)out +
                         m->cache_read / 1e6 * (double)cached);
        sb_lit(sb, "}},\"stopReason\":\"stop\",\"text\":\"");
        sb_esc_prefix(sb, PICK(r, assistant_texts), 64);
        sb_ch(sb, '"');
    } else if (k < 80) { /* 9 keys, nested details, ~300 bytes */
        static const char *const outs[] = {
            " M src/index.ts\\n?? notes/todo.md", "(no output)", "57",
            "Filesystem      Size  Used Avail Use%\\n/dev/nvme1n1    200G  186G   14G  93%"};
        bool fail = rng_chance(r, 0.05);

        put_entry_head(l, sb, "toolResult", 10, false);
        sb_lit(sb, ",\"toolCallId\":\"toolu_01");
        sb_rand_chars(sb, r, b62_digits, 62, 22);
        sb_lit(sb, "\",\"toolName\":\"exec\",\"isError\":");
        sb_str(sb, fail ? "true" : "false");
        sb_lit(sb, ",\"details\":{\"durationMs\":");
        sb_u64(sb, (uint64_t)rng_range(r, 3, 6000));
        sb_lit(sb, ",\"exitCode\":");
        sb_ch(sb, fail ? '1' : '0');
        sb_lit(sb, "},\"output\":\"");
        sb_str(sb, PICK(r, outs));
        sb_ch(sb, '"');
    } else if (k < 85) { /* 8 keys; JSON escaped inside the message, ~330 bytes */
        static const char *const decisions[] = {"retry", "fallback_model", "surface_error"};
        char run_id[37];

        uuid4(r, run_id);
        put_time(l, sb);
        sb_lit(sb, ",\"level\":\"error\",\"subsystem\":\"agent/embedded\",\"msg\":\"embedded run "
                   "failed: ");
        sb_esc_prefix(sb, PICK(r, provider_errors), 90);
        sb_lit(sb, "\",\"runId\":\"");
        sb_raw(sb, run_id, 36);
        sb_lit(sb, "\",\"provider\":\"anthropic\",\"decision\":\"");
        sb_str(sb, PICK(r, decisions));
        sb_lit(sb, "\",\"tags\":[\"error_handling\",\"failover\"]");
    } else { /* 6 keys, ~140 bytes */
        put_time(l, sb);
        sb_lit(sb, ",\"level\":\"info\",\"name\":\"openclaw\",\"msg\":\"- agent:main:main (");
        sb_u64(sb, (uint64_t)rng_range(r, 0, 59));
        sb_lit(sb, "m ago)\"");
        put_host_pid(l, sb);
    }
}

static int run_lines(const opts_t *o)
{
    lines_t l;
    outf_t f;
    double t0 = now_mono_s();
    double secs;
    uint64_t seq = 0;
    int rc;

    memset(&l, 0, sizeof(l));
    rng_seed(&l.rng, o->seed);
    l.now = o->start_ms;
    l.hostname = o->hostname;
    l.id_salt = (uint32_t)rng_next(&l.rng);
    hex8(mix32(l.ids++ ^ l.id_salt), l.last_id);
    for (size_t i = 0; i < ARRAY_LEN(l.sessions); i++) {
        uuid4(&l.rng, l.sessions[i]);
    }
    rc = outf_open(&f, o->path, FLUSH_BIG);
    if (rc != 0) {
        fprintf(stderr, "%s: --lines %s: %s\n", prog, o->path, strerror(-rc));
        return rc;
    }
    while (f.flushed + f.sb.len < o->size) {
        int64_t len;

        outf_line_begin(&f);
        sb_ch(&f.sb, '{');
        if (o->seq) {
            sb_lit(&f.sb, "\"seq\":");
            sb_u64(&f.sb, seq);
            sb_ch(&f.sb, ',');
        }
        line_body(&l, &f.sb);
        sb_ch(&f.sb, '}');
        len = outf_line_end(&f);
        if (len < 0) {
            rc = (int)len;
            break;
        }
        seq++;
        l.now += rng_range(&l.rng, 0, 40);
    }
    {
        uint64_t bytes = f.flushed + f.sb.len;
        int crc = outf_close(&f);

        if (rc == 0) {
            rc = crc;
        }
        if (rc != 0) {
            fprintf(stderr, "%s: writing %s failed: %s\n", prog, o->path, strerror(-rc));
            return rc;
        }
        secs = now_mono_s() - t0;
        if (!o->quiet) {
            fprintf(stderr, "%s: 1 file, %llu lines, %llu bytes in %.2fs (%.0f MB/s) -> %s\n", prog,
                    (unsigned long long)seq, (unsigned long long)bytes, secs,
                    secs > 0 ? (double)bytes / 1e6 / secs : 0.0, o->path);
        }
    }
    return 0;
}

/* ============================================================================================
 * --append: a writer in progress. Lines go out whole through O_APPEND, so concurrent writers
 * never interleave inside a line; with --rate each line is its own write, paced on the
 * monotonic clock.
 * ========================================================================================== */

static int run_append(const opts_t *o)
{
    static const char *const notes[] = {
        "heartbeat ok",           "queue drained", "retrying upload\tattempt 2",     "缓存已刷新",
        "rotated key \"k-17\" ✓", "disk at 71%",   "line with a backslash \\ in it",
    };
    rng_t r;
    sb_t sb = {0};
    struct timespec t0;
    uint64_t batch_lines = 0;
    uint64_t bytes = 0;
    uint64_t seed = o->seed ^ (o->start_seq * 0x9e3779b97f4a7c15ull);
    int fd;
    int rc = 0;

    rng_seed(&r, seed);
    fd = open(o->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        fprintf(stderr, "%s: --append %s: %s\n", prog, o->path, strerror(-rc));
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < o->count; i++) {
        sb_lit(&sb, "{\"seq\":");
        sb_u64(&sb, o->start_seq + i);
        sb_lit(&sb, ",\"src\":");
        sb_jstrz(&sb, o->prefix);
        sb_lit(&sb, ",\"msg\":\"line ");
        sb_u64(&sb, i + 1);
        sb_lit(&sb, " of ");
        sb_u64(&sb, o->count);
        sb_lit(&sb, ": ");
        sb_esc_prefix(&sb, PICK(&r, notes), SIZE_MAX);
        sb_lit(&sb, " id=");
        sb_hex(&sb, &r, (size_t)rng_range(&r, 8, 40));
        sb_lit(&sb, "\"}\n");
        if (sb.err != 0) {
            rc = sb.err;
            break;
        }
        batch_lines++;
        if (o->rate > 0) {
            double at = (double)i / o->rate;
            struct timespec due = t0;

            due.tv_sec += (time_t)at;
            due.tv_nsec += (long)((at - (double)(time_t)at) * 1e9);
            if (due.tv_nsec >= 1000000000L) {
                due.tv_sec++;
                due.tv_nsec -= 1000000000L;
            }
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR) {
            }
        }
        if (o->rate > 0 || batch_lines == 64 || sb.len >= 16 * KIB || i + 1 == o->count) {
            rc = write_all(fd, sb.buf, sb.len);
            if (rc != 0) {
                break;
            }
            bytes += sb.len;
            sb.len = 0;
            batch_lines = 0;
        }
    }
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    sb_free(&sb);
    if (rc != 0) {
        fprintf(stderr, "%s: appending to %s failed: %s\n", prog, o->path, strerror(-rc));
        return rc;
    }
    if (!o->quiet) {
        fprintf(stderr, "%s: appended %llu lines (%llu bytes, seq %llu..%llu) to %s\n", prog,
                (unsigned long long)o->count, (unsigned long long)bytes,
                (unsigned long long)o->start_seq,
                (unsigned long long)(o->start_seq + o->count - (o->count > 0)), o->path);
    }
    return 0;
}

/* ============================================================================================
 * Command line
 * ========================================================================================== */

static void usage(FILE *out)
{
    fprintf(out,
            "usage:\n"
            "  %s --out DIR [--seed N] [--size 4M] [--agents main,ops] [--sessions 6]\n"
            "        [--start 2026-03-14T08:00:00.000Z] [--tz +00:00] [--hostname H]\n"
            "        [--partial-tail] [--if-empty] [--force] [--quiet]\n"
            "      OpenClaw tree: DIR/.openclaw/agents/<agent>/sessions/<uuid>.jsonl (75%%) and\n"
            "      DIR/tmp/openclaw/openclaw-YYYY-MM-DD.log (25%%, tslog JSON lines).\n"
            "  %s --lines FILE [--size 4M] [--seed N] [--seq] [--start ISO] [--quiet]\n"
            "      JSON lines of ~250 bytes for benchmarks; --seq puts \"seq\":<n> first.\n"
            "      FILE may be - for stdout.\n"
            "  %s --append FILE --count N [--start-seq K] [--rate LINES_PER_SEC]\n"
            "        [--prefix STR] [--seed N] [--quiet]\n"
            "      appends {\"seq\":K+i,\"src\":STR,\"msg\":...} lines through O_APPEND.\n"
            "Sizes take K, M or G (1024 multiples). Output depends only on the arguments.\n",
            prog, prog, prog);
}

__attribute__((format(printf, 2, 3))) static int bad_arg(const char *opt, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: %s: ", prog, opt);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see --help)\n");
    return -EINVAL;
}

static int parse_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9') {
        return bad_arg(opt, "'%s' is not a non-negative integer", s);
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return bad_arg(opt, "'%s' is not a non-negative integer", s);
    }
    *out = v;
    return 0;
}

static int parse_size(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mult = 1;

    if (*s < '0' || *s > '9') {
        return bad_arg(opt, "bad size '%s' (use e.g. 512K, 16M, 1G)", s);
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    switch (*end) {
    case 'k':
    case 'K':
        mult = KIB;
        end++;
        break;
    case 'm':
    case 'M':
        mult = MIB;
        end++;
        break;
    case 'g':
    case 'G':
        mult = MIB * 1024;
        end++;
        break;
    default:
        break;
    }
    if (errno != 0 || *end != '\0' || v == 0 || v > UINT64_MAX / mult / 2) {
        return bad_arg(opt, "bad size '%s' (use e.g. 512K, 16M, 1G)", s);
    }
    *out = v * mult;
    return 0;
}

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9') {
            return -EINVAL;
        }
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* "+08:00", "-0530" or "Z"; minutes east of UTC. */
static int parse_offset(const char **p, int *out)
{
    int sign;
    int hh;
    int mm;

    if (**p == 'Z') {
        (*p)++;
        *out = 0;
        return 0;
    }
    if (**p != '+' && **p != '-') {
        return -EINVAL;
    }
    sign = **p == '-' ? -1 : 1;
    (*p)++;
    if (parse_digits(p, 2, &hh) != 0) {
        return -EINVAL;
    }
    if (**p == ':') {
        (*p)++;
    }
    if (parse_digits(p, 2, &mm) != 0 || hh > 14 || mm > 59) {
        return -EINVAL;
    }
    *out = sign * (hh * 60 + mm);
    return 0;
}

/* YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM]; no offset means UTC. */
static int parse_start(const char *s, int64_t *out)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h, mi, sec;
    int ms = 0;
    int off = 0;

    if (parse_digits(&p, 4, &y) != 0 || *p++ != '-' || parse_digits(&p, 2, &mo) != 0 ||
        *p++ != '-' || parse_digits(&p, 2, &d) != 0 || (*p != 'T' && *p != ' ')) {
        return -EINVAL;
    }
    p++;
    if (parse_digits(&p, 2, &h) != 0 || *p++ != ':' || parse_digits(&p, 2, &mi) != 0 ||
        *p++ != ':' || parse_digits(&p, 2, &sec) != 0) {
        return -EINVAL;
    }
    if (*p == '.') {
        int scale = 100;

        p++;
        if (*p < '0' || *p > '9') {
            return -EINVAL;
        }
        for (; *p >= '0' && *p <= '9'; p++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p != '\0' && parse_offset(&p, &off) != 0) {
        return -EINVAL;
    }
    if (*p != '\0' || y < 1970 || y > 9000 || mo < 1 || mo > 12 || d < 1 ||
        (unsigned)d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59) {
        return -EINVAL;
    }
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * MS_PER_DAY +
           ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms - (int64_t)off * 60000;
    return 0;
}

static int parse_agents(opts_t *o, const char *arg)
{
    char *save = NULL;
    char *tok;

    free(o->agents_buf);
    o->agents_buf = strdup(arg);
    if (o->agents_buf == NULL) {
        return -ENOMEM;
    }
    o->n_agents = 0;
    for (tok = strtok_r(o->agents_buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        size_t n = strlen(tok);

        /* Agent ids become path components. */
        if (n == 0 || n > 64 ||
            strspn(tok, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n) {
            return bad_arg("--agents", "'%s' is not an agent id ([A-Za-z0-9_-], 1-64 chars)", tok);
        }
        if (o->n_agents == ARRAY_LEN(o->agents)) {
            return bad_arg("--agents", "at most %zu agents", ARRAY_LEN(o->agents));
        }
        o->agents[o->n_agents++] = tok;
    }
    if (o->n_agents == 0) {
        return bad_arg("--agents", "needs at least one agent id");
    }
    return 0;
}

static int set_mode(opts_t *o, int mode, const char *opt, const char *path)
{
    if (o->mode != MODE_NONE) {
        return bad_arg(opt, "only one of --out, --lines and --append may be given");
    }
    if (*path == '\0') {
        return bad_arg(opt, "needs a path");
    }
    o->mode = mode;
    o->path = path;
    return 0;
}

/* Returns whether name is an option, and in *flag whether it takes no value. */
static bool known_option(const char *name, bool *flag)
{
    static const char *const flags[] = {"--partial-tail", "--if-empty", "--force", "--quiet",
                                        "--seq"};
    static const char *const valued[] = {
        "--out",   "--lines", "--append",   "--seed",  "--size",      "--agents", "--sessions",
        "--start", "--tz",    "--hostname", "--count", "--start-seq", "--rate",   "--prefix"};

    for (size_t i = 0; i < ARRAY_LEN(flags); i++) {
        if (strcmp(name, flags[i]) == 0) {
            *flag = true;
            return true;
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(valued); i++) {
        if (strcmp(name, valued[i]) == 0) {
            *flag = false;
            return true;
        }
    }
    return false;
}

static int parse_args(opts_t *o, int argc, char **argv)
{
    static const char *const tree_only[] = {"--agents",       "--sessions", "--tz",   "--hostname",
                                            "--partial-tail", "--if-empty", "--force"};
    static const char *const append_only[] = {"--count", "--start-seq", "--rate", "--prefix"};
    const char *given[32];
    size_t n_given = 0;
    int rc;

    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *arg = argv[i];
        const char *val = NULL;
        const char *eq;
        bool flag;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            return bad_arg(arg, "unexpected argument");
        }
        eq = strchr(arg, '=');
        if (eq != NULL) {
            if ((size_t)(eq - arg) >= sizeof(name)) {
                return bad_arg(arg, "unknown option");
            }
            memcpy(name, arg, (size_t)(eq - arg));
            name[eq - arg] = '\0';
            val = eq + 1;
        } else {
            snprintf(name, sizeof(name), "%s", arg);
        }
        if (!known_option(name, &flag)) {
            return bad_arg(name, "unknown option");
        }
        if (flag && val != NULL) {
            return bad_arg(name, "takes no value");
        }
        if (!flag && val == NULL) {
            if (i + 1 >= argc) {
                return bad_arg(name, "needs a value");
            }
            val = argv[++i];
        }
        if (n_given < ARRAY_LEN(given)) {
            given[n_given++] = argv[eq != NULL ? i : i - !flag];
        }

        if (strcmp(name, "--out") == 0) {
            rc = set_mode(o, MODE_TREE, name, val);
        } else if (strcmp(name, "--lines") == 0) {
            rc = set_mode(o, MODE_LINES, name, val);
        } else if (strcmp(name, "--append") == 0) {
            rc = set_mode(o, MODE_APPEND, name, val);
        } else if (strcmp(name, "--seed") == 0) {
            rc = parse_u64(name, val, &o->seed);
        } else if (strcmp(name, "--size") == 0) {
            rc = parse_size(name, val, &o->size);
        } else if (strcmp(name, "--agents") == 0) {
            rc = parse_agents(o, val);
        } else if (strcmp(name, "--sessions") == 0) {
            uint64_t v;

            rc = parse_u64(name, val, &v);
            if (rc == 0 && (v < 1 || v > MAX_SESSIONS)) {
                rc = bad_arg(name, "must be 1..%d", MAX_SESSIONS);
            }
            o->sessions = (unsigned)v;
        } else if (strcmp(name, "--start") == 0) {
            rc = parse_start(val, &o->start_ms);
            if (rc != 0) {
                rc = bad_arg(name, "bad time '%s' (use e.g. 2026-03-14T08:00:00.000Z)", val);
            }
        } else if (strcmp(name, "--tz") == 0) {
            const char *p = val;

            rc = parse_offset(&p, &o->tz_min);
            if (rc != 0 || *p != '\0') {
                rc = bad_arg(name, "bad offset '%s' (use e.g. +08:00; write --tz=-05:00)", val);
            }
        } else if (strcmp(name, "--hostname") == 0) {
            o->hostname = val;
            rc = *val == '\0' ? bad_arg(name, "must not be empty") : 0;
        } else if (strcmp(name, "--count") == 0) {
            rc = parse_u64(name, val, &o->count);
            o->count_set = true;
        } else if (strcmp(name, "--start-seq") == 0) {
            rc = parse_u64(name, val, &o->start_seq);
        } else if (strcmp(name, "--rate") == 0) {
            char *end;

            errno = 0;
            o->rate = strtod(val, &end);
            rc = 0;
            if (errno != 0 || end == val || *end != '\0' || !(o->rate >= 0) || o->rate > 1e9) {
                rc = bad_arg(name, "'%s' is not a rate in lines per second (0 = unpaced)", val);
            }
        } else if (strcmp(name, "--prefix") == 0) {
            o->prefix = val;
            rc = 0;
        } else if (strcmp(name, "--partial-tail") == 0) {
            o->partial_tail = true;
            rc = 0;
        } else if (strcmp(name, "--if-empty") == 0) {
            o->if_empty = true;
            rc = 0;
        } else if (strcmp(name, "--force") == 0) {
            o->force = true;
            rc = 0;
        } else if (strcmp(name, "--quiet") == 0) {
            o->quiet = true;
            rc = 0;
        } else if (strcmp(name, "--seq") == 0) {
            o->seq = true;
            rc = 0;
        } else {
            rc = 0; /* known_option() and this chain list the same options */
        }
        if (rc != 0) {
            return rc;
        }
    }

    if (o->mode == MODE_NONE) {
        fprintf(stderr, "%s: one of --out DIR, --lines FILE or --append FILE is required\n", prog);
        usage(stderr);
        return -EINVAL;
    }
    /* Options that mean nothing in the chosen mode are errors, not silently ignored. */
    for (size_t i = 0; i < n_given; i++) {
        char name[64];
        const char *eq = strchr(given[i], '=');
        size_t n = eq != NULL ? (size_t)(eq - given[i]) : strlen(given[i]);

        snprintf(name, sizeof(name), "%.*s", (int)n, given[i]);
        for (size_t k = 0; k < ARRAY_LEN(tree_only); k++) {
            if (o->mode != MODE_TREE && strcmp(name, tree_only[k]) == 0) {
                return bad_arg(name, "only applies with --out");
            }
        }
        for (size_t k = 0; k < ARRAY_LEN(append_only); k++) {
            if (o->mode != MODE_APPEND && strcmp(name, append_only[k]) == 0) {
                return bad_arg(name, "only applies with --append");
            }
        }
        if (strcmp(name, "--seq") == 0 && o->mode != MODE_LINES) {
            return bad_arg(name, "only applies with --lines");
        }
        if (strcmp(name, "--size") == 0 && o->mode == MODE_APPEND) {
            return bad_arg(name, "does not apply with --append (use --count)");
        }
    }
    if (o->mode == MODE_APPEND && !o->count_set) {
        return bad_arg("--count", "is required with --append");
    }
    if (o->n_agents == 0) {
        rc = parse_agents(o, "main");
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    int rc;

    memset(&o, 0, sizeof(o));
    o.seed = 1;
    o.size = 4 * MIB;
    o.sessions = 6;
    o.prefix = "loggen";
    o.hostname = "openclaw-gw-7f3k";
    rc = parse_start("2026-03-14T08:00:00.000Z", &o.start_ms);
    if (rc == 0) {
        rc = parse_args(&o, argc, argv);
    }
    if (rc == 1) {
        free(o.agents_buf);
        return 0;
    }
    if (rc != 0) {
        free(o.agents_buf);
        return 2;
    }
    switch (o.mode) {
    case MODE_TREE:
        rc = run_tree(&o);
        break;
    case MODE_LINES:
        rc = run_lines(&o);
        break;
    default:
        rc = run_append(&o);
        break;
    }
    free(o.agents_buf);
    return rc == 0 ? 0 : 1;
}
