/*
 * TCP congestion control, keepalive, user timeout and the connection
 * figures, between two stacks on the simulated wire:
 *
 *  - CUBIC's congestion-avoidance window follows RFC 9438's curve
 *    W_cubic(t) = C (t - K)^3 + W_max after a loss (computed here with
 *    doubles from what PS_TCP_INFO shows), within a tolerance;
 *  - CUBIC and NewReno both complete lossy transfers byte-exact;
 *  - the per-socket PS_TCP_CONGESTION option and the per-stack default
 *    choose the algorithm, as PS_TCP_INFO shows; accepted sockets take the
 *    listener's;
 *  - keepalive probes after the idle time, answered ones keep the
 *    connection, and KEEPCNT unanswered ones (all frames lost) end it with
 *    ETIMEDOUT;
 *  - the user timeout ends a connection whose data goes unacknowledged,
 *    with ETIMEDOUT, long before the retransmission count would;
 *  - PS_TCP_INFO after a transfer (bytes acked == bytes sent, srtt close to
 *    the simulated RTT) and the same figures in ps_ss_print(PS_SS_INFO).
 *
 * Host a (192.0.2.1) is the client, b (192.0.2.2) the server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "test.h"
#include "transport/tcp.h"

#define IP_A PS_IP4(192, 0, 2, 1)
#define IP_B PS_IP4(192, 0, 2, 2)
#define T0 PS_SEC(100)
#define PORT 5001

/* Doubles without libm. */
static double dabs(double x)
{
    return x < 0 ? -x : x;
}

static double dcbrt(double x)
{
    if (x <= 0)
        return 0;
    double y = x > 1 ? x / 3 : 1;
    for (int i = 0; i < 200; i++)
        y = (2 * y + x / (y * y)) / 3; /* Newton */
    return y;
}

/* RFC 9438's constants, as the test computes the curve. */
#define C_CUBIC 0.4
#define BETA_CUBIC 0.7

/* ---- data ---------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void gen(uint64_t pos, uint8_t *buf, size_t n)
{
    uint64_t blk = UINT64_MAX, v = 0;
    for (size_t i = 0; i < n; i++, pos++) {
        if ((pos >> 3) != blk) {
            blk = pos >> 3;
            v = mix64(blk);
        }
        buf[i] = (uint8_t)(v >> (8 * (pos & 7)));
    }
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* ---- the world: two stacks, one link, one connection ------------------------------------- */

struct world {
    struct ps_sim *sim;
    struct ps_sim_link *link;
    struct ps_sim_impair imp;
    struct ps_stack *a, *b;
    int lfd, cfd, afd;
    /* the transfer a -> b */
    uint64_t total, sent, rcvd, h_tx, h_rx, bad;
    bool shut, eof;
    int tx_err, rx_err;
    /* sampling (the poller) */
    void (*sample)(struct world *w);
    void *sample_ctx;
};

static struct world *cur;

static void pump(struct world *w)
{
    static uint8_t buf[65536], want[65536];
    if (w->cfd >= 0 && !w->tx_err) {
        while (w->sent < w->total) {
            size_t n = sizeof(buf);
            if (w->total - w->sent < n)
                n = (size_t)(w->total - w->sent);
            gen(w->sent, buf, n);
            ssize_t k = ps_send(w->a, w->cfd, buf, n, 0);
            if (k == -EAGAIN)
                break;
            if (k <= 0) {
                w->tx_err = (int)k;
                break;
            }
            w->h_tx = fnv1a(w->h_tx, buf, (size_t)k);
            w->sent += (uint64_t)k;
        }
        if (w->sent == w->total && w->total && !w->shut) {
            w->shut = true;
            ps_shutdown(w->a, w->cfd, PS_SHUT_WR);
        }
    }
    if (w->afd < 0 && w->lfd >= 0) {
        struct ps_sockaddr_in peer;
        int fd = ps_accept(w->b, w->lfd, &peer);
        if (fd >= 0)
            w->afd = fd;
    }
    while (w->afd >= 0 && !w->eof && !w->rx_err) {
        ssize_t k = ps_recv(w->b, w->afd, buf, sizeof(buf), 0);
        if (k == -EAGAIN)
            break;
        if (k < 0) {
            w->rx_err = (int)k;
            break;
        }
        if (k == 0) {
            w->eof = true;
            break;
        }
        gen(w->rcvd, want, (size_t)k);
        if (memcmp(buf, want, (size_t)k) != 0)
            for (ssize_t i = 0; i < k; i++)
                w->bad += buf[i] != want[i];
        w->h_rx = fnv1a(w->h_rx, buf, (size_t)k);
        w->rcvd += (uint64_t)k;
    }
}

