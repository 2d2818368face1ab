/*
 * Tests of the header parsers and emitters in wire.h, on frames Linux put
 * on a TAP device and on every malformed variant the parsers must refuse.
 */
#include "portstack/wire.h"
#include "test.h"

#define SRC PS_IP4(10, 0, 0, 1)
#define DST PS_IP4(10, 0, 0, 2)

/* ---- Frames captured from Linux 6.x through a TAP device ------------------ */

/* "who-has 10.0.0.3 tell 10.0.0.1" */
static const uint8_t arp_req[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x86, 0xbe, 0xcd, 0x49, 0x8a, 0x04,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x86, 0xbe,
    0xcd, 0x49, 0x8a, 0x04, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x0a, 0x00, 0x00, 0x03,
};

/* "10.0.0.1 is-at 22:2c:33:12:3f:0c", to 10.0.0.2 at 02:00:00:00:00:02 */
static const uint8_t arp_reply[42] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x22, 0x2c, 0x33, 0x12, 0x3f, 0x0c,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x22, 0x2c,
    0x33, 0x12, 0x3f, 0x0c, 0x0a, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x02, 0x0a, 0x00, 0x00, 0x02,
};

/* ping 10.0.0.2: echo request id 0x0cf2 seq 1, 56 bytes of data */
static const uint8_t ping_frame[98] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xbe, 0xcd, 0x49, 0x8a, 0x04,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x54, 0x29, 0xfe, 0x40, 0x00, 0x40, 0x01,
    0xfc, 0xa8, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x08, 0x00,
    0xc0, 0x52, 0x0c, 0xf2, 0x00, 0x01, 0x80, 0x6e, 0x08, 0x6b, 0x00, 0x00,
    0x00, 0x00, 0xe1, 0x0d, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11,
    0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
    0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
    0x36, 0x37,
};

/* ping -R 10.0.0.2: IHL 15 with NOP and a 39-byte Record Route option */
static const uint8_t ping_rr_frame[138] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x22, 0x2c, 0x33, 0x12, 0x3f, 0x0c,
    0x08, 0x00, 0x4f, 0x00, 0x00, 0x7c, 0x52, 0xcd, 0x40, 0x00, 0x40, 0x01,
    0x97, 0xa1, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x01, 0x07,
    0x27, 0x08, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x08, 0x00, 0x3f, 0x47, 0x11, 0x54, 0x00, 0x01, 0x0c, 0x6f,
    0x08, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xd0, 0xb6, 0x03, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
    0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31,
    0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/* Port unreachable for a UDP datagram 10.0.0.2:40000 -> 10.0.0.1:9 */
static const uint8_t unreach_frame[75] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x22, 0x2c, 0x33, 0x12, 0x3f, 0x0c,
    0x08, 0x00, 0x45, 0xc0, 0x00, 0x3d, 0x52, 0xcb, 0x00, 0x00, 0x40, 0x01,
    0x13, 0x33, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x03, 0x03,
    0x11, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x21, 0x12, 0x34,
    0x00, 0x00, 0x40, 0x11, 0x54, 0x96, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00,
    0x00, 0x01, 0x9c, 0x40, 0x00, 0x09, 0x00, 0x0d, 0x0a, 0xb3, 0x70, 0x72,
    0x6f, 0x62, 0x65,
};

/* connect() to 10.0.0.2:80: SYN with MSS 1460, SACK_PERM+TS, NOP WS 10 */
static const uint8_t syn_frame[74] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xbe, 0xcd, 0x49, 0x8a, 0x04,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0xa5, 0x20, 0x40, 0x00, 0x40, 0x06,
    0x81, 0x99, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xd9, 0x08,
    0x00, 0x50, 0x47, 0xec, 0xbe, 0xc6, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0x91, 0x96, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,
    0x08, 0x0a, 0x5b, 0xfe, 0x6b, 0x69, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03,
    0x03, 0x0a,
};

/* sendto() "hello portstack\n" from 10.0.0.1:59454 to 10.0.0.2:5353 */
static const uint8_t udp_frame[58] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xbe, 0xcd, 0x49, 0x8a, 0x04,
    0x08, 0x00, 0x45, 0x00, 0x00, 0x2c, 0x5a, 0xbc, 0x40, 0x00, 0x40, 0x11,
    0xcc, 0x02, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xe8, 0x3e,
    0x14, 0xe9, 0x00, 0x18, 0x87, 0xdb, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20,
    0x70, 0x6f, 0x72, 0x74, 0x73, 0x74, 0x61, 0x63, 0x6b, 0x0a,
};

/* ---- Helpers ------------------------------------------------------------ */

static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Recompute the checksum of an IPv4 header after a test edited it. */
static void fix_ip_cksum(uint8_t *ip)
{
    size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
    if (hlen < PS_IPV4_HLEN)
        hlen = PS_IPV4_HLEN;
    ps_put16(ip + 10, 0);
    ps_put16(ip + 10, ps_cksum(ip, hlen));
}

static void fix_tcp_cksum(uint8_t *seg, size_t len)
{
    ps_put16(seg + 16, 0);
    uint32_t sum = ps_cksum_pseudo(SRC, DST, PS_IP_PROTO_TCP, (uint16_t)len);
    ps_put16(seg + 16, ps_cksum_finish(ps_cksum_add(sum, seg, len)));
}

/* A heap copy of exactly n bytes, so that AddressSanitizer catches a
 * parser reading past the length it was given. */
static uint8_t *exact(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (c && n)
        memcpy(c, p, n);
    return c;
}

static void fix_udp_cksum(uint8_t *dg, size_t len)
{
    ps_put16(dg + 6, 0);
    uint32_t sum = ps_cksum_pseudo(SRC, DST, PS_IP_PROTO_UDP, (uint16_t)len);
    uint16_t c = ps_cksum_finish(ps_cksum_add(sum, dg, len));
    ps_put16(dg + 6, c ? c : 0xffff);
}

/* ---- Ethernet ------------------------------------------------------------- */

TEST(eth_real_frame)
{
    struct ps_eth_hdr h;
    const ps_mac_t src = {{0x86, 0xbe, 0xcd, 0x49, 0x8a, 0x04}};

    REQUIRE(ps_eth_parse(arp_req, sizeof arp_req, &h) == PS_ETH_HLEN);
    CHECK(ps_mac_is_broadcast(&h.dst));
    CHECK(ps_mac_is_multicast(&h.dst));
    CHECK(ps_mac_equal(&h.src, &src));
    CHECK(!ps_mac_is_multicast(&h.src));
    CHECK_U64(h.type, PS_ETHERTYPE_ARP);

    uint8_t out[PS_ETH_HLEN];
    CHECK_EQ(ps_eth_emit(out, &h), PS_ETH_HLEN);
    CHECK_MEM(out, arp_req, PS_ETH_HLEN);

    REQUIRE(ps_eth_parse(ping_frame, sizeof ping_frame, &h) == PS_ETH_HLEN);
    CHECK_U64(h.type, PS_ETHERTYPE_IPV4);
    CHECK(!ps_mac_is_broadcast(&h.dst));
}

