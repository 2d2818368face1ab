/*
 * TCP bulk transfers between two stacks on the simulated wire, byte-exact:
 * every byte is a function of its position in its stream, the receiver
 * checks each one, and a 64-bit FNV-1a checksum of what was sent and what
 * was received must agree.
 *
 *  - 100 MB over a clean 1 Gbit/s link, 10 MB over a 10 Gbit/s one;
 *  - 20 MB at 1%, 5% and 10% loss with reordering and duplication, for
 *    several seeds, each within a generous virtual-time limit;
 *  - with TCP segmentation offload: super-segments cut like a network card
 *    does, over a lossy link, and carried whole (received as super-packets,
 *    as from a TAP device);
 *  - 4 MB over a link with a 1 s round-trip time (large buffers: window
 *    scaling);
 *  - 1,000 and then 10,000 concurrent connections between two hosts, each
 *    carrying its own stream both ways.
 *
 * The sockets are driven by readiness callbacks (with a slow fallback
 * poller, so a missed notification costs time, not the test).  Virtual
 * time and throughput are printed for information; nothing asserts on
 * timing beyond the generous limits.  Every test ends with every buffer
 * back in its pool.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "tcp_sim.h"

#define T0 PS_SEC(100)
#define PORT 5001

/* ---- data ---------------------------------------------------------------------------- */

/* mix64, gen, fnv1a: tests/stream_data.h; struct flow: tests/tcp_sim.h */

/* A connection: a's socket cfd, b's accepted afd; up = a->b, down = b->a.
 * Each side shuts down its sending half after its last byte; the
 * connection is finished when both have read the other's EOF. */
struct conn {
    int cfd, afd;
    bool busy_a, busy_b, again_a, again_b;
    bool finished;
    struct flow up, down;
};

struct run {
    struct ps_sim *sim;
    struct ps_stack *a, *b;
    struct conn *conns;
    unsigned n;
    unsigned finished, failed, accepted;
    int lfd;
    uint16_t *port_to_conn; /* client port -> connection index + 1 */
    bool hold;              /* no data moves until every connection is up */
    ps_time_t t_start;
};

static struct run *cur; /* the run the callbacks and poller serve */

/* No data moves while the run holds it. */
static void flow_send_unless_held(struct flow *f)
{
    if (!cur->hold)
        flow_send(f);
}

static void conn_check_done(struct conn *c)
{
    if (c->finished)
        return;
    bool err = c->up.tx_err || c->up.rx_err || c->down.tx_err || c->down.rx_err;
    if (err) {
        c->finished = true;
        cur->failed++;
        return;
    }
    if (c->up.eof && c->down.eof && c->up.done_tx && c->down.done_tx) {
        c->finished = true;
        cur->finished++;
    }
}

/* The client side: send up, read down. */
static void pump_a(struct conn *c)
{
    if (c->cfd < 0)
        return; /* not opened yet */
    if (c->busy_a) {
        c->again_a = true;
        return;
    }
    do {
        c->busy_a = true;
        c->again_a = false;
        flow_send_unless_held(&c->up);
        flow_recv(&c->down);
        c->busy_a = false;
    } while (c->again_a);
    conn_check_done(c);
}

static void pump_b(struct conn *c)
{
    if (c->afd < 0)
        return;
    if (c->busy_b) {
        c->again_b = true;
        return;
    }
    do {
        c->busy_b = true;
        c->again_b = false;
        flow_send_unless_held(&c->down);
        flow_recv(&c->up);
        c->busy_b = false;
    } while (c->again_b);
    conn_check_done(c);
}

static void on_a(void *ctx, int fd, short ev)
{
    (void)fd;
    (void)ev;
    pump_a(ctx);
}

static void on_b(void *ctx, int fd, short ev)
{
    (void)fd;
    (void)ev;
    pump_b(ctx);
}