static ps_time_t poller(void *ctx, ps_time_t now)
{
    struct world *w = ctx;
    pump(w);
    if (w->sample)
        w->sample(w);
    return now + PS_MS(1);
}

static void cfg_init(struct ps_config *cfg, uint64_t seed)
{
    ps_config_default(cfg);
    cfg->seed = seed;
    cfg->pbuf_small_count = 4096;
}

static void world_new(struct world *w, const struct ps_sim_impair *imp, const struct ps_config *ca,
                      const struct ps_config *cb)
{
    memset(w, 0, sizeof(*w));
    cur = w;
    w->lfd = w->cfd = w->afd = -1;
    w->h_tx = w->h_rx = FNV_INIT;
    w->imp = *imp;
    w->sim = ps_sim_new(ca->seed * 7 + 1, T0); /* the loss pattern follows the seed */
    REQUIRE(w->sim);
    w->link = ps_sim_link_new(w->sim, imp);
    w->a = ps_stack_new(ca, T0);
    w->b = ps_stack_new(cb, T0);
    REQUIRE(w->link && w->a && w->b);
    ps_stack_set_name(w->a, "a");
    ps_stack_set_name(w->b, "b");
    struct ps_iface *ia = ps_sim_attach(w->link, w->a, "eth0", NULL, 1500);
    struct ps_iface *ib = ps_sim_attach(w->link, w->b, "eth0", NULL, 1500);
    REQUIRE(ia && ib && ps_iface_add_addr(ia, IP_A, 24) == 0 && ps_iface_add_addr(ib, IP_B, 24) == 0);
    REQUIRE(ps_sim_add_poller(w->sim, poller, w) == 0);
}

static void world_default(struct world *w, const struct ps_sim_impair *imp)
{
    struct ps_config ca, cb;
    cfg_init(&ca, 11);
    cfg_init(&cb, 22);
    world_new(w, imp, &ca, &cb);
}

static void world_free(struct world *w)
{
    ps_sim_remove_poller(w->sim, poller, w);
    if (w->cfd >= 0)
        ps_close(w->a, w->cfd);
    if (w->afd >= 0)
        ps_close(w->b, w->afd);
    if (w->lfd >= 0)
        ps_close(w->b, w->lfd);
    ps_stack_free(w->a);
    ps_stack_free(w->b);
    ps_sim_free(w->sim);
    cur = NULL;
}

static void set_int(struct ps_stack *s, int fd, int level, int name, int v)
{
    int rc = ps_setsockopt(s, fd, level, name, &v, sizeof(v));
    if (rc != 0)
        T_FAIL("setsockopt(%d, %d) = %d: %s", level, name, v, ps_strerror(rc));
}

static int get_int(struct ps_stack *s, int fd, int level, int name)
{
    int v = -1;
    size_t len = sizeof(v);
    int rc = ps_getsockopt(s, fd, level, name, &v, &len);
    return rc < 0 ? rc : v;
}

static struct ps_tcp_info info_of(struct ps_stack *s, int fd)
{
    struct ps_tcp_info ti;
    memset(&ti, 0, sizeof(ti));
    size_t len = sizeof(ti);
    int rc = ps_getsockopt(s, fd, PS_IPPROTO_TCP, PS_TCP_INFO, &ti, &len);
    if (rc != 0 || len != sizeof(ti))
        T_FAIL("PS_TCP_INFO: %s, len %zu", ps_strerror(rc), len);
    return ti;
}

static bool connected(void *ctx)
{
    struct world *w = ctx;
    return w->afd >= 0 && ps_poll(w->a, &(struct ps_pollfd){.fd = w->cfd, .events = PS_POLLOUT}, 1) > 0;
}

/* Listen on b (with the options `lopt` may set), connect from a; run
 * until both sides are established. */
