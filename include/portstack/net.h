/*
 * portstack/net.h - the network layer: interfaces, addresses, routes, ARP,
 * IPv4 and ICMP.
 *
 * An interface is the stack's end of a link.  A driver creates it with
 * ps_iface_add(), giving a transmit function the stack calls with each
 * finished frame, and hands every received frame to ps_iface_input().
 */
#ifndef PORTSTACK_NET_H
#define PORTSTACK_NET_H

#include <stdio.h>

#include "config.h"
#include "types.h"

/* Called by the stack to put one finished frame on the link.  The frame is
 * only valid during the call: a driver that queues it must copy it.
 * Return 0 on success or a negative errno (counted as eth_tx_err). */
typedef int (*ps_transmit_fn)(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len);

/* Called by the stack, on an interface with TSO (ps_iface_set_tso), with a
 * TCP super-segment: one Ethernet + IPv4 + TCP frame longer than the MTU
 * whose payload the driver (or the device behind it) cuts into segments of
 * gso_size bytes, each with the same headers and options.  Same rules as
 * ps_transmit_fn. */
typedef int (*ps_transmit_gso_fn)(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len,
                                  uint16_t gso_size);

/* Direction of a captured frame. */
enum ps_dir { PS_DIR_IN = 0, PS_DIR_OUT = 1 };

/* A capture hook (see pcap.h) sees every frame an interface receives or
 * sends, at stack time `now`. */
typedef void (*ps_capture_fn)(void *ctx, struct ps_iface *ifc, enum ps_dir dir, const uint8_t *frame,
                              size_t len, ps_time_t now);

/* Interface kinds. */
enum ps_iface_kind {
    PS_IFACE_ETHERNET = 0, /* Ethernet II framing, ARP */
    PS_IFACE_LOOPBACK = 1, /* raw IPv4 packets, looped back in the stack */
};

/* Add an Ethernet interface.  mtu is the IPv4 MTU (e.g. 1500).  Returns the
 * interface, or NULL when PS_MAX_IFACES are in use or the arguments are bad.
 * The name is copied (truncated to PS_IFNAMSIZ-1). */
struct ps_iface *ps_iface_add(struct ps_stack *s, const char *name, const ps_mac_t *mac, uint16_t mtu,
                              ps_transmit_fn transmit, void *ctx);

/* Hand one received frame to the stack (copied into a buffer before the
 * call returns).  `now` is the host time. */
void ps_iface_input(struct ps_iface *ifc, const uint8_t *frame, size_t len, ps_time_t now);

/* What a driver already knows about a received frame (ps_iface_input_ex). */
#define PS_RX_CSUM_OK 0x01 /* its TCP/UDP checksum is verified (or filled in) */
#define PS_RX_GSO 0x02     /* a TCP super-packet from a local sender: it may be
                            * longer than the MTU (up to 64 KiB of IPv4) */

/* ps_iface_input with PS_RX_* flags, for drivers with offloads (TAP with
 * virtio-net headers).  Only drivers whose peer is trusted (the host's own
 * kernel) may pass them: the stack then skips those checks. */
void ps_iface_input_ex(struct ps_iface *ifc, const uint8_t *frame, size_t len, ps_time_t now,
                       unsigned flags);

/* Take a pbuf filled by the driver (zero-copy receive); the stack owns it
 * afterwards.  Allocate it with ps_pbuf_alloc(s, PS_PBUF_SMALL_SIZE -
 * PS_PBUF_HEADROOM) and set len to the frame length. */
void ps_iface_input_pbuf(struct ps_iface *ifc, struct ps_pbuf *p, ps_time_t now);

/* Add an address with its prefix length; also adds the connected route.
 * Returns 0, -EEXIST, -ENOSPC or -EINVAL. */
int ps_iface_add_addr(struct ps_iface *ifc, ps_ip4_t addr, uint8_t prefix);

/* Remove an address and its connected route.  Returns 0 or -ENOENT. */
int ps_iface_del_addr(struct ps_iface *ifc, ps_ip4_t addr);

/* Attach a capture hook (one per interface; NULL detaches). */
void ps_iface_set_capture(struct ps_iface *ifc, ps_capture_fn fn, void *ctx);

/* Declare that the driver takes TCP super-segments (TCP segmentation
 * offload): TCP connections routed through ifc then send up to
 * PS_TCP_TSO_MAX bytes per frame through fn, and the driver cuts them.
 * NULL turns it off for connections made afterwards. */
void ps_iface_set_tso(struct ps_iface *ifc, ps_transmit_gso_fn fn);

/* Whether ifc takes TCP super-segments. */
bool ps_iface_tso(const struct ps_iface *ifc);

/* Bring the interface up or down (a down interface drops input and output). */
void ps_iface_set_up(struct ps_iface *ifc, bool up);

/* Accessors. */
struct ps_stack *ps_iface_stack(const struct ps_iface *ifc);
const char *ps_iface_name(const struct ps_iface *ifc);
const ps_mac_t *ps_iface_mac(const struct ps_iface *ifc);
uint16_t ps_iface_mtu(const struct ps_iface *ifc);
enum ps_iface_kind ps_iface_kind(const struct ps_iface *ifc);
/* The i-th address (0-based) and its prefix; false past the end. */
bool ps_iface_addr(const struct ps_iface *ifc, unsigned i, ps_ip4_t *addr, uint8_t *prefix);
/* Number of interfaces and the i-th one (the loopback is 0). */
unsigned ps_iface_count(const struct ps_stack *s);
struct ps_iface *ps_iface_get(struct ps_stack *s, unsigned i);
struct ps_iface *ps_iface_by_name(struct ps_stack *s, const char *name);

