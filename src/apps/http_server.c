/*
 * The HTTP/1.1 server: one listener, a bounded table of connections, each
 * a small state machine driven by its socket's readiness callback.
 *
 * Pipelining-safe by construction: a connection parses its next request
 * only when the previous response has been handed to TCP completely, so
 * responses leave in request order whatever the client sends at once.
 * Bodies are generated in pieces into a fixed per-connection buffer (a
 * file is read as TCP takes it; the status pages are produced row by row),
 * so a response of any size costs PS_HTTP_OUT_BUF bytes of memory.  A
 * POST /echo body is read as it comes, hashed and never stored, so it
 * costs no memory either (and is bounded by PS_HTTP_MAX_BODY).
 */
#include <portstack/http.h>
#include <portstack/services.h>
#include <portstack/socket.h>
#include <portstack/stack.h>
#include <portstack/stats.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apps/http_parse.h"

enum body_kind { BODY_NONE, BODY_FILE, BODY_STATUS_HTML, BODY_STATUS_JSON };

struct conn {
    bool used;
    int fd;
    struct ps_http_server *h;
    void *tc;            /* the transport's state (TLS), NULL for plain TCP */
    size_t in_len;
    size_t head_next;    /* where the search for the head's end resumes in in[] */
    size_t out_len, out_off;
    enum body_kind body;
    bool chunked;        /* the body goes out in chunks */
    bool close_after;    /* close once the response is out */
    FILE *file;
    long file_left;
    unsigned row;        /* next socket / counter row of a status page */
    int phase;           /* status page section */
    unsigned requests;
    ps_time_t deadline;  /* head timeout or idle timeout */
    bool progress;       /* bytes went out since the deadline was set */
    bool lingering;      /* FIN sent; reading the rest before closing */
    bool echo;           /* reading a POST /echo body: body_left bytes to go */
    bool post_only;      /* the target takes POST only (a 405 says so) */
    long body_left, body_len;
    uint64_t body_hash;  /* FNV-1a 64 of the body so far */
    /* The buffers last: a new connection clears everything before them. */
    char in[PS_HTTP_MAX_HEAD + 1];
    char out[PS_HTTP_OUT_BUF];
};

struct ps_http_server {
    struct ps_stack *s;
    int lfd;
    uint16_t port;
    char docroot[256];
    bool has_docroot;
    const struct ps_http_transport *tp; /* NULL: plain TCP */
    void *tp_ctx;
    struct ps_http_stats stats;
    struct conn conns[PS_HTTP_MAX_CONN];
};

static void conn_close(struct conn *c)
{
    if (!c->used)
        return;
    /* Free the slot before closing: closing may report the socket's last
     * events, and they are no longer this connection's. */
    c->used = false;
    if (c->file)
        fclose(c->file);
    c->file = NULL;
    if (c->tc) {
        c->h->tp->shutdown(c->tc); /* TLS close_notify, if the socket takes it now */
        c->h->tp->close(c->tc);
    }
    c->tc = NULL;
    ps_socket_set_callback(c->h->s, c->fd, NULL, NULL);
    ps_close(c->h->s, c->fd);
}

/* The connection's bytes, through the transport if there is one. */
static ssize_t conn_send(struct conn *c, const void *buf, size_t len)
{
    return c->tc ? c->h->tp->send(c->tc, buf, len) : ps_send(c->h->s, c->fd, buf, len, 0);
}

static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
    return c->tc ? c->h->tp->recv(c->tc, buf, len) : ps_recv(c->h->s, c->fd, buf, len, 0);
}

/* ---- output ------------------------------------------------------------------ */

static size_t out_room(const struct conn *c)
{
    return sizeof(c->out) - c->out_len;
}

static void out_printf(struct conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->out + c->out_len, out_room(c), fmt, ap);
    va_end(ap);
    if (n > 0)
        c->out_len += (size_t)n < out_room(c) ? (size_t)n : out_room(c) - 1;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

static void count_status(struct ps_http_server *h, int status)
{
    if (status < 300)
        h->stats.responses_2xx++;
    else if (status < 500)
        h->stats.responses_4xx++;
    else
        h->stats.responses_5xx++;
}