static void open_conn(struct world *w, int sockbuf, const char *cc_client, const char *cc_listener)
{
    w->lfd = ps_socket(w->b, PS_SOCK_STREAM);
    w->cfd = ps_socket(w->a, PS_SOCK_STREAM);
    REQUIRE(w->lfd >= 0 && w->cfd >= 0);
    if (sockbuf) {
        set_int(w->b, w->lfd, PS_SOL_SOCKET, PS_SO_RCVBUF, sockbuf);
        set_int(w->b, w->lfd, PS_SOL_SOCKET, PS_SO_SNDBUF, sockbuf);
        set_int(w->a, w->cfd, PS_SOL_SOCKET, PS_SO_RCVBUF, sockbuf);
        set_int(w->a, w->cfd, PS_SOL_SOCKET, PS_SO_SNDBUF, sockbuf);
    }
    if (cc_client)
        REQUIRE(ps_setsockopt(w->a, w->cfd, PS_IPPROTO_TCP, PS_TCP_CONGESTION, cc_client, strlen(cc_client)) == 0);
    if (cc_listener)
        REQUIRE(ps_setsockopt(w->b, w->lfd, PS_IPPROTO_TCP, PS_TCP_CONGESTION, cc_listener, strlen(cc_listener)) ==
                0);
    struct ps_sockaddr_in any = {.addr = 0, .port = PORT}, to = {.addr = IP_B, .port = PORT};
    REQUIRE(ps_bind(w->b, w->lfd, &any) == 0);
    REQUIRE(ps_listen(w->b, w->lfd, 8) == 0);
    int rc = ps_connect(w->a, w->cfd, &to);
    REQUIRE(rc == 0 || rc == -EINPROGRESS);
    REQUIRE(ps_sim_run_while_not(w->sim, connected, w, ps_sim_now(w->sim) + PS_SEC(10)));
}

static bool transfer_done(void *ctx)
{
    struct world *w = ctx;
    return w->eof || w->tx_err || w->rx_err;
}

static long long stat_named(struct ps_stack *s, const char *name)
{
    for (unsigned i = 0; i < ps_stats_count(); i++)
        if (strcmp(ps_stats_name(i), name) == 0)
            return (long long)ps_stats_get(ps_stack_stats(s), i);
    return -1;
}

/* ---- the cube root ------------------------------------------------------------------------- */

TEST(integer_cube_root)
{
    static const uint64_t xs[] = {0, 1, 7, 8, 9, 26, 27, 28, 999, 1000, 1001, 1ull << 32, 123456789012345ull,
                                  UINT64_MAX, UINT64_MAX - 1, 18446724184312856125ull /* 2642245^3 */};
    for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
        uint64_t x = xs[i], y = ps_tcp_cubic_cbrt(x);
        /* y^3 <= x < (y+1)^3, in 128-bit-safe steps. */
        long double lx = (long double)x;
        if ((long double)y * y * y > lx || (long double)(y + 1) * (y + 1) * (y + 1) <= lx)
            T_FAIL("cbrt(%llu) = %llu", (unsigned long long)x, (unsigned long long)y);
    }
    for (uint64_t y = 0; y < 3000; y++) {
        CHECK_EQ(ps_tcp_cubic_cbrt(y * y * y), y);
        if (y)
            CHECK_EQ(ps_tcp_cubic_cbrt(y * y * y - 1), y - 1);
    }
}

/* ---- CUBIC's curve -------------------------------------------------------------------------- */

enum cubic_phase { PH_SLOWSTART, PH_DROPPED, PH_RECOVERY, PH_AVOID, PH_DONE };

struct curve {
    enum cubic_phase ph;
    ps_time_t t_drop, t_epoch;
    uint32_t mss, ssthresh, cwnd_epoch, cwnd_at_drop;
    double w_max, k;
    unsigned checked, bad, next_check;
    uint32_t max_cwnd_seen;
};

/* Check points, seconds after the epoch (before and after K). */
static const double check_at[] = {0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0};
#define NCHECK (sizeof(check_at) / sizeof(check_at[0]))

static double w_cubic(const struct curve *c, double t)
{
    return C_CUBIC * (t - c->k) * (t - c->k) * (t - c->k) * c->mss + c->w_max;
}

