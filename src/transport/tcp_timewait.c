/*
 * TIME_WAIT as compact records (RFC 9293 3.6, 3.10.7.4).
 *
 * When a connection whose socket is closed reaches TIME_WAIT (and when a
 * socket still holding a TIME_WAIT connection is closed), its socket-table
 * entry and its buffers go back at once; a small record takes its place in
 * the ports module's quad hash and port bucket (ps_ports_replace: the
 * record is an endpoint flagged PS_EP_TIMEWAIT | PS_EP_TWREC, so the bind
 * rules and the demultiplexer see it as they saw the connection).
 *
 * The records live in one pool of cfg.tcp_timewait_max entries allocated
 * with the stack, linked by 32-bit indices in a list ordered by expiry;
 * one stack-wide timer runs for the earliest.  When the pool is full the
 * oldest record is dropped first (tcp_timewait_overflow).
 *
 * What a record does with a segment (as RFC 9293, RFC 5961, RFC 6191 and
 * Linux's tcp_timewait_state_process):
 *   - a SYN with a newer timestamp (or, without timestamps, a sequence
 *     number above RCV.NXT) reopens the quadruple: the record goes and the
 *     SYN reaches the listener, whose new connection starts at an ISS
 *     above the old SND.NXT;
 *   - a retransmitted FIN is ACKed and restarts 2*MSL;
 *   - a RST exactly at RCV.NXT ends the record; another in the window earns
 *     a challenge ACK;
 *   - anything else unacceptable (an old SYN, PAWS failure, data) is
 *     answered with an ACK within the stack's challenge-ACK budget; a bare
 *     ACK at RCV.NXT is dropped.
 * A connect() toward a quadruple a record holds reuses it only when the
 * connection used timestamps and the last one the peer sent is at least
 * PS_TCP_TW_REUSE_MS old (Linux's tcp_tw_reuse, RFC 6191 4.2): the peer's
 * next timestamps are then newer, so PAWS separates the incarnations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

/* A connect() may reuse a record's quadruple this long after the peer's
 * last timestamp (Linux: the next second). */
#define PS_TCP_TW_REUSE_MS 1000
/* The ISS of a connection replacing a record: past the old SND.NXT by a
 * maximal unscaled window and the SYN (as Linux). */
#define PS_TCP_TW_ISS_GAP (65535u + 2u)

#define TW_F_TS 0x01       /* timestamps were in use */
#define TW_WSCALE_SHIFT 4  /* our window scale, in the flags' high nibble */

struct ps_tcp_tw {
    struct ps_endpoint ep;  /* first: quadruple, flags, table links */
    uint32_t snd_nxt, rcv_nxt;
    uint32_t ts_recent;     /* the peer's last TSval (TS.Recent) */
    uint32_t ts_offset;     /* our TSval clock's offset */
    ps_time_t expiry;
    uint32_t prev, next;    /* expiry list (pool indices), or the free list */
    uint32_t ts_recent_ms;  /* when TS.Recent came (stack ms, wrapping) */
    uint16_t rcv_wnd;       /* the window field our ACKs carry */
    uint8_t ttl;
    uint8_t flags;          /* TW_F_*, our window scale */
};

size_t ps_tcp_tw_record_size(void)
{
    return sizeof(struct ps_tcp_tw);
}

static struct ps_tcp_tw *tw_at(const struct ps_tcp *t, uint32_t i)
{
    return i == PS_TCP_TW_NIL ? NULL : &t->tw_pool[i];
}

static uint32_t tw_index(const struct ps_tcp *t, const struct ps_tcp_tw *tw)
{
    return (uint32_t)(tw - t->tw_pool);
}

static uint32_t now_ms(const struct ps_stack *s)
{
    return (uint32_t)(s->now / 1000);
}

/* ---- the pool and the expiry list ------------------------------------------------- */

static void tw_fire(struct ps_stack *s, struct ps_timer *tm);