static void head(struct conn *c, int status, const char *type, long length, bool chunked)
{
    count_status(c->h, status);
    out_printf(c, "HTTP/1.1 %d %s\r\nServer: portstack\r\nContent-Type: %s\r\n", status, reason(status), type);
    if (chunked)
        out_printf(c, "Transfer-Encoding: chunked\r\n");
    else if (length >= 0)
        out_printf(c, "Content-Length: %ld\r\n", length);
    if (status == 405)
        out_printf(c, "Allow: %s\r\n", c->post_only ? "POST" : "GET, HEAD");
    out_printf(c, "%s\r\n", c->close_after ? "Connection: close\r\n" : "");
}

static void error_page(struct conn *c, int status, bool send_body)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "<h1>%d %s</h1>\n", status, reason(status));
    head(c, status, "text/html", n, false);
    if (send_body)
        out_printf(c, "%s", body);
}

/* ---- status pages: produced a piece at a time ---------------------------------- */

struct rows {
    struct conn *c;
    unsigned skip, done;
    bool json;
    char *buf;
    size_t len, cap;
};

static int emit_socket(void *ctx, const struct ps_sock_info *si)
{
    struct rows *r = ctx;
    if (r->skip) {
        r->skip--;
        return 0;
    }
    char l[PS_IP4_STRLEN], p[PS_IP4_STRLEN], line[256];
    const char *proto = si->type == PS_SOCK_STREAM ? "tcp" : "udp";
    int n;
    if (r->json)
        n = snprintf(line, sizeof(line),
                     "%s{\"proto\":\"%s\",\"state\":\"%s\",\"local\":\"%s:%u\",\"peer\":\"%s:%u\","
                     "\"recv_q\":%zu,\"send_q\":%zu}",
                     r->c->row ? ",\n" : "\n", proto, si->state, ps_ip4_ntoa(si->local.addr, l), si->local.port,
                     ps_ip4_ntoa(si->peer.addr, p), si->peer.port, si->recv_q, si->send_q);
    else
        n = snprintf(line, sizeof(line), "<tr><td>%s</td><td>%s</td><td>%s:%u</td><td>%s:%u</td><td>%zu</td><td>%zu</td></tr>\n",
                     proto, si->state, ps_ip4_ntoa(si->local.addr, l), si->local.port, ps_ip4_ntoa(si->peer.addr, p),
                     si->peer.port, si->recv_q, si->send_q);
    if (n < 0 || r->len + (size_t)n >= r->cap)
        return 1; /* no room: the rest comes in the next piece */
    memcpy(r->buf + r->len, line, (size_t)n);
    r->len += (size_t)n;
    r->c->row++;
    r->done++;
    return 0;
}

/* Fill buf with the next piece of a status page; returns its length, 0 at
 * the end. */
static size_t status_piece(struct conn *c, char *buf, size_t cap)
{
    struct ps_stack *s = c->h->s;
    bool json = c->body == BODY_STATUS_JSON;
    size_t len = 0;
    switch (c->phase) {
    case 0: /* header */
        if (json)
            len = (size_t)snprintf(buf, cap, "{\"stack\":\"%s\",\"time_us\":%llu,\"sockets\":[", ps_stack_name(s),
                                   (unsigned long long)ps_stack_now(s));
        else
            len = (size_t)snprintf(buf, cap,
                                   "<!doctype html><html><head><title>portstack %s</title></head><body>\n"
                                   "<h1>portstack: %s</h1>\n<h2>Sockets</h2>\n<table border=1>\n"
                                   "<tr><th>proto</th><th>state</th><th>local</th><th>peer</th><th>recv-q</th>"
                                   "<th>send-q</th></tr>\n",
                                   ps_stack_name(s), ps_stack_name(s));
        c->phase = 1;
        c->row = 0;
        return len;
    case 1: { /* the socket table, as many rows as fit */
        struct rows r = {.c = c, .skip = c->row, .json = json, .buf = buf, .cap = cap};
        ps_socket_foreach(s, emit_socket, &r);
        if (r.done)
            return r.len;
        c->phase = 2;
        c->row = 0;
        return (size_t)snprintf(buf, cap, json ? "\n],\"counters\":{" : "</table>\n<h2>Counters</h2>\n<table border=1>\n");
    }
    case 2: { /* counters */
        const struct ps_stats *st = ps_stack_stats(s);
        while (c->row < ps_stats_count()) {
            char line[160];
            int n = json ? snprintf(line, sizeof(line), "%s\n\"%s\":%llu", c->row ? "," : "", ps_stats_name(c->row),
                                    (unsigned long long)ps_stats_get(st, c->row))
                         : snprintf(line, sizeof(line), "<tr><td>%s</td><td>%llu</td><td>%s</td></tr>\n",
                                    ps_stats_name(c->row), (unsigned long long)ps_stats_get(st, c->row),
                                    ps_stats_desc(c->row));
            if (len + (size_t)n >= cap)
                break;
            memcpy(buf + len, line, (size_t)n);
            len += (size_t)n;
            c->row++;
        }
        if (c->row == ps_stats_count() && len + 32 < cap) {
            len += (size_t)snprintf(buf + len, cap - len, json ? "\n}}\n" : "</table></body></html>\n");
            c->phase = 3;
        }
        return len;
    }
    default:
        return 0;
    }
}

