/*
 * tests/tcp_peer.h - a scripted raw TCP peer for the TCP state-machine
 * tests.
 *
 * The test plays the remote TCP by hand: it builds segments with the wire
 * emitters (any sequence and acknowledgment number, flags, window, options
 * and payload), injects them into the stack of frames.h as Ethernet frames
 * from the peer, moves time with net_poll(), and reads back, one by one,
 * the segments portstack sent (every frame is recorded by the interface's
 * transmit callback).  Nothing of TCP's insides is looked at: states come
 * from ps_socket_foreach(), errors from the socket calls, and counters
 * from ps_stack_stats().
 *
 * The peer keeps the little state a TCP would, so most segments can be
 * sent with peer_send() (seq = its SND.NXT, ack = what it has received of
 * portstack's stream, its window, a timestamp when negotiated); peer_xmit()
 * sends anything at all.  Reading a segment (peer_next) updates what the
 * peer knows: portstack's ISN from a SYN, the window scale and timestamps
 * negotiated, portstack's latest TSval (the peer's TS.Recent), the highest
 * ACK and the window, and in-order data (appended to the sink when one is
 * set, with RCV.NXT advanced over data and FIN).
 *
 * The peer is 192.0.2.2 (MAC ..:00:02) on eth0 of a stack at 192.0.2.1.
 */
#ifndef PS_TEST_TCP_PEER_H
#define PS_TEST_TCP_PEER_H

#include <errno.h>

#include <portstack/socket.h>

#include "frames.h"

/* One segment portstack sent, as read back. */
struct tcp_seg {
    ps_time_t t;           /* when it was sent */
    struct ps_ipv4_hdr ip;
    struct ps_tcp_hdr h;
    const uint8_t *data;   /* the payload, inside the recorded frame */
    uint32_t len;
};

struct tcp_peer {
    struct net *n;
    ps_ip4_t ip, us;          /* the peer's address, portstack's */
    uint16_t port, us_port;   /* the peer's port, portstack's */
    /* The peer's send side. */
    uint32_t iss, snd_nxt;
    uint16_t win;             /* window field of every segment it sends */
    /* What the peer knows of portstack's side. */
    bool irs_known;
    uint32_t irs, rcv_nxt;    /* portstack's ISN; next byte expected */
    uint32_t una;             /* highest ACK portstack sent (of the peer's bytes) */
    uint32_t us_win;          /* portstack's window, scaled, from its last segment */
    uint32_t us_edge;         /* the right edge of its window: the largest ack + window seen */
    /* Options: those of the peer's SYN and what was negotiated. */
    struct ps_tcp_opts syn_opt;
    uint8_t us_wscale;        /* portstack's shift (0 when not negotiated) */
    bool ts;                  /* timestamps negotiated: every segment carries one */
    uint32_t tsval;           /* the peer's clock: the TSval of its next segment */
    uint32_t ts_recent;       /* the latest TSval portstack sent */
    bool ts_auto;             /* tsval grows by one with every segment sent */
    /* Reading. */
    unsigned seen;            /* recorded frames already read */
    uint8_t *sink;            /* in-order data portstack sent, when not NULL */
    size_t sink_len, sink_cap;
};

/* A peer at 192.0.2.2:port for portstack's us_port, whose ISN is iss;
 * its SYN offers MSS 1460, window scale 2, SACK-permitted and a timestamp.
 * Window field 65535. */
static inline void peer_init(struct tcp_peer *p, struct net *n, uint16_t us_port, uint16_t port, uint32_t iss)
{
    memset(p, 0, sizeof(*p));
    p->n = n;
    p->ip = IP_PEER;
    p->us = IP_US;
    p->port = port;
    p->us_port = us_port;
    p->iss = p->snd_nxt = iss;
    p->win = 65535;
    p->syn_opt.has_mss = true;
    p->syn_opt.mss = 1460;
    p->syn_opt.has_wscale = true;
    p->syn_opt.wscale = 2;
    p->syn_opt.sack_permitted = true;
    p->syn_opt.has_timestamp = true;
    p->tsval = 1000;
    p->ts_auto = true;
    p->seen = n->n; /* what was sent before is another peer's */
}

