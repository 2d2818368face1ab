/*
 * UDP (RFC 768): input (verify, demultiplex, queue), output (one copy of
 * the payload into a buffer, header, IPv4), and ICMP errors delivered to
 * connected sockets.
 */
#include "transport/udp.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"

/* pcb->mark during broadcast delivery (see deliver_broadcast). */
enum { MARK_NONE = 0, MARK_QUEUED = 1, MARK_NOTIFY = 2 };

static struct ps_udp_pcb *pcb_of(struct ps_endpoint *ep)
{
    return (struct ps_udp_pcb *)(void *)((char *)ep - offsetof(struct ps_udp_pcb, ep));
}

static void notify(struct ps_stack *s, struct ps_udp_pcb *pcb)
{
    if (pcb->event)
        pcb->event(s, pcb->event_ctx);
}

/* Is dst a broadcast address of any of our interfaces? */
static bool any_broadcast(const struct ps_stack *s, ps_ip4_t dst)
{
    for (unsigned i = 0; i < s->net.nifaces; i++)
        if (ps_ipv4_is_broadcast(&s->net.ifaces[i], dst))
            return true;
    return false;
}

/* ---- control blocks ----------------------------------------------------------- */

void ps_udp_pcb_init(struct ps_stack *s, struct ps_udp_pcb *pcb)
{
    memset(pcb, 0, sizeof(*pcb));
    pcb->ep.proto = PS_IP_PROTO_UDP;
    pcb->rcvbuf = s->cfg.udp_rcvbuf;
}

void ps_udp_pcb_close(struct ps_stack *s, struct ps_udp_pcb *pcb)
{
    ps_ports_unbind(s, &pcb->ep);
    ps_pbuf_free_list(s, pcb->rq_head);
    pcb->rq_head = pcb->rq_tail = NULL;
    pcb->rq_count = 0;
    pcb->rq_bytes = 0;
    pcb->mark = MARK_NONE; /* a broadcast delivery in progress skips it */
    pcb->event = NULL;
}

int ps_udp_take_error(struct ps_udp_pcb *pcb)
{
    int e = pcb->error;
    pcb->error = 0;
    return e;
}

short ps_udp_poll(const struct ps_udp_pcb *pcb)
{
    short ev = PS_POLLOUT; /* a datagram is sent at once, never queued */
    if (pcb->rq_count || pcb->shut_rd)
        ev |= PS_POLLIN;
    if (pcb->error)
        ev |= PS_POLLERR;
    if (pcb->shut_rd && pcb->shut_wr)
        ev |= PS_POLLHUP;
    return ev;
}

/* ---- output ------------------------------------------------------------------- */

static struct ps_iface *ether_iface_with(struct ps_stack *s, ps_ip4_t addr)
{
    for (unsigned i = 0; i < s->net.nifaces; i++) {
        struct ps_iface *ifc = &s->net.ifaces[i];
        if (ifc->kind != PS_IFACE_ETHERNET || !ifc->up)
            continue;
        if (!addr)
            return ifc;
        for (unsigned j = 0; j < ifc->naddr; j++)
            if (ifc->addr[j].addr == addr)
                return ifc;
    }
    return NULL;
}

/* The source address of a datagram to dst from a socket whose local
 * address is laddr, chosen here rather than by ps_ip_output because the
 * checksum covers it.  *ifc is set for the limited broadcast only: it
 * leaves by the interface of the bound address, else the first one. */
static int pick_source(struct ps_stack *s, ps_ip4_t laddr, ps_ip4_t dst, ps_ip4_t *src, struct ps_iface **ifc)
{
    *ifc = NULL;
    if (laddr == PS_IP4_BROADCAST)
        laddr = 0; /* bound to receive broadcasts: the route chooses */
    /* 127/8 never leaves the host (RFC 1122 3.2.1.3); Linux says EINVAL. */
    if (laddr && ps_ip4_is_loopback(laddr) && !ps_ip_is_local(s, dst))
        return -EINVAL;
    if (dst == PS_IP4_BROADCAST) {
        struct ps_iface *out = laddr ? ether_iface_with(s, laddr) : NULL;
        if (!out)
            out = ether_iface_with(s, 0);
        if (!out)
            return -ENETUNREACH;
        *ifc = out;
        *src = laddr ? laddr : out->naddr ? out->addr[0].addr : 0;
        return 0;
    }
    if (laddr) {
        *src = laddr;
        return 0;
    }
    if (ps_ip_is_local(s, dst)) {
        *src = dst; /* as ps_ip_output does for the loopback path */
        return 0;
    }
    return ps_route_lookup(s, dst, NULL, NULL, src);
}

