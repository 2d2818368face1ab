/*
 * TCP timers: retransmission (RFC 6298, Karn's rule, exponential
 * backoff), the persist timer for a zero window (RFC 9293 3.8.6.1), the
 * delayed-ACK timer, TIME_WAIT (2*MSL) and the FIN_WAIT_2 timeout, and
 * the dispatch of keepalive's (tcp_keepalive.c).
 *
 * A block keeps one deadline per kind (tcb->due) and a single entry in
 * the stack's timer heap, armed at or before the earliest deadline.  It is
 * moved only to an earlier time: a deadline pushed back (the RTO restarted
 * by each ACK) or stopped (the delayed ACK answered) leaves the entry
 * where it is, and when it fires early it re-arms at the earliest
 * deadline left.  A bulk transfer restarts its RTO at every ACK without a
 * heap operation, and an idle connection costs one 48-byte heap entry,
 * not four.
 */
#include <errno.h>
#include <stddef.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

#define TCB_OF_TIMER(t) ((struct ps_tcb *)(void *)((char *)(t) - offsetof(struct ps_tcb, timer)))

/* The kind due first (the lowest on a tie), or PS_TCPT_COUNT: none is on. */
static unsigned earliest_kind(const struct ps_tcb *tcb)
{
    unsigned first = PS_TCPT_COUNT;
    for (unsigned k = 0; k < PS_TCPT_COUNT; k++)
        if (tcb->due[k] != PS_TIME_NEVER && (first == PS_TCPT_COUNT || tcb->due[k] < tcb->due[first]))
            first = k;
    return first;
}

static ps_time_t earliest(const struct ps_tcb *tcb)
{
    unsigned k = earliest_kind(tcb);
    return k == PS_TCPT_COUNT ? PS_TIME_NEVER : tcb->due[k];
}

void ps_tcp_timer_set(struct ps_stack *s, struct ps_tcb *tcb, enum ps_tcp_timer_kind k, ps_time_t when)
{
    tcb->due[k] = when;
    if (!tcb->timer.armed || when < tcb->timer.when)
        ps_stack_timer_arm(s, &tcb->timer, when);
}

void ps_tcp_timer_stop(struct ps_stack *s, struct ps_tcb *tcb, enum ps_tcp_timer_kind k)
{
    if (tcb->due[k] == PS_TIME_NEVER)
        return;
    tcb->due[k] = PS_TIME_NEVER;
    /* Nothing left: off the heap, so an idle stack has no deadline. */
    if (earliest(tcb) == PS_TIME_NEVER)
        ps_stack_timer_cancel(s, &tcb->timer);
}

static ps_time_t clamp_rto(const struct ps_stack *s, ps_time_t rto)
{
    ps_time_t lo = PS_MS(s->cfg.tcp_rto_min_ms), hi = PS_MS(s->cfg.tcp_rto_max_ms);
    return rto < lo ? lo : rto > hi ? hi : rto;
}

void ps_tcp_rtt_sample(struct ps_stack *s, struct ps_tcb *tcb, ps_time_t rtt)
{
    /* The figures are 32-bit microseconds (tcp.h): a sample is held within
     * the largest RTO a configuration may have, and the arithmetic below
     * is 64-bit. */
    if (rtt == 0)
        rtt = 1;
    if (rtt > PS_MS((ps_time_t)PS_TCP_RTO_LIMIT_MS))
        rtt = PS_MS((ps_time_t)PS_TCP_RTO_LIMIT_MS);
    ps_time_t srtt = tcb->srtt, rttvar = tcb->rttvar;
    if (srtt == 0) { /* RFC 6298 2.2: the first measurement */
        srtt = rtt;
        rttvar = rtt / 2;
    } else { /* 2.3, alpha 1/8, beta 1/4 */
        ps_time_t d = srtt > rtt ? srtt - rtt : rtt - srtt;
        rttvar = (3 * rttvar + d) / 4;
        srtt = (7 * srtt + rtt) / 8;
    }
    tcb->srtt = (uint32_t)srtt;
    tcb->rttvar = (uint32_t)rttvar;
    /* RTO = SRTT + max(G, 4*RTTVAR); G, the clock granularity, is 1 ms. */
    ps_time_t k = 4 * rttvar < PS_MS(1) ? PS_MS(1) : 4 * rttvar;
    tcb->rto = (uint32_t)clamp_rto(s, srtt + k);
}

