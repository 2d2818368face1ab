/*
 * tests/unit/test_tcp_rfc5961.c - RFC 5961 (blind in-window attacks)
 * against a scripted peer (tests/tcp_peer.h), on an established
 * connection:
 *
 *   3.2  a RST exactly at RCV.NXT resets; elsewhere in the window it earns
 *        a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and the
 *        connection lives on; outside the window it is dropped silently;
 *   4.2  a SYN in a synchronized state earns a challenge ACK, whatever
 *        its sequence number, and the connection lives on;
 *   5.2  a segment whose ACK is outside [SND.UNA - MAX.SND.WND, SND.NXT]
 *        is dropped (its data too) with an ACK;
 *   7    challenge ACKs are rate-limited (a per-stack budget per second),
 *        the ones not sent counted; a SYN outside the window too.
 *
 * The connection is made to carry data both ways first, so that SND.NXT,
 * SND.UNA and RCV.NXT are not the numbers of the handshake.
 */
#include <errno.h>

#include "tcp_peer.h"

/* An established connection with 100 bytes each way already exchanged
 * and acknowledged; cfg may set the challenge-ACK budget. */
static void setup(struct conn *c, const struct ps_config *cfg)
{
    conn_passive(c, cfg);
    struct tcp_seg g;
    uint8_t d[100];
    tcp_pattern(d, sizeof d, 5);
    peer_send(&c->p, PA, d, sizeof d);
    EXPECT_SEG(&c->p, &g, A, c->iss + 1, PISS + 101, 0);
    uint8_t buf[100];
    CHECK_EQ(ps_recv(c->n->s, c->fd, buf, sizeof buf, 0), 100);
    CHECK_EQ(ps_send(c->n->s, c->fd, d, sizeof d, 0), 100);
    EXPECT_SEG(&c->p, &g, A, c->iss + 1, PISS + 101, 100);
    peer_send(&c->p, A, NULL, 0);
    EXPECT_NONE(&c->p);
}

#define SND_NXT(c) ((c)->iss + 101)
#define RCV_NXT(c) (PISS + 101u)

/* The connection still works: a byte each way. */
static void still_alive(struct conn *c, uint32_t snd_nxt, uint32_t rcv_nxt)
{
    struct tcp_seg g;
    CHECK_STATE(&c->p, "ESTAB");
    peer_send(&c->p, PA, "p", 1);
    EXPECT_SEG(&c->p, &g, A, snd_nxt, rcv_nxt + 1, 0);
    char b;
    CHECK_EQ(ps_recv(c->n->s, c->fd, &b, 1, 0), 1);
    CHECK_EQ(b, 'p');
    CHECK_EQ(ps_send(c->n->s, c->fd, "q", 1, 0), 1);
    EXPECT_SEG(&c->p, &g, A, snd_nxt, rcv_nxt + 1, 1);
    CHECK_EQ(g.data[0], 'q');
    peer_send(&c->p, A, NULL, 0);
    EXPECT_NONE(&c->p);
}

/* 3.2: exactly at RCV.NXT, a RST resets the connection. */
TEST(rst_exact_resets)
{
    struct conn c;
    setup(&c, NULL);
    struct ps_stats b = SNAP(c.n);
    peer_rst(&c.p, RCV_NXT(&c));
    EXPECT_NONE(&c.p);
    CHECK_STATE(&c.p, NULL);
    CHECK_STAT(b, c.n, tcp_rst_rx, 1);
    CHECK_STAT(b, c.n, tcp_conn_reset, 1);
    CHECK_STAT(b, c.n, tcp_challenge_ack, 0);
    char buf[4];
    CHECK_EQ(ps_recv(c.n->s, c.fd, buf, sizeof buf, 0), -ECONNRESET);
    NET_FREE(c.n);
}

/* 3.2: in the window but not at RCV.NXT: one challenge ACK each, the
 * connection lives on.  A RST with the ACK bit is no different.  Then the
 * real peer, which really lost the connection, answers the challenge ACK
 * with a RST at its ACK number: that one resets. */
