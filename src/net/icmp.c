/*
 * ICMPv4 (RFC 792, RFC 1122 3.2.2): echo replies, our own echo requests,
 * errors sent under the RFC 1122 restrictions and a token-bucket rate
 * limit, and errors received handed up by their quoted header.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"
#include "transport/transport.h"

/* Token bucket in millitokens: icmp_rate tokens a second, icmp_burst deep. */
static bool rate_ok(struct ps_stack *s)
{
    struct ps_net *n = &s->net;
    uint64_t cap = (uint64_t)s->cfg.icmp_burst * 1000u;
    uint64_t add = (s->now - n->icmp_refill) * s->cfg.icmp_rate / 1000u;
    if (add) {
        n->icmp_tokens = n->icmp_tokens + add > cap ? cap : n->icmp_tokens + add;
        n->icmp_refill = s->now;
    }
    if (n->icmp_tokens < 1000u) {
        PS_STAT_INC(s, icmp_rate_limited);
        return false;
    }
    n->icmp_tokens -= 1000u;
    return true;
}

/* Is a a broadcast address of any interface?  Not only of the one the
 * datagram came in on: a router must also recognise the directed broadcast
 * of another subnet it is attached to (RFC 1812 4.3.2.7). */
static bool any_broadcast(const struct ps_stack *s, ps_ip4_t a)
{
    for (unsigned i = 0; i < s->net.nifaces; i++)
        if (ps_ipv4_is_broadcast(&s->net.ifaces[i], a))
            return true;
    return false;
}

void ps_icmp_send_error(struct ps_stack *s, const uint8_t *orig, size_t orig_len, uint8_t type,
                        uint8_t code, uint16_t mtu, const struct ps_iface *in_ifc)
{
    struct ps_ipv4_hdr h;
    if (orig_len < PS_IPV4_HLEN || ps_ipv4_parse(orig, orig_len, &h) < 0) {
        PS_STAT_INC(s, icmp_err_suppressed);
        return;
    }
    /* RFC 1122 3.2.2: never about an ICMP error, a non-first fragment, a
     * broadcast or multicast datagram, or a source that names no single
     * host. */
    bool about_error = h.proto == PS_IP_PROTO_ICMP &&
                       (orig_len <= h.hlen || h.frag_off != 0 || ps_icmp_is_error(orig[h.hlen]));
    if (about_error || h.frag_off != 0 || h.src == 0 || h.src == PS_IP4_BROADCAST ||
        ps_ip4_is_multicast(h.src) || ps_ip4_is_multicast(h.dst) || h.dst == PS_IP4_BROADCAST ||
        any_broadcast(s, h.dst) || any_broadcast(s, h.src)) {
        PS_STAT_INC(s, icmp_err_suppressed);
        return;
    }
    if (!rate_ok(s))
        return;
    size_t quote = orig_len < h.total_len ? orig_len : h.total_len;
    if (quote > PS_ICMP_QUOTE_MAX)
        quote = PS_ICMP_QUOTE_MAX;
    struct ps_pbuf *p = ps_pbuf_alloc(s, PS_ICMP_HLEN + quote);
    if (!p)
        return;
    memcpy(p->data + PS_ICMP_HLEN, orig, quote);
    struct ps_icmp_hdr ih = {.type = type, .code = code, .mtu = mtu};
    ps_icmp_emit(p->data, &ih, quote);
    /* Speak from the address the datagram was sent to when it is ours,
     * else from the interface it came in on (a router's error). */
    struct ps_ip_tx tx = {.dst = h.src, .proto = PS_IP_PROTO_ICMP};
    if (ps_ip_is_local(s, h.dst))
        tx.src = h.dst;
    else if (in_ifc && in_ifc->naddr)
        tx.src = in_ifc->addr[0].addr;
    PS_STAT_INC(s, icmp_tx);
    PS_STAT_INC(s, icmp_err_tx);
    ps_ip_output(s, p, &tx);
}

static void echo_reply(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip,
                       struct ps_icmp_hdr *ih)
{
    /* No answers to broadcast pings (smurf amplification, RFC 1122 allows
     * silence), to "this host" 0.0.0.0 (it names nobody to answer), and
     * none when the host turned echo off. */
    if (!s->cfg.icmp_echo_reply || (p->iface && ps_ipv4_is_broadcast(p->iface, ip->dst)) ||
        (p->flags & PS_PBUF_F_LINK_BCAST) || ip->src == 0) {
        ps_pbuf_free(s, p);
        return;
    }
    /* Turn the request around in its own buffer: same id, seq and data. */
    ih->type = PS_ICMP_ECHO_REPLY;
    ih->code = 0;
    ps_icmp_emit(p->data, ih, p->len - PS_ICMP_HLEN);
    struct ps_ip_tx tx = {.src = ip->dst, .dst = ip->src, .proto = PS_IP_PROTO_ICMP, .tos = ip->tos};
    PS_STAT_INC(s, icmp_tx);
    PS_STAT_INC(s, icmp_echo_reply_tx);
    ps_ip_output(s, p, &tx);
}