static void curve_sample(struct world *w)
{
    struct curve *c = w->sample_ctx;
    struct ps_tcp_info ti = info_of(w->a, w->cfd);
    ps_time_t now = ps_sim_now(w->sim);
    switch (c->ph) {
    case PH_SLOWSTART:
        break; /* the test body drops a frame */
    case PH_DROPPED:
        if (ti.ca_state == PS_TCPI_CA_RECOVERY) {
            c->ph = PH_RECOVERY;
            c->ssthresh = ti.ssthresh;
        } else if (now - c->t_drop > PS_MS(400)) {
            c->ph = PH_SLOWSTART; /* an ACK was lost, not data: again */
        }
        break;
    case PH_RECOVERY:
        if (ti.ca_state == PS_TCPI_CA_OPEN) {
            c->ph = PH_AVOID;
            c->t_epoch = now;
            c->cwnd_epoch = ti.cwnd;
            c->mss = ti.snd_mss;
            /* The first loss: W_max is the window at the loss, the
             * flight (slow start keeps them equal) of which ssthresh is
             * beta (RFC 9438 4.6). */
            c->w_max = c->ssthresh / BETA_CUBIC;
            c->k = c->w_max > c->cwnd_epoch ? dcbrt((c->w_max - c->cwnd_epoch) / (C_CUBIC * c->mss)) : 0;
            fprintf(stderr, "  loss at cwnd %u (ssthresh %u): W_max %.0f (%.1f segments), cwnd_epoch %u, K %.3f s\n",
                    c->cwnd_at_drop, c->ssthresh, c->w_max, c->w_max / c->mss, c->cwnd_epoch, c->k);
        }
        break;
    case PH_AVOID: {
        if (ti.ca_state != PS_TCPI_CA_OPEN) {
            T_FAIL("another congestion event at %.3f s", (double)(now - c->t_epoch) / 1e6);
            c->ph = PH_DONE;
            break;
        }
        double t = (double)(now - c->t_epoch) / 1e6;
        if (c->next_check < NCHECK && t >= check_at[c->next_check]) {
            double want = w_cubic(c, t);
            double tol = 0.05 * want + 3.0 * c->mss;
            bool ok = dabs((double)ti.cwnd - want) <= tol;
            fprintf(stderr, "  t %.3f s: cwnd %u (%.1f seg), W_cubic %.0f (%.1f seg)%s\n", t, ti.cwnd,
                    (double)ti.cwnd / c->mss, want, want / c->mss, ok ? "" : "  <-- off the curve");
            c->checked++;
            c->bad += !ok;
            c->next_check++;
        }
        if (c->next_check >= NCHECK)
            c->ph = PH_DONE;
        break;
    }
    case PH_DONE:
        break;
    }
}

static bool curve_phase_ready(void *ctx)
{
    struct world *w = ctx;
    struct curve *c = w->sample_ctx;
    if (c->ph != PH_SLOWSTART)
        return c->ph == PH_DONE;
    struct ps_tcp_info ti = info_of(w->a, w->cfd);
    return ti.snd_mss && ti.cwnd >= 300 * ti.snd_mss;
}

TEST(cubic_follows_rfc9438_curve)
{
    /* 100 ms RTT, no bandwidth limit: no loss but the one made here. */
    struct ps_sim_impair imp = {.delay = PS_MS(50)};
    struct world w;
    world_default(&w, &imp);
    open_conn(&w, 4 << 20, NULL, NULL);
    struct ps_tcp_info ti = info_of(w.a, w.cfd);
    CHECK(strcmp(ti.congestion, "cubic") == 0); /* the default */
    struct curve c;
    memset(&c, 0, sizeof(c));
    w.sample = curve_sample;
    w.sample_ctx = &c;
    w.total = UINT64_MAX / 2; /* as much as the window takes */
    ps_time_t limit = ps_sim_now(w.sim) + PS_SEC(40);
    for (int attempt = 0; attempt < 10 && c.ph != PH_DONE; attempt++) {
        /* Slow start up to 300 segments, then lose the next frame(s) the
         * link carries (one stack event's worth). */
        REQUIRE(ps_sim_run_while_not(w.sim, curve_phase_ready, &w, limit));
        if (c.ph == PH_DONE)
            break;
        c.cwnd_at_drop = info_of(w.a, w.cfd).cwnd;
        struct ps_sim_impair lossy = imp;
        lossy.loss = 1.0;
        uint64_t lost0 = ps_sim_link_stats(w.link)->frames_lost;
        ps_sim_link_set_impair(w.link, &lossy);
        while (ps_sim_link_stats(w.link)->frames_lost == lost0 && ps_sim_step(w.sim, limit))
            ;
        ps_sim_link_set_impair(w.link, &imp);
        c.ph = PH_DROPPED;
        c.t_drop = ps_sim_now(w.sim);
        REQUIRE(ps_sim_run_while_not(w.sim, curve_phase_ready, &w, ps_sim_now(w.sim) + PS_SEC(1)) || true);
        while (c.ph != PH_SLOWSTART && c.ph != PH_DONE && ps_sim_now(w.sim) < limit)
            ps_sim_run_for(w.sim, PS_MS(100));
    }
    CHECK(c.ph == PH_DONE);
    CHECK_EQ(c.checked, NCHECK);
    CHECK_EQ(c.bad, 0);
    CHECK_EQ(w.bad, 0);
    CHECK(!w.tx_err && !w.rx_err);
    world_free(&w);
}

