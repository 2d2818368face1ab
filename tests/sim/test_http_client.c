/*
 * The HTTP client against portstack's own HTTP server on the simulated
 * wire: GET of a file (Content-Length) and of the chunked status page,
 * 404, several requests on one kept connection, POST refused with 405 and
 * the connection closed then reopened, a server that went away.  POST to
 * the server's /echo endpoint, which answers with the length and FNV-1a
 * checksum of the body it read: bodies of several sizes (empty, one
 * segment, many) on one kept connection between GETs, 405 for GET /echo,
 * 413 above PS_HTTP_MAX_BODY, 411 for a chunked body, a body and the next
 * request in one write answered in order, and a kept connection the
 * server closed while idle replaced before a POST is sent on it.  A
 * scripted server that closes a kept connection as a request comes: a GET
 * is sent again, a POST is not.  A response head of some 16 KB sent a byte
 * per segment, its fields read each within its own line (a "close" in a
 * later field does not end the kept connection).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <portstack/http.h>
#include <portstack/http_client.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "stream_data.h"
#include "test.h"

#define SRV PS_IP4(192, 0, 2, 80)

struct got {
    int calls, err, status;
    size_t len;
    bool reused;
    char body[200000];
};

static void on_response(void *ctx, const struct ps_http_response *r)
{
    struct got *g = ctx;
    g->calls++;
    g->err = r->err;
    g->status = r->status;
    g->len = r->body_len;
    g->reused = r->reused;
    if (r->body && r->body_len < sizeof(g->body))
        memcpy(g->body, r->body, r->body_len + 1);
}

static ps_time_t server_poll(void *ctx, ps_time_t now)
{
    ps_time_t n = ps_http_poll(ctx, now);
    return n < now + PS_MS(100) ? n : now + PS_MS(100);
}

static struct got g;

/* A client host and a server host on one link; the server serves docroot
 * (NULL: the built-in pages only) on port, the client is made for it. */
struct world {
    struct ps_sim *sim;
    struct ps_stack *c, *s;
    struct ps_http_server *h;
    struct ps_http_client *hc;
};

