/*
 * tests/unit/test_ipv4.c - IPv4 through a real stack: every reason a
 * received packet is dropped, Ethernet demultiplexing and padding, protocol
 * unreachable, forwarding (TTL, errors, DF) and fragmentation on output.
 */
#include "frames.h"

/* Inject a frame on eth0 that must be dropped: exactly these counters
 * move, and nothing is sent. */
#define EXPECT_DROP(n, f, len, counters)                   \
    do {                                                   \
        struct ps_stats b_ = SNAP(n);                      \
        unsigned sent_ = (n)->n;                           \
        net_input((n), (n)->eth0, (f), (len));             \
        net_poll((n), (n)->now);                           \
        CHECK_DELTA(b_, (n)->s, counters);                 \
        CHECK_EQ((n)->n, sent_);                           \
    } while (0)

static const uint8_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* An echo request frame from the peer to dst, 8 data bytes; the IP header
 * is at f + 14. */
static size_t ping_frame(uint8_t *f, ps_ip4_t src, ps_ip4_t dst)
{
    return frame_echo(f, MAC_US, src, dst, 0x4242, 1, eight, sizeof eight);
}

static struct net *host(void)
{
    return net_new(NULL, NET_STATIC_PEERS, 0);
}

/* A router between eth0 (192.0.2.0/24) and eth1 (198.51.100.0/24, MTU
 * mtu1), with static ARP for both peers. */
static struct net *router(uint16_t mtu1)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.ip_forwarding = true;
    return net_new(&cfg, NET_TWO_IFACES | NET_STATIC_PEERS, mtu1);
}

/* ---- drops on input, one reason each ------------------------------------- */

TEST(drop_truncated)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[128];
    size_t len = ping_frame(f, IP_PEER, IP_US);
    EXPECT_DROP(n, f, PS_ETH_HLEN + 19, "eth_rx+1 ip_rx+1 ip_drop_truncated+1"); /* < a header */
    ps_put16(f + 14 + 2, 100); /* total length beyond the frame */
    ip_fix_cksum(f);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_truncated+1");
    len = ping_frame(f, IP_PEER, IP_US);
    f[14] = 0x4f; /* a 60-byte header in a 36-byte packet */
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_truncated+1");
    NET_FREE(n);
}

TEST(drop_version)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[128];
    size_t len = ping_frame(f, IP_PEER, IP_US);
    f[14] = 0x65;
    ip_fix_cksum(f);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_version+1");
    NET_FREE(n);
}

TEST(drop_header_length)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[128];
    size_t len = ping_frame(f, IP_PEER, IP_US);
    f[14] = 0x44; /* 16 bytes */
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_hdr_len+1");
    NET_FREE(n);
}

TEST(drop_total_length)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[128];
    size_t len = ping_frame(f, IP_PEER, IP_US);
    ps_put16(f + 14 + 2, 19); /* shorter than the header */
    ip_fix_cksum(f);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_total_len+1");
    NET_FREE(n);
}

TEST(drop_reserved_flag)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[128];
    size_t len = ping_frame(f, IP_PEER, IP_US);
    f[14 + 6] |= 0x80; /* the "evil bit" (RFC 3514) is reserved: must be zero */
    ip_fix_cksum(f);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_format+1");
    NET_FREE(n);
}

TEST(drop_checksum)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[128];
    size_t len = ping_frame(f, IP_PEER, IP_US);
    f[14 + 11] ^= 0x01;
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_checksum+1");
    len = ping_frame(f, IP_PEER, IP_US);
    f[14 + 15] ^= 0x10; /* the source changed in flight */
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_checksum+1");
    NET_FREE(n);
}

TEST(drop_malformed_options)
{
    struct net *n = host();
    REQUIRE(n);
    static const uint8_t runs_past[4] = {68, 40, 5, 0}; /* timestamp, length 40 */
    static const uint8_t no_length[4] = {1, 1, 1, 68};  /* the last option has no length */
    static const uint8_t len_one[4] = {130, 1, 0, 0};   /* length below 2 */
    const uint8_t *bad[] = {runs_past, no_length, len_one};
    for (unsigned i = 0; i < 3; i++) {
        uint8_t f[128];
        struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
        h.options = bad[i];
        h.options_len = 4;
        uint8_t icmp[16];
        size_t ilen = put_icmp(icmp, PS_ICMP_ECHO_REQUEST, 0, 1, eight, sizeof eight);
        size_t len = frame_ip(f, MAC_US, MAC_PEER, &h, icmp, ilen);
        EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_options+1");
    }
    NET_FREE(n);
}