/* Refill the output buffer with the next part of the body. */
static void produce_body(struct conn *c)
{
    if (c->body == BODY_FILE) {
        size_t want = out_room(c);
        if ((long)want > c->file_left)
            want = (size_t)c->file_left;
        size_t n = want ? fread(c->out + c->out_len, 1, want, c->file) : 0;
        c->out_len += n;
        c->file_left -= (long)n;
        if (c->file_left == 0 || n == 0) {
            fclose(c->file);
            c->file = NULL;
            c->body = BODY_NONE;
            if (c->file_left)
                c->close_after = true; /* the file shrank under us: cut the connection */
        }
        return;
    }
    if (c->body != BODY_STATUS_HTML && c->body != BODY_STATUS_JSON)
        return;
    /* Room for the chunk size line and the trailing CRLF. */
    if (out_room(c) < 64)
        return;
    char *start = c->out + c->out_len + 10;
    size_t n = status_piece(c, start, out_room(c) - 16);
    if (!c->chunked) {
        memmove(c->out + c->out_len, start, n);
        c->out_len += n;
    } else if (n) {
        char sz[12];
        int k = snprintf(sz, sizeof(sz), "%zx\r\n", n);
        memmove(c->out + c->out_len + (size_t)k, start, n);
        memcpy(c->out + c->out_len, sz, (size_t)k);
        c->out_len += (size_t)k + n;
        memcpy(c->out + c->out_len, "\r\n", 2);
        c->out_len += 2;
    }
    if (c->phase == 3 && c->body != BODY_NONE) {
        if (c->chunked)
            out_printf(c, "0\r\n\r\n");
        c->body = BODY_NONE;
    }
}

/* ---- requests ------------------------------------------------------------------ */

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html"}, {".htm", "text/html"}, {".css", "text/css"},
                 {".js", "text/javascript"}, {".json", "application/json"}, {".txt", "text/plain"},
                 {".png", "image/png"}, {".jpg", "image/jpeg"}, {".svg", "image/svg+xml"}};
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* A path under the document root, or false for anything that could leave
 * it ("..", a backslash, an encoded byte). */
static bool map_path(const struct ps_http_server *h, const char *target, char *out, size_t outlen)
{
    char path[HTTP_MAX_TARGET];
    size_t n = strcspn(target, "?#");
    if (n == 0 || target[0] != '/' || n >= sizeof(path))
        return false;
    memcpy(path, target, n);
    path[n] = '\0';
    if (strstr(path, "/..") || strchr(path, '\\') || strchr(path, '%'))
        return false;
    const char *index = path[n - 1] == '/' ? "index.html" : "";
    int k = snprintf(out, outlen, "%s%s%s", h->docroot, path, index);
    return k > 0 && (size_t)k < outlen;
}

/* POST /echo: the body is read (and hashed) as it comes, and answered
 * with its length and FNV-1a 64 checksum, so a client can check that the
 * bytes it sent arrived exactly.  A body is bounded by PS_HTTP_MAX_BODY
 * (413 above it); a chunked one is refused with 411 (Content-Length
 * wanted), and either way the connection closes. */
static void start_echo(struct conn *c, const struct http_request *rq)
{
    if (rq->chunked || rq->content_length > PS_HTTP_MAX_BODY) {
        c->close_after = true;
        error_page(c, rq->chunked ? 411 : 413, true);
        return;
    }
    c->echo = true;
    c->body_left = rq->content_length > 0 ? rq->content_length : 0;
    c->body_len = c->body_left;
    c->body_hash = 0xcbf29ce484222325ULL;
}

