/*
 * TCP input: segment arrival, RFC 9293 3.10.7, in every state.
 *
 *   ps_tcp_input     parse, demultiplex; no endpoint: RST (3.10.7.1)
 *   syn_sent         3.10.7.3
 *   ps_tcp_segment   3.10.7.4 for SYN-RECEIVED and every synchronized
 *                    state, in the RFC's order: PAWS (RFC 7323 5.3),
 *                    sequence check, RST (RFC 5961 3.2), SYN (RFC 5961
 *                    4.2), ACK (RFC 5961 5.2), text, FIN.
 *
 * Out-of-order data is written straight into the receive ring at its
 * place and remembered as a range (bounded, merged with its neighbours);
 * when the hole before it fills, the ranges join the readable data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

#define PAWS_IDLE_US PS_SEC(24ull * 24 * 3600) /* RFC 7323 5.5: 24 days */

bool ps_tcp_challenge_budget(struct ps_stack *s)
{
    struct ps_tcp *t = s->tcp;
    /* RFC 5961 7: a per-stack budget per second, so an attacker cannot
     * use us as an ACK amplifier. */
    if (s->now - t->chall_epoch >= PS_SEC(1)) {
        t->chall_epoch = s->now;
        t->chall_left = s->cfg.tcp_challenge_ack_limit;
    }
    if (t->chall_left == 0) {
        PS_STAT_INC(s, tcp_challenge_ack_limited);
        return false;
    }
    t->chall_left--;
    return true;
}

void ps_tcp_challenge_ack(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (!ps_tcp_challenge_budget(s))
        return;
    PS_STAT_INC(s, tcp_challenge_ack);
    ps_tcp_send_ctl(s, tcb, tcb->snd_max, PS_TCP_ACK);
}

void ps_tcp_syn_options(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_tcp_opts *o)
{
    unsigned mss = o->has_mss ? o->mss : PS_TCP_MSS_DEFAULT;
    if (mss < 64)
        mss = 64; /* a tiny MSS is an attack on our CPU, not a path */
    if (mss < tcb->mss)
        tcb->mss = (uint16_t)mss;
    /* Window scaling only when both sides sent the option (RFC 7323 2.2). */
    tcb->ws_ok = o->has_wscale;
    if (tcb->ws_ok) {
        tcb->snd_wscale = o->wscale > PS_TCP_WSCALE_MAX ? PS_TCP_WSCALE_MAX : o->wscale;
    } else {
        tcb->snd_wscale = 0;
        tcb->rcv_wscale = 0;
    }
    tcb->ts_ok = o->has_timestamp;
    if (tcb->ts_ok) {
        tcb->ts_recent = o->tsval;
        tcb->ts_recent_age = s->now;
    }
    tcb->sack_ok = o->sack_permitted && !s->cfg.tcp_no_sack; /* negotiated; blocks come later */
}

/* The connection is established (either side). */
static void established(struct ps_stack *s, struct ps_tcb *tcb)
{
    ps_tcp_set_state(s, tcb, PS_TCPS_ESTABLISHED);
    tcb->ever_connected = true;
    tcb->retries = 0;
    tcb->cc->init(tcb);
    PS_STAT_INC(s, tcp_conn_open);
}

/* ---- SYN-SENT ------------------------------------------------------------------- */

