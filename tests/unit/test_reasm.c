/*
 * tests/unit/test_reasm.c - IPv4 reassembly through a real stack: an echo
 * request sent in fragments must be answered exactly when the datagram is
 * whole, and never from a hostile or inconsistent set of fragments; every
 * bound holds and every buffer comes back (NET_FREE checks the pools after
 * the timeouts have run).
 */
#include "frames.h"

#define MSG_DATA 200
#define MSG_LEN (PS_ICMP_HLEN + MSG_DATA) /* 208 */

/* The echo request (ICMP message) each test sends in pieces. */
static size_t make_msg(uint8_t *msg, size_t data_len, uint16_t seq)
{
    uint8_t data[65536];
    for (size_t i = 0; i < data_len; i++)
        data[i] = (uint8_t)(i * 13 + seq);
    return put_icmp(msg, PS_ICMP_ECHO_REQUEST, 0, (0x5151u << 16) | seq, data, data_len);
}

/* Send bytes [off, off + len) of msg as a fragment of datagram id; the
 * payload may differ from msg when data is given. */
static void frag_raw(struct net *n, uint16_t id, size_t off, const uint8_t *data, size_t len, bool mf)
{
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
    h.id = id;
    h.frag_off = (uint16_t)off;
    h.mf = mf;
    uint8_t f[FRAME_MAX];
    size_t flen = frame_ip(f, MAC_US, MAC_PEER, &h, data, len);
    net_input(n, n->eth0, f, flen);
}

static void frag(struct net *n, uint16_t id, const uint8_t *msg, size_t off, size_t len, bool mf)
{
    frag_raw(n, id, off, msg + off, len, mf);
}

/* Piece k of msg cut in `piece`-byte fragments. */
static void piece(struct net *n, uint16_t id, const uint8_t *msg, size_t msg_len, size_t piece, unsigned k)
{
    size_t off = k * piece, len = msg_len - off < piece ? msg_len - off : piece;
    frag(n, id, msg, off, len, off + len < msg_len);
}

/* Frame i is the echo reply to msg (msg_len bytes of ICMP). */
static bool reply_to(const struct net *n, unsigned i, const uint8_t *msg, size_t msg_len)
{
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    struct ps_icmp_hdr ic;
    return cap_icmp(n, i, &eh, &ih, &ic) && ps_mac_equal(&eh.dst, &MAC_PEER) && ih.dst == IP_PEER &&
           ih.src == IP_US && ic.type == PS_ICMP_ECHO_REPLY && ic.rest == ps_get32(msg + 4) &&
           ic.payload_len == msg_len - 8 && memcmp(ic.payload, msg + 8, msg_len - 8) == 0;
}

static struct net *host(const struct ps_config *cfg)
{
    return net_new(cfg, NET_STATIC_PEERS, 0);
}

/* Buffers out of the pools right now. */
static unsigned pbufs_held(const struct net *n)
{
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(n->s, &sf, &st, &lf, &lt);
    return (st - sf) + (lt - lf);
}

#define WHOLE_DELTA(k)                                                                                  \
    "eth_rx+" #k " eth_tx+1 ip_rx+" #k " ip_tx+1 ip_delivered+1 ip_frag_rx+" #k " ip_reasm_ok+1 icmp_rx+1 " \
    "icmp_tx+1 icmp_echo_rx+1 icmp_echo_reply_tx+1"

TEST(in_order)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN];
    make_msg(msg, MSG_DATA, 1);
    struct ps_stats before = SNAP(n);
    for (unsigned k = 0; k < 4; k++) {
        CHECK_EQ(n->n, 0);
        piece(n, 100, msg, MSG_LEN, 64, k);
    }
    CHECK_DELTA(before, n->s, WHOLE_DELTA(4));
    REQUIRE(n->n == 1);
    CHECK(reply_to(n, 0, msg, MSG_LEN));
    CHECK_EQ(pbufs_held(n), 0);
    NET_FREE(n);
}

/* The first fragment, which carries the header, comes last. */
TEST(reverse_order)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN];
    make_msg(msg, MSG_DATA, 2);
    struct ps_stats before = SNAP(n);
    for (unsigned k = 4; k-- > 0;) {
        CHECK_EQ(n->n, 0);
        piece(n, 101, msg, MSG_LEN, 64, k);
    }
    CHECK_DELTA(before, n->s, WHOLE_DELTA(4));
    REQUIRE(n->n == 1);
    CHECK(reply_to(n, 0, msg, MSG_LEN));
    NET_FREE(n);
}

