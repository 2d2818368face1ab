/*
 * Interfaces: creation, addresses, the link-layer entry point for received
 * frames and the exit point for sent ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"
#include "transport/transport.h"

static struct ps_iface *iface_new(struct ps_stack *s, const char *name, enum ps_iface_kind kind,
                                  uint16_t mtu)
{
    struct ps_net *n = &s->net;
    if (n->nifaces >= PS_MAX_IFACES || !name || mtu < 68)
        return NULL;
    struct ps_iface *ifc = &n->ifaces[n->nifaces];
    memset(ifc, 0, sizeof(*ifc));
    ifc->stack = s;
    ifc->index = n->nifaces++;
    size_t len = strlen(name);
    if (len >= sizeof(ifc->name))
        len = sizeof(ifc->name) - 1;
    memcpy(ifc->name, name, len);
    ifc->kind = kind;
    ifc->mtu = mtu;
    ifc->up = true;
    return ifc;
}

int ps_net_init(struct ps_stack *s)
{
    struct ps_net *n = &s->net;
    n->routes = calloc(s->cfg.route_max, sizeof(*n->routes));
    if (!n->routes)
        return -ENOMEM;
    if (ps_arp_init(s) != 0 || ps_reasm_init(s) != 0)
        return -ENOMEM;
    for (unsigned i = 0; i < PS_IPID_BUCKETS; i++)
        n->ipid[i] = (uint16_t)ps_stack_random(s);
    n->icmp_tokens = (uint64_t)s->cfg.icmp_burst * 1000u;
    n->icmp_refill = s->now;
    /* The loopback interface: 127.0.0.1/8, and the path every packet to one
     * of the stack's own addresses takes. */
    struct ps_iface *lo = iface_new(s, "lo", PS_IFACE_LOOPBACK, 65535);
    if (!lo || ps_iface_add_addr(lo, PS_IP4(127, 0, 0, 1), 8) != 0)
        return -ENOMEM;
    return 0;
}

void ps_net_fini(struct ps_stack *s)
{
    struct ps_net *n = &s->net;
    ps_pbuf_free_list(s, n->loop_head);
    n->loop_head = n->loop_tail = NULL;
    ps_reasm_fini(s);
    ps_arp_fini(s);
    free(n->routes);
    n->routes = NULL;
}

void ps_net_poll(struct ps_stack *s)
{
    struct ps_net *n = &s->net;
    /* Only what is queued now: packets looped while delivering these wait
     * for the next poll, so a ping-pong on loopback cannot spin here. */
    struct ps_pbuf *p = n->loop_head;
    n->loop_head = n->loop_tail = NULL;
    n->loop_len = 0;
    while (p) {
        struct ps_pbuf *next = p->next;
        p->next = NULL;
        ps_ipv4_input(s, p);
        p = next;
    }
}

struct ps_iface *ps_iface_add(struct ps_stack *s, const char *name, const ps_mac_t *mac, uint16_t mtu,
                              ps_transmit_fn transmit, void *ctx)
{
    if (!mac || !transmit || mtu > PS_PBUF_SMALL_SIZE - PS_PBUF_HEADROOM - PS_ETH_HLEN)
        return NULL;
    struct ps_iface *ifc = iface_new(s, name, PS_IFACE_ETHERNET, mtu);
    if (!ifc)
        return NULL;
    ifc->mac = *mac;
    ifc->transmit = transmit;
    ifc->tx_ctx = ctx;
    return ifc;
}

int ps_iface_add_addr(struct ps_iface *ifc, ps_ip4_t addr, uint8_t prefix)
{
    if (prefix > 32 || addr == 0 || addr == PS_IP4_BROADCAST || ps_ip4_is_multicast(addr))
        return -EINVAL;
    struct ps_stack *s = ifc->stack;
    for (unsigned i = 0; i < s->net.nifaces; i++)
        for (unsigned j = 0; j < s->net.ifaces[i].naddr; j++)
            if (s->net.ifaces[i].addr[j].addr == addr)
                return -EEXIST;
    if (ifc->naddr >= PS_MAX_ADDRS_PER_IFACE)
        return -ENOSPC;
    ifc->addr[ifc->naddr].addr = addr;
    ifc->addr[ifc->naddr].prefix = prefix;
    ifc->naddr++;
    int rc = ps_route_add(s, addr & ps_ip4_mask(prefix), prefix, 0, ifc);
    if (rc == 0)
        s->net.routes[s->net.nroutes - 1].connected = true;
    else if (rc != -EEXIST) {
        ifc->naddr--;
        return rc;
    }
    return 0;
}

