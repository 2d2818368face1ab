/*
 * IPv4 output: header, route, loopback, link broadcast or ARP, and the
 * hand-off to fragmentation when a packet exceeds the MTU.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"

static const ps_mac_t mac_broadcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

bool ps_ipv4_is_broadcast(const struct ps_iface *ifc, ps_ip4_t dst)
{
    if (dst == PS_IP4_BROADCAST)
        return true;
    for (unsigned i = 0; i < ifc->naddr; i++) {
        uint8_t pfx = ifc->addr[i].prefix;
        if (pfx >= 31) /* RFC 3021: /31 and /32 have no broadcast address */
            continue;
        ps_ip4_t m = ps_ip4_mask(pfx);
        if ((dst & m) == (ifc->addr[i].addr & m) && (dst | m) == PS_IP4_BROADCAST)
            return true;
    }
    return false;
}

uint16_t ps_ipv4_next_id(struct ps_stack *s, ps_ip4_t src, ps_ip4_t dst, uint8_t proto)
{
    /* RFC 7739 4.3: counters per bucket of a keyed hash, so IDs sent to one
     * destination reveal nothing about traffic to another. */
    unsigned b = (unsigned)(ps_siphash_u64x4(&s->key_ipid, src, dst, proto, 0, 3) % PS_IPID_BUCKETS);
    return ++s->net.ipid[b];
}

/* Queue a packet for ourselves; it is delivered on the next poll, never
 * recursively from inside the send. */
static int loopback(struct ps_stack *s, struct ps_pbuf *p)
{
    struct ps_net *n = &s->net;
    if (n->loop_len >= s->cfg.loopback_queue_len) {
        PS_STAT_INC(s, ip_loopback_drop);
        ps_pbuf_free(s, p);
        return -ENOBUFS;
    }
    p->next = NULL;
    p->flags |= PS_PBUF_F_LOOPED;
    p->iface = &n->ifaces[0];
    if (n->loop_tail)
        n->loop_tail->next = p;
    else
        n->loop_head = p;
    n->loop_tail = p;
    n->loop_len++;
    return 0;
}

int ps_ipv4_link_send(struct ps_stack *s, struct ps_iface *ifc, const ps_mac_t *dst, struct ps_pbuf *p)
{
    if (p->len > ifc->mtu && !(p->gso_size && ifc->transmit_gso))
        return ps_ipv4_fragment(s, ifc, dst, p);
    return ps_eth_output(s, ifc, dst, PS_ETHERTYPE_IPV4, p);
}

int ps_ipv4_send_packet(struct ps_stack *s, struct ps_iface *ifc, ps_ip4_t next_hop, struct ps_pbuf *p)
{
    PS_STAT_INC(s, ip_tx);
    ps_ip4_t dst = ps_get32(p->data + 16);
    if (ifc->kind == PS_IFACE_LOOPBACK || ps_ip_is_local(s, dst))
        return loopback(s, p);
    /* Too big, and DF; a TCP super-segment is cut by a TSO driver instead
     * (and refused by any other: TCP then stops making them). */
    if (p->len > ifc->mtu && (p->data[6] & 0x40) && !(p->gso_size && ifc->transmit_gso)) {
        PS_STAT_INC(s, ip_drop_df);
        ps_pbuf_free(s, p);
        return -EMSGSIZE;
    }
    if (ps_ipv4_is_broadcast(ifc, next_hop))
        return ps_ipv4_link_send(s, ifc, &mac_broadcast, p);
    /* ARP queues the whole datagram while it resolves, and fragments it
     * only once the neighbour is known: one queue slot per datagram. */
    return ps_arp_output(s, ifc, next_hop, p);
}

int ps_ip_output(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ip_tx *tx)
{
    struct ps_iface *ifc = tx->ifc;
    ps_ip4_t next_hop = tx->dst, src = tx->src;
    if (p->len > 65535 - PS_IPV4_HLEN) {
        ps_pbuf_free(s, p);
        return -EMSGSIZE;
    }
    if (ifc) {
        if (!src && ifc->naddr)
            src = ifc->addr[0].addr;
    } else if (ps_ip_is_local(s, tx->dst)) {
        ifc = &s->net.ifaces[0];
        if (!src)
            src = tx->dst;
    } else if (tx->dst == PS_IP4_BROADCAST) {
        /* The limited broadcast goes out of the first Ethernet interface
         * unless the caller chose one. */
        for (unsigned i = 1; i < s->net.nifaces && !ifc; i++)
            if (s->net.ifaces[i].up)
                ifc = &s->net.ifaces[i];
        if (!ifc) {
            PS_STAT_INC(s, ip_drop_no_route);
            ps_pbuf_free(s, p);
            return -ENETUNREACH;
        }
        if (!src && ifc->naddr)
            src = ifc->addr[0].addr;
    } else {
        ps_ip4_t rsrc;
        if (ps_route_lookup(s, tx->dst, &ifc, &next_hop, &rsrc) != 0) {
            PS_STAT_INC(s, ip_drop_no_route);
            ps_pbuf_free(s, p);
            return -ENETUNREACH;
        }
        if (!src)
            src = rsrc;
    }
    uint8_t *h = ps_pbuf_push(p, PS_IPV4_HLEN);
    if (!h) {
        ps_pbuf_free(s, p);
        return -ENOBUFS;
    }
    struct ps_ipv4_hdr ih = {
        .tos = tx->tos,
        .total_len = (uint16_t)p->len,
        .id = ps_ipv4_next_id(s, src, tx->dst, tx->proto),
        .df = tx->df,
        .ttl = tx->ttl ? tx->ttl : s->cfg.default_ttl,
        .proto = tx->proto,
        .src = src,
        .dst = tx->dst,
    };
    ps_ipv4_emit(h, &ih);
    return ps_ipv4_send_packet(s, ifc, next_hop, p);
}
