/*
 * ps_stack_check(), the transport side (check.h): the socket table, each
 * socket's protocol block, TCP listeners and their queues, TIME_WAIT
 * (blocks held by sockets, and compact records), and the ports tables.
 *
 * The rules, per TCP state (RFC 9293 and how this stack keeps them):
 *   CLOSED       in no ports table, no timer armed, no send ring, and
 *                never a hidden entry (an orphan is released on close);
 *   LISTEN       bound and flagged listening, not connected, no timer;
 *                its half-open and accept queues hold exactly their
 *                counts, within their bounds, each child pointing back;
 *   SYN states   connected, found by the demultiplexer, the
 *                retransmission timer armed;
 *   synchronized SND.UNA <= SND.NXT <= SND.MAX within the send ring,
 *                anything in flight has the retransmission timer, data
 *                or a FIN waiting with nothing in flight has a timer to
 *                send it (else the connection would stall), keepalive
 *                armed when on, an orphan in FIN-WAIT-2 timed, out-of-order
 *                ranges sorted, bounded and inside the receive ring;
 *   TIME-WAIT    on the TIME_WAIT list with its 2*MSL timer, buffers gone.
 * Every endpoint in the ports tables belongs to a socket in use or to a
 * TIME_WAIT record, and every bound endpoint is in the tables.
 */
#include <stddef.h>

#include "core/check.h"
#include "socket/sockets.h"
#include "transport/tcp_seq.h"

/* The lookups below only read, whatever their prototypes say. */
static struct ps_stack *rw(const struct ps_stack *s)
{
    return (struct ps_stack *)(uintptr_t)s;
}

static bool demux_finds(const struct ps_stack *s, const struct ps_endpoint *ep)
{
    return ps_ports_lookup(rw(s), ep->proto, ep->raddr, ep->rport, ep->laddr, ep->lport) == ep;
}

/* The socket in the table at address p (where a struct ps_sock would
 * start), or NULL: the table's entry for the number it says it has must
 * be p itself.  (Reading that number from a stale pointer is a read of
 * freed memory, which the sanitizers report: a finding too.) */
static const struct ps_sock *sock_at(const struct ps_stack *s, const void *p)
{
    const struct ps_sockets *t = s->sockets;
    const struct ps_sock *sk = p;
    if (sk->fd < 0 || (unsigned)sk->fd >= t->max || t->tab[sk->fd] != sk)
        return NULL;
    return sk;
}

/* The STREAM socket in use holding tcb, or NULL. */
static const struct ps_sock *stream_of(const struct ps_stack *s, const struct ps_tcb *tcb)
{
    const struct ps_sock *sk = sock_at(s, (const char *)tcb - offsetof(struct ps_sock, u.stream.tcb));
    return sk && sk->used && sk->type == PS_SOCK_STREAM ? sk : NULL;
}

static bool is_tw_record(const struct ps_stack *s, const struct ps_endpoint *ep)
{
    const char *b = (const char *)ep, *base = (const char *)s->tcp->tw_pool;
    size_t size = ps_tcp_tw_record_size();
    return base && b >= base && b < base + (size_t)s->cfg.tcp_timewait_max * size &&
           (size_t)(b - base) % size == 0;
}

/* What the table walk found, compared with the other views afterwards. */
struct census {
    unsigned bound_udp, bound_tcp; /* socket endpoints flagged bound */
    unsigned timewait;             /* sockets in TIME-WAIT */
};

/* ---- UDP ------------------------------------------------------------------------------- */