/* ---- CUBIC and NewReno transfers ---------------------------------------------------------- */

static void lossy_transfer(const char *cc, uint64_t seed)
{
    struct ps_sim_impair imp = {.delay = PS_MS(5), .loss = 0.01, .reorder = 0.01, .reorder_delay = PS_MS(3),
                                .duplicate = 0.005};
    struct world w;
    struct ps_config ca, cb;
    cfg_init(&ca, seed);
    cfg_init(&cb, seed + 1);
    world_new(&w, &imp, &ca, &cb);
    open_conn(&w, 256 << 10, cc, cc);
    struct ps_tcp_info ta = info_of(w.a, w.cfd), tb = info_of(w.b, w.afd);
    CHECK(strcmp(ta.congestion, cc) == 0);
    CHECK(strcmp(tb.congestion, cc) == 0); /* the accepted socket has its listener's */
    w.total = 5u << 20;
    ps_time_t t0 = ps_sim_now(w.sim);
    bool done = ps_sim_run_while_not(w.sim, transfer_done, &w, t0 + PS_SEC(600));
    ta = info_of(w.a, w.cfd);
    fprintf(stderr, "  %s: %.1f MB in %.2f s virtual, %llu retransmitted segments, cwnd %u ssthresh %u\n", cc,
            (double)w.rcvd / 1e6, (double)(ps_sim_now(w.sim) - t0) / 1e6, (unsigned long long)ta.retransmits,
            ta.cwnd, ta.ssthresh);
    CHECK(done);
    CHECK(w.eof);
    CHECK_EQ(w.tx_err, 0);
    CHECK_EQ(w.rx_err, 0);
    CHECK_U64(w.rcvd, w.total);
    CHECK_U64(w.h_rx, w.h_tx);
    CHECK_EQ(w.bad, 0);
    CHECK(ta.retransmits > 0);
    CHECK(strcmp(ta.congestion, cc) == 0);
    world_free(&w);
}

TEST(cubic_and_newreno_transfer_byte_exact)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        lossy_transfer("cubic", seed * 100);
        lossy_transfer("newreno", seed * 100);
    }
}

/* ---- choosing the algorithm ---------------------------------------------------------------- */

TEST(congestion_option_switches_algorithm)
{
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    struct world w;
    struct ps_config ca, cb;
    cfg_init(&ca, 5);
    cfg_init(&cb, 6);
    snprintf(cb.tcp_congestion, sizeof(cb.tcp_congestion), "newreno"); /* b's default */
    world_new(&w, &imp, &ca, &cb);
    open_conn(&w, 0, NULL, NULL);
    CHECK(strcmp(info_of(w.a, w.cfd).congestion, "cubic") == 0);
    CHECK(strcmp(info_of(w.b, w.afd).congestion, "newreno") == 0);

    /* getsockopt gives the name; an unknown one is refused. */
    char name[PS_TCP_CC_NAME_MAX];
    size_t len = sizeof(name);
    CHECK_EQ(ps_getsockopt(w.a, w.cfd, PS_IPPROTO_TCP, PS_TCP_CONGESTION, name, &len), 0);
    CHECK(strcmp(name, "cubic") == 0);
    CHECK_EQ(ps_setsockopt(w.a, w.cfd, PS_IPPROTO_TCP, PS_TCP_CONGESTION, "vegas", 5), -ENOENT);
    CHECK_EQ(ps_setsockopt(w.a, w.cfd, PS_IPPROTO_TCP, PS_TCP_INFO, name, sizeof(name)), -ENOPROTOOPT);

    /* Switch a live connection both ways: the window is kept. */
    w.total = 1 << 20;
    ps_sim_run_for(w.sim, PS_MS(50));
    struct ps_tcp_info before = info_of(w.a, w.cfd);
    CHECK_EQ(ps_setsockopt(w.a, w.cfd, PS_IPPROTO_TCP, PS_TCP_CONGESTION, "newreno", 7), 0);
    struct ps_tcp_info after = info_of(w.a, w.cfd);
    CHECK(strcmp(after.congestion, "newreno") == 0);
    CHECK_EQ(after.cwnd, before.cwnd);
    CHECK_EQ(ps_setsockopt(w.b, w.afd, PS_IPPROTO_TCP, PS_TCP_CONGESTION, "cubic\0junk", 10), 0);
    CHECK(strcmp(info_of(w.b, w.afd).congestion, "cubic") == 0);
    CHECK(ps_sim_run_while_not(w.sim, transfer_done, &w, ps_sim_now(w.sim) + PS_SEC(30)));
    CHECK_U64(w.rcvd, w.total);
    CHECK_U64(w.h_rx, w.h_tx);
    world_free(&w);

    /* An unknown stack default is refused at creation. */
    struct ps_config bad;
    cfg_init(&bad, 7);
    snprintf(bad.tcp_congestion, sizeof(bad.tcp_congestion), "bbr");
    struct ps_stack *s = ps_stack_new(&bad, T0);
    CHECK(s == NULL);
    if (s)
        ps_stack_free(s);
}