static void accept_all(void)
{
    struct ps_sockaddr_in peer;
    int fd;
    while ((fd = ps_accept(cur->b, cur->lfd, &peer)) >= 0) {
        unsigned idx = cur->port_to_conn[peer.port];
        if (idx == 0 || peer.addr != IP_A || cur->conns[idx - 1].afd >= 0) {
            /* Not one of ours: count it as a failure and drop it. */
            cur->failed++;
            ps_close(cur->b, fd);
            continue;
        }
        struct conn *c = &cur->conns[idx - 1];
        c->afd = c->up.rx_fd = c->down.tx_fd = fd;
        cur->accepted++;
        ps_socket_set_callback(cur->b, fd, on_b, c);
        pump_b(c);
    }
}

static void on_listen(void *ctx, int fd, short ev)
{
    (void)ctx;
    (void)fd;
    (void)ev;
    accept_all();
}

/* The fallback: every 50 ms, move everything (a missed notification
 * would otherwise stall a connection for good). */
static ps_time_t fallback(void *ctx, ps_time_t now)
{
    (void)ctx;
    accept_all();
    for (unsigned i = 0; i < cur->n; i++)
        if (!cur->conns[i].finished) {
            pump_a(&cur->conns[i]);
            pump_b(&cur->conns[i]);
        }
    return now + PS_MS(50);
}

static bool all_done(void *ctx)
{
    struct run *r = ctx;
    return r->finished + r->failed >= r->n;
}

static bool all_accepted(void *ctx)
{
    struct run *r = ctx;
    return r->accepted + r->failed >= r->n;
}

/* ---- a run: two stacks, a link, n connections ------------------------------------------- */

struct params {
    const char *name;
    struct ps_sim_impair imp;
    uint64_t seed;
    unsigned nconn;
    uint64_t up_bytes, down_bytes; /* per connection */
    int sockbuf;                   /* SO_SNDBUF/SO_RCVBUF, 0: default */
    unsigned max_sockets;          /* 0: default */
    unsigned pbufs;                /* small pbufs per stack, 0: default */
    unsigned open_per_ms;          /* connections opened per ms, 0: all at once */
    bool hold_until_all_up;        /* establish all before moving data */
    ps_time_t limit;               /* virtual time allowed */
    enum ps_sim_tso tso;           /* both interfaces' TSO mode */
};

static void set_bufs(struct ps_stack *s, int fd, int size)
{
    if (size <= 0)
        return;
    CHECK_EQ(ps_setsockopt(s, fd, PS_SOL_SOCKET, PS_SO_SNDBUF, &size, sizeof(size)), 0);
    CHECK_EQ(ps_setsockopt(s, fd, PS_SOL_SOCKET, PS_SO_RCVBUF, &size, sizeof(size)), 0);
}

struct opener {
    struct run *r;
    const struct params *p;
    unsigned next;
};

static void open_one(struct run *r, const struct params *p, unsigned i)
{
    struct conn *c = &r->conns[i];
    c->afd = -1;
    c->cfd = c->up.tx_fd = c->down.rx_fd = ps_socket(r->a, PS_SOCK_STREAM);
    if (c->cfd < 0) {
        T_FAIL("socket %u: %s", i, ps_strerror(c->cfd));
        c->finished = true;
        r->failed++;
        return;
    }
    set_bufs(r->a, c->cfd, p->sockbuf);
    struct ps_sockaddr_in to = {.addr = IP_B, .port = PORT}, me;
    int rc = ps_connect(r->a, c->cfd, &to);
    if ((rc != 0 && rc != -EINPROGRESS) || ps_getsockname(r->a, c->cfd, &me) != 0) {
        T_FAIL("connect %u: %s", i, ps_strerror(rc));
        c->finished = true;
        r->failed++;
        return;
    }
    /* A port comes back only once its connection is over (a finished
     * connection's port may: its TIME-WAIT record may have been dropped at
     * the bound, or it closed passively). */
    unsigned prev = r->port_to_conn[me.port];
    if (prev && !r->conns[prev - 1].finished)
        T_FAIL("connection %u got port %u, in use by live connection %u", i, me.port, prev - 1);
    r->port_to_conn[me.port] = (uint16_t)(i + 1);
    ps_socket_set_callback(r->a, c->cfd, on_a, c);
    pump_a(c);
}

