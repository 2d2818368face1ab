/*
 * TCP output: building segments with their options (MSS, window scale,
 * SACK-permitted, timestamps), the receive window with silly-window
 * avoidance, and the send policy: congestion and peer windows, Nagle's
 * algorithm, sender-side SWS avoidance, delayed ACKs, retransmission.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

uint32_t ps_tcp_ts_now(const struct ps_stack *s, const struct ps_tcb *tcb)
{
    /* A 1 ms clock (RFC 7323 5.4: between 1 ms and 1 s per tick). */
    return (uint32_t)(s->now / 1000) + tcb->ts_offset;
}

uint32_t ps_tcp_eff_mss(const struct ps_tcb *tcb)
{
    uint32_t m = tcb->mss ? tcb->mss : PS_TCP_MSS_DEFAULT;
    if (tcb->ts_ok)
        m -= 12; /* the timestamp option rides on every segment */
    return m;
}

uint32_t ps_tcp_rcv_window(const struct ps_tcb *tcb)
{
    /* A half-open child has no ring yet: it offers the one it will have. */
    uint32_t cap = tcb->rcv.buf ? tcb->rcv.cap : tcb->rcvbuf;
    uint32_t space = tcb->rcv.buf ? ps_ring_space(&tcb->rcv) : tcb->rcvbuf;
    uint32_t cur = ps_seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    /* Receiver SWS avoidance (RFC 9293 3.8.6.2.2): move the right edge
     * only by at least min(buffer/2, MSS). */
    uint32_t thresh = cap / 2 < tcb->rcv_mss ? cap / 2 : tcb->rcv_mss;
    uint32_t win = space > cur && space - cur >= thresh ? space : cur;
    /* Never shrink the window already offered (RFC 9293 3.8.6). */
    if (win < cur)
        win = cur;
    uint32_t max = (uint32_t)65535 << tcb->rcv_wscale;
    return win > max ? max : win;
}

/* Fill the options a segment carries. */
static void fill_opts(struct ps_stack *s, const struct ps_tcb *tcb, uint8_t flags, struct ps_tcp_opts *o)
{
    memset(o, 0, sizeof(*o));
    if (flags & PS_TCP_SYN) {
        bool synack = (flags & PS_TCP_ACK) != 0;
        o->has_mss = true;
        o->mss = tcb->rcv_mss;
        /* On a SYN we offer everything; on a SYN-ACK only what the peer
         * offered (RFC 7323 1.3, RFC 2018 2). */
        if (!synack || tcb->ws_ok) {
            o->has_wscale = true;
            o->wscale = tcb->rcv_wscale;
        }
        if ((!synack || tcb->sack_ok) && !s->cfg.tcp_no_sack)
            o->sack_permitted = true;
        if (!synack || tcb->ts_ok) {
            o->has_timestamp = true;
            o->tsval = ps_tcp_ts_now(s, tcb);
            o->tsecr = synack ? tcb->ts_recent : 0;
        }
        return;
    }
    if (tcb->ts_ok && !(flags & PS_TCP_RST)) {
        o->has_timestamp = true;
        o->tsval = ps_tcp_ts_now(s, tcb);
        o->tsecr = tcb->ts_recent;
    }
    if (tcb->sack_ok && (flags & PS_TCP_ACK) && !(flags & PS_TCP_RST))
        ps_tcp_sack_fill(tcb, o); /* RFC 2018 (tcp_sack.c) */
}

/* Build and send one segment: seq, len bytes of the send ring from seq,
 * flags.  Returns 0 or a negative errno (the segment is then lost, and
 * the retransmission timer recovers). */