TEST(drop_source_route)
{
    struct net *n = host();
    REQUIRE(n);
    static const uint8_t lsrr[8] = {PS_IPOPT_LSRR, 7, 4, 198, 51, 100, 2, 0};
    static const uint8_t ssrr[8] = {PS_IPOPT_NOP, PS_IPOPT_SSRR, 7, 4, 198, 51, 100, 2};
    const uint8_t *opts[] = {lsrr, ssrr};
    for (unsigned i = 0; i < 2; i++) {
        uint8_t f[128];
        struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
        h.options = opts[i];
        h.options_len = 8;
        uint8_t icmp[16];
        size_t ilen = put_icmp(icmp, PS_ICMP_ECHO_REQUEST, 0, 1, eight, sizeof eight);
        size_t len = frame_ip(f, MAC_US, MAC_PEER, &h, icmp, ilen);
        EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_options+1");
    }
    /* Record route is harmless and answered. */
    static const uint8_t rr[8] = {PS_IPOPT_RR, 7, 4, 0, 0, 0, 0, 0};
    uint8_t f[128];
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
    h.options = rr;
    h.options_len = 8;
    uint8_t icmp[16];
    size_t ilen = put_icmp(icmp, PS_ICMP_ECHO_REQUEST, 0, 1, eight, sizeof eight);
    net_input(n, n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &h, icmp, ilen));
    CHECK_EQ(n->n, 1);
    NET_FREE(n);
}

TEST(drop_martian_sources)
{
    struct net *n = host();
    REQUIRE(n);
    static const ps_ip4_t src[] = {
        PS_IP4(255, 255, 255, 255), /* broadcast */
        PS_IP4(192, 0, 2, 255),     /* the subnet's broadcast */
        PS_IP4(224, 0, 0, 9),       /* multicast */
        PS_IP4(239, 1, 2, 3),
        PS_IP4(127, 0, 0, 1),       /* loopback */
        PS_IP4(127, 9, 9, 9),
        PS_IP4(192, 0, 2, 1),       /* ourselves: a "land" attack */
    };
    for (unsigned i = 0; i < sizeof src / sizeof src[0]; i++) {
        uint8_t f[128];
        size_t len = ping_frame(f, src[i], IP_US);
        EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_martian_src+1");
    }
    NET_FREE(n);
}

TEST(drop_loopback_destination_from_wire)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[128];
    size_t len = ping_frame(f, IP_PEER, PS_IP4(127, 0, 0, 1));
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_martian_dst+1");
    len = ping_frame(f, IP_PEER, PS_IP4(127, 1, 2, 3));
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_martian_dst+1");
    NET_FREE(n);
}

TEST(drop_multicast_destination)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[128];
    size_t len = ping_frame(f, IP_PEER, PS_IP4(224, 0, 0, 1));
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_multicast+1");
    NET_FREE(n);
}

TEST(drop_not_for_us_without_forwarding)
{
    struct net *n = net_new(NULL, NET_TWO_IFACES | NET_STATIC_PEERS, 0);
    REQUIRE(n);
    uint8_t f[128];
    size_t len = ping_frame(f, IP_PEER, IP_FAR);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_not_for_us+1");
    /* Even toward a network we are attached to. */
    len = ping_frame(f, IP_PEER, IP_PEER1);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_not_for_us+1");
    NET_FREE(n);
}

/* ---- Ethernet --------------------------------------------------------------- */

TEST(ethernet_demux)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[1600];
    size_t len = ping_frame(f, IP_PEER, IP_US);
    memcpy(f, MAC(0, 99).b, 6); /* another host's MAC */
    EXPECT_DROP(n, f, len, "eth_rx+1 eth_drop_other_mac+1");
    static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    memcpy(f, mcast, 6); /* a group we have not joined */
    EXPECT_DROP(n, f, len, "eth_rx+1 eth_drop_other_mac+1");
    len = ping_frame(f, IP_PEER, IP_US);
    ps_put16(f + 12, 0x86dd); /* IPv6 */
    EXPECT_DROP(n, f, len, "eth_rx+1 eth_drop_type+1");
    ps_put16(f + 12, 0x0100); /* an 802.3 length, not a type */
    EXPECT_DROP(n, f, len, "eth_rx+1 eth_drop_type+1");
    EXPECT_DROP(n, f, 13, "eth_rx+1 eth_drop_short+1");
    memset(f, 0, sizeof f);
    put_eth(f, MAC_US, MAC_PEER, PS_ETHERTYPE_IPV4);
    EXPECT_DROP(n, f, PS_ETH_HLEN + 1501, "eth_rx+1 eth_drop_too_long+1");
    NET_FREE(n);
}