static ps_time_t opener_poll(void *ctx, ps_time_t now)
{
    struct opener *o = ctx;
    for (unsigned k = 0; k < o->p->open_per_ms && o->next < o->r->n; k++)
        open_one(o->r, o->p, o->next++);
    return o->next < o->r->n ? now + PS_MS(1) : PS_TIME_NEVER;
}

static void transfer(const struct params *p)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    cur = &r;
    r.n = p->nconn;
    r.lfd = -1;
    r.conns = calloc(p->nconn, sizeof(*r.conns));
    r.port_to_conn = calloc(65536, sizeof(*r.port_to_conn));
    REQUIRE(r.conns && r.port_to_conn);
    struct ps_config ca, cb;
    two_hosts_config(&ca, p->seed * 2 + 1);
    if (p->max_sockets)
        ca.max_sockets = p->max_sockets;
    if (p->pbufs)
        ca.pbuf_small_count = p->pbufs;
    cb = ca;
    cb.seed = p->seed * 2 + 2;
    struct two_hosts w;
    bool made = two_hosts_new_at(&w, p->seed, T0, &ca, &cb, &p->imp);
    r.sim = w.sim;
    r.a = w.a;
    r.b = w.b;
    REQUIRE(made);
    REQUIRE(ps_sim_set_tso(w.link, w.ia, p->tso) == 0 && ps_sim_set_tso(w.link, w.ib, p->tso) == 0);

    /* The neighbours know each other first, so no SYN waits on ARP (whose
     * queue holds only a few packets). */
    ps_icmp_echo_request(r.a, IP_B, 1, 1, 0, NULL, 8);
    ps_sim_run_for(r.sim, PS_SEC(1));

    r.lfd = ps_socket(r.b, PS_SOCK_STREAM);
    REQUIRE(r.lfd >= 0);
    set_bufs(r.b, r.lfd, p->sockbuf); /* inherited by accepted sockets */
    struct ps_sockaddr_in any = {.addr = 0, .port = PORT};
    REQUIRE(ps_bind(r.b, r.lfd, &any) == 0);
    REQUIRE(ps_listen(r.b, r.lfd, 4096) == 0);
    REQUIRE(ps_socket_set_callback(r.b, r.lfd, on_listen, NULL) == 0);

    for (unsigned i = 0; i < p->nconn; i++) {
        /* The fds are set as the sockets come: see open_one, accept_all. */
        flow_init(&r.conns[i].up, r.a, -1, r.b, -1, p->up_bytes, 1000 + 2 * i);
        flow_init(&r.conns[i].down, r.b, -1, r.a, -1, p->down_bytes, 1001 + 2 * i);
        r.conns[i].up.end = r.conns[i].down.end = FLOW_SHUT;
        r.conns[i].cfd = r.conns[i].afd = -1;
    }
    clock_t cpu0 = clock();
    r.t_start = ps_sim_now(r.sim);
    REQUIRE(ps_sim_add_poller(r.sim, fallback, NULL) == 0);
    struct opener op = {&r, p, 0};
    if (p->open_per_ms) {
        REQUIRE(ps_sim_add_poller(r.sim, opener_poll, &op) == 0);
    } else {
        for (unsigned i = 0; i < p->nconn; i++)
            open_one(&r, p, i);
    }
    if (p->hold_until_all_up) {
        /* Every connection established at once, before any data moves. */
        r.hold = true;
        bool up = ps_sim_run_while_not(r.sim, all_accepted, &r, r.t_start + p->limit);
        ps_time_t t_up = ps_sim_now(r.sim) - r.t_start;
        ps_sim_run_for(r.sim, PS_MS(100)); /* the last handshakes complete on a */
        unsigned est_a = count_state(r.a, "ESTAB"), est_b = count_state(r.b, "ESTAB");
        fprintf(stderr, "  %u connections accepted in %.3f s virtual; ESTAB: %u on a, %u on b\n", r.accepted,
                (double)t_up / 1e6, est_a, est_b);
        CHECK(up);
        CHECK_EQ(est_a, p->nconn);
        CHECK_EQ(est_b, p->nconn);
        r.hold = false;
    }
    bool done = ps_sim_run_while_not(r.sim, all_done, &r, r.t_start + p->limit);
    ps_time_t took = ps_sim_now(r.sim) - r.t_start;
    double cpu = (double)(clock() - cpu0) / CLOCKS_PER_SEC;
    ps_sim_remove_poller(r.sim, fallback, NULL);
    if (p->open_per_ms)
        ps_sim_remove_poller(r.sim, opener_poll, &op);

    uint64_t bytes = 0, bad = 0, hash_wrong = 0, short_streams = 0;
    unsigned errors = 0, first_bad = UINT32_MAX;
    for (unsigned i = 0; i < p->nconn; i++) {
        const struct conn *c = &r.conns[i];
        const struct flow *fl[2] = {&c->up, &c->down};
        bool ok = true;
        for (int k = 0; k < 2; k++) {
            const struct flow *f = fl[k];
            bytes += f->rcvd;
            bad += f->bad;
            if (f->tx_err || f->rx_err) {
                if (errors++ < 5)
                    fprintf(stderr, "  connection %u %s: send %s, recv %s\n", i, k ? "down" : "up",
                            f->tx_err ? ps_strerror(f->tx_err) : "ok", f->rx_err ? ps_strerror(f->rx_err) : "ok");
                ok = false;
            }
            if (f->rcvd != f->total || f->sent != f->total || !f->eof) {
                short_streams++;
                ok = false;
            }
            if (f->h_rx != f->h_tx) {
                hash_wrong++;
                ok = false;
            }
        }
        if (!ok && first_bad == UINT32_MAX)
            first_bad = i;
    }
    double secs = (double)took / 1e6;
    fprintf(stderr,
            "  %s: %u connections, %u finished, %u failed, %.1f MB in %.3f s virtual (%.1f Mbit/s), %.2f s CPU%s\n",
            p->name, p->nconn, r.finished, r.failed, (double)bytes / 1e6, secs,
            secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0, cpu, done ? "" : " - TIME LIMIT REACHED");
    fprintf(stderr, "  a: tcp_retransmits %lld, tcp_rto_timeouts %lld, tcp_fast_retransmits %lld; b: tcp_ooo_segments %lld, tcp_timewait_overflow %lld\n",
            stat_of(r.a, "tcp_retransmits"), stat_of(r.a, "tcp_rto_timeouts"),
            stat_of(r.a, "tcp_fast_retransmits"), stat_of(r.b, "tcp_ooo_segments"),
            stat_of(r.b, "tcp_timewait_overflow") + stat_of(r.a, "tcp_timewait_overflow"));
    const struct ps_sim_link_stats *ls = ps_sim_link_stats(w.link);
    fprintf(stderr, "  link: %llu frames sent, %llu lost, %llu queue-dropped, %llu duplicated, %llu reordered\n",
            (unsigned long long)ls->frames_sent, (unsigned long long)ls->frames_lost,
            (unsigned long long)ls->frames_queue_dropped, (unsigned long long)ls->frames_duplicated,
            (unsigned long long)ls->frames_reordered);
    if (first_bad != UINT32_MAX) {
        const struct conn *c = &r.conns[first_bad];
        fprintf(stderr, "  first incomplete connection %u: up %llu/%llu sent %llu eof %d, down %llu/%llu sent %llu eof %d\n",
                first_bad, (unsigned long long)c->up.rcvd, (unsigned long long)c->up.total,
                (unsigned long long)c->up.sent, c->up.eof, (unsigned long long)c->down.rcvd,
                (unsigned long long)c->down.total, (unsigned long long)c->down.sent, c->down.eof);
    }
    if (p->tso != PS_SIM_TSO_OFF) {
        /* Both ends sent data as super-segments; with PS_SIM_TSO_WHOLE the
         * receivers took them whole (beyond the MTU). */
        fprintf(stderr, "  super-segments: a %lld, b %lld\n", stat_of(r.a, "tcp_tso_tx"),
                stat_of(r.b, "tcp_tso_tx"));
        CHECK(stat_of(r.a, "tcp_tso_tx") > 0);
        CHECK(p->down_bytes < 100000 || stat_of(r.b, "tcp_tso_tx") > 0);
        CHECK_EQ(stat_of(r.b, "eth_drop_too_long"), 0);
    }
    CHECK(done);
    CHECK_EQ(r.failed, 0);
    CHECK_EQ(r.accepted, p->nconn);
    CHECK_EQ(r.finished, p->nconn);
    CHECK_EQ(errors, 0);
    CHECK_EQ(short_streams, 0);
    CHECK_EQ(bad, 0);
    CHECK_EQ(hash_wrong, 0);

    /* Close everything; after every timer has run out no buffer is held. */
    for (unsigned i = 0; i < p->nconn; i++) {
        if (r.conns[i].cfd >= 0) {
            ps_socket_set_callback(r.a, r.conns[i].cfd, NULL, NULL);
            ps_close(r.a, r.conns[i].cfd);
        }
        if (r.conns[i].afd >= 0) {
            ps_socket_set_callback(r.b, r.conns[i].afd, NULL, NULL);
            ps_close(r.b, r.conns[i].afd);
        }
    }
    ps_socket_set_callback(r.b, r.lfd, NULL, NULL);
    ps_close(r.b, r.lfd);
    ps_sim_run_for(r.sim, PS_SEC(300));
    CHECK_POOLS_FULL(r.a);
    CHECK_POOLS_FULL(r.b);
    two_hosts_free(&w);
    free(r.conns);
    free(r.port_to_conn);
    cur = NULL;
}

