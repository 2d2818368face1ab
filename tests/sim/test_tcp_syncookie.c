/*
 * SYN cookies (src/transport/tcp_syncookie.c).
 *
 * Host b (192.0.2.2) listens; host a (192.0.2.1) is a real client on the
 * simulated link.  b has a second interface, "probe" (198.51.100.1/24),
 * whose frames this test writes and reads itself: SYNs from spoofed
 * sources in 198.51.100.0/24 that are never answered fill the listener's
 * half-open queue, and a hand-made client at 198.51.100.50 sends exactly
 * the options a case needs and reads b's SYN-ACK.
 *
 *   - with the queue full, a still connects (cookies) and moves data both
 *     ways byte-exact; MSS, window scale, SACK-permitted and timestamps
 *     are all in use on both ends;
 *   - a SYN without timestamps gets a SYN-ACK with the MSS only, and the
 *     rebuilt connection has the MSS from the cookie and nothing else;
 *   - a SYN with timestamps, window scale 7 and SACK: the rebuilt
 *     connection has all three; data on the completing ACK is delivered;
 *   - a forged ACK (wrong cookie) and an old one (past the cookie's age)
 *     are refused with RST and counted; nothing reaches accept();
 *   - with cookies off, the SYN beyond the queue is dropped (counted).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "socket/sockets.h"
#include "tcp_sim.h"

#define IP_SPOOF(i) (PS_IP4(198, 51, 100, 100) + (ps_ip4_t)(i)) /* .100 .. .199 */
#define T0 PS_SEC(100)
#define PORT 7070
#define SYNQ 16          /* b's half-open queue in these tests */
#define FLOOD (SYNQ + 40) /* spoofed SYNs: the queue and then some */

/* a and b (two_hosts.h); what b sends the hand client (tests/tcp_sim.h). */
static struct hand_probe probe;

static bool world_new(struct two_hosts *w, bool cookies)
{
    static const struct ps_sim_impair wire = {.delay = PS_MS(1)};
    struct ps_config ca, cb;
    two_hosts_config(&ca, 11);
    two_hosts_config(&cb, 22);
    cb.tcp_synq_max = SYNQ;
    cb.tcp_syncookies = cookies;
    return two_hosts_new_at(w, 77, T0, &ca, &cb, &wire) && hand_probe_attach(&probe, w, IP_HAND);
}

/* n SYNs from spoofed sources, never answered. */
static void flood(struct two_hosts *w, unsigned n, uint16_t base_port)
{
    for (unsigned i = 0; i < n; i++) {
        struct ps_tcp_hdr th = {.sport = (uint16_t)(base_port + i), .dport = PORT, .seq = 1000u * i + 7,
                                .flags = PS_TCP_SYN, .window = 65535};
        th.opt.has_mss = true;
        th.opt.mss = 1460;
        hand_inject(&probe, IP_SPOOF(i % 100), &th, NULL, 0);
    }
    ps_sim_run_for(w->sim, PS_MS(1));
}

static struct ps_tcb *tcb_of(struct ps_stack *s, int fd)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    return sk && sk->type == PS_SOCK_STREAM ? &sk->u.stream.tcb : NULL;
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

/* ---- a real client through cookies ----------------------------------------------------- */

struct xfer {
    struct ps_stack *a, *b;
    int cfd, afd;
    uint64_t total, a_sent, b_rcvd, b_sent, a_rcvd, bad;
    uint8_t echo[8192]; /* b: read, not yet all echoed */
    size_t e_off, e_len;
};

static ps_time_t xfer_poll(void *ctx, ps_time_t now)
{
    struct xfer *x = ctx;
    uint8_t buf[8192];
    while (x->a_sent < x->total) {
        size_t n = sizeof(buf);
        if (x->total - x->a_sent < n)
            n = (size_t)(x->total - x->a_sent);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(x->a_sent + i);
        ssize_t k = ps_send(x->a, x->cfd, buf, n, 0);
        if (k <= 0)
            break;
        x->a_sent += (uint64_t)k;
    }
    /* b echoes what it reads; what its send buffer does not take yet
     * (flow control: a reads only once a millisecond) waits, and b reads
     * nothing more until it has gone. */
    ssize_t k;
    for (;;) {
        while (x->e_off < x->e_len) {
            ssize_t e = ps_send(x->b, x->afd, x->echo + x->e_off, x->e_len - x->e_off, 0);
            if (e <= 0)
                break;
            x->e_off += (size_t)e;
            x->b_sent += (uint64_t)e;
        }
        if (x->e_off < x->e_len || (k = ps_recv(x->b, x->afd, x->echo, sizeof(x->echo), 0)) <= 0)
            break;
        for (ssize_t i = 0; i < k; i++)
            x->bad += x->echo[i] != pattern(x->b_rcvd + (uint64_t)i);
        x->b_rcvd += (uint64_t)k;
        x->e_off = 0;
        x->e_len = (size_t)k;
    }
    while ((k = ps_recv(x->a, x->cfd, buf, sizeof(buf), 0)) > 0) {
        for (ssize_t i = 0; i < k; i++)
            x->bad += buf[i] != pattern(x->a_rcvd + (uint64_t)i);
        x->a_rcvd += (uint64_t)k;
    }
    return now + PS_MS(1);
}

