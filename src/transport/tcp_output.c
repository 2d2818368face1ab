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
    uint32_t space = ps_ring_space(&tcb->rcv);
    uint32_t cur = ps_seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    /* Receiver SWS avoidance (RFC 9293 3.8.6.2.2): move the right edge
     * only by at least min(buffer/2, MSS). */
    uint32_t thresh = tcb->rcv.cap / 2 < tcb->rcv_mss ? tcb->rcv.cap / 2 : tcb->rcv_mss;
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
        if (!synack || tcb->sack_ok)
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
}

/* Build and send one segment: seq, len bytes of the send ring from seq,
 * flags.  Returns 0 or a negative errno (the segment is then lost, and
 * the retransmission timer recovers). */
static int xmit(struct ps_stack *s, struct ps_tcb *tcb, uint32_t seq, uint32_t len, uint8_t flags)
{
    struct ps_tcp_hdr h = {.sport = tcb->ep.lport, .dport = tcb->ep.rport, .seq = seq, .flags = flags};
    fill_opts(s, tcb, flags, &h.opt);
    size_t hlen = PS_TCP_HLEN + ps_tcp_opts_len(&h.opt);
    struct ps_pbuf *p = ps_pbuf_alloc(s, hlen + len);
    if (!p)
        return -ENOBUFS;
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
    PS_STAT_INC(s, tcp_tx);
    if (flags & PS_TCP_RST)
        PS_STAT_INC(s, tcp_rst_tx);
    if (flags & PS_TCP_ACK) {
        /* Any ACK sent answers what was pending. */
        tcb->last_ack_sent = tcb->rcv_nxt;
        tcb->ack_now = false;
        tcb->rcv_unacked = 0;
        ps_stack_timer_cancel(s, &tcb->t_delack);
    }
    return rc == -ENOBUFS ? rc : 0;
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
            if (!tcb->t_rexmit.armed)
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
    uint32_t mss = ps_tcp_eff_mss(tcb);
    for (int guard = 0; guard < 4096; guard++) {
        uint32_t off = tcb->snd_nxt - tcb->sb_seq;
        uint32_t avail = off < tcb->snd.len ? tcb->snd.len - off : 0;
        uint32_t win = tcb->snd_wnd < tcb->cwnd ? tcb->snd_wnd : tcb->cwnd;
        uint32_t inflight = tcb->snd_nxt - tcb->snd_una;
        uint32_t usable = win > inflight ? win - inflight : 0;
        uint32_t len = avail < usable ? avail : usable;
        if (len > mss)
            len = mss;
        bool fin_pending = tcb->fin_queued && ps_seq_leq(tcb->snd_nxt + len, tcb->fin_seq) &&
                           tcb->snd_nxt + len == tcb->fin_seq;
        bool rexmit = ps_seq_lt(tcb->snd_nxt, tcb->snd_max);
        bool send = false;
        if (len > 0) {
            if (len == mss || rexmit)
                send = true;
            else if (len == avail && (tcb->nodelay || inflight == 0 || tcb->fin_queued))
                send = true; /* Nagle (RFC 896): a small segment only with nothing in flight */
            else if (tcb->max_sndwnd && len >= tcb->max_sndwnd / 2)
                send = true; /* sender SWS avoidance (RFC 9293 3.8.6.2.1) */
        }
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
        if (xmit(s, tcb, seq, len, flags) != 0)
            break;
        if (rexmit && (len || fin)) {
            tcb->retransmits++;
            PS_STAT_INC(s, tcp_retransmits);
        }
        tcb->snd_nxt += len + (fin ? 1 : 0);
        tcb->bytes_out += rexmit ? 0 : len;
        if (ps_seq_gt(tcb->snd_nxt, tcb->snd_max)) {
            /* Time one new segment per RTT when timestamps are off. */
            if (!tcb->ts_ok && !tcb->rtt_timing && !rexmit) {
                tcb->rtt_timing = true;
                tcb->rtt_seq = seq;
                tcb->rtt_start = s->now;
            }
            tcb->snd_max = tcb->snd_nxt;
        }
        if ((len || fin) && !tcb->t_rexmit.armed)
            ps_tcp_rexmit_arm(s, tcb);
        else if ((len || fin) && tcb->persist)
            ps_tcp_rexmit_arm(s, tcb);
        if (len == 0 && !fin)
            break; /* a bare ACK */
    }
    /* Data waits for a closed window: the persist timer probes it. */
    uint32_t off = tcb->snd_nxt - tcb->sb_seq;
    bool waiting = (off < tcb->snd.len) || (tcb->fin_queued && ps_seq_leq(tcb->snd_nxt, tcb->fin_seq));
    if (waiting && tcb->snd_wnd == 0 && !tcb->t_rexmit.armed)
        ps_tcp_persist_arm(s, tcb);
}

void ps_tcp_rcvd(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (tcb->state < PS_TCPS_ESTABLISHED || tcb->state == PS_TCPS_TIME_WAIT)
        return;
    /* A window update when the window can grow by two segments or half
     * the buffer (as BSD's tcp_output does). */
    uint32_t cur = ps_seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    uint32_t space = ps_ring_space(&tcb->rcv);
    if (space > cur && (space - cur >= 2 * tcb->rcv_mss || space - cur >= tcb->rcv.cap / 2)) {
        tcb->ack_now = true;
        ps_tcp_output(s, tcb);
    }
}
