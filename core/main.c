/* petrel command line: run, check, doc, --version, --help. */
#include <getopt.h>
#include <malloc.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "common.h"
#include "config/agent.h"
#include "log.h"
#include "manager.h"
#include "mem.h"
#include "plugin.h"

static void usage(FILE *out)
{
    fprintf(out,
            "petrel %s - telemetry collector agent\n"
            "\n"
            "usage:\n"
            "  petrel [run] [options]      run pipelines (no options: the default demo config)\n"
            "  petrel check PATH...        validate pipeline config files or directories\n"
            "  petrel doc                  print every plugin's options as Markdown\n"
            "  petrel --version | --help\n"
            "\n"
            "run options:\n"
            "  --agent-config FILE   agent config (petrel.yaml)\n"
            "  --config FILE         a pipeline config file (repeatable)\n"
            "  --config-dir DIR      watched directory of pipeline configs\n"
            "  --data-dir DIR        checkpoints and local state (default ./data)\n"
            "  --oneshot             read inputs to their end, wait for every ack, exit 0\n"
            "  --threads N           processor worker threads (default: one per core)\n"
            "  --log-level LEVEL     error, warn, info, debug, trace\n"
            "\n"
            "With no --config and no --config-dir, petrel writes the default demo pipeline to\n"
            "DATA_DIR/default.d/demo.yaml: it tails ./demo (OpenClaw session transcripts and app\n"
            "logs), parses JSON and writes JSON lines to DATA_DIR/out/demo.jsonl; and\n"
            "DATA_DIR/default.d/otlp.yaml: it receives OTLP on 127.0.0.1:4318 (HTTP) and\n"
            "127.0.0.1:4317 (gRPC) and writes JSON lines to DATA_DIR/out/otlp.jsonl.\n",
            PETREL_VERSION);
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        return -errno;
    }
    return 0;
}

/* The default config: tails ./demo, parses JSON, and receives OTLP on 127.0.0.1, writing JSON
 * lines under the data dir. Paths in pipeline configs are absolute (as in LoongCollector), so
 * they are made from the current directory and written out where the user can read them. */
static int write_default_pipeline(const char *data_dir, char *dir_out, size_t len)
{
    char cwd[PATH_MAX];
    char abs_data[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL || realpath(data_dir, abs_data) == NULL) {
        return -errno;
    }
    if (snprintf(dir_out, len, "%s/default.d", abs_data) >= (int)len) {
        return -ENAMETOOLONG;
    }
    int rc = mkdir_p(dir_out);
    if (rc != 0) {
        return rc;
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/demo.yaml", dir_out);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -errno;
    }
    fprintf(f,
            "# Written by `petrel run` with no config: the default demo pipeline.\n"
            "# Tails the OpenClaw-style logs under %s/demo (seed it with\n"
            "# `petrel-loggen --out demo --if-empty`), parses each JSON line, and writes\n"
            "# JSON lines to %s/out/demo.jsonl.\n"
            "enable: true\n"
            "inputs:\n"
            "  - Type: input_file\n"
            "    FilePaths:\n"
            "      - %s/demo/**/*.jsonl\n"
            "      - %s/demo/**/*.log\n"
            "    MaxDirSearchDepth: 8\n"
            "    TailingAllMatchedFiles: true\n"
            "processors:\n"
            "  - Type: processor_parse_json_native\n"
            "    SourceKey: content\n"
            "    KeepingSourceWhenParseFail: true\n"
            "flushers:\n"
            "  - Type: flusher_file\n"
            "    FilePath: %s/out/demo.jsonl\n"
            "    MaxFileSize: 104857600\n",
            cwd, abs_data, cwd, cwd, abs_data);
    fclose(f);

    /* The second default pipeline receives OTLP from any SDK pointed at the standard local
     * ports (OpenClaw's diagnostics plugin sends to 127.0.0.1:4318). */
    snprintf(path, sizeof(path), "%s/otlp.yaml", dir_out);
    f = fopen(path, "w");
    if (f == NULL) {
        return -errno;
    }
    fprintf(f,
            "# Written by `petrel run` with no config: receives OTLP traces, metrics and logs\n"
            "# on 127.0.0.1 (HTTP 4318: protobuf or JSON; gRPC 4317) and writes JSON lines to\n"
            "# %s/out/otlp.jsonl.\n"
            "enable: true\n"
            "inputs:\n"
            "  - Type: service_otlp\n"
            "    Protocals:\n"
            "      HTTP:\n"
            "        Endpoint: 127.0.0.1:4318\n"
            "      GRPC:\n"
            "        Endpoint: 127.0.0.1:4317\n"
            "flushers:\n"
            "  - Type: flusher_file\n"
            "    FilePath: %s/out/otlp.jsonl\n"
            "    MaxFileSize: 104857600\n",
            abs_data, abs_data);
    fclose(f);
    return 0;
}