TEST(rst_in_window_challenged)
{
    struct conn c;
    setup(&c, NULL);
    struct tcp_seg g;
    uint32_t wnd = c.p.us_edge - RCV_NXT(&c); /* the window it offered */
    REQUIRE(wnd > 1000);
    struct ps_stats b = SNAP(c.n);
    const uint32_t at[] = {RCV_NXT(&c) + 1, RCV_NXT(&c) + 1000, RCV_NXT(&c) + wnd - 1};
    for (unsigned i = 0; i < 3; i++) {
        peer_rst(&c.p, at[i]);
        EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c), 0);
        EXPECT_NONE(&c.p);
    }
    peer_xmit(&c.p, RA, RCV_NXT(&c) + 7, SND_NXT(&c), 0, NULL, NULL, 0);
    EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c), 0);
    CHECK_STAT(b, c.n, tcp_challenge_ack, 4);
    CHECK_STAT(b, c.n, tcp_rst_ignored, 4);
    CHECK_STAT(b, c.n, tcp_rst_rx, 0);
    CHECK_STAT(b, c.n, tcp_conn_reset, 0);
    still_alive(&c, SND_NXT(&c), RCV_NXT(&c));

    /* A challenge ACK with data in flight still carries SND.NXT. */
    CHECK_EQ(ps_send(c.n->s, c.fd, "zz", 2, 0), 2);
    EXPECT_SEG(&c.p, &g, A, SND_NXT(&c) + 1, RCV_NXT(&c) + 1, 2);
    peer_rst(&c.p, RCV_NXT(&c) + 50);
    EXPECT_SEG(&c.p, &g, A, SND_NXT(&c) + 3, RCV_NXT(&c) + 1, 0);
    /* The RST that answers a challenge ACK: <SEQ=SEG.ACK>. */
    peer_rst(&c.p, g.h.ack);
    EXPECT_NONE(&c.p);
    CHECK_STATE(&c.p, NULL);
    CHECK_STAT(b, c.n, tcp_conn_reset, 1);
    NET_FREE(c.n);
}

/* 3.2: outside the window (below RCV.NXT, at or past its right edge, half
 * the sequence space away): dropped, not a word. */
TEST(rst_out_of_window_silent)
{
    struct conn c;
    setup(&c, NULL);
    uint32_t wnd = c.p.us_edge - RCV_NXT(&c);
    REQUIRE(wnd > 0 && wnd < 0x10000000u);
    struct ps_stats b = SNAP(c.n);
    peer_rst(&c.p, RCV_NXT(&c) - 1);
    peer_rst(&c.p, RCV_NXT(&c) - 100000);
    peer_rst(&c.p, RCV_NXT(&c) + wnd);
    peer_rst(&c.p, RCV_NXT(&c) + 0x80000000u);
    peer_xmit(&c.p, RA, RCV_NXT(&c) + wnd + 10, SND_NXT(&c), 0, NULL, NULL, 0);
    EXPECT_NONE(&c.p);
    CHECK_STAT(b, c.n, tcp_rst_ignored, 5);
    CHECK_STAT(b, c.n, tcp_challenge_ack, 0);
    CHECK_STAT(b, c.n, tcp_tx, 0);
    still_alive(&c, SND_NXT(&c), RCV_NXT(&c));
    NET_FREE(c.n);
}

/* 4.2: a SYN in ESTABLISHED, at RCV.NXT, inside the window, or old:
 * always one ACK <SEQ=SND.NXT><ACK=RCV.NXT>, never a reset, nothing
 * else. */
TEST(syn_in_established_challenged)
{
    struct conn c;
    setup(&c, NULL);
    struct tcp_seg g;
    struct ps_stats b = SNAP(c.n);
    const uint32_t at[] = {RCV_NXT(&c), RCV_NXT(&c) + 500, RCV_NXT(&c) - 1000};
    for (unsigned i = 0; i < 3; i++) {
        peer_syn_at(&c.p, at[i], NULL, 0);
        EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c), 0);
        EXPECT_NONE(&c.p);
        CHECK_STATE(&c.p, "ESTAB");
    }
    /* The two in the window are challenge ACKs; the old one is answered
     * by the sequence check (RFC 9293 3.10.7.4), which RFC 5961 4.2 may
     * also count as one. */
    uint64_t chall = STAT(c.n, tcp_challenge_ack) - b.tcp_challenge_ack;
    CHECK(chall == 2 || chall == 3);
    CHECK_STAT(b, c.n, tcp_rst_tx, 0);
    CHECK_STAT(b, c.n, tcp_conn_reset, 0);
    CHECK_STAT(b, c.n, tcp_conn_abort, 0);
    /* A SYN carrying data: the data is not taken. */
    peer_syn_at(&c.p, RCV_NXT(&c), "evil", 4);
    EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c), 0);
    char buf[8];
    CHECK_EQ(ps_recv(c.n->s, c.fd, buf, sizeof buf, 0), -EAGAIN);
    still_alive(&c, SND_NXT(&c), RCV_NXT(&c));
    NET_FREE(c.n);
}

/* 5.2 / RFC 9293: an ACK of data never sent (SEG.ACK > SND.NXT): the
 * segment, data and all, is dropped and an ACK sent. */