/* A 60-byte frame carries a 32-byte packet: the padding is not part of it
 * (the ICMP checksum would fail over the junk otherwise). */
TEST(ethernet_padding_trimmed)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[128];
    size_t len = frame_echo(f, MAC_US, IP_PEER, IP_US, 0x77, 9, "abcd", 4);
    CHECK_EQ(len, 14 + 32);
    memset(f + len, 0xa5, PS_ETH_MIN_FRAME - len);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, PS_ETH_MIN_FRAME);
    CHECK_DELTA(before, n->s,
                "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_delivered+1 icmp_rx+1 icmp_tx+1 icmp_echo_rx+1 "
                "icmp_echo_reply_tx+1");
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    struct ps_icmp_hdr ic;
    REQUIRE(n->n == 1);
    REQUIRE(cap_icmp(n, 0, &eh, &ih, &ic));
    CHECK_EQ(ih.total_len, 32);
    CHECK_EQ(ic.type, PS_ICMP_ECHO_REPLY);
    CHECK_EQ(ic.payload_len, 4);
    CHECK_MEM(ic.payload, "abcd", 4);
    NET_FREE(n);
}

/* ---- protocol unreachable --------------------------------------------------- */

/* Frame i is an ICMP error of type/code from `from` to `to` quoting exactly
 * the IP packet q of qlen bytes. */
static bool icmp_error_is(const struct net *n, unsigned i, ps_mac_t eth_dst, ps_ip4_t from, ps_ip4_t to,
                          uint8_t type, uint8_t code, const uint8_t *q, size_t qlen)
{
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    struct ps_icmp_hdr ic;
    if (!cap_icmp(n, i, &eh, &ih, &ic))
        return false;
    return ps_mac_equal(&eh.dst, &eth_dst) && ih.src == from && ih.dst == to && ic.type == type &&
           ic.code == code && ic.payload_len == qlen && memcmp(ic.payload, q, qlen) == 0;
}

TEST(unknown_protocol_unreachable)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[256], data[40];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(0x30 + i);
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, 253);
    size_t len = frame_ip(f, MAC_US, MAC_PEER, &h, data, sizeof data);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s,
                "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_drop_unknown_proto+1 icmp_tx+1 icmp_err_tx+1");
    REQUIRE(n->n == 1);
    CHECK(icmp_error_is(n, 0, MAC_PEER, IP_US, IP_PEER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_PROTO, f + 14,
                        len - 14));
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    struct ps_icmp_hdr ic;
    REQUIRE(cap_icmp(n, 0, &eh, &ih, &ic));
    CHECK_EQ(ic.rest, 0);
    CHECK_EQ(ih.ttl, PS_DEFAULT_TTL);
    NET_FREE(n);
}

/* No error for a datagram to a broadcast address, IP or link level
 * (RFC 1122 3.2.2). */
TEST(unknown_protocol_broadcast_silent)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[256];
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_BCAST0, 253);
    size_t len = frame_ip(f, MAC_BCAST, MAC_PEER, &h, eight, sizeof eight);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_unknown_proto+1");
    h.dst = PS_IP4_BROADCAST;
    len = frame_ip(f, MAC_BCAST, MAC_PEER, &h, eight, sizeof eight);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_unknown_proto+1");
    h.dst = IP_BCAST0; /* IP broadcast in a unicast frame */
    len = frame_ip(f, MAC_US, MAC_PEER, &h, eight, sizeof eight);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_unknown_proto+1");
    h.dst = IP_US; /* unicast IP in a link-level broadcast */
    len = frame_ip(f, MAC_BCAST, MAC_PEER, &h, eight, sizeof eight);
    EXPECT_DROP(n, f, len, "eth_rx+1 ip_rx+1 ip_drop_unknown_proto+1");
    NET_FREE(n);
}

/* UDP to a port no socket holds: port unreachable (from the UDP layer),
 * quoting the datagram. */
