/*
 * The HTTP/1.1 client: one connection, one request at a time, the
 * response read into a bounded buffer and parsed as it arrives.
 */
#include <portstack/http_client.h>
#include <portstack/socket.h>
#include <portstack/stack.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apps/http_parse.h"

enum phase { IDLE, SENDING, HEAD, BODY_LEN, BODY_CHUNKED, BODY_CLOSE };

struct ps_http_client {
    struct ps_stack *s;
    ps_ip4_t addr;
    uint16_t port;
    char host[128];
    const struct ps_http_transport *tp; /* NULL: plain TCP */
    void *tp_ctx;
    void *tc;           /* the transport's state for this connection */
    int fd;
    bool connected, reused;
    bool retry_ok;      /* the request may be sent again (GET: idempotent) */
    unsigned connections;
    enum phase phase;
    ps_http_response_fn fn;
    void *ctx;
    ps_time_t deadline;
    char *req;          /* the request being sent */
    size_t req_len, req_off;
    char *in;           /* what has arrived */
    size_t in_len, in_cap;
    size_t head_len;    /* once the head is complete */
    int status;
    long content_length;
    bool close_after;
    char *body;
    size_t body_len;
    size_t chunk_left;  /* in BODY_CHUNKED, bytes left of the current chunk */
};

static void drop_conn(struct ps_http_client *c)
{
    /* Forget the socket before closing it: closing may report its last
     * events, and they are no longer ours. */
    int fd = c->fd;
    c->fd = -1;
    c->connected = false;
    if (c->tc) {
        c->tp->shutdown(c->tc); /* TLS close_notify, if the socket takes it now */
        c->tp->close(c->tc);
        c->tc = NULL;
    }
    if (fd >= 0) {
        ps_socket_set_callback(c->s, fd, NULL, NULL);
        ps_close(c->s, fd);
    }
}

static void finish(struct ps_http_client *c, int err)
{
    struct ps_http_response r = {.err = err, .reused = c->reused};
    if (!err) {
        r.status = c->status;
        c->body[c->body_len] = '\0';
        r.body = c->body;
        r.body_len = c->body_len;
    }
    c->phase = IDLE;
    if (err || c->close_after)
        drop_conn(c);
    free(c->req);
    c->req = NULL;
    /* What came after this response (nothing, with one request at a time)
     * is dropped with it. */
    c->in_len = 0;
    ps_http_response_fn fn = c->fn;
    c->fn = NULL;
    if (fn)
        fn(c->ctx, &r);
}

static bool body_add(struct ps_http_client *c, const char *d, size_t n)
{
    if (c->body_len + n > PS_HTTP_CLIENT_MAX_BODY)
        return false;
    memcpy(c->body + c->body_len, d, n);
    c->body_len += n;
    return true;
}

/* Parse the head in c->in once it is complete; bytes before `from` were
 * looked at before. */
static int parse_head(struct ps_http_client *c, size_t from)
{
    char *end = NULL;
    /* The head's end can only be in what just came (from on), or straddle
     * it: rescanning from 0 each time would cost a server sending its head
     * a byte at a time quadratic work. */
    for (size_t i = from > 3 ? from - 3 : 0; i + 3 < c->in_len; i++)
        if (!memcmp(c->in + i, "\r\n\r\n", 4)) {
            end = c->in + i;
            break;
        }
    if (!end)
        return c->in_len > 16384 ? -EPROTO : 1;
    *end = '\0';
    c->head_len = (size_t)(end - c->in) + 4;
    int minor;
    if (sscanf(c->in, "HTTP/1.%d %3d", &minor, &c->status) != 2 || c->status < 100)
        return -EPROTO;
    c->content_length = -1;
    bool chunked = false;
    c->close_after = minor == 0;
    /* Each field is read within its own line: a search running on to the
     * end of the head would cost a head of many such lines quadratic work,
     * and find "close" or a length in the next field. */
    for (char *line = strstr(c->in, "\r\n"), *eol; line; line = eol) {
        char *h = line + 2;
        eol = strstr(h, "\r\n"); /* NULL on the last line: the head ends in a NUL */
        size_t hl = eol ? (size_t)(eol - h) : strlen(h);
        if (!strncasecmp(h, "Content-Length:", 15)) {
            const char *v = h + 15; /* strtol would skip the line's end into the next */
            while (*v == ' ' || *v == '\t')
                v++;
            c->content_length = v < h + hl ? strtol(v, NULL, 10) : 0;
        } else if (!strncasecmp(h, "Transfer-Encoding:", 18) && http_has_token(h + 18, hl - 18, "chunked")) {
            chunked = true;
        } else if (!strncasecmp(h, "Connection:", 11) && http_has_token(h + 11, hl - 11, "close")) {
            c->close_after = true;
        }
    }
    c->phase = chunked ? BODY_CHUNKED : c->content_length >= 0 ? BODY_LEN : BODY_CLOSE;
    if (c->phase == BODY_CLOSE)
        c->close_after = true;
    /* The body bytes already here. */
    memmove(c->in, c->in + c->head_len, c->in_len - c->head_len);
    c->in_len -= c->head_len;
    c->chunk_left = 0;
    return 0;
}