TEST(ack_beyond_snd_nxt_dropped)
{
    struct conn c;
    setup(&c, NULL);
    struct tcp_seg g;
    struct ps_stats b = SNAP(c.n);
    struct ps_tcp_opts o = peer_opts(&c.p, PA);
    peer_xmit(&c.p, PA, RCV_NXT(&c), SND_NXT(&c) + 1, c.p.win, &o, "inject", 6);
    c.p.tsval++;
    EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c), 0);
    EXPECT_NONE(&c.p);
    peer_xmit(&c.p, PA, RCV_NXT(&c), SND_NXT(&c) + 0x40000000u, c.p.win, &o, "inject", 6);
    EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c), 0);
    EXPECT_NONE(&c.p);
    CHECK_STAT(b, c.n, tcp_drop_bad_ack, 2);
    char buf[8];
    CHECK_EQ(ps_recv(c.n->s, c.fd, buf, sizeof buf, 0), -EAGAIN);
    still_alive(&c, SND_NXT(&c), RCV_NXT(&c));
    NET_FREE(c.n);
}

/* 5.2: an ACK older than SND.UNA - MAX.SND.WND: dropped with an ACK.  At
 * exactly SND.UNA - MAX.SND.WND it is acceptable (an old duplicate ACK,
 * ignored) and the data is taken. */
TEST(ack_too_old_dropped)
{
    struct conn c;
    setup(&c, NULL);
    struct tcp_seg g;
    const uint32_t max_wnd = (uint32_t)c.p.win << c.p.syn_opt.wscale; /* the largest it offered */
    const uint32_t una = SND_NXT(&c);
    struct ps_stats b = SNAP(c.n);
    struct ps_tcp_opts o = peer_opts(&c.p, PA);
    peer_xmit(&c.p, PA, RCV_NXT(&c), una - max_wnd - 1, c.p.win, &o, "inject", 6);
    c.p.tsval++;
    EXPECT_SEG(&c.p, &g, A, una, RCV_NXT(&c), 0);
    EXPECT_NONE(&c.p);
    CHECK_STAT(b, c.n, tcp_drop_bad_ack, 1);
    char buf[8];
    CHECK_EQ(ps_recv(c.n->s, c.fd, buf, sizeof buf, 0), -EAGAIN);
    o = peer_opts(&c.p, PA);
    peer_xmit(&c.p, PA, RCV_NXT(&c), una - max_wnd, c.p.win, &o, "edge", 4);
    c.p.tsval++;
    EXPECT_SEG(&c.p, &g, A, una, RCV_NXT(&c) + 4, 0);
    CHECK_STAT(b, c.n, tcp_drop_bad_ack, 1);
    CHECK_EQ(ps_recv(c.n->s, c.fd, buf, sizeof buf, 0), 4);
    CHECK_MEM(buf, "edge", 4);
    c.p.snd_nxt = RCV_NXT(&c) + 4;
    still_alive(&c, una, RCV_NXT(&c) + 4);
    NET_FREE(c.n);
}

/* The case 4.2 is for: the peer restarted and, not knowing the old
 * connection, opens a new one on the same quadruple (a new ISN, its
 * timestamp clock restarted).  The SYN earns an ACK (never a reset of the
 * old connection by a blind SYN); the peer, in SYN-SENT, finds that ACK
 * unacceptable and answers <SEQ=SEG.ACK><CTL=RST> - exactly RCV.NXT - which
 * resets the old connection; its next SYN reaches the listener. */
TEST(half_open_recovery)
{
    struct conn c;
    setup(&c, NULL);
    struct tcp_seg g;
    struct ps_stats b = SNAP(c.n);
    const uint32_t iss2 = PISS + 0x01000000u;
    c.p.iss = c.p.snd_nxt = iss2;
    c.p.tsval = 5; /* a fresh clock: older than TS.Recent */
    peer_send(&c.p, PS_TCP_SYN, NULL, 0);
    EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c), 0);
    EXPECT_NONE(&c.p);
    CHECK_STATE(&c.p, "ESTAB");
    CHECK_STAT(b, c.n, tcp_rst_tx, 0);
    peer_rst(&c.p, g.h.ack);
    EXPECT_NONE(&c.p);
    CHECK_STATE(&c.p, NULL);
    CHECK_STAT(b, c.n, tcp_conn_reset, 1);
    char buf[4];
    CHECK_EQ(ps_recv(c.n->s, c.fd, buf, sizeof buf, 0), -ECONNRESET);
    /* The SYN again (its retransmission): a new connection. */
    peer_send(&c.p, PS_TCP_SYN, NULL, 0);
    EXPECT_SEG(&c.p, &g, SA, g.h.seq, iss2 + 1, 0);
    peer_send(&c.p, A, NULL, 0);
    EXPECT_NONE(&c.p);
    int fd = ps_accept(c.n->s, c.lfd, NULL);
    CHECK(fd >= 0);
    CHECK_STATE(&c.p, "ESTAB");
    NET_FREE(c.n);
}