/* ---- the tests ----------------------------------------------------------------------------- */

#define MB 1000000ull

TEST(clean_10mb)
{
    struct params p = {
        .name = "100 MB, 1 Gbit/s, 100 us",
        .imp = {.delay = PS_US(100), .bandwidth_bps = 1000000000ull},
        .seed = 1,
        .nconn = 1,
        .up_bytes = 100 * MB,
        .down_bytes = 0,
        .limit = PS_SEC(120),
    };
    transfer(&p);
}

TEST(clean_10mb_both_ways)
{
    struct params p = {
        .name = "10 MB each way, 1 Gbit/s, 100 us",
        .imp = {.delay = PS_US(100), .bandwidth_bps = 1000000000ull},
        .seed = 2,
        .nconn = 1,
        .up_bytes = 10 * MB,
        .down_bytes = 10 * MB,
        .limit = PS_SEC(120),
    };
    transfer(&p);
}

TEST(ten_gbit)
{
    struct params p = {
        .name = "10 MB, 10 Gbit/s, 20 us, 1 MB buffers",
        .imp = {.delay = PS_US(20), .bandwidth_bps = 10000000000ull, .queue_limit = 1u << 20},
        .seed = 3,
        .nconn = 1,
        .up_bytes = 10 * MB,
        .sockbuf = 1 << 20,
        .pbufs = 8192,
        .limit = PS_SEC(120),
    };
    transfer(&p);
}