/* Drop the first n bytes of c->in (a head, body bytes): what follows is
 * the start of something new, to be searched from its beginning. */
static void in_consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    c->in[c->in_len] = '\0';
    c->head_next = 0;
}

/* Hash the body bytes at the start of c->in.  Returns true once the body
 * is complete and its answer queued. */
static bool take_echo_body(struct conn *c)
{
    size_t n = c->in_len < (size_t)c->body_left ? c->in_len : (size_t)c->body_left;
    for (size_t i = 0; i < n; i++)
        c->body_hash = (c->body_hash ^ (uint8_t)c->in[i]) * 0x100000001b3ULL;
    in_consume(c, n);
    c->body_left -= (long)n;
    if (c->body_left > 0)
        return false;
    c->echo = false;
    char text[64];
    int k = snprintf(text, sizeof(text), "%ld bytes, fnv1a64 %016llx\n", c->body_len,
                     (unsigned long long)c->body_hash);
    head(c, 200, "text/plain", k, false);
    out_printf(c, "%s", text);
    return true;
}

static void respond(struct conn *c, const struct http_request *rq)
{
    struct ps_http_server *h = c->h;
    bool body = rq->method != HTTP_HEAD;
    h->stats.requests++;
    c->requests++;
    c->close_after = rq->conn_close || (rq->minor == 0 && !rq->conn_keep_alive) ||
                     c->requests >= PS_HTTP_MAX_REQUESTS;
    c->post_only = strncmp(rq->target, "/echo", 5) == 0 && strchr("?#", rq->target[5]);
    if (c->post_only && rq->method == HTTP_POST) {
        start_echo(c, rq);
        return;
    }
    if (rq->content_length > 0 || rq->chunked)
        c->close_after = true; /* a body we do not read: no next request can be found */
    if ((rq->method != HTTP_GET && rq->method != HTTP_HEAD) || c->post_only) {
        error_page(c, 405, body);
        return;
    }
    char target[HTTP_MAX_TARGET];
    snprintf(target, sizeof(target), "%.*s", (int)strcspn(rq->target, "?#"), rq->target);
    bool status_html = strcmp(target, "/status") == 0 || (strcmp(target, "/") == 0 && !h->has_docroot);
    if (status_html || strcmp(target, "/status.json") == 0) {
        /* HTTP/1.0 has no chunks: its body ends with the connection. */
        c->chunked = rq->minor >= 1;
        if (!c->chunked)
            c->close_after = true;
        head(c, 200, status_html ? "text/html; charset=utf-8" : "application/json", -1, c->chunked);
        if (body) {
            c->body = status_html ? BODY_STATUS_HTML : BODY_STATUS_JSON;
            c->phase = 0;
        }
        return;
    }
    char path[512];
    struct stat st;
    FILE *f = NULL;
    if (h->has_docroot && map_path(h, rq->target, path, sizeof(path)) && stat(path, &st) == 0 &&
        S_ISREG(st.st_mode))
        f = fopen(path, "rb");
    if (!f) {
        error_page(c, 404, body);
        return;
    }
    head(c, 200, content_type(path), (long)st.st_size, false);
    if (body && st.st_size > 0) {
        c->file = f;
        c->file_left = (long)st.st_size;
        c->body = BODY_FILE;
    } else {
        fclose(f);
    }
}

/* Parse the next request if a whole head is buffered.  Returns false when
 * more input is needed.  The search for the head's end resumes where it
 * stopped, and the head is parsed only once whole: re-parsing from the
 * start on every arrival would cost a head sent a byte at a time
 * quadratic work. */
static bool next_request(struct conn *c)
{
    struct http_request rq;
    size_t from = c->head_next, end = http_head_end(c->in, c->in_len, PS_HTTP_MAX_HEAD, &c->head_next);
    c->h->stats.head_bytes_scanned += c->head_next - from + end;
    if (!end && c->in_len < PS_HTTP_MAX_HEAD)
        return false;
    int rc = end ? http_parse_head(c->in, end, &rq) : HTTP_PARSE_TOO_LONG;
    if (rc != HTTP_PARSE_OK) {
        c->close_after = true;
        error_page(c, -rc, true);
        c->in_len = 0;
        c->head_next = 0;
        return true;
    }
    respond(c, &rq);
    in_consume(c, rq.head_len);
    return true;
}

/* ---- the connection's engine --------------------------------------------------- */

