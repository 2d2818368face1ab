/*
 * The transport layer's front door: set-up, protocol dispatch above IPv4,
 * and ICMP errors matched to the endpoint that caused them.
 */
#include "transport/transport.h"

#include "core/stack_impl.h"
#include "transport/ports.h"

int ps_transport_init(struct ps_stack *s)
{
    return ps_ports_init(s);
}

void ps_transport_fini(struct ps_stack *s)
{
    ps_ports_fini(s);
}

bool ps_transport_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip)
{
    (void)s;
    (void)p;
    (void)ip;
    /* UDP and TCP take their segments here once they exist; until then
     * IPv4 answers "protocol unreachable". */
    return false;
}

void ps_transport_icmp_error(struct ps_stack *s, const struct ps_icmp_error *e)
{
    (void)e;
    PS_STAT_INC(s, tp_icmp_err_unmatched);
}