int ps_iface_del_addr(struct ps_iface *ifc, ps_ip4_t addr)
{
    for (unsigned i = 0; i < ifc->naddr; i++) {
        if (ifc->addr[i].addr != addr)
            continue;
        uint8_t prefix = ifc->addr[i].prefix;
        ifc->addr[i] = ifc->addr[--ifc->naddr];
        /* Keep the connected route while another address shares it. */
        ps_ip4_t net = addr & ps_ip4_mask(prefix);
        for (unsigned j = 0; j < ifc->naddr; j++)
            if (ifc->addr[j].prefix == prefix && (ifc->addr[j].addr & ps_ip4_mask(prefix)) == net)
                return 0;
        ps_route_del(ifc->stack, net, prefix);
        return 0;
    }
    return -ENOENT;
}

void ps_iface_set_capture(struct ps_iface *ifc, ps_capture_fn fn, void *ctx)
{
    ifc->capture = fn;
    ifc->capture_ctx = ctx;
}

void ps_iface_set_up(struct ps_iface *ifc, bool up)
{
    ifc->up = up;
}

void ps_iface_set_tso(struct ps_iface *ifc, ps_transmit_gso_fn fn)
{
    ifc->transmit_gso = fn;
}

bool ps_iface_tso(const struct ps_iface *ifc)
{
    return ifc->transmit_gso != NULL;
}

struct ps_stack *ps_iface_stack(const struct ps_iface *ifc)
{
    return ifc->stack;
}
const char *ps_iface_name(const struct ps_iface *ifc)
{
    return ifc->name;
}
const ps_mac_t *ps_iface_mac(const struct ps_iface *ifc)
{
    return &ifc->mac;
}
uint16_t ps_iface_mtu(const struct ps_iface *ifc)
{
    return ifc->mtu;
}
enum ps_iface_kind ps_iface_kind(const struct ps_iface *ifc)
{
    return ifc->kind;
}

bool ps_iface_addr(const struct ps_iface *ifc, unsigned i, ps_ip4_t *addr, uint8_t *prefix)
{
    if (i >= ifc->naddr)
        return false;
    if (addr)
        *addr = ifc->addr[i].addr;
    if (prefix)
        *prefix = ifc->addr[i].prefix;
    return true;
}

unsigned ps_iface_count(const struct ps_stack *s)
{
    return s->net.nifaces;
}

struct ps_iface *ps_iface_get(struct ps_stack *s, unsigned i)
{
    return i < s->net.nifaces ? &s->net.ifaces[i] : NULL;
}

struct ps_iface *ps_iface_by_name(struct ps_stack *s, const char *name)
{
    for (unsigned i = 0; i < s->net.nifaces; i++)
        if (strcmp(s->net.ifaces[i].name, name) == 0)
            return &s->net.ifaces[i];
    return NULL;
}

bool ps_ip_is_local(const struct ps_stack *s, ps_ip4_t addr)
{
    for (unsigned i = 0; i < s->net.nifaces; i++) {
        const struct ps_iface *ifc = &s->net.ifaces[i];
        for (unsigned j = 0; j < ifc->naddr; j++)
            if (ifc->addr[j].addr == addr)
                return true;
    }
    /* All of 127/8 is the host itself (RFC 1122 3.2.1.3). */
    return ps_ip4_is_loopback(addr);
}

/* ---- frames in ------------------------------------------------------------ */

void ps_iface_input(struct ps_iface *ifc, const uint8_t *frame, size_t len, ps_time_t now)
{
    ps_iface_input_ex(ifc, frame, len, now, 0);
}

void ps_iface_input_ex(struct ps_iface *ifc, const uint8_t *frame, size_t len, ps_time_t now, unsigned flags)
{
    struct ps_stack *s = ifc->stack;
    ps_stack_set_now(s, now);
    size_t max = (flags & PS_RX_GSO) ? PS_PBUF_LARGE_SIZE : PS_PBUF_SMALL_SIZE;
    if (len > max - PS_PBUF_HEADROOM) {
        PS_STAT_INC(s, eth_rx);
        PS_STAT_INC(s, eth_drop_too_long);
        return;
    }
    struct ps_pbuf *p = ps_pbuf_alloc(s, len);
    if (!p) {
        PS_STAT_INC(s, eth_rx);
        return;
    }
    memcpy(p->data, frame, len);
    if (flags & PS_RX_CSUM_OK)
        p->flags |= PS_PBUF_F_CSUM_OK;
    if (flags & PS_RX_GSO)
        p->flags |= PS_PBUF_F_GSO;
    ps_iface_input_pbuf(ifc, p, now);
}

