/*
 * tests/unit/test_arp.c - ARP through a real stack: answers, what is
 * refused and learnt, resolution with its queue, retries and failure,
 * expiry and refresh, and the bounded cache.
 */
#include <errno.h>

#include "frames.h"

#define IP_N(x) PS_IP4(192, 0, 2, (x))

static bool arp_is(const struct net *n, unsigned i, ps_mac_t eth_dst, uint16_t op, ps_ip4_t spa, ps_ip4_t tpa)
{
    struct ps_eth_hdr eh;
    struct ps_arp_pkt a;
    return cap_arp(n, i, &eh, &a) && ps_mac_equal(&eh.dst, &eth_dst) && ps_mac_equal(&eh.src, &MAC_US) &&
           a.op == op && ps_mac_equal(&a.sha, &MAC_US) && a.spa == spa && a.tpa == tpa;
}

/* A broadcast ARP request for our address from `ip` at `mac`. */
static void ask_us(struct net *n, ps_mac_t mac, ps_ip4_t ip)
{
    uint8_t f[64];
    size_t len = frame_arp(f, MAC_BCAST, PS_ARP_REQUEST, mac, ip, MAC_ZERO, IP_US);
    net_input(n, n->eth0, f, len);
}

/* The peer's reply to our request. */
static void peer_replies(struct net *n)
{
    uint8_t f[64];
    size_t len = frame_arp(f, MAC_US, PS_ARP_REPLY, MAC_PEER, IP_PEER, MAC_US, IP_US);
    net_input(n, n->eth0, f, len);
}

/* Frame i is our echo request to the peer's MAC with this seq. */
static bool echo_to_peer(const struct net *n, unsigned i, uint16_t seq)
{
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    struct ps_icmp_hdr ic;
    return cap_icmp(n, i, &eh, &ih, &ic) && ps_mac_equal(&eh.dst, &MAC_PEER) && ih.dst == IP_PEER &&
           ih.src == IP_US && ic.type == PS_ICMP_ECHO_REQUEST && ic.seq == seq;
}

TEST(request_for_us_is_answered_and_sender_learnt)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    struct ps_stats before = SNAP(n);
    ask_us(n, MAC_PEER, IP_PEER);
    CHECK_DELTA(before, n->s, "eth_rx+1 eth_tx+1 arp_rx+1 arp_tx_reply+1 arp_resolved+1");
    REQUIRE(n->n == 1);
    struct ps_eth_hdr eh;
    struct ps_arp_pkt a;
    REQUIRE(cap_arp(n, 0, &eh, &a));
    CHECK(n->f[0].ifc == n->eth0);
    CHECK(ps_mac_equal(&eh.dst, &MAC_PEER));
    CHECK(ps_mac_equal(&eh.src, &MAC_US));
    CHECK_EQ(a.op, PS_ARP_REPLY);
    CHECK(ps_mac_equal(&a.sha, &MAC_US));
    CHECK_U64(a.spa, IP_US);
    CHECK(ps_mac_equal(&a.tha, &MAC_PEER));
    CHECK_U64(a.tpa, IP_PEER);
    /* Padded to the Ethernet minimum with zeros. */
    CHECK_EQ(n->f[0].len, PS_ETH_MIN_FRAME);
    static const uint8_t zeros[PS_ETH_MIN_FRAME - 42];
    CHECK_MEM(n->f[0].b + 42, zeros, sizeof zeros);

    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_RESOLVED);
    CHECK(ps_mac_equal(&e.mac, &MAC_PEER));
    CHECK(e.iface == n->eth0);
    CHECK_U64(e.expires, T0 + PS_MS(PS_DEFAULT_ARP_TIMEOUT_MS));
    CHECK_EQ(e.queued, 0);

    /* What was learnt is used: a ping goes straight out, no request. */
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 1, 1, 0, NULL, 8), 0);
    REQUIRE(n->n == 2);
    CHECK(echo_to_peer(n, 1, 1));
    CHECK_EQ(ps_stack_stats(n->s)->arp_tx_request, 0);
    NET_FREE(n);
}

