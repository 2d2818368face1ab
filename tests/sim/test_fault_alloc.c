/*
 * Fault injection: buffer-pool exhaustion at every allocation point, each
 * failing once (ps_stack_fail_alloc, stack.h).
 *
 * One scenario between two stacks on a simulated link that reorders a
 * few frames (so out-of-order data and SACK, and the range tables they
 * allocate, are part of it): ARP and ping; a UDP exchange (small,
 * full-size and fragmented datagrams, echoed); two TCP connections
 * through a listener with accept, each carrying a stream both ways and
 * closed both ways (the client closing first on one, the server
 * on the other, so both stacks keep TIME_WAIT records); then every socket
 * closed and every timer run out.  The application does what a careful
 * real one does: a call that fails with a proper error (EMFILE, ENOMEM,
 * ENOBUFS, ECONNREFUSED) is tried again a little later, a UDP request unanswered
 * is sent again.
 *
 * The scenario runs once to count the allocations each stack makes (N),
 * then N more times per stack with allocation k failing once.  After every
 * event of every run both stacks' invariants must hold (ps_stack_check),
 * the fault must have been injected, the scenario must complete with
 * every byte exact (TCP recovering by retransmission, UDP by the
 * application's retry) and only proper errors seen on the way, and at the
 * end every buffer is back in its pool with no socket, port or TIME_WAIT
 * record left.  Any other error, a stall, a truncated or corrupted stream
 * fails the test, naming the allocation that caused it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/ping.h>

#include "stream_data.h"
#include "test.h"
#include "two_hosts.h"

#define UDP_PORT 7000
#define TCP_PORT 8000
#define MSL_MS 1000
#define RETRY PS_MS(100) /* the application's pause before trying again */
#define MAX_TRIES 8

/* ---- one run ------------------------------------------------------------------------- */

struct run {
    struct two_hosts w;
    unsigned retried;  /* proper errors met and retried after */
    long long ooo;     /* TCP segments that arrived out of order */
    int errs[4];       /* the first few of them (positive errno) */
    char failure[320]; /* why the scenario did not complete ("" if it did) */
};

static bool proper_error(int e)
{
    return e == EMFILE || e == ENOMEM || e == ENOBUFS || e == ECONNREFUSED;
}

static bool failed(struct run *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static bool failed(struct run *r, const char *fmt, ...)
{
    if (!r->failure[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->failure, sizeof(r->failure), fmt, ap);
        va_end(ap);
    }
    return false;
}

/* A negative result from a socket call: a proper error is noted and the
 * caller tries again after a pause (true); anything else fails the run. */
static bool may_retry(struct run *r, const char *what, long rc)
{
    int e = (int)-rc;
    if (!proper_error(e))
        return failed(r, "%s: %s", what, ps_strerror(e));
    if (r->retried < 4)
        r->errs[r->retried] = e;
    r->retried++;
    two_hosts_run_for(&r->w, RETRY);
    return true;
}

/* A socket of type on s, bound to port (0: none), retried on proper
 * errors; -1 on failure. */
static int open_socket(struct run *r, struct ps_stack *s, int type, uint16_t port)
{
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        int fd = ps_socket(s, type);
        if (fd < 0) {
            if (!may_retry(r, "socket", fd))
                return -1;
            continue;
        }
        struct ps_sockaddr_in any = {.addr = 0, .port = port};
        int rc = port ? ps_bind(s, fd, &any) : 0;
        if (rc == 0 && type == PS_SOCK_STREAM && port)
            rc = ps_listen(s, fd, 4);
        if (rc == 0)
            return fd;
        ps_close(s, fd);
        if (!may_retry(r, "bind/listen", rc))
            return -1;
    }
    failed(r, "socket: still failing after %d tries", MAX_TRIES);
    return -1;
}

/* ---- ARP and ping ------------------------------------------------------------------------ */

static ps_time_t pinger_poll(void *ctx, ps_time_t now)
{
    return ps_pinger_poll(ctx, now);
}

static bool pinger_done(void *ctx)
{
    return ps_pinger_done(ctx);
}

