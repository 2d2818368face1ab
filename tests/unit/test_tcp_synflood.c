/*
 * tests/unit/test_tcp_synflood.c - a SYN flood spread over many listeners
 * (RFC 4987), from a scripted peer (tests/tcp_peer.h).
 *
 * Each listener's half-open queue is bounded (tcp_synq_max), and so are
 * the half-open connections of all listeners together (tcp_half_open_max),
 * below the socket table: otherwise a flood on enough listeners fills the
 * table with half-open connections, and every SYN is refused with a RST
 * (no entry for it) until they time out.  Past either bound a SYN gets a
 * cookie, and a real client still connects.
 */
#include <errno.h>

#include <portstack/gauges.h>

#include "core/stack_impl.h"
#include "socket/sockets.h"
#include "tcp_peer.h"

#define NLISTEN 5
#define FLOOD 100

static uint64_t gauge_now(struct net *n, enum ps_gauge_id id, uint64_t *peak)
{
    struct ps_gauge g;
    REQUIRE(ps_stack_gauge(n->s, id, &g));
    if (peak)
        *peak = g.peak;
    return g.now;
}

/* SYNs from FLOOD ports of the peer's address, over NLISTEN listeners on
 * ports 80..84 of a stack whose table would not hold NLISTEN full
 * half-open queues; then a client connects to one of them and echoes a
 * byte through it. */
TEST(flood_on_many_listeners)
{
    struct ps_config cfg;
    tcp_cfg(&cfg);
    cfg.max_sockets = 64;
    cfg.tcp_synq_max = 16;      /* 5 x 16 = 80 > 64 */
    cfg.tcp_half_open_max = 40;
    struct net *n = tcp_host(&cfg);
    REQUIRE(n);
    int lfd[NLISTEN];
    for (int i = 0; i < NLISTEN; i++)
        lfd[i] = tcp_listener(n, (uint16_t)(LPORT + i));
    struct ps_stats b = SNAP(n);
    struct tcp_peer f;
    peer_init(&f, n, LPORT, 1000, PISS);
    for (unsigned i = 0; i < FLOOD; i++) {
        f.port = (uint16_t)(1000 + i);
        f.us_port = (uint16_t)(LPORT + i % NLISTEN);
        struct ps_tcp_opts o = peer_opts(&f, PS_TCP_SYN);
        peer_xmit(&f, PS_TCP_SYN, PISS + i * 1000, 0, 65535, &o, NULL, 0);
    }
    /* Every SYN answered by a SYN-ACK: 39 from half-open connections (the
     * 40th place is kept for a cookie's connection), 61 from cookies; none
     * refused. */
    unsigned synacks = 0;
    for (unsigned i = f.seen; i < n->n; i++) {
        struct tcp_seg g;
        if (tcp_seg_at(n, i, &g) && g.h.flags == (PS_TCP_SYN | PS_TCP_ACK))
            synacks++;
    }
    CHECK_EQ(synacks, FLOOD);
    CHECK_STAT(b, n, tcp_syncookies_sent, FLOOD - 39);
    CHECK_STAT(b, n, tcp_no_socket, 0);
    CHECK_STAT(b, n, tcp_rst_tx, 0);
    CHECK_STAT(b, n, sock_table_full, 0);
    uint64_t peak;
    CHECK_EQ(gauge_now(n, PS_GAUGE_tcp_half_open, &peak), 39);
    CHECK_EQ(peak, 39);
    CHECK_EQ(gauge_now(n, PS_GAUGE_sockets_used, NULL), NLISTEN + 39);
    /* A half-open connection holds no buffers: its rings come with the
     * handshake's end, so the flood costs entries, not 128 KiB each. */
    unsigned half_open = 0, with_rings = 0;
    for (unsigned i = 0; i < n->s->sockets->max; i++) {
        const struct ps_sock *sk = n->s->sockets->tab[i];
        if (sk && sk->type == PS_SOCK_STREAM && sk->u.stream.tcb.state == PS_TCPS_SYN_RECEIVED) {
            half_open++;
            with_rings += sk->u.stream.tcb.snd.buf != NULL || sk->u.stream.tcb.rcv.buf != NULL;
        }
    }
    CHECK_EQ(half_open, 39);
    CHECK_EQ(with_rings, 0);
    n->n = 0; /* forget the flood's frames */

    /* A real client on the first listener: its SYN gets a cookie, its ACK
     * brings it back, and the connection carries data. */
    struct tcp_peer p;
    peer_init(&p, n, LPORT, PPORT, PISS);
    struct tcp_seg g;
    peer_send(&p, PS_TCP_SYN, NULL, 0);
    EXPECT_SEG(&p, &g, SA, g.h.seq, PISS + 1, 0);
    peer_send(&p, A, NULL, 0);
    EXPECT_NONE(&p);
    CHECK_STAT(b, n, tcp_syncookies_ok, 1);
    struct ps_sockaddr_in from;
    int fd = ps_accept(n->s, lfd[0], &from);
    REQUIRE(fd >= 0);
    CHECK_EQ(from.port, PPORT);
    peer_send(&p, PA, "x", 1);
    EXPECT_SEG(&p, &g, A, p.irs + 1, PISS + 2, 0);
    char c;
    CHECK_EQ(ps_recv(n->s, fd, &c, 1, 0), 1);
    CHECK_EQ(ps_send(n->s, fd, &c, 1, 0), 1);
    EXPECT_SEG(&p, &g, A, p.irs + 1, PISS + 2, 1);
    CHECK_EQ(g.data[0], 'x');
    gauge_now(n, PS_GAUGE_tcp_half_open, &peak);
    CHECK_EQ(peak, 40); /* the cookie's connection, on its way through */

    /* The half-open connections time out (their SYN-ACKs unanswered) and
     * give their entries back. */
    CHECK_EQ(ps_close(n->s, fd), 0);
    for (int i = 0; i < NLISTEN; i++)
        CHECK_EQ(ps_close(n->s, lfd[i]), 0);
    n->n = 0;
    net_drain(n);
    CHECK_EQ(gauge_now(n, PS_GAUGE_tcp_half_open, NULL), 0);
    n->n = 0;
    NET_FREE(n);
}