static void syn_sent(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_ipv4_hdr *ip,
                     const struct ps_tcp_hdr *th)
{
    uint8_t f = th->flags;
    bool ack_ok = false;
    if (f & PS_TCP_ACK) {
        if (ps_seq_leq(th->ack, tcb->iss) || ps_seq_gt(th->ack, tcb->snd_max)) {
            if (!(f & PS_TCP_RST))
                ps_tcp_respond(s, ip->dst, ip->src, th->dport, th->sport, th->ack, 0, PS_TCP_RST);
            PS_STAT_INC(s, tcp_drop_syn_sent);
            return;
        }
        ack_ok = true;
    }
    if (f & PS_TCP_RST) {
        /* Only a RST that acknowledges our SYN counts (RFC 5961 3.2). */
        if (ack_ok) {
            PS_STAT_INC(s, tcp_rst_rx);
            PS_STAT_INC(s, tcp_conn_refused);
            ps_tcp_closed(s, tcb, ECONNREFUSED);
        } else {
            PS_STAT_INC(s, tcp_drop_syn_sent);
        }
        return;
    }
    if (!(f & PS_TCP_SYN)) {
        PS_STAT_INC(s, tcp_drop_syn_sent);
        return;
    }
    tcb->irs = th->seq;
    tcb->rcv_nxt = th->seq + 1;
    tcb->rcv_adv = tcb->rcv_nxt;
    tcb->last_ack_sent = tcb->rcv_nxt;
    ps_tcp_syn_options(s, tcb, &th->opt);
    tcb->snd_wnd = th->window; /* never scaled in a SYN */
    tcb->max_sndwnd = tcb->snd_wnd;
    tcb->snd_wl1 = th->seq;
    tcb->snd_wl2 = th->ack;
    if (!ack_ok) {
        /* Simultaneous open (RFC 9293 3.5, figure 7): answer SYN-ACK. */
        ps_tcp_set_state(s, tcb, PS_TCPS_SYN_RECEIVED);
        tcb->snd_nxt = tcb->iss;
        ps_tcp_timer_stop(s, tcb, PS_TCPT_REXMIT);
        ps_tcp_output(s, tcb);
        return;
    }
    tcb->snd_una = th->ack;
    if (ps_seq_lt(tcb->snd_nxt, tcb->snd_una))
        tcb->snd_nxt = tcb->snd_una;
    /* An RTT sample from the handshake, unless the SYN was resent. */
    if (tcb->retries == 0) {
        if (tcb->ts_ok && th->opt.tsecr)
            ps_tcp_rtt_sample_ts(s, tcb, th->opt.tsecr);
        else if (tcb->rtt_timing)
            ps_tcp_rtt_sample(s, tcb, s->now - tcb->rtt_start);
    }
    tcb->rtt_timing = false;
    ps_tcp_rexmit_stop(s, tcb);
    established(s, tcb);
    /* Data on a SYN-ACK is not taken: the peer resends it after our ACK
     * (rare; keeps the receive path in one place). */
    tcb->ack_now = true;
    ps_tcp_output(s, tcb);
}

/* ---- receiving data ---------------------------------------------------------------- */

static void ooo_remove(struct ps_tcb *tcb, unsigned i)
{
    memmove(&tcb->ooo[i], &tcb->ooo[i + 1], (tcb->nooo - i - 1) * sizeof(tcb->ooo[0]));
    tcb->nooo--;
}

/* Remember [start, end) as held; merge with overlapping or adjacent
 * ranges.  false when the table is full (the data is then not kept). */
static bool ooo_add(struct ps_stack *s, struct ps_tcb *tcb, uint32_t start, uint32_t end)
{
    for (unsigned i = 0; i < tcb->nooo;) {
        struct ps_tcp_ooo *r = &tcb->ooo[i];
        if (ps_seq_leq(r->start, end) && ps_seq_leq(start, r->end)) {
            start = ps_seq_min(start, r->start);
            end = ps_seq_max(end, r->end);
            ooo_remove(tcb, i);
            continue;
        }
        i++;
    }
    unsigned max = s->cfg.tcp_ooo_max < PS_TCP_OOO_SLOTS ? s->cfg.tcp_ooo_max : PS_TCP_OOO_SLOTS;
    if (tcb->nooo >= max || !ps_tcp_ranges_get(s, &tcb->ooo, max))
        return false;
    unsigned i = 0;
    while (i < tcb->nooo && ps_seq_lt(tcb->ooo[i].start, start))
        i++;
    memmove(&tcb->ooo[i + 1], &tcb->ooo[i], (tcb->nooo - i) * sizeof(tcb->ooo[0]));
    tcb->ooo[i].start = start;
    tcb->ooo[i].end = end;
    tcb->nooo++;
    return true;
}

/* A FIN at `end` ends the stream: out-of-order data held beyond it is no
 * part of it (only a broken or hostile peer sends any). */
static void ooo_cut(struct ps_tcb *tcb, uint32_t end)
{
    while (tcb->nooo && !ps_seq_lt(tcb->ooo[tcb->nooo - 1].start, end))
        tcb->nooo--;
    if (tcb->nooo && ps_seq_gt(tcb->ooo[tcb->nooo - 1].end, end))
        tcb->ooo[tcb->nooo - 1].end = end;
}