/* ---- sending ----------------------------------------------------------------- */

/* Any segment from the peer: raw fields, options (NULL: none), payload. */
static inline void peer_xmit(struct tcp_peer *p, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
                             const struct ps_tcp_opts *opt, const void *data, size_t len)
{
    static uint8_t seg[FRAME_MAX], f[FRAME_MAX + 64];
    struct ps_tcp_hdr h;
    memset(&h, 0, sizeof h);
    h.sport = p->port;
    h.dport = p->us_port;
    h.seq = seq;
    h.ack = ack;
    h.flags = flags;
    h.window = win;
    if (opt)
        h.opt = *opt;
    size_t hlen = PS_TCP_HLEN + ps_tcp_opts_len(&h.opt);
    if (hlen + len > 1480) {
        T_FAIL("peer_xmit: a %zu-byte segment does not fit a frame", hlen + len);
        return;
    }
    if (len)
        memcpy(seg + hlen, data, len);
    ps_tcp_emit(seg, &h, p->ip, p->us, len);
    struct ps_ipv4_hdr ih = ip_hdr(p->ip, p->us, PS_IP_PROTO_TCP);
    ih.df = true;
    net_input(p->n, p->n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &ih, seg, hlen + len));
}

/* The options the peer puts on a segment with these flags: its SYN
 * options on a SYN, else a timestamp when negotiated. */
static inline struct ps_tcp_opts peer_opts(struct tcp_peer *p, uint8_t flags)
{
    struct ps_tcp_opts o;
    memset(&o, 0, sizeof o);
    if (flags & PS_TCP_SYN) {
        o = p->syn_opt;
        if (o.has_timestamp) {
            o.tsval = p->tsval;
            o.tsecr = (flags & PS_TCP_ACK) ? p->ts_recent : 0;
        }
    } else if (p->ts && !(flags & PS_TCP_RST)) {
        o.has_timestamp = true;
        o.tsval = p->tsval;
        o.tsecr = p->ts_recent;
    }
    return o;
}

/* A segment as the peer's TCP would send it: seq = SND.NXT, ack = RCV.NXT
 * (when ACK is set), its window and options; SND.NXT moves over the data,
 * SYN and FIN. */
static inline void peer_send(struct tcp_peer *p, uint8_t flags, const void *data, size_t len)
{
    struct ps_tcp_opts o = peer_opts(p, flags);
    uint32_t seq = p->snd_nxt;
    if (flags & PS_TCP_SYN)
        seq = p->iss;
    peer_xmit(p, flags, seq, (flags & PS_TCP_ACK) ? p->rcv_nxt : 0, p->win, &o, data, len);
    uint32_t end = seq + (uint32_t)len + ((flags & PS_TCP_SYN) ? 1u : 0u) + ((flags & PS_TCP_FIN) ? 1u : 0u);
    if ((int32_t)(end - p->snd_nxt) > 0)
        p->snd_nxt = end;
    if (p->ts_auto)
        p->tsval++;
}

/* A segment at an explicit sequence number (out of order, old, beyond the
 * window), with the peer's usual ack, window and options; SND.NXT is not
 * touched. */
static inline void peer_send_at(struct tcp_peer *p, uint8_t flags, uint32_t seq, const void *data, size_t len)
{
    struct ps_tcp_opts o = peer_opts(p, flags);
    peer_xmit(p, flags, seq, (flags & PS_TCP_ACK) ? p->rcv_nxt : 0, p->win, &o, data, len);
    if (p->ts_auto)
        p->tsval++;
}

/* A bare RST at seq (no ACK, no options), as a blind attacker or a peer
 * that lost the connection sends it. */
static inline void peer_rst(struct tcp_peer *p, uint32_t seq)
{
    peer_xmit(p, PS_TCP_RST, seq, 0, 0, NULL, NULL, 0);
}