static void check_udp(struct ps_check *c, const struct ps_sock *sk)
{
    const struct ps_stack *s = c->s;
    const struct ps_udp_pcb *pcb = &sk->u.udp;
    const struct ps_endpoint *ep = &pcb->ep;
    unsigned fd = (unsigned)sk->fd;
    if (ep->proto != PS_IP_PROTO_UDP || (ep->flags & (PS_EP_LISTEN | PS_EP_TIMEWAIT | PS_EP_TWREC))) {
        ps_check_fail(c, "UDP socket %u: protocol or flags wrong (%#x)", fd, (unsigned)ep->flags);
        return;
    }
    if ((ep->flags & PS_EP_CONNECTED) && (!(ep->flags & PS_EP_BOUND) || !demux_finds(s, ep))) {
        ps_check_fail(c, "UDP socket %u: connected but not what the demultiplexer finds", fd);
        return;
    }
    if (pcb->mark) {
        ps_check_fail(c, "UDP socket %u: a broadcast delivery mark was left set", fd);
        return;
    }
    ps_check_pbuf_queue(c, pcb->rq_head, pcb->rq_count, s->cfg.udp_rcvq_max, "UDP receive queue");
    size_t bytes = 0;
    const struct ps_pbuf *last = NULL;
    for (const struct ps_pbuf *p = pcb->rq_head; p && !c->failed; p = p->next) {
        if (p->len < PS_UDP_HLEN)
            ps_check_fail(c, "UDP socket %u: a queued datagram is shorter than its header", fd);
        bytes += p->len - PS_UDP_HLEN;
        last = p;
    }
    if (!c->failed && (bytes != pcb->rq_bytes || pcb->rq_tail != last))
        ps_check_fail(c, "UDP socket %u: %zu bytes queued, counted %zu (or the tail is wrong)", fd, bytes,
                      pcb->rq_bytes);
}

/* ---- TCP ------------------------------------------------------------------------------- */

static bool any_timer(const struct ps_tcb *t)
{
    for (unsigned k = 0; k < PS_TCPT_COUNT; k++)
        if (ps_tcp_timer_on(t, k))
            return true;
    return t->timer.armed;
}

static void check_listener(struct ps_check *c, const struct ps_sock *sk, const struct ps_tcb *t)
{
    const struct ps_stack *s = c->s;
    unsigned fd = (unsigned)sk->fd;
    uint16_t f = t->ep.flags;
    if (!(f & PS_EP_BOUND) || !(f & PS_EP_LISTEN) || (f & PS_EP_CONNECTED) || sk->hidden || any_timer(t)) {
        ps_check_fail(c, "TCP socket %u: LISTEN with flags %#x, hidden %d, or a timer armed", fd, (unsigned)f,
                      (int)sk->hidden);
        return;
    }
    unsigned n = 0;
    for (const struct ps_tcb *ch = t->synq; ch && !c->failed; ch = ch->lq_next) {
        const struct ps_sock *csk = stream_of(s, ch);
        if (++n > s->sockets->max || !csk || !csk->hidden || ch->parent != t || ch->in_acceptq ||
            ch->state != PS_TCPS_SYN_RECEIVED)
            ps_check_fail(c, "TCP listener %u: half-open child %u is not a hidden SYN-RECEIVED entry of it", fd,
                          n);
    }
    if (!c->failed && (n != t->synq_len || n > s->cfg.tcp_synq_max))
        ps_check_fail(c, "TCP listener %u: %u half-open children, counted %u, bound %u", fd, n, t->synq_len,
                      s->cfg.tcp_synq_max);
    n = 0;
    const struct ps_tcb *last = NULL;
    for (const struct ps_tcb *ch = t->acceptq; ch && !c->failed; ch = ch->lq_next) {
        const struct ps_sock *csk = stream_of(s, ch);
        if (++n > s->sockets->max || !csk || !csk->hidden || ch->parent != t || !ch->in_acceptq ||
            (ch->state != PS_TCPS_ESTABLISHED && ch->state != PS_TCPS_CLOSE_WAIT))
            ps_check_fail(c, "TCP listener %u: accept-queue child %u is not an established hidden entry of it",
                          fd, n);
        last = ch;
    }
    if (!c->failed && (n != t->acceptq_len || n > t->backlog || t->acceptq_tail != last))
        ps_check_fail(c, "TCP listener %u: %u children to accept, counted %u, backlog %u (or a bad tail)", fd, n,
                      t->acceptq_len, t->backlog);
}