int ps_udp_connect(struct ps_stack *s, struct ps_udp_pcb *pcb, ps_ip4_t addr, uint16_t port)
{
    struct ps_endpoint *ep = &pcb->ep;
    bool undo = addr == 0 && port == 0;
    if (!undo && (addr == 0 || port == 0))
        return -EINVAL;
    if (!undo && any_broadcast(s, addr) && !(ep->flags & PS_EP_BCAST))
        return -EACCES;
    /* A stale error from the previous peer means nothing for the next. */
    pcb->error = 0;
    /* Back to the bound state first, so the source below is chosen from
     * the address bind() gave (or none), not the old connection's. */
    ps_ports_disconnect(s, ep);
    if (undo)
        return 0;
    ps_ip4_t src = 0;
    struct ps_iface *ifc;
    int rc = pick_source(s, ep->laddr, addr, &src, &ifc);
    if (rc != 0)
        return rc;
    return ps_ports_connect(s, ep, src, addr, port);
}

ssize_t ps_udp_sendto(struct ps_stack *s, struct ps_udp_pcb *pcb, const void *buf, size_t len,
                      const struct ps_sockaddr_in *to)
{
    struct ps_endpoint *ep = &pcb->ep;
    int rc = ps_udp_take_error(pcb);
    if (rc)
        return -rc;
    if (pcb->shut_wr)
        return -EPIPE;
    ps_ip4_t dst;
    uint16_t dport;
    if (to) { /* Linux lets a connected socket name another peer */
        dst = to->addr;
        dport = to->port;
        if (dst == 0 || dport == 0)
            return -EINVAL;
    } else if (ep->flags & PS_EP_CONNECTED) {
        dst = ep->raddr;
        dport = ep->rport;
    } else {
        return -EDESTADDRREQ;
    }
    if (len > PS_UDP_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (len && !buf)
        return -EINVAL;
    if (any_broadcast(s, dst) && !(ep->flags & PS_EP_BCAST))
        return -EACCES;
    if (!(ep->flags & PS_EP_BOUND)) {
        rc = ps_ports_bind(s, ep, 0, 0);
        if (rc != 0)
            return rc;
    }
    ps_ip4_t src = 0;
    struct ps_iface *ifc;
    rc = pick_source(s, ep->laddr, dst, &src, &ifc);
    if (rc != 0)
        return rc;
    struct ps_pbuf *p = ps_pbuf_alloc(s, PS_UDP_HLEN + len);
    if (!p)
        return -ENOBUFS;
    if (len)
        memcpy(p->data + PS_UDP_HLEN, buf, len); /* the one copy */
    struct ps_udp_hdr uh = {.sport = ep->lport, .dport = dport};
    ps_udp_emit(p->data, &uh, src, dst, len);
    /* DF stays clear: a datagram bigger than the MTU is fragmented. */
    struct ps_ip_tx tx = {.src = src, .dst = dst, .proto = PS_IP_PROTO_UDP, .ttl = pcb->ttl, .ifc = ifc};
    rc = ps_ip_output(s, p, &tx);
    if (rc != 0)
        return rc;
    PS_STAT_INC(s, udp_tx);
    return (ssize_t)len;
}

/* ---- receive queue -------------------------------------------------------------- */

ssize_t ps_udp_recvfrom(struct ps_stack *s, struct ps_udp_pcb *pcb, void *buf, size_t len, int flags,
                        struct ps_sockaddr_in *from)
{
    int err = ps_udp_take_error(pcb);
    if (err)
        return -err;
    struct ps_pbuf *p = pcb->rq_head;
    if (!p)
        return pcb->shut_rd ? 0 : -EAGAIN;
    size_t plen = p->len - PS_UDP_HLEN;
    size_t n = plen < len ? plen : len;
    if (n)
        memcpy(buf, p->data + PS_UDP_HLEN, n);
    if (from) {
        from->addr = p->tag;
        from->port = ps_get16(p->data);
    }
    if (!(flags & PS_MSG_PEEK)) {
        pcb->rq_head = p->next;
        if (!pcb->rq_head)
            pcb->rq_tail = NULL;
        pcb->rq_count--;
        pcb->rq_bytes -= plen;
        ps_pbuf_free(s, p);
    }
    return (ssize_t)((flags & PS_MSG_TRUNC) ? plen : n);
}

/* Queue datagram p (data at its UDP header) from src; owns p.  The queue
 * is bounded by datagrams and by payload bytes, but an empty queue takes
 * one datagram of any size so that a small SO_RCVBUF never starves a
 * socket (Linux admits the same way). */
static bool enqueue(struct ps_stack *s, struct ps_udp_pcb *pcb, struct ps_pbuf *p, ps_ip4_t src)
{
    size_t plen = p->len - PS_UDP_HLEN;
    if (pcb->shut_rd || pcb->rq_count >= s->cfg.udp_rcvq_max ||
        (pcb->rq_count > 0 && pcb->rq_bytes + plen > pcb->rcvbuf)) {
        PS_STAT_INC(s, udp_drop_rcvbuf);
        ps_pbuf_free(s, p);
        return false;
    }
    p->next = NULL;
    p->tag = src;
    p->stamp = s->now;
    if (pcb->rq_tail)
        pcb->rq_tail->next = p;
    else
        pcb->rq_head = p;
    pcb->rq_tail = p;
    pcb->rq_count++;
    pcb->rq_bytes += plen;
    PS_STAT_INC(s, udp_delivered);
    return true;
}

/* ---- input ------------------------------------------------------------------------ */

struct bcast {
    struct ps_stack *s;
    struct ps_pbuf *p;
    ps_ip4_t src;
    struct ps_udp_pcb *last; /* the match that will get p itself */
    unsigned matches;
};

/* Every match but the last gets a copy; nothing here calls back into the
 * application, because the ports tables are being walked. */
static int bcast_match(void *ctx, struct ps_endpoint *ep)
{
    struct bcast *b = ctx;
    if (b->last) {
        struct ps_pbuf *c = ps_pbuf_alloc(b->s, b->p->len);
        if (c) {
            memcpy(c->data, b->p->data, b->p->len);
            c->iface = b->p->iface;
            c->flags = b->p->flags;
            if (enqueue(b->s, b->last, c, b->src))
                b->last->mark = MARK_QUEUED;
        }
    }
    b->last = pcb_of(ep);
    b->matches++;
    return 0;
}

#define NOTIFY_BATCH 32

struct notify_batch {
    unsigned n;
    struct ps_udp_pcb *pcb[NOTIFY_BATCH];
};

static int collect_queued(void *ctx, struct ps_endpoint *ep)
{
    struct notify_batch *b = ctx;
    struct ps_udp_pcb *pcb = pcb_of(ep);
    if (pcb->mark != MARK_QUEUED)
        return 0;
    pcb->mark = MARK_NOTIFY;
    b->pcb[b->n++] = pcb;
    return b->n == NOTIFY_BATCH;
}

/* A broadcast: a copy to each matching socket.  The events are raised
 * after the walk, in batches collected afresh each time, because an
 * application's callback may open, bind or close sockets (changing the
 * tables being walked); a socket closed meanwhile has its mark cleared
 * and is skipped. */
static void deliver_broadcast(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip,
                              const struct ps_udp_hdr *uh)
{
    struct bcast b = {.s = s, .p = p, .src = ip->src};
    ps_ports_foreach_match(s, PS_IP_PROTO_UDP, ip->src, uh->sport, ip->dst, uh->dport, bcast_match, &b);
    if (!b.last) {
        PS_STAT_INC(s, udp_drop_broadcast); /* never an ICMP error about a broadcast */
        ps_pbuf_free(s, p);
        return;
    }
    if (enqueue(s, b.last, p, ip->src))
        b.last->mark = MARK_QUEUED;
    for (;;) {
        struct notify_batch nb = {0};
        ps_ports_foreach_match(s, PS_IP_PROTO_UDP, ip->src, uh->sport, ip->dst, uh->dport, collect_queued, &nb);
        if (nb.n == 0)
            return;
        for (unsigned i = 0; i < nb.n; i++) {
            if (nb.pcb[i]->mark != MARK_NOTIFY)
                continue;
            nb.pcb[i]->mark = MARK_NONE;
            notify(s, nb.pcb[i]);
        }
    }
}

void ps_udp_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip)
{
    struct ps_udp_hdr uh;
    PS_STAT_INC(s, udp_rx);
    int rc = ps_udp_parse_ex(p->data, p->len, ip->src, ip->dst, &uh,
                             (p->flags & PS_PBUF_F_CSUM_OK) ? PS_WIRE_NO_CKSUM : 0);
    if (rc < 0) {
        if (rc == PS_WIRE_ECKSUM)
            PS_STAT_INC(s, udp_drop_checksum);
        else
            PS_STAT_INC(s, udp_drop_malformed);
        ps_pbuf_free(s, p);
        return;
    }
    ps_pbuf_trim(p, uh.len); /* bytes past the UDP length are not the datagram's */
    bool ip_bcast = ip->dst == PS_IP4_BROADCAST || (p->iface && ps_ipv4_is_broadcast(p->iface, ip->dst));
    if (ip_bcast) {
        deliver_broadcast(s, p, ip, &uh);
        return;
    }
    struct ps_endpoint *ep = ps_ports_lookup(s, PS_IP_PROTO_UDP, ip->src, uh.sport, ip->dst, uh.dport);
    if (!ep) {
        /* RFC 1122 3.2.2: no ICMP error about a link-level broadcast either
         * (ps_icmp_send_error sees only the IP header). */
        if (p->flags & PS_PBUF_F_LINK_BCAST) {
            PS_STAT_INC(s, udp_drop_broadcast);
        } else {
            PS_STAT_INC(s, udp_drop_no_port);
            ps_icmp_send_error(s, p->data - ip->hlen, p->len + ip->hlen, PS_ICMP_DEST_UNREACH,
                               PS_ICMP_UNREACH_PORT, 0, p->iface);
        }
        ps_pbuf_free(s, p);
        return;
    }
    struct ps_udp_pcb *pcb = pcb_of(ep);
    if (enqueue(s, pcb, p, ip->src))
        notify(s, pcb); /* last: the callback may close the socket */
}