/* ---- reading what portstack sent ----------------------------------------------------------- */

static inline const char *tcp_flags_str(uint8_t f, char *b)
{
    static const char names[] = "FSRPAUEC";
    int k = 0;
    b[k++] = '[';
    for (int i = 0; i < 8; i++)
        if (f & (1u << i))
            b[k++] = names[i];
    b[k++] = ']';
    b[k] = '\0';
    return b;
}

static inline const char *tcp_seg_str(const struct tcp_seg *g, char *b, size_t size)
{
    char fl[12];
    snprintf(b, size, "%s seq=%08x ack=%08x win=%u len=%u%s%s", tcp_flags_str(g->h.flags, fl), g->h.seq, g->h.ack,
             g->h.window, g->len, g->h.opt.has_timestamp ? " ts" : "", g->h.opt.has_mss ? " mss" : "");
    return b;
}

/* Parse recorded frame i as a TCP segment from portstack to the peer. */
static inline bool tcp_seg_at(const struct net *n, unsigned i, struct tcp_seg *g)
{
    struct ps_eth_hdr eh;
    size_t plen;
    memset(g, 0, sizeof(*g));
    const uint8_t *ip = cap_ip(n, i, &eh, &g->ip, &plen);
    if (!ip || g->ip.proto != PS_IP_PROTO_TCP || g->ip.mf || g->ip.frag_off)
        return false;
    int hl = ps_tcp_parse(ip + g->ip.hlen, plen, g->ip.src, g->ip.dst, &g->h);
    if (hl < 0)
        return false;
    g->data = ip + g->ip.hlen + hl;
    g->len = (uint32_t)(plen - (size_t)hl);
    g->t = n->f[i].t;
    return true;
}

/* The next segment portstack sent to the peer (false: none yet).  A frame
 * that is not a valid TCP segment to the peer's port fails the test. */
static inline bool peer_next(struct tcp_peer *p, struct tcp_seg *g)
{
    if (p->seen >= p->n->n)
        return false;
    unsigned i = p->seen++;
    if (!tcp_seg_at(p->n, i, g)) {
        T_FAIL("frame %u (%zu bytes) is not a valid TCP segment", i, p->n->f[i].len);
        return false;
    }
    if (g->ip.src != p->us || g->ip.dst != p->ip || g->h.sport != p->us_port || g->h.dport != p->port) {
        T_FAIL("frame %u: a segment %08x:%u -> %08x:%u, not to the peer", i, g->ip.src, g->h.sport, g->ip.dst,
               g->h.dport);
        return false;
    }
    const struct ps_tcp_hdr *h = &g->h;
    if (h->flags & PS_TCP_SYN) {
        p->irs_known = true;
        p->irs = h->seq;
        p->rcv_nxt = h->seq + 1;
        /* A SYN-ACK answers the peer's SYN; a SYN is answered by the
         * peer's SYN(-ACK) with its syn_opt: either way, negotiated is
         * what both offer. */
        p->us_wscale = (h->opt.has_wscale && p->syn_opt.has_wscale) ? h->opt.wscale : 0;
        p->ts = h->opt.has_timestamp && p->syn_opt.has_timestamp;
    }
    if (h->opt.has_timestamp)
        p->ts_recent = h->opt.tsval;
    if (!(h->flags & PS_TCP_RST)) {
        p->us_win = (h->flags & PS_TCP_SYN) ? h->window : (uint32_t)h->window << p->us_wscale;
        if ((h->flags & PS_TCP_ACK) && (int32_t)(h->ack - p->una) > 0)
            p->una = h->ack;
        if ((h->flags & PS_TCP_ACK) && (int32_t)(h->ack + p->us_win - p->us_edge) > 0)
            p->us_edge = h->ack + p->us_win;
    }
    /* In-order data (and FIN) advance RCV.NXT; the data goes to the sink. */
    if (p->irs_known && !(h->flags & (PS_TCP_SYN | PS_TCP_RST))) {
        uint32_t seq = h->seq, end = seq + g->len + ((h->flags & PS_TCP_FIN) ? 1u : 0u);
        if ((int32_t)(p->rcv_nxt - seq) >= 0 && (int32_t)(end - p->rcv_nxt) > 0) {
            uint32_t skip = p->rcv_nxt - seq;
            if (g->len > skip && p->sink) {
                size_t add = g->len - skip;
                if (p->sink_len + add > p->sink_cap) {
                    T_FAIL("peer sink overflows (%zu + %zu > %zu)", p->sink_len, add, p->sink_cap);
                } else {
                    memcpy(p->sink + p->sink_len, g->data + skip, add);
                    p->sink_len += add;
                }
            }
            p->rcv_nxt = end;
        }
    }
    return true;
}

