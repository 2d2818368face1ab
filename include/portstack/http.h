/*
 * portstack/http.h - a small HTTP/1.1 server (RFC 9110, RFC 9112) on the
 * socket API: persistent connections, pipelined requests answered in
 * order, chunked responses, static files from a directory, and built-in
 * pages that show the live socket table and the stack's counters
 * (/status as HTML, /status.json as JSON).
 *
 * Bounded everywhere: connections, request-head size, idle and
 * header-completion timeouts (a slow sender is cut off), and the response
 * buffer per connection.  Host-driven: ps_http_poll() at its deadline.
 */
#ifndef PORTSTACK_HTTP_H
#define PORTSTACK_HTTP_H

#include "types.h"

struct ps_stack;
struct ps_http_server;

#ifndef PS_HTTP_MAX_CONN
#define PS_HTTP_MAX_CONN 32          /* connections served at once */
#endif
#ifndef PS_HTTP_MAX_HEAD
#define PS_HTTP_MAX_HEAD 8192        /* request line + headers, bytes */
#endif
#ifndef PS_HTTP_OUT_BUF
#define PS_HTTP_OUT_BUF 16384        /* response bytes buffered per connection */
#endif
#ifndef PS_HTTP_HEAD_TIMEOUT_MS
#define PS_HTTP_HEAD_TIMEOUT_MS 10000 /* a request head must complete in this */
#endif
#ifndef PS_HTTP_IDLE_TIMEOUT_MS
#define PS_HTTP_IDLE_TIMEOUT_MS 30000 /* an idle persistent connection closes */
#endif
#ifndef PS_HTTP_MAX_REQUESTS
#define PS_HTTP_MAX_REQUESTS 1000    /* requests per connection before close */
#endif

struct ps_http_stats {
    uint64_t connections, requests, responses_2xx, responses_4xx, responses_5xx;
    uint64_t refused;        /* connections over PS_HTTP_MAX_CONN */
    uint64_t timeouts;       /* slow heads and idle connections cut */
    uint64_t bytes_out;
};

/* Serve on port (0: 80) at addr (0: all).  docroot may be NULL (only the
 * built-in pages).  NULL with *err set on failure. */
struct ps_http_server *ps_http_start(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const char *docroot,
                                     int *err);

/* Time out what is due; returns the next deadline. */
ps_time_t ps_http_poll(struct ps_http_server *h, ps_time_t now);

const struct ps_http_stats *ps_http_stats(const struct ps_http_server *h);
uint16_t ps_http_port(const struct ps_http_server *h);

/* Close every connection and the listener, and free the server. */
void ps_http_stop(struct ps_http_server *h);

#endif