static bool step_ping(struct run *r)
{
    struct ps_pinger_cfg pc = {.dst = IP_B, .count = 3, .interval = PS_MS(200), .timeout = PS_SEC(3), .size = 100,
                               .id = 77};
    struct ps_pinger *p = ps_pinger_new(r->w.a, &pc, NULL, NULL);
    if (!p || ps_sim_add_poller(r->w.sim, pinger_poll, p) != 0)
        return failed(r, "ping: no pinger");
    bool done = two_hosts_run(&r->w, pinger_done, p, ps_sim_now(r->w.sim) + PS_SEC(30));
    struct ps_ping_summary sum;
    ps_pinger_summary(p, &sum);
    ps_sim_remove_poller(r->w.sim, pinger_poll, p);
    ps_pinger_free(p);
    if (!done)
        return failed(r, "ping: did not finish");
    /* One failed allocation costs at most one probe (a request or a
     * reply lost); ping does not retry. */
    if (sum.corrupt || sum.errors || sum.received + 1 < pc.count)
        return failed(r, "ping: %u of %u answered, %u errors, %u corrupt", sum.received, pc.count, sum.errors,
                      sum.corrupt);
    return true;
}

/* ---- UDP: requests echoed ------------------------------------------------------------------ */

struct udp_ex {
    struct run *r;
    int cfd, sfd;
    unsigned want;   /* the request being waited for */
    size_t want_len;
    bool got, bad;
};

/* b echoes what comes to its socket (a lost echo is the client's worry). */
static void udp_echo(struct udp_ex *u)
{
    uint8_t buf[4000];
    struct ps_sockaddr_in from;
    ssize_t n;
    while ((n = ps_recvfrom(u->r->w.b, u->sfd, buf, sizeof(buf), 0, &from)) >= 0) {
        ssize_t k = ps_sendto(u->r->w.b, u->sfd, buf, (size_t)n, 0, &from);
        if (k < 0 && !proper_error((int)-k))
            failed(u->r, "UDP echo: sendto %s", ps_strerror((int)k));
    }
    if (n != -EAGAIN)
        failed(u->r, "UDP echo: recvfrom %s", ps_strerror((int)n));
}

static bool udp_reply_in(void *ctx)
{
    struct udp_ex *u = ctx;
    uint8_t buf[4000], exp[4000];
    udp_echo(u);
    ssize_t n;
    while ((n = ps_recvfrom(u->r->w.a, u->cfd, buf, sizeof(buf), 0, NULL)) >= 0) {
        /* Each datagram starts with its request number; an older one is
         * the late echo of a request sent again. */
        if (n < 4)
            u->bad = true;
        unsigned id = n >= 4 ? ps_get32(buf) : 0;
        gen(id, 0, exp, (size_t)n);
        if (n >= 4 && memcmp(buf + 4, exp + 4, (size_t)n - 4) != 0)
            u->bad = true;
        if (id == u->want && (size_t)n == u->want_len)
            u->got = true;
    }
    if (n != -EAGAIN)
        failed(u->r, "UDP client: recvfrom %s", ps_strerror((int)n));
    return u->got || u->bad || u->r->failure[0];
}

static bool step_udp(struct run *r)
{
    static const size_t sizes[] = {20, 1472, 3000, 9};
    struct udp_ex u = {.r = r};
    u.sfd = open_socket(r, r->w.b, PS_SOCK_DGRAM, UDP_PORT);
    u.cfd = u.sfd >= 0 ? open_socket(r, r->w.a, PS_SOCK_DGRAM, 0) : -1;
    bool ok = u.cfd >= 0;
    for (unsigned i = 0; ok && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t msg[4000];
        u.want = 100 + i;
        u.want_len = sizes[i];
        u.got = false;
        gen(u.want, 0, msg, sizes[i]);
        ps_put32(msg, u.want);
        int tries = 0;
        while (!u.got && ok) {
            if (++tries > MAX_TRIES) {
                ok = failed(r, "UDP: request %u unanswered after %d tries", u.want, MAX_TRIES);
                break;
            }
            struct ps_sockaddr_in to = {.addr = IP_B, .port = UDP_PORT};
            ssize_t k = ps_sendto(r->w.a, u.cfd, msg, sizes[i], 0, &to);
            if (k < 0) {
                ok = may_retry(r, "UDP sendto", k);
                continue;
            }
            two_hosts_run(&r->w, udp_reply_in, &u, ps_sim_now(r->w.sim) + PS_SEC(1));
            if (u.bad)
                ok = failed(r, "UDP: a corrupted datagram was delivered");
            else if (r->failure[0] || r->w.broken)
                ok = false;
        }
    }
    if (u.cfd >= 0)
        ps_close(r->w.a, u.cfd);
    if (u.sfd >= 0)
        ps_close(r->w.b, u.sfd);
    return ok;
}

