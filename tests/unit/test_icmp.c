/*
 * tests/unit/test_icmp.c - ICMP through a real stack: echo, what is
 * refused, errors received and handed up, the rate limit on errors sent and
 * the RFC 1122 3.2.2 rules on when never to send one.
 */
#include <errno.h>

#include "frames.h"

static struct net *host(const struct ps_config *cfg)
{
    return net_new(cfg, NET_STATIC_PEERS, 0);
}

static struct net *router(void)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.ip_forwarding = true;
    return net_new(&cfg, NET_TWO_IFACES | NET_STATIC_PEERS, 0);
}

#define ECHO_DELTA                                                                                  \
    "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_delivered+1 icmp_rx+1 icmp_tx+1 icmp_echo_rx+1 " \
    "icmp_echo_reply_tx+1"
#define SILENT_ECHO_DELTA "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_echo_rx+1"

/* ---- echo ------------------------------------------------------------------- */

TEST(echo_request_answered)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t data[57]; /* odd: the checksum's last byte alone */
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(0xc0 + i);
    uint8_t icmp[128], f[256];
    size_t ilen = put_icmp(icmp, PS_ICMP_ECHO_REQUEST, 0, (0xbeefu << 16) | 4242, data, sizeof data);
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
    h.tos = 0x10;
    h.ttl = 3;
    size_t len = frame_ip(f, MAC_US, MAC_PEER, &h, icmp, ilen);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, ECHO_DELTA);
    REQUIRE(n->n == 1);
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    struct ps_icmp_hdr ic;
    REQUIRE(cap_icmp(n, 0, &eh, &ih, &ic)); /* checksums verify */
    CHECK(ps_mac_equal(&eh.dst, &MAC_PEER));
    CHECK(ps_mac_equal(&eh.src, &MAC_US));
    CHECK_U64(ih.src, IP_US);
    CHECK_U64(ih.dst, IP_PEER);
    CHECK_EQ(ih.ttl, PS_DEFAULT_TTL);
    CHECK_EQ(ih.tos, 0x10);
    CHECK_EQ(ic.type, PS_ICMP_ECHO_REPLY);
    CHECK_EQ(ic.code, 0);
    CHECK_EQ(ic.id, 0xbeef);
    CHECK_EQ(ic.seq, 4242);
    REQUIRE(ic.payload_len == sizeof data);
    CHECK_MEM(ic.payload, data, sizeof data);
    NET_FREE(n);
}

TEST(echo_reply_can_be_turned_off)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.icmp_echo_reply = false;
    struct net *n = host(&cfg);
    REQUIRE(n);
    uint8_t f[128];
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, frame_echo(f, MAC_US, IP_PEER, IP_US, 1, 1, "x", 1));
    CHECK_DELTA(before, n->s, SILENT_ECHO_DELTA);
    CHECK_EQ(n->n, 0);
    NET_FREE(n);
}

/* A ping "from" 0.0.0.0 names nobody to answer. */
TEST(echo_from_unspecified_not_answered)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t f[128];
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, frame_echo(f, MAC_US, 0, IP_US, 1, 1, "x", 1));
    CHECK_DELTA(before, n->s, SILENT_ECHO_DELTA);
    CHECK_EQ(n->n, 0);
    NET_FREE(n);
}

/* No answer to a broadcast ping, however it is broadcast (smurf). */
TEST(broadcast_echo_not_answered)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    static const struct {
        ps_mac_t mac;
        ps_ip4_t dst;
    } to[] = {
        {{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, PS_IP4(192, 0, 2, 255)},
        {{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, PS_IP4(255, 255, 255, 255)},
        {{{0x02, 0, 0, 0, 0, 0x01}}, PS_IP4(192, 0, 2, 255)},
        {{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, PS_IP4(192, 0, 2, 1)},
    };
    for (unsigned i = 0; i < sizeof to / sizeof to[0]; i++) {
        uint8_t f[128];
        struct ps_stats before = SNAP(n);
        net_input(n, n->eth0, f, frame_echo(f, to[i].mac, IP_PEER, to[i].dst, 1, (uint16_t)i, "ping", 4));
        CHECK_DELTA(before, n->s, SILENT_ECHO_DELTA);
    }
    CHECK_EQ(n->n, 0);
    NET_FREE(n);
}

TEST(bad_checksum_dropped)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t f[128];
    size_t len = frame_echo(f, MAC_US, IP_PEER, IP_US, 1, 1, "abcdefgh", 8);
    f[len - 1] ^= 0x01;
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_drop_malformed+1");
    /* Shorter than an ICMP header. */
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
    static const uint8_t four[4] = {8, 0, 0xf7, 0xff};
    before = SNAP(n);
    net_input(n, n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &h, four, 4));
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_drop_malformed+1");
    CHECK_EQ(n->n, 0);
    NET_FREE(n);
}