/* ---- keepalive ------------------------------------------------------------------------------- */

#define KA_IDLE 10
#define KA_INTVL 2
#define KA_CNT 3

static void keepalive_on(struct world *w)
{
    set_int(w->a, w->cfd, PS_SOL_SOCKET, PS_SO_KEEPALIVE, 1);
    set_int(w->a, w->cfd, PS_IPPROTO_TCP, PS_TCP_KEEPIDLE, KA_IDLE);
    set_int(w->a, w->cfd, PS_IPPROTO_TCP, PS_TCP_KEEPINTVL, KA_INTVL);
    set_int(w->a, w->cfd, PS_IPPROTO_TCP, PS_TCP_KEEPCNT, KA_CNT);
}

TEST(keepalive_defaults_and_bounds)
{
    struct ps_config cfg;
    cfg_init(&cfg, 1);
    struct ps_stack *s = ps_stack_new(&cfg, T0);
    REQUIRE(s);
    int fd = ps_socket(s, PS_SOCK_STREAM);
    REQUIRE(fd >= 0);
    CHECK_EQ(get_int(s, fd, PS_SOL_SOCKET, PS_SO_KEEPALIVE), 0); /* off by default */
    CHECK(get_int(s, fd, PS_IPPROTO_TCP, PS_TCP_KEEPIDLE) >= 7200); /* RFC 1122: >= 2 h */
    CHECK_EQ(get_int(s, fd, PS_IPPROTO_TCP, PS_TCP_KEEPINTVL), PS_DEFAULT_TCP_KEEPINTVL_S);
    CHECK_EQ(get_int(s, fd, PS_IPPROTO_TCP, PS_TCP_KEEPCNT), PS_DEFAULT_TCP_KEEPCNT);
    CHECK_EQ(get_int(s, fd, PS_IPPROTO_TCP, PS_TCP_USER_TIMEOUT), 0);
    int v = 0;
    CHECK_EQ(ps_setsockopt(s, fd, PS_IPPROTO_TCP, PS_TCP_KEEPIDLE, &v, sizeof(v)), -EINVAL);
    v = PS_TCP_KEEPIDLE_MAX_S + 1;
    CHECK_EQ(ps_setsockopt(s, fd, PS_IPPROTO_TCP, PS_TCP_KEEPIDLE, &v, sizeof(v)), -EINVAL);
    v = PS_TCP_KEEPCNT_MAX + 1;
    CHECK_EQ(ps_setsockopt(s, fd, PS_IPPROTO_TCP, PS_TCP_KEEPCNT, &v, sizeof(v)), -EINVAL);
    v = -1;
    CHECK_EQ(ps_setsockopt(s, fd, PS_IPPROTO_TCP, PS_TCP_USER_TIMEOUT, &v, sizeof(v)), -EINVAL);
    v = 1;
    CHECK_EQ(ps_setsockopt(s, fd, PS_SOL_SOCKET, PS_SO_KEEPALIVE, &v, sizeof(v)), 0);
    CHECK_EQ(get_int(s, fd, PS_SOL_SOCKET, PS_SO_KEEPALIVE), 1);
    int ufd = ps_socket(s, PS_SOCK_DGRAM);
    CHECK_EQ(ps_setsockopt(s, ufd, PS_IPPROTO_TCP, PS_TCP_KEEPIDLE, &v, sizeof(v)), -ENOPROTOOPT);
    ps_close(s, ufd);
    ps_close(s, fd);
    ps_stack_free(s);
}