/* Join every range the new RCV.NXT reaches to the readable data. */
static bool ooo_merge(struct ps_tcb *tcb)
{
    bool filled = false;
    while (tcb->nooo && ps_seq_leq(tcb->ooo[0].start, tcb->rcv_nxt)) {
        if (ps_seq_gt(tcb->ooo[0].end, tcb->rcv_nxt)) {
            tcb->rcv.len += tcb->ooo[0].end - tcb->rcv_nxt;
            tcb->bytes_in += tcb->ooo[0].end - tcb->rcv_nxt;
            tcb->rcv_nxt = tcb->ooo[0].end;
        }
        ooo_remove(tcb, 0);
        filled = true;
    }
    if (filled && tcb->nooo == 0) {
        free(tcb->ooo); /* every hole filled: the table goes until the next */
        tcb->ooo = NULL;
    }
    return filled;
}

/* Take the text of an acceptable segment; returns true if its FIN (fin)
 * is now in order and must be processed. */
static bool receive_text(struct ps_stack *s, struct ps_tcb *tcb, uint32_t seq, const uint8_t *d, uint32_t n,
                         bool fin)
{
    if (ps_seq_lt(seq, tcb->rcv_nxt)) { /* trim what we already have */
        uint32_t skip = tcb->rcv_nxt - seq;
        if (skip >= n) {
            if (skip > n)
                fin = false; /* the FIN too is old */
            if (n) {
                PS_STAT_INC(s, tcp_dup_segments);
                ps_tcp_sack_dsack(tcb, seq, seq + n);
            }
            d += n;
            n = 0;
            seq = tcb->rcv_nxt;
        } else {
            d += skip;
            n -= skip;
            seq = tcb->rcv_nxt;
        }
    }
    /* What lies beyond the window offered (RCV.NXT + RCV.WND, RFC 9293
     * 3.10.7.4) or beyond the ring is not kept, even where the ring could
     * hold it; and the sender hears so at once (3.8.6.1: a zero window
     * still answers every segment with an ACK). */
    uint32_t room = ps_ring_space(&tcb->rcv);
    uint32_t limit = tcb->rcv_nxt + room;
    if (ps_seq_geq(tcb->rcv_adv, tcb->rcv_nxt) && ps_seq_lt(tcb->rcv_adv, limit))
        limit = tcb->rcv_adv;
    if (ps_seq_gt(seq + n, limit)) {
        uint32_t keep = ps_seq_gt(limit, seq) ? limit - seq : 0;
        PS_STAT_ADD(s, tcp_drop_rcvbuf, n - keep);
        n = keep;
        fin = false;
        tcb->ack_now = true;
    }
    /* A FIN already seen beyond a hole ends the stream where it stands:
     * nothing past it is taken, and a second FIN elsewhere is ignored. */
    if (tcb->ooo_fin && ps_seq_gt(seq + n, tcb->ooo_fin_seq)) {
        n = ps_seq_gt(tcb->ooo_fin_seq, seq) ? tcb->ooo_fin_seq - seq : 0;
        fin = false;
    } else if (tcb->ooo_fin && fin && seq + n != tcb->ooo_fin_seq) {
        fin = false;
    }
    if (seq != tcb->rcv_nxt) {
        /* Out of order: keep it at its place, ACK at once (RFC 5681 4.2)
         * so the sender sees the duplicate ACK. */
        tcb->ack_now = true;
        if (n == 0 && !fin)
            return false;
        if (n) {
            if (!ooo_add(s, tcb, seq, seq + n)) {
                PS_STAT_INC(s, tcp_ooo_drop);
                return false;
            }
            ps_ring_write_at(&tcb->rcv, seq - tcb->rcv_nxt, d, n);
            PS_STAT_INC(s, tcp_ooo_segments);
            ps_tcp_sack_rcvd(tcb, seq, seq + n);
        }
        if (fin) {
            tcb->ooo_fin = true;
            tcb->ooo_fin_seq = seq + n;
            ooo_cut(tcb, seq + n);
        }
        return false;
    }
    if (n) {
        ps_ring_write(&tcb->rcv, d, n);
        tcb->rcv_nxt += n;
        tcb->bytes_in += n;
        if (fin && tcb->nooo) {
            /* The FIN ends the stream here: what a hostile or broken peer
             * sent beyond it out of order is no part of it, and neither is
             * delivered nor acknowledged (Linux drops its out-of-order
             * queue on a FIN likewise). */
            tcb->nooo = 0;
            free(tcb->ooo);
            tcb->ooo = NULL;
        }
        bool filled = ooo_merge(tcb);
        /* ACK policy (RFC 9293 3.8.6.3, RFC 5681 4.2): at once when a hole
         * filled, at start-up (quick ACKs) or every second full segment;
         * otherwise within the delayed-ACK time.  A hole filled only in
         * part (data still held out of order) is ACKed at once too (RFC
         * 5681 4.2): the sender is recovering and waits on this ACK. */
        tcb->rcv_unacked += n;
        if (filled || tcb->nooo || tcb->quickack || tcb->rcv_unacked >= 2u * tcb->rcv_mss - (tcb->ts_ok ? 24u : 0u)) {
            tcb->ack_now = true;
            if (tcb->quickack)
                tcb->quickack--;
        } else {
            ps_tcp_delack_arm(s, tcb);
        }
        ps_tcp_notify(s, tcb);
    }
    if (tcb->ooo_fin && tcb->rcv_nxt == tcb->ooo_fin_seq)
        fin = true;
    return fin;
}

