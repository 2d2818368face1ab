/*
 * tests/unit/test_tcp_orphan.c - a closed socket's connection facing a
 * window held shut (the FIN-WAIT-1 exhaustion attack), from a scripted peer
 * (tests/tcp_peer.h).
 *
 * An open socket's connection probes a zero window for as long as the peer
 * answers (RFC 9293 3.8.6.1; test_tcp_states.c holds one ten minutes).
 * Once its socket is closed nobody will read or add to it, and a peer
 * that answers every probe with a zero window would hold its entry and
 * buffers forever: after tcp_orphan_probes probes it is reset (RFC 6429,
 * as Linux's tcp_orphan_retries).  A window that opens in time lets
 * everything, FIN included, go out as usual.
 */
#include <errno.h>

#include <portstack/gauges.h>

#include "tcp_peer.h"

#define HELD 20000 /* bytes queued behind the shut window */
#define PROBES 5   /* tcp_orphan_probes in these tests */

/* A connection whose peer took 4000 bytes and shut its window, with HELD
 * more bytes queued. */
static void shut_window(struct conn *c, uint8_t *data)
{
    struct ps_config cfg;
    tcp_cfg(&cfg);
    cfg.tcp_orphan_probes = PROBES;
    conn_passive(c, &cfg);
    struct net *n = c->n;
    struct tcp_seg g;
    int one = 1;
    REQUIRE(ps_setsockopt(n->s, c->fd, PS_IPPROTO_TCP, PS_TCP_NODELAY, &one, sizeof one) == 0);
    tcp_pattern(data, 4000 + HELD, 41);
    CHECK_EQ(ps_send(n->s, c->fd, data, 4000, 0), 4000);
    EXPECT_SEG(&c->p, &g, A, c->iss + 1, PISS + 1, 1448);
    EXPECT_SEG(&c->p, &g, A, c->iss + 1449, PISS + 1, 1448);
    EXPECT_SEG(&c->p, &g, A, c->iss + 2897, PISS + 1, 1104);
    c->p.win = 0;
    peer_send(&c->p, A, NULL, 0);
    CHECK_EQ(ps_send(n->s, c->fd, data + 4000, HELD, 0), HELD);
    EXPECT_NONE(&c->p);
}

/* Run the timers for up to `secs`, the peer answering every probe with its
 * window still shut; returns the probes seen, and sets *rst when a reset
 * came instead. */
static unsigned answer_probes(struct conn *c, unsigned secs, bool *rst)
{
    struct net *n = c->n;
    struct tcp_seg g;
    ps_time_t end = n->now + PS_SEC(secs);
    unsigned probes = 0;
    *rst = false;
    for (int guard = 0; guard < 100000 && !*rst; guard++) {
        ps_time_t d = ps_stack_next_deadline(n->s);
        if (d == PS_TIME_NEVER || d > end)
            break;
        net_poll(n, d);
        while (peer_next(&c->p, &g)) {
            if (g.h.flags & PS_TCP_RST) {
                *rst = true;
                break;
            }
            probes++;
            c->p.rcv_nxt = c->iss + 4001; /* takes nothing, not even a probe's byte */
            c->p.sink_len = 0;
            peer_send(&c->p, A, NULL, 0);
        }
        peer_forget(&c->p);
    }
    return probes;
}

static uint64_t sockets_now(struct net *n)
{
    struct ps_gauge g;
    REQUIRE(ps_stack_gauge(n->s, PS_GAUGE_sockets_used, &g));
    return g.now;
}

/* Closed with data queued behind the shut window: exactly
 * tcp_orphan_probes probes, then a reset, and the entry is free. */