TEST(request_for_another_address_is_ignored)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    uint8_t f[64];
    struct ps_stats before = SNAP(n);
    size_t len = frame_arp(f, MAC_BCAST, PS_ARP_REQUEST, MAC_PEER, IP_PEER, MAC_ZERO, IP_N(99));
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, "eth_rx+1 arp_rx+1 arp_drop_not_for_us+1");
    CHECK_EQ(n->n, 0);
    CHECK(!ps_arp_lookup(n->s, IP_PEER, NULL));
    /* A reply between two other hosts is neither counted as a request nor
     * learnt. */
    before = SNAP(n);
    len = frame_arp(f, MAC_BCAST, PS_ARP_REPLY, MAC_PEER, IP_PEER, MAC(0, 99), IP_N(99));
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, "eth_rx+1 arp_rx+1");
    CHECK_EQ(n->n, 0);
    CHECK(!ps_arp_lookup(n->s, IP_PEER, NULL));
    NET_FREE(n);
}

TEST(malformed_packets_are_dropped)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    /* byte offset within the frame, value; offset 0 means "cut short". */
    static const struct {
        unsigned off;
        uint8_t val;
    } bend[] = {
        {0, 0},                   /* 27 bytes of ARP */
        {14 + 1, 6},              /* htype 6 (IEEE 802) */
        {14 + 2, 0x86},           /* ptype 0x8600 */
        {14 + 4, 8},              /* hlen 8 */
        {14 + 5, 16},             /* plen 16 */
        {14 + 7, 3},              /* op 3 (RARP) */
        {14 + 7, 0},              /* op 0 */
    };
    for (unsigned i = 0; i < sizeof bend / sizeof bend[0]; i++) {
        uint8_t f[64];
        size_t len = frame_arp(f, MAC_BCAST, PS_ARP_REQUEST, MAC_PEER, IP_PEER, MAC_ZERO, IP_US);
        if (bend[i].off)
            f[bend[i].off] = bend[i].val;
        else
            len = PS_ETH_HLEN + PS_ARP_LEN - 1;
        struct ps_stats before = SNAP(n);
        net_input(n, n->eth0, f, len);
        CHECK_DELTA(before, n->s, "eth_rx+1 arp_rx+1 arp_drop_malformed+1");
    }
    CHECK_EQ(n->n, 0);
    CHECK(!ps_arp_lookup(n->s, IP_PEER, NULL));
    NET_FREE(n);
}

TEST(martian_senders_are_not_believed)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    static const struct {
        ps_mac_t sha;
        ps_ip4_t spa;
    } bad[] = {
        {{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}}, IP_N(2)}, /* multicast MAC */
        {{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, IP_N(2)}, /* broadcast MAC */
        {{{0x02, 0, 0, 0, 0, 0x02}}, PS_IP4(203, 0, 113, 9)}, /* not on this link */
        {{{0x02, 0, 0, 0, 0, 0x02}}, IP_N(1)},               /* our own address */
        {{{0x02, 0, 0, 0, 0, 0x02}}, IP_N(255)},             /* the subnet broadcast */
        {{{0x02, 0, 0, 0, 0, 0x02}}, PS_IP4(224, 0, 0, 1)},  /* multicast */
        {{{0x02, 0, 0, 0, 0, 0x02}}, PS_IP4(127, 0, 0, 1)},  /* loopback */
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ps_stats before = SNAP(n);
        ask_us(n, bad[i].sha, bad[i].spa);
        CHECK_DELTA(before, n->s, "eth_rx+1 arp_rx+1 arp_drop_bad_sender+1");
        CHECK(!ps_arp_lookup(n->s, bad[i].spa, NULL));
    }
    CHECK_EQ(n->n, 0);

    /* Nor do they overwrite a known neighbour. */
    ask_us(n, MAC_PEER, IP_PEER);
    CHECK_EQ(n->n, 1);
    struct ps_stats before = SNAP(n);
    ask_us(n, bad[0].sha, IP_PEER);
    CHECK_DELTA(before, n->s, "eth_rx+1 arp_rx+1 arp_drop_bad_sender+1");
    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK(ps_mac_equal(&e.mac, &MAC_PEER));
    CHECK_EQ(n->n, 1);
    NET_FREE(n);
}

/* An unknown neighbour: one broadcast request, the packets queued (the
 * oldest dropped beyond arp_queue_len), then sent in order on the reply. */