static int cmd_doc(void)
{
    pt_buf_t b;
    pt_buf_init(&b);
    pt_buf_append_str(&b, "# petrel plugin reference\n\n"
                          "Generated by `petrel doc` from each plugin's config map. Keys, types, "
                          "defaults and bounds are the ones the config loader enforces.\n");
    for (size_t i = 0; pt_plugin_at(i) != NULL; i++) {
        const pt_plugin_t *p = pt_plugin_at(i);
        pt_buf_appendf(&b, "\n## %s\n\n%s.\n\n", p->name, p->description);
        if (p->config_n == 0) {
            pt_buf_append_str(&b, "No options.\n");
        } else {
            pt_cfg_doc(p->config_map, p->config_n, &b);
        }
    }
    pt_buf_append_str(&b, "\n## Agent config (petrel.yaml)\n\n");
    pt_cfg_doc(pt_agent_conf_map, pt_agent_conf_map_n, &b);
    fwrite(b.data, 1, b.len, stdout);
    pt_buf_free(&b);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"agent-config", required_argument, NULL, 'a'},
        {"config", required_argument, NULL, 'c'},
        {"config-dir", required_argument, NULL, 'd'},
        {"data-dir", required_argument, NULL, 'D'},
        {"oneshot", no_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *agent_file = NULL;
    const char *config_dir = NULL;
    const char *data_dir = NULL;
    const char *log_level = NULL;
    long threads = -1;
    int oneshot = 0;
    const char **files = pt_calloc((size_t)argc + 1, sizeof(char *));
    int nfiles = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            agent_file = optarg;
            break;
        case 'c':
            files[nfiles++] = optarg;
            break;
        case 'd':
            config_dir = optarg;
            break;
        case 'D':
            data_dir = optarg;
            break;
        case 'o':
            oneshot = 1;
            break;
        case 't': {
            char *end;
            threads = strtol(optarg, &end, 10);
            if (*end != '\0' || threads < 0 || threads > 256) {
                fprintf(stderr, "petrel: --threads: expected 0..256, got '%s'\n", optarg);
                pt_free(files);
                return 2;
            }
            break;
        }
        case 'l':
            log_level = optarg;
            break;
        case 'h':
            usage(stdout);
            pt_free(files);
            return 0;
        default:
            usage(stderr);
            pt_free(files);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "petrel: unexpected argument '%s'\n", argv[optind]);
        pt_free(files);
        return 2;
    }

    pt_agent_conf_t agent;
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, agent_file ? agent_file : "petrel.yaml", "agent");
    int rc = pt_agent_conf_load(&agent, agent_file, &d);
    if (d.text.len > 0) {
        fwrite(d.text.data, 1, d.text.len, stderr);
    }
    pt_cfg_diag_free(&d);
    if (rc != 0) {
        pt_agent_conf_free(&agent);
        pt_free(files);
        return 1;
    }
    if (data_dir != NULL) {
        pt_free(agent.data_dir);
        agent.data_dir = pt_strdup(data_dir);
    }
    if (threads >= 0) {
        agent.processor_threads = threads;
    }
    const char *lvl = log_level ? log_level : agent.log_level;
    int level = pt_log_level_parse(lvl);
    if (level < 0) {
        fprintf(stderr, "petrel: unknown log level '%s'\n", lvl);
        pt_agent_conf_free(&agent);
        pt_free(files);
        return 2;
    }
    pt_log_set_level(level);
    if (config_dir == NULL) {
        config_dir = agent.config_dir;
    }
    rc = mkdir_p(agent.data_dir);
    if (rc != 0) {
        pt_log_error("cannot create data dir %s: %s", agent.data_dir, pt_strerror(rc));
        pt_agent_conf_free(&agent);
        pt_free(files);
        return 1;
    }
    char default_dir[PATH_MAX];
    if (nfiles == 0 && config_dir == NULL) {
        rc = write_default_pipeline(agent.data_dir, default_dir, sizeof(default_dir));
        if (rc != 0) {
            pt_log_error("cannot write the default pipeline: %s", pt_strerror(rc));
            pt_agent_conf_free(&agent);
            pt_free(files);
            return 1;
        }
        config_dir = default_dir;
        pt_log_info("no config given: running the default pipelines from %s", config_dir);
    }
    pt_log_info("petrel %s starting (data dir %s)", PETREL_VERSION, agent.data_dir);
    pt_manager_opts_t mo = {&agent, files, config_dir, oneshot};
    uv_loop_t *loop = uv_default_loop();
    rc = pt_manager_run(loop, &mo);
    uv_loop_close(loop);
    pt_log_info("petrel exiting with status %d", rc);
    pt_agent_conf_free(&agent);
    pt_free(files);
    return rc;
}

int main(int argc, char **argv)
{
    /* glibc raises its mmap threshold after large frees and keeps up to 8 arenas per core: with
     * buffers of 0.5-1 MiB allocated on one thread and freed on another, that lets RSS creep far
     * past what the queues hold. A fixed threshold returns large buffers to the kernel at once,
     * and a few arenas are plenty for a handful of threads. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, 4);
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("petrel %s\n", PETREL_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        if (argc < 3) {
            fprintf(stderr, "usage: petrel check PATH...\n");
            return 2;
        }
        return pt_manager_check((const char *const *)argv + 2, argc - 2) > 0 ? 1 : 0;
    }
    if (argc >= 2 && strcmp(argv[1], "doc") == 0) {
        return cmd_doc();
    }
    if (argc >= 2 && strcmp(argv[1], "run") == 0) {
        return cmd_run(argc - 1, argv + 1);
    }
    if (argc >= 2 && argv[1][0] != '-') {
        fprintf(stderr, "petrel: unknown command '%s' (see petrel --help)\n", argv[1]);
        return 2;
    }
    return cmd_run(argc, argv);
}
