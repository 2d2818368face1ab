/*
 * Internal state of the network layer: interfaces, routes, the ARP cache,
 * IPv4 reassembly and ICMP.  Only src/net and src/core include this.
 */
#ifndef PS_NET_IMPL_H
#define PS_NET_IMPL_H

#include <portstack/net.h>
#include <portstack/pbuf.h>
#include <portstack/wire.h>

#include "core/timer.h"

struct ps_iface_addr {
    ps_ip4_t addr;
    uint8_t prefix;
};

struct ps_iface {
    struct ps_stack *stack;
    unsigned index;
    char name[PS_IFNAMSIZ];
    enum ps_iface_kind kind;
    ps_mac_t mac;
    uint16_t mtu;
    bool up;
    ps_transmit_fn transmit;
    ps_transmit_gso_fn transmit_gso; /* TSO; NULL = none */
    void *tx_ctx;
    ps_capture_fn capture;
    void *capture_ctx;
    unsigned naddr;
    struct ps_iface_addr addr[PS_MAX_ADDRS_PER_IFACE];
};

struct ps_route {
    ps_ip4_t dst;     /* network, already masked */
    uint8_t prefix;
    ps_ip4_t gateway; /* 0: on-link */
    struct ps_iface *ifc;
    bool connected;   /* added with an address; removed with it */
};

struct ps_arp_entry {
    enum ps_arp_state state;
    bool is_static;
    ps_ip4_t ip;
    ps_mac_t mac;
    struct ps_iface *ifc;
    struct ps_timer timer;  /* retry, expiry or failure hold */
    ps_time_t last_used;
    unsigned retries;       /* requests sent while incomplete or refreshing */
    bool refreshing;        /* resolved but expired: re-asking, still in use */
    struct ps_pbuf *q_head, *q_tail; /* IPv4 packets waiting */
    unsigned qlen;
    int32_t chain;          /* next entry index in its hash bucket, -1 ends */
};

struct ps_arp_cache {
    struct ps_arp_entry *entries;
    unsigned size;
    int32_t *buckets;       /* head entry index per bucket, -1 empty */
    unsigned nbuckets;      /* power of two */
    int32_t free_head;      /* free entries chained through chain */
};

struct ps_reasm {
    bool used;
    ps_ip4_t src, dst;
    uint16_t id;
    uint8_t proto;
    struct ps_iface *ifc;
    struct ps_pbuf *frags;  /* sorted by offset (pbuf->tag), data = IP payload */
    unsigned nfrags;
    uint32_t total;         /* payload length, known once the last fragment came */
    uint32_t have;          /* payload bytes held */
    uint8_t hdr[PS_IPV4_MAX_HLEN]; /* header of the first fragment */
    uint8_t hlen;           /* 0 until the first fragment came */
    uint64_t born;          /* creation order: the oldest is evicted first */
    struct ps_timer timer;
};

struct ps_net {
    struct ps_iface ifaces[PS_MAX_IFACES];
    unsigned nifaces;
    struct ps_route *routes;
    unsigned nroutes;
    struct ps_arp_cache arp;
    struct ps_reasm *reasm;
    unsigned reasm_pbufs;   /* buffers held by all reassemblies */
    uint16_t ipid[PS_IPID_BUCKETS];
    struct ps_pbuf *loop_head, *loop_tail;
    unsigned loop_len;
    /* ICMP output token bucket, in millitokens. */
    uint64_t icmp_tokens;
    ps_time_t icmp_refill;
    ps_echo_fn echo_fn;
    void *echo_ctx;
};

/* Set up and tear down (called by the stack core). */
int ps_net_init(struct ps_stack *s);
void ps_net_fini(struct ps_stack *s);
/* Deliver what waits on the loopback path (called from ps_stack_poll). */
void ps_net_poll(struct ps_stack *s);

/* ARP: a received ARP packet (p->data at the ARP header). */
void ps_arp_input(struct ps_stack *s, struct ps_iface *ifc, struct ps_pbuf *p);
/* Send IPv4 packet p (p->data at the IP header) to next_hop on ifc,
 * resolving the hardware address first if needed.  Owns p.  Returns 0,
 * -ENOBUFS or -EHOSTUNREACH. */
int ps_arp_output(struct ps_stack *s, struct ps_iface *ifc, ps_ip4_t next_hop, struct ps_pbuf *p);
int ps_arp_init(struct ps_stack *s);
void ps_arp_fini(struct ps_stack *s);

/* Ethernet: frame p out of ifc to dst with type; owns p. */
int ps_eth_output(struct ps_stack *s, struct ps_iface *ifc, const ps_mac_t *dst, uint16_t type,
                  struct ps_pbuf *p);
/* Hand a finished frame to the driver (and the capture hook); owns p. */
int ps_link_transmit(struct ps_stack *s, struct ps_iface *ifc, struct ps_pbuf *p);

/* IPv4 input: p->data at the IP header, p->iface set.  Owns p. */
void ps_ipv4_input(struct ps_stack *s, struct ps_pbuf *p);
/* Send a complete IPv4 packet (header built, p->data at it) out of ifc to
 * next_hop, fragmenting if it exceeds the MTU.  Owns p. */
int ps_ipv4_send_packet(struct ps_stack *s, struct ps_iface *ifc, ps_ip4_t next_hop, struct ps_pbuf *p);
/* Next IP ID for a datagram from src to dst (RFC 7739 per-bucket counters). */
uint16_t ps_ipv4_next_id(struct ps_stack *s, ps_ip4_t src, ps_ip4_t dst, uint8_t proto);
/* Is dst a broadcast address for ifc (limited, or directed to one of its
 * subnets)? */
bool ps_ipv4_is_broadcast(const struct ps_iface *ifc, ps_ip4_t dst);

/* Send IPv4 packet p to the link-layer address dst on ifc, fragmenting it
 * when it exceeds the MTU.  Owns p. */
int ps_ipv4_link_send(struct ps_stack *s, struct ps_iface *ifc, const ps_mac_t *dst, struct ps_pbuf *p);
/* Fragmentation: split packet p (header at p->data) to fit ifc's MTU and
 * send each fragment to dst.  Owns p. */
int ps_ipv4_fragment(struct ps_stack *s, struct ps_iface *ifc, const ps_mac_t *dst, struct ps_pbuf *p);

/* Reassembly: a fragment (header at p->data, parsed as h).  Returns the
 * whole datagram (header at data, fragment fields cleared) once complete,
 * or NULL while waiting or after a drop.  Owns p. */
struct ps_pbuf *ps_reasm_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *h);
int ps_reasm_init(struct ps_stack *s);
void ps_reasm_fini(struct ps_stack *s);

/* ICMP input: p->data at the ICMP header; h is the IP header. Owns p. */
void ps_icmp_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip);
/* Send an ICMP error about the datagram whose IP header starts at orig
 * (orig_len bytes available), subject to RFC 1122 3.2.2 and the rate
 * limit.  `mtu` is for fragmentation-needed. */
void ps_icmp_send_error(struct ps_stack *s, const uint8_t *orig, size_t orig_len, uint8_t type,
                        uint8_t code, uint16_t mtu, const struct ps_iface *in_ifc);

#endif