/* Below the bound nothing changes: each SYN makes a half-open connection,
 * no cookie; the SYN that would take the last place gets one. */
TEST(below_the_bound_no_cookies)
{
    struct ps_config cfg;
    tcp_cfg(&cfg);
    cfg.tcp_half_open_max = 40;
    struct net *n = tcp_host(&cfg);
    REQUIRE(n);
    int lfd = tcp_listener(n, LPORT);
    struct ps_stats b = SNAP(n);
    struct tcp_peer f;
    peer_init(&f, n, LPORT, 1000, PISS);
    for (unsigned i = 0; i < 40; i++) {
        f.port = (uint16_t)(1000 + i);
        struct ps_tcp_opts o = peer_opts(&f, PS_TCP_SYN);
        peer_xmit(&f, PS_TCP_SYN, PISS + i, 0, 65535, &o, NULL, 0);
        CHECK_EQ(STAT(n, tcp_syncookies_sent) - b.tcp_syncookies_sent, i < 39 ? 0 : 1);
    }
    CHECK_EQ(gauge_now(n, PS_GAUGE_tcp_half_open, NULL), 39);
    /* Closing the listener resets its children: none is left counted. */
    n->n = 0;
    CHECK_EQ(ps_close(n->s, lfd), 0);
    CHECK_EQ(gauge_now(n, PS_GAUGE_tcp_half_open, NULL), 0);
    n->n = 0;
    NET_FREE(n);
}

int main(void)
{
    RUN(flood_on_many_listeners);
    RUN(below_the_bound_no_cookies);
    TEST_END();
}
