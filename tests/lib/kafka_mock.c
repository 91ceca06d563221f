/* petrel-kafka-mock: runs a librdkafka mock cluster (rdkafka_mock.h) in its own process so that
 * integration tests and benchmarks can point petrel and kcat at it, and drives its failures from
 * a command FIFO: brokers down and up, injected request errors, latency, topic errors.
 * It listens on 127.0.0.1 only and keeps messages in memory until it exits; like any mock
 * cluster of librdkafka it keeps at most 5 MiB (or 100000 batches) per partition, dropping the
 * oldest beyond that, so size topics by their partition count. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: petrel-kafka-mock [--brokers N] [--topic NAME[:PARTITIONS[:REPLICAS]]]...\n"
        "                         [--bootstrap-file PATH] [--ctl FIFO]\n"
        "  Starts a mock Kafka cluster of N brokers (default 3) on 127.0.0.1, creates the\n"
        "  topics, prints \"bootstrap <host:port,...>\" and runs until SIGTERM/SIGINT or the\n"
        "  command 'quit'. Commands, one per line on the FIFO (answered on stdout):\n"
        "    down ID | up ID                 take broker ID (1..N) down / back up\n"
        "    rtt ID MS                       add MS of latency to broker ID\n"
        "    err API ERROR [COUNT]           next COUNT (default 1) requests of API (a\n"
        "                                    number; Produce is 0) fail with ERROR (a name\n"
        "                                    such as NOT_LEADER_FOR_PARTITION, or a number)\n"
        "    clear API                       drop the queued errors of API\n"
        "    topic_err TOPIC ERROR           metadata for TOPIC reports ERROR (NO_ERROR resets)\n"
        "    leader TOPIC PARTITION ID       move a partition's leader\n"
        "    create TOPIC PARTITIONS REPLICAS\n"
        "    quit\n");
}

/* An error by name ("TOPIC_AUTHORIZATION_FAILED", with or without "ERR_") or by number. */
static int parse_err(const char *s, rd_kafka_resp_err_t *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s != '\0' && *end == '\0') {
        *out = (rd_kafka_resp_err_t)v;
        return 0;
    }
    if (strncmp(s, "ERR_", 4) == 0) {
        s += 4;
    }
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name != NULL && strcmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return 0;
        }
    }
    return -1;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec, int nbrokers)
{
    char name[256];
    int parts = 4;
    int repl = nbrokers < 3 ? nbrokers : 3;
    snprintf(name, sizeof(name), "%s", spec);
    char *c = strchr(name, ':');
    if (c != NULL) {
        *c++ = '\0';
        parts = atoi(c);
        char *r = strchr(c, ':');
        if (r != NULL) {
            repl = atoi(r + 1);
        }
    }
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, repl);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "petrel-kafka-mock: cannot create topic %s: %s\n", name,
                rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* Runs one command line; returns 1 for quit, 0 when done, -1 on a bad command. */