/* ---- TCP: a listener, two connections, streams both ways ------------------------------------------ */

static bool conn_settled(void *ctx)
{
    stream_pair_pump(ctx);
    return stream_pair_over(ctx);
}

/* One connection from a to b's listener; `client_leads`: a sends and
 * closes first.  A refused or failed connect is tried again. */
static bool one_connection(struct run *r, int lfd, bool client_leads, uint32_t seed)
{
    struct stream_pair t = {.b = r->w.b, .lfd = lfd};
    for (int tries = 0;; tries++) {
        if (tries >= MAX_TRIES)
            return failed(r, "TCP: no connection after %d tries", MAX_TRIES);
        t.cli = (struct stream_end){.s = r->w.a, .leads = client_leads, .tx_seed = seed, .rx_seed = seed + 1,
                             .tx_total = 20000 + seed % 7};
        t.srv = (struct stream_end){.s = r->w.b, .fd = -1, .leads = !client_leads, .tx_seed = seed + 1, .rx_seed = seed,
                             .tx_total = 30000 + seed % 5};
        t.cli.fd = open_socket(r, r->w.a, PS_SOCK_STREAM, 0);
        if (t.cli.fd < 0)
            return false;
        struct ps_sockaddr_in to = {.addr = IP_B, .port = TCP_PORT};
        int rc = ps_connect(r->w.a, t.cli.fd, &to);
        if (rc != -EINPROGRESS && rc != 0) {
            ps_close(r->w.a, t.cli.fd);
            if (!may_retry(r, "connect", rc))
                return false;
            continue;
        }
        two_hosts_run(&r->w, conn_settled, &t, ps_sim_now(r->w.sim) + PS_SEC(60));
        if (r->w.broken)
            return false;
        if (t.cli.err == ECONNREFUSED && t.srv.fd < 0 && !t.cli.rcvd) {
            /* b had no entry for the connection (its SYN was answered
             * with RST): the client tries again. */
            ps_close(r->w.a, t.cli.fd);
            if (!may_retry(r, "connect", -ECONNREFUSED))
                return false;
            continue;
        }
        break;
    }
    bool ok = true;
    if (t.cli.err || t.srv.err)
        ok = failed(r, "TCP: error on an established connection: client %s, server %s",
                    ps_strerror(t.cli.err), ps_strerror(t.srv.err));
    else if (t.cli.bad || t.srv.bad)
        ok = failed(r, "TCP: corrupted stream");
    else if (!t.cli.eof || !t.srv.eof)
        ok = failed(r, "TCP: stalled (client %zu/%zu, server %zu/%zu)", t.cli.rcvd, t.srv.tx_total, t.srv.rcvd,
                    t.cli.tx_total);
    else if (t.cli.rcvd != t.srv.tx_total || t.srv.rcvd != t.cli.tx_total)
        ok = failed(r, "TCP: truncated stream (client %zu/%zu, server %zu/%zu)", t.cli.rcvd, t.srv.tx_total,
                    t.srv.rcvd, t.cli.tx_total);
    /* The closes: the end that shut down first keeps TIME_WAIT. */
    struct stream_end *first = client_leads ? &t.cli : &t.srv, *second = client_leads ? &t.srv : &t.cli;
    if (first->fd >= 0)
        ps_close(first->s, first->fd);
    two_hosts_run_for(&r->w, PS_MS(5));
    if (second->fd >= 0)
        ps_close(second->s, second->fd);
    return ok;
}

static bool step_tcp(struct run *r)
{
    int lfd = open_socket(r, r->w.b, PS_SOCK_STREAM, TCP_PORT);
    if (lfd < 0)
        return false;
    bool ok = one_connection(r, lfd, true, 11) && one_connection(r, lfd, false, 23);
    ps_close(r->w.b, lfd);
    return ok;
}

/* ---- the scenario ------------------------------------------------------------------------------- */

static void config(struct ps_config *c, uint64_t seed)
{
    two_hosts_config(c, seed);
    c->max_sockets = 16;
    c->pbuf_small_count = 96;
    c->pbuf_large_count = 2;
    c->tcp_timewait_max = 8;
    c->tcp_msl_ms = MSL_MS;
    c->sndbuf = 16384;
    c->tcp_rcvbuf = 16384;
    c->arp_cache_size = 8;
    c->reasm_max_datagrams = 2;
    c->reasm_timeout_ms = 5000;
}