TEST(resolution_queues_then_flushes_in_order)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.arp_queue_len = 3;
    struct net *n = net_new(&cfg, 0, 0);
    REQUIRE(n);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 7, 1, 0, NULL, 32), 0);
    REQUIRE(n->n == 1);
    CHECK(arp_is(n, 0, MAC_BCAST, PS_ARP_REQUEST, IP_US, IP_PEER));
    struct ps_eth_hdr eh;
    struct ps_arp_pkt a;
    REQUIRE(cap_arp(n, 0, &eh, &a));
    CHECK(ps_mac_equal(&a.tha, &MAC_ZERO));
    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_INCOMPLETE);
    CHECK_EQ(e.queued, 1);
    CHECK_U64(e.expires, T0 + PS_MS(cfg.arp_retry_ms));

    for (uint16_t seq = 2; seq <= 6; seq++)
        CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 7, seq, 0, NULL, 32), 0);
    CHECK_EQ(n->n, 1); /* no request per packet */
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.queued, 3);
    CHECK_EQ(ps_stack_stats(n->s)->arp_queue_drop, 3);

    n->now += PS_MS(300);
    struct ps_stats before = SNAP(n);
    peer_replies(n);
    CHECK_DELTA(before, n->s, "eth_rx+1 eth_tx+3 arp_rx+1 arp_resolved+1");
    REQUIRE(n->n == 4);
    CHECK(echo_to_peer(n, 1, 4));
    CHECK(echo_to_peer(n, 2, 5));
    CHECK(echo_to_peer(n, 3, 6));
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_RESOLVED);
    CHECK_EQ(e.queued, 0);
    CHECK(ps_mac_equal(&e.mac, &MAC_PEER));
    CHECK_U64(e.expires, n->now + PS_MS(cfg.arp_timeout_ms));
    /* No retry is left armed: the next second sends nothing. */
    net_poll(n, T0 + PS_SEC(2));
    CHECK_EQ(n->n, 4);
    NET_FREE(n);
}

/* No answer: arp_retries requests arp_retry_ms apart, then FAILED: the queue
 * is dropped with a host unreachable looped back to the echo hook, and new
 * sends are refused for arp_fail_hold_ms. */
TEST(resolution_failure)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    struct echo_log *log = calloc(1, sizeof(*log));
    REQUIRE(log);
    ps_icmp_set_echo_hook(n->s, echo_record, log);
    const ps_time_t retry = PS_MS(PS_DEFAULT_ARP_RETRY_MS);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 7, 1, 0, NULL, 16), 0);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 7, 2, 0, NULL, 16), 0);
    REQUIRE(n->n == 1);
    for (unsigned k = 1; k < PS_DEFAULT_ARP_RETRIES; k++) {
        net_poll(n, T0 + k * retry - 1);
        CHECK_EQ(n->n, k);
        net_poll(n, T0 + k * retry);
        CHECK_EQ(n->n, k + 1);
        CHECK(arp_is(n, k, MAC_BCAST, PS_ARP_REQUEST, IP_US, IP_PEER));
        CHECK_U64(n->f[k].t, T0 + k * retry);
    }
    CHECK_EQ(ps_stack_stats(n->s)->arp_tx_request, PS_DEFAULT_ARP_RETRIES);
    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_INCOMPLETE);
    CHECK_EQ(e.queued, 2);

    const ps_time_t fail = T0 + PS_DEFAULT_ARP_RETRIES * retry;
    net_poll(n, fail - 1);
    CHECK_EQ(log->n, 0);
    struct ps_stats before = SNAP(n);
    net_poll(n, fail);
    CHECK_EQ(n->n, PS_DEFAULT_ARP_RETRIES); /* no sixth request */
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_FAILED);
    CHECK_EQ(e.queued, 0);
    CHECK_U64(e.expires, fail + PS_MS(PS_DEFAULT_ARP_FAIL_HOLD_MS));
    net_poll(n, fail); /* the errors travel the loopback path */
    CHECK_DELTA(before, n->s,
                "arp_timeout+1 arp_queue_drop+2 ip_rx+2 ip_tx+2 ip_delivered+2 icmp_rx+2 icmp_tx+2 "
                "icmp_err_rx+2 icmp_err_tx+2");
    REQUIRE(log->n == 2);
    for (unsigned i = 0; i < 2; i++) {
        CHECK(!log->ev[i].is_reply);
        CHECK_EQ(log->ev[i].err_type, PS_ICMP_DEST_UNREACH);
        CHECK_EQ(log->ev[i].err_code, PS_ICMP_UNREACH_HOST);
        CHECK_EQ(log->ev[i].id, 7);
        CHECK_EQ(log->ev[i].seq, i + 1);
        CHECK_U64(log->ev[i].from, IP_US);
    }

    /* Held off: refused at once, no request. */
    net_poll(n, fail + PS_SEC(1));
    before = SNAP(n);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 7, 3, 0, NULL, 16), -EHOSTUNREACH);
    CHECK_DELTA(before, n->s, "arp_queue_drop+1 ip_tx+1 icmp_tx+1");
    net_poll(n, fail + PS_MS(PS_DEFAULT_ARP_FAIL_HOLD_MS) - 1);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 7, 4, 0, NULL, 16), -EHOSTUNREACH);
    CHECK_EQ(n->n, PS_DEFAULT_ARP_RETRIES);
    CHECK_EQ(log->n, 2); /* refusals are reported by the return value only */

    /* After the hold, the neighbour is asked for again. */
    net_poll(n, fail + PS_MS(PS_DEFAULT_ARP_FAIL_HOLD_MS));
    CHECK(!ps_arp_lookup(n->s, IP_PEER, NULL));
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 7, 5, 0, NULL, 16), 0);
    REQUIRE(n->n == PS_DEFAULT_ARP_RETRIES + 1);
    CHECK(arp_is(n, n->n - 1, MAC_BCAST, PS_ARP_REQUEST, IP_US, IP_PEER));
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_INCOMPLETE);
    NET_FREE(n);
    free(log);
}

