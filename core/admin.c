/* The admin endpoint: three fixed routes on an HTTP server with small limits, since nothing
 * legitimate sends it a body or holds many connections. */
#include "admin.h"

#include <errno.h>
#include <string.h>

#include "common.h"
#include "http_server.h"
#include "mem.h"
#include "metrics.h"

/* The content type Prometheus client libraries send for format 0.0.4. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define ADMIN_MAX_BODY (64u * 1024)
#define ADMIN_MAX_CONNS 64u

struct pt_admin_s {
    pt_http_server_t *srv;
    pt_admin_ready_cb ready;
    void *ud;
    pt_admin_stop_cb stop_cb;
    void *stop_ud;
};

static void respond_text(pt_http_req_t *req, int status, const char *text)
{
    pt_http_respond(req, status, "text/plain; charset=utf-8", NULL, 0, text, strlen(text));
}

static void serve_metrics(pt_http_req_t *req)
{
    pt_buf_t out;

    pt_buf_init(&out);
    if (pt_metrics_render(&out) != 0) {
        respond_text(req, 500, "cannot render metrics\n");
    } else {
        pt_http_respond(req, 200, METRICS_CONTENT_TYPE, NULL, 0, out.data, out.len);
    }
    pt_buf_free(&out);
}

static void on_request(pt_http_req_t *req, void *ud)
{
    static const pt_str_t allow[] = {PT_STR_LIT("Allow"), PT_STR_LIT("GET, HEAD")};
    pt_admin_t *a = ud;
    int get = pt_str_eq_c(req->method, "GET") || pt_str_eq_c(req->method, "HEAD");
    int route = pt_str_eq_c(req->path, "/metrics") || pt_str_eq_c(req->path, "/healthz") ||
                pt_str_eq_c(req->path, "/readyz");

    /* An unknown path is 404 whatever the method: 405 would claim the resource exists. */
    if (!route) {
        respond_text(req, 404, "not found");
        return;
    }
    if (!get) {
        pt_http_respond(req, 405, "text/plain; charset=utf-8", allow, 1, "method not allowed", 18);
        return;
    }
    if (pt_str_eq_c(req->path, "/metrics")) {
        serve_metrics(req);
    } else if (pt_str_eq_c(req->path, "/healthz")) {
        respond_text(req, 200, "ok");
    } else if (a->ready == NULL || a->ready(a->ud)) {
        respond_text(req, 200, "ready");
    } else {
        respond_text(req, 503, "not ready");
    }
}

int pt_admin_start(uv_loop_t *loop, const char *host, int port, pt_admin_ready_cb ready, void *ud,
                   pt_admin_t **out)
{
    pt_http_server_opts_t o;
    pt_admin_t *a;
    int rc;

    if (loop == NULL || out == NULL) {
        return -EINVAL;
    }
    a = pt_calloc(1, sizeof(*a));
    if (a == NULL) {
        return -ENOMEM;
    }
    a->ready = ready;
    a->ud = ud;
    pt_http_server_opts_init(&o);
    o.host = host != NULL ? host : "127.0.0.1";
    o.port = port;
    o.name = "admin";
    o.max_body_size = ADMIN_MAX_BODY;
    o.max_connections = ADMIN_MAX_CONNS;
    rc = pt_http_server_create(loop, &o, on_request, a, &a->srv);
    if (rc != 0) {
        pt_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int pt_admin_port(const pt_admin_t *admin)
{
    return pt_http_server_port(admin->srv);
}

static void on_server_closed(pt_http_server_t *srv, void *ud)
{
    pt_admin_t *a = ud;
    PT_UNUSED(srv);
    if (a->stop_cb != NULL) {
        a->stop_cb(a->stop_ud);
    }
    pt_free(a);
}

void pt_admin_stop(pt_admin_t *admin, pt_admin_stop_cb cb, void *ud)
{
    admin->stop_cb = cb;
    admin->stop_ud = ud;
    pt_http_server_close(admin->srv, on_server_closed, admin);
}