/* 7: more challenges in a second than the budget: only the budget's worth
 * of ACKs, the rest counted; RSTs and SYNs share it; ordinary ACKs of
 * data are not limited; the next second brings a new budget. */
/* setup() with a budget of challenge ACKs per second, at the start of a
 * fresh second. */
static void setup_budget(struct conn *c, unsigned budget)
{
    struct ps_config cfg;
    tcp_cfg(&cfg);
    cfg.tcp_challenge_ack_limit = budget;
    setup(c, &cfg);
    net_poll(c->n, c->n->now + PS_SEC(2));
}

TEST(challenge_ack_rate_limit)
{
    struct conn c;
    setup_budget(&c, 3);
    struct tcp_seg g;
    struct ps_stats b = SNAP(c.n);
    for (unsigned i = 0; i < 5; i++)
        peer_rst(&c.p, RCV_NXT(&c) + 10 + i);
    peer_syn_at(&c.p, RCV_NXT(&c) + 20, NULL, 0);
    for (unsigned i = 0; i < 3; i++)
        EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c), 0);
    EXPECT_NONE(&c.p);
    CHECK_STAT(b, c.n, tcp_challenge_ack, 3);
    CHECK_STAT(b, c.n, tcp_challenge_ack_limited, 3);
    CHECK_STAT(b, c.n, tcp_rst_ignored, 5);
    CHECK_STATE(&c.p, "ESTAB");
    /* Data is still acknowledged. */
    peer_send(&c.p, PA, "d", 1);
    EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c) + 1, 0);
    char ch;
    CHECK_EQ(ps_recv(c.n->s, c.fd, &ch, 1, 0), 1);
    /* Just under a second later: still nothing. */
    net_poll(c.n, c.n->now + PS_MS(999));
    peer_rst(&c.p, RCV_NXT(&c) + 30);
    EXPECT_NONE(&c.p);
    CHECK_STAT(b, c.n, tcp_challenge_ack_limited, 4);
    /* A second after the budget was filled: a new one. */
    net_poll(c.n, c.n->now + PS_MS(1));
    peer_rst(&c.p, RCV_NXT(&c) + 30);
    EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c) + 1, 0);
    CHECK_STAT(b, c.n, tcp_challenge_ack, 4);
    CHECK_STAT(b, c.n, tcp_conn_reset, 0);
    still_alive(&c, SND_NXT(&c), RCV_NXT(&c) + 1);
    NET_FREE(c.n);
}

/* 4.2 "irrespective of the sequence number": a SYN outside the window is
 * challenged too, within the same budget, so a blind SYN flood at a
 * connection draws at most the budget's ACKs, never one per SYN. */
TEST(syn_out_of_window_within_budget)
{
    struct conn c;
    setup_budget(&c, 3);
    struct tcp_seg g;
    struct ps_stats b = SNAP(c.n);
    const uint32_t at[] = {RCV_NXT(&c) + 0x80000000u, RCV_NXT(&c) - 100000, RCV_NXT(&c) + 0x40000000u,
                           RCV_NXT(&c) - 1, RCV_NXT(&c) + 0x12345678u};
    for (unsigned i = 0; i < 5; i++) {
        peer_syn_at(&c.p, at[i], NULL, 0);
    }
    for (unsigned i = 0; i < 3; i++)
        EXPECT_SEG(&c.p, &g, A, SND_NXT(&c), RCV_NXT(&c), 0);
    EXPECT_NONE(&c.p);
    CHECK_STAT(b, c.n, tcp_challenge_ack, 3);
    CHECK_STAT(b, c.n, tcp_challenge_ack_limited, 2);
    CHECK_STAT(b, c.n, tcp_drop_out_of_window, 0);
    CHECK_STAT(b, c.n, tcp_conn_reset, 0);
    still_alive(&c, SND_NXT(&c), RCV_NXT(&c));
    NET_FREE(c.n);
}

int main(void)
{
    RUN(rst_exact_resets);
    RUN(rst_in_window_challenged);
    RUN(rst_out_of_window_silent);
    RUN(syn_in_established_challenged);
    RUN(ack_beyond_snd_nxt_dropped);
    RUN(ack_too_old_dropped);
    RUN(half_open_recovery);
    RUN(challenge_ack_rate_limit);
    RUN(syn_out_of_window_within_budget);
    TEST_END();
}