int ps_tcp_tw_init(struct ps_stack *s)
{
    struct ps_tcp *t = s->tcp;
    unsigned n = s->cfg.tcp_timewait_max;
    t->tw_first = t->tw_last = t->tw_free = PS_TCP_TW_NIL;
    t->tw_nrec = 0;
    ps_timer_init(&t->tw_timer, tw_fire);
    if (n == 0)
        return 0;
    t->tw_pool = calloc(n, sizeof(*t->tw_pool));
    if (!t->tw_pool)
        return -ENOMEM;
    for (uint32_t i = n; i-- > 0;) {
        t->tw_pool[i].next = t->tw_free;
        t->tw_free = i;
    }
    return 0;
}

void ps_tcp_tw_fini(struct ps_stack *s)
{
    struct ps_tcp *t = s->tcp;
    if (!t)
        return;
    ps_stack_timer_cancel(s, &t->tw_timer);
    free(t->tw_pool); /* the ports tables go with the stack */
    t->tw_pool = NULL;
    t->tw_first = t->tw_last = t->tw_free = PS_TCP_TW_NIL;
    t->tw_nrec = 0;
}

unsigned ps_tcp_tw_count(const struct ps_stack *s)
{
    return s->tcp->tw_nrec;
}

static void timer_update(struct ps_stack *s)
{
    struct ps_tcp *t = s->tcp;
    struct ps_tcp_tw *first = tw_at(t, t->tw_first);
    if (!first)
        ps_stack_timer_cancel(s, &t->tw_timer);
    else if (!t->tw_timer.armed || t->tw_timer.when != first->expiry)
        ps_stack_timer_arm(s, &t->tw_timer, first->expiry);
}

static void list_unlink(struct ps_tcp *t, struct ps_tcp_tw *tw)
{
    if (tw->prev != PS_TCP_TW_NIL)
        t->tw_pool[tw->prev].next = tw->next;
    else
        t->tw_first = tw->next;
    if (tw->next != PS_TCP_TW_NIL)
        t->tw_pool[tw->next].prev = tw->prev;
    else
        t->tw_last = tw->prev;
    tw->prev = tw->next = PS_TCP_TW_NIL;
}

/* Insert in expiry order; a fresh 2*MSL is the latest, so this is O(1)
 * but for a record made from a socket closed late in its TIME_WAIT. */
static void list_insert(struct ps_tcp *t, struct ps_tcp_tw *tw)
{
    uint32_t i = tw_index(t, tw), after = t->tw_last;
    while (after != PS_TCP_TW_NIL && t->tw_pool[after].expiry > tw->expiry)
        after = t->tw_pool[after].prev;
    tw->prev = after;
    tw->next = after == PS_TCP_TW_NIL ? t->tw_first : t->tw_pool[after].next;
    if (after == PS_TCP_TW_NIL)
        t->tw_first = i;
    else
        t->tw_pool[after].next = i;
    if (tw->next == PS_TCP_TW_NIL)
        t->tw_last = i;
    else
        t->tw_pool[tw->next].prev = i;
}

/* The record ends: its quadruple is free again. */
static void tw_free(struct ps_stack *s, struct ps_tcp_tw *tw)
{
    struct ps_tcp *t = s->tcp;
    list_unlink(t, tw);
    ps_ports_unbind(s, &tw->ep);
    tw->ep.flags = 0;
    tw->next = t->tw_free;
    t->tw_free = tw_index(t, tw);
    t->tw_nrec--;
    PS_GAUGE_SET(s, tcp_timewait_records, t->tw_nrec);
    timer_update(s);
}

static void tw_fire(struct ps_stack *s, struct ps_timer *tm)
{
    (void)tm;
    struct ps_tcp *t = s->tcp;
    struct ps_tcp_tw *tw;
    while ((tw = tw_at(t, t->tw_first)) && tw->expiry <= s->now) {
        PS_STAT_INC(s, tcp_timewait_expired);
        tw_free(s, tw);
    }
    timer_update(s);
}

