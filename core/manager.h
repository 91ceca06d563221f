/* The pipeline manager: loads pipeline configs (explicit files and a watched directory), builds
 * and starts pipelines, hot-reloads them (file change, SIGHUP), and runs shutdown (SIGTERM) and
 * the one-shot mode. Lives on the input loop (the main thread). */
#ifndef PT_MANAGER_H
#define PT_MANAGER_H

#include <uv.h>

#include "config/agent.h"

typedef struct pt_manager_opts_s {
    const pt_agent_conf_t *agent;
    const char *const *files; /* explicit pipeline files (NULL-terminated), may be NULL */
    const char *config_dir;   /* watched directory, may be NULL */
    int oneshot;
} pt_manager_opts_t;

/* Starts workers, the sender thread, the admin endpoint and every pipeline, then runs the loop
 * until shutdown. Returns the process exit code: 0 after a clean shutdown or a finished oneshot,
 * 1 when start-up failed (no valid pipeline, admin port taken, ...). */
int pt_manager_run(uv_loop_t *loop, const pt_manager_opts_t *o);

/* Validates pipeline config files or directories without running anything; prints results to
 * stdout and errors to stderr. Returns the number of files with errors. */
int pt_manager_check(const char *const *paths, int npaths);

/* Lists the config files of a directory (*.yaml, *.yml, *.json), sorted. The caller frees each
 * string and the array with pt_free. Returns the count or a negative errno. */
int pt_config_dir_list(const char *dir, char ***out);
/* The pipeline name of a config file: its base name without extension. Writes into buf. */
void pt_pipeline_name_of(const char *file, char *buf, size_t len);

#endif
