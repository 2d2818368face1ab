/*
 * NewReno congestion control: slow start and congestion avoidance (RFC
 * 5681), fast retransmit on the third duplicate ACK and NewReno recovery
 * with partial ACKs (RFC 6582), initial window of ten segments (RFC 6928).
 * Another algorithm (CUBIC) is another file with its own ops struct.
 */
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

static uint32_t flight(const struct ps_tcb *tcb)
{
    return tcb->snd_max - tcb->snd_una;
}

static void nr_init(struct ps_tcb *tcb)
{
    uint32_t mss = ps_tcp_eff_mss(tcb);
    /* RFC 6928: min(10*MSS, max(2*MSS, 14600)). */
    uint32_t iw = PS_TCP_INIT_CWND_SEGS * mss;
    uint32_t cap = 2 * mss > 14600 ? 2 * mss : 14600;
    tcb->cwnd = iw < cap ? iw : cap;
    tcb->ssthresh = UINT32_MAX / 2;
    tcb->bytes_acked = 0;
    tcb->dupacks = 0;
    tcb->in_recovery = false;
    tcb->recover = tcb->snd_una;
}

static void nr_ack(struct ps_tcb *tcb, uint32_t acked, ps_time_t now)
{
    (void)now;
    uint32_t mss = ps_tcp_eff_mss(tcb);
    if (tcb->in_recovery) {
        if (ps_seq_geq(tcb->snd_una, tcb->recover)) {
            /* RFC 6582 3.2 step 3, full ACK: deflate to min(ssthresh,
             * FlightSize + SMSS). */
            uint32_t f = flight(tcb) + mss;
            tcb->cwnd = tcb->ssthresh < f ? tcb->ssthresh : f;
            tcb->in_recovery = false;
            tcb->dupacks = 0;
        } else {
            /* Partial ACK (step 4): retransmit the first unacknowledged
             * segment, deflate by the amount acked, add back one SMSS. */
            tcb->rexmit_one = true;
            tcb->cwnd = tcb->cwnd > acked ? tcb->cwnd - acked : 0;
            tcb->cwnd += mss;
            if (tcb->cwnd < mss)
                tcb->cwnd = mss;
        }
        return;
    }
    tcb->dupacks = 0;
    if (tcb->cwnd < tcb->ssthresh) {
        /* Slow start, with RFC 3465's limit L = 2*SMSS per ACK. */
        tcb->cwnd += acked < 2 * mss ? acked : 2 * mss;
    } else {
        /* Congestion avoidance: one SMSS per window of data acked. */
        tcb->bytes_acked += acked;
        if (tcb->bytes_acked >= tcb->cwnd) {
            tcb->bytes_acked -= tcb->cwnd;
            tcb->cwnd += mss;
        }
    }
}

static void nr_dupack(struct ps_tcb *tcb)
{
    uint32_t mss = ps_tcp_eff_mss(tcb);
    tcb->dupacks++;
    if (tcb->in_recovery) {
        tcb->cwnd += mss; /* inflate: a segment has left the network */
        return;
    }
    if (tcb->dupacks != 3)
        return;
    /* RFC 6582 3.2 step 2: only when the ACK covers more than recover,
     * so one loss event is not taken for several. */
    if (!ps_seq_gt(tcb->snd_una, tcb->recover) && tcb->recover != tcb->snd_una)
        return;
    uint32_t half = flight(tcb) / 2;
    tcb->ssthresh = half > 2 * mss ? half : 2 * mss;
    tcb->recover = tcb->snd_max;
    tcb->cwnd = tcb->ssthresh + 3 * mss;
    tcb->in_recovery = true;
    tcb->rexmit_one = true; /* fast retransmit */
}

static void nr_timeout(struct ps_tcb *tcb)
{
    uint32_t mss = ps_tcp_eff_mss(tcb);
    uint32_t half = flight(tcb) / 2;
    /* RFC 5681 (4): ssthresh from the flight at the first timeout only. */
    if (tcb->retries <= 1)
        tcb->ssthresh = half > 2 * mss ? half : 2 * mss;
    tcb->cwnd = mss; /* loss window */
    tcb->bytes_acked = 0;
    tcb->dupacks = 0;
    tcb->in_recovery = false;
    tcb->recover = tcb->snd_max; /* RFC 6582 4: no fast retransmit for older loss */
}

const struct ps_tcp_cc_ops ps_tcp_cc_newreno = {
    .name = "newreno",
    .init = nr_init,
    .ack = nr_ack,
    .dupack = nr_dupack,
    .timeout = nr_timeout,
};
