/*
 * tests/frames.h - what the network-layer tests share: a stack with one or
 * two Ethernet interfaces whose transmit callback records every frame sent,
 * builders for the frames the tests inject (made with the wire emitters),
 * parsers for the frames recorded, and a check on the counters that moved.
 *
 * Addresses are from the documentation ranges (RFC 5737) and MACs are
 * locally administered:
 *   eth0  192.0.2.1/24     02:00:00:00:00:01   peer 192.0.2.2     ..:00:02
 *   eth1  198.51.100.1/24  02:00:00:00:01:01   peer 198.51.100.2  ..:01:02
 */
#ifndef PS_TEST_FRAMES_H
#define PS_TEST_FRAMES_H

#include <portstack/net.h>
#include <portstack/pbuf.h>
#include <portstack/stack.h>
#include <portstack/stats.h>
#include <portstack/wire.h>

#include "test.h"

#define IP_US PS_IP4(192, 0, 2, 1)
#define IP_PEER PS_IP4(192, 0, 2, 2)
#define IP_BCAST0 PS_IP4(192, 0, 2, 255)
#define IP_US1 PS_IP4(198, 51, 100, 1)
#define IP_PEER1 PS_IP4(198, 51, 100, 2)
#define IP_FAR PS_IP4(203, 0, 113, 9)

#define MAC(a, b) ((ps_mac_t){{0x02, 0, 0, 0, (a), (b)}})
#define MAC_US MAC(0, 1)
#define MAC_PEER MAC(0, 2)
#define MAC_US1 MAC(1, 1)
#define MAC_PEER1 MAC(1, 2)
#define MAC_BCAST ((ps_mac_t){{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}})
#define MAC_ZERO ((ps_mac_t){{0}})

#define T0 PS_SEC(100) /* the time every test starts at */

/* ---- the stack under test and the frames it sends ------------------------ */

#define CAP_MAX 512
#define FRAME_MAX 1600

struct cap_frame {
    const struct ps_iface *ifc;
    ps_time_t t;
    size_t len;
    uint8_t b[FRAME_MAX];
};

struct net {
    struct ps_stack *s;
    struct ps_iface *eth0, *eth1;
    ps_time_t now;
    unsigned n, lost; /* frames sent (those beyond CAP_MAX are lost) */
    struct cap_frame f[CAP_MAX];
};

static inline int cap_transmit(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    struct net *n = ctx;
    if (n->n >= CAP_MAX || len > FRAME_MAX) {
        n->lost++;
        return 0;
    }
    struct cap_frame *c = &n->f[n->n++];
    c->ifc = ifc;
    c->t = ps_stack_now(n->s);
    c->len = len;
    memcpy(c->b, frame, len);
    return 0;
}

#define NET_TWO_IFACES 1u  /* add eth1 */
#define NET_STATIC_PEERS 2u /* permanent ARP entries for the peers */

/* A stack at T0 with eth0 (and eth1), MTU 1500 unless mtu1 says otherwise
 * for eth1.  Allocated: struct net is large. */
static inline struct net *net_new(const struct ps_config *cfg, unsigned flags, uint16_t mtu1)
{
    struct net *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->now = T0;
    n->s = ps_stack_new(cfg, T0);
    if (!n->s)
        goto fail;
    n->eth0 = ps_iface_add(n->s, "eth0", &MAC_US, 1500, cap_transmit, n);
    if (!n->eth0 || ps_iface_add_addr(n->eth0, IP_US, 24) != 0)
        goto fail;
    if ((flags & NET_STATIC_PEERS) && ps_arp_add_static(n->s, n->eth0, IP_PEER, &MAC_PEER) != 0)
        goto fail;
    if (flags & NET_TWO_IFACES) {
        n->eth1 = ps_iface_add(n->s, "eth1", &MAC_US1, mtu1 ? mtu1 : 1500, cap_transmit, n);
        if (!n->eth1 || ps_iface_add_addr(n->eth1, IP_US1, 24) != 0)
            goto fail;
        if ((flags & NET_STATIC_PEERS) && ps_arp_add_static(n->s, n->eth1, IP_PEER1, &MAC_PEER1) != 0)
            goto fail;
    }
    return n;
fail:
    ps_stack_free(n->s);
    free(n);
    return NULL;
}

/* Hand a frame to an interface at the current time. */
static inline void net_input(struct net *n, struct ps_iface *ifc, const uint8_t *b, size_t len)
{
    ps_iface_input(ifc, b, len, n->now);
}