void ps_iface_input_pbuf(struct ps_iface *ifc, struct ps_pbuf *p, ps_time_t now)
{
    struct ps_stack *s = ifc->stack;
    struct ps_eth_hdr eh;
    ps_stack_set_now(s, now);
    ps_transport_reap(s);
    PS_STAT_INC(s, eth_rx);
    if (ifc->capture)
        ifc->capture(ifc->capture_ctx, ifc, PS_DIR_IN, p->data, p->len, s->now);
    if (!ifc->up || ifc->kind != PS_IFACE_ETHERNET) {
        ps_pbuf_free(s, p);
        return;
    }
    int rc = ps_eth_parse(p->data, p->len, &eh);
    if (rc < 0) {
        /* Only a runt is short; an 802.3 length field (LLC frames such as
         * STP) is a frame type we do not speak. */
        if (rc == PS_WIRE_ETRUNC)
            PS_STAT_INC(s, eth_drop_short);
        else
            PS_STAT_INC(s, eth_drop_type);
        ps_pbuf_free(s, p);
        return;
    }
    if (p->len > (size_t)ifc->mtu + PS_ETH_HLEN && !(p->flags & PS_PBUF_F_GSO)) {
        PS_STAT_INC(s, eth_drop_too_long);
        ps_pbuf_free(s, p);
        return;
    }
    if (ps_mac_is_broadcast(&eh.dst)) {
        p->flags |= PS_PBUF_F_LINK_BCAST;
    } else if (!ps_mac_equal(&eh.dst, &ifc->mac)) {
        /* Another host's unicast, or a multicast group we have not joined. */
        PS_STAT_INC(s, eth_drop_other_mac);
        ps_pbuf_free(s, p);
        return;
    }
    p->iface = ifc;
    ps_pbuf_pull(p, PS_ETH_HLEN);
    switch (eh.type) {
    case PS_ETHERTYPE_IPV4:
        ps_ipv4_input(s, p);
        break;
    case PS_ETHERTYPE_ARP:
        ps_arp_input(s, ifc, p);
        break;
    default:
        PS_STAT_INC(s, eth_drop_type);
        ps_pbuf_free(s, p);
        break;
    }
}

/* ---- frames out ----------------------------------------------------------- */

int ps_link_transmit(struct ps_stack *s, struct ps_iface *ifc, struct ps_pbuf *p)
{
    int rc = -ENETDOWN;
    if (ifc->up) {
        if (ifc->capture)
            ifc->capture(ifc->capture_ctx, ifc, PS_DIR_OUT, p->data, p->len, s->now);
        if (p->gso_size && ifc->transmit_gso)
            rc = ifc->transmit_gso(ifc->tx_ctx, ifc, p->data, p->len, p->gso_size);
        else
            rc = ifc->transmit(ifc->tx_ctx, ifc, p->data, p->len);
    }
    if (rc < 0)
        PS_STAT_INC(s, eth_tx_err);
    else
        PS_STAT_INC(s, eth_tx);
    ps_pbuf_free(s, p);
    return rc < 0 ? rc : 0;
}

int ps_eth_output(struct ps_stack *s, struct ps_iface *ifc, const ps_mac_t *dst, uint16_t type,
                  struct ps_pbuf *p)
{
    uint8_t *h = ps_pbuf_push(p, PS_ETH_HLEN);
    if (!h) {
        ps_pbuf_free(s, p);
        return -ENOBUFS;
    }
    struct ps_eth_hdr eh = {.dst = *dst, .src = ifc->mac, .type = type};
    ps_eth_emit(h, &eh);
    /* Pad runts to the Ethernet minimum, with zeros rather than stale bytes. */
    if (p->len < PS_ETH_MIN_FRAME && ps_pbuf_tailroom(p) >= PS_ETH_MIN_FRAME - p->len) {
        memset(p->data + p->len, 0, PS_ETH_MIN_FRAME - p->len);
        p->len = PS_ETH_MIN_FRAME;
    }
    return ps_link_transmit(s, ifc, p);
}