TEST(random_order)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (unsigned round = 0; round < 20; round++) {
        uint8_t msg[MSG_LEN];
        make_msg(msg, MSG_DATA, (uint16_t)round);
        unsigned order[9]; /* 208 bytes in 24-byte pieces */
        for (unsigned k = 0; k < 9; k++)
            order[k] = k;
        for (unsigned k = 8; k > 0; k--) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            unsigned j = (unsigned)(x % (k + 1)), t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        unsigned sent = n->n;
        for (unsigned k = 0; k < 9; k++) {
            CHECK_EQ(n->n, sent);
            piece(n, (uint16_t)(200 + round), msg, MSG_LEN, 24, order[k]);
        }
        REQUIRE(n->n == sent + 1);
        CHECK(reply_to(n, sent, msg, MSG_LEN));
    }
    CHECK_EQ(ps_stack_stats(n->s)->ip_reasm_ok, 20);
    CHECK_EQ(ps_stack_stats(n->s)->ip_frag_rx, 20 * 9);
    NET_FREE(n);
}

/* A big datagram: reassembled in a large buffer, and the reply is itself
 * fragmented. */
TEST(large_datagram)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    static uint8_t msg[8 + 6000], got[8 + 6000];
    size_t len = make_msg(msg, 6000, 3);
    for (unsigned k = 0; k * 1480 < len; k++)
        piece(n, 300, msg, len, 1480, k);
    REQUIRE(n->n == 5);
    CHECK_EQ(ps_stack_stats(n->s)->ip_reasm_ok, 1);
    size_t at = 0;
    for (unsigned i = 0; i < 5; i++) {
        struct ps_eth_hdr eh;
        struct ps_ipv4_hdr ih;
        size_t plen;
        const uint8_t *ip = cap_ip(n, i, &eh, &ih, &plen);
        REQUIRE(ip);
        CHECK_EQ(ih.frag_off, at);
        CHECK_EQ(ih.mf, i < 4);
        memcpy(got + at, ip + ih.hlen, plen);
        at += plen;
    }
    REQUIRE(at == len);
    CHECK_EQ(got[0], PS_ICMP_ECHO_REPLY);
    CHECK_EQ(ps_cksum(got, len), 0);
    CHECK_MEM(got + 4, msg + 4, len - 4);
    NET_FREE(n);
}

TEST(duplicate_ignored)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN];
    make_msg(msg, MSG_DATA, 4);
    static const unsigned order[] = {0, 1, 1, 0, 2, 3};
    struct ps_stats before = SNAP(n);
    for (unsigned k = 0; k < 6; k++)
        piece(n, 400, msg, MSG_LEN, 64, order[k]);
    CHECK_DELTA(before, n->s,
                "eth_rx+6 eth_tx+1 ip_rx+6 ip_tx+1 ip_delivered+1 ip_frag_rx+6 ip_reasm_ok+1 ip_reasm_dup+2 "
                "icmp_rx+1 icmp_tx+1 icmp_echo_rx+1 icmp_echo_reply_tx+1");
    REQUIRE(n->n == 1);
    CHECK(reply_to(n, 0, msg, MSG_LEN));
    NET_FREE(n);
}

/* Any overlap that is not an exact duplicate discards the whole datagram:
 * no reply even when every byte is supplied afterwards. */
TEST(overlap_drops_datagram)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN], bent[MSG_LEN];
    make_msg(msg, MSG_DATA, 5);
    memcpy(bent, msg, sizeof bent);
    for (unsigned i = 0; i < sizeof bent; i++)
        bent[i] ^= 0x80;
    for (unsigned c = 0; c < 4; c++) {
        uint16_t id = (uint16_t)(500 + c);
        struct ps_stats before = SNAP(n);
        switch (c) {
        case 0: /* runs into the next fragment's start */
            piece(n, id, msg, MSG_LEN, 64, 1);
            frag(n, id, msg, 32, 64, true);
            break;
        case 1: /* starts inside the previous one */
            piece(n, id, msg, MSG_LEN, 64, 0);
            frag(n, id, msg, 32, 64, true);
            break;
        case 2: /* same place, different bytes */
            piece(n, id, msg, MSG_LEN, 64, 0);
            frag_raw(n, id, 0, bent, 64, true);
            break;
        case 3: /* covers a held fragment entirely */
            piece(n, id, msg, MSG_LEN, 64, 1);
            frag(n, id, msg, 0, 192, true);
            break;
        }
        CHECK_DELTA(before, n->s, "eth_rx+2 ip_rx+2 ip_frag_rx+2 ip_reasm_overlap+1");
        for (unsigned k = 1; k < 4; k++)
            piece(n, id, msg, MSG_LEN, 64, k);
        CHECK_EQ(n->n, 0);
    }
    CHECK_EQ(ps_stack_stats(n->s)->ip_reasm_ok, 0);
    CHECK_EQ(ps_stack_stats(n->s)->icmp_echo_rx, 0);
    NET_FREE(n);
}