TEST(keepalive_answered_keeps_connection)
{
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    struct world w;
    world_default(&w, &imp);
    open_conn(&w, 0, NULL, NULL);
    keepalive_on(&w);
    ps_sim_run_for(w.sim, PS_SEC(KA_IDLE) - PS_MS(100));
    CHECK_EQ(stat_named(w.a, "tcp_keepalive_probes"), 0);
    ps_sim_run_for(w.sim, PS_MS(200));
    CHECK_EQ(stat_named(w.a, "tcp_keepalive_probes"), 1);
    /* Each answer starts the idle time again: one probe per idle time. */
    ps_sim_run_for(w.sim, PS_SEC(5 * KA_IDLE));
    long long probes = stat_named(w.a, "tcp_keepalive_probes");
    CHECK(probes >= 5 && probes <= 7);
    CHECK_EQ(stat_named(w.a, "tcp_keepalive_timeout"), 0);
    struct ps_tcp_info ti = info_of(w.a, w.cfd);
    CHECK_EQ(ti.state, PS_TCPI_ESTABLISHED);
    CHECK_EQ(ti.keepalive_probes, 0);
    CHECK_EQ(get_int(w.a, w.cfd, PS_SOL_SOCKET, PS_SO_ERROR), 0);
    world_free(&w);
}

TEST(keepalive_unanswered_times_out)
{
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    struct world w;
    world_default(&w, &imp);
    open_conn(&w, 0, NULL, NULL);
    keepalive_on(&w);
    /* The peer vanishes: every frame is lost from now on. */
    struct ps_sim_impair dead = imp;
    dead.loss = 1.0;
    ps_sim_link_set_impair(w.link, &dead);
    ps_time_t t0 = ps_sim_now(w.sim);
    ps_time_t t_dead = t0 + PS_SEC(KA_IDLE + KA_INTVL * KA_CNT);
    ps_sim_run_until(w.sim, t_dead - PS_MS(100));
    CHECK_EQ(stat_named(w.a, "tcp_keepalive_probes"), KA_CNT);
    CHECK_EQ(info_of(w.a, w.cfd).state, PS_TCPI_ESTABLISHED);
    CHECK_EQ(info_of(w.a, w.cfd).keepalive_probes, KA_CNT);
    ps_sim_run_until(w.sim, t_dead + PS_MS(100));
    CHECK_EQ(stat_named(w.a, "tcp_keepalive_timeout"), 1);
    uint8_t buf[16];
    CHECK_EQ(ps_recv(w.a, w.cfd, buf, sizeof(buf), 0), -ETIMEDOUT);
    CHECK(ps_send(w.a, w.cfd, buf, sizeof(buf), 0) < 0);
    CHECK_EQ(info_of(w.a, w.cfd).state, PS_TCPI_CLOSED);
    world_free(&w);
}

/* ---- user timeout ------------------------------------------------------------------------------ */