bool ps_tcp_tw_create(struct ps_stack *s, struct ps_tcb *tcb, ps_time_t expiry)
{
    struct ps_tcp *t = s->tcp;
    if (!t->tw_pool || !(tcb->ep.flags & PS_EP_CONNECTED) || !ps_alloc_ok(s))
        return false;
    if (t->tw_free == PS_TCP_TW_NIL) {
        /* Full: the oldest goes first (counted). */
        PS_STAT_INC(s, tcp_timewait_overflow);
        tw_free(s, tw_at(t, t->tw_first));
    }
    struct ps_tcp_tw *tw = tw_at(t, t->tw_free);
    t->tw_free = tw->next;
    t->tw_nrec++;
    PS_GAUGE_SET(s, tcp_timewait_records, t->tw_nrec);
    /* A socket's TIME_WAIT block leaves the blocks' list first. */
    ps_tcp_tw_leave(s, tcb);
    memset(tw, 0, sizeof(*tw));
    ps_ports_replace(s, &tcb->ep, &tw->ep);
    tw->ep.flags |= PS_EP_TIMEWAIT | PS_EP_TWREC;
    tw->snd_nxt = tcb->snd_max;
    tw->rcv_nxt = tcb->rcv_nxt;
    uint32_t wnd = ps_seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? (tcb->rcv_adv - tcb->rcv_nxt) >> tcb->rcv_wscale : 0;
    tw->rcv_wnd = (uint16_t)(wnd > 65535 ? 65535 : wnd);
    tw->ttl = tcb->ttl;
    tw->flags = (uint8_t)((tcb->ts_ok ? TW_F_TS : 0) | (tcb->rcv_wscale << TW_WSCALE_SHIFT));
    tw->ts_recent = tcb->ts_recent;
    tw->ts_offset = tcb->ts_offset;
    tw->ts_recent_ms = (uint32_t)(tcb->ts_recent_age / 1000);
    tw->expiry = expiry;
    list_insert(t, tw);
    timer_update(s);
    return true;
}

/* ---- segments ------------------------------------------------------------------------ */

void ps_tcp_send_raw(struct ps_stack *s, ps_ip4_t src, ps_ip4_t dst, uint16_t sport, uint16_t dport,
                     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window, const struct ps_tcp_opts *o,
                     uint8_t ttl)
{
    struct ps_tcp_hdr h = {.sport = sport, .dport = dport, .seq = seq, .ack = ack, .flags = flags,
                           .window = window};
    if (o)
        h.opt = *o;
    size_t hlen = PS_TCP_HLEN + ps_tcp_opts_len(&h.opt);
    struct ps_pbuf *p = ps_pbuf_alloc(s, hlen);
    if (!p)
        return;
    ps_tcp_emit(p->data, &h, src, dst, 0);
    struct ps_ip_tx tx = {.src = src, .dst = dst, .proto = PS_IP_PROTO_TCP, .ttl = ttl, .df = true};
    if (ps_ip_output(s, p, &tx) == 0) {
        PS_STAT_INC(s, tcp_tx);
        if (flags & PS_TCP_RST)
            PS_STAT_INC(s, tcp_rst_tx);
    }
}

static void tw_send_ack(struct ps_stack *s, const struct ps_tcp_tw *tw)
{
    struct ps_tcp_opts o;
    memset(&o, 0, sizeof(o));
    if (tw->flags & TW_F_TS) {
        o.has_timestamp = true;
        o.tsval = now_ms(s) + tw->ts_offset;
        o.tsecr = tw->ts_recent;
    }
    PS_STAT_INC(s, tcp_timewait_acks);
    ps_tcp_send_raw(s, tw->ep.laddr, tw->ep.raddr, tw->ep.lport, tw->ep.rport, tw->snd_nxt, tw->rcv_nxt,
                    PS_TCP_ACK, tw->rcv_wnd, &o, tw->ttl);
}