TEST(eth_malformed)
{
    struct ps_eth_hdr h;
    uint8_t f[PS_ETH_HLEN];

    for (size_t n = 0; n < PS_ETH_HLEN; n++) {
        uint8_t *c = exact(arp_req, n);
        REQUIRE(c != NULL);
        CHECK_EQ(ps_eth_parse(c, n, &h), PS_WIRE_ETRUNC);
        free(c);
    }

    /* An 802.3 length field instead of an EtherType. */
    memcpy(f, arp_req, sizeof f);
    ps_put16(f + 12, 0x05ff);
    CHECK_EQ(ps_eth_parse(f, sizeof f, &h), PS_WIRE_EFORMAT);
    ps_put16(f + 12, 0x002e);
    CHECK_EQ(ps_eth_parse(f, sizeof f, &h), PS_WIRE_EFORMAT);
    ps_put16(f + 12, 0x0600);
    CHECK_EQ(ps_eth_parse(f, sizeof f, &h), PS_ETH_HLEN);
    /* A VLAN tag is reported as its type, for the caller to handle. */
    ps_put16(f + 12, PS_ETHERTYPE_VLAN);
    CHECK_EQ(ps_eth_parse(f, sizeof f, &h), PS_ETH_HLEN);
    CHECK_U64(h.type, PS_ETHERTYPE_VLAN);
}

/* ---- ARP ------------------------------------------------------------------ */

TEST(arp_real_request_and_reply)
{
    struct ps_arp_pkt a;
    const ps_mac_t linux_mac = {{0x86, 0xbe, 0xcd, 0x49, 0x8a, 0x04}};
    const ps_mac_t zero = {{0}};

    REQUIRE(ps_arp_parse(arp_req + 14, 28, &a) == PS_ARP_LEN);
    CHECK_EQ(a.op, PS_ARP_REQUEST);
    CHECK(ps_mac_equal(&a.sha, &linux_mac));
    CHECK_U64(a.spa, PS_IP4(10, 0, 0, 1));
    CHECK(ps_mac_equal(&a.tha, &zero));
    CHECK_U64(a.tpa, PS_IP4(10, 0, 0, 3));

    uint8_t out[PS_ARP_LEN];
    CHECK_EQ(ps_arp_emit(out, &a), PS_ARP_LEN);
    CHECK_MEM(out, arp_req + 14, PS_ARP_LEN);

    const ps_mac_t tap_mac = {{0x22, 0x2c, 0x33, 0x12, 0x3f, 0x0c}};
    const ps_mac_t peer = {{0x02, 0, 0, 0, 0, 0x02}};
    REQUIRE(ps_arp_parse(arp_reply + 14, 28, &a) == PS_ARP_LEN);
    CHECK_EQ(a.op, PS_ARP_REPLY);
    CHECK(ps_mac_equal(&a.sha, &tap_mac));
    CHECK_U64(a.spa, PS_IP4(10, 0, 0, 1));
    CHECK(ps_mac_equal(&a.tha, &peer));
    CHECK_U64(a.tpa, PS_IP4(10, 0, 0, 2));
    CHECK_EQ(ps_arp_emit(out, &a), PS_ARP_LEN);
    CHECK_MEM(out, arp_reply + 14, PS_ARP_LEN);

    /* Ethernet padding after the packet is ignored. */
    uint8_t padded[46] = {0};
    memcpy(padded, arp_req + 14, 28);
    CHECK_EQ(ps_arp_parse(padded, sizeof padded, &a), PS_ARP_LEN);
}

TEST(arp_malformed)
{
    struct ps_arp_pkt a;
    uint8_t p[PS_ARP_LEN];

    for (size_t n = 0; n < PS_ARP_LEN; n++) {
        uint8_t *c = exact(arp_req + 14, n);
        REQUIRE(c != NULL);
        CHECK_EQ(ps_arp_parse(c, n, &a), PS_WIRE_ETRUNC);
        free(c);
    }

    /* Each of htype, ptype, hlen, plen wrong. */
    static const struct {
        size_t at;
        uint8_t val;
    } bad[] = {{1, 6}, {0, 1}, {2, 0x86}, {3, 0x06}, {4, 8}, {4, 0}, {5, 16}, {5, 6}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(p, arp_req + 14, sizeof p);
        p[bad[i].at] = bad[i].val;
        CHECK_EQ(ps_arp_parse(p, sizeof p, &a), PS_WIRE_EVERSION);
    }
    /* Operations other than request and reply (RARP is 3 and 4). */
    static const uint16_t ops[] = {0, 3, 4, 0x0101, 0xffff};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        memcpy(p, arp_req + 14, sizeof p);
        ps_put16(p + 6, ops[i]);
        CHECK_EQ(ps_arp_parse(p, sizeof p, &a), PS_WIRE_EFORMAT);
    }
}

/* ---- IPv4 ----------------------------------------------------------------- */

TEST(ipv4_real_header)
{
    struct ps_ipv4_hdr h;
    const uint8_t *ip = ping_frame + 14;

    REQUIRE(ps_ipv4_parse(ip, 84, &h) == 20);
    CHECK_EQ(h.hlen, 20);
    CHECK_EQ(h.tos, 0);
    CHECK_EQ(h.total_len, 84);
    CHECK_U64(h.id, 0x29fe);
    CHECK(h.df);
    CHECK(!h.mf);
    CHECK_EQ(h.frag_off, 0);
    CHECK_EQ(h.ttl, 64);
    CHECK_EQ(h.proto, PS_IP_PROTO_ICMP);
    CHECK_U64(h.cksum, 0xfca8);
    CHECK_U64(h.src, SRC);
    CHECK_U64(h.dst, DST);
    CHECK(h.options == NULL);
    CHECK_EQ(h.options_len, 0);
    CHECK(!h.has_source_route);

    uint8_t out[PS_IPV4_MAX_HLEN];
    memset(out, 0xee, sizeof out);
    CHECK_EQ(ps_ipv4_emit(out, &h), 20);
    CHECK_MEM(out, ip, 20);

    /* Link-layer padding past total_len is the caller's to trim. */
    uint8_t padded[100] = {0};
    memcpy(padded, ip, 84);
    CHECK_EQ(ps_ipv4_parse(padded, sizeof padded, &h), 20);
    CHECK_EQ(h.total_len, 84);

    /* The port-unreachable Linux sent: TOS 0xc0, no DF. */
    REQUIRE(ps_ipv4_parse(unreach_frame + 14, 61, &h) == 20);
    CHECK_EQ(h.tos, 0xc0);
    CHECK(!h.df);
    CHECK_EQ(h.total_len, 61);
    CHECK_U64(h.cksum, 0x1333);
    CHECK_EQ(ps_ipv4_emit(out, &h), 20);
    CHECK_MEM(out, unreach_frame + 14, 20);
}

TEST(ipv4_real_record_route)
{
    struct ps_ipv4_hdr h;
    const uint8_t *ip = ping_rr_frame + 14;

    REQUIRE(ps_ipv4_parse(ip, 124, &h) == 60);
    CHECK_EQ(h.options_len, 40);
    CHECK(h.options == ip + 20);
    CHECK(!h.has_source_route);
    CHECK_EQ(h.total_len, 124);
    CHECK_U64(h.cksum, 0x97a1);

    uint8_t out[PS_IPV4_MAX_HLEN];
    CHECK_EQ(ps_ipv4_emit(out, &h), 60);
    CHECK_MEM(out, ip, 60);
}

TEST(ipv4_truncated)
{
    struct ps_ipv4_hdr h;

    for (size_t n = 0; n < 84; n++) {
        uint8_t *c = exact(ping_frame + 14, n);
        REQUIRE(c != NULL);
        CHECK_EQ(ps_ipv4_parse(c, n, &h), PS_WIRE_ETRUNC);
        free(c);
    }
    /* With options: also cut inside the options. */
    for (size_t n = 0; n < 124; n++) {
        uint8_t *c = exact(ping_rr_frame + 14, n);
        REQUIRE(c != NULL);
        CHECK_EQ(ps_ipv4_parse(c, n, &h), PS_WIRE_ETRUNC);
        free(c);
    }
}

