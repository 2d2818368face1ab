/*
 * DHCP messages (RFC 2131 section 2, options RFC 2132): pure build and
 * parse, no state, so the parser can be fuzzed on its own.
 */
#ifndef PS_APPS_DHCP_MSG_H
#define PS_APPS_DHCP_MSG_H

#include <portstack/dhcp.h>

#include <stddef.h>
#include <stdint.h>

#define DHCP_FIXED_LEN 236        /* BOOTP header before the cookie */
#define DHCP_MIN_LEN (DHCP_FIXED_LEN + 4)
#define DHCP_MAX_MSG 576          /* what we send; RFC 2131 minimum to accept */
#define DHCP_MAGIC 0x63825363u

/* Message types (option 53). */
enum {
    DHCPDISCOVER = 1, DHCPOFFER, DHCPREQUEST, DHCPDECLINE, DHCPACK, DHCPNAK, DHCPRELEASE, DHCPINFORM
};

/* What a client sends. */
struct dhcp_out {
    uint8_t type;
    uint32_t xid;
    uint16_t secs;
    bool broadcast;     /* ask the server to broadcast its reply */
    ps_ip4_t ciaddr;    /* our address when renewing/rebinding/releasing */
    ps_ip4_t requested; /* option 50, 0 = none */
    ps_ip4_t server;    /* option 54, 0 = none */
    ps_mac_t chaddr;
};

/* A client identifier (option 61) longer than this is cut to it. */
#define DHCP_CLIENT_ID_MAX 32

/* What a server said (or, for a server, what a client asked). */
struct dhcp_in {
    uint8_t op, type;
    uint32_t xid;
    uint16_t flags;     /* bit 15: the client wants a broadcast reply */
    ps_ip4_t ciaddr, yiaddr, giaddr;
    ps_mac_t chaddr;
    ps_ip4_t requested; /* option 50, 0 = absent */
    uint8_t client_id[DHCP_CLIENT_ID_MAX]; /* option 61 */
    uint8_t client_id_len;                 /* 0 = absent */
    ps_ip4_t server;    /* option 54 */
    ps_ip4_t netmask;   /* option 1, 0 = absent */
    ps_ip4_t router;    /* first of option 3 */
    ps_ip4_t dns[PS_DHCP_MAX_DNS];
    unsigned ndns;
    uint32_t lease_s, t1_s, t2_s; /* options 51, 58, 59; 0 = absent */
};

/* Build a client message into buf (at least DHCP_MAX_MSG bytes); returns
 * its length. */
size_t dhcp_build(uint8_t *buf, const struct dhcp_out *m);

/* What a server sends: OFFER, ACK or NAK (RFC 2131 table 3). */
struct dhcp_reply {
    uint8_t type;
    uint32_t xid;
    uint16_t flags;     /* the request's, copied */
    ps_ip4_t ciaddr, yiaddr, giaddr;
    ps_mac_t chaddr;
    ps_ip4_t server;    /* option 54, always sent */
    uint32_t lease_s, t1_s, t2_s;  /* options 51, 58, 59; 0 = left out */
    ps_ip4_t netmask, router;      /* options 1, 3; 0 = left out */
    ps_ip4_t dns[PS_DHCP_MAX_DNS]; /* option 6 */
    unsigned ndns;
    const uint8_t *client_id;      /* option 61, echoed (RFC 6842) */
    uint8_t client_id_len;
};

/* Build a server reply into buf (at least DHCP_MAX_MSG bytes); returns
 * its length. */
size_t dhcp_build_reply(uint8_t *buf, const struct dhcp_reply *m);

/* Parse a message; 0 on success, -1 if malformed (lengths, cookie,
 * option lengths, missing message type). */
int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_in *m);

#endif
