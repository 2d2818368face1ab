/*
 * portstack/http_client.h - an HTTP/1.1 client (RFC 9112) on the socket
 * API: GET and POST over one persistent connection to a server, requests
 * answered in order, bodies by Content-Length, chunked or close-delimited,
 * reconnecting when the server closed in between.  Bounded: one request in
 * flight, a response body of at most PS_HTTP_CLIENT_MAX_BODY bytes.
 */
#ifndef PORTSTACK_HTTP_CLIENT_H
#define PORTSTACK_HTTP_CLIENT_H

#include <stddef.h>

#include "http.h"
#include "types.h"

struct ps_stack;
struct ps_http_client;

#ifndef PS_HTTP_CLIENT_MAX_BODY
#define PS_HTTP_CLIENT_MAX_BODY (1u << 20) /* a larger body fails with -EMSGSIZE */
#endif
#ifndef PS_HTTP_CLIENT_MAX_REQUEST_BODY
#define PS_HTTP_CLIENT_MAX_REQUEST_BODY (4u << 20) /* a POST body, copied; larger: -EMSGSIZE */
#endif
#ifndef PS_HTTP_CLIENT_TIMEOUT_MS
#define PS_HTTP_CLIENT_TIMEOUT_MS 10000    /* per request */
#endif

struct ps_http_response {
    int err;             /* 0, or a negative errno (then the rest is empty) */
    int status;          /* 200, 404, ... */
    const char *body;    /* NUL-terminated for convenience */
    size_t body_len;
    bool reused;         /* sent on a connection kept from a previous request */
};

typedef void (*ps_http_response_fn)(void *ctx, const struct ps_http_response *r);

/* A client for the server at addr:port; `host` goes in the Host header. */
struct ps_http_client *ps_http_client_new(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const char *host);

/* Make connections through transport t (with its ctx; TLS: tls.h has
 * ps_https_client_new) from now on; a kept connection is closed.  NULL:
 * plain TCP. */
void ps_http_client_set_transport(struct ps_http_client *c, const struct ps_http_transport *t, void *ctx);

/* Send a request (method "GET" or "POST"; body only for POST, copied, sent
 * with Content-Length and Content-Type application/octet-stream).  One at
 * a time: -EBUSY while one is in flight; -EMSGSIZE for a body over
 * PS_HTTP_CLIENT_MAX_REQUEST_BODY.  A kept connection is reused unless the
 * server has closed it; a GET whose kept connection the server closes
 * without an answer is sent once more on a new one, a POST is not (it
 * fails with -ECONNRESET: the server may have acted on it).  fn runs when
 * the response is complete, or with err set on failure. */
int ps_http_request(struct ps_http_client *c, const char *method, const char *path, const void *body, size_t len,
                    ps_http_response_fn fn, void *ctx);

/* Time out what is due; returns the next deadline. */
ps_time_t ps_http_client_poll(struct ps_http_client *c, ps_time_t now);

/* Connections opened so far (1 if keep-alive held throughout). */
unsigned ps_http_client_connections(const struct ps_http_client *c);

void ps_http_client_free(struct ps_http_client *c);

#endif