TEST(udp_closed_port_is_port_unreachable)
{
    struct net *n = host();
    REQUIRE(n);
    uint8_t f[256], udp[8 + 12];
    memcpy(udp + 8, "hello, world", 12);
    struct ps_udp_hdr uh = {.sport = 40000, .dport = 9, .len = sizeof udp};
    ps_udp_emit(udp, &uh, IP_PEER, IP_US, 12);
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_UDP);
    size_t len = frame_ip(f, MAC_US, MAC_PEER, &h, udp, sizeof udp);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s,
                "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_delivered+1 icmp_tx+1 icmp_err_tx+1 udp_rx+1 "
                "udp_drop_no_port+1");
    REQUIRE(n->n == 1);
    CHECK(icmp_error_is(n, 0, MAC_PEER, IP_US, IP_PEER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_PORT, f + 14,
                        len - 14));
    NET_FREE(n);
}

/* ---- forwarding ------------------------------------------------------------- */

/* A datagram from the peer on eth0 to dst, plen bytes of payload. */
static size_t fwd_frame(uint8_t *f, ps_ip4_t dst, uint8_t ttl, bool df, size_t plen, uint16_t id)
{
    uint8_t data[1600];
    for (size_t i = 0; i < plen; i++)
        data[i] = (uint8_t)(i * 7 + id);
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, dst, PS_IP_PROTO_UDP);
    h.ttl = ttl;
    h.df = df;
    h.id = id;
    return frame_ip(f, MAC_US, MAC_PEER, &h, data, plen);
}

/* TTL down by one with a checksum still valid (the incremental update is
 * exercised over every TTL and many checksums), the rest untouched. */
TEST(forward_decrements_ttl)
{
    struct net *n = router(0);
    REQUIRE(n);
    for (unsigned ttl = 2; ttl <= 255; ttl++) {
        uint8_t f[256];
        size_t len = fwd_frame(f, IP_PEER1, (uint8_t)ttl, ttl & 1, 64, (uint16_t)(ttl * 0x0101 + 0x7f));
        struct ps_stats before = SNAP(n);
        unsigned i = n->n;
        net_input(n, n->eth0, f, len);
        CHECK_DELTA(before, n->s, "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_forwarded+1");
        REQUIRE(n->n == i + 1);
        struct ps_eth_hdr eh;
        struct ps_ipv4_hdr ih;
        const uint8_t *ip = cap_ip(n, i, &eh, &ih, NULL);
        REQUIRE(ip); /* parses: the checksum verifies */
        CHECK(n->f[i].ifc == n->eth1);
        CHECK(ps_mac_equal(&eh.dst, &MAC_PEER1));
        CHECK(ps_mac_equal(&eh.src, &MAC_US1));
        CHECK_EQ(ih.ttl, ttl - 1);
        CHECK_EQ(ps_cksum(ip, 20), 0);
        CHECK_EQ(n->f[i].len, len);
        CHECK_MEM(ip, f + 14, 8);
        CHECK_EQ(ip[9], f[14 + 9]);
        CHECK_MEM(ip + 12, f + 14 + 12, len - 14 - 12);
    }
    /* Through a gateway: to its MAC. */
    REQUIRE(ps_route_add(n->s, PS_IP4(203, 0, 113, 0), 24, PS_IP4(198, 51, 100, 254), n->eth1) == 0);
    REQUIRE(ps_arp_add_static(n->s, n->eth1, PS_IP4(198, 51, 100, 254), &MAC(1, 0xfe)) == 0);
    uint8_t f[256];
    unsigned i = n->n;
    net_input(n, n->eth0, f, fwd_frame(f, IP_FAR, 9, false, 10, 1));
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    REQUIRE(cap_ip(n, i, &eh, &ih, NULL));
    CHECK(ps_mac_equal(&eh.dst, &MAC(1, 0xfe)));
    CHECK_U64(ih.dst, IP_FAR);
    CHECK_EQ(ih.ttl, 8);
    NET_FREE(n);
}

TEST(forward_ttl_exceeded)
{
    struct net *n = router(0);
    REQUIRE(n);
    for (unsigned ttl = 0; ttl <= 1; ttl++) {
        uint8_t f[256];
        size_t len = fwd_frame(f, IP_PEER1, (uint8_t)ttl, false, 30, 5);
        struct ps_stats before = SNAP(n);
        unsigned i = n->n;
        net_input(n, n->eth0, f, len);
        CHECK_DELTA(before, n->s, "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_drop_ttl+1 icmp_tx+1 icmp_err_tx+1");
        REQUIRE(n->n == i + 1);
        CHECK(n->f[i].ifc == n->eth0);
        CHECK(icmp_error_is(n, i, MAC_PEER, IP_US, IP_PEER, PS_ICMP_TIME_EXCEEDED, PS_ICMP_TIMXCEED_TTL, f + 14,
                            len - 14));
    }
    NET_FREE(n);
}