/* Is addr one of the stack's own unicast addresses? */
bool ps_ip_is_local(const struct ps_stack *s, ps_ip4_t addr);

/* ---- Routes ------------------------------------------------------------ */

/* Add a route: dst/prefix reached through gateway (0 = directly connected)
 * on ifc.  prefix 0 is a default route.  Returns 0, -EEXIST, -ENOSPC,
 * -EINVAL (gateway not on a connected network of ifc). */
int ps_route_add(struct ps_stack *s, ps_ip4_t dst, uint8_t prefix, ps_ip4_t gateway, struct ps_iface *ifc);

/* Delete the route with exactly this dst/prefix.  Returns 0 or -ENOENT. */
int ps_route_del(struct ps_stack *s, ps_ip4_t dst, uint8_t prefix);

/* Longest-prefix match: the interface and next hop toward dst, and the
 * source address the stack would use.  Returns 0 or -ENETUNREACH. */
int ps_route_lookup(struct ps_stack *s, ps_ip4_t dst, struct ps_iface **ifc, ps_ip4_t *next_hop,
                    ps_ip4_t *src);

/* Print the route table, one route a line. */
void ps_route_print(struct ps_stack *s, FILE *out);

/* ---- ARP --------------------------------------------------------------- */

enum ps_arp_state { PS_ARP_FREE = 0, PS_ARP_INCOMPLETE, PS_ARP_RESOLVED, PS_ARP_FAILED };

struct ps_arp_entry_info {
    ps_ip4_t ip;
    ps_mac_t mac;
    enum ps_arp_state state;
    const struct ps_iface *iface;
    ps_time_t expires; /* when it expires, or the next retry */
    unsigned queued;   /* packets waiting */
};

/* Look an address up without side effects.  Returns true if an entry (of
 * any state) exists. */
bool ps_arp_lookup(struct ps_stack *s, ps_ip4_t ip, struct ps_arp_entry_info *out);

/* Visit every entry in use; stops when fn returns non-zero. */
void ps_arp_foreach(struct ps_stack *s, int (*fn)(void *ctx, const struct ps_arp_entry_info *e), void *ctx);

/* Add a permanent entry (never expires, never evicted).  0 or -ENOSPC. */
int ps_arp_add_static(struct ps_stack *s, struct ps_iface *ifc, ps_ip4_t ip, const ps_mac_t *mac);

/* ---- Sending IPv4 ---------------------------------------------------------- */

/* Options for ps_ip_output(). */
struct ps_ip_tx {
    ps_ip4_t src;   /* 0: chosen from the route */
    ps_ip4_t dst;
    uint8_t proto;
    uint8_t ttl;    /* 0: the stack default */
    uint8_t tos;
    bool df;        /* set Don't Fragment */
    struct ps_iface *ifc; /* force the output interface (broadcast); NULL: route */
};

/* Send the transport payload in p (p->data is the transport header) as
 * IPv4.  The stack owns p afterwards whatever the result.  Fragments when
 * the packet exceeds the MTU (unless df).  Returns 0, -ENETUNREACH,
 * -EMSGSIZE (df and too big), -ENOBUFS, or -EHOSTUNREACH (ARP failed
 * earlier and is holding off). */
int ps_ip_output(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ip_tx *tx);

/* ---- ICMP echo (ping) ---------------------------------------------------- */

/* What an echo hook is told. */
struct ps_echo_event {
    bool is_reply;      /* an echo reply; otherwise an ICMP error about one */
    ps_ip4_t from;      /* who sent the reply / the error */
    uint16_t id, seq;   /* of the echo request */
    uint8_t ttl;        /* IP TTL of the reply */
    uint8_t err_type, err_code; /* for errors */
    const uint8_t *data;        /* reply payload */
    size_t len;
    ps_time_t now;
};

typedef void (*ps_echo_fn)(void *ctx, const struct ps_echo_event *ev);

/* Receive echo replies and ICMP errors quoting an echo request (one hook
 * per stack; NULL detaches). */
void ps_icmp_set_echo_hook(struct ps_stack *s, ps_echo_fn fn, void *ctx);

/* Send an echo request with `len` payload bytes (NULL data: a pattern).
 * ttl 0 is the default.  Returns as ps_ip_output(). */
int ps_icmp_echo_request(struct ps_stack *s, ps_ip4_t dst, uint16_t id, uint16_t seq, uint8_t ttl,
                         const uint8_t *data, size_t len);

/* ---- ICMP errors handed up ----------------------------------------------- */

/* An ICMP error as the transport layer receives it: the error and the
 * header of the datagram that caused it, as quoted. */
struct ps_icmp_error {
    uint8_t type, code;
    uint16_t mtu;        /* next-hop MTU for fragmentation needed, else 0 */
    ps_ip4_t reporter;   /* who sent the error */
    ps_ip4_t src, dst;   /* of the quoted datagram (src is normally us) */
    uint8_t proto;       /* of the quoted datagram */
    const uint8_t *l4;   /* first bytes of its transport header */
    size_t l4_len;       /* at least 8 */
};

#endif /* PORTSTACK_NET_H */