/* Fragments whose end lies past 65535 bytes of datagram. */
TEST(too_big)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t junk[32] = {0};
    struct ps_stats before = SNAP(n);
    frag_raw(n, 600, 65512, junk, 16, false); /* ends at 65528 + 20 of header */
    frag_raw(n, 601, 65504, junk, 24, true);
    CHECK_DELTA(before, n->s, "eth_rx+2 ip_rx+2 ip_frag_rx+2 ip_reasm_too_big+2");
    CHECK_EQ(pbufs_held(n), 0);
    /* Allowed up to the last byte: 65515 of payload. */
    before = SNAP(n);
    frag_raw(n, 602, 65512, junk, 3, false);
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_frag_rx+1");
    NET_FREE(n);
}

/* The first fragment has a 60-byte header: a datagram whose later
 * fragments stay within 65535 - 20 still exceeds 65535 once reassembled. */
TEST(too_big_with_options_in_first_fragment)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    static uint8_t data[65536];
    static const uint8_t opts[40] = {PS_IPOPT_NOP};
    const size_t end = 65512; /* 60 + 65512 > 65535 */
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
    h.id = 650;
    h.mf = true;
    h.options = opts;
    h.options_len = 40;
    uint8_t f[FRAME_MAX];
    memset(data, 0x11, sizeof data);
    net_input(n, n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &h, data, 1440));
    for (size_t off = 1440; off < end; off += 1480) {
        size_t len = end - off < 1480 ? end - off : 1480;
        frag_raw(n, 650, off, data, len, off + len < end);
    }
    CHECK_EQ(ps_stack_stats(n->s)->ip_reasm_too_big, 1);
    CHECK_EQ(ps_stack_stats(n->s)->ip_reasm_ok, 0);
    CHECK_EQ(ps_stack_stats(n->s)->ip_drop_total_len, 0);
    CHECK_EQ(n->n, 0);
    CHECK_EQ(pbufs_held(n), 0);
    NET_FREE(n);
}

TEST(bad_fragment_length)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN];
    make_msg(msg, MSG_DATA, 7);
    struct ps_stats before = SNAP(n);
    frag(n, 700, msg, 0, 30, true); /* MF, not a multiple of 8 */
    frag(n, 701, msg, 64, 0, true);  /* empty */
    CHECK_DELTA(before, n->s, "eth_rx+2 ip_rx+2 ip_frag_rx+2 ip_reasm_bad_frag+2");
    CHECK_EQ(pbufs_held(n), 0);
    NET_FREE(n);
}

/* Two different ends, or data beyond the end: the datagram is dropped. */
TEST(conflicting_last_fragments)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN];
    make_msg(msg, MSG_DATA, 8);
    for (unsigned c = 0; c < 3; c++) {
        uint16_t id = (uint16_t)(800 + c);
        struct ps_stats before = SNAP(n);
        switch (c) {
        case 0: /* a second, later end */
            piece(n, id, msg, MSG_LEN, 64, 0);
            frag(n, id, msg, 192, 16, false);
            frag(n, id, msg, 128, 16, false);
            break;
        case 1: /* more data past the end */
            piece(n, id, msg, MSG_LEN, 64, 0);
            frag(n, id, msg, 128, 16, false);
            frag(n, id, msg, 144, 64, true);
            break;
        case 2: /* an end before data already held */
            piece(n, id, msg, MSG_LEN, 64, 0);
            piece(n, id, msg, MSG_LEN, 64, 2);
            frag(n, id, msg, 64, 16, false);
            break;
        }
        CHECK_DELTA(before, n->s, "eth_rx+3 ip_rx+3 ip_frag_rx+3 ip_reasm_bad_frag+1");
        /* The datagram is gone: completing it as first sent does nothing. */
        for (unsigned k = 1; k < 4; k++)
            piece(n, id, msg, MSG_LEN, 64, k);
        CHECK_EQ(n->n, 0);
    }
    NET_FREE(n);
}

