/* A fast local HTTP sink for the delivery benchmark: answers 200 to every POST and counts
 * requests and body bytes; prints the counts when it gets SIGTERM or SIGINT.
 * usage: bench_sink PORT */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "core/http_server.h"

static uint64_t requests;
static uint64_t bytes;

static void on_request(pt_http_req_t *req, void *ud)
{
    requests++;
    bytes += req->body.len;
    pt_http_respond(req, 200, "text/plain", NULL, 0, "", 0);
}

static void on_signal(uv_signal_t *h, int sig)
{
    printf("requests=%llu bytes=%llu\n", (unsigned long long)requests, (unsigned long long)bytes);
    fflush(stdout);
    exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_sink PORT\n");
        return 2;
    }
    uv_loop_t *loop = uv_default_loop();
    pt_http_server_opts_t o;
    pt_http_server_opts_init(&o);
    o.host = "127.0.0.1";
    o.port = atoi(argv[1]);
    o.max_body_size = 256u << 20;
    pt_http_server_t *srv;
    if (pt_http_server_create(loop, &o, on_request, NULL, &srv) != 0) {
        fprintf(stderr, "bench_sink: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    uv_signal_t s1, s2;
    uv_signal_init(loop, &s1);
    uv_signal_init(loop, &s2);
    uv_signal_start(&s1, on_signal, SIGTERM);
    uv_signal_start(&s2, on_signal, SIGINT);
    return uv_run(loop, UV_RUN_DEFAULT);
}