void ps_tcp_rtt_sample_ts(struct ps_stack *s, struct ps_tcb *tcb, uint32_t tsecr)
{
    uint32_t ms = ps_tcp_ts_now(s, tcb) - tsecr;
    if ((int32_t)ms < 0)
        return; /* an echo of a time we have not reached: no sample (as Linux) */
    ps_tcp_rtt_sample(s, tcb, PS_MS(ms));
}

void ps_tcp_rexmit_arm(struct ps_stack *s, struct ps_tcb *tcb)
{
    tcb->persist = false;
    /* User timeout (tcp_keepalive.c): armed with no timeout pending means
     * data just became outstanding or SND.UNA just moved; never wait past
     * the timeout. */
    if (tcb->retries == 0)
        tcb->ut_since = s->now;
    ps_tcp_timer_set(s, tcb, PS_TCPT_REXMIT, ps_tcp_user_timeout_clamp(s, tcb, s->now + tcb->rto));
}

void ps_tcp_rexmit_stop(struct ps_stack *s, struct ps_tcb *tcb)
{
    tcb->persist = false;
    ps_tcp_timer_stop(s, tcb, PS_TCPT_REXMIT);
}

void ps_tcp_persist_arm(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (ps_tcp_timer_on(tcb, PS_TCPT_REXMIT))
        return;
    tcb->persist = true;
    ps_time_t base = tcb->srtt ? clamp_rto(s, (ps_time_t)tcb->srtt + 4 * (ps_time_t)tcb->rttvar) : tcb->rto;
    ps_time_t when = base << (tcb->persist_shift < 10 ? tcb->persist_shift : 10);
    /* The persist interval backs off like the RTO, between 200 ms and the
     * maximum (Linux uses the same bounds). */
    ps_tcp_timer_set(s, tcb, PS_TCPT_REXMIT, s->now + clamp_rto(s, when));
}

void ps_tcp_delack_arm(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (!ps_tcp_timer_on(tcb, PS_TCPT_DELACK))
        ps_tcp_timer_set(s, tcb, PS_TCPT_DELACK, s->now + PS_MS(s->cfg.tcp_delack_ms));
}

/* ---- retransmission and persist ------------------------------------------------ */

static void give_up(struct ps_stack *s, struct ps_tcb *tcb)
{
    PS_STAT_INC(s, tcp_conn_timeout);
    /* A soft ICMP error explains the timeout better (RFC 1122 4.2.3.9). */
    int err = tcb->soft_error ? tcb->soft_error : ETIMEDOUT;
    if (tcb->state == PS_TCPS_SYN_SENT || tcb->state == PS_TCPS_SYN_RECEIVED)
        ps_tcp_closed(s, tcb, err);
    else
        ps_tcp_abort(s, tcb, err); /* tell the peer, as Linux does not; harmless */
}

/* One more zero-window probe is due.  An open socket's connection probes
 * for as long as the peer answers (RFC 9293 3.8.6.1); a closed socket's
 * (an orphan: nobody will read it or add to it) would be held forever by a
 * peer that keeps its window shut, the FIN-WAIT-1 exhaustion attack, so
 * after tcp_orphan_probes probes it is reset (RFC 6429).  true: it was. */
static bool orphan_window_shut(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (tcb->wnd_probes < UINT8_MAX)
        tcb->wnd_probes++;
    if (!tcb->orphan || tcb->parent || tcb->wnd_probes <= s->cfg.tcp_orphan_probes)
        return false;
    PS_STAT_INC(s, tcp_orphan_drop);
    ps_tcp_abort(s, tcb, ETIMEDOUT);
    return true;
}

static void persist_fire(struct ps_stack *s, struct ps_tcb *tcb)
{
    tcb->persist = false;
    if (tcb->snd_wnd != 0 || tcb->snd.len == 0 || tcb->state < PS_TCPS_ESTABLISHED) {
        /* An open window too small for sender SWS avoidance: send what it
         * allows now (the override timeout of RFC 9293 3.8.6.2.1). */
        tcb->persist_shift = 0;
        tcb->wnd_probes = 0;
        tcb->sws_override = true;
        ps_tcp_output(s, tcb);
        tcb->sws_override = false;
        return;
    }
    if (orphan_window_shut(s, tcb))
        return;
    /* A zero-window probe: an old sequence number (SND.UNA - 1) with no
     * data makes the peer answer with its current window (as Linux); an
     * open socket's connection never gives up while the peer answers. */
    ps_tcp_send_ctl(s, tcb, tcb->snd_una - 1, PS_TCP_ACK);
    PS_STAT_INC(s, tcp_persist_probes);
    if (tcb->persist_shift < 10)
        tcb->persist_shift++;
    ps_tcp_persist_arm(s, tcb);
}