static void lossy(double loss, uint64_t seed)
{
    char name[96];
    snprintf(name, sizeof(name), "20 MB, %.0f%% loss, 2%% reorder, 1%% duplicate, seed %llu", loss * 100,
             (unsigned long long)seed);
    struct params p = {
        .name = name,
        .imp = {.delay = PS_MS(5),
                .jitter = PS_US(200),
                .bandwidth_bps = 100000000ull,
                .loss = loss,
                .duplicate = 0.01,
                .reorder = 0.02,
                .reorder_delay = PS_MS(3)},
        .seed = seed,
        .nconn = 1,
        .up_bytes = 20 * MB,
        .down_bytes = 64 * 1024, /* and a little the other way */
        .limit = PS_SEC(3600),
    };
    transfer(&p);
}

TEST(loss_1_percent)
{
    for (uint64_t seed = 11; seed <= 14; seed++)
        lossy(0.01, seed);
}

TEST(loss_5_percent)
{
    for (uint64_t seed = 21; seed <= 24; seed++)
        lossy(0.05, seed);
}

TEST(loss_10_percent)
{
    for (uint64_t seed = 31; seed <= 34; seed++)
        lossy(0.10, seed);
}

/* TCP segmentation offload: the stacks hand their interfaces super-
 * segments, cut into MTU frames like a network card (a lossy link with
 * reordering, so recovery runs with TSO on), or carried whole and
 * received as super-packets, like a TAP device and the kernel. */