/* An entry nobody uses is forgotten after arp_timeout_ms, silently. */
TEST(unused_entry_expires)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    ask_us(n, MAC_PEER, IP_PEER);
    REQUIRE(n->n == 1);
    const ps_time_t end = T0 + PS_MS(PS_DEFAULT_ARP_TIMEOUT_MS);
    net_poll(n, end - 1);
    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_RESOLVED);
    net_poll(n, end);
    CHECK(!ps_arp_lookup(n->s, IP_PEER, NULL));
    CHECK_EQ(n->n, 1);
    /* The next packet has to ask again. */
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 1, 1, 0, NULL, 8), 0);
    REQUIRE(n->n == 2);
    CHECK(arp_is(n, 1, MAC_BCAST, PS_ARP_REQUEST, IP_US, IP_PEER));
    NET_FREE(n);
}

/* An entry still in use is re-asked for when it expires while traffic keeps
 * flowing to the known MAC; an answer renews it. */
TEST(used_entry_is_refreshed)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    const ps_time_t life = PS_MS(PS_DEFAULT_ARP_TIMEOUT_MS), retry = PS_MS(PS_DEFAULT_ARP_RETRY_MS);
    ask_us(n, MAC_PEER, IP_PEER);
    net_poll(n, T0 + life / 2);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 1, 1, 0, NULL, 8), 0);
    REQUIRE(n->n == 2);
    CHECK(echo_to_peer(n, 1, 1));

    net_poll(n, T0 + life);
    REQUIRE(n->n == 3);
    CHECK(arp_is(n, 2, MAC_BCAST, PS_ARP_REQUEST, IP_US, IP_PEER));
    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_RESOLVED);
    CHECK(ps_mac_equal(&e.mac, &MAC_PEER));
    /* Meanwhile traffic goes straight out, not queued. */
    net_poll(n, T0 + life + retry / 2);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 1, 2, 0, NULL, 8), 0);
    REQUIRE(n->n == 4);
    CHECK(echo_to_peer(n, 3, 2));
    net_poll(n, T0 + life + retry);
    REQUIRE(n->n == 5);
    CHECK(arp_is(n, 4, MAC_BCAST, PS_ARP_REQUEST, IP_US, IP_PEER));

    /* The answer renews the entry and stops the requests. */
    net_poll(n, T0 + life + retry + PS_MS(200));
    struct ps_stats before = SNAP(n);
    peer_replies(n);
    CHECK_DELTA(before, n->s, "eth_rx+1 arp_rx+1"); /* not a new resolution */
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_RESOLVED);
    CHECK_U64(e.expires, n->now + life);
    net_poll(n, T0 + life + 3 * retry);
    CHECK_EQ(n->n, 5);
    /* Unused since, it then simply expires. */
    net_poll(n, e.expires);
    CHECK(!ps_arp_lookup(n->s, IP_PEER, NULL));
    CHECK_EQ(n->n, 5);
    NET_FREE(n);
}