static void rexmit_fire(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (tcb->persist) {
        persist_fire(s, tcb);
        ps_tcp_flush_events(s);
        return;
    }
    if (tcb->snd_una == tcb->snd_max && tcb->state != PS_TCPS_SYN_SENT && tcb->state != PS_TCPS_SYN_RECEIVED)
        return; /* nothing outstanding */
    if (tcb->snd_wnd == 0 && tcb->state >= PS_TCPS_ESTABLISHED && tcb->snd_una == tcb->snd_nxt) {
        /* Nothing in flight and a closed window: this is the persist
         * timer's case, which never gives up while the peer answers. */
        persist_fire(s, tcb);
        ps_tcp_flush_events(s);
        return;
    }
    unsigned limit = (tcb->state == PS_TCPS_SYN_SENT || tcb->state == PS_TCPS_SYN_RECEIVED)
                         ? s->cfg.tcp_syn_retries
                         : s->cfg.tcp_retries;
    if (tcb->snd_wnd == 0 && tcb->state >= PS_TCPS_ESTABLISHED && orphan_window_shut(s, tcb)) {
        ps_tcp_flush_events(s); /* in flight into a shut window: this resend is a probe too */
        return;
    }
    bool user_timeout = ps_tcp_user_timeout_expired(s, tcb); /* tcp_keepalive.c */
    if (user_timeout)
        PS_STAT_INC(s, tcp_user_timeout);
    if (tcb->retries >= limit || user_timeout) {
        give_up(s, tcb);
        ps_tcp_flush_events(s);
        return;
    }
    tcb->retries++;
    PS_STAT_INC(s, tcp_rto_timeouts);
    /* RFC 6298 5.5: back off; 5.6: restart. */
    tcb->rto = (uint32_t)clamp_rto(s, (ps_time_t)tcb->rto * 2); /* 64-bit: no wrap below the bound */
    tcb->rtt_timing = false; /* Karn: no sample from a retransmitted segment */
    if (tcb->state >= PS_TCPS_ESTABLISHED)
        tcb->cc->timeout(tcb);
    if (tcb->state >= PS_TCPS_ESTABLISHED)
        ps_tcp_loss_timeout(s, tcb); /* SACK recovery's part (tcp_sack.c) */
    /* Go back to SND.UNA (for a SYN, the ISS): output resends from there. */
    tcb->snd_nxt = tcb->state == PS_TCPS_SYN_SENT || tcb->state == PS_TCPS_SYN_RECEIVED ? tcb->iss : tcb->snd_una;
    /* A closed window still gets the first segment: it probes the
     * window (RFC 9293 3.8.6.1), and the peer's answer resets the count. */
    tcb->rexmit_one = tcb->snd_wnd == 0 && tcb->state >= PS_TCPS_ESTABLISHED;
    ps_tcp_output(s, tcb);
    if (!ps_tcp_timer_on(tcb, PS_TCPT_REXMIT) && tcb->state != PS_TCPS_CLOSED)
        ps_tcp_rexmit_arm(s, tcb);
    ps_tcp_flush_events(s);
}

/* ---- delayed ACK ------------------------------------------------------------------- */

static void delack_fire(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (tcb->state == PS_TCPS_CLOSED || tcb->state == PS_TCPS_LISTEN)
        return;
    PS_STAT_INC(s, tcp_delayed_acks);
    tcb->ack_now = true;
    ps_tcp_output(s, tcb);
    ps_tcp_flush_events(s);
}

/* ---- TIME_WAIT and FIN_WAIT_2 ------------------------------------------------------------ */

static void conn_fire(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (tcb->state == PS_TCPS_FIN_WAIT_2)
        PS_STAT_INC(s, tcp_fin_wait2_timeout);
    if (tcb->state == PS_TCPS_TIME_WAIT || tcb->state == PS_TCPS_FIN_WAIT_2)
        ps_tcp_closed(s, tcb, 0);
    ps_tcp_flush_events(s);
}