static void pump(struct conn *c)
{
    struct ps_stack *s = c->h->s;
    for (int guard = 0; guard < 64 && c->used; guard++) {
        /* 1. Out with what is buffered. */
        while (c->out_off < c->out_len) {
            ssize_t n = conn_send(c, c->out + c->out_off, c->out_len - c->out_off);
            if (n == -EAGAIN)
                return; /* POLLOUT will call again */
            if (n < 0) {
                conn_close(c);
                return;
            }
            c->out_off += (size_t)n;
            c->progress = true;
            c->h->stats.bytes_out += (uint64_t)n;
        }
        c->out_off = c->out_len = 0;
        /* 2. More of the current body, if any. */
        if (c->body != BODY_NONE) {
            produce_body(c);
            continue;
        }
        /* 2b. A request body to read first (POST /echo). */
        if (c->echo) {
            while (!take_echo_body(c)) {
                ssize_t n = conn_recv(c, c->in, PS_HTTP_MAX_HEAD); /* c->in is empty here */
                if (n == -EAGAIN)
                    return;
                if (n <= 0) {
                    conn_close(c);
                    return;
                }
                c->in_len = (size_t)n;
                c->in[n] = '\0';
                c->deadline = ps_stack_now(s) + PS_MS(PS_HTTP_HEAD_TIMEOUT_MS); /* the body must keep coming */
            }
            continue;
        }
        /* 3. The response is out.  A connection to close first sends its
         * FIN and reads what the client still sends (a request body we did
         * not want): closing with unread data would reset the connection
         * and could destroy the response in flight (RFC 9112 9.6). */
        if (c->close_after) {
            if (!c->lingering) {
                int rc = c->tc ? c->h->tp->shutdown(c->tc) : 0; /* TLS: close_notify first */
                if (rc == -EAGAIN)
                    return;
                if (rc < 0) {
                    conn_close(c);
                    return;
                }
                c->lingering = true;
                ps_shutdown(s, c->fd, PS_SHUT_WR);
                c->deadline = ps_stack_now(s) + PS_MS(PS_HTTP_HEAD_TIMEOUT_MS);
            }
            char sink[512];
            ssize_t n; /* raw, under any transport: these bytes are only drained */
            while ((n = ps_recv(s, c->fd, sink, sizeof(sink), 0)) > 0)
                ;
            if (n != -EAGAIN)
                conn_close(c);
            return;
        }
        /* 4. The next request, from what is buffered or the socket. */
        if (next_request(c)) {
            c->deadline = ps_stack_now(s) + PS_MS(PS_HTTP_IDLE_TIMEOUT_MS);
            continue;
        }
        if (c->in_len >= PS_HTTP_MAX_HEAD) {
            c->close_after = true;
            error_page(c, 431, true);
            continue;
        }
        ssize_t n = conn_recv(c, c->in + c->in_len, PS_HTTP_MAX_HEAD - c->in_len);
        if (n == -EAGAIN)
            return;
        if (n <= 0) { /* the client is done (or gone) */
            conn_close(c);
            return;
        }
        if (c->in_len == 0) /* a new head starts: it must complete in time */
            c->deadline = ps_stack_now(s) + PS_MS(PS_HTTP_HEAD_TIMEOUT_MS);
        c->in_len += (size_t)n;
        c->in[c->in_len] = '\0';
    }
}

static void on_conn(void *ctx, int fd, short revents)
{
    struct conn *c = ctx;
    (void)fd;
    if (revents & (PS_POLLERR | PS_POLLNVAL)) {
        conn_close(c);
        return;
    }
    pump(c);
}