/* Consume body bytes from c->in; returns 1 when the body is complete, 0
 * for more, negative on error. */
static int take_body(struct ps_http_client *c)
{
    if (c->phase == BODY_LEN || c->phase == BODY_CLOSE) {
        size_t n = c->in_len;
        if (c->phase == BODY_LEN && n > (size_t)c->content_length - c->body_len)
            n = (size_t)c->content_length - c->body_len;
        if (!body_add(c, c->in, n))
            return -EMSGSIZE;
        memmove(c->in, c->in + n, c->in_len - n);
        c->in_len -= n;
        return c->phase == BODY_LEN && c->body_len == (size_t)c->content_length;
    }
    for (;;) { /* chunked */
        if (c->chunk_left) {
            size_t n = c->in_len < c->chunk_left ? c->in_len : c->chunk_left;
            if (!body_add(c, c->in, n))
                return -EMSGSIZE;
            memmove(c->in, c->in + n, c->in_len - n);
            c->in_len -= n;
            c->chunk_left -= n;
            if (c->chunk_left)
                return 0;
            c->chunk_left = (size_t)-1; /* the CRLF after the data */
        }
        if (c->chunk_left == (size_t)-1) {
            if (c->in_len < 2)
                return 0;
            if (memcmp(c->in, "\r\n", 2))
                return -EPROTO;
            memmove(c->in, c->in + 2, c->in_len - 2);
            c->in_len -= 2;
            c->chunk_left = 0;
        }
        char *eol = NULL;
        for (size_t i = 0; i + 1 < c->in_len; i++)
            if (c->in[i] == '\r' && c->in[i + 1] == '\n') {
                eol = c->in + i;
                break;
            }
        if (!eol)
            return c->in_len > 64 ? -EPROTO : 0;
        /* 1*HEXDIG (RFC 9112 7.1), read no further than its line:
         * strtoul would skip leading white space, line ends included, into
         * what has not arrived. */
        char *e;
        *eol = '\0';
        unsigned long sz = strtoul(c->in, &e, 16);
        *eol = '\r';
        if (e == c->in || !isxdigit((unsigned char)c->in[0]))
            return -EPROTO;
        size_t used = (size_t)(eol - c->in) + 2;
        if (sz == 0) { /* the last chunk: skip the (empty) trailer */
            if (c->in_len < used + 2)
                return 0;
            c->in_len = 0;
            return 1;
        }
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        c->chunk_left = sz;
    }
}

static void on_event(void *ctx, int fd, short revents);

/* The connection's bytes, through the transport if there is one. */
static ssize_t conn_send(struct ps_http_client *c, const void *buf, size_t len)
{
    return c->tc ? c->tp->send(c->tc, buf, len) : ps_send(c->s, c->fd, buf, len, 0);
}

static ssize_t conn_recv(struct ps_http_client *c, void *buf, size_t len)
{
    return c->tc ? c->tp->recv(c->tc, buf, len) : ps_recv(c->s, c->fd, buf, len, 0);
}

/* A new connection to the server (and the transport on it); 0 or a
 * negative errno. */
static int open_conn(struct ps_http_client *c)
{
    drop_conn(c);
    c->fd = ps_socket(c->s, PS_SOCK_STREAM);
    if (c->fd < 0) {
        int err = c->fd;
        c->fd = -1;
        return err;
    }
    c->connections++;
    struct ps_sockaddr_in to = {c->addr, c->port};
    int rc = ps_connect(c->s, c->fd, &to);
    if (rc == -EINPROGRESS || rc == 0)
        rc = 0;
    if (rc == 0 && c->tp && !(c->tc = c->tp->open(c->tp_ctx, c->s, c->fd, c->host, &rc)))
        rc = rc < 0 ? rc : -ENOMEM;
    if (rc < 0) {
        drop_conn(c);
        return rc;
    }
    ps_socket_set_callback(c->s, c->fd, on_event, c);
    return 0;
}

static void pump(struct ps_http_client *c)
{
    while (c->phase == SENDING && c->connected && c->req_off < c->req_len) {
        ssize_t n = conn_send(c, c->req + c->req_off, c->req_len - c->req_off);
        if (n == -EAGAIN)
            return;
        if (n < 0) {
            finish(c, (int)n);
            return;
        }
        c->req_off += (size_t)n;
    }
    if (c->phase == SENDING && c->req_off == c->req_len)
        c->phase = HEAD;
    while (c->phase != IDLE && c->phase != SENDING) {
        if (c->in_len == c->in_cap) {
            finish(c, -EMSGSIZE);
            return;
        }
        ssize_t n = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
        if (n == -EAGAIN)
            return;
        if (n == 0 && c->phase == BODY_CLOSE) { /* the end of a close-delimited body */
            finish(c, 0);
            return;
        }
        if (n <= 0) {
            /* A kept connection the server closed as the request went: one
             * fresh try, for a request that may be repeated (RFC 9110
             * 9.2.2: not a POST, which the server may have acted on). */
            if (c->reused && c->retry_ok && c->phase == HEAD && c->in_len == 0) {
                c->reused = false;
                c->req_off = 0;
                c->phase = SENDING;
                if (open_conn(c) < 0)
                    finish(c, -ECONNRESET);
                return;
            }
            finish(c, n ? (int)n : -ECONNRESET);
            return;
        }
        c->in_len += (size_t)n;
        if (c->phase == HEAD) {
            int rc = parse_head(c, c->in_len - (size_t)n);
            if (rc < 0) {
                finish(c, rc);
                return;
            }
            if (rc > 0)
                continue;
        }
        int rc = take_body(c);
        if (rc < 0) {
            finish(c, rc);
            return;
        }
        if (rc > 0) {
            finish(c, 0);
            return;
        }
    }
}