/* Our own pings: replies and errors reach the echo hook. */
TEST(echo_hook_sees_replies_and_errors)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    struct echo_log *log = calloc(1, sizeof(*log));
    REQUIRE(log);
    ps_icmp_set_echo_hook(n->s, echo_record, log);
    /* To ourselves, over the loopback path. */
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_US, 9, 1, 0, (const uint8_t *)"self", 4), 0);
    CHECK_EQ(n->n, 0);
    net_poll(n, n->now); /* the request */
    net_poll(n, n->now); /* the reply */
    REQUIRE(log->n == 1);
    CHECK(log->ev[0].is_reply);
    CHECK_U64(log->ev[0].from, IP_US);
    CHECK_EQ(log->ev[0].id, 9);
    CHECK_EQ(log->ev[0].seq, 1);
    CHECK_EQ(log->ev[0].len, 4);
    CHECK_MEM(log->data[0], "self", 4);

    /* A reply from the wire. */
    uint8_t icmp[64], f[128];
    size_t ilen = put_icmp(icmp, PS_ICMP_ECHO_REPLY, 0, (9u << 16) | 2, "wire", 4);
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
    h.ttl = 61;
    net_input(n, n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &h, icmp, ilen));
    REQUIRE(log->n == 2);
    CHECK(log->ev[1].is_reply);
    CHECK_U64(log->ev[1].from, IP_PEER);
    CHECK_EQ(log->ev[1].seq, 2);
    CHECK_EQ(log->ev[1].ttl, 61);
    CHECK_MEM(log->data[1], "wire", 4);

    /* A router's time exceeded about our request. */
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 9, 3, 0, NULL, 24), 0);
    REQUIRE(n->n == 1);
    uint8_t quote[28];
    memcpy(quote, n->f[0].b + 14, 28);
    ilen = put_icmp(icmp, PS_ICMP_TIME_EXCEEDED, PS_ICMP_TIMXCEED_TTL, 0, quote, 28);
    h = ip_hdr(PS_IP4(203, 0, 113, 1), IP_US, PS_IP_PROTO_ICMP);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &h, icmp, ilen));
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_err_rx+1");
    REQUIRE(log->n == 3);
    CHECK(!log->ev[2].is_reply);
    CHECK_U64(log->ev[2].from, PS_IP4(203, 0, 113, 1));
    CHECK_EQ(log->ev[2].seq, 3);
    CHECK_EQ(log->ev[2].err_type, PS_ICMP_TIME_EXCEEDED);
    CHECK_EQ(log->ev[2].err_code, PS_ICMP_TIMXCEED_TTL);
    CHECK_EQ(n->n, 1);
    NET_FREE(n);
    free(log);
}

/* ---- what is ignored -------------------------------------------------------- */

TEST(redirect_and_unhandled_types_ignored)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    /* A redirect toward an attacker, about a datagram we did send. */
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_FAR, 1, 1, 0, NULL, 8), -ENETUNREACH);
    REQUIRE(ps_route_add(n->s, 0, 0, PS_IP4(192, 0, 2, 254), n->eth0) == 0);
    REQUIRE(ps_arp_add_static(n->s, n->eth0, PS_IP4(192, 0, 2, 254), &MAC(0, 0xfe)) == 0);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_FAR, 1, 1, 0, NULL, 8), 0);
    REQUIRE(n->n == 1);
    uint8_t icmp[64], f[128];
    size_t ilen = put_icmp(icmp, PS_ICMP_REDIRECT, 1, PS_IP4(192, 0, 2, 66), n->f[0].b + 14, 28);
    struct ps_ipv4_hdr h = ip_hdr(PS_IP4(192, 0, 2, 254), IP_US, PS_IP_PROTO_ICMP);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, frame_ip(f, MAC_US, MAC(0, 0xfe), &h, icmp, ilen));
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_drop_type+1");
    struct ps_iface *ifc;
    ps_ip4_t hop;
    REQUIRE(ps_route_lookup(n->s, IP_FAR, &ifc, &hop, NULL) == 0);
    CHECK_U64(hop, PS_IP4(192, 0, 2, 254));
    /* Timestamp request (13), an obsolete type. */
    ilen = put_icmp(icmp, 13, 0, 0, "0123456789ab", 12);
    h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
    before = SNAP(n);
    net_input(n, n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &h, icmp, ilen));
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_drop_type+1");
    CHECK_EQ(n->n, 1);
    NET_FREE(n);
}