/* Our FIN is acknowledged. */
static bool fin_acked(const struct ps_tcb *tcb)
{
    return tcb->fin_queued && ps_seq_gt(tcb->snd_una, tcb->fin_seq);
}

static void receive_fin(struct ps_stack *s, struct ps_tcb *tcb)
{
    tcb->rcv_nxt++;
    tcb->fin_rcvd = true;
    tcb->ooo_fin = false;
    tcb->ack_now = true;
    ps_tcp_notify(s, tcb);
    switch (tcb->state) {
    case PS_TCPS_SYN_RECEIVED:
    case PS_TCPS_ESTABLISHED:
        ps_tcp_set_state(s, tcb, PS_TCPS_CLOSE_WAIT);
        break;
    case PS_TCPS_FIN_WAIT_1:
        if (fin_acked(tcb)) {
            tcb->ack_now = true;
            ps_tcp_timewait_start(s, tcb);
        } else {
            ps_tcp_set_state(s, tcb, PS_TCPS_CLOSING); /* simultaneous close */
        }
        break;
    case PS_TCPS_FIN_WAIT_2:
        ps_tcp_timewait_start(s, tcb);
        break;
    default:
        break;
    }
    /* The ACK of a FIN goes out at once. */
    if (tcb->state == PS_TCPS_TIME_WAIT)
        ps_tcp_send_ctl(s, tcb, tcb->snd_max, PS_TCP_ACK);
}

/* ---- ACK processing ------------------------------------------------------------------ */

/* SND.UNA moves to ack: drop the acknowledged bytes, time, grow cwnd. */
static void new_ack(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_tcp_hdr *th)
{
    uint32_t ack = th->ack;
    uint32_t acked = ack - tcb->snd_una;
    if (tcb->ts_ok && th->opt.has_timestamp && th->opt.tsecr)
        ps_tcp_rtt_sample_ts(s, tcb, th->opt.tsecr);
    else if (tcb->rtt_timing && ps_seq_gt(ack, tcb->rtt_seq)) {
        ps_tcp_rtt_sample(s, tcb, s->now - tcb->rtt_start);
        tcb->rtt_timing = false;
    }
    if (ps_seq_gt(ack, tcb->sb_seq)) {
        uint32_t d = ack - tcb->sb_seq;
        if (d > tcb->snd.len)
            d = tcb->snd.len;
        ps_ring_drop(&tcb->snd, d);
        tcb->sb_seq += d;
    }
    tcb->snd_una = ack;
    if (ps_seq_lt(tcb->snd_nxt, tcb->snd_una))
        tcb->snd_nxt = tcb->snd_una;
    tcb->retries = 0;
    tcb->persist_shift = 0;
    tcb->wnd_probes = 0;
    bool was_recovering = tcb->in_recovery;
    ps_tcp_loss_ack(s, tcb, acked); /* congestion control, SACK recovery (tcp_sack.c) */
    if (was_recovering && tcb->rexmit_one)
        PS_STAT_INC(s, tcp_fast_retransmits);
    if (tcb->snd_una == tcb->snd_max)
        ps_tcp_rexmit_stop(s, tcb);
    else
        ps_tcp_rexmit_arm(s, tcb);
    ps_tcp_notify(s, tcb); /* send space */
}