TEST(ipv4_malformed_fields)
{
    struct ps_ipv4_hdr h;
    uint8_t p[84];

#define FRESH() memcpy(p, ping_frame + 14, sizeof p)

    FRESH();
    p[0] = 0x65; /* version 6 */
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_EVERSION);
    FRESH();
    p[0] = 0x05; /* version 0 */
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_EVERSION);

    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        FRESH();
        p[0] = (uint8_t)(0x40 | ihl);
        fix_ip_cksum(p);
        CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_EHDRLEN);
    }

    /* IHL beyond the buffer: a 20-byte buffer claiming 24 or 60 bytes. */
    FRESH();
    p[0] = 0x46;
    ps_put16(p + 2, 24);
    CHECK_EQ(ps_ipv4_parse(p, 20, &h), PS_WIRE_ETRUNC);
    p[0] = 0x4f;
    CHECK_EQ(ps_ipv4_parse(p, 20, &h), PS_WIRE_ETRUNC);
    CHECK_EQ(ps_ipv4_parse(p, 59, &h), PS_WIRE_ETRUNC);

    /* total_len below the header length. */
    static const uint16_t short_tl[] = {0, 1, 19};
    for (size_t i = 0; i < 3; i++) {
        FRESH();
        ps_put16(p + 2, short_tl[i]);
        fix_ip_cksum(p);
        CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_ELEN);
    }
    FRESH();
    p[0] = 0x46; /* hlen 24 > total_len 23 */
    ps_put16(p + 2, 23);
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_ELEN);
    /* total_len exactly the header: a datagram with no payload is fine. */
    FRESH();
    ps_put16(p + 2, 20);
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), 20);

    /* total_len beyond the buffer. */
    FRESH();
    ps_put16(p + 2, 85);
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_ETRUNC);
    ps_put16(p + 2, 0xffff);
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_ETRUNC);

    /* Bad checksum: the field itself, or any header byte, changed. */
    FRESH();
    p[11] ^= 1;
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_ECKSUM);
    for (size_t i = 1; i < 20; i++) {
        if (i == 2 || i == 3)
            continue; /* total_len changes are caught as lengths first */
        FRESH();
        p[i] ^= 0x20;
        CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_ECKSUM);
    }
    /* The checksum covers the header only. */
    FRESH();
    p[40] ^= 0xff;
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), 20);

    /* Reserved flag. */
    FRESH();
    p[6] |= 0x80;
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_EFORMAT);
#undef FRESH
}

/* A fragment whose offset plus payload passes 65535 ("ping of death"). */
TEST(ipv4_fragment_overflow)
{
    struct ps_ipv4_hdr h;
    uint8_t p[40] = {0};

    memcpy(p, ping_frame + 14, 20);
    /* Last offset possible: 8191 * 8 = 65528; 7 payload bytes reach 65535. */
    ps_put16(p + 6, 0x1fff);
    ps_put16(p + 2, 27);
    fix_ip_cksum(p);
    REQUIRE(ps_ipv4_parse(p, 27, &h) == 20);
    CHECK_EQ(h.frag_off, 65528);
    CHECK(!h.mf);
    CHECK(!h.df);
    ps_put16(p + 2, 28);
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, 28, &h), PS_WIRE_EFORMAT);
    ps_put16(p + 6, 0x3fff); /* with MF too */
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, 28, &h), PS_WIRE_EFORMAT);

    /* Offset 65000 plus 536 = 65536. */
    ps_put16(p + 6, 0x2000 | (65000 / 8));
    ps_put16(p + 2, 20 + 16);
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, 36, &h), 20);
    CHECK_EQ(h.frag_off, 65000);
    CHECK(h.mf);

    uint8_t big[20 + 536] = {0};
    memcpy(big, p, 20);
    ps_put16(big + 2, sizeof big);
    fix_ip_cksum(big);
    CHECK_EQ(ps_ipv4_parse(big, sizeof big, &h), PS_WIRE_EFORMAT);
    ps_put16(big + 2, sizeof big - 1);
    fix_ip_cksum(big);
    CHECK_EQ(ps_ipv4_parse(big, sizeof big, &h), 20);
}

/* Build a header with the given option bytes (a multiple of 4) and parse
 * it from a buffer of exactly its size.  On success h->options is checked
 * to point at the options and is then cleared. */
static int parse_with_options(const uint8_t *opts, uint8_t n, struct ps_ipv4_hdr *h)
{
    static uint8_t buf[PS_IPV4_MAX_HLEN];
    struct ps_ipv4_hdr in = {.total_len = (uint16_t)(20 + n),
                             .ttl = 64,
                             .proto = PS_IP_PROTO_UDP,
                             .src = SRC,
                             .dst = DST,
                             .options = opts,
                             .options_len = n};
    size_t hlen = ps_ipv4_emit(buf, &in);
    if (hlen != 20u + n)
        return 999;
    uint8_t *c = exact(buf, hlen);
    if (!c)
        return 999;
    int r = ps_ipv4_parse(c, hlen, h);
    /* The options are reported in place; check them before the copy goes. */
    if (r > 0 && (h->options != c + 20 || memcmp(h->options, opts, n) != 0))
        r = 998;
    free(c);
    h->options = NULL;
    return r;
}

TEST(ipv4_options)
{
    struct ps_ipv4_hdr h;

    static const uint8_t nops[] = {1, 1, 1, 0};
    CHECK_EQ(parse_with_options(nops, 4, &h), 24);
    CHECK_EQ(h.options_len, 4);
    CHECK(!h.has_source_route);

    /* Whatever follows EOL is padding and is not read as options. */
    static const uint8_t eol[] = {0, 0x44, 0, 0xff};
    CHECK_EQ(parse_with_options(eol, 4, &h), 24);

    /* An unknown option of valid length (Router Alert) is passed over. */
    static const uint8_t ra[] = {0x94, 4, 0, 0};
    CHECK_EQ(parse_with_options(ra, 4, &h), 24);
    CHECK(!h.has_source_route);

    /* Loose and strict source routes are flagged. */
    static const uint8_t lsrr[] = {PS_IPOPT_LSRR, 7, 4, 192, 0, 2, 1, 0};
    CHECK_EQ(parse_with_options(lsrr, 8, &h), 28);
    CHECK(h.has_source_route);
    static const uint8_t ssrr[] = {1, PS_IPOPT_SSRR, 11, 8, 192, 0, 2, 1, 192, 0, 2, 9};
    CHECK_EQ(parse_with_options(ssrr, 12, &h), 32);
    CHECK(h.has_source_route);
    /* Behind another option. */
    static const uint8_t rr_lsrr[] = {PS_IPOPT_RR, 7, 4, 0, 0, 0, 0, PS_IPOPT_LSRR, 3, 4, 0, 0};
    CHECK_EQ(parse_with_options(rr_lsrr, 12, &h), 32);
    CHECK(h.has_source_route);
    /* But not after EOL. */
    static const uint8_t after_eol[] = {0, PS_IPOPT_LSRR, 3, 4};
    CHECK_EQ(parse_with_options(after_eol, 4, &h), 24);
    CHECK(!h.has_source_route);

    /* 40 bytes of options, the most there can be. */
    uint8_t full[40];
    memset(full, PS_IPOPT_NOP, sizeof full);
    full[36] = 0x44; /* timestamp option, 4 bytes, ends exactly at 60 */
    full[37] = 4;
    full[38] = 5;
    full[39] = 0;
    CHECK_EQ(parse_with_options(full, 40, &h), 60);
}