static int run_command(rd_kafka_mock_cluster_t *mc, char *line, int nbrokers)
{
    char *argv[8];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok != NULL && argc < 8;
         tok = strtok(NULL, " \t\r\n")) {
        argv[argc++] = tok;
    }
    if (argc == 0) {
        return 0;
    }
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (strcmp(argv[0], "quit") == 0) {
        return 1;
    } else if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) && argc == 2) {
        int id = atoi(argv[1]);
        err = argv[0][0] == 'd' ? rd_kafka_mock_broker_set_down(mc, id)
                                : rd_kafka_mock_broker_set_up(mc, id);
    } else if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
        err = rd_kafka_mock_broker_set_rtt(mc, atoi(argv[1]), atoi(argv[2]));
    } else if (strcmp(argv[0], "err") == 0 && (argc == 3 || argc == 4)) {
        rd_kafka_resp_err_t e;
        if (parse_err(argv[2], &e) != 0) {
            return -1;
        }
        long cnt = argc == 4 ? atol(argv[3]) : 1;
        if (cnt < 1 || cnt > 100000) {
            return -1;
        }
        rd_kafka_resp_err_t *errs = calloc((size_t)cnt, sizeof(*errs));
        if (errs == NULL) {
            return -1;
        }
        for (long i = 0; i < cnt; i++) {
            errs[i] = e;
        }
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)atoi(argv[1]), (size_t)cnt, errs);
        free(errs);
    } else if (strcmp(argv[0], "clear") == 0 && argc == 2) {
        rd_kafka_mock_clear_request_errors(mc, (int16_t)atoi(argv[1]));
    } else if (strcmp(argv[0], "topic_err") == 0 && argc == 3) {
        rd_kafka_resp_err_t e;
        if (parse_err(argv[2], &e) != 0) {
            return -1;
        }
        rd_kafka_mock_topic_set_error(mc, argv[1], e);
    } else if (strcmp(argv[0], "leader") == 0 && argc == 4) {
        err = rd_kafka_mock_partition_set_leader(mc, argv[1], atoi(argv[2]), atoi(argv[3]));
    } else if (strcmp(argv[0], "create") == 0 && argc == 4) {
        char spec[300];
        snprintf(spec, sizeof(spec), "%s:%s:%s", argv[1], argv[2], argv[3]);
        return create_topic(mc, spec, nbrokers) == 0 ? 0 : -1;
    } else {
        return -1;
    }
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int main(int argc, char **argv)
{
    int nbrokers = 3;
    const char *bootstrap_file = NULL;
    const char *ctl = NULL;
    const char *topics[32];
    int ntopics = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
            nbrokers = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc && ntopics < 32) {
            topics[ntopics++] = argv[++i];
        } else if (strcmp(argv[i], "--bootstrap-file") == 0 && i + 1 < argc) {
            bootstrap_file = argv[++i];
        } else if (strcmp(argv[i], "--ctl") == 0 && i + 1 < argc) {
            ctl = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    if (nbrokers < 1 || nbrokers > 16) {
        usage();
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    /* The cluster needs a client handle to run on; it is never used for anything else. */
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "petrel-kafka-mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
    if (mc == NULL) {
        fprintf(stderr, "petrel-kafka-mock: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = 0; i < ntopics; i++) {
        if (create_topic(mc, topics[i], nbrokers) != 0) {
            rd_kafka_mock_cluster_destroy(mc);
            rd_kafka_destroy(rk);
            return 1;
        }
    }
    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
    if (bootstrap_file != NULL) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", bootstrap_file);
        FILE *f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%s\n", bs) < 0 || fclose(f) != 0 ||
            rename(tmp, bootstrap_file) != 0) {
            fprintf(stderr, "petrel-kafka-mock: cannot write %s: %s\n", bootstrap_file,
                    strerror(errno));
            return 1;
        }
    }
    printf("bootstrap %s\n", bs);
    fflush(stdout);

    int fd = -1;
    if (ctl != NULL) {
        if (mkfifo(ctl, 0600) != 0 && errno != EEXIST) {
            fprintf(stderr, "petrel-kafka-mock: mkfifo %s: %s\n", ctl, strerror(errno));
            return 1;
        }
        /* O_RDWR keeps a writer open ourselves, so a test's `echo cmd > fifo` never sees EOF
         * races and reads never return 0 between commands. */
        fd = open(ctl, O_RDWR | O_NONBLOCK);
        if (fd < 0) {
            fprintf(stderr, "petrel-kafka-mock: open %s: %s\n", ctl, strerror(errno));
            return 1;
        }
    }
    char buf[4096];
    size_t have = 0;
    while (!stop) {
        if (fd < 0) {
            usleep(50000);
            continue;
        }
        ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0) {
            usleep(20000);
            continue;
        }
        have += (size_t)n;
        buf[have] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n')) != NULL) {
            *nl = '\0';
            char copy[4096];
            snprintf(copy, sizeof(copy), "%s", buf);
            int rc = run_command(mc, buf, nbrokers);
            printf("%s %s\n", rc < 0 ? "FAILED" : "OK", copy);
            fflush(stdout);
            if (rc == 1) {
                stop = 1;
            }
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have - used + 1);
            have -= used;
        }
        if (have == sizeof(buf) - 1) {
            have = 0; /* an absurd line: drop it */
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