void ps_tcp_passive_complete(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (!tcb->acked_early || tcb->state != PS_TCPS_SYN_RECEIVED || !ps_tcp_child_established(s, tcb))
        return;
    tcb->acked_early = false;
    tcb->max_sndwnd = tcb->snd_wnd;
    tcb->snd_una = tcb->iss + 1;
    ps_tcp_rexmit_stop(s, tcb);
    established(s, tcb);
    ps_tcp_output(s, tcb);
}

/* The fifth check of 3.10.7.4.  false: stop processing the segment. */
static bool process_ack(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_tcp_hdr *th, uint32_t dlen)
{
    uint32_t ack = th->ack;
    /* SYN-RECEIVED (RFC 9293 3.10.7.4): an ACK outside (SND.UNA, SND.NXT]
     * gets <SEQ=SEG.ACK><CTL=RST>; RFC 5961 5.2's ACK-and-drop below is
     * for the synchronized states. */
    if (tcb->state == PS_TCPS_SYN_RECEIVED && (!ps_seq_gt(ack, tcb->snd_una) || ps_seq_gt(ack, tcb->snd_max))) {
        PS_STAT_INC(s, tcp_drop_bad_ack);
        ps_tcp_respond(s, tcb->ep.laddr, tcb->ep.raddr, tcb->ep.lport, tcb->ep.rport, ack, 0, PS_TCP_RST);
        return false;
    }
    /* RFC 5961 5.2: acceptable only in [SND.UNA - MAX.SND.WND, SND.NXT]. */
    if (ps_seq_gt(ack, tcb->snd_max) || ps_seq_lt(ack, tcb->snd_una - tcb->max_sndwnd)) {
        PS_STAT_INC(s, tcp_drop_bad_ack);
        ps_tcp_challenge_ack(s, tcb);
        return false;
    }
    /* SACK blocks first, against the SND.UNA the ACK finds (tcp_sack.c). */
    uint32_t sacked_new = tcb->state == PS_TCPS_SYN_RECEIVED ? (tcb->sack_newly = 0) : ps_tcp_sack_input(s, tcb, th);
    if (tcb->state == PS_TCPS_SYN_RECEIVED) {
        if (tcb->passive && !ps_tcp_child_established(s, tcb)) {
            /* Accept queue full: remember the peer finished, so accept()
             * can complete it when room is made (ps_tcp_passive_complete). */
            tcb->acked_early = true;
            tcb->snd_wnd = (uint32_t)th->window << tcb->snd_wscale;
            tcb->snd_wl1 = th->seq;
            tcb->snd_wl2 = ack;
            return false;
        }
        tcb->snd_wnd = (uint32_t)th->window << tcb->snd_wscale;
        tcb->max_sndwnd = tcb->snd_wnd;
        tcb->snd_wl1 = th->seq;
        tcb->snd_wl2 = ack;
        if (tcb->retries == 0 && tcb->ts_ok && th->opt.tsecr)
            ps_tcp_rtt_sample_ts(s, tcb, th->opt.tsecr);
        tcb->snd_una = ack;
        ps_tcp_rexmit_stop(s, tcb);
        enum ps_tcp_state was_fin = tcb->fin_queued ? PS_TCPS_FIN_WAIT_1 : PS_TCPS_ESTABLISHED;
        established(s, tcb);
        if (was_fin == PS_TCPS_FIN_WAIT_1)
            ps_tcp_set_state(s, tcb, PS_TCPS_FIN_WAIT_1);
    } else if (ps_seq_gt(ack, tcb->snd_una)) {
        new_ack(s, tcb, th);
    } else if ((ack == tcb->snd_una && dlen == 0 && !(th->flags & (PS_TCP_FIN | PS_TCP_SYN)) &&
                tcb->snd_max != tcb->snd_una && ((uint32_t)th->window << tcb->snd_wscale) == tcb->snd_wnd) ||
               (ack == tcb->snd_una && sacked_new && tcb->snd_max != tcb->snd_una)) {
        /* A duplicate ACK (RFC 5681 2), or one with new SACK information
         * (RFC 6675 2). */
        ps_tcp_loss_dupack(s, tcb); /* congestion control, SACK recovery (tcp_sack.c) */
    }
    if (tcb->snd_wnd == 0 && th->window == 0)
        tcb->retries = 0; /* the peer answers our probes: it is alive */
    /* Window update, only from a newer segment (RFC 9293 3.10.7.4). */
    if (ps_seq_lt(tcb->snd_wl1, th->seq) || (tcb->snd_wl1 == th->seq && ps_seq_leq(tcb->snd_wl2, ack))) {
        tcb->snd_wnd = (uint32_t)th->window << tcb->snd_wscale;
        tcb->snd_wl1 = th->seq;
        tcb->snd_wl2 = ack;
        if (tcb->snd_wnd > tcb->max_sndwnd)
            tcb->max_sndwnd = tcb->snd_wnd;
        if (tcb->snd_wnd && tcb->persist)
            ps_tcp_rexmit_stop(s, tcb); /* the window opened: output sends */
    }
    switch (tcb->state) {
    case PS_TCPS_FIN_WAIT_1:
        if (fin_acked(tcb)) {
            ps_tcp_set_state(s, tcb, PS_TCPS_FIN_WAIT_2);
            ps_tcp_finwait2_arm(s, tcb);
        }
        break;
    case PS_TCPS_CLOSING:
        if (fin_acked(tcb)) {
            ps_tcp_timewait_start(s, tcb);
            return false;
        }
        break; /* data (and our FIN) may still be on their way out */
    case PS_TCPS_LAST_ACK:
        if (fin_acked(tcb)) {
            ps_tcp_closed(s, tcb, 0);
            return false;
        }
        break;
    default:
        break;
    }
    return true;
}

