/*
 * Soak: one million TCP connections between two stacks on a simulated
 * link, each opened (connect, accept), used (a 12-byte request one way, a
 * 20-byte reply the other, each byte checked) and closed - the client
 * closing first on even connections, the server on odd ones, so both
 * stacks keep TIME_WAIT records - with 256 connections in flight at any
 * time, driven by readiness callbacks.
 *
 * Checked: every connection completes with its bytes exact and no error;
 * ps_stack_check() holds on both stacks every few thousand events;
 * TIME_WAIT records, sockets and buffers stay within their bounds all
 * along; at the end, after 2*MSL, no TIME_WAIT record, socket, port or
 * buffer is left, and the heap (mallinfo2, where the C library has it) is
 * back within a small tolerance of what it was after a warm-up.
 *
 * PS_SOAK_CONNECTIONS sets the number of connections (default 1,000,000;
 * 100,000 when built with AddressSanitizer, whose -O0 build is ten times
 * slower - and where LeakSanitizer checks the heap instead).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "test.h"
#include "transport/ports.h"
#include "transport/tcp.h"
#include "two_hosts.h"

#define PORT 8000
#define INFLIGHT 256       /* connections open at once */
#define REQ_LEN 12         /* client -> server */
#define REP_LEN 20         /* server -> client */
#define CHECK_EVERY 4096   /* events between invariant checks */
#define WARMUP 2000        /* connections before the heap baseline */
#define HEAP_SLACK (64 * 1024) /* bytes the heap may differ from its baseline */

#if defined(__SANITIZE_ADDRESS__)
#define SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_SANITIZED 1
#endif
#endif
#ifdef SOAK_SANITIZED
#define SOAK_DEFAULT 100000
#else
#define SOAK_DEFAULT 1000000
#endif

struct soak;

struct conn {
    struct soak *k;
    struct conn *next_free;
    uint32_t id;
    int cfd, sfd;
    unsigned cgot, sgot; /* reply bytes at the client, request bytes at the server */
    bool server_first;   /* the server closes first (else the client) */
    bool c_sent, s_sent, c_eof, s_eof, c_closed, s_closed;
};

struct soak {
    struct two_hosts w;
    int lfd;
    struct conn slots[INFLIGHT];
    struct conn *free;
    struct conn *by_port[65536]; /* client port -> connection, until accepted */
    uint32_t started, finished, inflight;
    unsigned long errors, bad;
    char first_error[160];
    unsigned socks_max[2], tw_max[2], pbufs_max;
};

static void note_error(struct soak *k, struct conn *c, const char *what, long rc)
{
    if (!k->errors++)
        snprintf(k->first_error, sizeof(k->first_error), "connection %u: %s: %s", c->id, what,
                 ps_strerror((int)rc));
}

static void finish(struct conn *c)
{
    struct soak *k = c->k;
    if (!c->c_closed || !c->s_closed)
        return;
    k->finished++;
    k->inflight--;
    c->next_free = k->free;
    k->free = c;
}

/* Bytes the connection's request / reply carry. */
static void payload(const struct conn *c, bool reply, uint8_t *buf, size_t n)
{
    gen(c->id * 2 + reply, 0, buf, n);
}

/* Read what there is; returns false on an error.  *got counts the bytes
 * of the expected message; *eof is set at the end. */
static bool read_side(struct conn *c, struct ps_stack *s, int fd, bool reply, unsigned len, unsigned *got,
                      bool *eof)
{
    uint8_t buf[64], exp[64];
    for (;;) {
        ssize_t n = ps_recv(s, fd, buf, sizeof(buf), 0);
        if (n == -EAGAIN)
            return true;
        if (n < 0) {
            note_error(c->k, c, "recv", n);
            return false;
        }
        if (n == 0) {
            *eof = true;
            return true;
        }
        payload(c, reply, exp, len);
        if (*got + (unsigned)n > len || memcmp(buf, exp + *got, (size_t)n) != 0)
            c->k->bad++;
        *got += (unsigned)n;
    }
}

/* Send the connection's request or reply, whole; false on an error. */
static bool send_side(struct conn *c, struct ps_stack *s, int fd, bool reply, unsigned len)
{
    uint8_t buf[64];
    payload(c, reply, buf, len);
    ssize_t n = ps_send(s, fd, buf, len, 0);
    if (n == (ssize_t)len)
        return true;
    note_error(c->k, c, "send", n < 0 ? n : -EIO);
    return false;
}

/* The flag goes first: ps_close may run this connection's callbacks. */
static void close_client(struct conn *c)
{
    if (c->c_closed)
        return;
    c->c_closed = true;
    ps_close(c->k->w.a, c->cfd);
    finish(c);
}

static void close_server(struct conn *c)
{
    if (c->s_closed)
        return;
    c->s_closed = true;
    ps_close(c->k->w.b, c->sfd);
    finish(c);
}

