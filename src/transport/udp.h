/*
 * UDP (RFC 768): the control block behind a DGRAM socket, input with
 * demultiplexing through the ports module, output, and ICMP errors turned
 * into a pending socket error.
 *
 * The socket layer owns the control blocks (they sit in its table) and
 * calls the ps_udp_* operations; UDP tells it about readiness through the
 * event hook, so this layer never calls up into the socket API.
 */
#ifndef PS_TRANSPORT_UDP_H
#define PS_TRANSPORT_UDP_H

#include <sys/types.h>

#include <portstack/net.h>
#include <portstack/socket.h>
#include <portstack/wire.h>

#include "transport/ports.h"

/* The largest payload: 65535 less the IPv4 and UDP headers. */
#define PS_UDP_MAX_PAYLOAD (65535 - PS_IPV4_HLEN - PS_UDP_HLEN)

/* Called after a datagram was queued or an error arrived.  It may call any
 * socket function, close included: UDP touches the block no more after. */
typedef void (*ps_udp_event_fn)(struct ps_stack *s, void *ctx);

struct ps_udp_pcb {
    struct ps_endpoint ep;    /* binding and demux (ports.h) */
    /* Receive queue: datagrams linked by ->next, each with data at its UDP
     * header (the source port is read from it) and tag = source address. */
    struct ps_pbuf *rq_head, *rq_tail;
    unsigned rq_count;        /* datagrams queued */
    size_t rq_bytes;          /* payload bytes queued */
    unsigned rcvbuf;          /* SO_RCVBUF: payload bytes the queue may hold */
    uint8_t ttl;              /* IP_TTL; 0 = the stack default */
    uint8_t mark;             /* broadcast delivery bookkeeping (udp.c) */
    bool shut_rd, shut_wr;    /* shutdown() */
    int error;                /* pending error (positive errno), 0 = none */
    ps_udp_event_fn event;
    void *event_ctx;
};

/* A fresh, unbound block with the stack's defaults. */
void ps_udp_pcb_init(struct ps_stack *s, struct ps_udp_pcb *pcb);

/* Release the port and drop every queued datagram. */
void ps_udp_pcb_close(struct ps_stack *s, struct ps_udp_pcb *pcb);

/* Fix the peer (route lookup for the source address, then the ports
 * module); addr 0 with port 0 undoes it.  0, -EINVAL, -EACCES (broadcast
 * without SO_BROADCAST), -ENETUNREACH, -EADDRNOTAVAIL, -EADDRINUSE. */
int ps_udp_connect(struct ps_stack *s, struct ps_udp_pcb *pcb, ps_ip4_t addr, uint16_t port);

/* Send one datagram to `to` (NULL: the connected peer), binding an
 * ephemeral port first if unbound.  Returns len or a negative errno. */
ssize_t ps_udp_sendto(struct ps_stack *s, struct ps_udp_pcb *pcb, const void *buf, size_t len,
                      const struct ps_sockaddr_in *to);

/* Take one datagram (PS_MSG_PEEK: leave it), as ps_recvfrom(). */
ssize_t ps_udp_recvfrom(struct ps_stack *s, struct ps_udp_pcb *pcb, void *buf, size_t len, int flags,
                        struct ps_sockaddr_in *from);

/* The PS_POLL* events ready now. */
short ps_udp_poll(const struct ps_udp_pcb *pcb);

/* The pending error (positive errno, 0 if none), cleared. */
int ps_udp_take_error(struct ps_udp_pcb *pcb);

/* From transport.c: a datagram (p->data at the UDP header, the IP header
 * just before it); UDP owns p.  And an ICMP error quoting a UDP datagram:
 * true if it matched a socket. */
void ps_udp_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip);
bool ps_udp_icmp_error(struct ps_stack *s, const struct ps_icmp_error *e);

#endif
