/*
 * Protocol dispatch above IPv4.  UDP and TCP register here in later
 * issues; for now nothing is listening, so IPv4 answers "protocol
 * unreachable" and ICMP errors are counted as unmatched.
 */
#include "transport/transport.h"

#include "core/stack_impl.h"

bool ps_transport_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip)
{
    (void)s;
    (void)p;
    (void)ip;
    return false;
}

void ps_transport_icmp_error(struct ps_stack *s, const struct ps_icmp_error *e)
{
    (void)e;
    PS_STAT_INC(s, tp_icmp_err_unmatched);
}