static void on_client(void *ctx, int fd, short ev)
{
    struct conn *c = ctx;
    struct soak *k = c->k;
    if (c->c_closed)
        return;
    if (!c->c_sent && (ev & (PS_POLLOUT | PS_POLLERR))) {
        if (!send_side(c, k->w.a, fd, false, REQ_LEN)) {
            close_client(c);
            return;
        }
        c->c_sent = true;
    }
    if (!read_side(c, k->w.a, fd, true, REP_LEN, &c->cgot, &c->c_eof)) {
        close_client(c);
        return;
    }
    if (c->cgot == REP_LEN && (!c->server_first || c->c_eof))
        close_client(c);
}

static void on_server(void *ctx, int fd, short ev)
{
    (void)ev;
    struct conn *c = ctx;
    struct soak *k = c->k;
    if (c->s_closed)
        return;
    if (!read_side(c, k->w.b, fd, false, REQ_LEN, &c->sgot, &c->s_eof)) {
        close_server(c);
        return;
    }
    if (c->sgot == REQ_LEN && !c->s_sent) {
        if (!send_side(c, k->w.b, fd, true, REP_LEN)) {
            close_server(c);
            return;
        }
        c->s_sent = true;
    }
    if (c->s_sent && (c->server_first || c->s_eof))
        close_server(c);
}

static void on_listener(void *ctx, int fd, short ev)
{
    (void)ev;
    struct soak *k = ctx;
    struct ps_sockaddr_in peer;
    int cfd;
    while ((cfd = ps_accept(k->w.b, fd, &peer)) >= 0) {
        struct conn *c = k->by_port[peer.port];
        if (!c) {
            k->errors++;
            ps_close(k->w.b, cfd);
            continue;
        }
        k->by_port[peer.port] = NULL;
        c->sfd = cfd;
        ps_socket_set_callback(k->w.b, cfd, on_server, c);
        on_server(c, cfd, PS_POLLIN); /* the request may be in already */
    }
}

static bool start_one(struct soak *k)
{
    struct conn *c = k->free;
    k->free = c->next_free;
    uint32_t id = k->started++;
    *c = (struct conn){.k = k, .id = id, .cfd = -1, .sfd = -1, .server_first = id % 2};
    k->inflight++;
    c->cfd = ps_socket(k->w.a, PS_SOCK_STREAM);
    struct ps_sockaddr_in to = {.addr = IP_B, .port = PORT}, me;
    if (c->cfd < 0)
        return false;
    ps_socket_set_callback(k->w.a, c->cfd, on_client, c);
    int rc = ps_connect(k->w.a, c->cfd, &to);
    if ((rc != -EINPROGRESS && rc != 0) || ps_getsockname(k->w.a, c->cfd, &me) != 0 || k->by_port[me.port]) {
        note_error(k, c, "connect", rc ? rc : -EADDRINUSE);
        return false;
    }
    k->by_port[me.port] = c;
    return true;
}

/* The peaks of what must stay bounded: TIME_WAIT records, socket-table
 * entries (open, or closed and finishing), buffers in use. */
static void watch_bounds(struct soak *k)
{
    struct ps_stack *s[2] = {k->w.a, k->w.b};
    for (int i = 0; i < 2; i++) {
        unsigned tw = ps_tcp_tw_count(s[i]), socks = sockets_listed(s[i]) - tw;
        unsigned sf, st, lf, lt;
        ps_pbuf_pool_usage(s[i], &sf, &st, &lf, &lt);
        if (tw > k->tw_max[i])
            k->tw_max[i] = tw;
        if (socks > k->socks_max[i])
            k->socks_max[i] = socks;
        if ((st - sf) + (lt - lf) > k->pbufs_max)
            k->pbufs_max = (st - sf) + (lt - lf);
    }
}

static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    return mallinfo2().uordblks;
#else
    return 0;
#endif
}

/* Run until `target` connections have finished; false on a stall, an
 * error or a broken invariant. */
static bool run_to(struct soak *k, uint32_t target)
{
    ps_time_t last_progress = ps_sim_now(k->w.sim);
    uint32_t last_finished = k->finished;
    while (k->finished < target && !k->errors && !k->w.broken) {
        if (k->inflight < INFLIGHT && k->started < target) {
            two_hosts_sync(&k->w);
            while (k->inflight < INFLIGHT && k->started < target)
                if (!start_one(k))
                    return false;
        }
        if (!ps_sim_step(k->w.sim, PS_TIME_NEVER)) {
            snprintf(k->first_error, sizeof(k->first_error), "nothing left to run, %u connections in flight",
                     k->inflight);
            return false;
        }
        if (++k->w.events % CHECK_EVERY == 0) {
            two_hosts_check(&k->w);
            watch_bounds(k);
        }
        if (k->finished != last_finished) {
            last_finished = k->finished;
            last_progress = ps_sim_now(k->w.sim);
        } else if (ps_sim_now(k->w.sim) - last_progress > PS_SEC(60)) {
            snprintf(k->first_error, sizeof(k->first_error), "no connection finished for 60 s (%u in flight)",
                     k->inflight);
            return false;
        }
    }
    return k->finished == target && !k->errors && !k->w.broken;
}

static uint32_t soak_count(void)
{
    const char *e = getenv("PS_SOAK_CONNECTIONS");
    long n = e ? strtol(e, NULL, 10) : SOAK_DEFAULT;
    return n > WARMUP ? (uint32_t)n : WARMUP + 1;
}