TEST(orphan_reset_after_its_probes)
{
    static uint8_t data[4000 + HELD];
    struct conn c;
    shut_window(&c, data);
    struct ps_stats b = SNAP(c.n);
    uint64_t socks = sockets_now(c.n);
    CHECK_EQ(ps_close(c.n->s, c.fd), 0); /* graceful: the FIN waits behind the data */
    CHECK_STATE(&c.p, "FIN-WAIT-1");
    bool rst;
    unsigned probes = answer_probes(&c, 3600, &rst);
    CHECK(rst);
    CHECK_EQ(probes, PROBES);
    CHECK_STAT(b, c.n, tcp_orphan_drop, 1);
    CHECK_STAT(b, c.n, tcp_persist_probes, PROBES);
    CHECK_STATE(&c.p, NULL);
    CHECK_EQ(sockets_now(c.n), socks - 1); /* the listener's stays */
    NET_FREE(c.n);
}

/* The same connection with its socket open probes on (an hour here). */
TEST(open_socket_probes_on)
{
    static uint8_t data[4000 + HELD];
    struct conn c;
    shut_window(&c, data);
    struct ps_stats b = SNAP(c.n);
    bool rst;
    unsigned probes = answer_probes(&c, 3600, &rst);
    CHECK(!rst);
    CHECK(probes > PROBES);
    CHECK_STAT(b, c.n, tcp_orphan_drop, 0);
    CHECK_STATE(&c.p, "ESTAB");
    /* End it (else the drain at the end would probe forever). */
    struct ps_linger lg = {.l_onoff = 1, .l_linger = 0};
    REQUIRE(ps_setsockopt(c.n->s, c.fd, PS_SOL_SOCKET, PS_SO_LINGER, &lg, sizeof lg) == 0);
    CHECK_EQ(ps_close(c.n->s, c.fd), 0);
    NET_FREE(c.n);
}

/* The window opens before the probes run out: everything goes, the FIN
 * after it, and the close ends as usual (no reset). */
TEST(orphan_window_opens_in_time)
{
    static uint8_t data[4000 + HELD], sink[4000 + HELD];
    struct conn c;
    shut_window(&c, data);
    struct ps_stats b = SNAP(c.n);
    CHECK_EQ(ps_close(c.n->s, c.fd), 0);
    bool rst;
    ps_time_t start = c.n->now;
    /* Four probes take 0.2 + 0.4 + 0.8 + 1.6 s or so; stop before a fifth. */
    unsigned probes = answer_probes(&c, 4, &rst);
    CHECK(!rst);
    CHECK(probes >= 1 && probes < PROBES);
    CHECK(c.n->now - start < PS_SEC(5));
    memcpy(sink, data, 4000);
    c.p.sink = sink;
    c.p.sink_len = 4000;
    c.p.sink_cap = sizeof sink;
    c.p.rcv_nxt = c.iss + 4001;
    c.p.win = 65535;
    peer_send(&c.p, A, NULL, 0);
    struct tcp_seg g;
    bool fin = false;
    for (int guard = 0; guard < 1000 && !fin; guard++) {
        bool any = false;
        while (peer_next(&c.p, &g)) {
            any = true;
            CHECK(!(g.h.flags & PS_TCP_RST));
            fin = fin || (g.h.flags & PS_TCP_FIN);
        }
        peer_forget(&c.p);
        peer_send(&c.p, A, NULL, 0);
        if (!any)
            net_poll(c.n, c.n->now + PS_MS(100));
    }
    CHECK(fin);
    CHECK_EQ(c.p.sink_len, sizeof sink);
    CHECK_MEM(sink, data, sizeof sink);
    CHECK_STATE(&c.p, "FIN-WAIT-2");
    peer_send(&c.p, FA, NULL, 0); /* the peer closes too */
    EXPECT_SEG(&c.p, &g, A, c.iss + 4001 + HELD + 1, c.p.snd_nxt, 0);
    CHECK_STAT(b, c.n, tcp_orphan_drop, 0);
    CHECK_STAT(b, c.n, tcp_rst_tx, 0);
    NET_FREE(c.n);
}

int main(void)
{
    RUN(orphan_reset_after_its_probes);
    RUN(open_socket_probes_on);
    RUN(orphan_window_opens_in_time);
    TEST_END();
}