/* ---- synchronized states --------------------------------------------------------------- */

static bool seq_acceptable(const struct ps_tcb *tcb, uint32_t seq, uint32_t seg_len)
{
    uint32_t wnd = ps_seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    uint32_t end = tcb->rcv_nxt + wnd;
    if (seg_len == 0)
        return wnd == 0 ? seq == tcb->rcv_nxt : ps_seq_in(seq, tcb->rcv_nxt, end);
    if (wnd == 0)
        return seq == tcb->rcv_nxt; /* RFC 9293: still take its ACK and RST; the data is trimmed */
    return ps_seq_in(seq, tcb->rcv_nxt, end) || ps_seq_in(seq + seg_len - 1, tcb->rcv_nxt, end);
}

static void on_rst(struct ps_stack *s, struct ps_tcb *tcb)
{
    PS_STAT_INC(s, tcp_rst_rx);
    switch (tcb->state) {
    case PS_TCPS_SYN_RECEIVED:
        if (tcb->passive) { /* back to LISTEN: the child just goes */
            ps_tcp_closed(s, tcb, 0);
        } else {
            PS_STAT_INC(s, tcp_conn_refused);
            ps_tcp_closed(s, tcb, ECONNREFUSED);
        }
        break;
    case PS_TCPS_ESTABLISHED:
    case PS_TCPS_FIN_WAIT_1:
    case PS_TCPS_FIN_WAIT_2:
    case PS_TCPS_CLOSE_WAIT:
        PS_STAT_INC(s, tcp_conn_reset);
        ps_tcp_closed(s, tcb, ECONNRESET);
        break;
    default: /* CLOSING, LAST-ACK, TIME-WAIT */
        ps_tcp_closed(s, tcb, 0);
        break;
    }
}

/* RFC 9293 MAY-2 / RFC 6191: a new SYN for a quadruple in TIME-WAIT may
 * reopen it when it is clearly of a new incarnation. */
static bool timewait_reopen(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_ipv4_hdr *ip,
                            const struct ps_tcp_hdr *th, uint32_t dlen)
{
    bool newer = (tcb->ts_ok && th->opt.has_timestamp) ? ps_seq_gt(th->opt.tsval, tcb->ts_recent)
                                                        : ps_seq_gt(th->seq, tcb->rcv_nxt);
    if (!newer)
        return false;
    PS_STAT_INC(s, tcp_timewait_reopen);
    ps_tcp_closed(s, tcb, 0);
    struct ps_endpoint *ep = ps_ports_lookup(s, PS_IP_PROTO_TCP, ip->src, th->sport, ip->dst, th->dport);
    if (ep && ps_tcb_of(ep)->state == PS_TCPS_LISTEN)
        ps_tcp_listen_input(s, ps_tcb_of(ep), ip, th, dlen);
    else
        ps_tcp_reset_reply(s, ip, th, dlen + 1);
    return true;
}