/* Time exceeded (reassembly) quoting the first fragment, only if it came
 * (RFC 792). */
TEST(timeout_with_first_fragment)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN];
    make_msg(msg, MSG_DATA, 9);
    piece(n, 900, msg, MSG_LEN, 64, 0);
    net_poll(n, T0 + PS_SEC(5));
    piece(n, 900, msg, MSG_LEN, 64, 2);
    const ps_time_t end = T0 + PS_MS(PS_DEFAULT_REASM_TIMEOUT_MS);
    net_poll(n, end - 1);
    CHECK_EQ(n->n, 0);
    CHECK_EQ(pbufs_held(n), 2);
    struct ps_stats before = SNAP(n);
    net_poll(n, end);
    CHECK_DELTA(before, n->s, "eth_tx+1 ip_tx+1 ip_reasm_timeout+1 icmp_tx+1 icmp_err_tx+1");
    CHECK_EQ(pbufs_held(n), 0);
    REQUIRE(n->n == 1);
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih, q;
    struct ps_icmp_hdr ic;
    REQUIRE(cap_icmp(n, 0, &eh, &ih, &ic));
    CHECK(ps_mac_equal(&eh.dst, &MAC_PEER));
    CHECK_U64(ih.src, IP_US);
    CHECK_U64(ih.dst, IP_PEER);
    CHECK_EQ(ic.type, PS_ICMP_TIME_EXCEEDED);
    CHECK_EQ(ic.code, PS_ICMP_TIMXCEED_REASM);
    /* The quote: the first fragment's header as sent, then its data. */
    REQUIRE(ic.payload_len >= 20 + 8);
    REQUIRE(ps_ipv4_parse(ic.payload, ic.payload_len, &q) == 20);
    CHECK_EQ(q.id, 900);
    CHECK(q.mf);
    CHECK_EQ(q.frag_off, 0);
    CHECK_U64(q.src, IP_PEER);
    CHECK_MEM(ic.payload + 20, msg, ic.payload_len - 20);
    NET_FREE(n);
}

TEST(timeout_without_first_fragment)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN];
    make_msg(msg, MSG_DATA, 10);
    for (unsigned k = 1; k < 4; k++)
        piece(n, 1000, msg, MSG_LEN, 64, k);
    CHECK_EQ(pbufs_held(n), 3);
    struct ps_stats before = SNAP(n);
    net_poll(n, T0 + PS_MS(PS_DEFAULT_REASM_TIMEOUT_MS));
    CHECK_DELTA(before, n->s, "ip_reasm_timeout+1");
    CHECK_EQ(n->n, 0);
    CHECK_EQ(pbufs_held(n), 0);
    NET_FREE(n);
}

/* The first fragment came as a link-level broadcast: no error about it
 * (RFC 1122 3.2.2). */
TEST(timeout_link_broadcast_silent)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN], f[FRAME_MAX];
    make_msg(msg, MSG_DATA, 11);
    struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_ICMP);
    h.id = 1100;
    h.mf = true;
    net_input(n, n->eth0, f, frame_ip(f, MAC_BCAST, MAC_PEER, &h, msg, 64));
    net_poll(n, T0 + PS_MS(PS_DEFAULT_REASM_TIMEOUT_MS));
    CHECK_EQ(ps_stack_stats(n->s)->ip_reasm_timeout, 1);
    CHECK_EQ(n->n, 0);
    NET_FREE(n);
}