static void world_new(struct world *w, uint64_t seed, uint16_t port, const char *docroot)
{
    w->sim = ps_sim_new(seed, 0);
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    struct ps_sim_link *l = ps_sim_link_new(w->sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 2 * seed;
    w->c = ps_stack_new(&cfg, 0);
    cfg.seed = 2 * seed + 1;
    w->s = ps_stack_new(&cfg, 0);
    struct ps_iface *ci = ps_sim_attach(l, w->c, "eth0", NULL, 1500), *si = ps_sim_attach(l, w->s, "eth0", NULL, 1500);
    REQUIRE(ci && si && ps_iface_add_addr(ci, PS_IP4(192, 0, 2, 10), 24) == 0 && ps_iface_add_addr(si, SRV, 24) == 0);
    int err;
    w->h = ps_http_start(w->s, 0, port, docroot, &err);
    REQUIRE(w->h);
    ps_sim_add_poller(w->sim, server_poll, w->h);
    w->hc = ps_http_client_new(w->c, SRV, port, "camera.example");
    REQUIRE(w->hc);
    memset(&g, 0, sizeof(g));
}

static void world_stop_server(struct world *w)
{
    if (!w->h)
        return;
    ps_sim_remove_poller(w->sim, server_poll, w->h);
    ps_http_stop(w->h);
    w->h = NULL;
}

/* Free it all, once every buffer of the client's is back in its pool. */
static void world_free(struct world *w)
{
    ps_http_client_free(w->hc);
    world_stop_server(w);
    ps_sim_run_for(w->sim, PS_SEC(700));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(w->c, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(w->sim);
    ps_stack_free(w->c);
    ps_stack_free(w->s);
}

TEST(get_post_keepalive)
{
    char dir[64], cmd[300];
    snprintf(dir, sizeof(dir), "/tmp/ps-httpc-%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "mkdir -p %s && head -c 150000 /dev/zero | tr '\\0' 'z' > %s/f.txt", dir, dir);
    REQUIRE(system(cmd) == 0);
    struct world w;
    world_new(&w, 6, 8080, dir);
    struct ps_sim *sim = w.sim;
    struct ps_http_client *hc = w.hc;

    CHECK_EQ(ps_http_request(hc, "GET", "/f.txt", NULL, 0, on_response, &g), 0);
    CHECK_EQ(ps_http_request(hc, "GET", "/f.txt", NULL, 0, on_response, &g), -EBUSY);
    ps_sim_run_for(sim, PS_MS(500));
    CHECK_EQ(g.calls, 1);
    CHECK_EQ(g.err, 0);
    CHECK_EQ(g.status, 200);
    CHECK_EQ(g.len, 150000);
    CHECK_EQ(strspn(g.body, "z"), 150000);
    CHECK(!g.reused);
    /* Chunked, on the same connection. */
    CHECK_EQ(ps_http_request(hc, "GET", "/status.json", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(sim, PS_MS(300));
    CHECK_EQ(g.calls, 2);
    CHECK_EQ(g.status, 200);
    CHECK(g.reused);
    CHECK(strstr(g.body, "\"sockets\":[") != NULL && g.body[g.len - 2] == '}');
    CHECK(strstr(g.body, "\"local\":\"0.0.0.0:8080\"") != NULL);
    CHECK_EQ(ps_http_request(hc, "GET", "/none", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(sim, PS_MS(300));
    CHECK_EQ(g.status, 404);
    CHECK_EQ(ps_http_client_connections(hc), 1); /* all three on one connection */
    /* POST: this server answers 405 and closes; the next GET reconnects. */
    CHECK_EQ(ps_http_request(hc, "POST", "/upload", "abc", 3, on_response, &g), 0);
    ps_sim_run_for(sim, PS_MS(300));
    CHECK_EQ(g.status, 405);
    CHECK_EQ(ps_http_request(hc, "GET", "/f.txt", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(sim, PS_MS(500));
    CHECK_EQ(g.status, 200);
    CHECK_EQ(ps_http_client_connections(hc), 2);
    /* The server goes away: the next request fails cleanly. */
    world_stop_server(&w);
    ps_sim_run_for(sim, PS_MS(100));
    int calls = g.calls;
    if (ps_http_request(hc, "GET", "/f.txt", NULL, 0, on_response, &g) == 0) {
        ps_sim_run_for(sim, PS_SEC(15));
        for (int i = 0; i < 200 && g.calls == calls; i++) {
            ps_http_client_poll(hc, ps_sim_now(sim));
            ps_sim_run_for(sim, PS_MS(100));
        }
        CHECK_EQ(g.calls, calls + 1);
        CHECK(g.err < 0);
    }
    world_free(&w);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* The /echo answer for `len` bytes of stream data `seed`. */
static void echo_text(uint32_t seed, size_t len, char *out, size_t outlen)
{
    uint8_t buf[4096];
    uint64_t h = FNV_INIT;
    for (size_t pos = 0; pos < len; pos += sizeof(buf)) {
        size_t n = len - pos < sizeof(buf) ? len - pos : sizeof(buf);
        gen(seed, pos, buf, n);
        h = fnv1a(h, buf, n);
    }
    snprintf(out, outlen, "%zu bytes, fnv1a64 %016llx\n", len, (unsigned long long)h);
}

static uint8_t upload[PS_HTTP_MAX_BODY + 1];

/* POST `len` bytes of stream `seed` to /echo; the answer is in g. */
static void post_echo(struct ps_sim *sim, struct ps_http_client *hc, uint32_t seed, size_t len)
{
    gen(seed, 0, upload, len);
    int calls = g.calls;
    CHECK_EQ(ps_http_request(hc, "POST", "/echo", upload, len, on_response, &g), 0);
    for (int i = 0; i < 100 && g.calls == calls; i++)
        ps_sim_run_for(sim, PS_MS(100));
    CHECK_EQ(g.calls, calls + 1);
}

/* Send req on a new connection from the client host, and read what comes
 * back until the server closes (or 2 s pass) into out, NUL-terminated. */
static void raw_exchange(struct world *w, const char *req, char *out, size_t cap)
{
    int fd = ps_socket(w->c, PS_SOCK_STREAM);
    struct ps_sockaddr_in to = {SRV, ps_http_port(w->h)};
    REQUIRE(fd >= 0 && ps_connect(w->c, fd, &to) == -EINPROGRESS);
    ps_sim_run_for(w->sim, PS_MS(20));
    REQUIRE(ps_send(w->c, fd, req, strlen(req), 0) == (ssize_t)strlen(req));
    size_t len = 0;
    for (int i = 0; i < 20; i++) {
        ps_sim_run_for(w->sim, PS_MS(100));
        ssize_t n = -EAGAIN;
        while (len + 1 < cap && (n = ps_recv(w->c, fd, out + len, cap - 1 - len, 0)) > 0)
            len += (size_t)n;
        if (n == 0)
            break;
    }
    out[len] = '\0';
    ps_close(w->c, fd);
}

TEST(post_echo_keepalive)
{
    struct world w;
    world_new(&w, 7, 80, NULL);
    struct ps_sim *sim = w.sim;
    struct ps_http_client *hc = w.hc;
    char want[64];

    /* Bodies of several sizes and a GET between them, all on one connection. */
    static const size_t sizes[] = {0, 1, 1000, 1460, 70000, PS_HTTP_MAX_BODY};
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        post_echo(sim, hc, 100 + i, sizes[i]);
        echo_text(100 + i, sizes[i], want, sizeof(want));
        CHECK_EQ(g.err, 0);
        CHECK_EQ(g.status, 200);
        CHECK(strcmp(g.body, want) == 0);
        CHECK_EQ(g.reused, i > 0);
        if (i == 2) {
            CHECK_EQ(ps_http_request(hc, "GET", "/status.json", NULL, 0, on_response, &g), 0);
            ps_sim_run_for(sim, PS_MS(300));
            CHECK_EQ(g.status, 200);
            CHECK(g.reused);
        }
    }
    CHECK_EQ(ps_http_client_connections(hc), 1);
    CHECK_EQ(ps_http_stats(w.h)->connections, 1);

    /* GET /echo: 405, saying POST is what it takes; the connection stays. */
    CHECK_EQ(ps_http_request(hc, "GET", "/echo", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(sim, PS_MS(300));
    CHECK_EQ(g.status, 405);
    CHECK_EQ(ps_http_client_connections(hc), 1);

    /* Idle past the server's timeout: it closes; the next POST goes on a
     * new connection, not on the dead one. */
    ps_sim_run_for(sim, PS_MS(PS_HTTP_IDLE_TIMEOUT_MS + 1000));
    post_echo(sim, hc, 7, 3000);
    echo_text(7, 3000, want, sizeof(want));
    CHECK_EQ(g.err, 0);
    CHECK(strcmp(g.body, want) == 0);
    CHECK(!g.reused);
    CHECK_EQ(ps_http_client_connections(hc), 2);

    /* One byte over the bound: 413, and the server closes. */
    post_echo(sim, hc, 8, PS_HTTP_MAX_BODY + 1);
    CHECK_EQ(g.err, 0);
    CHECK_EQ(g.status, 413);
    post_echo(sim, hc, 9, 10);
    echo_text(9, 10, want, sizeof(want));
    CHECK(strcmp(g.body, want) == 0);
    CHECK_EQ(ps_http_client_connections(hc), 3);
    CHECK_EQ(ps_http_request(hc, "POST", "/echo", upload, PS_HTTP_CLIENT_MAX_REQUEST_BODY + 1, on_response, &g),
             -EMSGSIZE);

    /* Raw requests: a POST body and the next request in one write are
     * answered in order (the body is read, not taken for a request); a
     * chunked body gets 411. */
    char out[4096];
    raw_exchange(&w, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                     "GET /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
                 out, sizeof(out));
    char *second = strstr(out, "\r\n\r\n5 bytes, fnv1a64 a430d84680aabd0b\n");
    CHECK(strncmp(out, "HTTP/1.1 200 ", 13) == 0 && second);
    CHECK(second && strstr(second, "HTTP/1.1 405 ") && strstr(second, "Allow: POST\r\n"));
    raw_exchange(&w, "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                 out, sizeof(out));
    CHECK(strncmp(out, "HTTP/1.1 411 ", 13) == 0);
    world_free(&w);
}

/* A scripted server that answers the first request of each connection and
 * closes the connection, unanswered, at the second: what a server whose
 * keep-alive timer ran out as the request came would do. */
struct once_server {
    struct ps_stack *s;
    unsigned requests, connections;
    int fds[8];
    unsigned served[8];
};

static void on_once_conn(void *ctx, int fd, short ev)
{
    struct once_server *o = ctx;
    (void)ev;
    unsigned k = 0;
    while (k < 8 && o->fds[k] != fd)
        k++;
    if (k == 8)
        return;
    char buf[2048];
    ssize_t n;
    while ((n = ps_recv(o->s, fd, buf, sizeof(buf), 0)) > 0) {
        o->requests++; /* each request here fits one read */
        if (o->served[k]++ == 0) {
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            ps_send(o->s, fd, ok, sizeof(ok) - 1, 0);
            continue;
        }
        break;
    }
    if (n != -EAGAIN) {
        ps_socket_set_callback(o->s, fd, NULL, NULL);
        ps_close(o->s, fd);
        o->fds[k] = -1;
    }
}

static void on_once_listen(void *ctx, int lfd, short ev)
{
    struct once_server *o = ctx;
    (void)ev;
    int fd;
    while ((fd = ps_accept(o->s, lfd, NULL)) >= 0) {
        unsigned k = o->connections++ % 8;
        o->fds[k] = fd;
        o->served[k] = 0;
        ps_socket_set_callback(o->s, fd, on_once_conn, o);
        on_once_conn(o, fd, PS_POLLIN);
    }
}

/* The server closes a kept connection at the next request: a GET is sent
 * again on a new connection, a POST is not (the server might have acted
 * on it) and fails with ECONNRESET (RFC 9110 9.2.2). */
TEST(only_idempotent_requests_retried)
{
    struct world w;
    world_new(&w, 8, 80, NULL);
    struct once_server o = {.s = w.s};
    for (unsigned k = 0; k < 8; k++)
        o.fds[k] = -1;
    int lfd = ps_socket(w.s, PS_SOCK_STREAM);
    struct ps_sockaddr_in a = {0, 8081};
    REQUIRE(ps_bind(w.s, lfd, &a) == 0 && ps_listen(w.s, lfd, 4) == 0);
    ps_socket_set_callback(w.s, lfd, on_once_listen, &o);
    struct ps_http_client *hc = ps_http_client_new(w.c, SRV, 8081, "camera.example");
    REQUIRE(hc);
    CHECK_EQ(ps_http_request(hc, "GET", "/a", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(w.sim, PS_MS(200));
    CHECK_EQ(g.status, 200);
    CHECK_EQ(ps_http_request(hc, "GET", "/b", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(w.sim, PS_MS(300));
    CHECK_EQ(g.calls, 2);
    CHECK_EQ(g.err, 0);
    CHECK_EQ(g.status, 200);
    CHECK(!g.reused); /* answered on the second connection */
    CHECK_EQ(o.connections, 2);
    CHECK_EQ(o.requests, 3);
    CHECK_EQ(ps_http_request(hc, "POST", "/c", "x", 1, on_response, &g), 0);
    ps_sim_run_for(w.sim, PS_MS(300));
    CHECK_EQ(g.calls, 3);
    CHECK_EQ(g.err, -ECONNRESET);
    CHECK_EQ(o.connections, 2); /* not sent again */
    CHECK_EQ(o.requests, 4);
    ps_http_client_free(hc);
    ps_close(w.s, lfd);
    world_free(&w);
}

/* A response head near the client's 16 KB bound, a byte per segment:
 * read right, and each field within its own line. */
TEST(response_head_a_byte_at_a_time)
{
    struct world w;
    world_new(&w, 9, 80, NULL);
    int lfd = ps_socket(w.s, PS_SOCK_STREAM);
    struct ps_sockaddr_in a = {0, 8082};
    REQUIRE(ps_bind(w.s, lfd, &a) == 0 && ps_listen(w.s, lfd, 4) == 0);
    struct ps_http_client *hc = ps_http_client_new(w.c, SRV, 8082, "camera.example");
    REQUIRE(hc);
    CHECK_EQ(ps_http_request(hc, "GET", "/big", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(w.sim, PS_MS(50));
    int fd = ps_accept(w.s, lfd, NULL);
    REQUIRE(fd >= 0);
    REQUIRE(ps_setsockopt(w.s, fd, PS_IPPROTO_TCP, PS_TCP_NODELAY, &(int){1}, sizeof(int)) == 0);
    char req[2048];
    CHECK(ps_recv(w.s, fd, req, sizeof(req), 0) > 0);
    static char head[16384];
    size_t n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
                                                     "X-Note: closed on Sundays\r\n");
    for (int i = 0; n < sizeof(head) - 100; i++)
        n += (size_t)snprintf(head + n, sizeof(head) - n, "X-Pad-%05d: padding padding\r\n", i);
    n += (size_t)snprintf(head + n, sizeof(head) - n, "Content-Length: 5\r\n\r\nhello");
    uint64_t segs = ps_stack_stats(w.s)->tcp_tx;
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(ps_send(w.s, fd, head + i, 1, 0), 1);
        ps_sim_run_for(w.sim, PS_US(200));
    }
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK(ps_stack_stats(w.s)->tcp_tx - segs >= n); /* it really came a byte at a time */
    CHECK_EQ(g.calls, 1);
    CHECK_EQ(g.err, 0);
    CHECK_EQ(g.status, 200);
    CHECK(g.len == 5 && strcmp(g.body, "hello") == 0);
    /* Kept: the next request goes on the same connection. */
    CHECK_EQ(ps_http_request(hc, "GET", "/again", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK(ps_recv(w.s, fd, req, sizeof(req), 0) > 0);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    CHECK_EQ(ps_send(w.s, fd, ok, sizeof(ok) - 1, 0), (ssize_t)sizeof(ok) - 1);
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK_EQ(g.calls, 2);
    CHECK(g.reused && g.len == 2 && strcmp(g.body, "ok") == 0);
    CHECK_EQ(ps_http_client_connections(hc), 1);
    ps_http_client_free(hc);
    ps_close(w.s, fd);
    ps_close(w.s, lfd);
    world_free(&w);
}

int main(void)
{
    RUN(get_post_keepalive);
    RUN(post_echo_keepalive);
    RUN(only_idempotent_requests_retried);
    RUN(response_head_a_byte_at_a_time);
    TEST_END();
}