/* A refresh nobody answers ends after arp_retries requests: the neighbour
 * is forgotten and must be resolved again. */
TEST(unanswered_refresh_drops_entry)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    const ps_time_t life = PS_MS(PS_DEFAULT_ARP_TIMEOUT_MS), retry = PS_MS(PS_DEFAULT_ARP_RETRY_MS);
    ask_us(n, MAC_PEER, IP_PEER);
    net_poll(n, T0 + life - PS_SEC(1));
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 1, 1, 0, NULL, 8), 0);
    for (unsigned k = 0; k < PS_DEFAULT_ARP_RETRIES; k++) {
        net_poll(n, T0 + life + k * retry);
        REQUIRE(n->n == 3 + k);
        CHECK(arp_is(n, 2 + k, MAC_BCAST, PS_ARP_REQUEST, IP_US, IP_PEER));
        CHECK(ps_arp_lookup(n->s, IP_PEER, NULL));
    }
    net_poll(n, T0 + life + PS_DEFAULT_ARP_RETRIES * retry);
    CHECK(!ps_arp_lookup(n->s, IP_PEER, NULL));
    CHECK_EQ(n->n, 2 + PS_DEFAULT_ARP_RETRIES);
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 1, 2, 0, NULL, 8), 0);
    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(n->s, IP_PEER, &e));
    CHECK_EQ(e.state, PS_ARP_INCOMPLETE);
    CHECK_EQ(e.queued, 1);
    NET_FREE(n);
}

/* A full cache evicts its least recently used dynamic entry. */
TEST(full_cache_evicts_lru)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.arp_cache_size = 4;
    struct net *n = net_new(&cfg, 0, 0);
    REQUIRE(n);
    for (unsigned i = 0; i < 4; i++) {
        net_poll(n, T0 + PS_MS(i));
        ask_us(n, MAC(0, 10 + i), IP_N(10 + i));
    }
    CHECK_EQ(ps_stack_stats(n->s)->arp_evicted, 0);
    /* .10 is the oldest but used again; .11 becomes the least recent. */
    net_poll(n, T0 + PS_MS(10));
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_N(10), 1, 1, 0, NULL, 8), 0);
    net_poll(n, T0 + PS_MS(20));
    struct ps_stats before = SNAP(n);
    ask_us(n, MAC(0, 14), IP_N(14));
    CHECK_DELTA(before, n->s, "eth_rx+1 eth_tx+1 arp_rx+1 arp_tx_reply+1 arp_resolved+1 arp_evicted+1");
    CHECK(ps_arp_lookup(n->s, IP_N(10), NULL));
    CHECK(!ps_arp_lookup(n->s, IP_N(11), NULL));
    CHECK(ps_arp_lookup(n->s, IP_N(12), NULL));
    CHECK(ps_arp_lookup(n->s, IP_N(13), NULL));
    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(n->s, IP_N(14), &e));
    CHECK(ps_mac_equal(&e.mac, &MAC(0, 14)));
    /* Sending to a new neighbour evicts too (.12 now). */
    net_poll(n, T0 + PS_MS(30));
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_N(20), 1, 2, 0, NULL, 8), 0);
    CHECK_EQ(ps_stack_stats(n->s)->arp_evicted, 2);
    CHECK(!ps_arp_lookup(n->s, IP_N(12), NULL));
    REQUIRE(ps_arp_lookup(n->s, IP_N(20), &e));
    CHECK_EQ(e.state, PS_ARP_INCOMPLETE);
    NET_FREE(n);
}

