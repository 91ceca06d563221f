/* Line generator for perf/bench_processors.sh: realistic lines for the regex and delimiter
 * parsers, deterministic for a given seed and size.
 *   access: nginx/combined-style access log lines (~230 bytes), for a 5-group regex;
 *   csv:    application events as CSV (~220 bytes) starting with "YYYY-MM-DD HH:MM:SS.mmm", with
 *           quoted fields (some holding commas and doubled quotes), for the delimiter and
 *           timestamp parsers.
 * Usage: gen_parse_lines access|csv SIZE OUT [SEED]   (SIZE takes K, M, G: 1024 multiples) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ULL;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static const char *pick(const char *const *v, size_t n)
{
    return v[next() % n];
}

#define PICK(v) pick(v, sizeof(v) / sizeof(v[0]))

static const char *const methods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
static const char *const paths[] = {
    "/api/v1/sessions",       "/api/v1/agents/main/messages", "/healthz",
    "/static/app.js",         "/api/v1/tools/exec",           "/__openclaw__/canvas/index.html",
    "/api/v1/sessions/search"};
static const char *const agents[] = {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
                                     "like Gecko) Chrome/124.0 Safari/537.36",
                                     "curl/8.5.0", "openclaw-gateway/2026.3.1 (node 22.14.0)",
                                     "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) "
                                     "AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15"};
static const char *const levels[] = {"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"};
static const char *const subsystems[] = {"gateway/canvas", "agent/main",        "diagnostic",
                                         "tools/exec",     "channels/telegram", "memory/index"};
static const char *const messages[] = {
    "lane task done: lane=session:agent:main:main durationMs=19078 active=0 queued=0",
    "\"tool call failed, retrying\"",
    "\"model said \"\"done\"\" after 3 turns\"",
    "embedded run start: runId=4c42de15 sessionId=853b5596 provider=anthropic",
    "canvas host mounted at http://127.0.0.1:18789/__openclaw__/canvas/",
    "\"queue depth 12, oldest 350ms\""};
static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int access_line(char *b, size_t cap, uint64_t i)
{
    uint64_t t = 1773475200 + i / 20; /* 2026-03-14, 20 lines per second */
    int s = (int)(t % 60), m = (int)(t / 60 % 60), h = (int)(t / 3600 % 24);
    int day = 14 + (int)((t - 1773475200) / 86400);
    return snprintf(b, cap,
                    "10.%u.%u.%u - - [%02d/%s/2026:%02d:%02d:%02d +0800] \"%s %s/%u?trace=%08x "
                    "HTTP/1.1\" %u %u \"-\" \"%s\"\n",
                    next() % 256, next() % 256, next() % 256, day, mon[2], h, m, s, PICK(methods),
                    PICK(paths), next() % 100000, next(),
                    (unsigned[]){200, 200, 200, 201, 304, 404, 500}[next() % 7], next() % 90000,
                    PICK(agents));
}

static int csv_line(char *b, size_t cap, uint64_t i)
{
    uint64_t ms = 1773475200000ULL + i * 37;
    uint64_t t = ms / 1000;
    int s = (int)(t % 60), m = (int)(t / 60 % 60), h = (int)(t / 3600 % 24);
    int day = 14 + (int)((t - 1773475200) / 86400);
    return snprintf(b, cap,
                    "2026-03-%02d %02d:%02d:%02d.%03u,%s,%s,session-%08x,req-%016llx,%u,%u,%s,"
                    "openclaw-gw-7f3k,\"%s\"\n",
                    day, h, m, s, (unsigned)(ms % 1000), PICK(levels), PICK(subsystems), next(),
                    (unsigned long long)(((uint64_t)next() << 32) | next()), next() % 600,
                    next() % 100000, PICK(messages), PICK(agents));
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "access") != 0 && strcmp(argv[1], "csv") != 0)) {
        fprintf(stderr, "usage: gen_parse_lines access|csv SIZE OUT [SEED]\n");
        return 2;
    }
    char *end;
    unsigned long long size = strtoull(argv[2], &end, 10);
    if (*end == 'K') {
        size <<= 10;
    } else if (*end == 'M') {
        size <<= 20;
    } else if (*end == 'G') {
        size <<= 30;
    } else if (*end != '\0') {
        fprintf(stderr, "gen_parse_lines: bad size '%s'\n", argv[2]);
        return 2;
    }
    if (argc > 4) {
        rng ^= strtoull(argv[4], NULL, 10) * 0x9E3779B97F4A7C15ULL;
    }
    FILE *f = fopen(argv[3], "w");
    if (f == NULL) {
        perror(argv[3]);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof(buf));
    int csv = strcmp(argv[1], "csv") == 0;
    char line[1024];
    unsigned long long done = 0;
    for (uint64_t i = 0; done < size; i++) {
        int n = csv ? csv_line(line, sizeof(line), i) : access_line(line, sizeof(line), i);
        if (done + (unsigned long long)n > size && done > 0) {
            break; /* whole lines only */
        }
        fwrite(line, 1, (size_t)n, f);
        done += (unsigned long long)n;
    }
    if (fclose(f) != 0) {
        perror(argv[3]);
        return 1;
    }
    return 0;
}
