/*
 * The HTTP/1.1 server on the simulated wire, driven by a raw TCP client:
 * persistent connections, pipelined requests answered in order, chunked
 * status pages that list the real sockets, JSON counters, static files and
 * path traversal refused, HEAD, 404/405/400/431/505, HTTP/1.0 closing, the
 * slow-header timeout (408) and the connection limit (503); heads at the
 * size limit sent a byte per segment, parsed right in linear work (the
 * server's head_bytes_scanned counter, not a clock); plus the request
 * parser on its own against smuggling shapes, and its search for a head's
 * end resumed piece by piece.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <portstack/http.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "apps/http_parse.h"
#include "test.h"

#define SRV PS_IP4(192, 0, 2, 80)
#define CLI PS_IP4(192, 0, 2, 10)

struct world {
    struct ps_sim *sim;
    struct ps_stack *c, *s;
    struct ps_http_server *h;
    char docroot[64];
};

/* The server's deadlines move when connections come and go, which a sim
 * poller does not see; look at least every 100 ms, as a host loop would. */
static ps_time_t http_poll(void *ctx, ps_time_t now)
{
    ps_time_t next = ps_http_poll(ctx, now);
    return next < now + PS_MS(100) ? next : now + PS_MS(100);
}

static void world_new(struct world *w)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(4, 0);
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    struct ps_sim_link *l = ps_sim_link_new(w->sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 1;
    w->c = ps_stack_new(&cfg, 0);
    cfg.seed = 2;
    w->s = ps_stack_new(&cfg, 0);
    REQUIRE(w->c && w->s);
    ps_stack_set_name(w->s, "camera");
    struct ps_iface *ci = ps_sim_attach(l, w->c, "eth0", NULL, 1500), *si = ps_sim_attach(l, w->s, "eth0", NULL, 1500);
    REQUIRE(ci && si && ps_iface_add_addr(ci, CLI, 24) == 0 && ps_iface_add_addr(si, SRV, 24) == 0);
    snprintf(w->docroot, sizeof(w->docroot), "/tmp/ps-http-%d", (int)getpid());
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/sub && printf 'hello, portstack\\n' > %s/index.html", w->docroot, w->docroot);
    REQUIRE(system(cmd) == 0);
    /* A 100 KB file: larger than the response buffer, so it streams. */
    snprintf(cmd, sizeof(cmd), "head -c 100000 /dev/zero | tr '\\0' 'x' > %s/sub/big.txt", w->docroot);
    REQUIRE(system(cmd) == 0);
    int err;
    w->h = ps_http_start(w->s, 0, 80, w->docroot, &err);
    REQUIRE(w->h && err == 0);
    REQUIRE(ps_sim_add_poller(w->sim, http_poll, w->h) == 0);
}