TEST(tso_cut_lossy)
{
    struct params p = {
        .name = "TSO cut, 10 MB each way, 2% loss, 2% reorder, 1% duplicate",
        .imp = {.delay = PS_MS(2), .bandwidth_bps = 100000000ull, .loss = 0.02, .duplicate = 0.01,
                .reorder = 0.02, .reorder_delay = PS_MS(1)},
        .seed = 41,
        .nconn = 1,
        .up_bytes = 10 * MB,
        .down_bytes = 10 * MB,
        .limit = PS_SEC(1800),
        .tso = PS_SIM_TSO_CUT,
    };
    transfer(&p);
}

TEST(tso_whole)
{
    struct params p = {
        .name = "TSO whole, 20 MB each way, 1 Gbit/s, 1 MB buffers",
        .imp = {.delay = PS_US(50), .bandwidth_bps = 1000000000ull, .queue_limit = 4u << 20},
        .seed = 42,
        .nconn = 1,
        .up_bytes = 20 * MB,
        .down_bytes = 20 * MB,
        .sockbuf = 1 << 20,
        .limit = PS_SEC(600),
        .tso = PS_SIM_TSO_WHOLE,
    };
    transfer(&p);
}

TEST(tso_whole_lossy)
{
    struct params p = {
        .name = "TSO whole, 5 MB each way, 2% loss, 2% reorder",
        .imp = {.delay = PS_MS(1), .bandwidth_bps = 1000000000ull, .loss = 0.02, .reorder = 0.02,
                .reorder_delay = PS_US(500), .queue_limit = 4u << 20},
        .seed = 43,
        .nconn = 1,
        .up_bytes = 5 * MB,
        .down_bytes = 5 * MB,
        .limit = PS_SEC(1800),
        .tso = PS_SIM_TSO_WHOLE,
    };
    transfer(&p);
}

TEST(rtt_1s)
{
    struct params p = {
        .name = "4 MB, 1 s RTT, 100 Mbit/s, 4 MB buffers",
        .imp = {.delay = PS_MS(500), .bandwidth_bps = 100000000ull, .queue_limit = 4u << 20},
        .seed = 5,
        .nconn = 1,
        .up_bytes = 4 * MB,
        .down_bytes = 100000,
        .sockbuf = 4 << 20,
        .pbufs = 8192,
        .limit = PS_SEC(1800),
    };
    transfer(&p);
}

TEST(concurrent_1000)
{
    struct params p = {
        .name = "1000 connections, 20 kB each way",
        .imp = {.delay = PS_US(200), .bandwidth_bps = 1000000000ull, .queue_limit = 4u << 20},
        .seed = 6,
        .nconn = 1000,
        .up_bytes = 20000,
        .down_bytes = 20000,
        .max_sockets = 1100,
        .pbufs = 8192,
        .open_per_ms = 50,
        .hold_until_all_up = true,
        .limit = PS_SEC(600),
    };
    transfer(&p);
}

TEST(concurrent_10000)
{
    struct params p = {
        .name = "10000 connections, 2 kB each way",
        .imp = {.delay = PS_US(200), .bandwidth_bps = 1000000000ull, .queue_limit = 8u << 20},
        .seed = 7,
        .nconn = 10000,
        .up_bytes = 2000,
        .down_bytes = 2000,
        .max_sockets = 10100,
        .pbufs = 16384,
        .open_per_ms = 100,
        .hold_until_all_up = true,
        .limit = PS_SEC(600),
    };
    transfer(&p);
}

int main(int argc, char **argv)
{
    /* A test name as argument runs just that one (RUN_IF: tests/tcp_sim.h). */
    RUN_IF(clean_10mb);
    RUN_IF(clean_10mb_both_ways);
    RUN_IF(ten_gbit);
    RUN_IF(loss_1_percent);
    RUN_IF(loss_5_percent);
    RUN_IF(loss_10_percent);
    RUN_IF(tso_cut_lossy);
    RUN_IF(tso_whole);
    RUN_IF(tso_whole_lossy);
    RUN_IF(rtt_1s);
    RUN_IF(concurrent_1000);
    RUN_IF(concurrent_10000);
    TEST_END();
}