/* Move time to t and run what is due (the loopback path included). */
static inline void net_poll(struct net *n, ps_time_t t)
{
    if (t > n->now)
        n->now = t;
    ps_stack_poll(n->s, n->now);
}

/* Run every timer to its end (ARP retries and expiry, reassembly timeouts). */
static inline void net_drain(struct net *n)
{
    for (int i = 0; i < 100000; i++) {
        ps_time_t d = ps_stack_next_deadline(n->s);
        if (d == PS_TIME_NEVER)
            break;
        net_poll(n, d);
    }
}

/* End of every test: once every timer has run, every buffer must be back in
 * its pool (the stack never leaks one), and nothing was sent beyond CAP_MAX. */
#define NET_FREE(n)                                                    \
    do {                                                               \
        unsigned sf_, st_, lf_, lt_;                                   \
        net_drain(n);                                                  \
        ps_pbuf_pool_usage((n)->s, &sf_, &st_, &lf_, &lt_);            \
        CHECK_EQ(sf_, st_);                                            \
        CHECK_EQ(lf_, lt_);                                            \
        CHECK_EQ((n)->lost, 0);                                        \
        ps_stack_free((n)->s);                                         \
        free(n);                                                       \
    } while (0)

/* ---- counters ------------------------------------------------------------ */

/* The counters that moved from `before` to `after`, as "name+N ..." in the
 * order of stats.h. */
static inline const char *stats_delta(const struct ps_stats *before, const struct ps_stats *after, char *buf,
                                      size_t size)
{
    size_t k = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < ps_stats_count(); i++) {
        uint64_t a = ps_stats_get(before, i), b = ps_stats_get(after, i);
        if (a != b && k < size)
            k += (size_t)snprintf(buf + k, size - k, "%s%s%+lld", k ? " " : "", ps_stats_name(i),
                                  (long long)(b - a));
    }
    return buf;
}

/* Exactly these counters moved since the snapshot, by exactly these amounts. */
#define CHECK_DELTA(before, s, expect)                                                \
    do {                                                                              \
        char d_[1024];                                                                \
        stats_delta(&(before), ps_stack_stats(s), d_, sizeof d_);                     \
        if (strcmp(d_, (expect)) != 0)                                                \
            T_FAIL("counters moved \"%s\", expected \"%s\"", d_, (expect));           \
    } while (0)

#define SNAP(n) (*ps_stack_stats((n)->s))

/* ---- building frames ----------------------------------------------------- */

static inline size_t put_eth(uint8_t *b, ps_mac_t dst, ps_mac_t src, uint16_t type)
{
    struct ps_eth_hdr eh = {.dst = dst, .src = src, .type = type};
    return ps_eth_emit(b, &eh);
}

/* Ethernet + ARP (42 bytes, unpadded). */
static inline size_t frame_arp(uint8_t *b, ps_mac_t eth_dst, uint16_t op, ps_mac_t sha, ps_ip4_t spa,
                               ps_mac_t tha, ps_ip4_t tpa)
{
    struct ps_arp_pkt a = {.op = op, .sha = sha, .spa = spa, .tha = tha, .tpa = tpa};
    size_t k = put_eth(b, eth_dst, sha, PS_ETHERTYPE_ARP);
    return k + ps_arp_emit(b + k, &a);
}

/* An IPv4 header from src to dst: TTL 64, ID 0x1234, no options; the rest
 * is the caller's to change before frame_ip(). */
static inline struct ps_ipv4_hdr ip_hdr(ps_ip4_t src, ps_ip4_t dst, uint8_t proto)
{
    struct ps_ipv4_hdr h = {.ttl = 64, .id = 0x1234, .proto = proto, .src = src, .dst = dst};
    return h;
}

/* Ethernet + IPv4 (header h with its options and fragment fields, total
 * length and checksum computed) + payload.  Returns the frame length. */
static inline size_t frame_ip(uint8_t *b, ps_mac_t eth_dst, ps_mac_t eth_src, const struct ps_ipv4_hdr *h,
                              const void *payload, size_t plen)
{
    struct ps_ipv4_hdr ih = *h;
    size_t k = put_eth(b, eth_dst, eth_src, PS_ETHERTYPE_IPV4);
    size_t hlen = PS_IPV4_HLEN + (((size_t)(h->options ? h->options_len : 0) + 3) & ~(size_t)3);
    ih.total_len = (uint16_t)(hlen + plen);
    ps_ipv4_emit(b + k, &ih);
    if (plen)
        memcpy(b + k + hlen, payload, plen);
    return k + hlen + plen;
}

