/*
 * portstack/dhcp.h - a DHCPv4 client (RFC 2131, options RFC 2132) on the
 * socket API: discover/offer/request/ack, renewal at T1 (unicast to the
 * server), rebinding at T2 (broadcast), and expiry.  On ACK it applies the
 * address, prefix and router to the interface and keeps the DNS servers
 * for a resolver to read.
 *
 * Host-driven like the stack: call ps_dhcp_poll() at the deadline it
 * returns; replies arrive through a socket callback.
 */
#ifndef PORTSTACK_DHCP_H
#define PORTSTACK_DHCP_H

#include "types.h"

struct ps_stack;
struct ps_iface;
struct ps_dhcp;

/* DHCP's ports (RFC 2131 4.1). */
#define PS_DHCP_SERVER_PORT 67
#define PS_DHCP_CLIENT_PORT 68
/* DNS servers remembered from a lease. */
#define PS_DHCP_MAX_DNS 3
/* Retransmission: RFC 2131 4.1 doubles from 4 s up to 64 s, +-1 s. */
#ifndef PS_DHCP_RETRY_MIN_MS
#define PS_DHCP_RETRY_MIN_MS 4000
#endif
#ifndef PS_DHCP_RETRY_MAX_MS
#define PS_DHCP_RETRY_MAX_MS 64000
#endif

enum ps_dhcp_state {
    PS_DHCP_INIT = 0,
    PS_DHCP_SELECTING,  /* DISCOVER sent, waiting for an OFFER */
    PS_DHCP_REQUESTING, /* REQUEST sent, waiting for the ACK */
    PS_DHCP_BOUND,
    PS_DHCP_RENEWING,   /* past T1: asking the server that leased */
    PS_DHCP_REBINDING,  /* past T2: asking anyone */
    PS_DHCP_STOPPED,
};

struct ps_dhcp_lease {
    ps_ip4_t addr;
    uint8_t prefix;
    ps_ip4_t router;        /* 0 if none */
    ps_ip4_t server;        /* server identifier */
    ps_ip4_t dns[PS_DHCP_MAX_DNS];
    unsigned ndns;
    uint32_t lease_s, t1_s, t2_s;
    ps_time_t acquired;     /* stack time of the ACK */
};

/* Called on every state change (may be NULL). */
typedef void (*ps_dhcp_event_fn)(void *ctx, enum ps_dhcp_state state, const struct ps_dhcp_lease *lease);

/* Start the client on interface ifc (whose MAC is the client's hardware
 * address).  Returns NULL with *err set (-EADDRINUSE if port 68 is taken,
 * -ENOMEM, ...). */
struct ps_dhcp *ps_dhcp_start(struct ps_stack *s, struct ps_iface *ifc, ps_dhcp_event_fn fn, void *ctx, int *err);

/* Send what is due; returns the next deadline. */
ps_time_t ps_dhcp_poll(struct ps_dhcp *c, ps_time_t now);

enum ps_dhcp_state ps_dhcp_state(const struct ps_dhcp *c);
const char *ps_dhcp_state_name(enum ps_dhcp_state st);

/* The current lease (valid in BOUND, RENEWING, REBINDING), or NULL. */
const struct ps_dhcp_lease *ps_dhcp_lease(const struct ps_dhcp *c);

/* Stop: release the lease (DHCPRELEASE) if bound, remove the address, close
 * the socket and free the client. */
void ps_dhcp_stop(struct ps_dhcp *c);

#endif
