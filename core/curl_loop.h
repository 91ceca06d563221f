/* libcurl's multi interface on a libuv loop, for flushers that send over libcurl: the loop
 * watches the sockets and the timeout curl asks for and hands each finished transfer to the
 * owner's callback. One per sender loop and flusher instance. */
#ifndef PT_CURL_LOOP_H
#define PT_CURL_LOOP_H

#include <curl/curl.h>
#include <uv.h>

/* Owned by its creator; created, used and destroyed on one loop's thread. */
typedef struct pt_curl_loop_s pt_curl_loop_t;

/* Called on the loop when a transfer ends (res is CURLE_OK or the error); the easy handle is
 * already removed from the multi but not cleaned up: the callback owns it. The easy handle's
 * CURLOPT_PRIVATE belongs to the loop: use ud instead. */
typedef void (*pt_curl_done_cb)(CURL *easy, CURLcode res, void *ud);

/* Creates the multi and its timer on loop (call on loop's thread). Returns 0 or -ENOMEM. */
int pt_curl_loop_create(uv_loop_t *loop, pt_curl_done_cb cb, pt_curl_loop_t **out);
/* The multi handle, for the caller's own curl_multi_setopt (e.g. CURLMOPT_PIPELINING) right
 * after create; the socket and timer options are the loop's. Valid until destroy. */
CURLM *pt_curl_loop_multi(pt_curl_loop_t *c);
/* Starts a transfer; ud comes back to the callback, which never runs from inside this call.
 * Returns 0, or -EIO (nothing started, no callback; the caller still owns easy). */
int pt_curl_loop_add(pt_curl_loop_t *c, CURL *easy, void *ud);
/* What a flusher's POST request needs; pt_curl_post_setup applies it to an easy handle. */
typedef struct pt_curl_post_s {
    const char *url;
    const void *body; /* not copied: must live until the transfer ends */
    size_t len;
    struct curl_slist *headers;
    long timeout_ms; /* the whole transfer; connecting takes at most 10 s of it */
    const char *user_agent;
    curl_write_callback on_header; /* with header_ud */
    void *header_ud;
    curl_write_callback on_body; /* with body_ud (NULL: libcurl's default) */
    void *body_ud;
    const char *ca_file; /* TLS; NULL: libcurl's defaults */
    const char *cert_file;
    const char *key_file;
    int insecure; /* no peer or host verification */
} pt_curl_post_t;

/* Sets easy up for one POST as o says. Any thread. */
void pt_curl_post_setup(CURL *easy, const pt_curl_post_t *o);

/* Ends every transfer at once (the callback runs for each, from inside this call, with
 * CURLE_ABORTED_BY_CALLBACK), then frees the multi; the struct goes with its timer's close
 * callback. NULL is ignored. */
void pt_curl_loop_destroy(pt_curl_loop_t *c);

#endif