/* Sequence numbers, buffers and timers of a synchronized connection. */
static void check_synchronized(struct ps_check *c, const struct ps_sock *sk, const struct ps_tcb *t)
{
    const struct ps_stack *s = c->s;
    unsigned fd = (unsigned)sk->fd;
    const char *st = ps_tcp_state_name(t->state);
    uint32_t fin = t->fin_queued ? 1 : 0;
    /* A connection closed in SYN-RECEIVED goes to FIN-WAIT-1 (RFC 9293
     * 3.10.4) with its SYN still unacknowledged: SND.UNA is the ISS. */
    uint32_t syn = t->snd_una == t->iss && t->sb_seq == t->iss + 1 ? 1 : 0;
    if (!ps_seq_geq(t->snd_una + syn, t->sb_seq) || !ps_seq_leq(t->snd_una, t->sb_seq + fin) ||
        !ps_seq_leq(t->snd_max, t->sb_seq + t->snd.len + fin)) {
        ps_check_fail(c, "TCP socket %u (%s): SND.UNA %u / SND.MAX %u outside the send ring [%u, +%u]", fd, st,
                      t->snd_una, t->snd_max, t->sb_seq, t->snd.len);
        return;
    }
    bool in_flight = t->snd_una != t->snd_max;
    uint32_t off = t->snd_nxt - t->sb_seq;
    bool waiting = off < t->snd.len || (t->fin_queued && ps_seq_leq(t->snd_nxt, t->fin_seq));
    if (t->state == PS_TCPS_TIME_WAIT) {
        if (!ps_tcp_timer_on(t, PS_TCPT_CONN) || ps_tcp_timer_on(t, PS_TCPT_REXMIT) || t->snd.cap || t->orphan)
            ps_check_fail(c, "TCP socket %u: TIME-WAIT without its 2*MSL timer, or with a send ring, or orphaned",
                          fd);
        return;
    }
    if (in_flight && !ps_tcp_timer_on(t, PS_TCPT_REXMIT))
        ps_check_fail(c, "TCP socket %u (%s): %u bytes in flight without the retransmission timer", fd, st,
                      t->snd_max - t->snd_una);
    else if (waiting && !in_flight && !ps_tcp_timer_on(t, PS_TCPT_REXMIT))
        ps_check_fail(c, "TCP socket %u (%s): data or a FIN waits, nothing in flight, no timer to send it", fd,
                      st);
    else if (t->keepalive && !ps_tcp_timer_on(t, PS_TCPT_KEEP))
        ps_check_fail(c, "TCP socket %u (%s): keepalive on but its timer is not armed", fd, st);
    else if (t->state == PS_TCPS_FIN_WAIT_2 && t->orphan && s->cfg.tcp_fin_wait2_ms && !ps_tcp_timer_on(t, PS_TCPT_CONN))
        ps_check_fail(c, "TCP socket %u: an orphan in FIN-WAIT-2 without its timeout", fd);
    if (c->failed)
        return;
    unsigned max = s->cfg.tcp_ooo_max < PS_TCP_OOO_SLOTS ? s->cfg.tcp_ooo_max : PS_TCP_OOO_SLOTS;
    uint32_t prev_end = t->rcv_nxt, room = t->rcv.cap - t->rcv.len;
    if (t->nooo > max || (t->nooo && !t->ooo))
        ps_check_fail(c, "TCP socket %u: %u out-of-order ranges, bound %u (or no table)", fd, t->nooo, max);
    for (unsigned i = 0; i < t->nooo && !c->failed; i++) {
        const struct ps_tcp_ooo *r = &t->ooo[i];
        if (!ps_seq_gt(r->start, prev_end) || !ps_seq_gt(r->end, r->start) || r->end - t->rcv_nxt > room)
            ps_check_fail(c, "TCP socket %u: out-of-order range %u [%u, %u) not sorted above RCV.NXT %u in the ring",
                          fd, i, r->start, r->end, t->rcv_nxt);
        prev_end = r->end;
    }
}