static void on_event(void *ctx, int fd, short revents)
{
    struct ps_http_client *c = ctx;
    if (fd != c->fd)
        return;
    if (!c->connected && (revents & (PS_POLLOUT | PS_POLLERR | PS_POLLHUP))) {
        int err = 0;
        size_t len = sizeof(err);
        ps_getsockopt(c->s, fd, PS_SOL_SOCKET, PS_SO_ERROR, &err, &len);
        if (err || !(revents & PS_POLLOUT)) {
            finish(c, err ? -abs(err) : -ECONNREFUSED);
            return;
        }
        c->connected = true;
    }
    pump(c);
}

struct ps_http_client *ps_http_client_new(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const char *host)
{
    struct ps_http_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->in_cap = 32768;
    c->in = malloc(c->in_cap);
    c->body = malloc(PS_HTTP_CLIENT_MAX_BODY + 1);
    if (!c->in || !c->body) {
        ps_http_client_free(c);
        return NULL;
    }
    c->s = s;
    c->addr = addr;
    c->port = port;
    c->fd = -1;
    snprintf(c->host, sizeof(c->host), "%s", host ? host : "");
    return c;
}

/* Has the server closed the kept connection (its FIN or RST is here)? */
static bool peer_closed(struct ps_http_client *c)
{
    char b;
    ssize_t n = ps_recv(c->s, c->fd, &b, 1, PS_MSG_PEEK);
    return n == 0 || (n < 0 && n != -EAGAIN);
}

int ps_http_request(struct ps_http_client *c, const char *method, const char *path, const void *body, size_t len,
                    ps_http_response_fn fn, void *ctx)
{
    if (c->phase != IDLE)
        return -EBUSY;
    bool post = strcmp(method, "POST") == 0;
    if ((!post && strcmp(method, "GET") != 0) || !path || path[0] != '/')
        return -EINVAL;
    if (post && len > PS_HTTP_CLIENT_MAX_REQUEST_BODY)
        return -EMSGSIZE;
    size_t cap = strlen(path) + strlen(c->host) + 192 + (post ? len : 0);
    c->req = malloc(cap);
    if (!c->req)
        return -ENOMEM;
    int n = snprintf(c->req, cap, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: portstack\r\n", method, path, c->host);
    if (post)
        n += snprintf(c->req + n, cap - (size_t)n, "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n",
                      len);
    n += snprintf(c->req + n, cap - (size_t)n, "\r\n");
    if (post && len)
        memcpy(c->req + n, body, len);
    c->req_len = (size_t)n + (post ? len : 0);
    c->req_off = 0;
    c->fn = fn;
    c->ctx = ctx;
    c->body_len = 0;
    c->in_len = 0;
    c->phase = SENDING;
    c->deadline = ps_stack_now(c->s) + PS_MS(PS_HTTP_CLIENT_TIMEOUT_MS);
    if (c->connected && peer_closed(c))
        drop_conn(c); /* a kept connection the server has closed since: a new one */
    c->reused = c->connected;
    c->retry_ok = !post;
    if (!c->connected) {
        int rc = open_conn(c);
        if (rc < 0) {
            free(c->req);
            c->req = NULL;
            c->phase = IDLE;
        }
        return rc;
    }
    pump(c);
    return 0;
}

ps_time_t ps_http_client_poll(struct ps_http_client *c, ps_time_t now)
{
    if (c->phase == IDLE)
        return PS_TIME_NEVER;
    if (now >= c->deadline) {
        finish(c, -ETIMEDOUT);
        return PS_TIME_NEVER;
    }
    return c->deadline;
}

void ps_http_client_set_transport(struct ps_http_client *c, const struct ps_http_transport *t, void *ctx)
{
    drop_conn(c); /* a kept connection was made without it */
    c->tp = t;
    c->tp_ctx = ctx;
}

unsigned ps_http_client_connections(const struct ps_http_client *c)
{
    return c->connections;
}

void ps_http_client_free(struct ps_http_client *c)
{
    if (!c)
        return;
    drop_conn(c);
    free(c->req);
    free(c->in);
    free(c->body);
    free(c);
}
