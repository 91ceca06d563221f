/* libcurl's multi interface on a libuv loop: curl tells us which sockets to watch and when to
 * wake it (socket and timer callbacks), libuv watches them (uv_poll per socket, one uv_timer),
 * and finished transfers are handed to the owner's callback. It carries flusher_http's requests
 * and flusher_otlp's OTLP/HTTP ones. */
#include "curl_loop.h"

#include <errno.h>
#include <string.h>

#include "common.h"
#include "mem.h"

typedef struct xfer_s {
    CURL *easy;
    void *ud;
    struct xfer_s *prev;
    struct xfer_s *next;
} xfer_t;

struct pt_curl_loop_s {
    CURLM *multi;
    uv_loop_t *loop;
    uv_timer_t timer;
    pt_curl_done_cb cb;
    xfer_t *xfers; /* in flight: libcurl 7.88 cannot list a multi's handles */
};

typedef struct {
    uv_poll_t poll;
    curl_socket_t fd;
    pt_curl_loop_t *c;
} sock_t;

static void xfer_unlink(pt_curl_loop_t *c, xfer_t *x)
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

static void end_xfer(pt_curl_loop_t *c, xfer_t *x, CURLcode res)
{
    CURL *easy = x->easy;
    void *ud = x->ud;
    curl_multi_remove_handle(c->multi, easy);
    xfer_unlink(c, x);
    pt_free(x);
    c->cb(easy, res, ud);
}

static void drain(pt_curl_loop_t *c)
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
    pt_curl_loop_t *c = s->c;
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
    pt_curl_loop_t *c = userp;
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
    pt_curl_loop_t *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(c);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    pt_curl_loop_t *c = userp;
    PT_UNUSED(multi);
    if (timeout_ms < 0) {
        uv_timer_stop(&c->timer);
    } else {
        uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

int pt_curl_loop_create(uv_loop_t *loop, pt_curl_done_cb cb, pt_curl_loop_t **out)
{
    pt_curl_loop_t *c = pt_calloc(1, sizeof(*c));
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
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    *out = c;
    return 0;
}

CURLM *pt_curl_loop_multi(pt_curl_loop_t *c)
{
    return c->multi;
}

int pt_curl_loop_add(pt_curl_loop_t *c, CURL *easy, void *ud)
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

void pt_curl_loop_destroy(pt_curl_loop_t *c)
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

void pt_curl_post_setup(CURL *e, const pt_curl_post_t *o)
{
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body != NULL ? o->body : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, o->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, PT_MIN(o->timeout_ms, 10000L));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, o->on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, o->header_ud);
    if (o->on_body != NULL) {
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, o->on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, o->body_ud);
    }
    curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent);
    if (o->ca_file != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    }
    if (o->cert_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert_file);
    }
    if (o->key_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, o->key_file);
    }
    if (o->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}