static int xmit(struct ps_stack *s, struct ps_tcb *tcb, uint32_t seq, uint32_t len, uint8_t flags)
{
    struct ps_tcp_hdr h = {.sport = tcb->ep.lport, .dport = tcb->ep.rport, .seq = seq, .flags = flags};
    fill_opts(s, tcb, flags, &h.opt);
    if (h.opt.sack_count) {
        /* SACK blocks only as many as fit the option space and, with the
         * data, the MSS (a full segment has no room for any). */
        unsigned k = h.opt.sack_count;
        h.opt.sack_count = 0;
        size_t base = ps_tcp_opts_len(&h.opt);
        while (k && (base + 4 + 8 * k > 40 || len + base + 4 + 8 * k > tcb->mss))
            k--;
        h.opt.sack_count = (uint8_t)k;
        PS_STAT_ADD(s, tcp_sack_blocks_tx, k);
        if (k && tcb->dsack_pending && h.opt.sack[0].left == tcb->dsack_start) {
            tcb->dsack_pending = false; /* a D-SACK is reported once */
            PS_STAT_INC(s, tcp_dsack_tx);
        }
    }
    size_t hlen = PS_TCP_HLEN + ps_tcp_opts_len(&h.opt);
    struct ps_pbuf *p = ps_pbuf_alloc(s, hlen + len);
    if (!p)
        return -ENOBUFS;
    uint32_t mss = ps_tcp_eff_mss(tcb);
    if (len > mss)
        p->gso_size = (uint16_t)mss; /* a super-segment: the TSO driver cuts it */
    if (len)
        ps_ring_peek(&tcb->snd, seq - tcb->sb_seq, p->data + hlen, len);
    uint32_t win = 0;
    if (flags & PS_TCP_ACK)
        h.ack = tcb->rcv_nxt;
    if (!(flags & PS_TCP_RST) || (flags & PS_TCP_ACK)) {
        win = ps_tcp_rcv_window(tcb);
        /* The window of a SYN is never scaled (RFC 7323 2.2). */
        uint32_t field = (flags & PS_TCP_SYN) ? (win > 65535 ? 65535 : win) : win >> tcb->rcv_wscale;
        h.window = (uint16_t)field;
        uint32_t edge = tcb->rcv_nxt + ((flags & PS_TCP_SYN) ? field : field << tcb->rcv_wscale);
        if (ps_seq_gt(edge, tcb->rcv_adv) || tcb->state <= PS_TCPS_SYN_SENT)
            tcb->rcv_adv = edge;
    }
    ps_tcp_emit(p->data, &h, tcb->ep.laddr, tcb->ep.raddr, len);
    struct ps_ip_tx tx = {.src = tcb->ep.laddr, .dst = tcb->ep.raddr, .proto = PS_IP_PROTO_TCP,
                          .ttl = tcb->ttl, .df = true};
    int rc = ps_ip_output(s, p, &tx);
    uint32_t segs = len > mss ? (len + mss - 1) / mss : 1;
    PS_STAT_ADD(s, tcp_tx, segs);
    if (segs > 1)
        PS_STAT_INC(s, tcp_tso_tx);
    tcb->segs_out += segs; /* PS_TCP_INFO (tcp_info.c) */
    if (rc == -EMSGSIZE && segs > 1)
        tcb->tso = false; /* the route moved off the TSO interface */
    if (flags & PS_TCP_RST)
        PS_STAT_INC(s, tcp_rst_tx);
    if (flags & PS_TCP_ACK) {
        /* Any ACK sent answers what was pending. */
        tcb->last_ack_sent = tcb->rcv_nxt;
        tcb->ack_now = false;
        tcb->rcv_unacked = 0;
        ps_tcp_timer_stop(s, tcb, PS_TCPT_DELACK);
    }
    return rc == -ENOBUFS || (rc == -EMSGSIZE && segs > 1) ? rc : 0;
}

void ps_tcp_send_ctl(struct ps_stack *s, struct ps_tcb *tcb, uint32_t seq, uint8_t flags)
{
    xmit(s, tcb, seq, 0, flags);
}

/* Resend one segment at SND.UNA (fast retransmit, NewReno partial ACK). */
static void rexmit_one(struct ps_stack *s, struct ps_tcb *tcb)
{
    tcb->rexmit_one = false;
    uint32_t off = tcb->snd_una - tcb->sb_seq;
    if (ps_seq_lt(tcb->snd_una, tcb->sb_seq) || off >= tcb->snd.len) {
        if (tcb->fin_queued && tcb->snd_una == tcb->fin_seq && ps_seq_gt(tcb->snd_max, tcb->fin_seq))
            xmit(s, tcb, tcb->fin_seq, 0, PS_TCP_ACK | PS_TCP_FIN);
        return;
    }
    uint32_t len = tcb->snd.len - off;
    uint32_t mss = ps_tcp_eff_mss(tcb);
    if (len > mss)
        len = mss;
    uint32_t outstanding = tcb->snd_max - tcb->snd_una;
    if (len > outstanding)
        len = outstanding;
    if (len == 0)
        return;
    bool fin = tcb->fin_queued && tcb->snd_una + len == tcb->fin_seq && ps_seq_gt(tcb->snd_max, tcb->fin_seq);
    xmit(s, tcb, tcb->snd_una, len, (uint8_t)(PS_TCP_ACK | (fin ? PS_TCP_FIN : 0)));
    tcb->retransmits++;
    PS_STAT_INC(s, tcp_retransmits);
    tcb->rtt_timing = false; /* Karn */
}

/* SACK recovery: retransmit what NextSeg (RFC 6675, tcp_sack.c) picks
 * while PRR's cwnd exceeds the pipe; unlost_ok allows rule 3. */
