/* Internal logging to stderr. The macros check the level before evaluating their arguments.
 * Plugin lines carry a "[pipeline/plugin]" prefix. Never pass a secret to these calls.
 * Thread-safe: each line is written with one write(2). */
#ifndef PT_LOG_H
#define PT_LOG_H

typedef enum { PT_LOG_ERROR = 0, PT_LOG_WARN, PT_LOG_INFO, PT_LOG_DEBUG, PT_LOG_TRACE } pt_log_level_t;

extern int pt_log_level_cur;

/* Parses "error", "warn", "info", "debug", "trace". Returns the level or -EINVAL. */
int pt_log_level_parse(const char *name);
void pt_log_set_level(int level);

void pt_log_write(int level, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PT_LOG(level, prefix, ...)                                                            \
    do {                                                                                      \
        if ((level) <= pt_log_level_cur) {                                                    \
            pt_log_write((level), (prefix), __VA_ARGS__);                                     \
        }                                                                                     \
    } while (0)

#define pt_log_error(...) PT_LOG(PT_LOG_ERROR, NULL, __VA_ARGS__)
#define pt_log_warn(...) PT_LOG(PT_LOG_WARN, NULL, __VA_ARGS__)
#define pt_log_info(...) PT_LOG(PT_LOG_INFO, NULL, __VA_ARGS__)
#define pt_log_debug(...) PT_LOG(PT_LOG_DEBUG, NULL, __VA_ARGS__)

/* Plugin logging: prefix is the plugin instance's "pipeline/plugin" string. */
#define pt_plg_error(prefix, ...) PT_LOG(PT_LOG_ERROR, (prefix), __VA_ARGS__)
#define pt_plg_warn(prefix, ...) PT_LOG(PT_LOG_WARN, (prefix), __VA_ARGS__)
#define pt_plg_info(prefix, ...) PT_LOG(PT_LOG_INFO, (prefix), __VA_ARGS__)
#define pt_plg_debug(prefix, ...) PT_LOG(PT_LOG_DEBUG, (prefix), __VA_ARGS__)

#endif