static void on_listen(void *ctx, int fd, short revents)
{
    struct ps_http_server *h = ctx;
    if (!(revents & PS_POLLIN))
        return;
    for (;;) {
        struct ps_sockaddr_in peer;
        int cfd = ps_accept(h->s, fd, &peer);
        if (cfd < 0)
            return;
        struct conn *c = NULL;
        for (unsigned i = 0; i < PS_HTTP_MAX_CONN && !c; i++)
            if (!h->conns[i].used)
                c = &h->conns[i];
        if (!c && h->tp) { /* full, and no plain text on a TLS port */
            h->stats.refused++;
            ps_close(h->s, cfd);
            continue;
        }
        if (!c) { /* full: say so briefly and close */
            h->stats.refused++;
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";
            ps_send(h->s, cfd, busy, sizeof(busy) - 1, 0);
            count_status(h, 503);
            ps_close(h->s, cfd);
            continue;
        }
        void *tc = NULL;
        int err;
        if (h->tp && !(tc = h->tp->open(h->tp_ctx, h->s, cfd, NULL, &err))) {
            h->stats.refused++; /* the transport's own limit (TLS sessions) */
            ps_close(h->s, cfd);
            continue;
        }
        memset(c, 0, offsetof(struct conn, in));
        c->tc = tc;
        c->used = true;
        c->fd = cfd;
        c->h = h;
        c->in[0] = '\0';
        c->deadline = ps_stack_now(h->s) + PS_MS(PS_HTTP_HEAD_TIMEOUT_MS);
        h->stats.connections++;
        ps_setsockopt(h->s, cfd, PS_IPPROTO_TCP, PS_TCP_NODELAY, &(int){1}, sizeof(int));
        ps_socket_set_callback(h->s, cfd, on_conn, c);
        pump(c);
    }
}

struct ps_http_server *ps_http_start(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const char *docroot, int *err)
{
    struct ps_http_server *h = calloc(1, sizeof(*h));
    if (!h) {
        *err = -ENOMEM;
        return NULL;
    }
    h->s = s;
    h->port = port ? port : 80;
    if (docroot && *docroot) {
        if (strlen(docroot) >= sizeof(h->docroot)) {
            free(h);
            *err = -ENAMETOOLONG;
            return NULL;
        }
        strcpy(h->docroot, docroot);
        h->has_docroot = true;
    }
    h->lfd = ps_socket(s, PS_SOCK_STREAM);
    int one = 1;
    struct ps_sockaddr_in a = {.addr = addr, .port = h->port};
    int rc = h->lfd;
    if (rc >= 0)
        rc = ps_setsockopt(s, h->lfd, PS_SOL_SOCKET, PS_SO_REUSEADDR, &one, sizeof(one));
    if (rc >= 0)
        rc = ps_bind(s, h->lfd, &a);
    if (rc >= 0)
        rc = ps_listen(s, h->lfd, PS_HTTP_MAX_CONN);
    if (rc >= 0)
        rc = ps_socket_set_callback(s, h->lfd, on_listen, h);
    if (rc < 0) {
        if (h->lfd >= 0)
            ps_close(s, h->lfd);
        free(h);
        *err = rc;
        return NULL;
    }
    *err = 0;
    return h;
}

ps_time_t ps_http_poll(struct ps_http_server *h, ps_time_t now)
{
    ps_time_t next = PS_TIME_NEVER;
    for (unsigned i = 0; i < PS_HTTP_MAX_CONN; i++) {
        struct conn *c = &h->conns[i];
        if (!c->used)
            continue;
        bool responding = c->out_len > c->out_off || c->body != BODY_NONE;
        if (now >= c->deadline && responding && c->progress) {
            /* A long response still moving: it may take its time.  One that
             * stopped (a zero window held open) is cut below. */
            c->progress = false;
            c->deadline = now + PS_MS(PS_HTTP_IDLE_TIMEOUT_MS);
        } else if (now >= c->deadline && c->lingering) {
            conn_close(c);
        } else if (now >= c->deadline) {
            h->stats.timeouts++;
            if ((c->in_len > 0 || c->echo) && !responding) {
                c->echo = false; /* a body that stopped coming, too */
                /* A head that never completed (slowloris): 408, then close. */
                c->close_after = true;
                c->in_len = 0;
                c->head_next = 0;
                error_page(c, 408, true);
                pump(c);
            } else {
                conn_close(c);
            }
            if (c->used)
                c->deadline = now + PS_MS(PS_HTTP_HEAD_TIMEOUT_MS);
        }
        if (c->used && c->deadline < next)
            next = c->deadline;
    }
    return next;
}

void ps_http_set_transport(struct ps_http_server *h, const struct ps_http_transport *t, void *ctx)
{
    h->tp = t;
    h->tp_ctx = ctx;
}

const struct ps_http_stats *ps_http_stats(const struct ps_http_server *h)
{
    return &h->stats;
}

uint16_t ps_http_port(const struct ps_http_server *h)
{
    return h->port;
}

void ps_http_stop(struct ps_http_server *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < PS_HTTP_MAX_CONN; i++)
        conn_close(&h->conns[i]);
    ps_close(h->s, h->lfd);
    free(h);
}