/* ---- errors received ---------------------------------------------------- */

/* An error from `from` (type, code, second word) quoting q. */
static size_t error_frame(uint8_t *f, ps_ip4_t from, uint8_t type, uint8_t code, uint32_t rest,
                          const uint8_t *q, size_t qlen)
{
    uint8_t icmp[600];
    size_t ilen = put_icmp(icmp, type, code, rest, q, qlen);
    struct ps_ipv4_hdr h = ip_hdr(from, IP_US, PS_IP_PROTO_ICMP);
    return frame_ip(f, MAC_US, MAC_PEER, &h, icmp, ilen);
}

TEST(error_about_our_udp_goes_to_transport)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    /* A UDP datagram we really send. */
    struct ps_pbuf *p = ps_pbuf_alloc(n->s, 8 + 5);
    REQUIRE(p);
    memcpy(p->data + 8, "hello", 5);
    struct ps_udp_hdr uh = {.sport = 5353, .dport = 53, .len = 13};
    ps_udp_emit(p->data, &uh, IP_US, IP_PEER, 5);
    struct ps_ip_tx tx = {.dst = IP_PEER, .proto = PS_IP_PROTO_UDP};
    CHECK_EQ(ps_ip_output(n->s, p, &tx), 0);
    REQUIRE(n->n == 1);
    uint8_t q[28], f[256];
    memcpy(q, n->f[0].b + 14, sizeof q);
    static const struct {
        uint8_t type, code;
        uint32_t rest;
    } err[] = {
        {PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_PORT, 0},
        {PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NEEDFRAG, 1280},
        {PS_ICMP_TIME_EXCEEDED, PS_ICMP_TIMXCEED_TTL, 0},
        {PS_ICMP_PARAM_PROBLEM, 0, 12u << 24},
        {PS_ICMP_SOURCE_QUENCH, 0, 0},
    };
    for (unsigned i = 0; i < sizeof err / sizeof err[0]; i++) {
        struct ps_stats before = SNAP(n);
        net_input(n, n->eth0, f, error_frame(f, IP_PEER, err[i].type, err[i].code, err[i].rest, q, sizeof q));
        CHECK_DELTA(before, n->s,
                    "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_err_rx+1 tp_icmp_err_unmatched+1");
    }
    /* The whole datagram quoted, as Linux does, is fine too. */
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, error_frame(f, IP_PEER, 3, 3, 0, n->f[0].b + 14, 20 + 13));
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_err_rx+1 tp_icmp_err_unmatched+1");
    CHECK_EQ(n->n, 1); /* never an error about an error */
    NET_FREE(n);
}

TEST(error_not_about_us_dropped)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t q[28], f[256];
    uint8_t udp[8] = {0x13, 0x89, 0x00, 0x35, 0x00, 0x08, 0, 0};
    struct ps_ipv4_hdr qh = ip_hdr(PS_IP4(192, 0, 2, 77), IP_PEER, PS_IP_PROTO_UDP);
    qh.total_len = 28;
    ps_ipv4_emit(q, &qh);
    memcpy(q + 20, udp, 8);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, error_frame(f, IP_PEER, 3, 3, 0, q, sizeof q));
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_drop_malformed+1");
    /* Nor a quote too short to name the datagram: header + 8 bytes. */
    qh.src = IP_US;
    ps_ipv4_emit(q, &qh);
    before = SNAP(n);
    net_input(n, n->eth0, f, error_frame(f, IP_PEER, 3, 3, 0, q, 27));
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_drop_malformed+1");
    q[0] = 0x65; /* not IPv4 */
    before = SNAP(n);
    net_input(n, n->eth0, f, error_frame(f, IP_PEER, 3, 3, 0, q, 28));
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 icmp_rx+1 icmp_drop_malformed+1");
    CHECK_EQ(n->n, 0);
    NET_FREE(n);
}