/* An error: parse the quoted datagram and pass it to whoever sent it. */
static void error_input(struct ps_stack *s, const struct ps_ipv4_hdr *ip, const struct ps_icmp_hdr *ih)
{
    struct ps_ipv4_hdr q;
    const uint8_t *d = ih->payload;
    size_t n = ih->payload_len;
    /* The quote is at least the header and 8 bytes, but its total length
     * describes the original datagram, not the quote; parse only the
     * header. */
    if (n < PS_IPV4_HLEN || (size_t)((d[0] & 0x0f) * 4) + 8 > n || (d[0] >> 4) != 4 ||
        (d[0] & 0x0f) < 5) {
        PS_STAT_INC(s, icmp_drop_malformed);
        return;
    }
    size_t qhlen = (size_t)(d[0] & 0x0f) * 4;
    q.src = ps_get32(d + 12);
    q.dst = ps_get32(d + 16);
    q.proto = d[9];
    /* Only errors about datagrams we sent are of interest. */
    if (!ps_ip_is_local(s, q.src)) {
        PS_STAT_INC(s, icmp_drop_malformed);
        return;
    }
    PS_STAT_INC(s, icmp_err_rx);
    const uint8_t *l4 = d + qhlen;
    if (q.proto == PS_IP_PROTO_ICMP) {
        if (l4[0] == PS_ICMP_ECHO_REQUEST && s->net.echo_fn) {
            struct ps_echo_event ev = {
                .from = ip->src, .id = ps_get16(l4 + 4), .seq = ps_get16(l4 + 6),
                .err_type = ih->type, .err_code = ih->code, .now = s->now,
            };
            s->net.echo_fn(s->net.echo_ctx, &ev);
        }
        return;
    }
    struct ps_icmp_error e = {
        .type = ih->type, .code = ih->code,
        .mtu = (ih->type == PS_ICMP_DEST_UNREACH && ih->code == PS_ICMP_UNREACH_NEEDFRAG) ? ih->mtu : 0,
        .reporter = ip->src, .src = q.src, .dst = q.dst, .proto = q.proto,
        .l4 = l4, .l4_len = n - qhlen,
    };
    ps_transport_icmp_error(s, &e);
}

void ps_icmp_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip)
{
    struct ps_icmp_hdr ih;
    PS_STAT_INC(s, icmp_rx);
    if (ps_icmp_parse(p->data, p->len, &ih) < 0) {
        PS_STAT_INC(s, icmp_drop_malformed);
        ps_pbuf_free(s, p);
        return;
    }
    switch (ih.type) {
    case PS_ICMP_ECHO_REQUEST:
        PS_STAT_INC(s, icmp_echo_rx);
        echo_reply(s, p, ip, &ih);
        return;
    case PS_ICMP_ECHO_REPLY:
        PS_STAT_INC(s, icmp_echo_reply_rx);
        if (s->net.echo_fn) {
            struct ps_echo_event ev = {
                .is_reply = true, .from = ip->src, .id = ih.id, .seq = ih.seq, .ttl = ip->ttl,
                .data = ih.payload, .len = ih.payload_len, .now = s->now,
            };
            s->net.echo_fn(s->net.echo_ctx, &ev);
        }
        break;
    case PS_ICMP_DEST_UNREACH:
    case PS_ICMP_TIME_EXCEEDED:
    case PS_ICMP_PARAM_PROBLEM:
    case PS_ICMP_SOURCE_QUENCH:
        error_input(s, ip, &ih);
        break;
    default:
        /* Redirects are ignored (RFC 1122 lets hosts; they are a classic
         * hijack vector), as are timestamp and the obsolete types. */
        PS_STAT_INC(s, icmp_drop_type);
        break;
    }
    ps_pbuf_free(s, p);
}

void ps_icmp_set_echo_hook(struct ps_stack *s, ps_echo_fn fn, void *ctx)
{
    s->net.echo_fn = fn;
    s->net.echo_ctx = ctx;
}

int ps_icmp_echo_request(struct ps_stack *s, ps_ip4_t dst, uint16_t id, uint16_t seq, uint8_t ttl,
                         const uint8_t *data, size_t len)
{
    if (len > 65535 - PS_IPV4_HLEN - PS_ICMP_HLEN)
        return -EMSGSIZE;
    struct ps_pbuf *p = ps_pbuf_alloc(s, PS_ICMP_HLEN + len);
    if (!p)
        return -ENOBUFS;
    if (data)
        memcpy(p->data + PS_ICMP_HLEN, data, len);
    else
        for (size_t i = 0; i < len; i++)
            p->data[PS_ICMP_HLEN + i] = (uint8_t)(i & 0xff);
    struct ps_icmp_hdr ih = {.type = PS_ICMP_ECHO_REQUEST, .id = id, .seq = seq};
    ps_icmp_emit(p->data, &ih, len);
    struct ps_ip_tx tx = {.dst = dst, .proto = PS_IP_PROTO_ICMP, .ttl = ttl};
    PS_STAT_INC(s, icmp_tx);
    return ps_ip_output(s, p, &tx);
}