TEST(ipv4_options_malformed)
{
    struct ps_ipv4_hdr h;

    static const uint8_t len0[] = {0x44, 0, 0, 0};
    CHECK_EQ(parse_with_options(len0, 4, &h), PS_WIRE_EOPTION);
    static const uint8_t len1[] = {0x44, 1, 0, 0};
    CHECK_EQ(parse_with_options(len1, 4, &h), PS_WIRE_EOPTION);
    static const uint8_t len0_late[] = {1, 1, 1, 1, 0x82, 0, 0, 0};
    CHECK_EQ(parse_with_options(len0_late, 8, &h), PS_WIRE_EOPTION);
    /* Running past the end of the header. */
    static const uint8_t past[] = {0x44, 5, 5, 0};
    CHECK_EQ(parse_with_options(past, 4, &h), PS_WIRE_EOPTION);
    static const uint8_t past_far[] = {1, 0x44, 255, 0};
    CHECK_EQ(parse_with_options(past_far, 4, &h), PS_WIRE_EOPTION);
    static const uint8_t lsrr_past[] = {PS_IPOPT_LSRR, 11, 4, 192, 0, 2, 1, 0};
    CHECK_EQ(parse_with_options(lsrr_past, 8, &h), PS_WIRE_EOPTION);
    /* A type byte in the last place, with no room for its length. */
    static const uint8_t no_len[] = {1, 1, 1, 0x44};
    CHECK_EQ(parse_with_options(no_len, 4, &h), PS_WIRE_EOPTION);
    /* Route options too short for their pointer, with a pointer below 4,
     * or with a partial address. */
    static const uint8_t rr2[] = {PS_IPOPT_RR, 2, 1, 1};
    CHECK_EQ(parse_with_options(rr2, 4, &h), PS_WIRE_EOPTION);
    static const uint8_t lsrr_ptr3[] = {PS_IPOPT_LSRR, 7, 3, 192, 0, 2, 1, 0};
    CHECK_EQ(parse_with_options(lsrr_ptr3, 8, &h), PS_WIRE_EOPTION);
    static const uint8_t ssrr_odd[] = {PS_IPOPT_SSRR, 6, 4, 192, 0, 2, 0, 0};
    CHECK_EQ(parse_with_options(ssrr_odd, 8, &h), PS_WIRE_EOPTION);

    /* The real Record Route header with its option length off by one
     * either way. */
    uint8_t p[124];
    memcpy(p, ping_rr_frame + 14, sizeof p);
    p[22] = 40;
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_EOPTION);
    p[22] = 38;
    fix_ip_cksum(p);
    CHECK_EQ(ps_ipv4_parse(p, sizeof p, &h), PS_WIRE_EOPTION);
}

TEST(ipv4_emit_round_trip)
{
    uint32_t s = 4242;
    /* Router Alert, then NOP padding and EOL. */
    static const uint8_t opts[8] = {0x94, 4, 0, 0, PS_IPOPT_NOP, PS_IPOPT_NOP, PS_IPOPT_NOP,
                                    PS_IPOPT_EOL};

    for (int iter = 0; iter < 2000; iter++) {
        struct ps_ipv4_hdr in;
        memset(&in, 0, sizeof in);
        uint8_t optlen = (uint8_t)(4 * (rnd(&s) % 3));
        uint16_t payload = (uint16_t)(rnd(&s) % 1480);
        in.tos = (uint8_t)rnd(&s);
        in.total_len = (uint16_t)(20 + optlen + payload);
        in.id = (uint16_t)rnd(&s);
        in.df = rnd(&s) & 1;
        in.mf = rnd(&s) & 1;
        in.frag_off = (uint16_t)(8 * (rnd(&s) % (64000 / 8))); /* + payload < 65535 */
        in.ttl = (uint8_t)rnd(&s);
        in.proto = (uint8_t)rnd(&s);
        in.src = rnd(&s);
        in.dst = rnd(&s);
        in.options = optlen ? opts : NULL;
        in.options_len = optlen;

        uint8_t buf[1600] = {0};
        size_t hlen = ps_ipv4_emit(buf, &in);
        REQUIRE(hlen == 20u + optlen);
        struct ps_ipv4_hdr out;
        REQUIRE(ps_ipv4_parse(buf, in.total_len, &out) == (int)hlen);
        CHECK_EQ(out.hlen, hlen);
        CHECK_EQ(out.tos, in.tos);
        CHECK_EQ(out.total_len, in.total_len);
        CHECK_EQ(out.id, in.id);
        CHECK_EQ(out.df, in.df);
        CHECK_EQ(out.mf, in.mf);
        CHECK_EQ(out.frag_off, in.frag_off);
        CHECK_EQ(out.ttl, in.ttl);
        CHECK_EQ(out.proto, in.proto);
        CHECK_U64(out.src, in.src);
        CHECK_U64(out.dst, in.dst);
        CHECK_EQ(out.options_len, optlen);
        if (optlen)
            CHECK_MEM(out.options, opts, optlen);
        CHECK_U64(out.cksum, ps_get16(buf + 10));
        if (t_cur_failed)
            return;
    }
}

/* Options of a length that is not a multiple of 4 are padded with EOL. */
TEST(ipv4_emit_pads_options)
{
    static const uint8_t opts[3] = {1, 1, 1};
    struct ps_ipv4_hdr in = {.total_len = 24, .ttl = 1, .src = SRC, .dst = DST,
                             .options = opts, .options_len = 3};
    uint8_t buf[PS_IPV4_MAX_HLEN];
    memset(buf, 0xee, sizeof buf);

    CHECK_EQ(ps_ipv4_emit(buf, &in), 24);
    CHECK_EQ(buf[0], 0x46);
    CHECK_EQ(buf[23], PS_IPOPT_EOL);
    CHECK_EQ(buf[24], 0xee); /* nothing written past the header */
    struct ps_ipv4_hdr out;
    CHECK_EQ(ps_ipv4_parse(buf, 24, &out), 24);
}

/* ---- ICMP ----------------------------------------------------------------- */

TEST(icmp_real_echo_request)
{
    struct ps_icmp_hdr h;
    const uint8_t *m = ping_frame + 34;

    REQUIRE(ps_icmp_parse(m, 64, &h) == PS_ICMP_HLEN);
    CHECK_EQ(h.type, PS_ICMP_ECHO_REQUEST);
    CHECK_EQ(h.code, 0);
    CHECK_U64(h.cksum, 0xc052);
    CHECK_U64(h.id, 0x0cf2);
    CHECK_EQ(h.seq, 1);
    CHECK_U64(h.rest, 0x0cf20001);
    CHECK(h.payload == m + 8);
    CHECK_EQ(h.payload_len, 56);
    CHECK(!ps_icmp_is_error(h.type));

    /* Re-emit over the same payload: the same bytes and checksum. */
    uint8_t out[64];
    memset(out, 0, 8);
    memcpy(out + 8, m + 8, 56);
    h.rest = 0; /* ignored for echo types */
    CHECK_EQ(ps_icmp_emit(out, &h, 56), PS_ICMP_HLEN);
    CHECK_MEM(out, m, 64);

    /* The echo reply is the same message with type 0. */
    h.type = PS_ICMP_ECHO_REPLY;
    ps_icmp_emit(out, &h, 56);
    CHECK_EQ(out[0], 0);
    CHECK_U64(ps_get16(out + 2), 0xc052 + 0x0800);
    struct ps_icmp_hdr r;
    REQUIRE(ps_icmp_parse(out, 64, &r) == PS_ICMP_HLEN);
    CHECK_U64(r.id, 0x0cf2);
    CHECK_EQ(r.seq, 1);
}