/* ---- errors sent ------------------------------------------------------------ */

/* A datagram of an unknown protocol: each costs one error. */
static void unknown_proto(struct net *n, uint16_t id)
{
    uint8_t f[128];
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, 253);
    h.id = id;
    net_input(n, n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &h, "12345678", 8));
}

TEST(error_rate_limit)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    const unsigned burst = PS_DEFAULT_ICMP_BURST;
    const ps_time_t per_token = PS_SEC(1) / PS_DEFAULT_ICMP_RATE;
    for (unsigned i = 0; i < burst + 10; i++)
        unknown_proto(n, (uint16_t)i);
    CHECK_EQ(n->n, burst);
    CHECK_EQ(ps_stack_stats(n->s)->icmp_err_tx, burst);
    CHECK_EQ(ps_stack_stats(n->s)->icmp_rate_limited, 10);
    CHECK_EQ(ps_stack_stats(n->s)->ip_drop_unknown_proto, burst + 10);
    /* Every error sent is one we expect, for a distinct datagram. */
    for (unsigned i = 0; i < burst; i++) {
        struct ps_eth_hdr eh;
        struct ps_ipv4_hdr ih;
        struct ps_icmp_hdr ic;
        REQUIRE(cap_icmp(n, i, &eh, &ih, &ic));
        CHECK_EQ(ic.type, PS_ICMP_DEST_UNREACH);
        CHECK_EQ(ps_get16(ic.payload + 4), i);
    }
    /* Half a token later: still nothing. */
    net_poll(n, T0 + per_token / 2);
    unknown_proto(n, 1000);
    CHECK_EQ(n->n, burst);
    CHECK_EQ(ps_stack_stats(n->s)->icmp_rate_limited, 11);
    /* One token: one error. */
    net_poll(n, T0 + per_token);
    unknown_proto(n, 1001);
    unknown_proto(n, 1002);
    CHECK_EQ(n->n, burst + 1);
    CHECK_EQ(ps_stack_stats(n->s)->icmp_rate_limited, 12);
    /* Long idle: the bucket is full again, but no deeper than the burst. */
    net_poll(n, T0 + PS_SEC(60));
    for (unsigned i = 0; i < burst + 10; i++)
        unknown_proto(n, (uint16_t)(2000 + i));
    CHECK_EQ(n->n, 2 * burst + 1);
    CHECK_EQ(ps_stack_stats(n->s)->icmp_rate_limited, 22);
    /* Echo replies do not depend on error tokens. */
    uint8_t f[128];
    net_input(n, n->eth0, f, frame_echo(f, MAC_US, IP_PEER, IP_US, 1, 1, "x", 1));
    CHECK_EQ(n->n, 2 * burst + 2);
    NET_FREE(n);
}

/* A TTL-expiring datagram through a router, proto/type and fragment
 * fields as given; returns the frame length. */
static size_t expiring(uint8_t *f, ps_ip4_t dst, uint8_t proto, const uint8_t *payload, size_t plen, uint16_t off,
                       bool mf)
{
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, dst, proto);
    h.ttl = 1;
    h.frag_off = off;
    h.mf = mf;
    return frame_ip(f, MAC_US, MAC_PEER, &h, payload, plen);
}

#define SUPPRESSED_DELTA "eth_rx+1 ip_rx+1 ip_drop_ttl+1 icmp_err_suppressed+1"
#define TIME_EXCEEDED_DELTA "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_drop_ttl+1 icmp_tx+1 icmp_err_tx+1"

