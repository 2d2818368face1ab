/*
 * portstack/dhcp_server.h - a DHCPv4 server (RFC 2131, options RFC 2132)
 * for one subnet, on the socket API.
 *
 * It leases addresses from a small pool, one per client (known by its
 * client identifier, option 61, or else by its hardware address):
 *   DISCOVER -> OFFER: the client's current or last address if it is
 *     free, else the address it asks for (option 50) if free, else a
 *     never-used one, else the one free longest; nothing when the pool is
 *     empty.  The offer holds the address PS_DHCPD_OFFER_HOLD_S.
 *   REQUEST  -> ACK or NAK, in each client state of RFC 2131 4.3.2:
 *     selecting (our server identifier: ACK the address we offered, NAK
 *     another; another server's identifier: withdraw our offer, say
 *     nothing), init-reboot (ACK the client's own lease, NAK an address
 *     off our subnet or someone else's, silence when we know nothing of
 *     it), renewing and rebinding (extend the client's lease, NAK an
 *     address of our pool that is not its).
 *   DECLINE: the address is in use by someone else: held back for
 *     PS_DHCPD_DECLINE_HOLD_S.  RELEASE: the lease ends now.  INFORM: an
 *     ACK with the configuration only.
 * A lease not renewed before it runs out expires; the address goes back
 * to the pool (and stays the client's first choice if nobody takes it).
 *
 * Replies go to the client's address (ciaddr) when it has one, else as a
 * broadcast (RFC 2131 4.1 allows it when unicasting to an unconfigured
 * client is not possible, as on a socket API); NAKs are always broadcast.
 * Relayed requests (giaddr set) are not served.
 *
 * The socket is bound to port 67 on all addresses (broadcasts reach only
 * such a socket), so the server serves the one link its stack's limited
 * broadcasts leave by: the stack's first Ethernet interface.  Give that
 * interface the server's address.
 *
 * Host-driven: expiries happen in ps_dhcpd_poll(), at the deadline it
 * returns; requests are answered from the socket's readiness callback.
 */
#ifndef PORTSTACK_DHCP_SERVER_H
#define PORTSTACK_DHCP_SERVER_H

#include "dhcp.h"
#include "types.h"

struct ps_stack;
struct ps_dhcpd;

#ifndef PS_DHCPD_MAX_LEASES
#define PS_DHCPD_MAX_LEASES 64     /* pool addresses; a longer range is cut */
#endif
#ifndef PS_DHCPD_LEASE_S
#define PS_DHCPD_LEASE_S 3600      /* lease time when the config says 0 */
#endif
#ifndef PS_DHCPD_OFFER_HOLD_S
#define PS_DHCPD_OFFER_HOLD_S 60   /* an offer not requested is withdrawn */
#endif
#ifndef PS_DHCPD_DECLINE_HOLD_S
#define PS_DHCPD_DECLINE_HOLD_S 600 /* a declined address rests this long */
#endif

struct ps_dhcpd_config {
    ps_ip4_t server;               /* our address: the server identifier (required) */
    uint8_t prefix;                /* the subnet's prefix length (1..30) */
    ps_ip4_t pool_first, pool_last; /* inclusive, in the subnet; the server's,
                                     * network and broadcast addresses are skipped */
    ps_ip4_t router;               /* option 3; 0 = none */
    ps_ip4_t dns[PS_DHCP_MAX_DNS]; /* option 6 */
    unsigned ndns;
    uint32_t lease_s;              /* 0 = PS_DHCPD_LEASE_S; T1 and T2 are 1/2 and 7/8 of it */
};

enum ps_dhcpd_lease_state {
    PS_DHCPD_FREE = 0, /* never leased, released or expired */
    PS_DHCPD_OFFERED,  /* held for a client's REQUEST */
    PS_DHCPD_BOUND,    /* leased */
    PS_DHCPD_DECLINED, /* a client found it in use: resting */
};

/* One pool address, as ps_dhcpd_foreach() and the event callback see it. */
struct ps_dhcpd_lease {
    ps_ip4_t addr;
    enum ps_dhcpd_lease_state state;
    ps_mac_t mac;       /* the client's (or the last client's) hardware address */
    ps_time_t expires;  /* stack time the offer, lease or rest ends (FREE: 0) */
};

/* What happened to a lease, for a host that narrates or logs. */
enum ps_dhcpd_event {
    PS_DHCPD_EV_OFFER,   /* offered to a client */
    PS_DHCPD_EV_ACK,     /* leased or extended */
    PS_DHCPD_EV_NAK,     /* a request refused (lease: the address asked for, mac: the client's) */
    PS_DHCPD_EV_RELEASE, /* given back by the client */
    PS_DHCPD_EV_DECLINE, /* found in use */
    PS_DHCPD_EV_EXPIRE,  /* an offer or lease ran out */
};
typedef void (*ps_dhcpd_event_fn)(void *ctx, enum ps_dhcpd_event ev, const struct ps_dhcpd_lease *lease);

struct ps_dhcpd_stats {
    uint64_t discovers, requests, declines, releases, informs; /* received */
    uint64_t offers, acks, naks;                               /* sent */
    uint64_t expired;        /* offers and leases that ran out */
    uint64_t pool_exhausted; /* DISCOVERs left unanswered: no free address */
    uint64_t ignored;        /* requests for another server, or about unknown leases */
    uint64_t dropped;        /* malformed, not a request, relayed (giaddr), or unsendable */
};

/* Serve the pool in cfg (copied).  Returns NULL with *err set: -EINVAL
 * (no server address, a bad prefix, or a pool that is empty or off the
 * server's subnet), -ENOMEM, or what socket() and bind() said
 * (-EADDRINUSE if port 67 is taken). */
struct ps_dhcpd *ps_dhcpd_start(struct ps_stack *s, const struct ps_dhcpd_config *cfg, int *err);

/* Called on every lease event (NULL to stop). */
void ps_dhcpd_set_callback(struct ps_dhcpd *d, ps_dhcpd_event_fn fn, void *ctx);

/* Expire what is due; returns the next deadline (PS_TIME_NEVER if none). */
ps_time_t ps_dhcpd_poll(struct ps_dhcpd *d, ps_time_t now);

/* Visit every pool address in order; stops when fn returns non-zero. */
void ps_dhcpd_foreach(const struct ps_dhcpd *d, int (*fn)(void *ctx, const struct ps_dhcpd_lease *l), void *ctx);

/* Addresses in the pool, and how many are leased (BOUND) now. */
unsigned ps_dhcpd_pool_size(const struct ps_dhcpd *d);
unsigned ps_dhcpd_leased(const struct ps_dhcpd *d);

const struct ps_dhcpd_stats *ps_dhcpd_stats(const struct ps_dhcpd *d);

/* Close the socket and free the server (leases are forgotten). */
void ps_dhcpd_stop(struct ps_dhcpd *d);

/* The names of states and events ("BOUND", "ACK", ...). */
const char *ps_dhcpd_state_name(enum ps_dhcpd_lease_state st);
const char *ps_dhcpd_event_name(enum ps_dhcpd_event ev);

#endif