static void check_tcb(struct ps_check *c, const struct ps_sock *sk, struct census *cs)
{
    const struct ps_stack *s = c->s;
    const struct ps_tcb *t = &sk->u.stream.tcb;
    const struct ps_endpoint *ep = &t->ep;
    unsigned fd = (unsigned)sk->fd;
    const char *st = ps_tcp_state_name(t->state);
    ps_check_timer(c, &t->timer, "TCP connection's timer");
    if (c->failed)
        return;
    /* The heap entry stands for the earliest deadline: armed no later. */
    for (unsigned k = 0; k < PS_TCPT_COUNT && !c->failed; k++)
        if (ps_tcp_timer_on(t, k) && (!t->timer.armed || t->timer.when > t->due[k]))
            ps_check_fail(c, "TCP socket %u (%s): timer %u due at %llu but the heap entry is %s %llu", fd, st, k,
                          (unsigned long long)t->due[k], t->timer.armed ? "at" : "off, was",
                          (unsigned long long)t->timer.when);
    if (c->failed)
        return;
    bool connected = ep->flags & PS_EP_CONNECTED, listening = ep->flags & PS_EP_LISTEN;
    if (ep->proto != PS_IP_PROTO_TCP || (ep->flags & PS_EP_TWREC) || t->state > PS_TCPS_TIME_WAIT)
        ps_check_fail(c, "TCP socket %u: protocol, state or flags wrong", fd);
    else if (t->event_queued || t->out_queued)
        ps_check_fail(c, "TCP socket %u (%s): a readiness event or its output still queued between calls", fd,
                      st);
    else if (sk->hidden != t->orphan)
        ps_check_fail(c, "TCP socket %u (%s): hidden %d but orphan %d", fd, st, (int)sk->hidden, (int)t->orphan);
    else if (t->snd.len > t->snd.cap || t->rcv.len > t->rcv.cap || !t->snd.buf != !t->snd.cap ||
             !t->rcv.buf != !t->rcv.cap)
        ps_check_fail(c, "TCP socket %u (%s): a buffer ring is inconsistent", fd, st);
    else if ((t->state == PS_TCPS_TIME_WAIT) != ((ep->flags & PS_EP_TIMEWAIT) != 0))
        ps_check_fail(c, "TCP socket %u (%s): TIME_WAIT flag %#x disagrees with the state", fd, st,
                      (unsigned)ep->flags);
    if (c->failed)
        return;
    cs->timewait += t->state == PS_TCPS_TIME_WAIT;
    switch (t->state) {
    case PS_TCPS_CLOSED:
        if (connected || listening || any_timer(t) || sk->hidden || t->parent || t->snd.cap)
            ps_check_fail(c, "TCP socket %u: CLOSED but in the tables (%#x), timed, hidden or holding a send ring",
                          fd, (unsigned)ep->flags);
        return;
    case PS_TCPS_LISTEN:
        check_listener(c, sk, t);
        return;
    default:
        break;
    }
    if (!connected || listening || !(ep->flags & PS_EP_BOUND) || !demux_finds(s, ep)) {
        ps_check_fail(c, "TCP socket %u (%s): not what the demultiplexer finds for its quadruple", fd, st);
        return;
    }
    if (t->parent && (!t->passive || t->parent->state != PS_TCPS_LISTEN || !stream_of(s, t->parent))) {
        ps_check_fail(c, "TCP socket %u (%s): its listener is not a listening socket", fd, st);
        return;
    }
    if (!ps_seq_leq(t->snd_una, t->snd_nxt) || !ps_seq_leq(t->snd_nxt, t->snd_max)) {
        ps_check_fail(c, "TCP socket %u (%s): SND.UNA %u <= SND.NXT %u <= SND.MAX %u broken", fd, st, t->snd_una,
                      t->snd_nxt, t->snd_max);
        return;
    }
    if (t->state == PS_TCPS_SYN_SENT || t->state == PS_TCPS_SYN_RECEIVED) {
        if (!ps_tcp_timer_on(t, PS_TCPT_REXMIT))
            ps_check_fail(c, "TCP socket %u (%s): no retransmission timer", fd, st);
        else if (t->state == PS_TCPS_SYN_RECEIVED && t->passive && (!t->parent || t->in_acceptq))
            ps_check_fail(c, "TCP socket %u: a half-open child not on its listener's queue", fd);
        return;
    }
    check_synchronized(c, sk, t);
}