void ps_tcp_segment(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_ipv4_hdr *ip,
                    const struct ps_tcp_hdr *th, const uint8_t *data, uint32_t dlen)
{
    uint8_t f = th->flags;
    tcb->segs_in++; /* PS_TCP_INFO (tcp_info.c) */
    if (tcb->state == PS_TCPS_SYN_SENT) {
        syn_sent(s, tcb, ip, th);
        return;
    }
    if (tcb->state == PS_TCPS_TIME_WAIT && (f & PS_TCP_SYN) && !(f & (PS_TCP_ACK | PS_TCP_RST)) &&
        timewait_reopen(s, tcb, ip, th, dlen))
        return;
    uint32_t seg_len = dlen + ((f & PS_TCP_SYN) ? 1 : 0) + ((f & PS_TCP_FIN) ? 1 : 0);
    /* PAWS (RFC 7323 5.3): an older timestamp is an old duplicate. */
    if (tcb->ts_ok && th->opt.has_timestamp && !(f & PS_TCP_RST) && ps_seq_lt(th->opt.tsval, tcb->ts_recent) &&
        s->now - tcb->ts_recent_age < PAWS_IDLE_US) {
        PS_STAT_INC(s, tcp_drop_paws);
        tcb->ack_now = true;
        ps_tcp_output(s, tcb);
        return;
    }
    /* Our SYN-ACK was lost and the SYN comes again: resend it. */
    if (tcb->state == PS_TCPS_SYN_RECEIVED && (f & PS_TCP_SYN) && !(f & (PS_TCP_ACK | PS_TCP_RST)) &&
        th->seq == tcb->irs) {
        tcb->snd_nxt = tcb->iss;
        ps_tcp_output(s, tcb);
        return;
    }
    /* First: the sequence number. */
    if (!seq_acceptable(tcb, th->seq, seg_len)) {
        if (f & PS_TCP_RST) {
            PS_STAT_INC(s, tcp_rst_ignored);
            return;
        }
        if (f & PS_TCP_SYN) {
            /* RFC 5961 4.2: a SYN earns a challenge ACK "irrespective of
             * the sequence number", so within the same budget: a blind
             * SYN flood at a connection cannot draw one ACK per SYN. */
            ps_tcp_challenge_ack(s, tcb);
            return;
        }
        if (ps_seq_lt(th->seq + seg_len, tcb->rcv_nxt) || (seg_len && th->seq + seg_len == tcb->rcv_nxt)) {
            PS_STAT_INC(s, tcp_dup_segments);
            if (dlen)
                ps_tcp_sack_dsack(tcb, th->seq, th->seq + dlen); /* RFC 2883 */
        } else
            PS_STAT_INC(s, tcp_drop_out_of_window);
        if (tcb->state == PS_TCPS_TIME_WAIT && (f & PS_TCP_FIN))
            ps_tcp_timewait_start(s, tcb); /* a resent FIN restarts 2*MSL */
        tcb->ack_now = true;
        ps_tcp_output(s, tcb);
        return;
    }
    /* Second: RST, only exactly at RCV.NXT (RFC 5961 3.2); elsewhere in
     * the window it earns a challenge ACK. */
    if (f & PS_TCP_RST) {
        if (th->seq != tcb->rcv_nxt) {
            PS_STAT_INC(s, tcp_rst_ignored);
            ps_tcp_challenge_ack(s, tcb);
            return;
        }
        on_rst(s, tcb);
        return;
    }
    /* Fourth: a SYN in a synchronized state gets a challenge ACK whatever
     * its sequence number (RFC 5961 4.2, RFC 9293 3.10.7.4). */
    if (f & PS_TCP_SYN) {
        ps_tcp_challenge_ack(s, tcb);
        return;
    }
    ps_tcp_keep_rcvd(s, tcb); /* keepalive: the peer is alive (tcp_keepalive.c) */
    /* Fifth: ACK. */
    if (!(f & PS_TCP_ACK)) {
        PS_STAT_INC(s, tcp_drop_bad_ack);
        return;
    }
    /* RFC 7323 4.3: TS.Recent from a segment covering Last.ACK.sent. */
    if (tcb->ts_ok && th->opt.has_timestamp && ps_seq_leq(th->seq, tcb->last_ack_sent)) {
        tcb->ts_recent = th->opt.tsval;
        tcb->ts_recent_age = s->now;
    }
    if (!process_ack(s, tcb, th, dlen))
        return;
    /* Seventh: the text. */
    bool fin = (f & PS_TCP_FIN) != 0;
    bool fin_now = false;
    switch (tcb->state) {
    case PS_TCPS_ESTABLISHED:
    case PS_TCPS_FIN_WAIT_1:
    case PS_TCPS_FIN_WAIT_2:
        if (dlen && tcb->orphan && !tcb->parent) { /* closed, not a child awaiting accept */
            /* Nobody will read it: tell the peer (RFC 9293 3.10.4 allows,
             * RFC 2525 2.17, as Linux). */
            PS_STAT_INC(s, tcp_drop_after_close);
            ps_tcp_abort(s, tcb, 0);
            return;
        }
        fin_now = receive_text(s, tcb, th->seq, data, dlen, fin);
        break;
    default:
        /* CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the FIN came already. */
        break;
    }
    /* Eighth: FIN. */
    if (fin_now)
        receive_fin(s, tcb);
    ps_tcp_output_later(s, tcb); /* after the application's callback: one segment with its reply */
}