static bool xfer_done(void *ctx)
{
    struct xfer *x = ctx;
    return x->a_rcvd == x->total;
}

TEST(flood_then_real_client)
{
    struct two_hosts w;
    REQUIRE(world_new(&w, true));
    int lfd = stream_listener(w.b, PORT, 128);
    REQUIRE(lfd >= 0);
    flood(&w, FLOOD, 20000);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_sent"), FLOOD - SYNQ);
    CHECK_EQ(stat_of(w.b, "tcp_synq_overflow"), 0);
    CHECK_EQ(ps_accept(w.b, lfd, NULL), -EAGAIN);

    int cfd = ps_socket(w.a, PS_SOCK_STREAM);
    REQUIRE(cfd >= 0);
    struct ps_sockaddr_in to = {.addr = IP_B, .port = PORT};
    int rc = ps_connect(w.a, cfd, &to);
    CHECK(rc == -EINPROGRESS || rc == 0);
    ps_sim_run_for(w.sim, PS_MS(50));
    int afd = ps_accept(w.b, lfd, NULL);
    CHECK(afd >= 0);
    REQUIRE(afd >= 0);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_sent"), FLOOD - SYNQ + 1);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_ok"), 1);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_failed"), 0);

    /* Every option survived the cookie, on both ends. */
    struct ps_tcb *tb = tcb_of(w.b, afd), *ta = tcb_of(w.a, cfd);
    REQUIRE(tb && ta);
    CHECK(tb->ts_ok && tb->ws_ok && tb->sack_ok);
    CHECK(ta->ts_ok && ta->ws_ok && ta->sack_ok);
    CHECK_EQ(tb->snd_wscale, ta->rcv_wscale);
    CHECK_EQ(ta->snd_wscale, tb->rcv_wscale);
    CHECK_EQ(tb->mss, 1460);
    CHECK_EQ(ta->mss, 1460);
    fprintf(stderr, "  cookie connection: mss %u/%u, wscale %u/%u, ts %d, sack %d\n", tb->mss, ta->mss,
            tb->snd_wscale, tb->rcv_wscale, tb->ts_ok, tb->sack_ok);

    /* 1 MB each way through the rebuilt connection, byte-exact. */
    struct xfer x = {.a = w.a, .b = w.b, .cfd = cfd, .afd = afd, .total = 1u << 20};
    ps_sim_add_poller(w.sim, xfer_poll, &x);
    CHECK(ps_sim_run_while_not(w.sim, xfer_done, &x, ps_sim_now(w.sim) + PS_SEC(60)));
    ps_sim_remove_poller(w.sim, xfer_poll, &x);
    CHECK_EQ(x.b_rcvd, x.total);
    CHECK_EQ(x.a_rcvd, x.total);
    CHECK_EQ(x.bad, 0);
    ps_close(w.a, cfd);
    ps_close(w.b, afd);
    ps_close(w.b, lfd);
    two_hosts_free(&w);
}

/* ---- a hand-made client: exactly the options a case wants ------------------------------- */

/* Send a SYN from the hand client; returns b's SYN-ACK (NULL if none). */
static const struct hand_seg *hand_syn(uint16_t sport, uint32_t isn, const struct ps_tcp_opts *o)
{
    struct ps_tcp_hdr th = {.sport = sport, .dport = PORT, .seq = isn, .flags = PS_TCP_SYN, .window = 65535};
    th.opt = *o;
    hand_exchange(&probe, &th, NULL, 0);
    return hand_last_with(&probe, PS_TCP_SYN | PS_TCP_ACK);
}

static void hand_ack(uint16_t sport, uint32_t seq, uint32_t ack, const struct ps_tcp_opts *o,
                     const void *data, size_t dlen)
{
    struct ps_tcp_hdr th = {.sport = sport, .dport = PORT, .seq = seq, .ack = ack,
                            .flags = (uint8_t)(PS_TCP_ACK | (dlen ? PS_TCP_PSH : 0)), .window = 1000};
    if (o)
        th.opt = *o;
    hand_exchange(&probe, &th, data, dlen);
}

