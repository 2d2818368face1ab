/*
 * TCP's shared machinery: per-stack set-up, the life cycle of a block,
 * deferred readiness events, RSTs for segments no connection owns
 * (RFC 9293 3.10.7.1), and ICMP errors (RFC 1122 4.2.3.9, RFC 5927).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

/* ---- the stack's TCP ----------------------------------------------------------- */

int ps_tcp_init(struct ps_stack *s)
{
    s->tcp = calloc(1, sizeof(*s->tcp));
    if (!s->tcp)
        return -ENOMEM;
    ps_tcp_syncookie_init(s);
    return ps_tcp_tw_init(s); /* TIME_WAIT records */
}

void ps_tcp_fini(struct ps_stack *s)
{
    ps_tcp_tw_fini(s);
    free(s->tcp);
    s->tcp = NULL;
}

void ps_tcp_set_upcalls(struct ps_stack *s, const struct ps_tcp_upcalls *up)
{
    s->tcp->up = *up;
}

const char *ps_tcp_state_name(enum ps_tcp_state st)
{
    /* As ss prints them. */
    static const char *const names[] = {
        [PS_TCPS_CLOSED] = "UNCONN",          [PS_TCPS_LISTEN] = "LISTEN",
        [PS_TCPS_SYN_SENT] = "SYN-SENT",      [PS_TCPS_SYN_RECEIVED] = "SYN-RECV",
        [PS_TCPS_ESTABLISHED] = "ESTAB",      [PS_TCPS_FIN_WAIT_1] = "FIN-WAIT-1",
        [PS_TCPS_FIN_WAIT_2] = "FIN-WAIT-2",  [PS_TCPS_CLOSE_WAIT] = "CLOSE-WAIT",
        [PS_TCPS_CLOSING] = "CLOSING",        [PS_TCPS_LAST_ACK] = "LAST-ACK",
        [PS_TCPS_TIME_WAIT] = "TIME-WAIT",
    };
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

/* ---- deferred events --------------------------------------------------------------- */

void ps_tcp_notify(struct ps_stack *s, struct ps_tcb *tcb)
{
    struct ps_tcp *t = s->tcp;
    if (tcb->event_queued)
        return;
    tcb->event_queued = true;
    tcb->ev_next = NULL;
    if (t->ev_tail)
        t->ev_tail->ev_next = tcb;
    else
        t->ev_head = tcb;
    t->ev_tail = tcb;
}

static void event_unqueue(struct ps_stack *s, struct ps_tcb *tcb)
{
    struct ps_tcp *t = s->tcp;
    if (!tcb->event_queued)
        return;
    struct ps_tcb *prev = NULL;
    for (struct ps_tcb *e = t->ev_head; e; prev = e, e = e->ev_next) {
        if (e != tcb)
            continue;
        if (prev)
            prev->ev_next = e->ev_next;
        else
            t->ev_head = e->ev_next;
        if (t->ev_tail == e)
            t->ev_tail = prev;
        break;
    }
    tcb->event_queued = false;
}

static void output_unqueue(struct ps_stack *s, struct ps_tcb *tcb)
{
    struct ps_tcp *t = s->tcp;
    if (!tcb->out_queued)
        return;
    tcb->out_queued = false;
    for (unsigned i = 0; i < t->noutq; i++)
        if (t->outq[i] == tcb) {
            memmove(&t->outq[i], &t->outq[i + 1], (t->noutq - i - 1) * sizeof(t->outq[0]));
            t->noutq--;
            return;
        }
}

void ps_tcp_output_later(struct ps_stack *s, struct ps_tcb *tcb)
{
    struct ps_tcp *t = s->tcp;
    if (tcb->out_queued || tcb->state == PS_TCPS_CLOSED)
        return; /* a closed block sends nothing, and may be freed before the flush */
    if (t->noutq == PS_TCP_OUTQ_MAX) {
        ps_tcp_output(s, tcb);
        return;
    }
    tcb->out_queued = true;
    t->outq[t->noutq++] = tcb;
}

void ps_tcp_output_pending(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (!tcb->out_queued)
        return;
    output_unqueue(s, tcb);
    ps_tcp_output(s, tcb);
}

void ps_tcp_flush_events(struct ps_stack *s)
{
    struct ps_tcp *t = s->tcp;
    bool outer = !t->flushing;
    t->flushing = true;
    do {
        /* Pop one at a time: a callback may close sockets (which unqueues
         * them) or cause new events (queued at the tail). */
        while (t->ev_head) {
            struct ps_tcb *tcb = t->ev_head;
            t->ev_head = tcb->ev_next;
            if (!t->ev_head)
                t->ev_tail = NULL;
            tcb->event_queued = false;
            if (t->up.event)
                t->up.event(s, tcb);
        }
        /* A call made from a callback flushes too: only the outermost
         * sends, once every callback has had its say. */
        while (outer && t->noutq)
            ps_tcp_output_pending(s, t->outq[0]);
    } while (outer && t->ev_head);
    if (outer)
        t->flushing = false;
}

/* ---- blocks ---------------------------------------------------------------------------- */

void ps_tcb_init(struct ps_stack *s, struct ps_tcb *tcb)
{
    memset(tcb, 0, sizeof(*tcb));
    tcb->ep.proto = PS_IP_PROTO_TCP;
    tcb->rcvbuf = s->cfg.tcp_rcvbuf;
    tcb->sndbuf = s->cfg.sndbuf;
    ps_tcp_timers_init(tcb);
    ps_tcp_opts_init(s, tcb); /* congestion control, keepalive, user timeout (tcp_keepalive.c) */
}

uint16_t ps_tcp_mss_for(struct ps_stack *s, ps_ip4_t raddr)
{
    struct ps_iface *ifc = NULL;
    unsigned mtu = 1500;
    if (!ps_ip_is_local(s, raddr) && ps_route_lookup(s, raddr, &ifc, NULL, NULL) == 0 && ifc)
        mtu = ifc->mtu;
    unsigned mss = mtu > 40 ? mtu - 40 : PS_TCP_MSS_MIN;
    if (mss > PS_TCP_MSS_MAX)
        mss = PS_TCP_MSS_MAX;
    if (mss < PS_TCP_MSS_MIN)
        mss = PS_TCP_MSS_MIN;
    return (uint16_t)mss;
}

bool ps_tcp_tso_for(struct ps_stack *s, ps_ip4_t raddr)
{
    struct ps_iface *ifc = NULL;
    if (s->cfg.tcp_no_tso || ps_ip_is_local(s, raddr) || ps_route_lookup(s, raddr, &ifc, NULL, NULL) != 0)
        return false;
    return ifc && ifc->transmit_gso;
}

int ps_tcb_rings(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (tcb->snd.buf && tcb->rcv.buf)
        return 0;
    if ((!tcb->snd.buf && (!ps_alloc_ok(s) || ps_ring_alloc(&tcb->snd, tcb->sndbuf) != 0)) ||
        (!tcb->rcv.buf && (!ps_alloc_ok(s) || ps_ring_alloc(&tcb->rcv, tcb->rcvbuf) != 0))) {
        ps_ring_free(&tcb->snd);
        ps_ring_free(&tcb->rcv);
        return -ENOBUFS;
    }
    tcb->rings_later = false;
    return 0;
}

int ps_tcb_start(struct ps_stack *s, struct ps_tcb *tcb, ps_ip4_t laddr, ps_ip4_t raddr)
{
    ps_ring_free(&tcb->snd);
    ps_ring_free(&tcb->rcv);
    /* A half-open child of a listener takes its rings only once the
     * handshake completes (ps_tcp_child_established): a SYN flood must
     * not cost two buffers per SYN. */
    if (!tcb->rings_later && ps_tcb_rings(s, tcb) != 0)
        return -ENOBUFS;
    tcb->error = tcb->soft_error = 0;
    tcb->fin_queued = tcb->fin_rcvd = tcb->shut_rd = false;
    tcb->ooo_fin = false;
    ps_tcp_ranges_free(tcb);
    tcb->rcv_mss = ps_tcp_mss_for(s, raddr);
    tcb->mss = tcb->rcv_mss; /* until the peer's SYN says otherwise */
    tcb->tso = ps_tcp_tso_for(s, raddr);
    /* Our window scale: the smallest shift that lets the whole buffer be
     * advertised (RFC 7323 2.2). */
    tcb->rcv_wscale = 0;
    while (tcb->rcv_wscale < PS_TCP_WSCALE_MAX && (tcb->rcvbuf >> tcb->rcv_wscale) > 65535)
        tcb->rcv_wscale++;
    tcb->snd_wscale = 0;
    tcb->ws_ok = tcb->ts_ok = tcb->sack_ok = false;
    ps_tcp_sack_reset(tcb);
    tcb->ts_offset = ps_tcp_ts_offset(s, laddr, raddr); /* per address pair (tcp_isn.c) */
    tcb->ts_recent = 0;
    tcb->srtt = tcb->rttvar = 0;
    tcb->rto = PS_MS(s->cfg.tcp_rto_initial_ms);
    tcb->rtt_timing = false;
    tcb->retries = 0;
    tcb->persist = false;
    tcb->quickack = 16;
    tcb->ack_now = false;
    tcb->rcv_unacked = 0;
    tcb->bytes_in = 0;
    tcb->retransmits = 0;
    tcb->cwnd = 0;
    /* tcb->cc stays the socket's choice (PS_TCP_CONGESTION). */
    tcb->acct_started = false; /* PS_TCP_INFO counters (tcp_info.c) */
    tcb->acked_total = tcb->sent_total = tcb->segs_in = tcb->segs_out = 0;
    tcb->keep_probes = 0;
    return 0;
}

void ps_tcp_set_state(struct ps_stack *s, struct ps_tcb *tcb, enum ps_tcp_state st)
{
    if (tcb->state == PS_TCPS_TIME_WAIT && st != PS_TCPS_TIME_WAIT)
        ps_tcp_tw_leave(s, tcb);
    bool opened = st == PS_TCPS_ESTABLISHED && tcb->state < PS_TCPS_ESTABLISHED;
    tcb->state = st;
    if (opened)
        ps_tcp_keep_start(s, tcb); /* keepalive counts idle time from here */
    ps_tcp_notify(s, tcb);
}

/* ---- TIME_WAIT list -------------------------------------------------------------------- */

void ps_tcp_tw_enter(struct ps_stack *s, struct ps_tcb *tcb)
{
    struct ps_tcp *t = s->tcp;
    tcb->tw_next = NULL;
    tcb->tw_prev = t->tw_tail;
    if (t->tw_tail)
        t->tw_tail->tw_next = tcb;
    else
        t->tw_head = tcb;
    t->tw_tail = tcb;
    t->tw_count++;
    tcb->ep.flags |= PS_EP_TIMEWAIT;
}

void ps_tcp_tw_leave(struct ps_stack *s, struct ps_tcb *tcb)
{
    struct ps_tcp *t = s->tcp;
    if (!(tcb->ep.flags & PS_EP_TIMEWAIT))
        return;
    if (tcb->tw_prev)
        tcb->tw_prev->tw_next = tcb->tw_next;
    else
        t->tw_head = tcb->tw_next;
    if (tcb->tw_next)
        tcb->tw_next->tw_prev = tcb->tw_prev;
    else
        t->tw_tail = tcb->tw_prev;
    tcb->tw_prev = tcb->tw_next = NULL;
    t->tw_count--;
    tcb->ep.flags &= (uint16_t)~PS_EP_TIMEWAIT;
}

/* ---- the end of a connection ------------------------------------------------------------- */

void ps_tcp_closed(struct ps_stack *s, struct ps_tcb *tcb, int err)
{
    ps_tcp_tw_leave(s, tcb);
    ps_tcp_timers_cancel(s, tcb);
    output_unqueue(s, tcb);
    if (tcb->parent)
        ps_tcp_child_unlink(s, tcb);
    if (tcb->state == PS_TCPS_LISTEN)
        ps_tcp_listen_close(s, tcb);
    ps_ring_free(&tcb->snd);
    ps_tcp_ranges_free(tcb);
    if (tcb->orphan)
        ps_ring_free(&tcb->rcv); /* else what arrived stays readable */
    /* The quadruple (or the listening port) is free again, as in Linux
     * once a socket reaches CLOSE. */
    ps_ports_unbind(s, &tcb->ep);
    if (err && !tcb->error)
        tcb->error = err;
    tcb->state = PS_TCPS_CLOSED;
    tcb->fin_rcvd = true; /* reads see EOF (or the error first) */
    if (tcb->orphan) {
        event_unqueue(s, tcb);
        if (s->tcp->up.release)
            s->tcp->up.release(s, tcb);
        return;
    }
    ps_tcp_notify(s, tcb);
}

void ps_tcp_abort(struct ps_stack *s, struct ps_tcb *tcb, int err)
{
    switch (tcb->state) {
    case PS_TCPS_SYN_RECEIVED:
    case PS_TCPS_ESTABLISHED:
    case PS_TCPS_FIN_WAIT_1:
    case PS_TCPS_FIN_WAIT_2:
    case PS_TCPS_CLOSE_WAIT:
        /* RFC 9293 3.10.4 (ABORT): <SEQ=SND.NXT><CTL=RST>. */
        ps_tcp_send_ctl(s, tcb, tcb->snd_max, PS_TCP_RST | PS_TCP_ACK);
        PS_STAT_INC(s, tcp_conn_abort);
        break;
    default:
        break;
    }
    ps_tcp_closed(s, tcb, err);
}

void ps_tcb_destroy(struct ps_stack *s, struct ps_tcb *tcb)
{
    ps_tcp_tw_leave(s, tcb);
    ps_tcp_timers_cancel(s, tcb);
    event_unqueue(s, tcb);
    output_unqueue(s, tcb);
    ps_ring_free(&tcb->snd);
    ps_ring_free(&tcb->rcv);
    ps_tcp_ranges_free(tcb);
    ps_ports_unbind(s, &tcb->ep);
    tcb->parent = NULL;
    tcb->synq = tcb->acceptq = tcb->acceptq_tail = NULL;
    tcb->state = PS_TCPS_CLOSED;
}

/* ---- segments without a connection ------------------------------------------------------- */

void ps_tcp_respond(struct ps_stack *s, ps_ip4_t src, ps_ip4_t dst, uint16_t sport, uint16_t dport,
                    uint32_t seq, uint32_t ack, uint8_t flags)
{
    struct ps_pbuf *p = ps_pbuf_alloc(s, PS_TCP_HLEN);
    if (!p)
        return;
    struct ps_tcp_hdr h = {.sport = sport, .dport = dport, .seq = seq, .ack = ack, .flags = flags};
    ps_tcp_emit(p->data, &h, src, dst, 0);
    struct ps_ip_tx tx = {.src = src, .dst = dst, .proto = PS_IP_PROTO_TCP, .df = true};
    if (ps_ip_output(s, p, &tx) == 0) {
        PS_STAT_INC(s, tcp_tx);
        if (flags & PS_TCP_RST)
            PS_STAT_INC(s, tcp_rst_tx);
    }
}

void ps_tcp_reset_reply(struct ps_stack *s, const struct ps_ipv4_hdr *ip, const struct ps_tcp_hdr *th,
                        uint32_t seg_len)
{
    if (th->flags & PS_TCP_RST)
        return; /* never a RST for a RST */
    /* RFC 9293 3.10.7.1: an ACK gets <SEQ=SEG.ACK><CTL=RST>; anything
     * else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
    if (th->flags & PS_TCP_ACK)
        ps_tcp_respond(s, ip->dst, ip->src, th->dport, th->sport, th->ack, 0, PS_TCP_RST);
    else
        ps_tcp_respond(s, ip->dst, ip->src, th->dport, th->sport, 0, th->seq + seg_len,
                       PS_TCP_RST | PS_TCP_ACK);
}

/* ---- ICMP errors -------------------------------------------------------------------------- */

bool ps_tcp_icmp_error(struct ps_stack *s, const struct ps_icmp_error *e)
{
    if (e->l4_len < 8)
        return false;
    uint16_t sport = ps_get16(e->l4), dport = ps_get16(e->l4 + 2);
    uint32_t seq = ps_get32(e->l4 + 4);
    struct ps_endpoint *ep = ps_ports_lookup(s, PS_IP_PROTO_TCP, e->dst, dport, e->src, sport);
    if (!ep || !(ep->flags & PS_EP_CONNECTED) || ep->raddr != e->dst || ep->rport != dport)
        return false;
    if (ep->flags & PS_EP_TWREC)
        return true; /* a TIME_WAIT record: nothing in flight */
    struct ps_tcb *tcb = ps_tcb_of(ep);
    if (tcb->state == PS_TCPS_TIME_WAIT || tcb->state == PS_TCPS_CLOSED)
        return true;
    /* RFC 5927 4.1: the quoted sequence number must be one in flight;
     * otherwise the error is forged or stale. */
    if (!ps_seq_geq(seq, tcb->snd_una) || !ps_seq_lt(seq, tcb->snd_max)) {
        PS_STAT_INC(s, tcp_icmp_bad_seq);
        return true;
    }
    PS_STAT_INC(s, tcp_icmp_err);
    PS_STAT_INC(s, tp_icmp_err_delivered);
    if (e->type == PS_ICMP_DEST_UNREACH && e->code == PS_ICMP_UNREACH_NEEDFRAG) {
        /* Path MTU (RFC 1191): lower this connection's MSS and resend. */
        unsigned mtu = e->mtu ? e->mtu : 576;
        if (mtu < s->cfg.tcp_pmtu_min) {
            /* RFC 5927 7: a forged tiny MTU (68) would leave an MSS of a
             * few bytes; no real path needs less than the minimum. */
            PS_STAT_INC(s, tcp_pmtu_clamped);
            mtu = s->cfg.tcp_pmtu_min;
        }
        unsigned mss = mtu > 40 ? mtu - 40 : PS_TCP_MSS_MIN;
        if (mss < PS_TCP_MSS_MIN)
            mss = PS_TCP_MSS_MIN;
        if (mss < tcb->mss) {
            tcb->mss = (uint16_t)mss;
            PS_STAT_INC(s, tcp_pmtu_lowered);
            tcb->snd_nxt = tcb->snd_una; /* what was sent too big is lost */
            ps_tcp_output(s, tcb);
        }
        ps_tcp_flush_events(s);
        return true;
    }
    int err;
    if (e->type == PS_ICMP_DEST_UNREACH) {
        err = (e->code == PS_ICMP_UNREACH_PORT || e->code == PS_ICMP_UNREACH_PROTO) ? ECONNREFUSED
              : (e->code == PS_ICMP_UNREACH_NET) ? ENETUNREACH : EHOSTUNREACH;
    } else if (e->type == PS_ICMP_TIME_EXCEEDED || e->type == PS_ICMP_PARAM_PROBLEM) {
        err = e->type == PS_ICMP_PARAM_PROBLEM ? EPROTO : EHOSTUNREACH;
    } else {
        return true; /* source quench and the rest: ignored (RFC 6633) */
    }
    /* RFC 1122 4.2.3.9: port and protocol unreachable are hard errors and
     * abort a connection still opening; everything else is soft, kept to
     * explain a later timeout, and never kills a connection (RFC 5461). */
    if (tcb->state == PS_TCPS_SYN_SENT && err == ECONNREFUSED) {
        PS_STAT_INC(s, tcp_conn_refused);
        ps_tcp_closed(s, tcb, ECONNREFUSED);
    } else {
        tcb->soft_error = err;
    }
    ps_tcp_flush_events(s);
    return true;
}