/* ---- the front door -------------------------------------------------------------------- */

void ps_tcp_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip)
{
    struct ps_tcp_hdr th;
    PS_STAT_INC(s, tcp_rx);
    /* TCP is unicast only (RFC 9293 3.9.2.1 via RFC 1122 4.2.3.10). */
    if (ip->dst == PS_IP4_BROADCAST || ps_ip4_is_multicast(ip->dst) || (p->flags & PS_PBUF_F_LINK_BCAST) ||
        (p->iface && ps_ipv4_is_broadcast(p->iface, ip->dst)) || ps_ip4_is_multicast(ip->src) ||
        ip->src == PS_IP4_BROADCAST) {
        PS_STAT_INC(s, tcp_drop_broadcast);
        ps_pbuf_free(s, p);
        return;
    }
    int rc = ps_tcp_parse_ex(p->data, p->len, ip->src, ip->dst, &th,
                             (p->flags & PS_PBUF_F_CSUM_OK) ? PS_WIRE_NO_CKSUM : 0);
    if (rc < 0) {
        if (rc == PS_WIRE_ECKSUM)
            PS_STAT_INC(s, tcp_drop_checksum);
        else
            PS_STAT_INC(s, tcp_drop_malformed);
        ps_pbuf_free(s, p);
        return;
    }
    /* SYN with RST or FIN has no legitimate use (scans, stack probes). */
    if ((th.flags & PS_TCP_SYN) && (th.flags & (PS_TCP_RST | PS_TCP_FIN))) {
        PS_STAT_INC(s, tcp_drop_malformed);
        ps_pbuf_free(s, p);
        return;
    }
    const uint8_t *data = p->data + rc;
    uint32_t dlen = (uint32_t)(p->len - (size_t)rc);
    struct ps_endpoint *ep = ps_ports_lookup(s, PS_IP_PROTO_TCP, ip->src, th.sport, ip->dst, th.dport);
    struct ps_tcb *tcb = ep && !(ep->flags & PS_EP_TWREC) ? ps_tcb_of(ep) : NULL;
    if (ep && (ep->flags & PS_EP_TWREC)) {
        ps_tcp_tw_input(s, ep, ip, &th, dlen); /* a TIME_WAIT record (tcp_timewait.c) */
    } else if (!tcb || tcb->state == PS_TCPS_CLOSED) {
        PS_STAT_INC(s, tcp_drop_no_port);
        uint32_t seg_len = dlen + ((th.flags & PS_TCP_SYN) ? 1 : 0) + ((th.flags & PS_TCP_FIN) ? 1 : 0);
        ps_tcp_reset_reply(s, ip, &th, seg_len);
    } else if (tcb->state == PS_TCPS_LISTEN) {
        if (!ps_tcp_syncookie_ack(s, tcb, ip, &th, data, dlen)) /* SYN cookies (tcp_syncookie.c) */
            ps_tcp_listen_input(s, tcb, ip, &th, dlen);
    } else {
        ps_tcp_segment(s, tcb, ip, &th, data, dlen);
    }
    ps_pbuf_free(s, p);
    ps_tcp_flush_events(s);
}