TEST(cookie_without_timestamps_keeps_mss_only)
{
    struct two_hosts w;
    REQUIRE(world_new(&w, true));
    int lfd = stream_listener(w.b, PORT, 128);
    REQUIRE(lfd >= 0);
    flood(&w, SYNQ, 20000);
    struct ps_tcp_opts o = {.has_mss = true, .mss = 1300, .has_wscale = true, .wscale = 7, .sack_permitted = true};
    const struct hand_seg *sa = hand_syn(40000, 5000, &o);
    REQUIRE(sa);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_sent"), 1);
    CHECK_EQ(sa->th.ack, 5001);
    CHECK(sa->th.opt.has_mss);
    CHECK(!sa->th.opt.has_wscale);     /* cannot be encoded without timestamps */
    CHECK(!sa->th.opt.sack_permitted);
    CHECK(!sa->th.opt.has_timestamp);
    uint32_t cookie = sa->th.seq;
    /* The ACK brings the cookie back, with data on it. */
    hand_ack(40000, 5001, cookie + 1, NULL, "hello", 5);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_ok"), 1);
    int afd = ps_accept(w.b, lfd, NULL);
    REQUIRE(afd >= 0);
    struct ps_tcb *tb = tcb_of(w.b, afd);
    REQUIRE(tb);
    CHECK_EQ(tb->mss, 1300);
    CHECK(!tb->ws_ok && !tb->sack_ok && !tb->ts_ok);
    CHECK_EQ(tb->snd_wscale, 0);
    CHECK_EQ(tb->rcv_wscale, 0);
    char buf[16];
    CHECK_EQ(ps_recv(w.b, afd, buf, sizeof(buf), 0), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    /* b's answer reaches the hand client with the right numbers. */
    probe.ncap = 0;
    CHECK_EQ(ps_send(w.b, afd, "world", 5, 0), 5);
    ps_sim_run_for(w.sim, PS_MS(1));
    const struct hand_seg *d = hand_last_with(&probe, PS_TCP_ACK);
    REQUIRE(d);
    CHECK_EQ(d->th.seq, cookie + 1);
    CHECK_EQ(d->th.ack, 5006);
    CHECK_EQ(d->dlen, 5);
    ps_close(w.b, afd);
    ps_close(w.b, lfd);
    two_hosts_free(&w);
}

TEST(cookie_with_timestamps_keeps_wscale_sack)
{
    struct two_hosts w;
    REQUIRE(world_new(&w, true));
    int lfd = stream_listener(w.b, PORT, 128);
    REQUIRE(lfd >= 0);
    flood(&w, SYNQ, 20000);
    struct ps_tcp_opts o = {.has_mss = true, .mss = 1452, .has_wscale = true, .wscale = 7, .sack_permitted = true,
                            .has_timestamp = true, .tsval = 123456, .tsecr = 0};
    const struct hand_seg *sa = hand_syn(40001, 9000, &o);
    REQUIRE(sa);
    CHECK(sa->th.opt.has_mss && sa->th.opt.has_wscale && sa->th.opt.sack_permitted && sa->th.opt.has_timestamp);
    CHECK_EQ(sa->th.opt.tsecr, 123456);
    CHECK_EQ(sa->th.opt.tsval & 0xf, 7);      /* the client's window scale ... */
    CHECK_EQ((sa->th.opt.tsval >> 4) & 1, 1); /* ... and SACK-permitted, in the TSval */
    uint32_t cookie = sa->th.seq;
    uint8_t our_ws = sa->th.opt.has_wscale ? sa->th.opt.wscale : 0;
    struct ps_tcp_opts ao = {.has_timestamp = true, .tsval = 123460, .tsecr = sa->th.opt.tsval};
    hand_ack(40001, 9001, cookie + 1, &ao, NULL, 0);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_ok"), 1);
    int afd = ps_accept(w.b, lfd, NULL);
    REQUIRE(afd >= 0);
    struct ps_tcb *tb = tcb_of(w.b, afd);
    REQUIRE(tb);
    CHECK_EQ(tb->mss, 1440); /* the table's entry at or below 1452 */
    CHECK(tb->ws_ok && tb->sack_ok && tb->ts_ok);
    CHECK_EQ(tb->snd_wscale, 7);
    CHECK_EQ(tb->rcv_wscale, our_ws);
    CHECK_EQ(tb->ts_recent, 123460);
    /* b's timestamps go on from the SYN-ACK's, never back. */
    probe.ncap = 0;
    CHECK_EQ(ps_send(w.b, afd, "x", 1, 0), 1);
    ps_sim_run_for(w.sim, PS_MS(1));
    const struct hand_seg *d = hand_last_with(&probe, PS_TCP_ACK);
    REQUIRE(d);
    CHECK(d->th.opt.has_timestamp);
    CHECK((int32_t)(d->th.opt.tsval - sa->th.opt.tsval) >= 0);
    CHECK_EQ(d->th.opt.tsecr, 123460);
    ps_close(w.b, afd);
    ps_close(w.b, lfd);
    two_hosts_free(&w);
}

TEST(forged_and_old_cookies_refused)
{
    struct two_hosts w;
    REQUIRE(world_new(&w, true));
    int lfd = stream_listener(w.b, PORT, 128);
    REQUIRE(lfd >= 0);
    flood(&w, SYNQ, 20000);
    struct ps_tcp_opts o = {.has_mss = true, .mss = 1460};
    const struct hand_seg *sa = hand_syn(40002, 777, &o);
    REQUIRE(sa);
    uint32_t cookie = sa->th.seq;
    /* Forged: the MSS field past the table, the hash bits changed, the
     * clock field moved, and a blind guess.  (An ISN a few below the
     * cookie decodes to a smaller MSS entry, as Linux's does: the cookie
     * authenticates the quadruple, not the exact MSS.) */
    uint32_t forged[] = {cookie + 1 + 4, cookie + 1 + 0x1000u, (cookie + 1) ^ 0x00800000u, cookie + 1 + 0x01000000u,
                         0x12345678u};
    for (unsigned i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
        hand_ack(40002, 778, forged[i], NULL, NULL, 0);
        const struct hand_seg *r = hand_last_with(&probe, PS_TCP_RST);
        CHECK(r != NULL);
        if (r)
            CHECK_EQ(r->th.seq, forged[i]);
    }
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_failed"), 5);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_ok"), 0);
    CHECK_EQ(ps_accept(w.b, lfd, NULL), -EAGAIN);
    /* A spoofed-source ACK for a cookie sent to someone else fails too. */
    struct ps_tcp_hdr th = {.sport = 40002, .dport = PORT, .seq = 778, .ack = cookie + 1, .flags = PS_TCP_ACK,
                            .window = 1000};
    hand_inject(&probe, IP_SPOOF(7), &th, NULL, 0);
    ps_sim_run_for(w.sim, PS_MS(1));
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_failed"), 6);

    /* Old: the right cookie after 200 s (the cookie lives two 64 s ticks).
     * Flood again just before so the listener counts as under attack. */
    ps_sim_run_for(w.sim, PS_SEC(200));
    flood(&w, SYNQ + 1, 30000);
    long long failed = stat_of(w.b, "tcp_syncookies_failed");
    hand_ack(40002, 778, cookie + 1, NULL, NULL, 0);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_failed"), failed + 1);
    CHECK(hand_last_with(&probe, PS_TCP_RST) != NULL);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_ok"), 0);
    CHECK_EQ(ps_accept(w.b, lfd, NULL), -EAGAIN);
    /* A fresh cookie still works. */
    sa = hand_syn(40003, 5555, &o);
    REQUIRE(sa);
    hand_ack(40003, 5556, sa->th.seq + 1, NULL, NULL, 0);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_ok"), 1);
    int afd = ps_accept(w.b, lfd, NULL);
    CHECK(afd >= 0);
    ps_close(w.b, afd);
    ps_close(w.b, lfd);
    two_hosts_free(&w);
}

TEST(cookies_off_drop)
{
    struct two_hosts w;
    REQUIRE(world_new(&w, false));
    int lfd = stream_listener(w.b, PORT, 128);
    REQUIRE(lfd >= 0);
    flood(&w, SYNQ, 20000);
    struct ps_tcp_opts o = {.has_mss = true, .mss = 1460};
    CHECK(hand_syn(40004, 1, &o) == NULL);
    CHECK_EQ(stat_of(w.b, "tcp_syncookies_sent"), 0);
    CHECK_EQ(stat_of(w.b, "tcp_synq_overflow"), 1);
    ps_close(w.b, lfd);
    two_hosts_free(&w);
}

int main(void)
{
    RUN(flood_then_real_client);
    RUN(cookie_without_timestamps_keeps_mss_only);
    RUN(cookie_with_timestamps_keeps_wscale_sack);
    RUN(forged_and_old_cookies_refused);
    RUN(cookies_off_drop);
    TEST_END();
}