TEST(million_connections_leave_nothing)
{
    static struct soak k; /* big (the port map): not on the stack */
    memset(&k, 0, sizeof(k));
    struct ps_config ca, cb;
    two_hosts_config(&ca, 71);
    two_hosts_config(&cb, 72);
    /* Small buffers: the connections carry a few bytes. */
    ca.sndbuf = cb.sndbuf = 1024;
    ca.tcp_rcvbuf = cb.tcp_rcvbuf = 1024;
    cb.tcp_synq_max = 2 * INFLIGHT;
    REQUIRE(two_hosts_new(&k.w, 70, &ca, &cb, &(struct ps_sim_impair){.delay = PS_US(200)}));
    for (unsigned i = 0; i < INFLIGHT; i++) {
        k.slots[i].next_free = k.free;
        k.free = &k.slots[i];
    }
    k.lfd = ps_socket(k.w.b, PS_SOCK_STREAM);
    struct ps_sockaddr_in any = {.port = PORT};
    REQUIRE(k.lfd >= 0 && ps_bind(k.w.b, k.lfd, &any) == 0 && ps_listen(k.w.b, k.lfd, 2 * INFLIGHT) == 0);
    ps_socket_set_callback(k.w.b, k.lfd, on_listener, &k);

    uint32_t total = soak_count();
    clock_t t0 = clock();
    /* Warm up, let every TIME_WAIT go, and take the heap's measure. */
    bool ok = run_to(&k, WARMUP) && two_hosts_run_for(&k.w, 2 * PS_MS(PS_DEFAULT_TCP_MSL_MS) + PS_SEC(1));
    if (!ok)
        T_FAIL("warm-up: %s %s", k.first_error, k.w.why);
    REQUIRE(ok);
    size_t heap0 = heap_in_use();
    ok = run_to(&k, total);
    double cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (!ok)
        T_FAIL("after %u of %u connections: %s %s", k.finished, total, k.first_error, k.w.why);
    fprintf(stderr,
            "  %u connections in %.1f s of CPU, %.1f s of virtual time; %lu events, %lu invariant checks\n"
            "  peaks: sockets a %u, b %u (bound %u); TIME_WAIT records a %u, b %u (bound %u); buffers in use %u\n"
            "  TIME_WAIT entered a %lld, b %lld; expired %lld, dropped early (bound) %lld\n",
            k.finished, cpu, (double)(ps_sim_now(k.w.sim) - PS_SEC(1000)) / 1e6, k.w.events, k.w.checks,
            k.socks_max[0], k.socks_max[1], PS_DEFAULT_MAX_SOCKETS, k.tw_max[0], k.tw_max[1],
            PS_DEFAULT_TCP_TIMEWAIT_MAX, k.pbufs_max, stat_of(k.w.a, "tcp_timewait"), stat_of(k.w.b, "tcp_timewait"),
            stat_of(k.w.a, "tcp_timewait_expired") + stat_of(k.w.b, "tcp_timewait_expired"),
            stat_of(k.w.a, "tcp_timewait_overflow") + stat_of(k.w.b, "tcp_timewait_overflow"));
    CHECK_EQ(k.finished, total);
    CHECK_EQ(k.errors, 0);
    CHECK_EQ(k.bad, 0);
    CHECK_EQ(stat_of(k.w.a, "tcp_conn_active"), total);
    CHECK_EQ(stat_of(k.w.b, "tcp_conn_passive"), total);
    /* Within their bounds all along. */
    for (int i = 0; i < 2; i++) {
        CHECK(k.tw_max[i] > 0 && k.tw_max[i] <= PS_DEFAULT_TCP_TIMEWAIT_MAX);
        CHECK(k.socks_max[i] <= PS_DEFAULT_MAX_SOCKETS);
    }
    /* Then nothing left but the listener; after 2*MSL, nothing at all. */
    ps_close(k.w.b, k.lfd);
    REQUIRE(two_hosts_run_for(&k.w, 2 * PS_MS(PS_DEFAULT_TCP_MSL_MS) + PS_SEC(1)));
    CHECK(two_hosts_check(&k.w));
    CHECK_EQ(sockets_listed(k.w.a), 0);
    CHECK_EQ(sockets_listed(k.w.b), 0);
    CHECK_EQ(ps_ports_in_use(k.w.a, PS_IP_PROTO_TCP), 0);
    CHECK_EQ(ps_ports_in_use(k.w.b, PS_IP_PROTO_TCP), 0);
    CHECK(pools_full(k.w.a) && pools_full(k.w.b));
    size_t heap1 = heap_in_use();
    fprintf(stderr, "  heap in use: %zu bytes after the warm-up, %zu at the end\n", heap0, heap1);
    CHECK(heap1 <= heap0 + HEAP_SLACK && heap0 <= heap1 + HEAP_SLACK);
    if (k.w.broken)
        T_FAIL("%s", k.w.why);
    two_hosts_free(&k.w);
}

int main(void)
{
    RUN(million_connections_leave_nothing);
    TEST_END();
}
