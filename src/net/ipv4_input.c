/*
 * IPv4 input (RFC 791, RFC 1122 3.2.1): validate, drop what is impossible,
 * reassemble fragments, deliver to ICMP or the transport layer, or forward
 * when the stack is a router.  Every drop is counted by its reason.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"
#include "transport/transport.h"

static void count_parse_error(struct ps_stack *s, int err)
{
    switch (err) {
    case PS_WIRE_ETRUNC: PS_STAT_INC(s, ip_drop_truncated); break;
    case PS_WIRE_EVERSION: PS_STAT_INC(s, ip_drop_version); break;
    case PS_WIRE_EHDRLEN: PS_STAT_INC(s, ip_drop_hdr_len); break;
    case PS_WIRE_ECKSUM: PS_STAT_INC(s, ip_drop_checksum); break;
    case PS_WIRE_EOPTION: PS_STAT_INC(s, ip_drop_options); break;
    case PS_WIRE_EFORMAT: PS_STAT_INC(s, ip_drop_format); break;
    default: PS_STAT_INC(s, ip_drop_total_len); break;
    }
}

/* Addresses no packet from the wire may come from (RFC 1122 3.2.1.3,
 * RFC 1812 5.3.7): a "land" packet claiming to be from us included. */
static bool martian_source(struct ps_stack *s, const struct ps_pbuf *p, ps_ip4_t src)
{
    if (src == PS_IP4_BROADCAST || ps_ip4_is_multicast(src))
        return true;
    if (p->flags & PS_PBUF_F_LOOPED)
        return false;
    if (ps_ip4_is_loopback(src) || ps_ip_is_local(s, src))
        return true;
    return p->iface && ps_ipv4_is_broadcast(p->iface, src);
}

static void forward(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *h)
{
    struct ps_iface *out;
    ps_ip4_t next_hop;
    /* Never forward link-level broadcasts or broadcast/loopback dests. */
    if ((p->flags & PS_PBUF_F_LINK_BCAST) || ps_ip4_is_loopback(h->dst) || h->dst == 0) {
        PS_STAT_INC(s, ip_drop_not_for_us);
        goto drop;
    }
    if (h->ttl <= 1) {
        PS_STAT_INC(s, ip_drop_ttl);
        ps_icmp_send_error(s, p->data, p->len, PS_ICMP_TIME_EXCEEDED, PS_ICMP_TIMXCEED_TTL, 0, p->iface);
        goto drop;
    }
    if (ps_route_lookup(s, h->dst, &out, &next_hop, NULL) != 0) {
        PS_STAT_INC(s, ip_drop_no_route);
        ps_icmp_send_error(s, p->data, p->len, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NET, 0, p->iface);
        goto drop;
    }
    if (ps_ipv4_is_broadcast(out, h->dst)) {
        PS_STAT_INC(s, ip_drop_not_for_us); /* no directed broadcasts (RFC 2644) */
        goto drop;
    }
    if (p->len > out->mtu && h->df) {
        PS_STAT_INC(s, ip_drop_df);
        ps_icmp_send_error(s, p->data, p->len, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_NEEDFRAG, out->mtu,
                           p->iface);
        goto drop;
    }
    /* TTL lives in the high byte of the word at offset 8 (TTL, protocol). */
    uint16_t old = ps_get16(p->data + 8);
    p->data[8]--;
    ps_put16(p->data + 10, ps_cksum_update16(ps_get16(p->data + 10), old, ps_get16(p->data + 8)));
    PS_STAT_INC(s, ip_forwarded);
    ps_ipv4_send_packet(s, out, next_hop, p);
    return;
drop:
    ps_pbuf_free(s, p);
}

void ps_ipv4_input(struct ps_stack *s, struct ps_pbuf *p)
{
    struct ps_ipv4_hdr h;
    PS_STAT_INC(s, ip_rx);
    int rc = ps_ipv4_parse(p->data, p->len, &h);
    if (rc < 0) {
        count_parse_error(s, rc);
        goto drop;
    }
    ps_pbuf_trim(p, h.total_len); /* link padding */
    if (martian_source(s, p, h.src)) {
        PS_STAT_INC(s, ip_drop_martian_src);
        goto drop;
    }
    if (!(p->flags & PS_PBUF_F_LOOPED) && ps_ip4_is_loopback(h.dst)) {
        PS_STAT_INC(s, ip_drop_martian_dst); /* 127/8 must not appear on a wire */
        goto drop;
    }
    if (h.has_source_route) {
        /* Source routing is a spoofing tool; RFC 7126 4.3/4.4: drop. */
        PS_STAT_INC(s, ip_drop_options);
        goto drop;
    }
    bool bcast = p->iface && ps_ipv4_is_broadcast(p->iface, h.dst);
    if (ps_ip4_is_multicast(h.dst)) {
        PS_STAT_INC(s, ip_drop_multicast);
        goto drop;
    }
    if (!bcast && !ps_ip_is_local(s, h.dst)) {
        if (s->cfg.ip_forwarding && !(p->flags & PS_PBUF_F_LOOPED)) {
            forward(s, p, &h);
            return;
        }
        PS_STAT_INC(s, ip_drop_not_for_us);
        goto drop;
    }
    if (h.mf || h.frag_off) {
        PS_STAT_INC(s, ip_frag_rx);
        p = ps_reasm_input(s, p, &h);
        if (!p)
            return;
        rc = ps_ipv4_parse(p->data, p->len, &h);
        if (rc < 0) { /* cannot happen: reassembly writes a valid header */
            count_parse_error(s, rc);
            goto drop;
        }
    }
    ps_pbuf_pull(p, h.hlen);
    PS_STAT_INC(s, ip_delivered);
    switch (h.proto) {
    case PS_IP_PROTO_ICMP:
        ps_icmp_input(s, p, &h);
        return;
    case PS_IP_PROTO_TCP:
    case PS_IP_PROTO_UDP:
        if (ps_transport_input(s, p, &h))
            return;
        break;
    default:
        break;
    }
    /* Nobody takes this protocol (RFC 1122 3.2.2.1: protocol unreachable).
     * The transport layer answers for ports itself once it exists.  Never
     * about a broadcast, IP or link level (RFC 1122 3.2.2): the flag is
     * checked here because ps_icmp_send_error() only sees the IP header. */
    s->stats.ip_delivered--;
    PS_STAT_INC(s, ip_drop_unknown_proto);
    if (!bcast && !(p->flags & PS_PBUF_F_LINK_BCAST))
        ps_icmp_send_error(s, p->data - h.hlen, p->len + h.hlen, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_PROTO,
                           0, p->iface);
drop:
    ps_pbuf_free(s, p);
}