/* Forget the recorded frames once all are read, so a long test never
 * runs out of the CAP_MAX slots. */
static inline void peer_forget(struct tcp_peer *p)
{
    if (p->seen == p->n->n)
        p->seen = p->n->n = 0;
}

/* Whether g is exactly: flags (PSH aside, which is advisory), seq, ack
 * (when ACK is expected), payload length. */
static inline bool tcp_seg_is(const struct tcp_seg *g, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
    if ((g->h.flags & (uint8_t)~PS_TCP_PSH) != flags || g->h.seq != seq || g->len != len)
        return false;
    return !(flags & PS_TCP_ACK) || g->h.ack == ack;
}

/* The next segment must be exactly this (see tcp_seg_is); else the test
 * fails there and stops. */
#define EXPECT_SEG(p, g, flags, seq, ack, len)                                                               \
    do {                                                                                                     \
        char e_[16], s_[128];                                                                                \
        if (!peer_next((p), (g))) {                                                                          \
            T_FAIL("expected %s seq=%08x ack=%08x len=%u, nothing was sent", tcp_flags_str((flags), e_),     \
                   (unsigned)(seq), (unsigned)(ack), (unsigned)(len));                                       \
            longjmp(t_jmp, 1);                                                                               \
        }                                                                                                    \
        if (!tcp_seg_is((g), (flags), (seq), (ack), (len))) {                                                \
            T_FAIL("expected %s seq=%08x ack=%08x len=%u, got %s", tcp_flags_str((flags), e_),               \
                   (unsigned)(seq), (unsigned)(ack), (unsigned)(len), tcp_seg_str((g), s_, sizeof s_));      \
            longjmp(t_jmp, 1);                                                                               \
        }                                                                                                    \
    } while (0)

/* Nothing more was sent. */
#define EXPECT_NONE(p)                                                                   \
    do {                                                                                 \
        struct tcp_seg x_;                                                               \
        char s_[128];                                                                    \
        while ((p)->seen < (p)->n->n) {                                                  \
            unsigned i_ = (p)->seen;                                                     \
            if (peer_next((p), &x_))                                                     \
                T_FAIL("expected nothing sent, got frame %u: %s", i_,                    \
                       tcp_seg_str(&x_, s_, sizeof s_));                                 \
        }                                                                                \
    } while (0)

/* ---- states, through the socket table ---------------------------------------------------------- */

struct sock_find {
    int fd;                   /* >= 0: this socket; -1: by ports */
    uint16_t lport, rport;    /* rport 0: a listener */
    ps_ip4_t raddr;
    unsigned count;
    struct ps_sock_info info;
};

static inline int sock_find_fn(void *ctx, const struct ps_sock_info *i)
{
    struct sock_find *f = ctx;
    if (i->type != PS_SOCK_STREAM)
        return 0;
    if (f->fd >= 0 ? i->fd != f->fd
                   : (i->local.port != f->lport || i->peer.port != f->rport || (f->rport && i->peer.addr != f->raddr)))
        return 0;
    if (f->count++ == 0)
        f->info = *i;
    return 0;
}