/* Static entries never expire, are never evicted nor overwritten. */
TEST(static_entries_stay)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.arp_cache_size = 2;
    struct net *n = net_new(&cfg, 0, 0);
    REQUIRE(n);
    REQUIRE(ps_arp_add_static(n->s, n->eth0, IP_N(20), &MAC(0, 20)) == 0);
    REQUIRE(ps_arp_add_static(n->s, n->eth0, IP_N(21), &MAC(0, 21)) == 0);
    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(n->s, IP_N(20), &e));
    CHECK_EQ(e.state, PS_ARP_RESOLVED);
    CHECK_U64(e.expires, PS_TIME_NEVER);

    /* A full cache of static entries: a new sender is answered, not learnt,
     * and nothing is evicted. */
    struct ps_stats before = SNAP(n);
    ask_us(n, MAC_PEER, IP_PEER);
    CHECK_DELTA(before, n->s, "eth_rx+1 eth_tx+1 arp_rx+1 arp_tx_reply+1");
    CHECK(!ps_arp_lookup(n->s, IP_PEER, NULL));
    CHECK(ps_arp_lookup(n->s, IP_N(20), NULL) && ps_arp_lookup(n->s, IP_N(21), NULL));
    /* Nor can a new destination take a place. */
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_PEER, 1, 1, 0, NULL, 8), -ENOBUFS);
    CHECK_EQ(ps_stack_stats(n->s)->arp_evicted, 0);

    /* A claim of another MAC does not overwrite a static entry. */
    ask_us(n, MAC(0, 99), IP_N(20));
    REQUIRE(ps_arp_lookup(n->s, IP_N(20), &e));
    CHECK(ps_mac_equal(&e.mac, &MAC(0, 20)));

    /* Hours later: still there, and used without a request. */
    net_poll(n, T0 + PS_SEC(5 * 3600));
    REQUIRE(ps_arp_lookup(n->s, IP_N(21), &e));
    CHECK_EQ(e.state, PS_ARP_RESOLVED);
    unsigned sent = n->n;
    CHECK_EQ(ps_icmp_echo_request(n->s, IP_N(21), 1, 2, 0, NULL, 8), 0);
    REQUIRE(n->n == sent + 1);
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    REQUIRE(cap_ip(n, sent, &eh, &ih, NULL));
    CHECK(ps_mac_equal(&eh.dst, &MAC(0, 21)));
    CHECK_EQ(ps_stack_stats(n->s)->arp_tx_request, 0);
    NET_FREE(n);
}

TEST(static_and_dynamic_mix_evicts_dynamic)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.arp_cache_size = 2;
    struct net *n = net_new(&cfg, 0, 0);
    REQUIRE(n);
    ask_us(n, MAC(0, 30), IP_N(30)); /* dynamic, the oldest */
    net_poll(n, T0 + PS_MS(5));
    REQUIRE(ps_arp_add_static(n->s, n->eth0, IP_N(31), &MAC(0, 31)) == 0);
    net_poll(n, T0 + PS_MS(10));
    ask_us(n, MAC(0, 32), IP_N(32));
    CHECK_EQ(ps_stack_stats(n->s)->arp_evicted, 1);
    CHECK(!ps_arp_lookup(n->s, IP_N(30), NULL));
    CHECK(ps_arp_lookup(n->s, IP_N(32), NULL));
    /* The next newcomer evicts .32, never the static .31. */
    net_poll(n, T0 + PS_MS(20));
    ask_us(n, MAC(0, 33), IP_N(33));
    CHECK_EQ(ps_stack_stats(n->s)->arp_evicted, 2);
    CHECK(ps_arp_lookup(n->s, IP_N(31), NULL));
    CHECK(!ps_arp_lookup(n->s, IP_N(32), NULL));
    CHECK(ps_arp_lookup(n->s, IP_N(33), NULL));
    NET_FREE(n);
}

int main(void)
{
    RUN(request_for_us_is_answered_and_sender_learnt);
    RUN(request_for_another_address_is_ignored);
    RUN(malformed_packets_are_dropped);
    RUN(martian_senders_are_not_believed);
    RUN(resolution_queues_then_flushes_in_order);
    RUN(resolution_failure);
    RUN(unused_entry_expires);
    RUN(used_entry_is_refreshed);
    RUN(unanswered_refresh_drops_entry);
    RUN(full_cache_evicts_lru);
    RUN(static_entries_stay);
    RUN(static_and_dynamic_mix_evicts_dynamic);
    TEST_END();
}