static void sack_rexmit(struct ps_stack *s, struct ps_tcb *tcb, bool unlost_ok)
{
    uint32_t seq, len;
    for (int guard = 0; guard < 1024; guard++) {
        if (tcb->cwnd <= ps_tcp_sack_pipe(tcb) || !ps_tcp_sack_nextseg(tcb, unlost_ok, &seq, &len))
            break;
        uint32_t data = len;
        uint8_t flags = PS_TCP_ACK;
        if (tcb->fin_queued && ps_seq_gt(tcb->snd_max, tcb->fin_seq) && ps_seq_gt(seq + len, tcb->fin_seq)) {
            data = tcb->fin_seq - seq; /* the segment ends with our FIN */
            len = data + 1;
            flags |= PS_TCP_FIN;
        }
        if (xmit(s, tcb, seq, data, flags) != 0)
            break;
        tcb->high_rxt = seq + len;
        tcb->prr_out += len;
        tcb->retransmits++;
        PS_STAT_INC(s, tcp_retransmits);
        PS_STAT_INC(s, tcp_sack_retransmits);
        tcb->rtt_timing = false; /* Karn */
        if (!ps_tcp_timer_on(tcb, PS_TCPT_REXMIT))
            ps_tcp_rexmit_arm(s, tcb);
    }
}

