/*
 * portstack/http.h - a small HTTP/1.1 server (RFC 9110, RFC 9112) on the
 * socket API: persistent connections, pipelined requests answered in
 * order, chunked responses, static files from a directory, and built-in
 * pages that show the live socket table and the stack's counters
 * (/status as HTML, /status.json as JSON), and POST /echo, which answers
 * "N bytes, fnv1a64 HEX" for the body it read (so a client can check its
 * upload arrived byte-exact).
 *
 * Bounded everywhere: connections, request-head size, idle and
 * header-completion timeouts (a slow sender is cut off), and the response
 * buffer per connection.  Host-driven: ps_http_poll() at its deadline.
 */
#ifndef PORTSTACK_HTTP_H
#define PORTSTACK_HTTP_H

#include <sys/types.h>

#include "types.h"

struct ps_stack;
struct ps_http_server;

/* A byte-stream layer between the socket and the HTTP code of the server
 * and the client (TLS: portstack/tls.h), so the same HTTP code serves
 * plain and secure connections.  Without one, connections are plain TCP.
 * The socket stays the HTTP code's: it sets the readiness callback and
 * closes it; the layer only reads and writes through it. */
struct ps_http_transport {
    /* Take on socket fd (accepted, or connecting on the client; `host` is
     * the name the client wants, NULL on the server).  Returns the layer's
     * state for the connection, or NULL with *err set to refuse it. */
    void *(*open)(void *ctx, struct ps_stack *s, int fd, const char *host, int *err);
    /* As ps_send and ps_recv: bytes taken or read, 0 at the end of the
     * stream (recv), -EAGAIN to wait for the socket, or a negative errno. */
    ssize_t (*send)(void *conn, const void *buf, size_t len);
    ssize_t (*recv)(void *conn, void *buf, size_t len);
    /* End our side within the layer (TLS close_notify) before TCP's FIN:
     * 0 when done, -EAGAIN to call again when the socket is writable. */
    int (*shutdown)(void *conn);
    /* Forget the connection's state (the HTTP code closes the socket). */
    void (*close)(void *conn);
};

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
#ifndef PS_HTTP_MAX_BODY
#define PS_HTTP_MAX_BODY (1L << 20)  /* a POST /echo body, bytes; larger gets 413 */
#endif

struct ps_http_stats {
    uint64_t connections, requests, responses_2xx, responses_4xx, responses_5xx;
    uint64_t refused;        /* connections over PS_HTTP_MAX_CONN, or the transport's limit */
    uint64_t timeouts;       /* slow heads and idle connections cut */
    uint64_t bytes_out;
    uint64_t head_bytes_scanned; /* request-head bytes looked at: searched for the head's end
                                  * once however it arrives, then parsed once (so at most
                                  * about twice the head bytes received) */
};

/* Serve on port (0: 80) at addr (0: all).  docroot may be NULL (only the
 * built-in pages).  NULL with *err set on failure. */
struct ps_http_server *ps_http_start(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const char *docroot,
                                     int *err);

/* Time out what is due; returns the next deadline. */
ps_time_t ps_http_poll(struct ps_http_server *h, ps_time_t now);

/* Serve through transport t (with its ctx) from now on; call it right
 * after ps_http_start, before any connection comes in.  NULL: plain TCP. */
void ps_http_set_transport(struct ps_http_server *h, const struct ps_http_transport *t, void *ctx);

const struct ps_http_stats *ps_http_stats(const struct ps_http_server *h);
uint16_t ps_http_port(const struct ps_http_server *h);

/* Close every connection and the listener, and free the server. */
void ps_http_stop(struct ps_http_server *h);

#endif
