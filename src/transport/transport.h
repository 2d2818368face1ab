/*
 * The transport layer's entry points, as the network layer calls them.
 *
 * UDP (udp.c) and TCP (tcp*.c) hang here: one ports module owns binding,
 * ephemeral picking and the quadruple demux for both.
 */
#ifndef PS_TRANSPORT_H
#define PS_TRANSPORT_H

#include <portstack/net.h>
#include <portstack/wire.h>

/* Set up / tear down the transport layer (ports, UDP, sockets). */
int ps_transport_init(struct ps_stack *s);
void ps_transport_fini(struct ps_stack *s);

/* Free what the transport and socket layers released during the last host
 * call (see ps_sockets_reap); the stack calls it as a host call begins. */
void ps_transport_reap(struct ps_stack *s);

/* Hand up a TCP or UDP segment (p->data at the transport header; the IP
 * header ip is still in the buffer just before it).  Returns true if a
 * protocol took p; false leaves p (and the ICMP answer) to the caller. */
bool ps_transport_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip);

/* An ICMP error about a datagram of ours, to be matched by its quoted
 * header to the endpoint that sent it. */
void ps_transport_icmp_error(struct ps_stack *s, const struct ps_icmp_error *e);

#endif