/* ---- the socket table ------------------------------------------------------------------ */

static void check_sockets(struct ps_check *c, struct census *cs)
{
    const struct ps_stack *s = c->s;
    const struct ps_sockets *t = s->sockets;
    unsigned used = 0;
    for (unsigned w = 0; w < t->hint && w < t->nwords; w++)
        if (t->free_map[w])
            return (void)ps_check_fail(c, "sockets: a free entry below the search hint");
    for (unsigned i = 0; i < t->max && !c->failed; i++) {
        const struct ps_sock *sk = t->tab[i];
        bool is_free = (t->free_map[i / 64] >> (i % 64)) & 1;
        if ((sk != NULL) == is_free || (sk && !sk->used)) {
            ps_check_fail(c, "sockets: entry %u used %d, free map %d", i, (int)(sk != NULL), (int)is_free);
            break;
        }
        if (!sk)
            continue;
        used++;
        if (sk->fd != (int)i) {
            ps_check_fail(c, "sockets: entry %u says it is %d", i, sk->fd);
            break;
        }
        if (sk->type == PS_SOCK_DGRAM) {
            check_udp(c, sk);
            cs->bound_udp += (sk->u.udp.ep.flags & PS_EP_BOUND) != 0;
        } else if (sk->type == PS_SOCK_STREAM) {
            check_tcb(c, sk, cs);
            cs->bound_tcp += (sk->u.stream.tcb.ep.flags & PS_EP_BOUND) != 0;
        } else {
            ps_check_fail(c, "sockets: entry %u has type %d", i, sk->type);
        }
    }
    if (!c->failed && used != t->nused)
        ps_check_fail(c, "sockets: %u entries used, counted %u", used, t->nused);
}

/* ---- TIME_WAIT ---------------------------------------------------------------------------- */

static void check_timewait(struct ps_check *c, const struct census *cs)
{
    const struct ps_stack *s = c->s;
    const struct ps_tcp *tp = s->tcp;
    unsigned n = 0;
    const struct ps_tcb *prev = NULL;
    for (const struct ps_tcb *t = tp->tw_head; t && !c->failed; prev = t, t = t->tw_next) {
        if (++n > s->sockets->max || t->tw_prev != prev || t->state != PS_TCPS_TIME_WAIT || !stream_of(s, t))
            ps_check_fail(c, "TIME_WAIT list: entry %u is not a TIME-WAIT socket linked back", n);
    }
    if (!c->failed && (tp->tw_tail != prev || n != tp->tw_count || n != cs->timewait))
        ps_check_fail(c, "TIME_WAIT list: %u linked, counted %u, sockets in TIME-WAIT %u (or a bad tail)", n,
                      tp->tw_count, cs->timewait);
    if (!c->failed && s->cfg.tcp_timewait_max && n > s->cfg.tcp_timewait_max)
        ps_check_fail(c, "TIME_WAIT list: %u sockets, bound %u", n, s->cfg.tcp_timewait_max);
    /* The compact records. */
    ps_check_timer(c, &tp->tw_timer, "TIME_WAIT record timer");
    n = 0;
    for (const struct ps_endpoint *ep = ps_tcp_tw_next(s, NULL); ep && !c->failed; ep = ps_tcp_tw_next(s, ep)) {
        uint16_t want = PS_EP_TWREC | PS_EP_TIMEWAIT | PS_EP_CONNECTED | PS_EP_BOUND;
        if (++n > s->cfg.tcp_timewait_max || !is_tw_record(s, ep) || (ep->flags & want) != want ||
            ep->proto != PS_IP_PROTO_TCP || !demux_finds(s, ep))
            ps_check_fail(c, "TIME_WAIT record %u: beyond the bound, outside the pool, or not in the tables", n);
    }
    if (!c->failed && (n != ps_tcp_tw_count(s) || (n > 0) != tp->tw_timer.armed))
        ps_check_fail(c, "TIME_WAIT records: %u listed, counted %u, timer armed %d", n, ps_tcp_tw_count(s),
                      (int)tp->tw_timer.armed);
}