/* Run the scenario with allocation k of stack `which` ('a' or 'b')
 * failing (k 0: none).  Fills r; *na, *nb: allocations each stack made. */
static void scenario(struct run *r, char which, uint64_t k, uint64_t *na, uint64_t *nb)
{
    struct ps_config ca, cb;
    config(&ca, 501);
    config(&cb, 502);
    memset(r, 0, sizeof(*r));
    /* Some frames overtake others, so that out-of-order data and SACK
     * (and the range tables they allocate) are part of the clean run. */
    static const struct ps_sim_impair imp = {.delay = PS_MS(1), .reorder = 0.05, .reorder_delay = PS_MS(3)};
    if (!two_hosts_new(&r->w, 77, &ca, &cb, &imp)) {
        failed(r, "world: cannot be made");
        two_hosts_free(&r->w);
        return;
    }
    ps_stack_fail_alloc(which == 'a' ? r->w.a : r->w.b, k);
    if (step_ping(r) && step_udp(r))
        step_tcp(r);
    /* Whatever happened: everything closed, every timer run out. */
    if (!two_hosts_settled(&r->w, 2 * PS_MS(MSL_MS) + PS_SEC(10)))
        failed(r, "at the end: %s", r->w.why);
    if (k && stat_of(which == 'a' ? r->w.a : r->w.b, "alloc_injected_fail") != 1)
        failed(r, "the fault was not injected");
    r->ooo = stat_of(r->w.a, "tcp_ooo_segments") + stat_of(r->w.b, "tcp_ooo_segments");
    *na = ps_stack_alloc_count(r->w.a);
    *nb = ps_stack_alloc_count(r->w.b);
    two_hosts_free(&r->w);
}

/* ---- tests ------------------------------------------------------------------------------------- */

static uint64_t base_a, base_b;

TEST(scenario_runs_clean)
{
    struct run r;
    scenario(&r, 'a', 0, &base_a, &base_b);
    if (r.failure[0])
        T_FAIL("%s", r.failure);
    CHECK_EQ(r.retried, 0);
    CHECK(r.ooo > 0);
    CHECK(base_a > 0 && base_b > 0);
    fprintf(stderr, "  allocations: a %llu, b %llu; invariants checked %lu times\n", (unsigned long long)base_a,
            (unsigned long long)base_b, r.w.checks);
}

/* Every allocation of one stack failing in turn. */
static void sweep(char which, uint64_t n)
{
    unsigned bad = 0, retried_runs = 0;
    unsigned long checks = 0;
    static const int names[] = {EMFILE, ENOMEM, ENOBUFS, ECONNREFUSED};
    unsigned seen[4] = {0};
    for (uint64_t k = 1; k <= n; k++) {
        struct run r;
        uint64_t na, nb;
        scenario(&r, which, k, &na, &nb);
        checks += r.w.checks;
        if (r.failure[0]) {
            if (bad++ < 10)
                T_FAIL("stack %c, allocation %llu failing: %s", which, (unsigned long long)k, r.failure);
            continue;
        }
        retried_runs += r.retried > 0;
        for (unsigned i = 0; i < r.retried && i < 4; i++)
            for (unsigned j = 0; j < 4; j++)
                seen[j] += r.errs[i] == names[j];
    }
    fprintf(stderr,
            "  stack %c: %llu runs, %u failed; %u completed after a proper error (EMFILE %u, ENOMEM %u, ENOBUFS %u, "
            "ECONNREFUSED %u), the rest recovered unseen; %lu invariant checks\n",
            which, (unsigned long long)n, bad, retried_runs, seen[0], seen[1], seen[2], seen[3], checks);
}

TEST(every_allocation_of_a_fails_once)
{
    REQUIRE(base_a > 0);
    sweep('a', base_a);
}

TEST(every_allocation_of_b_fails_once)
{
    REQUIRE(base_b > 0);
    sweep('b', base_b);
}

int main(void)
{
    RUN(scenario_runs_clean);
    RUN(every_allocation_of_a_fails_once);
    RUN(every_allocation_of_b_fails_once);
    TEST_END();
}