/* An ACK for an unacceptable segment, within the stack's RFC 5961 budget
 * (no amplification toward a spoofed sender). */
static void tw_ack_limited(struct ps_stack *s, const struct ps_tcp_tw *tw)
{
    if (ps_tcp_challenge_budget(s))
        tw_send_ack(s, tw);
}

/* RFC 9293 MAY-2 / RFC 6191: the SYN is of a new incarnation. */
static void tw_reopen(struct ps_stack *s, struct ps_tcp_tw *tw, const struct ps_ipv4_hdr *ip,
                      const struct ps_tcp_hdr *th, uint32_t dlen)
{
    uint32_t iss = tw->snd_nxt + PS_TCP_TW_ISS_GAP;
    PS_STAT_INC(s, tcp_timewait_reopen);
    tw_free(s, tw);
    struct ps_endpoint *ep = ps_ports_lookup(s, PS_IP_PROTO_TCP, ip->src, th->sport, ip->dst, th->dport);
    if (ep && !(ep->flags & PS_EP_TWREC) && ps_tcb_of(ep)->state == PS_TCPS_LISTEN) {
        s->tcp->tw_isn = iss;
        s->tcp->tw_isn_set = true;
        ps_tcp_listen_input(s, ps_tcb_of(ep), ip, th, dlen);
        s->tcp->tw_isn_set = false;
    } else {
        PS_STAT_INC(s, tcp_drop_no_port);
        ps_tcp_reset_reply(s, ip, th, dlen + 1);
    }
}

void ps_tcp_tw_input(struct ps_stack *s, struct ps_endpoint *ep, const struct ps_ipv4_hdr *ip,
                     const struct ps_tcp_hdr *th, uint32_t dlen)
{
    struct ps_tcp_tw *tw = (struct ps_tcp_tw *)(void *)ep; /* ep is the first member */
    uint8_t f = th->flags;
    bool ts = (tw->flags & TW_F_TS) && th->opt.has_timestamp;
    /* PAWS (RFC 7323 5.3). */
    bool paws_reject = ts && !(f & PS_TCP_RST) && ps_seq_lt(th->opt.tsval, tw->ts_recent);
    if ((f & PS_TCP_SYN) && !(f & (PS_TCP_ACK | PS_TCP_RST))) {
        bool newer = ts ? ps_seq_gt(th->opt.tsval, tw->ts_recent) : ps_seq_gt(th->seq, tw->rcv_nxt);
        if (newer && !paws_reject) {
            tw_reopen(s, tw, ip, th, dlen);
            return;
        }
        /* An old duplicate SYN: RFC 5961 4.2's challenge ACK. */
        PS_STAT_INC(s, tcp_challenge_ack);
        tw_ack_limited(s, tw);
        return;
    }
    if (paws_reject) {
        PS_STAT_INC(s, tcp_drop_paws);
        tw_ack_limited(s, tw);
        return;
    }
    uint32_t wnd = (uint32_t)tw->rcv_wnd << (tw->flags >> TW_WSCALE_SHIFT);
    if (f & PS_TCP_RST) {
        /* RFC 9293: a RST in TIME-WAIT closes; RFC 5961 3.2: only exactly
         * at RCV.NXT, elsewhere in the window a challenge ACK. */
        if (th->seq == tw->rcv_nxt) {
            PS_STAT_INC(s, tcp_rst_rx);
            PS_STAT_INC(s, tcp_timewait_rst);
            tw_free(s, tw);
            return;
        }
        PS_STAT_INC(s, tcp_rst_ignored);
        if (wnd && ps_seq_in(th->seq, tw->rcv_nxt, tw->rcv_nxt + wnd))
            tw_ack_limited(s, tw);
        return;
    }
    uint32_t seg_len = dlen + ((f & PS_TCP_FIN) ? 1 : 0);
    if ((f & PS_TCP_FIN) && th->seq + seg_len == tw->rcv_nxt) {
        /* The peer's FIN again: our ACK was lost.  ACK it and restart
         * 2*MSL (RFC 9293 3.10.7.4). */
        if (ts)
            tw->ts_recent = th->opt.tsval, tw->ts_recent_ms = now_ms(s);
        list_unlink(s->tcp, tw);
        tw->expiry = s->now + 2 * PS_MS(s->cfg.tcp_msl_ms);
        list_insert(s->tcp, tw);
        timer_update(s);
        tw_send_ack(s, tw);
        return;
    }
    if (seg_len == 0 && th->seq == tw->rcv_nxt && (f & PS_TCP_ACK)) {
        /* A bare ACK in order: nothing to do (Linux's TCP_TW_SUCCESS). */
        if (ts)
            tw->ts_recent = th->opt.tsval, tw->ts_recent_ms = now_ms(s);
        PS_STAT_INC(s, tcp_timewait_drop);
        return;
    }
    /* Data or an old segment: unacceptable, answered with an ACK. */
    if (ps_seq_lt(th->seq + seg_len, tw->rcv_nxt) || (seg_len && th->seq + seg_len == tw->rcv_nxt))
        PS_STAT_INC(s, tcp_dup_segments);
    else
        PS_STAT_INC(s, tcp_drop_out_of_window);
    tw_ack_limited(s, tw);
}