TEST(icmp_real_port_unreachable)
{
    struct ps_icmp_hdr h;
    const uint8_t *m = unreach_frame + 34;

    REQUIRE(ps_icmp_parse(m, 41, &h) == PS_ICMP_HLEN);
    CHECK_EQ(h.type, PS_ICMP_DEST_UNREACH);
    CHECK_EQ(h.code, PS_ICMP_UNREACH_PORT);
    CHECK_U64(h.cksum, 0x111e);
    CHECK_EQ(h.rest, 0);
    CHECK_EQ(h.payload_len, 33);
    CHECK(ps_icmp_is_error(h.type));
    /* The quoted datagram starts with the offending IPv4 header. */
    CHECK_EQ(h.payload[0], 0x45);
    CHECK_EQ(h.payload[9], PS_IP_PROTO_UDP);

    /* An odd-length message re-emitted byte for byte. */
    uint8_t out[41];
    memcpy(out + 8, m + 8, 33);
    CHECK_EQ(ps_icmp_emit(out, &h, 33), PS_ICMP_HLEN);
    CHECK_MEM(out, m, 41);
}

TEST(icmp_malformed)
{
    struct ps_icmp_hdr h;
    uint8_t m[64];

    for (size_t n = 0; n < PS_ICMP_HLEN; n++) {
        uint8_t *c = exact(ping_frame + 34, n);
        REQUIRE(c != NULL);
        CHECK_EQ(ps_icmp_parse(c, n, &h), PS_WIRE_ETRUNC);
        free(c);
    }
    /* No length field: a cut message fails its checksum. */
    for (size_t n = PS_ICMP_HLEN; n < 64; n++) {
        uint8_t *c = exact(ping_frame + 34, n);
        REQUIRE(c != NULL);
        CHECK_EQ(ps_icmp_parse(c, n, &h), PS_WIRE_ECKSUM);
        free(c);
    }
    for (size_t i = 0; i < 64; i++) {
        memcpy(m, ping_frame + 34, sizeof m);
        m[i] ^= 0x04;
        CHECK_EQ(ps_icmp_parse(m, sizeof m, &h), PS_WIRE_ECKSUM);
    }
}

TEST(icmp_error_types)
{
    uint8_t buf[8 + 28] = {0};
    struct ps_icmp_hdr in, out;

    memcpy(buf + 8, ping_frame + 14, 28); /* quoted header + 8 bytes */

    memset(&in, 0, sizeof in);
    in.type = PS_ICMP_DEST_UNREACH;
    in.code = PS_ICMP_UNREACH_NEEDFRAG;
    in.mtu = 1400;
    in.rest = 0xdeadbeef; /* ignored: the word comes from mtu */
    ps_icmp_emit(buf, &in, 28);
    CHECK_U64(ps_get32(buf + 4), 1400);
    REQUIRE(ps_icmp_parse(buf, sizeof buf, &out) == PS_ICMP_HLEN);
    CHECK_EQ(out.mtu, 1400);
    CHECK_EQ(out.code, PS_ICMP_UNREACH_NEEDFRAG);
    CHECK_EQ(out.payload_len, 28);

    in.type = PS_ICMP_PARAM_PROBLEM;
    in.code = 0;
    in.rest = 12u << 24;
    ps_icmp_emit(buf, &in, 28);
    REQUIRE(ps_icmp_parse(buf, sizeof buf, &out) == PS_ICMP_HLEN);
    CHECK_EQ(out.pointer, 12);
    CHECK_U64(out.rest, 12u << 24);

    in.type = PS_ICMP_REDIRECT;
    in.code = 1;
    in.rest = PS_IP4(192, 0, 2, 254);
    ps_icmp_emit(buf, &in, 28);
    REQUIRE(ps_icmp_parse(buf, sizeof buf, &out) == PS_ICMP_HLEN);
    CHECK_U64(out.gateway, PS_IP4(192, 0, 2, 254));

    in.type = PS_ICMP_TIME_EXCEEDED;
    in.code = PS_ICMP_TIMXCEED_TTL;
    in.rest = 0;
    ps_icmp_emit(buf, &in, 28);
    REQUIRE(ps_icmp_parse(buf, sizeof buf, &out) == PS_ICMP_HLEN);
    CHECK_EQ(out.type, PS_ICMP_TIME_EXCEEDED);
    CHECK_EQ(out.rest, 0);

    static const uint8_t errors[] = {3, 4, 5, 11, 12};
    for (unsigned t = 0; t < 256; t++) {
        bool want = memchr(errors, (int)t, sizeof errors) != NULL;
        CHECK_EQ(ps_icmp_is_error((uint8_t)t), want);
    }
}

/* ---- UDP ------------------------------------------------------------------ */

TEST(udp_real_datagram)
{
    struct ps_udp_hdr h;
    const uint8_t *d = udp_frame + 34;

    REQUIRE(ps_udp_parse(d, 24, SRC, DST, &h) == PS_UDP_HLEN);
    CHECK_EQ(h.sport, 59454);
    CHECK_EQ(h.dport, 5353);
    CHECK_EQ(h.len, 24);
    CHECK_U64(h.cksum, 0x87db);

    uint8_t out[24];
    memcpy(out + 8, d + 8, 16);
    h.len = 0; /* emit derives the length from payload_len */
    CHECK_EQ(ps_udp_emit(out, &h, SRC, DST, 16), PS_UDP_HLEN);
    CHECK_MEM(out, d, 24);

    /* The whole frame, layer by layer. */
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    REQUIRE(ps_eth_parse(udp_frame, sizeof udp_frame, &eh) == 14);
    REQUIRE(eh.type == PS_ETHERTYPE_IPV4);
    REQUIRE(ps_ipv4_parse(udp_frame + 14, sizeof udp_frame - 14, &ih) == 20);
    REQUIRE(ih.proto == PS_IP_PROTO_UDP);
    CHECK_EQ(ps_udp_parse(udp_frame + 34, ih.total_len - ih.hlen, ih.src, ih.dst, &h),
             PS_UDP_HLEN);

    /* An IP payload longer than the datagram (trailing bytes) is allowed;
     * the checksum covers h.len bytes only. */
    uint8_t longer[30];
    memcpy(longer, d, 24);
    memset(longer + 24, 0x5a, 6);
    CHECK_EQ(ps_udp_parse(longer, sizeof longer, SRC, DST, &h), PS_UDP_HLEN);
    CHECK_EQ(h.len, 24);
}

TEST(udp_malformed)
{
    struct ps_udp_hdr h;
    uint8_t d[24];

    /* Cut anywhere: short of the header, or short of the length field. */
    for (size_t n = 0; n < 24; n++) {
        uint8_t *c = exact(udp_frame + 34, n);
        REQUIRE(c != NULL);
        CHECK_EQ(ps_udp_parse(c, n, SRC, DST, &h), PS_WIRE_ETRUNC);
        free(c);
    }

    static const uint16_t short_len[] = {0, 1, 7};
    for (size_t i = 0; i < 3; i++) {
        memcpy(d, udp_frame + 34, sizeof d);
        ps_put16(d + 4, short_len[i]);
        CHECK_EQ(ps_udp_parse(d, sizeof d, SRC, DST, &h), PS_WIRE_ELEN);
    }
    memcpy(d, udp_frame + 34, sizeof d);
    ps_put16(d + 4, 25);
    CHECK_EQ(ps_udp_parse(d, sizeof d, SRC, DST, &h), PS_WIRE_ETRUNC);
    ps_put16(d + 4, 0xffff);
    CHECK_EQ(ps_udp_parse(d, sizeof d, SRC, DST, &h), PS_WIRE_ETRUNC);

    /* A header-only datagram is valid. */
    memcpy(d, udp_frame + 34, 8);
    ps_put16(d + 4, 8);
    fix_udp_cksum(d, 8);
    CHECK_EQ(ps_udp_parse(d, 8, SRC, DST, &h), PS_UDP_HLEN);
    CHECK_EQ(h.len, 8);

    /* Bad checksum: any byte flipped, or the wrong pseudo-header. */
    for (size_t i = 0; i < 24; i++) {
        if (i == 4 || i == 5)
            continue;
        memcpy(d, udp_frame + 34, sizeof d);
        d[i] ^= 0x10;
        CHECK_EQ(ps_udp_parse(d, sizeof d, SRC, DST, &h), PS_WIRE_ECKSUM);
    }
    memcpy(d, udp_frame + 34, sizeof d);
    CHECK_EQ(ps_udp_parse(d, sizeof d, SRC, PS_IP4(10, 0, 0, 3), &h), PS_WIRE_ECKSUM);
    CHECK_EQ(ps_udp_parse(d, sizeof d, DST, SRC, &h), PS_UDP_HLEN); /* sum is symmetric */
}

