/*
 * The transport layer's front door: set-up, protocol dispatch above IPv4,
 * and ICMP errors matched to the endpoint that caused them.
 */
#include "transport/transport.h"

#include "core/stack_impl.h"
#include "socket/sockets.h"
#include "transport/ports.h"
#include "transport/tcp.h"
#include "transport/udp.h"

int ps_transport_init(struct ps_stack *s)
{
    if (ps_ports_init(s) != 0 || ps_tcp_init(s) != 0 || ps_sockets_init(s) != 0)
        return -1;
    return 0;
}

void ps_transport_fini(struct ps_stack *s)
{
    ps_sockets_fini(s);
    ps_tcp_fini(s);
    ps_ports_fini(s);
}

void ps_transport_reap(struct ps_stack *s)
{
    ps_sockets_reap(s);
}

bool ps_transport_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip)
{
    switch (ip->proto) {
    case PS_IP_PROTO_UDP:
        ps_udp_input(s, p, ip);
        return true;
    case PS_IP_PROTO_TCP:
        ps_tcp_input(s, p, ip);
        return true;
    default:
        return false;
    }
}

void ps_transport_icmp_error(struct ps_stack *s, const struct ps_icmp_error *e)
{
    if (e->proto == PS_IP_PROTO_UDP && ps_udp_icmp_error(s, e))
        return;
    if (e->proto == PS_IP_PROTO_TCP && ps_tcp_icmp_error(s, e))
        return;
    PS_STAT_INC(s, tp_icmp_err_unmatched);
}