/* ---- connect() ------------------------------------------------------------------------ */

static bool tw_reusable(const struct ps_stack *s, const struct ps_tcp_tw *tw)
{
    return (tw->flags & TW_F_TS) && now_ms(s) - tw->ts_recent_ms >= PS_TCP_TW_REUSE_MS;
}

static int tw_take(struct ps_stack *s, struct ps_tcp_tw *tw, uint32_t *iss, uint32_t *ts_offset)
{
    if (!tw_reusable(s, tw)) {
        PS_STAT_INC(s, tcp_timewait_reuse_unsafe);
        return -EADDRINUSE;
    }
    *iss = tw->snd_nxt + PS_TCP_TW_ISS_GAP;
    *ts_offset = tw->ts_offset; /* our timestamps keep growing */
    PS_STAT_INC(s, tcp_timewait_reuse);
    tw_free(s, tw);
    return 1;
}

int ps_tcp_tw_reuse(struct ps_stack *s, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr, uint16_t rport,
                    uint32_t *iss, uint32_t *ts_offset)
{
    struct ps_tcp *t = s->tcp;
    if (lport) {
        struct ps_endpoint *ep = ps_ports_lookup(s, PS_IP_PROTO_TCP, raddr, rport, laddr, lport);
        if (!ep || !(ep->flags & PS_EP_TWREC) || ep->laddr != laddr || ep->raddr != raddr || ep->rport != rport)
            return 0;
        return tw_take(s, (struct ps_tcp_tw *)(void *)ep, iss, ts_offset);
    }
    /* Every port toward the peer is taken: the oldest record toward it
     * whose timestamps allow it gives its port up. */
    for (uint32_t i = t->tw_first; i != PS_TCP_TW_NIL; i = t->tw_pool[i].next) {
        struct ps_tcp_tw *tw = &t->tw_pool[i];
        if (tw->ep.laddr == laddr && tw->ep.raddr == raddr && tw->ep.rport == rport && tw_reusable(s, tw))
            return tw_take(s, tw, iss, ts_offset);
    }
    return 0;
}

/* ---- listings --------------------------------------------------------------------------- */

const struct ps_endpoint *ps_tcp_tw_next(const struct ps_stack *s, const struct ps_endpoint *prev)
{
    const struct ps_tcp *t = s->tcp;
    if (!t || !t->tw_pool)
        return NULL;
    uint32_t i = prev ? ((const struct ps_tcp_tw *)(const void *)prev)->next : t->tw_first;
    return i == PS_TCP_TW_NIL ? NULL : &t->tw_pool[i].ep;
}