TEST(no_error_about_an_icmp_error)
{
    struct net *n = router();
    REQUIRE(n);
    uint8_t err[36], echo[16], f[128];
    memset(err, 0, sizeof err);
    static const uint8_t types[] = {PS_ICMP_DEST_UNREACH, PS_ICMP_TIME_EXCEEDED, PS_ICMP_PARAM_PROBLEM,
                                    PS_ICMP_REDIRECT, PS_ICMP_SOURCE_QUENCH};
    for (unsigned i = 0; i < sizeof types; i++) {
        put_icmp(err, types[i], 0, 0, NULL, 28);
        struct ps_stats before = SNAP(n);
        net_input(n, n->eth0, f, expiring(f, IP_PEER1, PS_IP_PROTO_ICMP, err, sizeof err, 0, false));
        CHECK_DELTA(before, n->s, SUPPRESSED_DELTA);
    }
    CHECK_EQ(n->n, 0);
    /* An echo request is not an error: it does get one. */
    put_icmp(echo, PS_ICMP_ECHO_REQUEST, 0, 1, "abcdefgh", 8);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, expiring(f, IP_PEER1, PS_IP_PROTO_ICMP, echo, sizeof echo, 0, false));
    CHECK_DELTA(before, n->s, TIME_EXCEEDED_DELTA);
    CHECK_EQ(n->n, 1);
    NET_FREE(n);
}

TEST(no_error_about_a_later_fragment)
{
    struct net *n = router();
    REQUIRE(n);
    uint8_t f[128], data[16] = {0};
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, expiring(f, IP_PEER1, PS_IP_PROTO_UDP, data, 16, 16, true));
    net_input(n, n->eth0, f, expiring(f, IP_PEER1, PS_IP_PROTO_UDP, data, 16, 32, false));
    CHECK_EQ(n->n, 0);
    /* A later fragment of an ICMP message too (its first bytes are data). */
    data[0] = PS_ICMP_ECHO_REQUEST;
    net_input(n, n->eth0, f, expiring(f, IP_PEER1, PS_IP_PROTO_ICMP, data, 16, 16, true));
    CHECK_EQ(n->n, 0);
    const struct ps_stats *st = ps_stack_stats(n->s);
    CHECK_EQ(st->icmp_err_suppressed - before.icmp_err_suppressed, 3);
    CHECK_EQ(st->ip_drop_ttl - before.ip_drop_ttl, 3);
    /* The first fragment gets its error. */
    before = SNAP(n);
    net_input(n, n->eth0, f, expiring(f, IP_PEER1, PS_IP_PROTO_UDP, data, 16, 0, true));
    CHECK_DELTA(before, n->s, TIME_EXCEEDED_DELTA);
    CHECK_EQ(n->n, 1);
    NET_FREE(n);
}

/* A datagram to a broadcast address earns no error, even a directed
 * broadcast to the router's other subnet. */
TEST(no_error_about_a_broadcast)
{
    struct net *n = router();
    REQUIRE(n);
    uint8_t f[128], data[16] = {0};
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, expiring(f, PS_IP4(198, 51, 100, 255), PS_IP_PROTO_UDP, data, 16, 0, false));
    CHECK_DELTA(before, n->s, SUPPRESSED_DELTA);
    CHECK_EQ(n->n, 0);
    /* Unknown protocol to our broadcast addresses: not a word. */
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_BCAST0, 253);
    net_input(n, n->eth0, f, frame_ip(f, MAC_BCAST, MAC_PEER, &h, data, 8));
    h.dst = PS_IP4_BROADCAST;
    net_input(n, n->eth0, f, frame_ip(f, MAC_BCAST, MAC_PEER, &h, data, 8));
    CHECK_EQ(ps_stack_stats(n->s)->ip_drop_unknown_proto, 2);
    CHECK_EQ(n->n, 0);
    NET_FREE(n);
}

int main(void)
{
    RUN(echo_request_answered);
    RUN(echo_reply_can_be_turned_off);
    RUN(echo_from_unspecified_not_answered);
    RUN(broadcast_echo_not_answered);
    RUN(bad_checksum_dropped);
    RUN(echo_hook_sees_replies_and_errors);
    RUN(redirect_and_unhandled_types_ignored);
    RUN(error_about_our_udp_goes_to_transport);
    RUN(error_not_about_us_dropped);
    RUN(error_rate_limit);
    RUN(no_error_about_an_icmp_error);
    RUN(no_error_about_a_later_fragment);
    RUN(no_error_about_a_broadcast);
    TEST_END();
}