static void world_free(struct world *w)
{
    ps_sim_remove_poller(w->sim, http_poll, w->h);
    ps_http_stop(w->h);
    ps_sim_run_for(w->sim, PS_SEC(700));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(w->s, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(w->sim);
    ps_stack_free(w->c);
    ps_stack_free(w->s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %.64s", w->docroot);
    CHECK(system(cmd) == 0);
}

static int client(struct world *w)
{
    int fd = ps_socket(w->c, PS_SOCK_STREAM);
    struct ps_sockaddr_in to = {SRV, 80};
    REQUIRE(fd >= 0);
    CHECK_EQ(ps_connect(w->c, fd, &to), -EINPROGRESS);
    ps_sim_run_for(w->sim, PS_MS(20));
    return fd;
}

static void send_str(struct world *w, int fd, const char *s)
{
    CHECK_EQ(ps_send(w->c, fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* Everything the server sends within `t`, as a string (bounded). */
static size_t read_all(struct world *w, int fd, char *buf, size_t cap, ps_time_t t, bool *eof)
{
    size_t n = 0;
    *eof = false;
    for (ps_time_t end = ps_sim_now(w->sim) + t; ps_sim_now(w->sim) < end;) {
        ps_sim_run_for(w->sim, PS_MS(5));
        ssize_t r;
        while ((r = ps_recv(w->c, fd, buf + n, cap - 1 - n, 0)) > 0)
            n += (size_t)r;
        if (r == 0) {
            *eof = true;
            break;
        }
    }
    buf[n] = '\0';
    return n;
}

static unsigned count(const char *hay, const char *needle)
{
    unsigned c = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        c++;
    return c;
}

static char buf[400000];

TEST(keepalive_pipelining_files_errors)
{
    struct world w;
    world_new(&w);
    int fd = client(&w);
    bool eof;
    /* Three pipelined requests in one write: answered in order. */
    send_str(&w, fd, "GET / HTTP/1.1\r\nHost: cam\r\n\r\n"
                     "GET /nothere HTTP/1.1\r\nHost: cam\r\n\r\n"
                     "HEAD /sub/big.txt HTTP/1.1\r\nHost: cam\r\n\r\n");
    read_all(&w, fd, buf, sizeof(buf), PS_MS(300), &eof);
    CHECK(!eof); /* persistent */
    char *a = strstr(buf, "HTTP/1.1 200 OK"), *b = strstr(buf, "HTTP/1.1 404"), *c = strstr(a ? a + 1 : buf, "HTTP/1.1 200 OK");
    CHECK(a && b && c && a < b && b < c);
    CHECK(strstr(buf, "hello, portstack\n") != NULL);
    CHECK(strstr(buf, "Content-Length: 100000\r\n") != NULL);
    CHECK(count(buf, "xxxxxxxxxx") == 0); /* HEAD: no body */
    /* The big file streams through the 16 KB buffer, byte-exact. */
    send_str(&w, fd, "GET /sub/big.txt HTTP/1.1\r\nHost: cam\r\n\r\n");
    size_t n = read_all(&w, fd, buf, sizeof(buf), PS_MS(500), &eof);
    char *body = strstr(buf, "\r\n\r\n");
    REQUIRE(body);
    body += 4;
    CHECK_EQ(n - (size_t)(body - buf), 100000);
    CHECK_EQ(strspn(body, "x"), 100000);
    /* Traversal and odd paths never leave the document root. */
    send_str(&w, fd, "GET /../../etc/passwd HTTP/1.1\r\nHost: cam\r\n\r\n"
                     "GET /sub/%2e%2e/index.html HTTP/1.1\r\nHost: cam\r\n\r\n");
    read_all(&w, fd, buf, sizeof(buf), PS_MS(200), &eof);
    CHECK_EQ(count(buf, "HTTP/1.1 404"), 2);
    CHECK(strstr(buf, "root:") == NULL);
    /* A method not served: 405 with Allow. */
    send_str(&w, fd, "DELETE / HTTP/1.1\r\nHost: cam\r\n\r\n");
    read_all(&w, fd, buf, sizeof(buf), PS_MS(200), &eof);
    CHECK(strstr(buf, "HTTP/1.1 405") && strstr(buf, "Allow: GET, HEAD"));
    /* Connection: close is honoured. */
    send_str(&w, fd, "GET / HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n");
    read_all(&w, fd, buf, sizeof(buf), PS_MS(200), &eof);
    CHECK(eof && strstr(buf, "Connection: close"));
    ps_close(w.c, fd);
    CHECK_EQ(ps_http_stats(w.h)->requests, 8);
    world_free(&w);
}

TEST(status_pages_show_the_real_sockets)
{
    struct world w;
    world_new(&w);
    /* Something to see: a UDP socket on 5353 and our own connection. */
    int u = ps_socket(w.s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in a = {0, 5353};
    REQUIRE(ps_bind(w.s, u, &a) == 0);
    int fd = client(&w);
    struct ps_sockaddr_in me;
    REQUIRE(ps_getsockname(w.c, fd, &me) == 0);
    send_str(&w, fd, "GET /status.json HTTP/1.1\r\nHost: cam\r\n\r\n");
    bool eof;
    read_all(&w, fd, buf, sizeof(buf), PS_MS(300), &eof);
    CHECK(strstr(buf, "Transfer-Encoding: chunked") != NULL);
    char *body = strstr(buf, "\r\n\r\n");
    REQUIRE(body);
    body += 4;
    /* De-chunk by hand: size lines out. */
    char json[200000];
    size_t jl = 0;
    for (char *p = body;;) {
        char *end;
        long sz = strtol(p, &end, 16);
        REQUIRE(end != p && strncmp(end, "\r\n", 2) == 0);
        if (sz == 0)
            break;
        memcpy(json + jl, end + 2, (size_t)sz);
        jl += (size_t)sz;
        p = end + 2 + sz;
        REQUIRE(strncmp(p, "\r\n", 2) == 0);
        p += 2;
    }
    json[jl] = '\0';
    CHECK(strstr(json, "\"stack\":\"camera\"") != NULL);
    CHECK(strstr(json, "{\"proto\":\"tcp\",\"state\":\"LISTEN\",\"local\":\"0.0.0.0:80\"") != NULL);
    CHECK(strstr(json, "{\"proto\":\"udp\",\"state\":\"UNCONN\",\"local\":\"0.0.0.0:5353\"") != NULL);
    char quad[96];
    snprintf(quad, sizeof(quad), "\"state\":\"ESTAB\",\"local\":\"192.0.2.80:80\",\"peer\":\"192.0.2.10:%u\"", me.port);
    CHECK(strstr(json, quad) != NULL); /* this very connection, by its quadruple */
    CHECK(strstr(json, "\"tcp_rx\":") != NULL && strstr(json, "\"eth_rx\":") != NULL);
    CHECK(json[jl - 2] == '}'); /* complete: "}}\n" */
    /* HTML too; HTTP/1.0 gets it without chunks and the connection closes. */
    send_str(&w, fd, "GET /status HTTP/1.0\r\n\r\n");
    read_all(&w, fd, buf, sizeof(buf), PS_MS(300), &eof);
    CHECK(eof);
    CHECK(strstr(buf, "Transfer-Encoding") == NULL);
    CHECK(strstr(buf, "<td>tcp</td><td>LISTEN</td><td>0.0.0.0:80</td>") != NULL);
    CHECK(strstr(buf, "</html>") != NULL);
    ps_close(w.c, fd);
    ps_close(w.s, u);
    world_free(&w);
}

TEST(limits_and_timeouts)
{
    struct world w;
    world_new(&w);
    bool eof;
    /* A head that never ends: 408 after the head timeout, then close. */
    int slow = client(&w);
    send_str(&w, slow, "GET / HTTP/1.1\r\nHost: c");
    ps_sim_run_for(w.sim, PS_MS(PS_HTTP_HEAD_TIMEOUT_MS + 100));
    read_all(&w, slow, buf, sizeof(buf), PS_MS(100), &eof);
    CHECK(strstr(buf, "HTTP/1.1 408") && eof);
    ps_close(w.c, slow);
    /* A head larger than the limit: 431. */
    int big = client(&w);
    static char huge[PS_HTTP_MAX_HEAD + 200];
    memset(huge, 'a', sizeof(huge) - 1);
    memcpy(huge, "GET / HTTP/1.1\r\nX: ", 19);
    send_str(&w, big, huge);
    read_all(&w, big, buf, sizeof(buf), PS_MS(300), &eof);
    CHECK(strstr(buf, "HTTP/1.1 431") && eof);
    ps_close(w.c, big);
    /* Malformed and unsupported: 400 (no Host in 1.1), 505. */
    int bad = client(&w);
    send_str(&w, bad, "GET / HTTP/1.1\r\n\r\n");
    read_all(&w, bad, buf, sizeof(buf), PS_MS(200), &eof);
    CHECK(strstr(buf, "HTTP/1.1 400") && eof);
    ps_close(w.c, bad);
    bad = client(&w);
    send_str(&w, bad, "GET / HTTP/2.0\r\nHost: c\r\n\r\n");
    read_all(&w, bad, buf, sizeof(buf), PS_MS(200), &eof);
    CHECK(strstr(buf, "HTTP/1.1 505") && eof);
    ps_close(w.c, bad);
    /* More connections than the server holds: the extra ones get 503. */
    int fds[PS_HTTP_MAX_CONN + 3];
    for (int i = 0; i < PS_HTTP_MAX_CONN + 3; i++)
        fds[i] = client(&w);
    ps_sim_run_for(w.sim, PS_MS(100));
    CHECK_EQ(ps_http_stats(w.h)->refused, 3);
    for (int i = 0; i < PS_HTTP_MAX_CONN + 3; i++)
        ps_close(w.c, fds[i]);
    /* Idle connections are closed after the idle timeout. */
    int idle = client(&w);
    send_str(&w, idle, "GET / HTTP/1.1\r\nHost: c\r\n\r\n");
    read_all(&w, idle, buf, sizeof(buf), PS_MS(100), &eof);
    CHECK(!eof);
    read_all(&w, idle, buf, sizeof(buf), PS_MS(PS_HTTP_IDLE_TIMEOUT_MS + 500), &eof);
    CHECK(eof);
    ps_close(w.c, idle);
    world_free(&w);
}

/* Send s one byte per segment, each on its way before the next. */
static void send_bytewise(struct world *w, int fd, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        CHECK_EQ(ps_send(w->c, fd, s + i, 1, 0), 1);
        ps_sim_run_for(w->sim, PS_US(200));
    }
}

/* A head of exactly len bytes: the request line, Host, then padding. */
static void make_head(char *h, size_t len, const char *target)
{
    int n = snprintf(h, len, "GET %s HTTP/1.1\r\nHost: cam\r\nX-Pad: ", target);
    memset(h + n, 'p', len - (size_t)n);
    memcpy(h + len - 4, "\r\n\r\n", 4);
}

TEST(heads_a_byte_at_a_time_cost_linear_work)
{
    struct world w;
    world_new(&w);
    int fd = client(&w);
    REQUIRE(ps_setsockopt(w.c, fd, PS_IPPROTO_TCP, PS_TCP_NODELAY, &(int){1}, sizeof(int)) == 0);
    static char h1[PS_HTTP_MAX_HEAD], h2[PS_HTTP_MAX_HEAD - 100], h3[PS_HTTP_MAX_HEAD + 1];
    bool eof;
    /* A head of exactly the limit, one byte per segment: served. */
    make_head(h1, sizeof(h1), "/");
    uint64_t segs = ps_stack_stats(w.c)->tcp_tx;
    send_bytewise(&w, fd, h1, sizeof(h1));
    CHECK(ps_stack_stats(w.c)->tcp_tx - segs >= sizeof(h1)); /* it really came a byte at a time */
    read_all(&w, fd, buf, sizeof(buf), PS_MS(100), &eof);
    CHECK(!eof && strstr(buf, "HTTP/1.1 200 OK") && strstr(buf, "hello, portstack\n"));
    /* The end was searched for once, and the head parsed once: about twice
     * its length (re-parsing from the start on every byte, as before, is
     * about len * len / 2). */
    uint64_t scanned = ps_http_stats(w.h)->head_bytes_scanned;
    CHECK(scanned >= sizeof(h1) && scanned <= 2 * sizeof(h1));
    /* The next head on the kept connection is searched from its own start. */
    make_head(h2, sizeof(h2), "/nothere");
    send_bytewise(&w, fd, h2, sizeof(h2));
    read_all(&w, fd, buf, sizeof(buf), PS_MS(100), &eof);
    CHECK(!eof && strstr(buf, "HTTP/1.1 404"));
    CHECK(ps_http_stats(w.h)->head_bytes_scanned - scanned <= 2 * sizeof(h2));
    CHECK_EQ(ps_http_stats(w.h)->requests, 2);
    /* One byte over the limit: 431 once the limit is reached, and the
     * connection closes. */
    scanned = ps_http_stats(w.h)->head_bytes_scanned;
    make_head(h3, sizeof(h3), "/");
    send_bytewise(&w, fd, h3, PS_HTTP_MAX_HEAD);
    read_all(&w, fd, buf, sizeof(buf), PS_MS(100), &eof);
    CHECK(strstr(buf, "HTTP/1.1 431") && eof);
    CHECK(ps_http_stats(w.h)->head_bytes_scanned - scanned <= PS_HTTP_MAX_HEAD);
    CHECK_EQ(ps_http_stats(w.h)->requests, 2);
    ps_close(w.c, fd);
    world_free(&w);
}

TEST(head_end_search_resumes)
{
    static const char *const heads[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nA: \r\r\n\r\r\n\r\n", /* near misses before the end */
        "\r\n\r\n",
    };
    for (size_t k = 0; k < sizeof(heads) / sizeof(heads[0]); k++) {
        char b[128];
        size_t hl = strlen(heads[k]);
        snprintf(b, sizeof(b), "%sGET /next", heads[k]); /* a pipelined request after it */
        size_t len = strlen(b);
        /* Every way of cutting it in two, and a byte at a time: the same end,
         * and no position looked at twice. */
        for (size_t cut = 0; cut <= len; cut++) {
            size_t next = 0, end = http_head_end(b, cut, 8192, &next);
            CHECK(next <= cut);
            if (!end)
                end = http_head_end(b, len, 8192, &next);
            CHECK_EQ(end, hl);
            CHECK_EQ(next, hl - 4);
        }
        size_t next = 0, end = 0, i = 0;
        while (!end && i < len)
            end = http_head_end(b, ++i, 8192, &next);
        CHECK_EQ(end, hl);
        CHECK_EQ(i, hl);
        CHECK_EQ(http_head_end(b, len, 8192, &next), hl); /* asked again: found again */
    }
    /* The bound: a head may end exactly at max, not one byte after. */
    const char *h = heads[0];
    size_t hl = strlen(h), next = 0;
    CHECK_EQ(http_head_end(h, hl, hl, &next), hl);
    next = 0;
    CHECK_EQ(http_head_end(h, hl, hl - 1, &next), 0);
    CHECK(next + 4 <= hl);
    struct http_request r;
    CHECK_EQ(http_parse_head(h, hl, &r), HTTP_PARSE_OK);
    CHECK(r.head_len == hl && r.has_host && strcmp(r.target, "/") == 0);
}

TEST(parser_refuses_smuggling_shapes)
{
    struct http_request r;
    const char *ok = "GET /a?b HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n\r\n";
    CHECK_EQ(http_parse_request(ok, strlen(ok), 8192, &r), HTTP_PARSE_OK);
    CHECK(r.method == HTTP_GET && strcmp(r.target, "/a?b") == 0 && r.conn_keep_alive && r.minor == 1);
    CHECK_EQ(http_parse_request(ok, 20, 8192, &r), HTTP_PARSE_NEED_MORE);
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\nBare: lf\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (http_parse_request(bad[i], strlen(bad[i]), 8192, &r) != HTTP_PARSE_BAD)
            T_FAIL("accepted bad request %zu: %s", i, bad[i]);
    CHECK_EQ(http_parse_request("GET / HTTP/3.0\r\nHost: x\r\n\r\n", 27, 8192, &r), HTTP_PARSE_VERSION);
    char longt[2100] = "GET /";
    memset(longt + 5, 'a', 2000);
    strcpy(longt + 2005, " HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ(http_parse_request(longt, strlen(longt), 8192, &r), HTTP_PARSE_URI_TOO_LONG);
    CHECK_EQ(http_parse_request(longt, strlen(longt), 100, &r), HTTP_PARSE_TOO_LONG);
}

int main(void)
{
    RUN(keepalive_pipelining_files_errors);
    RUN(status_pages_show_the_real_sockets);
    RUN(limits_and_timeouts);
    RUN(parser_refuses_smuggling_shapes);
    RUN(heads_a_byte_at_a_time_cost_linear_work);
    RUN(head_end_search_resumes);
    TEST_END();
}