/* The state ("ESTAB", "TIME-WAIT", ...) of the connection between our
 * lport and the peer's rport, NULL if there is none; a listener with
 * rport 0.  Two entries for one quadruple fail the test. */
static inline const char *tcp_state(struct net *n, uint16_t lport, uint16_t rport)
{
    struct sock_find f = {.fd = -1, .lport = lport, .rport = rport, .raddr = IP_PEER};
    ps_socket_foreach(n->s, sock_find_fn, &f);
    if (f.count > 1)
        T_FAIL("%u socket-table entries for port %u <-> %u", f.count, lport, rport);
    return f.count ? f.info.state : NULL;
}

/* The table entry of socket fd (false: none). */
static inline bool tcp_fd_info(struct net *n, int fd, struct ps_sock_info *info)
{
    struct sock_find f = {.fd = fd};
    ps_socket_foreach(n->s, sock_find_fn, &f);
    if (f.count)
        *info = f.info;
    return f.count != 0;
}

static inline const char *peer_state(struct tcp_peer *p)
{
    return tcp_state(p->n, p->us_port, p->port);
}

#define CHECK_STR(a, b)                                                                              \
    do {                                                                                             \
        const char *a_ = (a), *b_ = (b);                                                             \
        if (!a_ != !b_ || (a_ && strcmp(a_, b_) != 0))                                               \
            T_FAIL("CHECK_STR(%s, %s): \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(none)", b_ ? b_ : "(none)"); \
    } while (0)

#define CHECK_STATE(p, st) CHECK_STR(peer_state(p), (st))

/* ---- counters ------------------------------------------------------------------------------------ */

