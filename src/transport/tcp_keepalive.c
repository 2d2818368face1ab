/*
 * Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6) and the user timeout (RFC
 * 5482's spirit, as Linux's TCP_USER_TIMEOUT), and the per-socket choices
 * behind them and the congestion control: every block starts with the
 * stack's (struct ps_config), a socket option changes its own, and an
 * accepted connection takes its listener's.
 *
 * Keepalive is off unless SO_KEEPALIVE.  When the peer has sent nothing
 * for the idle time and nothing of ours waits for an ACK (the
 * retransmission timer watches that), a probe goes out: a bare ACK with
 * SEG.SEQ = SND.UNA - 1, which any live peer must answer (as Linux and
 * BSD send it; no garbage octet).  Then one every interval; after the
 * count of probes unanswered the connection is reset and reports
 * ETIMEDOUT.  Any acceptable segment from the peer resets the count.  The
 * timer is not moved on every segment: when it fires early it re-arms for
 * what remains of the idle time.
 *
 * The user timeout bounds how long data may stay unacknowledged: the
 * retransmission timer never waits past it (tcp_timer.c), and when it has
 * run out the connection is reset, reporting ETIMEDOUT.  With keepalive
 * on it also bounds how long probes may go unanswered (as Linux).
 */
#include <errno.h>
#include <stddef.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"


void ps_tcp_opts_init(struct ps_stack *s, struct ps_tcb *tcb)
{
    const struct ps_tcp_cc_ops *cc = ps_tcp_cc_find(s->cfg.tcp_congestion);
    tcb->cc = cc ? cc : &ps_tcp_cc_cubic;
    tcb->keepalive = false;
    tcb->keep_idle_s = (uint16_t)s->cfg.tcp_keepidle_s;
    tcb->keep_intvl_s = (uint16_t)s->cfg.tcp_keepintvl_s;
    tcb->keep_cnt = (uint8_t)s->cfg.tcp_keepcnt;
    tcb->user_timeout_ms = s->cfg.tcp_user_timeout_ms;
}

void ps_tcp_opts_inherit(struct ps_tcb *child, const struct ps_tcb *lst)
{
    child->cc = lst->cc;
    child->keepalive = lst->keepalive;
    child->keep_idle_s = lst->keep_idle_s;
    child->keep_intvl_s = lst->keep_intvl_s;
    child->keep_cnt = lst->keep_cnt;
    child->user_timeout_ms = lst->user_timeout_ms;
}

/* The states keepalive watches: synchronized, before TIME-WAIT. */
static bool keep_state(const struct ps_tcb *tcb)
{
    return tcb->state >= PS_TCPS_ESTABLISHED && tcb->state != PS_TCPS_TIME_WAIT;
}

void ps_tcp_keep_arm(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (!tcb->keepalive || !keep_state(tcb)) {
        ps_tcp_timer_stop(s, tcb, PS_TCPT_KEEP);
        return;
    }
    ps_time_t at = tcb->last_rcv + PS_SEC((ps_time_t)tcb->keep_idle_s);
    ps_tcp_timer_set(s, tcb, PS_TCPT_KEEP, at > s->now ? at : s->now);
}

void ps_tcp_keep_start(struct ps_stack *s, struct ps_tcb *tcb)
{
    tcb->last_rcv = s->now;
    tcb->keep_probes = 0;
    ps_tcp_keep_arm(s, tcb);
}

void ps_tcp_keep_rcvd(struct ps_stack *s, struct ps_tcb *tcb)
{
    tcb->last_rcv = s->now;
    tcb->keep_probes = 0;
    ps_tcp_info_account(tcb); /* the byte counters stay within 2 GB of the sequence numbers */
}

static int timeout_error(const struct ps_tcb *tcb)
{
    /* As give_up (tcp_timer.c): a soft ICMP error explains it better. */
    return tcb->soft_error ? tcb->soft_error : ETIMEDOUT;
}

void ps_tcp_keep_fire(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (!tcb->keepalive || !keep_state(tcb))
        return;
    ps_time_t intvl = PS_SEC((ps_time_t)tcb->keep_intvl_s);
    ps_time_t idle_max = PS_SEC((ps_time_t)tcb->keep_idle_s);
    if (tcb->snd_una != tcb->snd_max || tcb->snd.len > 0) {
        /* Data on its way or waiting: the retransmission and persist
         * timers look after the peer; look again later. */
        ps_tcp_timer_set(s, tcb, PS_TCPT_KEEP, s->now + intvl);
        return;
    }
    ps_time_t idle = s->now - tcb->last_rcv;
    if (idle < idle_max) {
        ps_tcp_timer_set(s, tcb, PS_TCPT_KEEP, tcb->last_rcv + idle_max);
        return;
    }
    bool dead = tcb->user_timeout_ms ? (tcb->keep_probes > 0 && idle >= PS_MS((ps_time_t)tcb->user_timeout_ms))
                                     : tcb->keep_probes >= tcb->keep_cnt;
    if (dead) {
        PS_STAT_INC(s, tcp_keepalive_timeout);
        ps_tcp_abort(s, tcb, timeout_error(tcb));
        ps_tcp_flush_events(s);
        return;
    }
    ps_tcp_send_ctl(s, tcb, tcb->snd_una - 1, PS_TCP_ACK);
    PS_STAT_INC(s, tcp_keepalive_probes);
    if (tcb->keep_probes < UINT8_MAX)
        tcb->keep_probes++;
    ps_tcp_timer_set(s, tcb, PS_TCPT_KEEP, s->now + intvl);
    ps_tcp_flush_events(s);
}

/* ---- user timeout ------------------------------------------------------------------ */

ps_time_t ps_tcp_user_timeout_clamp(const struct ps_stack *s, const struct ps_tcb *tcb, ps_time_t when)
{
    if (!tcb->user_timeout_ms)
        return when;
    ps_time_t limit = tcb->ut_since + PS_MS((ps_time_t)tcb->user_timeout_ms);
    if (limit < s->now)
        limit = s->now;
    return limit < when ? limit : when;
}

bool ps_tcp_user_timeout_expired(const struct ps_stack *s, const struct ps_tcb *tcb)
{
    return tcb->user_timeout_ms && s->now - tcb->ut_since >= PS_MS((ps_time_t)tcb->user_timeout_ms);
}