/* reasm_max_datagrams at once: a new one evicts the oldest. */
TEST(max_datagrams_evicts_oldest)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    uint8_t msg[MSG_LEN];
    make_msg(msg, MSG_DATA, 12);
    for (unsigned i = 0; i < PS_DEFAULT_REASM_MAX_DATAGRAMS; i++) {
        net_poll(n, T0 + PS_MS(i));
        piece(n, (uint16_t)(1200 + i), msg, MSG_LEN, 64, 0);
    }
    CHECK_EQ(ps_stack_stats(n->s)->ip_reasm_evicted, 0);
    net_poll(n, T0 + PS_MS(100));
    struct ps_stats before = SNAP(n);
    piece(n, 1299, msg, MSG_LEN, 64, 0);
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_frag_rx+1 ip_reasm_evicted+1");
    CHECK_EQ(pbufs_held(n), PS_DEFAULT_REASM_MAX_DATAGRAMS);
    /* The second oldest is still whole-able; the oldest is gone. */
    for (unsigned k = 1; k < 4; k++)
        piece(n, 1201, msg, MSG_LEN, 64, k);
    REQUIRE(n->n == 1);
    CHECK(reply_to(n, 0, msg, MSG_LEN));
    for (unsigned k = 1; k < 4; k++)
        piece(n, 1200, msg, MSG_LEN, 64, k);
    CHECK_EQ(n->n, 1);
    NET_FREE(n);
}

/* A flood of tiny fragments over many datagrams never holds more than
 * reasm_max_pbufs buffers; the oldest datagrams make room. */
TEST(max_pbufs_bounds_a_flood)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.reasm_max_pbufs = 16;
    struct net *n = host(&cfg);
    REQUIRE(n);
    uint8_t junk[8] = {0};
    unsigned peak = 0;
    for (unsigned id = 0; id < 40; id++) {
        net_poll(n, T0 + PS_MS(id));
        for (unsigned k = 0; k < 12; k++) {
            frag_raw(n, (uint16_t)(1300 + id), 8 + 16 * k, junk, 8, true);
            unsigned held = pbufs_held(n);
            if (held > peak)
                peak = held;
        }
    }
    CHECK_EQ(peak, 16);
    CHECK(ps_stack_stats(n->s)->ip_reasm_evicted > 0);
    CHECK_EQ(ps_stack_stats(n->s)->pbuf_alloc_fail, 0);
    /* One datagram alone with more fragments than the bound is dropped. */
    struct ps_stats before = SNAP(n);
    net_poll(n, T0 + PS_MS(100));
    for (unsigned k = 0; k < 17; k++)
        frag_raw(n, 1399, 8 + 16 * k, junk, 8, true);
    const struct ps_stats *st = ps_stack_stats(n->s);
    CHECK(st->ip_reasm_evicted - before.ip_reasm_evicted >= 1);
    CHECK(pbufs_held(n) <= 16);
    /* After the timeout, nothing is held. */
    net_poll(n, T0 + PS_MS(100) + PS_MS(PS_DEFAULT_REASM_TIMEOUT_MS));
    CHECK_EQ(pbufs_held(n), 0);
    CHECK_EQ(n->n, 0);
    NET_FREE(n);
}

TEST(max_frags_per_datagram)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.reasm_max_frags = 4;
    struct net *n = host(&cfg);
    REQUIRE(n);
    uint8_t junk[8] = {0};
    for (unsigned k = 0; k < 4; k++)
        frag_raw(n, 1400, 8 + 16 * k, junk, 8, true);
    CHECK_EQ(pbufs_held(n), 4);
    struct ps_stats before = SNAP(n);
    frag_raw(n, 1400, 8 + 16 * 4, junk, 8, true);
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_frag_rx+1 ip_reasm_bad_frag+1");
    CHECK_EQ(pbufs_held(n), 0);
    /* A datagram in four pieces still works. */
    uint8_t msg[MSG_LEN];
    make_msg(msg, MSG_DATA, 14);
    for (unsigned k = 0; k < 4; k++)
        piece(n, 1401, msg, MSG_LEN, 64, k);
    REQUIRE(n->n == 1);
    CHECK(reply_to(n, 0, msg, MSG_LEN));
    NET_FREE(n);
}

int main(void)
{
    RUN(in_order);
    RUN(reverse_order);
    RUN(random_order);
    RUN(large_datagram);
    RUN(duplicate_ignored);
    RUN(overlap_drops_datagram);
    RUN(too_big);
    RUN(too_big_with_options_in_first_fragment);
    RUN(bad_fragment_length);
    RUN(conflicting_last_fragments);
    RUN(timeout_with_first_fragment);
    RUN(timeout_without_first_fragment);
    RUN(timeout_link_broadcast_silent);
    RUN(max_datagrams_evicts_oldest);
    RUN(max_pbufs_bounds_a_flood);
    RUN(max_frags_per_datagram);
    TEST_END();
}