#define STAT(n, name) (ps_stack_stats((n)->s)->name)
/* Counter `name` moved by exactly d since the snapshot `before`. */
#define CHECK_STAT(before, n, name, d)                                                                   \
    do {                                                                                                 \
        long long got_ = (long long)(STAT(n, name) - (before).name);                                     \
        if (got_ != (long long)(d))                                                                      \
            T_FAIL("counter %s moved by %lld, expected %lld", #name, got_, (long long)(d));              \
    } while (0)

/* ---- set-ups the tests share ---------------------------------------------------------------------- */

#define PISS 0x10000000u /* the peer's usual ISN */

/* The configuration of the TCP tests: the defaults, a fixed seed, and no
 * periodic port re-keying (so that net_drain() ends). */
static inline void tcp_cfg(struct ps_config *c)
{
    ps_config_default(c);
    c->seed = 0x5eed;
    c->port_rekey_ms = 0;
}

static inline struct net *tcp_host(const struct ps_config *cfg)
{
    struct ps_config c;
    if (!cfg) {
        tcp_cfg(&c);
        cfg = &c;
    }
    return net_new(cfg, NET_STATIC_PEERS, 0);
}

/* The window-scale shift portstack announces: the smallest that lets its
 * whole receive buffer be offered (RFC 7323 2.2). */
static inline uint8_t tcp_our_wscale(const struct net *n)
{
    unsigned buf = ps_stack_config(n->s)->tcp_rcvbuf;
    uint8_t ws = 0;
    while (ws < 14 && (buf >> ws) > 65535)
        ws++;
    return ws;
}

/* A SYN from the peer at seq (not its snd_nxt), with the options of its
 * own SYN and len bytes of data; its clock ticks. */
static inline void peer_syn_at(struct tcp_peer *p, uint32_t seq, const void *data, size_t len)
{
    struct ps_tcp_opts o = peer_opts(p, PS_TCP_SYN);
    peer_xmit(p, PS_TCP_SYN, seq, 0, 65535, &o, data, len);
    p->tsval++;
}

/* A listening socket on IP_US:port. */
static inline int tcp_listener(struct net *n, uint16_t port)
{
    int fd = ps_socket(n->s, PS_SOCK_STREAM);
    REQUIRE(fd >= 0);
    struct ps_sockaddr_in a = {.addr = IP_US, .port = port};
    REQUIRE(ps_bind(n->s, fd, &a) == 0);
    REQUIRE(ps_listen(n->s, fd, 16) == 0);
    return fd;
}

/* The peer opens a connection to listener lfd: SYN, SYN-ACK, ACK; returns
 * the accepted socket. */
static inline int peer_passive_open(struct tcp_peer *p, int lfd)
{
    struct tcp_seg g;
    peer_send(p, PS_TCP_SYN, NULL, 0);
    EXPECT_SEG(p, &g, PS_TCP_SYN | PS_TCP_ACK, g.h.seq, p->iss + 1, 0);
    peer_send(p, PS_TCP_ACK, NULL, 0);
    EXPECT_NONE(p);
    struct ps_sockaddr_in from;
    int fd = ps_accept(p->n->s, lfd, &from);
    REQUIRE(fd >= 0);
    REQUIRE(from.addr == p->ip && from.port == p->port);
    return fd;
}

/* portstack connects to the peer (initialised with its port and ISN; its
 * us_port is filled in) and sends its SYN, read into g.  Returns the
 * socket, in SYN-SENT. */
static inline int peer_connect_syn(struct tcp_peer *p, struct tcp_seg *g)
{
    int fd = ps_socket(p->n->s, PS_SOCK_STREAM);
    REQUIRE(fd >= 0);
    struct ps_sockaddr_in to = {.addr = p->ip, .port = p->port}, me;
    REQUIRE(ps_connect(p->n->s, fd, &to) == -EINPROGRESS);
    REQUIRE(ps_getsockname(p->n->s, fd, &me) == 0);
    p->us_port = me.port;
    EXPECT_SEG(p, g, PS_TCP_SYN, g->h.seq, 0, 0);
    return fd;
}

/* portstack connects to the peer as peer_connect_syn() does: SYN, the
 * peer's SYN-ACK, ACK.  Returns the socket. */
static inline int peer_active_open(struct tcp_peer *p)
{
    struct tcp_seg g;
    int fd = peer_connect_syn(p, &g);
    peer_send(p, PS_TCP_SYN | PS_TCP_ACK, NULL, 0);
    EXPECT_SEG(p, &g, PS_TCP_ACK, p->irs + 1, p->iss + 1, 0);
    return fd;
}

#define LPORT 80    /* portstack's listening port */
#define PPORT 40000 /* the peer's port when it connects */
#define RPORT 5000  /* the peer's listening port, for active opens */

#define SA (PS_TCP_SYN | PS_TCP_ACK)
#define A PS_TCP_ACK
#define FA (PS_TCP_FIN | PS_TCP_ACK)
#define RA (PS_TCP_RST | PS_TCP_ACK)
#define PA (PS_TCP_PSH | PS_TCP_ACK)

/* A connection the peer opened, established and accepted. */
struct conn {
    struct net *n;
    struct tcp_peer p;
    int lfd, fd;
    uint32_t iss; /* portstack's ISN */
};

static inline void conn_passive(struct conn *c, const struct ps_config *cfg)
{
    c->n = tcp_host(cfg);
    REQUIRE(c->n);
    c->lfd = tcp_listener(c->n, LPORT);
    peer_init(&c->p, c->n, LPORT, PPORT, PISS);
    c->fd = peer_passive_open(&c->p, c->lfd);
    c->iss = c->p.irs;
}

static inline void conn_active(struct conn *c, const struct ps_config *cfg)
{
    c->n = tcp_host(cfg);
    REQUIRE(c->n);
    c->lfd = -1;
    peer_init(&c->p, c->n, 0, RPORT, PISS);
    c->fd = peer_active_open(&c->p);
    c->iss = c->p.irs;
}

/* Test data: byte i of stream `seed`. */
static inline void tcp_pattern(uint8_t *b, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        uint32_t x = (uint32_t)i * 2654435761u + seed;
        b[i] = (uint8_t)(x >> 24 ^ x >> 11 ^ (uint32_t)i);
    }
}

#endif /* PS_TEST_TCP_PEER_H */