void ps_tcp_output(struct ps_stack *s, struct ps_tcb *tcb)
{
    switch (tcb->state) {
    case PS_TCPS_CLOSED:
    case PS_TCPS_LISTEN:
        return;
    case PS_TCPS_TIME_WAIT:
        if (tcb->ack_now)
            xmit(s, tcb, tcb->snd_max, 0, PS_TCP_ACK);
        return;
    case PS_TCPS_SYN_SENT:
    case PS_TCPS_SYN_RECEIVED:
        if (tcb->snd_nxt == tcb->iss) {
            uint8_t f = PS_TCP_SYN | (tcb->state == PS_TCPS_SYN_RECEIVED ? PS_TCP_ACK : 0);
            if (ps_seq_lt(tcb->snd_nxt, tcb->snd_max)) {
                tcb->retransmits++;
                PS_STAT_INC(s, tcp_retransmits);
            }
            xmit(s, tcb, tcb->iss, 0, f);
            tcb->snd_nxt = tcb->iss + 1;
            tcb->snd_max = ps_seq_max(tcb->snd_max, tcb->snd_nxt);
            if (!ps_tcp_timer_on(tcb, PS_TCPT_REXMIT))
                ps_tcp_rexmit_arm(s, tcb);
            return;
        }
        if (tcb->state == PS_TCPS_SYN_RECEIVED && tcb->ack_now)
            xmit(s, tcb, tcb->snd_nxt, 0, PS_TCP_ACK);
        return;
    default:
        break;
    }
    if (tcb->rexmit_one)
        rexmit_one(s, tcb);
    if (ps_tcp_sack_recovering(tcb))
        sack_rexmit(s, tcb, false); /* RFC 6675 NextSeg rule 1: lost data first */
    uint32_t mss = ps_tcp_eff_mss(tcb);
    for (int guard = 0; guard < 4096; guard++) {
        uint32_t sack_lim = ps_tcp_sack_skip(tcb); /* after an RTO, SACKed data is not resent */
        uint32_t off = tcb->snd_nxt - tcb->sb_seq;
        uint32_t avail = off < tcb->snd.len ? tcb->snd.len - off : 0;
        uint32_t win = tcb->snd_wnd < tcb->cwnd ? tcb->snd_wnd : tcb->cwnd;
        uint32_t inflight = tcb->snd_nxt - tcb->snd_una;
        uint32_t usable = win > inflight ? win - inflight : 0;
        if (ps_tcp_sack_recovering(tcb))
            usable = ps_tcp_sack_usable(tcb); /* pipe and PRR's cwnd (RFC 6675, 6937) */
        uint32_t len = avail < usable ? avail : usable;
        /* With TSO, new data leaves as one super-segment of whole
         * segments that the driver cuts; retransmissions and recovery
         * stay one segment at a time. */
        uint32_t seg_max = mss;
        if (tcb->tso && !ps_tcp_sack_recovering(tcb) && !ps_seq_lt(tcb->snd_nxt, tcb->snd_max))
            seg_max = PS_TCP_TSO_MAX / mss * mss;
        if (len > seg_max)
            len = seg_max;
        if (len > sack_lim)
            len = sack_lim;
        /* A super-segment ends on a segment boundary unless it carries the
         * last of the data and Nagle would let that small tail go. */
        if (len > mss && len % mss &&
            !(len == avail && (tcb->nodelay || inflight == 0 || tcb->fin_queued)))
            len -= len % mss;
        bool fin_pending = tcb->fin_queued && ps_seq_leq(tcb->snd_nxt + len, tcb->fin_seq) &&
                           tcb->snd_nxt + len == tcb->fin_seq;
        bool rexmit = ps_seq_lt(tcb->snd_nxt, tcb->snd_max);
        bool send = false;
        if (len > 0) {
            if (len >= mss || rexmit)
                send = true;
            else if (len == avail && (tcb->nodelay || inflight == 0 || tcb->fin_queued))
                send = true; /* Nagle (RFC 896): a small segment only with nothing in flight */
            else if (tcb->max_sndwnd && len >= tcb->max_sndwnd / 2)
                send = true; /* sender SWS avoidance (RFC 9293 3.8.6.2.1) */
            else if (tcb->sws_override)
                send = true; /* ... and its override timeout: the persist timer */
        }
        /* With TSO, all the data there is but less than a super-segment
         * waits while two full segments are in flight: the peer ACKs those
         * at once (RFC 9293 3.8.6.3), and that ACK sends a bigger one.
         * One system call per super-segment is what TSO saves. */
        if (send && tcb->tso && !rexmit && len == avail && len < seg_max && len < usable &&
            inflight >= 2 * mss && !tcb->nodelay && !tcb->fin_queued && !tcb->ack_now)
            send = false;
        bool fin = fin_pending && len == avail && (send || len == 0);
        if (fin)
            send = true;
        if (!send && tcb->ack_now)
            len = 0, send = true;
        if (!send)
            break;
        uint8_t flags = PS_TCP_ACK;
        if (fin)
            flags |= PS_TCP_FIN;
        if (len && len == avail)
            flags |= PS_TCP_PSH;
        /* A bare ACK carries SND.MAX, not a SND.NXT rolled back by a
         * timeout: the peer has seen up to there, and an older number
         * would fail its sequence check and be dropped with the ACK in it
         * (as BSD's tcp_output does). */
        uint32_t seq = (len == 0 && !fin) ? tcb->snd_max : tcb->snd_nxt;
        int xrc = xmit(s, tcb, seq, len, flags);
        if (xrc == -EMSGSIZE && !tcb->tso)
            continue; /* TSO went away: again, one segment at a time */
        if (xrc != 0)
            break;
        if (rexmit && (len || fin)) {
            tcb->retransmits++;
            PS_STAT_INC(s, tcp_retransmits);
        }
        tcb->snd_nxt += len + (fin ? 1 : 0);
        if (ps_tcp_sack_recovering(tcb))
            tcb->prr_out += len + (fin ? 1 : 0);
        if (ps_seq_gt(tcb->snd_nxt, tcb->snd_max)) {
            /* Time one new segment per RTT when timestamps are off. */
            if (!tcb->ts_ok && !tcb->rtt_timing && !rexmit) {
                tcb->rtt_timing = true;
                tcb->rtt_seq = seq;
                tcb->rtt_start = s->now;
            }
            tcb->snd_max = tcb->snd_nxt;
        }
        if ((len || fin) && !ps_tcp_timer_on(tcb, PS_TCPT_REXMIT))
            ps_tcp_rexmit_arm(s, tcb);
        else if ((len || fin) && tcb->persist)
            ps_tcp_rexmit_arm(s, tcb);
        if (len == 0 && !fin)
            break; /* a bare ACK */
    }
    if (ps_tcp_sack_recovering(tcb))
        sack_rexmit(s, tcb, true); /* rule 3: no new data went, resend holes */
    /* Data waits for a closed window: the persist timer probes it.  So it
     * does when nothing is in flight and the data still waits - a window
     * too small to be worth a segment (a window update is not sent
     * reliably, and the one that would open it may have been lost), or no
     * buffer for the segment: else nothing would ever send it (as BSD's
     * tcp_output arms its persist timer). */
    uint32_t off = tcb->snd_nxt - tcb->sb_seq;
    bool waiting = (off < tcb->snd.len) || (tcb->fin_queued && ps_seq_leq(tcb->snd_nxt, tcb->fin_seq));
    if (waiting && (tcb->snd_wnd == 0 || tcb->snd_una == tcb->snd_max) && !ps_tcp_timer_on(tcb, PS_TCPT_REXMIT))
        ps_tcp_persist_arm(s, tcb);
}

void ps_tcp_rcvd(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (tcb->state < PS_TCPS_ESTABLISHED || tcb->state == PS_TCPS_TIME_WAIT)
        return;
    /* A window update when the window can grow by two segments and by a
     * quarter of the buffer, or sooner when what is offered has fallen
     * below an eighth of it (as FreeBSD's tcp_output does): an
     * application reading a few KiB at a time must not cost an ACK per
     * read. */
    uint32_t cur = ps_seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    uint32_t space = ps_ring_space(&tcb->rcv);
    uint32_t cap = tcb->rcv.cap, grow = space > cur ? space - cur : 0;
    if (grow >= 2u * tcb->rcv_mss && (grow >= cap / 4 || cur <= cap / 8 || cap <= 8u * tcb->rcv_mss)) {
        tcb->ack_now = true;
        ps_tcp_output_later(s, tcb); /* the caller's flush sends it */
    }
}