TEST(udp_zero_checksum)
{
    struct ps_udp_hdr h;
    uint8_t d[24];

    /* Checksum 0 means none was computed: anything goes. */
    memcpy(d, udp_frame + 34, sizeof d);
    ps_put16(d + 6, 0);
    d[10] ^= 0xff;
    CHECK_EQ(ps_udp_parse(d, sizeof d, SRC, PS_IP4(1, 2, 3, 4), &h), PS_UDP_HLEN);
    CHECK_EQ(h.cksum, 0);

    /* A datagram whose checksum computes to 0 is sent as ffff, which
     * verifies.  Make one: with the last word zeroed the checksum is c;
     * setting the last word to c brings the sum to ffff. */
    struct ps_udp_hdr in = {.sport = 1000, .dport = 2000};
    memcpy(d + 8, udp_frame + 42, 16);
    ps_put16(d + 22, 0);
    ps_udp_emit(d, &in, SRC, DST, 16);
    uint16_t c = ps_get16(d + 6);
    ps_put16(d + 22, c);
    ps_udp_emit(d, &in, SRC, DST, 16);
    CHECK_U64(ps_get16(d + 6), 0xffff);
    CHECK_EQ(ps_udp_parse(d, sizeof d, SRC, DST, &h), PS_UDP_HLEN);
    CHECK_U64(h.cksum, 0xffff);
}

TEST(udp_emit_round_trip)
{
    uint32_t s = 31337;
    uint8_t buf[8 + 600];

    for (int iter = 0; iter < 1000; iter++) {
        size_t n = rnd(&s) % 600;
        for (size_t i = 0; i < n; i++)
            buf[8 + i] = (uint8_t)rnd(&s);
        struct ps_udp_hdr in = {.sport = (uint16_t)rnd(&s), .dport = (uint16_t)rnd(&s)};
        ps_ip4_t a = rnd(&s), b = rnd(&s);
        CHECK_EQ(ps_udp_emit(buf, &in, a, b, n), PS_UDP_HLEN);
        struct ps_udp_hdr out;
        REQUIRE(ps_udp_parse(buf, 8 + n, a, b, &out) == PS_UDP_HLEN);
        CHECK_EQ(out.sport, in.sport);
        CHECK_EQ(out.dport, in.dport);
        CHECK_EQ(out.len, 8 + n);
        CHECK(out.cksum != 0);
        if (t_cur_failed)
            return;
    }
}

/* ---- TCP ------------------------------------------------------------------ */

TEST(tcp_real_syn)
{
    struct ps_tcp_hdr h;
    const uint8_t *seg = syn_frame + 34;

    REQUIRE(ps_tcp_parse(seg, 40, SRC, DST, &h) == 40);
    CHECK_EQ(h.sport, 55560);
    CHECK_EQ(h.dport, 80);
    CHECK_U64(h.seq, 0x47ecbec6);
    CHECK_EQ(h.ack, 0);
    CHECK_EQ(h.hlen, 40);
    CHECK_EQ(h.flags, PS_TCP_SYN);
    CHECK_EQ(h.window, 64240);
    CHECK_U64(h.cksum, 0x9196);
    CHECK_EQ(h.urg, 0);
    CHECK(h.opt.has_mss);
    CHECK_EQ(h.opt.mss, 1460);
    CHECK(h.opt.sack_permitted);
    CHECK(h.opt.has_timestamp);
    CHECK_U64(h.opt.tsval, 0x5bfe6b69);
    CHECK_EQ(h.opt.tsecr, 0);
    CHECK(h.opt.has_wscale);
    CHECK_EQ(h.opt.wscale, 10);
    CHECK_EQ(h.opt.sack_count, 0);

    /* Emitting what was parsed gives back Linux's bytes exactly. */
    uint8_t out[40];
    CHECK_EQ(ps_tcp_opts_len(&h.opt), 20);
    CHECK_EQ(ps_tcp_emit(out, &h, SRC, DST, 0), 40);
    CHECK_MEM(out, seg, 40);
}

TEST(tcp_truncated_and_bad_offset)
{
    struct ps_tcp_hdr h;
    uint8_t seg[40];

    for (size_t n = 0; n < 40; n++) {
        uint8_t *c = exact(syn_frame + 34, n);
        REQUIRE(c != NULL);
        CHECK_EQ(ps_tcp_parse(c, n, SRC, DST, &h), PS_WIRE_ETRUNC);
        free(c);
    }

    for (uint8_t off = 0; off < 5; off++) {
        memcpy(seg, syn_frame + 34, sizeof seg);
        seg[12] = (uint8_t)(off << 4);
        fix_tcp_cksum(seg, sizeof seg);
        CHECK_EQ(ps_tcp_parse(seg, sizeof seg, SRC, DST, &h), PS_WIRE_EHDRLEN);
    }
    for (uint8_t off = 11; off < 16; off++) {
        memcpy(seg, syn_frame + 34, sizeof seg);
        seg[12] = (uint8_t)(off << 4);
        fix_tcp_cksum(seg, sizeof seg);
        CHECK_EQ(ps_tcp_parse(seg, sizeof seg, SRC, DST, &h), PS_WIRE_ETRUNC);
    }
    /* A smaller offset makes the rest payload: still valid. */
    memcpy(seg, syn_frame + 34, sizeof seg);
    seg[12] = 0x60;
    fix_tcp_cksum(seg, sizeof seg);
    REQUIRE(ps_tcp_parse(seg, sizeof seg, SRC, DST, &h) == 24);
    CHECK(h.opt.has_mss);
    CHECK(!h.opt.has_timestamp);
}

TEST(tcp_bad_checksum)
{
    struct ps_tcp_hdr h;
    uint8_t seg[40];

    for (size_t i = 0; i < 40; i++) {
        if (i == 12)
            continue; /* the data offset is checked first */
        memcpy(seg, syn_frame + 34, sizeof seg);
        seg[i] ^= 0x01;
        CHECK_EQ(ps_tcp_parse(seg, sizeof seg, SRC, DST, &h), PS_WIRE_ECKSUM);
    }
    CHECK_EQ(ps_tcp_parse(syn_frame + 34, 40, SRC, PS_IP4(10, 0, 0, 3), &h), PS_WIRE_ECKSUM);
    CHECK_EQ(ps_tcp_parse(syn_frame + 34, 40, PS_IP4(10, 1, 0, 1), DST, &h), PS_WIRE_ECKSUM);
}

/* A segment with a bare header and the given options (a multiple of 4). */
static int parse_tcp_options(const uint8_t *opts, size_t n, struct ps_tcp_hdr *h)
{
    static uint8_t seg[PS_TCP_MAX_HLEN];
    memcpy(seg, syn_frame + 34, 20);
    memcpy(seg + 20, opts, n);
    seg[12] = (uint8_t)(((20 + n) / 4) << 4);
    fix_tcp_cksum(seg, 20 + n);
    uint8_t *c = exact(seg, 20 + n);
    int r = c ? ps_tcp_parse(c, 20 + n, SRC, DST, h) : 999;
    free(c);
    return r;
}