TEST(forward_no_route)
{
    struct net *n = router(0);
    REQUIRE(n);
    uint8_t f[256];
    size_t len = fwd_frame(f, IP_FAR, 64, false, 30, 5);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_drop_no_route+1 icmp_tx+1 icmp_err_tx+1");
    REQUIRE(n->n == 1);
    CHECK(icmp_error_is(n, 0, MAC_PEER, IP_US, IP_PEER, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NET, f + 14,
                        len - 14));
    NET_FREE(n);
}

TEST(forward_df_too_big)
{
    struct net *n = router(1000);
    REQUIRE(n);
    uint8_t f[1600];
    size_t len = fwd_frame(f, IP_PEER1, 64, true, 1200 - 20, 5);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_drop_df+1 icmp_tx+1 icmp_err_tx+1");
    REQUIRE(n->n == 1);
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    struct ps_icmp_hdr ic;
    REQUIRE(cap_icmp(n, 0, &eh, &ih, &ic));
    CHECK_EQ(ic.type, PS_ICMP_DEST_UNREACH);
    CHECK_EQ(ic.code, PS_ICMP_UNREACH_NEEDFRAG);
    CHECK_EQ(ic.mtu, 1000);
    CHECK_EQ(ps_get16(n->f[0].b + 14 + ih.hlen + 6), 1000); /* RFC 1191: the low 16 bits */
    CHECK_EQ(ps_get16(n->f[0].b + 14 + ih.hlen + 4), 0);
    CHECK_U64(ih.dst, IP_PEER);
    /* The quote: the header and as much as fits in 576 bytes. */
    CHECK_EQ(ic.payload_len, PS_ICMP_QUOTE_MAX);
    CHECK_MEM(ic.payload, f + 14, PS_ICMP_QUOTE_MAX);
    /* The same size without DF is fragmented instead. */
    len = fwd_frame(f, IP_PEER1, 64, false, 1200 - 20, 6);
    before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, "eth_rx+1 eth_tx+2 ip_rx+1 ip_tx+1 ip_forwarded+1 ip_frag_tx+2");
    NET_FREE(n);
}

/* ---- fragmentation on output ------------------------------------------------ */

/* Frames [first, first + count) must be the fragments of one datagram,
 * each within mtu, every piece but the last a multiple of 8 bytes, MF on all
 * but the last, contiguous from offset 0.  Returns the payload put back
 * together in out (its length), or 0 on a violation. */
static size_t reassemble(const struct net *n, unsigned first, unsigned count, uint16_t mtu, uint8_t *out,
                         struct ps_ipv4_hdr *hdrs)
{
    size_t expect_off = 0;
    bool ok = count > 1;
    for (unsigned k = 0; k < count && ok; k++) {
        struct ps_eth_hdr eh;
        struct ps_ipv4_hdr *h = &hdrs[k];
        size_t plen;
        const uint8_t *ip = cap_ip(n, first + k, &eh, h, &plen);
        bool last = k == count - 1;
        ok = ip && h->total_len <= mtu && h->frag_off == expect_off && h->mf == !last &&
             (last || plen % 8 == 0) && !h->df && h->id == hdrs[0].id && h->src == hdrs[0].src &&
             h->dst == hdrs[0].dst && h->proto == hdrs[0].proto;
        if (!ok) {
            fprintf(stderr, "  fragment %u: off %u (expected %zu) len %u mf %d\n", k, h->frag_off, expect_off,
                    h->total_len, h->mf);
            break;
        }
        memcpy(out + expect_off, ip + h->hlen, plen);
        expect_off += plen;
    }
    return ok ? expect_off : 0;
}

