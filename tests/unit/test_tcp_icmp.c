/*
 * tests/unit/test_tcp_icmp.c - ICMP errors at TCP connections (RFC 5927,
 * RFC 1122 4.2.3.9, RFC 1191), from a scripted peer (tests/tcp_peer.h):
 *
 *   4.1  an error is believed only when the sequence number it quotes is
 *        in flight (SND.UNA <= seq < SND.NXT); any other is counted and
 *        ignored, fragmentation-needed included;
 *   4.2  in a synchronized state every error is soft: noted, never fatal
 *        (port and protocol unreachable abort only a connection opening);
 *   7    fragmentation-needed lowers the MSS, but a forged tiny MTU (68)
 *        no lower than tcp_pmtu_min allows.
 */
#include <errno.h>

#include "tcp_peer.h"

#define ROUTER PS_IP4(203, 0, 113, 1)

/* An ICMP error from `from` about a segment portstack sent to the peer:
 * the quote is its IP header and first 8 TCP bytes (ports and seq), the
 * IP total length saying it carried `len` bytes of data. */
static void icmp_error(struct conn *c, ps_ip4_t from, uint8_t type, uint8_t code, uint16_t mtu, uint32_t seq,
                       uint32_t len)
{
    uint8_t q[28], icmp[64], f[FRAME_MAX];
    struct ps_ipv4_hdr qh = ip_hdr(IP_US, IP_PEER, PS_IP_PROTO_TCP);
    qh.total_len = (uint16_t)(PS_IPV4_HLEN + PS_TCP_HLEN + 12 + len);
    qh.df = true;
    ps_ipv4_emit(q, &qh);
    ps_put16(q + 20, c->p.us_port);
    ps_put16(q + 22, c->p.port);
    ps_put32(q + 24, seq);
    size_t ilen = put_icmp(icmp, type, code, mtu, q, sizeof q);
    struct ps_ipv4_hdr h = ip_hdr(from, IP_US, PS_IP_PROTO_ICMP);
    net_input(c->n, c->n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &h, icmp, ilen));
}

static uint8_t data[1000]; /* what portstack has in flight */

/* An established connection with the 1000 bytes of data (test pattern
 * `seed`) in flight. */
static void setup(struct conn *c, const struct ps_config *cfg, uint32_t seed)
{
    tcp_pattern(data, sizeof data, seed);
    conn_passive(c, cfg);
    int one = 1;
    REQUIRE(ps_setsockopt(c->n->s, c->fd, PS_IPPROTO_TCP, PS_TCP_NODELAY, &one, sizeof one) == 0);
    struct tcp_seg g;
    CHECK_EQ(ps_send(c->n->s, c->fd, data, 1000, 0), 1000);
    EXPECT_SEG(&c->p, &g, A, c->iss + 1, PISS + 1, 1000);
}

/* The peer takes everything outstanding; the connection then carries a
 * byte each way. */
static void acked_and_alive(struct conn *c)
{
    struct tcp_seg g;
    while (peer_next(&c->p, &g))
        ;
    peer_send(&c->p, A, NULL, 0);
    EXPECT_NONE(&c->p);
    CHECK_STATE(&c->p, "ESTAB");
    peer_send(&c->p, PA, "p", 1);
    EXPECT_SEG(&c->p, &g, A, c->iss + 1001, PISS + 2, 0);
    char b;
    CHECK_EQ(ps_recv(c->n->s, c->fd, &b, 1, 0), 1);
    CHECK_EQ(ps_send(c->n->s, c->fd, "q", 1, 0), 1);
    EXPECT_SEG(&c->p, &g, A, c->iss + 1001, PISS + 2, 1);
}

/* 4.1, 4.2: errors quoting a segment in flight are noted, none is fatal,
 * nothing is sent because of them, and the connection carries on. */
TEST(soft_errors_in_flight)
{
    struct conn c;
    setup(&c, NULL, 7);
    struct ps_stats b = SNAP(c.n);
    const uint8_t errs[][2] = {
        {PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_PORT}, {PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_PROTO},
        {PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_HOST}, {PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NET},
        {PS_ICMP_TIME_EXCEEDED, 0}, {PS_ICMP_PARAM_PROBLEM, 0},
    };
    for (unsigned i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        icmp_error(&c, i % 2 ? ROUTER : IP_PEER, errs[i][0], errs[i][1], 0, c.iss + 1 + 500 * (i % 2), 1000);
        EXPECT_NONE(&c.p);
        CHECK_STATE(&c.p, "ESTAB");
    }
    CHECK_STAT(b, c.n, tcp_icmp_err, 6);
    CHECK_STAT(b, c.n, tcp_icmp_bad_seq, 0);
    CHECK_STAT(b, c.n, tcp_conn_refused, 0);
    char buf[4];
    CHECK_EQ(ps_recv(c.n->s, c.fd, buf, sizeof buf, 0), -EAGAIN); /* no error reported */
    acked_and_alive(&c);
    NET_FREE(c.n);
}

/* 4.1: a quoted sequence number below SND.UNA, at or past SND.NXT, or
 * anywhere else is a forgery (or stale): counted, ignored, even a
 * fragmentation-needed with a tiny MTU. */