TEST(user_timeout_aborts)
{
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    struct world w;
    world_default(&w, &imp);
    open_conn(&w, 0, NULL, NULL);
    set_int(w.a, w.cfd, PS_IPPROTO_TCP, PS_TCP_USER_TIMEOUT, 3000);
    CHECK_EQ(get_int(w.a, w.cfd, PS_IPPROTO_TCP, PS_TCP_USER_TIMEOUT), 3000);
    struct ps_sim_impair dead = imp;
    dead.loss = 1.0;
    ps_sim_link_set_impair(w.link, &dead);
    uint8_t buf[1000];
    gen(0, buf, sizeof(buf));
    ps_time_t t0 = ps_sim_now(w.sim);
    CHECK_EQ(ps_send(w.a, w.cfd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    ps_sim_run_until(w.sim, t0 + PS_MS(2900));
    CHECK_EQ(info_of(w.a, w.cfd).state, PS_TCPI_ESTABLISHED);
    CHECK(info_of(w.a, w.cfd).backoff >= 1);
    ps_sim_run_until(w.sim, t0 + PS_MS(3100));
    CHECK_EQ(info_of(w.a, w.cfd).state, PS_TCPI_CLOSED);
    CHECK_EQ(stat_named(w.a, "tcp_user_timeout"), 1);
    CHECK_EQ(get_int(w.a, w.cfd, PS_SOL_SOCKET, PS_SO_ERROR), ETIMEDOUT);
    world_free(&w);
}

/* ---- PS_TCP_INFO and ss -ti --------------------------------------------------------------------- */

static bool all_acked(void *ctx)
{
    struct world *w = ctx;
    struct ps_tcp_info ti = info_of(w->a, w->cfd);
    return w->eof && ti.unacked == 0;
}

TEST(tcp_info_after_transfer_and_ss)
{
    /* 40 ms RTT. */
    struct ps_sim_impair imp = {.delay = PS_MS(20)};
    struct world w;
    world_default(&w, &imp);
    open_conn(&w, 512 << 10, NULL, NULL);
    w.total = 3000000;
    REQUIRE(ps_sim_run_while_not(w.sim, all_acked, &w, ps_sim_now(w.sim) + PS_SEC(60)));
    CHECK_U64(w.rcvd, w.total);
    CHECK_U64(w.h_rx, w.h_tx);
    struct ps_tcp_info ta = info_of(w.a, w.cfd), tb = info_of(w.b, w.afd);
    CHECK_U64(ta.bytes_sent, w.total);
    CHECK_U64(ta.bytes_acked, ta.bytes_sent);
    CHECK_U64(tb.bytes_received, w.total);
    CHECK_U64(tb.bytes_sent, 0);
    CHECK(ta.srtt_us >= 40000 && ta.srtt_us <= 50000);
    CHECK(ta.rto_us >= ta.srtt_us);
    CHECK(ta.segs_out >= w.total / ta.snd_mss);
    CHECK(tb.segs_in >= w.total / ta.snd_mss);
    CHECK(ta.segs_in > 0 && tb.segs_out > 0);
    CHECK_EQ(ta.retransmits, 0);
    CHECK_EQ(ta.options & (PS_TCPI_OPT_TIMESTAMPS | PS_TCPI_OPT_SACK | PS_TCPI_OPT_WSCALE),
             PS_TCPI_OPT_TIMESTAMPS | PS_TCPI_OPT_SACK | PS_TCPI_OPT_WSCALE);
    CHECK(ta.rcv_wscale > 0); /* 512 KiB needs a scale */
    CHECK_EQ(ta.snd_mss, 1448); /* 1460 less the timestamps */
    CHECK_EQ(ta.rcv_mss, 1460);
    CHECK(ta.cwnd >= 10 * ta.snd_mss);
    CHECK(ta.snd_wnd > 0);
    CHECK_EQ(ta.state, PS_TCPI_FIN_WAIT_2);
    CHECK(strcmp(ta.congestion, "cubic") == 0);
    fprintf(stderr, "  srtt %u us rttvar %u us rto %u us cwnd %u segs_out %llu\n", ta.srtt_us, ta.rttvar_us,
            ta.rto_us, ta.cwnd, (unsigned long long)ta.segs_out);

    /* A short buffer gets the start of the struct. */
    uint8_t part[4] = {0};
    size_t plen = sizeof(part);
    CHECK_EQ(ps_getsockopt(w.a, w.cfd, PS_IPPROTO_TCP, PS_TCP_INFO, part, &plen), 0);
    CHECK_EQ(plen, sizeof(part));
    CHECK_EQ(part[0], PS_TCPI_FIN_WAIT_2);

    /* ss -ti: the same figures on the line under the connection. */
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    REQUIRE(f);
    ps_ss_print(w.a, f, PS_SS_NUMERIC | PS_SS_INFO);
    fclose(f);
    fprintf(stderr, "%s", text);
    char want[128];
    snprintf(want, sizeof(want), "bytes_acked:%llu", (unsigned long long)ta.bytes_acked);
    CHECK(strstr(text, want) != NULL);
    snprintf(want, sizeof(want), "bytes_sent:%llu", (unsigned long long)ta.bytes_sent);
    CHECK(strstr(text, want) != NULL);
    snprintf(want, sizeof(want), "mss:%u rcvmss:%u", ta.snd_mss, ta.rcv_mss);
    CHECK(strstr(text, want) != NULL);
    snprintf(want, sizeof(want), "rtt:%u.%03u/", ta.srtt_us / 1000, ta.srtt_us % 1000);
    CHECK(strstr(text, want) != NULL);
    CHECK(strstr(text, "\t ts sack cubic wscale:") != NULL);
    free(text);
    /* Without the flag, no figures. */
    text = NULL;
    f = open_memstream(&text, &tlen);
    REQUIRE(f);
    ps_ss_print(w.a, f, PS_SS_NUMERIC);
    fclose(f);
    CHECK(strstr(text, "bytes_acked") == NULL);
    free(text);
    world_free(&w);
}

int main(void)
{
    RUN(integer_cube_root);
    RUN(cubic_follows_rfc9438_curve);
    RUN(cubic_and_newreno_transfer_byte_exact);
    RUN(congestion_option_switches_algorithm);
    RUN(keepalive_defaults_and_bounds);
    RUN(keepalive_answered_keeps_connection);
    RUN(keepalive_unanswered_times_out);
    RUN(user_timeout_aborts);
    RUN(tcp_info_after_transfer_and_ss);
    TEST_END();
}