/* ---- the ports tables ---------------------------------------------------------------------- */

struct ports_walk {
    struct ps_check *c;
    uint8_t proto;
    unsigned n, records, limit;
};

static int visit_endpoint(void *ctx, struct ps_endpoint *ep)
{
    struct ports_walk *w = ctx;
    struct ps_check *c = w->c;
    const struct ps_stack *s = c->s;
    if (++w->n > w->limit)
        return !ps_check_fail(c, "ports: more endpoints than sockets and records (a cycle?)");
    if (ep->proto != w->proto || !(ep->flags & PS_EP_BOUND))
        return !ps_check_fail(c, "ports: endpoint on port %u not flagged bound or of another protocol", ep->lport);
    if (ep->flags & PS_EP_TWREC) {
        if (w->proto != PS_IP_PROTO_TCP || !is_tw_record(s, ep))
            return !ps_check_fail(c, "ports: a TIME_WAIT record outside the record pool");
        w->records++;
        return 0;
    }
    size_t off = w->proto == PS_IP_PROTO_TCP ? offsetof(struct ps_sock, u.stream.tcb.ep)
                                             : offsetof(struct ps_sock, u.udp.ep);
    const struct ps_sock *sk = sock_at(s, (const char *)ep - off);
    int type = w->proto == PS_IP_PROTO_TCP ? PS_SOCK_STREAM : PS_SOCK_DGRAM;
    if (!sk || !sk->used || sk->type != type)
        return !ps_check_fail(c, "ports: an endpoint on port %u belongs to no socket in use (closed or stale)",
                              ep->lport);
    return 0;
}

static void check_ports(struct ps_check *c, const struct census *cs)
{
    const struct ps_stack *s = c->s;
    static const uint8_t protos[2] = {PS_IP_PROTO_UDP, PS_IP_PROTO_TCP};
    for (int i = 0; i < 2 && !c->failed; i++) {
        struct ports_walk w = {.c = c, .proto = protos[i], .limit = 2 * s->sockets->max + s->cfg.tcp_timewait_max + 1};
        ps_ports_foreach(rw(s), protos[i], visit_endpoint, &w);
        if (c->failed)
            break;
        unsigned bound = protos[i] == PS_IP_PROTO_TCP ? cs->bound_tcp + ps_tcp_tw_count(s) : cs->bound_udp;
        unsigned in_use = ps_ports_in_use(rw(s), protos[i]);
        if (w.n != in_use || w.n != bound)
            ps_check_fail(c, "ports (%s): %u endpoints in the tables, counted %u, bound sockets and records %u",
                          protos[i] == PS_IP_PROTO_TCP ? "TCP" : "UDP", w.n, in_use, bound);
    }
}

void ps_check_transport(struct ps_check *c)
{
    const struct ps_stack *s = c->s;
    struct census cs = {0};
    ps_check_timer(c, &s->port_rekey_timer, "port re-key timer");
    if (s->cfg.port_rekey_ms && !s->port_rekey_timer.armed)
        ps_check_fail(c, "ports: the re-key timer is not armed");
    if (s->tcp->ev_head || s->tcp->ev_tail || s->tcp->noutq || s->tcp->flushing)
        ps_check_fail(c, "TCP: readiness events or deferred output still queued between calls");
    if (!c->failed)
        check_sockets(c, &cs);
    if (!c->failed)
        check_timewait(c, &cs);
    if (!c->failed)
        check_ports(c, &cs);
}
