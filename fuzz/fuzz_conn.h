/*
 * fuzz/fuzz_conn.h - a stack with one TCP connection to a scripted peer
 * (tests/tcp_peer.h), for the targets that fuzz a connection rather than
 * raw frames: fuzz_tcp_state, and the HTTP server and client.
 *
 * The set-up is deterministic (fixed seed, fixed times), so the same input
 * always meets the same ISNs.  Every frame the stack sends is checked as
 * it is read back (a valid IPv4 header; a valid TCP checksum), and the
 * end is the same as fuzz_host.h's: every socket closed, an hour of quiet,
 * then no buffer missing, no socket left and the stack's invariants whole.
 *
 * Header-only: tests/test.h keeps its state in statics (the set-up's
 * REQUIRE jumps to t_jmp), so each target includes this in one file.
 */
#ifndef PS_FUZZ_CONN_H
#define PS_FUZZ_CONN_H

#include "fuzz_host.h"
#include "tcp_peer.h"

#include "transport/ports.h"
#include "transport/tcp.h"

/* The configuration of the connection targets: the TCP tests' (seed, no
 * re-keying), with pools and tables made small. */
static inline void fc_config(struct ps_config *c)
{
    tcp_cfg(c);
    c->pbuf_small_count = 64;
    c->pbuf_large_count = 1;
    c->max_sockets = 8;
    c->tcp_timewait_max = 4;
}

/* tests/frames.h's net_new(cfg, NET_STATIC_PEERS, 0), in one struct net
 * that every input reuses: it is large, and allocating it per input costs
 * more than most inputs do. */
static inline struct net *fc_net(const struct ps_config *cfg)
{
    static struct net n;
    memset(&n, 0, offsetof(struct net, f));
    n.now = T0;
    n.s = ps_stack_new(cfg, T0);
    FUZZ_MUST(n.s != NULL, "cannot create the stack");
    n.eth0 = ps_iface_add(n.s, "eth0", &MAC_US, 1500, cap_transmit, &n);
    FUZZ_MUST(n.eth0 && ps_iface_add_addr(n.eth0, IP_US, 24) == 0 &&
                  ps_arp_add_static(n.s, n.eth0, IP_PEER, &MAC_PEER) == 0,
              "cannot set up the interface");
    return &n;
}

/* A set-up step went wrong: that is a harness (or stack) bug, not an input
 * to explore.  tests/test.h has printed why. */
static inline void fc_setup_ok(void)
{
    if (t_failed_checks || t_failed || t_passed) {
        fprintf(stderr, "fuzz set-up failed (%d checks)\n", t_failed_checks);
        abort();
    }
}

/* The connection block of the peer's connection in any state that has
 * one (a socket's, a hidden child's or an orphan's), found as an arriving
 * segment would be; NULL when there is none (a TIME_WAIT record, or
 * closed). */
static inline struct ps_tcb *fc_tcb(const struct tcp_peer *p)
{
    struct ps_endpoint *ep = ps_ports_lookup(p->n->s, PS_IP_PROTO_TCP, p->ip, p->port, p->us, p->us_port);
    if (!ep || (ep->flags & PS_EP_TWREC) || !(ep->flags & PS_EP_CONNECTED))
        return NULL;
    return ps_tcb_of(ep);
}

/* Read back every frame the stack sent since the last call: each must be
 * a valid IPv4 packet, each TCP segment a valid one; those of the peer's
 * connection update the peer (peer_next).  check, when not NULL, sees
 * each segment of the connection. */
static inline void fc_read(struct tcp_peer *p, void (*check)(void *ctx, const struct tcp_seg *g), void *ctx)
{
    struct net *n = p->n;
    FUZZ_MUST(n->lost == 0, "more frames than the capture holds between two reads");
    for (unsigned i = p->seen; i < n->n; i++) {
        struct ps_eth_hdr eh;
        struct ps_ipv4_hdr ih;
        struct tcp_seg g;
        FUZZ_MUST(cap_ip(n, i, &eh, &ih, NULL) != NULL, "sent a frame that is not valid IPv4");
        if (ih.proto != PS_IP_PROTO_TCP)
            continue;
        FUZZ_MUST(tcp_seg_at(n, i, &g), "sent an invalid TCP segment");
        if (g.ip.dst != p->ip || g.h.dport != p->port || g.h.sport != p->us_port)
            continue;
        p->seen = i;
        peer_next(p, &g);
        if (check)
            check(ctx, &g);
    }
    p->seen = n->n;
    peer_forget(p);
}

/* Move time forward by dt (fuzz_advance). */
static inline void fc_advance(struct net *n, ps_time_t dt)
{
    fuzz_advance(n->s, &n->now, dt, NULL, NULL);
}

/* ---- a peer that streams bytes: the HTTP targets ------------------------------------- */

/* What runs the applications (an HTTP server's or client's poll). */
struct fc_app {
    void (*poll)(void *ctx);
    void *ctx;
};

/* Time moves dt, the applications run, the peer reads what came and
 * acknowledges any new data at once. */
static inline void fc_step(struct tcp_peer *p, ps_time_t dt, const struct fc_app *app)
{
    uint32_t had = p->rcv_nxt;
    fuzz_advance(p->n->s, &p->n->now, dt, app->poll, app->ctx);
    fc_read(p, NULL, NULL);
    if (p->irs_known && p->rcv_nxt != had) {
        peer_send(p, PS_TCP_ACK, NULL, 0);
        fc_read(p, NULL, NULL);
    }
}

/* The peer sends n bytes in segments of at most seg bytes, 1 ms apart, as
 * far as the stack's window lets it (it waits, 200 ms at a time, for a
 * window that is shut; ten seconds of that and it gives up), and while
 * the connection lasts. */
static inline void fc_peer_stream(struct tcp_peer *p, const uint8_t *d, size_t n, size_t seg,
                                  const struct fc_app *app)
{
    int stalled = 0;
    while (n && stalled < 50 && fc_tcb(p)) {
        int32_t room = (int32_t)(p->us_edge - p->snd_nxt);
        if (room <= 0) {
            stalled++;
            fc_step(p, PS_MS(200), app);
            continue;
        }
        size_t k = n < seg ? n : seg;
        if (k > (size_t)room)
            k = (size_t)room;
        if (k > 1400)
            k = 1400;
        peer_send(p, PS_TCP_PSH | PS_TCP_ACK, d, k);
        d += k;
        n -= k;
        stalled = 0;
        fc_step(p, PS_MS(1), app);
    }
}

/* The end of every input, once the target has closed what it opened: an
 * hour passes with the peer silent (nobody reads what the stack sends
 * meanwhile), then fuzz_check_idle.  Frees n. */
static inline void fc_finish(struct net *n)
{
    for (int i = 0; i < 120; i++) {
        n->n = 0;
        fc_advance(n, PS_SEC(30));
    }
    fuzz_check_idle(n->s);
    ps_stack_free(n->s);
    n->s = NULL;
}

#endif /* PS_FUZZ_CONN_H */