TEST(tcp_options_malformed)
{
    struct ps_tcp_hdr h;

    static const uint8_t mss3[] = {2, 3, 5, 1};
    static const uint8_t mss5[] = {2, 5, 5, 0xb4, 0, 1, 1, 1};
    static const uint8_t ws2[] = {1, 1, 3, 2};
    static const uint8_t ws4[] = {3, 4, 7, 0};
    static const uint8_t sp3[] = {4, 3, 0, 1};
    static const uint8_t ts8[] = {8, 8, 0, 0, 0, 1, 0, 0};
    static const uint8_t ts12[] = {8, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0};
    static const uint8_t sack2[] = {1, 1, 5, 2};
    static const uint8_t sack9[] = {5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0};
    static const uint8_t sack14[] = {1, 1, 5, 14, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
    /* Lengths that run off the end of the header. */
    static const uint8_t ts_off[] = {1, 1, 8, 10, 0, 0, 0, 1};
    static const uint8_t sack_off[] = {1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2};
    static const uint8_t unk_off[] = {1, 0x1e, 7, 0};
    static const uint8_t no_len[] = {1, 1, 1, 2};
    /* Unknown kinds with lengths below 2. */
    static const uint8_t unk0[] = {0x1e, 0, 1, 1};
    static const uint8_t unk1[] = {0xfe, 1, 1, 1};
    static const uint8_t mss0[] = {2, 0, 1, 1};

    static const struct {
        const uint8_t *o;
        size_t n;
        const char *what;
    } bad[] = {
        {mss3, 4, "MSS len 3"}, {mss5, 8, "MSS len 5"}, {ws2, 4, "WS len 2"},
        {ws4, 4, "WS len 4"}, {sp3, 4, "SACK_PERM len 3"}, {ts8, 8, "TS len 8"},
        {ts12, 12, "TS len 12"}, {sack2, 4, "SACK len 2"}, {sack9, 12, "SACK len 9"},
        {sack14, 16, "SACK len 14"}, {ts_off, 8, "TS past end"}, {sack_off, 12, "SACK past end"},
        {unk_off, 4, "unknown past end"}, {no_len, 4, "kind without length"},
        {unk0, 4, "unknown len 0"}, {unk1, 4, "unknown len 1"}, {mss0, 4, "MSS len 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = parse_tcp_options(bad[i].o, bad[i].n, &h);
        if (r != PS_WIRE_EOPTION)
            T_FAIL("%s: got %d, want PS_WIRE_EOPTION", bad[i].what, r);
    }
}

TEST(tcp_options_parse)
{
    struct ps_tcp_hdr h;

    /* Unknown kinds are skipped by their length (MD5 signature, 18 bytes). */
    static const uint8_t md5[] = {1, 1, 19, 18, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                  15, 16, 2, 4, 0x05, 0xb4};
    REQUIRE(parse_tcp_options(md5, sizeof md5, &h) == 44);
    CHECK(h.opt.has_mss);
    CHECK_EQ(h.opt.mss, 1460);

    /* EOL ends the list: whatever follows is not parsed. */
    static const uint8_t eol[] = {2, 4, 2, 0x18, 0, 2, 3, 7};
    REQUIRE(parse_tcp_options(eol, sizeof eol, &h) == 28);
    CHECK(h.opt.has_mss);
    CHECK_EQ(h.opt.mss, 536);
    CHECK(!h.opt.has_wscale);

    /* Four SACK blocks, the most that fit. */
    uint8_t sack[36] = {1, 1, 5, 34};
    for (uint32_t i = 0; i < 8; i++)
        ps_put32(sack + 4 + 4 * i, 0x1000u * (i + 1));
    REQUIRE(parse_tcp_options(sack, sizeof sack, &h) == 56);
    CHECK_EQ(h.opt.sack_count, 4);
    for (int i = 0; i < 4; i++) {
        CHECK_U64(h.opt.sack[i].left, 0x1000u * (2 * i + 1));
        CHECK_U64(h.opt.sack[i].right, 0x1000u * (2 * i + 2));
    }
    CHECK(!h.opt.has_mss);
    CHECK(!h.opt.sack_permitted);

    /* No options at all: everything clear. */
    static const uint8_t none[1] = {0};
    REQUIRE(parse_tcp_options(none, 0, &h) == 20);
    CHECK(!h.opt.has_mss && !h.opt.has_wscale && !h.opt.sack_permitted && !h.opt.has_timestamp);
    CHECK_EQ(h.opt.sack_count, 0);
}

/* Emit the options alone and compare with the expected bytes. */
static void check_opts_layout(const struct ps_tcp_opts *o, const uint8_t *want, size_t n)
{
    struct ps_tcp_hdr h;
    uint8_t seg[PS_TCP_MAX_HLEN];

    memset(&h, 0, sizeof h);
    h.flags = PS_TCP_ACK;
    h.opt = *o;
    CHECK_EQ(ps_tcp_opts_len(o), n);
    REQUIRE(ps_tcp_emit(seg, &h, SRC, DST, 0) == 20 + n);
    CHECK_EQ(seg[12] >> 4, (20 + n) / 4);
    CHECK_MEM(seg + 20, want, n);
}

TEST(tcp_emit_linux_layout)
{
    struct ps_tcp_opts o;

    memset(&o, 0, sizeof o);
    o.has_timestamp = true;
    o.tsval = 0x01020304;
    o.tsecr = 0x05060708;
    static const uint8_t ts[] = {1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8};
    check_opts_layout(&o, ts, sizeof ts);

    memset(&o, 0, sizeof o);
    o.sack_permitted = true;
    static const uint8_t sp[] = {1, 1, 4, 2};
    check_opts_layout(&o, sp, sizeof sp);

    memset(&o, 0, sizeof o);
    o.has_wscale = true;
    o.wscale = 7;
    static const uint8_t ws[] = {1, 3, 3, 7};
    check_opts_layout(&o, ws, sizeof ws);

    memset(&o, 0, sizeof o);
    o.has_mss = true;
    o.mss = 1460;
    o.sack_permitted = true;
    o.has_wscale = true;
    o.wscale = 2;
    static const uint8_t syn_no_ts[] = {2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 2};
    check_opts_layout(&o, syn_no_ts, sizeof syn_no_ts);

    /* Timestamp and two SACK blocks, as on a Linux ACK. */
    memset(&o, 0, sizeof o);
    o.has_timestamp = true;
    o.tsval = 9;
    o.tsecr = 10;
    o.sack_count = 2;
    o.sack[0] = (struct ps_tcp_sack_block){0x100, 0x200};
    o.sack[1] = (struct ps_tcp_sack_block){0x300, 0x400};
    static const uint8_t ts_sack[] = {1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 10,
                                      1, 1, 5, 18, 0, 0, 1, 0, 0, 0, 2, 0,
                                      0, 0, 3, 0, 0, 0, 4, 0};
    check_opts_layout(&o, ts_sack, sizeof ts_sack);

    /* No options. */
    memset(&o, 0, sizeof o);
    static const uint8_t none[1] = {0};
    check_opts_layout(&o, none, 0);
}

TEST(tcp_emit_sack_room)
{
    struct ps_tcp_opts o;

    memset(&o, 0, sizeof o);
    o.sack_count = 4;
    for (int i = 0; i < 4; i++)
        o.sack[i] = (struct ps_tcp_sack_block){(uint32_t)i * 10, (uint32_t)i * 10 + 5};
    CHECK_EQ(ps_tcp_opts_len(&o), 4 + 32); /* all four fit */
    o.has_timestamp = true;
    CHECK_EQ(ps_tcp_opts_len(&o), 12 + 4 + 24); /* three fit beside TS */
    o.has_mss = o.has_wscale = true;
    CHECK_EQ(ps_tcp_opts_len(&o), 4 + 12 + 4 + 4 + 16); /* two */
    o.sack_count = 1;
    CHECK_EQ(ps_tcp_opts_len(&o), 4 + 12 + 4 + 4 + 8);
    o.sack_count = 200; /* more than the array holds: clamped */
    CHECK_EQ(ps_tcp_opts_len(&o), 40);

    struct ps_tcp_hdr h, back;
    uint8_t seg[PS_TCP_MAX_HLEN];
    memset(&h, 0, sizeof h);
    h.opt = o;
    h.opt.sack_count = 4;
    h.opt.has_mss = h.opt.has_wscale = false;
    REQUIRE(ps_tcp_emit(seg, &h, SRC, DST, 0) == 60);
    REQUIRE(ps_tcp_parse(seg, 60, SRC, DST, &back) == 60);
    CHECK_EQ(back.opt.sack_count, 3);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(back.opt.sack[i].left, o.sack[i].left);
        CHECK_EQ(back.opt.sack[i].right, o.sack[i].right);
    }
}

/* Every combination of options: ps_tcp_opts_len() agrees with emit, and
 * parse(emit(x)) gives x back (SACK blocks as many as fit). */
TEST(tcp_emit_round_trip)
{
    uint32_t s = 8086;
    static uint8_t buf[PS_TCP_MAX_HLEN + 1000];

    for (int iter = 0; iter < 4000; iter++) {
        struct ps_tcp_hdr in;
        memset(&in, 0, sizeof in);
        unsigned m = (unsigned)iter;
        in.sport = (uint16_t)rnd(&s);
        in.dport = (uint16_t)rnd(&s);
        in.seq = rnd(&s);
        in.ack = rnd(&s);
        in.flags = (uint8_t)rnd(&s);
        in.window = (uint16_t)rnd(&s);
        in.urg = (uint16_t)rnd(&s);
        in.opt.has_mss = m & 1;
        in.opt.sack_permitted = (m >> 1) & 1;
        in.opt.has_timestamp = (m >> 2) & 1;
        in.opt.has_wscale = (m >> 3) & 1;
        in.opt.sack_count = (uint8_t)((m >> 4) % 5);
        in.opt.mss = (uint16_t)rnd(&s);
        in.opt.wscale = (uint8_t)rnd(&s);
        in.opt.tsval = rnd(&s);
        in.opt.tsecr = rnd(&s);
        for (int i = 0; i < PS_TCP_MAX_SACK; i++)
            in.opt.sack[i] = (struct ps_tcp_sack_block){rnd(&s), rnd(&s)};

        size_t olen = ps_tcp_opts_len(&in.opt);
        size_t n = rnd(&s) % 1000;
        for (size_t i = 0; i < n; i++)
            buf[20 + olen + i] = (uint8_t)rnd(&s);
        size_t hlen = ps_tcp_emit(buf, &in, SRC, DST, n);
        REQUIRE(hlen == 20 + olen);
        REQUIRE(olen % 4 == 0 && olen <= 40);

        struct ps_tcp_hdr out;
        REQUIRE(ps_tcp_parse(buf, hlen + n, SRC, DST, &out) == (int)hlen);
        CHECK_EQ(out.sport, in.sport);
        CHECK_EQ(out.dport, in.dport);
        CHECK_U64(out.seq, in.seq);
        CHECK_U64(out.ack, in.ack);
        CHECK_EQ(out.flags, in.flags);
        CHECK_EQ(out.window, in.window);
        CHECK_EQ(out.urg, in.urg);
        CHECK_EQ(out.opt.has_mss, in.opt.has_mss);
        CHECK_EQ(out.opt.sack_permitted, in.opt.sack_permitted);
        CHECK_EQ(out.opt.has_timestamp, in.opt.has_timestamp);
        CHECK_EQ(out.opt.has_wscale, in.opt.has_wscale);
        if (in.opt.has_mss)
            CHECK_EQ(out.opt.mss, in.opt.mss);
        if (in.opt.has_wscale)
            CHECK_EQ(out.opt.wscale, in.opt.wscale);
        if (in.opt.has_timestamp) {
            CHECK_U64(out.opt.tsval, in.opt.tsval);
            CHECK_U64(out.opt.tsecr, in.opt.tsecr);
        }
        /* The blocks that fit in what the other options leave. */
        size_t fixed = 4 * in.opt.has_mss + 4 * in.opt.has_wscale +
                       (in.opt.has_timestamp ? 12 : 4 * in.opt.sack_permitted);
        size_t fit = 40 - fixed >= 12 ? (40 - fixed - 4) / 8 : 0;
        size_t want = in.opt.sack_count < fit ? in.opt.sack_count : fit;
        CHECK_EQ(out.opt.sack_count, want);
        CHECK_EQ(olen, fixed + (want ? 4 + 8 * want : 0));
        for (size_t i = 0; i < want; i++) {
            CHECK_U64(out.opt.sack[i].left, in.opt.sack[i].left);
            CHECK_U64(out.opt.sack[i].right, in.opt.sack[i].right);
        }
        /* The payload is covered by the checksum. */
        if (n > 0) {
            buf[hlen + n - 1] ^= 0x80;
            CHECK_EQ(ps_tcp_parse(buf, hlen + n, SRC, DST, &out), PS_WIRE_ECKSUM);
        }
        if (t_cur_failed)
            return;
    }
}

/* ---- Error names ------------------------------------------------------- */

TEST(strerror_names)
{
    CHECK(strcmp(ps_wire_strerror(PS_WIRE_ETRUNC), "truncated") == 0);
    CHECK(strcmp(ps_wire_strerror(PS_WIRE_ECKSUM), "bad checksum") == 0);
    CHECK(strcmp(ps_wire_strerror(0), "ok") == 0);
    CHECK(strcmp(ps_wire_strerror(-100), "unknown error") == 0);
    /* Each error has its own name. */
    for (int a = PS_WIRE_EFORMAT; a <= PS_WIRE_ETRUNC; a++)
        for (int b = a + 1; b <= PS_WIRE_ETRUNC; b++)
            CHECK(strcmp(ps_wire_strerror(a), ps_wire_strerror(b)) != 0);
}

int main(void)
{
    RUN(eth_real_frame);
    RUN(eth_malformed);
    RUN(arp_real_request_and_reply);
    RUN(arp_malformed);
    RUN(ipv4_real_header);
    RUN(ipv4_real_record_route);
    RUN(ipv4_truncated);
    RUN(ipv4_malformed_fields);
    RUN(ipv4_fragment_overflow);
    RUN(ipv4_options);
    RUN(ipv4_options_malformed);
    RUN(ipv4_emit_round_trip);
    RUN(ipv4_emit_pads_options);
    RUN(icmp_real_echo_request);
    RUN(icmp_real_port_unreachable);
    RUN(icmp_malformed);
    RUN(icmp_error_types);
    RUN(udp_real_datagram);
    RUN(udp_malformed);
    RUN(udp_zero_checksum);
    RUN(udp_emit_round_trip);
    RUN(tcp_real_syn);
    RUN(tcp_truncated_and_bad_offset);
    RUN(tcp_bad_checksum);
    RUN(tcp_options_malformed);
    RUN(tcp_options_parse);
    RUN(tcp_emit_linux_layout);
    RUN(tcp_emit_sack_room);
    RUN(tcp_emit_round_trip);
    RUN(strerror_names);
    TEST_END();
}
