/*
 * The routing table: connected routes (added with addresses) and gateway
 * routes, longest-prefix match.  The table is small and bounded
 * (route_max), so a linear scan is both simplest and fastest here.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"

/* Does ifc have an address whose subnet holds ip? */
static bool on_link(const struct ps_iface *ifc, ps_ip4_t ip, ps_ip4_t *src)
{
    for (unsigned i = 0; i < ifc->naddr; i++) {
        ps_ip4_t m = ps_ip4_mask(ifc->addr[i].prefix);
        if ((ifc->addr[i].addr & m) == (ip & m)) {
            if (src)
                *src = ifc->addr[i].addr;
            return true;
        }
    }
    return false;
}

int ps_route_add(struct ps_stack *s, ps_ip4_t dst, uint8_t prefix, ps_ip4_t gateway, struct ps_iface *ifc)
{
    struct ps_net *n = &s->net;
    if (prefix > 32 || !ifc)
        return -EINVAL;
    dst &= ps_ip4_mask(prefix);
    if (gateway && !on_link(ifc, gateway, NULL))
        return -EINVAL;
    for (unsigned i = 0; i < n->nroutes; i++)
        if (n->routes[i].dst == dst && n->routes[i].prefix == prefix)
            return -EEXIST;
    if (n->nroutes >= s->cfg.route_max)
        return -ENOSPC;
    struct ps_route *r = &n->routes[n->nroutes++];
    memset(r, 0, sizeof(*r));
    r->dst = dst;
    r->prefix = prefix;
    r->gateway = gateway;
    r->ifc = ifc;
    return 0;
}

int ps_route_del(struct ps_stack *s, ps_ip4_t dst, uint8_t prefix)
{
    struct ps_net *n = &s->net;
    if (prefix > 32)
        return -EINVAL;
    dst &= ps_ip4_mask(prefix);
    for (unsigned i = 0; i < n->nroutes; i++) {
        if (n->routes[i].dst == dst && n->routes[i].prefix == prefix) {
            memmove(&n->routes[i], &n->routes[i + 1], (n->nroutes - i - 1) * sizeof(n->routes[0]));
            n->nroutes--;
            return 0;
        }
    }
    return -ENOENT;
}

int ps_route_lookup(struct ps_stack *s, ps_ip4_t dst, struct ps_iface **ifc, ps_ip4_t *next_hop,
                    ps_ip4_t *src)
{
    struct ps_net *n = &s->net;
    const struct ps_route *best = NULL;
    for (unsigned i = 0; i < n->nroutes; i++) {
        const struct ps_route *r = &n->routes[i];
        if (!r->ifc->up || (dst & ps_ip4_mask(r->prefix)) != r->dst)
            continue;
        if (!best || r->prefix > best->prefix)
            best = r;
    }
    if (!best)
        return -ENETUNREACH;
    ps_ip4_t hop = best->gateway ? best->gateway : dst;
    if (ifc)
        *ifc = best->ifc;
    if (next_hop)
        *next_hop = hop;
    if (src) {
        /* Prefer the address on the next hop's subnet (RFC 1122 3.3.4.3);
         * otherwise the interface's first address. */
        ps_ip4_t a = 0;
        if (!on_link(best->ifc, hop, &a) && best->ifc->naddr)
            a = best->ifc->addr[0].addr;
        *src = a;
    }
    return 0;
}

void ps_route_print(struct ps_stack *s, FILE *out)
{
    struct ps_net *n = &s->net;
    char a[PS_IP4_STRLEN], g[PS_IP4_STRLEN];
    for (unsigned i = 0; i < n->nroutes; i++) {
        const struct ps_route *r = &n->routes[i];
        if (r->gateway)
            fprintf(out, "    %s/%u via %s dev %s\n", ps_ip4_ntoa(r->dst, a), r->prefix,
                    ps_ip4_ntoa(r->gateway, g), r->ifc->name);
        else
            fprintf(out, "    %s/%u dev %s%s\n", ps_ip4_ntoa(r->dst, a), r->prefix, r->ifc->name,
                    r->connected ? " (connected)" : "");
    }
}
