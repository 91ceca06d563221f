/* stderr logger: one line per call, written with a single write(2) so threads never interleave. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int pt_log_level_cur = PT_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

int pt_log_level_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            return i;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        return PT_LOG_WARN;
    }
    return -EINVAL;
}

void pt_log_set_level(int level)
{
    pt_log_level_cur = level;
}

void pt_log_write(int level, const char *prefix, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
    if (prefix != NULL && n < (int)sizeof(line)) {
        n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ", prefix);
    }
    if (n < (int)sizeof(line)) {
        va_list ap;
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    if (n >= (int)sizeof(line) - 1) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, (size_t)n);
    (void)rc;
}