/* ---- ICMP errors ------------------------------------------------------------------- */

/* The errno an ICMP error means for a UDP socket, or 0 for the transient
 * ones not reported (time exceeded, source quench), as Linux does. */
static int icmp_errno(uint8_t type, uint8_t code)
{
    if (type == PS_ICMP_PARAM_PROBLEM)
        return EPROTO;
    if (type != PS_ICMP_DEST_UNREACH)
        return 0;
    switch (code) {
    case PS_ICMP_UNREACH_NET:
    case 6:  /* network unknown */
    case 9:  /* network administratively prohibited */
    case 11: /* network unreachable for TOS */
        return ENETUNREACH;
    case PS_ICMP_UNREACH_PROTO:
    case PS_ICMP_UNREACH_PORT:
        return ECONNREFUSED;
    case PS_ICMP_UNREACH_NEEDFRAG:
        return EMSGSIZE;
    default: /* host unreachable, unknown, prohibited, filtered, ... */
        return EHOSTUNREACH;
    }
}

bool ps_udp_icmp_error(struct ps_stack *s, const struct ps_icmp_error *e)
{
    if (e->l4_len < 4)
        return false;
    uint16_t sport = ps_get16(e->l4), dport = ps_get16(e->l4 + 2);
    /* The quoted datagram went from us (e->src:sport) to e->dst:dport:
     * look it up as if it were arriving from the peer. */
    struct ps_endpoint *ep = ps_ports_lookup(s, PS_IP_PROTO_UDP, e->dst, dport, e->src, sport);
    if (!ep)
        return false;
    /* Only a connected socket hears of it (Linux without IP_RECVERR): an
     * unconnected one may be talking to many peers, and one of them
     * refusing says nothing about the rest. */
    if (!(ep->flags & PS_EP_CONNECTED) || ep->raddr != e->dst || ep->rport != dport)
        return true;
    int err = icmp_errno(e->type, e->code);
    if (!err)
        return true;
    struct ps_udp_pcb *pcb = pcb_of(ep);
    pcb->error = err;
    PS_STAT_INC(s, tp_icmp_err_delivered);
    notify(s, pcb);
    return true;
}