TEST(fragmentation_on_output)
{
    struct net *n = host();
    REQUIRE(n);
    static uint8_t want[8 + 4000], got[65536];
    uint8_t pattern[4000];
    for (unsigned i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)i;
    put_icmp(want, PS_ICMP_ECHO_REQUEST, 0, (0x99u << 16) | 3, pattern, sizeof pattern);
    struct ps_stats before = SNAP(n);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 0x99, 3, 0, NULL, 4000), 0);
    CHECK_DELTA(before, n->s, "eth_tx+3 ip_tx+1 ip_frag_tx+3 icmp_tx+1");
    REQUIRE(n->n == 3);
    struct ps_ipv4_hdr h[3];
    CHECK_EQ(reassemble(n, 0, 3, 1500, got, h), sizeof want);
    CHECK_MEM(got, want, sizeof want);
    CHECK_EQ(h[0].frag_off, 0);
    CHECK_EQ(h[1].frag_off, 1480);
    CHECK_EQ(h[2].frag_off, 2960);
    CHECK_EQ(h[0].total_len, 1500);
    CHECK_EQ(h[2].total_len, 20 + 4008 - 2960);
    for (unsigned i = 0; i < 3; i++) {
        struct ps_eth_hdr eh;
        CHECK(cap_ip(n, i, &eh, &h[i], NULL) && ps_mac_equal(&eh.dst, &MAC_PEER));
        CHECK_EQ(h[i].src, IP_US);
        CHECK_EQ(h[i].ttl, PS_DEFAULT_TTL);
    }

    /* A smaller MTU, an odd size: still every rule. */
    struct net *m = net_new(NULL, NET_TWO_IFACES | NET_STATIC_PEERS, 576);
    REQUIRE(m);
    CHECK_EQ(ps_icmp_echo_request(m->s, IP_PEER1, 0x99, 3, 0, pattern, 2999), 0);
    put_icmp(want, PS_ICMP_ECHO_REQUEST, 0, (0x99u << 16) | 3, pattern, 2999);
    REQUIRE(m->n == 6); /* 3007 bytes in 552-byte pieces */
    struct ps_ipv4_hdr h6[6];
    CHECK_EQ(reassemble(m, 0, 6, 576, got, h6), 8 + 2999);
    CHECK_MEM(got, want, 8 + 2999);
    NET_FREE(m);
    NET_FREE(n);
}

/* A forwarded datagram with options, fragmented: the first fragment keeps
 * them all, later ones only those with the copied flag (RFC 791). */
TEST(fragmentation_copies_flagged_options)
{
    struct net *n = router(576);
    REQUIRE(n);
    /* Router alert (148, copied), record route (7, not copied), EOL. */
    static const uint8_t opts[12] = {148, 4, 0, 0, PS_IPOPT_RR, 7, 4, 0, 0, 0, 0, PS_IPOPT_EOL};
    static uint8_t data[1168], got[65536];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i ^ 0x5a);
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_PEER1, PS_IP_PROTO_UDP);
    h.options = opts;
    h.options_len = sizeof opts;
    uint8_t f[1600];
    size_t len = frame_ip(f, MAC_US, MAC_PEER, &h, data, sizeof data);
    CHECK_EQ(len, 14 + 32 + 1168);
    net_input(n, n->eth0, f, len);
    REQUIRE(n->n == 3);
    struct ps_ipv4_hdr fh[3];
    CHECK_EQ(reassemble(n, 0, 3, 576, got, fh), sizeof data);
    CHECK_MEM(got, data, sizeof data);
    CHECK_EQ(fh[0].hlen, 32);
    CHECK_EQ(fh[0].options_len, 12);
    CHECK(fh[0].options && memcmp(fh[0].options, opts, 12) == 0);
    for (unsigned i = 1; i < 3; i++) {
        CHECK_EQ(fh[i].hlen, 24);
        static const uint8_t ra[4] = {148, 4, 0, 0};
        CHECK(fh[i].options && memcmp(fh[i].options, ra, 4) == 0);
    }
    for (unsigned i = 0; i < 3; i++) {
        CHECK_EQ(fh[i].ttl, 63);
        CHECK(n->f[i].ifc == n->eth1);
    }
    CHECK_EQ(fh[0].total_len, 32 + 544);
    CHECK_EQ(fh[1].total_len, 24 + 552);
    NET_FREE(n);
}

int main(void)
{
    RUN(drop_truncated);
    RUN(drop_version);
    RUN(drop_header_length);
    RUN(drop_total_length);
    RUN(drop_reserved_flag);
    RUN(drop_checksum);
    RUN(drop_malformed_options);
    RUN(drop_source_route);
    RUN(drop_martian_sources);
    RUN(drop_loopback_destination_from_wire);
    RUN(drop_multicast_destination);
    RUN(drop_not_for_us_without_forwarding);
    RUN(ethernet_demux);
    RUN(ethernet_padding_trimmed);
    RUN(unknown_protocol_unreachable);
    RUN(unknown_protocol_broadcast_silent);
    RUN(udp_closed_port_is_port_unreachable);
    RUN(forward_decrements_ttl);
    RUN(forward_ttl_exceeded);
    RUN(forward_no_route);
    RUN(forward_df_too_big);
    RUN(fragmentation_on_output);
    RUN(fragmentation_copies_flagged_options);
    TEST_END();
}