TEST(errors_out_of_flight_ignored)
{
    struct conn c;
    setup(&c, NULL, 8);
    struct ps_stats b = SNAP(c.n);
    const uint32_t una = c.iss + 1, nxt = c.iss + 1001;
    const uint32_t wrong[] = {una - 1, una - 100000, nxt, nxt + 1, nxt + 0x40000000u, una + 0x80000000u};
    for (unsigned i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        icmp_error(&c, IP_PEER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_PORT, 0, wrong[i], 1000);
        icmp_error(&c, ROUTER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NEEDFRAG, 68, wrong[i], 1000);
    }
    EXPECT_NONE(&c.p);
    CHECK_STAT(b, c.n, tcp_icmp_bad_seq, 12);
    CHECK_STAT(b, c.n, tcp_icmp_err, 0);
    CHECK_STAT(b, c.n, tcp_pmtu_lowered, 0);
    /* The MSS is untouched: a new kilobyte goes in one segment. */
    struct tcp_seg g;
    peer_send(&c.p, A, NULL, 0);
    CHECK_EQ(ps_send(c.n->s, c.fd, data, 1000, 0), 1000);
    EXPECT_SEG(&c.p, &g, A, nxt, PISS + 1, 1000);
    NET_FREE(c.n);
}

/* 7 and RFC 1191: fragmentation-needed quoting a segment in flight lowers
 * the MSS and resends what was in flight at once; a claimed MTU below
 * tcp_pmtu_min (the forged 68 of the PMTUD attack) is raised to it, and
 * one claiming no MTU (an old router) means 576. */
TEST(frag_needed_tiny_mtu_clamped)
{
    struct conn c;
    setup(&c, NULL, 9);
    struct tcp_seg g;
    const unsigned min = ps_stack_config(c.n->s)->tcp_pmtu_min;
    const uint32_t ts = 12; /* every segment carries a timestamp */
    struct ps_stats b = SNAP(c.n);
    icmp_error(&c, ROUTER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NEEDFRAG, 68, c.iss + 1, 1000);
    uint32_t seg = min - 40 - ts;
    EXPECT_SEG(&c.p, &g, A, c.iss + 1, PISS + 1, seg);
    EXPECT_SEG(&c.p, &g, A, c.iss + 1 + seg, PISS + 1, 1000 - seg);
    EXPECT_NONE(&c.p);
    CHECK_STAT(b, c.n, tcp_pmtu_clamped, 1);
    CHECK_STAT(b, c.n, tcp_pmtu_lowered, 1);
    CHECK_STAT(b, c.n, tcp_icmp_err, 1);
    /* No lower again: another forged 68, or 576 for "no MTU given" (above
     * the minimum), changes nothing. */
    icmp_error(&c, ROUTER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NEEDFRAG, 68, c.iss + 1, 1000);
    icmp_error(&c, ROUTER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NEEDFRAG, 0, c.iss + 1, 1000);
    EXPECT_NONE(&c.p);
    CHECK_STAT(b, c.n, tcp_pmtu_lowered, 1);
    CHECK_STAT(b, c.n, tcp_pmtu_clamped, 2);
    acked_and_alive(&c);
    NET_FREE(c.n);
}

/* The minimum is the host's to choose: with tcp_pmtu_min 1000 the forged
 * 68 leaves an MSS of 960. */
TEST(frag_needed_minimum_configurable)
{
    struct ps_config cfg;
    tcp_cfg(&cfg);
    cfg.tcp_pmtu_min = 1000;
    struct conn c;
    setup(&c, &cfg, 10);
    struct tcp_seg g;
    icmp_error(&c, ROUTER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NEEDFRAG, 68, c.iss + 1, 1000);
    EXPECT_SEG(&c.p, &g, A, c.iss + 1, PISS + 1, 960 - 12);
    EXPECT_SEG(&c.p, &g, A, c.iss + 1 + 948, PISS + 1, 52);
    EXPECT_NONE(&c.p);
    acked_and_alive(&c);
    NET_FREE(c.n);
}

/* RFC 1122 4.2.3.9: while the connection opens, port unreachable is a
 * hard error: connect() fails with ECONNREFUSED.  Quoting another sequence
 * number than the SYN's, it is ignored like any other. */
TEST(port_unreachable_refuses_an_opening)
{
    struct net *n = tcp_host(NULL);
    REQUIRE(n);
    struct conn c = {.n = n, .lfd = -1};
    peer_init(&c.p, n, 0, RPORT, PISS);
    c.fd = ps_socket(n->s, PS_SOCK_STREAM);
    REQUIRE(c.fd >= 0);
    struct ps_sockaddr_in to = {.addr = IP_PEER, .port = RPORT}, me;
    REQUIRE(ps_connect(n->s, c.fd, &to) == -EINPROGRESS);
    REQUIRE(ps_getsockname(n->s, c.fd, &me) == 0);
    c.p.us_port = me.port;
    struct tcp_seg g;
    EXPECT_SEG(&c.p, &g, PS_TCP_SYN, g.h.seq, 0, 0);
    struct ps_stats b = SNAP(n);
    icmp_error(&c, IP_PEER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_PORT, 0, g.h.seq + 1, 0);
    CHECK_STAT(b, n, tcp_icmp_bad_seq, 1);
    CHECK_STATE(&c.p, "SYN-SENT");
    icmp_error(&c, IP_PEER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_PORT, 0, g.h.seq, 0);
    CHECK_STAT(b, n, tcp_conn_refused, 1);
    CHECK_STATE(&c.p, NULL);
    EXPECT_NONE(&c.p);
    CHECK_EQ(ps_connect(n->s, c.fd, &to), -ECONNREFUSED);
    CHECK_EQ(ps_close(n->s, c.fd), 0);
    NET_FREE(n);
}

int main(void)
{
    RUN(soft_errors_in_flight);
    RUN(errors_out_of_flight_ignored);
    RUN(frag_needed_tiny_mtu_clamped);
    RUN(frag_needed_minimum_configurable);
    RUN(port_unreachable_refuses_an_opening);
    TEST_END();
}
