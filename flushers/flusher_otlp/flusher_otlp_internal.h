/* Private to flusher_otlp: libcurl's multi interface driven by the sender loop (curl_loop.c),
 * for its OTLP/HTTP requests. Everything runs on the sender loop. */
#ifndef PT_FLUSHER_OTLP_INTERNAL_H
#define PT_FLUSHER_OTLP_INTERNAL_H

#include <curl/curl.h>
#include <uv.h>

typedef struct otlp_curl_s otlp_curl_t;

/* Called on the loop when a transfer ends (res is CURLE_OK or the error); the easy handle is
 * removed from the multi but not cleaned up: the callback owns it. */
typedef void (*otlp_curl_done_cb)(CURL *easy, CURLcode res, void *ud);

/* Creates the multi and its timer on loop. Returns 0 or -ENOMEM. */
int otlp_curl_create(uv_loop_t *loop, otlp_curl_done_cb cb, otlp_curl_t **out);
/* Starts a transfer; ud comes back to the callback. Returns 0 or -EIO (nothing started). */
int otlp_curl_add(otlp_curl_t *c, CURL *easy, void *ud);
/* Ends every transfer at once (the callback runs for each with CURLE_ABORTED_BY_CALLBACK), then
 * frees the multi; the struct goes with its timer's close callback. */
void otlp_curl_destroy(otlp_curl_t *c);

#endif
