/*
 * The ports module: binding, ephemeral port selection and demultiplexing
 * for UDP and TCP alike.  One instance per protocol per stack.
 *
 * An endpoint (struct ps_endpoint) is embedded in each protocol's control
 * block.  The module keeps three views of the endpoints of a protocol:
 *
 *   port buckets   local port -> every endpoint using it (bind conflicts,
 *                  and the counts behind the port bitmaps)
 *   bound hash     (local addr, local port) -> endpoints not connected
 *                  (UDP unconnected, TCP listeners), wildcard addr = 0
 *   quad hash      (local addr, local port, remote addr, remote port) ->
 *                  the connected endpoint (UDP connected, TCP connections,
 *                  TIME_WAIT records later)
 *
 * Both hashes are SipHash under per-stack secret keys, so an outsider
 * cannot aim many quadruples at one chain.  Two bitmaps over the 65536
 * ports (any use; exclusive use by a bound, unconnected endpoint), each
 * with a summary word per 64 words, let the ephemeral picker find the next
 * free port after a keyed offset in a handful of word operations however
 * full the range is.
 */
#ifndef PS_TRANSPORT_PORTS_H
#define PS_TRANSPORT_PORTS_H

#include <portstack/types.h>

struct ps_stack;

/* Endpoint flags. */
#define PS_EP_REUSEADDR 0x0001 /* SO_REUSEADDR */
#define PS_EP_REUSEPORT 0x0002 /* SO_REUSEPORT */
#define PS_EP_BOUND     0x0004 /* has a local port (in a port bucket) */
#define PS_EP_LISTEN    0x0008 /* TCP listener */
#define PS_EP_CONNECTED 0x0010 /* has a peer (in the quad hash) */
#define PS_EP_TIMEWAIT  0x0020 /* a TIME_WAIT record (TCP issue) */
#define PS_EP_BCAST     0x0040 /* SO_BROADCAST (UDP) */
#define PS_EP_TWREC     0x0080 /* a compact TIME_WAIT record (tcp_timewait.c), not a tcb */

struct ps_endpoint {
    uint8_t proto;          /* PS_IP_PROTO_UDP / PS_IP_PROTO_TCP */
    uint16_t flags;
    ps_ip4_t laddr, raddr;  /* 0 = wildcard / not connected */
    ps_ip4_t bound_laddr;   /* the address bind() gave, kept while connected */
    uint16_t lport, rport;
    uint16_t range_lo, range_hi; /* per-socket ephemeral range; 0 = the stack's */
    struct ps_endpoint *port_next; /* in the port bucket */
    struct ps_endpoint *hash_next; /* in the bound or the quad hash */
    uint32_t seq;           /* bind order, for "most recent wins" ties */
};

/* Tear down / set up a protocol's tables (called by the stack core). */
int ps_ports_init(struct ps_stack *s);
void ps_ports_fini(struct ps_stack *s);

/* Bind ep to addr:port (port 0: an ephemeral port no other endpoint of the
 * protocol uses).  addr must be 0 or one of the stack's addresses (or the
 * limited broadcast for UDP).  Returns 0, -EINVAL (already bound),
 * -EADDRNOTAVAIL (address not ours, or the range is exhausted), or
 * -EADDRINUSE (conflict under the bind rules, docs/PORTS.md). */
int ps_ports_bind(struct ps_stack *s, struct ps_endpoint *ep, ps_ip4_t addr, uint16_t port);

/* Make a bound TCP endpoint a listener, re-checking conflicts: two
 * overlapping listeners need SO_REUSEPORT on both.  0 or -EADDRINUSE. */
int ps_ports_listen(struct ps_stack *s, struct ps_endpoint *ep);

/* Connect ep to raddr:rport.  laddr is the source address the route
 * chose (used when ep is bound to the wildcard or not bound).  An unbound
 * endpoint gets an ephemeral port unique for this quadruple (RFC 6056
 * Algorithm 4).  Returns 0, -EADDRNOTAVAIL (no port left toward this
 * peer), or -EADDRINUSE (the quadruple is taken). */
int ps_ports_connect(struct ps_stack *s, struct ps_endpoint *ep, ps_ip4_t laddr, ps_ip4_t raddr,
                     uint16_t rport);

/* A connection a TCP listener accepted: ep takes laddr:lport (the
 * listener's port; the bind rules were checked when the listener bound)
 * and goes straight into the quad hash with raddr:rport.  0, -EADDRINUSE
 * (the quadruple is taken) or -ENOBUFS. */
int ps_ports_attach(struct ps_stack *s, struct ps_endpoint *ep, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr,
                    uint16_t rport);

/* Undo connect (UDP connect to AF_UNSPEC): back to bound-only. */
void ps_ports_disconnect(struct ps_stack *s, struct ps_endpoint *ep);

/* Remove ep from every table (close). */
void ps_ports_unbind(struct ps_stack *s, struct ps_endpoint *ep);

/* Hand old's place in every table (port bucket, quad or bound hash) to
 * `repl`, which takes old's addresses, ports and flags; old is left in no
 * table.  Needs no new bucket, so it cannot fail (TIME_WAIT records). */
void ps_ports_replace(struct ps_stack *s, struct ps_endpoint *old, struct ps_endpoint *repl);

/* Demultiplex one arriving segment/datagram: the connected endpoint of the
 * exact quadruple, else a bound endpoint on (dst, dport), else one on
 * (0, dport); within a SO_REUSEPORT group one member chosen by a keyed
 * hash of the quadruple.  NULL when nothing matches.  O(1) expected. */
struct ps_endpoint *ps_ports_lookup(struct ps_stack *s, uint8_t proto, ps_ip4_t src, uint16_t sport,
                                    ps_ip4_t dst, uint16_t dport);

/* Call fn for every unconnected endpoint bound to dport whose local
 * address is dst or the wildcard (UDP broadcast delivery), and for every
 * connected one whose quadruple matches.  Stops when fn returns non-zero. */
void ps_ports_foreach_match(struct ps_stack *s, uint8_t proto, ps_ip4_t src, uint16_t sport, ps_ip4_t dst,
                            uint16_t dport, int (*fn)(void *ctx, struct ps_endpoint *ep), void *ctx);

/* Every endpoint of a protocol (for listings); stops when fn returns
 * non-zero. */
void ps_ports_foreach(struct ps_stack *s, uint8_t proto, int (*fn)(void *ctx, struct ps_endpoint *ep),
                      void *ctx);

/* Number of endpoints holding a port, and of free ports in [lo, hi]. */
unsigned ps_ports_in_use(struct ps_stack *s, uint8_t proto);

/* Set the stack's ephemeral range.  0 or -EINVAL (lo > hi, lo == 0). */
int ps_ports_set_range(struct ps_stack *s, uint16_t lo, uint16_t hi);
void ps_ports_get_range(struct ps_stack *s, uint16_t *lo, uint16_t *hi);

#endif
