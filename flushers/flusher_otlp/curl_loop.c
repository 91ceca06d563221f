/* libcurl's multi interface on a libuv loop: curl tells us which sockets to watch and when to
 * wake it (socket and timer callbacks), libuv watches them (uv_poll per socket, one uv_timer),
 * and finished transfers are handed to the owner's callback. It carries flusher_otlp's OTLP/HTTP
 * requests; gRPC has its own client (grpc_client.c). */
#include <errno.h>
#include <string.h>

#include "core/common.h"
#include "core/mem.h"
#include "flusher_otlp_internal.h"

typedef struct xfer_s {
    CURL *easy;
    void *ud;
    struct xfer_s *prev;
    struct xfer_s *next;
} xfer_t;

struct otlp_curl_s {
    CURLM *multi;
    uv_loop_t *loop;
    uv_timer_t timer;
    otlp_curl_done_cb cb;
    xfer_t *xfers; /* in flight: libcurl 7.88 cannot list a multi's handles */
};

typedef struct {
    uv_poll_t poll;
    curl_socket_t fd;
    otlp_curl_t *c;
} sock_t;

static void xfer_unlink(otlp_curl_t *c, xfer_t *x)
{
    if (x->prev != NULL) {
        x->prev->next = x->next;
    } else {
        c->xfers = x->next;
    }
    if (x->next != NULL) {
        x->next->prev = x->prev;
    }
}

static void end_xfer(otlp_curl_t *c, xfer_t *x, CURLcode res)
{
    CURL *easy = x->easy;
    void *ud = x->ud;
    curl_multi_remove_handle(c->multi, easy);
    xfer_unlink(c, x);
    pt_free(x);
    c->cb(easy, res, ud);
}

static void drain(otlp_curl_t *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            xfer_t *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            end_xfer(c, x, msg->data.result);
        }
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_t *s = h->data;
    otlp_curl_t *c = s->c;
    int flags = 0;
    int running;
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        flags |= (events & UV_READABLE) ? CURL_CSELECT_IN : 0;
        flags |= (events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0;
    }
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    drain(c);
}

static void on_poll_closed(uv_handle_t *h)
{
    pt_free(h->data);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    otlp_curl_t *c = userp;
    sock_t *s = socketp;
    int ev = 0;
    PT_UNUSED(easy);
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            uv_poll_stop(&s->poll);
            curl_multi_assign(c->multi, fd, NULL);
            uv_close((uv_handle_t *)&s->poll, on_poll_closed);
        }
        return 0;
    }
    if (s == NULL) {
        s = pt_calloc(1, sizeof(*s));
        if (s == NULL) {
            return -1;
        }
        s->fd = fd;
        s->c = c;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            pt_free(s);
            return -1;
        }
        s->poll.data = s;
        curl_multi_assign(c->multi, fd, s);
    }
    ev |= (what & CURL_POLL_IN) ? UV_READABLE : 0;
    ev |= (what & CURL_POLL_OUT) ? UV_WRITABLE : 0;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    otlp_curl_t *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(c);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    otlp_curl_t *c = userp;
    PT_UNUSED(multi);
    if (timeout_ms < 0) {
        uv_timer_stop(&c->timer);
    } else {
        uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

int otlp_curl_create(uv_loop_t *loop, otlp_curl_done_cb cb, otlp_curl_t **out)
{
    otlp_curl_t *c = pt_calloc(1, sizeof(*c));
    if (c == NULL) {
        return -ENOMEM;
    }
    c->multi = curl_multi_init();
    if (c->multi == NULL) {
        pt_free(c);
        return -ENOMEM;
    }
    c->loop = loop;
    c->cb = cb;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* One request per connection at a time: Debian 12's libcurl (7.88) fails streams added to
     * an HTTP/2 connection that already carried one (an https:// endpoint may negotiate h2), so
     * concurrent requests get their own connections (at most the flusher's Concurrency). */
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    *out = c;
    return 0;
}

int otlp_curl_add(otlp_curl_t *c, CURL *easy, void *ud)
{
    xfer_t *x = pt_calloc(1, sizeof(*x));
    if (x == NULL) {
        return -EIO;
    }
    x->easy = easy;
    x->ud = ud;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
    x->next = c->xfers;
    if (c->xfers != NULL) {
        c->xfers->prev = x;
    }
    c->xfers = x;
    if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
        xfer_unlink(c, x);
        pt_free(x);
        return -EIO;
    }
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    pt_free(h->data);
}

void otlp_curl_destroy(otlp_curl_t *c)
{
    if (c == NULL) {
        return;
    }
    drain(c);
    while (c->xfers != NULL) {
        end_xfer(c, c->xfers, CURLE_ABORTED_BY_CALLBACK);
    }
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}
