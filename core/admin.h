/* The admin HTTP endpoint: GET /metrics (Prometheus text from the self-metrics registry),
 * GET /healthz (the process is serving) and GET /readyz (the caller's readiness test), served
 * on the input loop by the HTTP server. */
#ifndef PT_ADMIN_H
#define PT_ADMIN_H

#include <stdbool.h>
#include <uv.h>

typedef struct pt_admin_s pt_admin_t;

/* Returns true when the agent is ready to take traffic. Called on the admin loop for every
 * GET /readyz; it must not block. */
typedef bool (*pt_admin_ready_cb)(void *ud);

/* Called on the admin loop once the endpoint is fully closed; the pt_admin_t is freed right
 * after it returns. */
typedef void (*pt_admin_stop_cb)(void *ud);

/* Starts serving on host:port (an IP literal; NULL means 127.0.0.1, so the endpoint is local
 * unless the caller chooses otherwise; port 0 picks a free port, see pt_admin_port). ready may
 * be NULL (always ready); ready and ud must stay valid until the stop callback. On 0, *out is
 * the caller's until pt_admin_stop. Loop thread. Errors as pt_http_server_create: -EINVAL,
 * -ENOMEM, -EADDRINUSE, ... */
int pt_admin_start(uv_loop_t *loop, const char *host, int port, pt_admin_ready_cb ready, void *ud,
                   pt_admin_t **out);

/* The bound port, or a negative errno. Loop thread. */
int pt_admin_port(const pt_admin_t *admin);

/* Stops accepting and closes the endpoint (a scrape being answered finishes first). cb (may be
 * NULL) runs on the loop when every handle is closed; admin is freed right after. Loop thread;
 * call once; the loop must run until then. */
void pt_admin_stop(pt_admin_t *admin, pt_admin_stop_cb cb, void *ud);

#endif