void ps_tcp_timewait_start(struct ps_stack *s, struct ps_tcb *tcb)
{
    struct ps_tcp *tp = s->tcp;
    ps_tcp_rexmit_stop(s, tcb);
    ps_tcp_timer_stop(s, tcb, PS_TCPT_DELACK);
    if (tcb->state != PS_TCPS_TIME_WAIT && tcb->orphan && !tcb->parent) {
        /* Nobody holds the socket: a compact record takes the quadruple
         * (tcp_timewait.c) and the block goes at once, after the ACK of
         * the peer's FIN. */
        PS_STAT_INC(s, tcp_timewait);
        if (tcb->ack_now)
            ps_tcp_send_ctl(s, tcb, tcb->snd_max, PS_TCP_ACK);
        ps_tcp_tw_create(s, tcb, s->now + 2 * PS_MS(s->cfg.tcp_msl_ms));
        ps_tcp_closed(s, tcb, 0);
        return;
    }
    if (tcb->state != PS_TCPS_TIME_WAIT) {
        /* Bounded: when full, the oldest TIME_WAIT goes first (counted). */
        while (s->cfg.tcp_timewait_max && tp->tw_count >= s->cfg.tcp_timewait_max && tp->tw_head) {
            PS_STAT_INC(s, tcp_timewait_overflow);
            ps_tcp_closed(s, tp->tw_head, 0);
        }
        ps_tcp_set_state(s, tcb, PS_TCPS_TIME_WAIT);
        ps_tcp_tw_enter(s, tcb);
        PS_STAT_INC(s, tcp_timewait);
        /* The buffers are of no more use: free them now. */
        ps_ring_free(&tcb->snd);
        ps_tcp_ranges_free(tcb);
    }
    /* RFC 9293 3.10.7.4: 2*MSL, restarted by a retransmitted FIN. */
    ps_tcp_timer_set(s, tcb, PS_TCPT_CONN, s->now + 2 * PS_MS(s->cfg.tcp_msl_ms));
}

void ps_tcp_finwait2_arm(struct ps_stack *s, struct ps_tcb *tcb)
{
    /* Only a connection nobody can read from any more waits for a bounded
     * time (Linux's tcp_fin_timeout); an open socket may half-close for as
     * long as it likes. */
    if (tcb->state == PS_TCPS_FIN_WAIT_2 && tcb->orphan && s->cfg.tcp_fin_wait2_ms)
        ps_tcp_timer_set(s, tcb, PS_TCPT_CONN, s->now + PS_MS(s->cfg.tcp_fin_wait2_ms));
}

/* The heap entry fired: run every kind now due, earliest first (each may
 * re-arm kinds, or close the connection, which stops them all), then
 * re-arm at the earliest deadline left. */
static void tcb_timer_fire(struct ps_stack *s, struct ps_timer *t)
{
    static void (*const fire[PS_TCPT_COUNT])(struct ps_stack *, struct ps_tcb *) = {
        [PS_TCPT_REXMIT] = rexmit_fire,
        [PS_TCPT_DELACK] = delack_fire,
        [PS_TCPT_CONN] = conn_fire,
        [PS_TCPT_KEEP] = ps_tcp_keep_fire, /* tcp_keepalive.c */
    };
    struct ps_tcb *tcb = TCB_OF_TIMER(t);
    for (unsigned k; (k = earliest_kind(tcb)) != PS_TCPT_COUNT && tcb->due[k] <= s->now;) {
        tcb->due[k] = PS_TIME_NEVER;
        fire[k](s, tcb);
    }
    /* A handler may have re-armed the entry (off the heap while it runs)
     * at its own, later deadline: the entry must stand for the earliest. */
    ps_time_t m = earliest(tcb);
    if (m != PS_TIME_NEVER && (!tcb->timer.armed || tcb->timer.when > m))
        ps_stack_timer_arm(s, &tcb->timer, m);
}

void ps_tcp_timers_init(struct ps_tcb *tcb)
{
    ps_timer_init(&tcb->timer, tcb_timer_fire);
    for (unsigned k = 0; k < PS_TCPT_COUNT; k++)
        tcb->due[k] = PS_TIME_NEVER;
}

void ps_tcp_timers_cancel(struct ps_stack *s, struct ps_tcb *tcb)
{
    ps_stack_timer_cancel(s, &tcb->timer);
    for (unsigned k = 0; k < PS_TCPT_COUNT; k++)
        tcb->due[k] = PS_TIME_NEVER;
    tcb->persist = false;
}