/* Recompute the header checksum of the IPv4 packet of a frame (after a
 * test has bent a field). */
static inline void ip_fix_cksum(uint8_t *frame)
{
    uint8_t *ip = frame + PS_ETH_HLEN;
    size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
    ps_put16(ip + 10, 0);
    ps_put16(ip + 10, ps_cksum(ip, hlen));
}

/* An ICMP message: type, code, the second word, then data (NULL: already
 * in place at b + 8).  Returns its length. */
static inline size_t put_icmp(uint8_t *b, uint8_t type, uint8_t code, uint32_t rest, const void *data,
                              size_t len)
{
    struct ps_icmp_hdr h = {.type = type, .code = code, .rest = rest, .id = (uint16_t)(rest >> 16),
                            .seq = (uint16_t)rest, .mtu = (uint16_t)rest};
    if (data && len)
        memcpy(b + PS_ICMP_HLEN, data, len);
    ps_icmp_emit(b, &h, len);
    return PS_ICMP_HLEN + len;
}

/* A whole echo request frame from src (the peer's MAC) to dst. */
static inline size_t frame_echo(uint8_t *b, ps_mac_t eth_dst, ps_ip4_t src, ps_ip4_t dst, uint16_t id,
                                uint16_t seq, const void *data, size_t len)
{
    uint8_t icmp[FRAME_MAX];
    size_t ilen = put_icmp(icmp, PS_ICMP_ECHO_REQUEST, 0, ((uint32_t)id << 16) | seq, data, len);
    struct ps_ipv4_hdr h = ip_hdr(src, dst, PS_IP_PROTO_ICMP);
    return frame_ip(b, eth_dst, MAC_PEER, &h, icmp, ilen);
}

/* ---- reading what was sent ----------------------------------------------- */

/* Frame i as Ethernet + ARP. */
static inline bool cap_arp(const struct net *n, unsigned i, struct ps_eth_hdr *eh, struct ps_arp_pkt *a)
{
    if (i >= n->n || ps_eth_parse(n->f[i].b, n->f[i].len, eh) < 0 || eh->type != PS_ETHERTYPE_ARP)
        return false;
    return ps_arp_parse(n->f[i].b + PS_ETH_HLEN, n->f[i].len - PS_ETH_HLEN, a) == PS_ARP_LEN;
}

/* Frame i as Ethernet + a valid IPv4 header; returns the IP packet (header
 * first) or NULL, and its payload length through plen. */
static inline const uint8_t *cap_ip(const struct net *n, unsigned i, struct ps_eth_hdr *eh,
                                    struct ps_ipv4_hdr *ih, size_t *plen)
{
    if (i >= n->n || ps_eth_parse(n->f[i].b, n->f[i].len, eh) < 0 || eh->type != PS_ETHERTYPE_IPV4)
        return NULL;
    const uint8_t *ip = n->f[i].b + PS_ETH_HLEN;
    if (ps_ipv4_parse(ip, n->f[i].len - PS_ETH_HLEN, ih) < 0)
        return NULL;
    if (plen)
        *plen = (size_t)ih->total_len - ih->hlen;
    return ip;
}

/* Frame i as Ethernet + IPv4 (unfragmented) + a valid ICMP message. */
static inline bool cap_icmp(const struct net *n, unsigned i, struct ps_eth_hdr *eh, struct ps_ipv4_hdr *ih,
                            struct ps_icmp_hdr *icmp)
{
    size_t plen;
    const uint8_t *ip = cap_ip(n, i, eh, ih, &plen);
    if (!ip || ih->proto != PS_IP_PROTO_ICMP || ih->mf || ih->frag_off)
        return false;
    return ps_icmp_parse(ip + ih->hlen, plen, icmp) == PS_ICMP_HLEN;
}

/* ---- echo hook ----------------------------------------------------------- */

#define ECHO_MAX 64

struct echo_log {
    unsigned n;
    struct ps_echo_event ev[ECHO_MAX]; /* data pointers are not kept */
    uint8_t data[ECHO_MAX][64];        /* the first bytes of each payload */
};

static inline void echo_record(void *ctx, const struct ps_echo_event *ev)
{
    struct echo_log *l = ctx;
    if (l->n >= ECHO_MAX)
        return;
    l->ev[l->n] = *ev;
    l->ev[l->n].data = NULL;
    if (ev->data)
        memcpy(l->data[l->n], ev->data, ev->len < 64 ? ev->len : 64);
    l->n++;
}

#endif /* PS_TEST_FRAMES_H */
