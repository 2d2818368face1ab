/*
 * CUBIC congestion control (RFC 9438), the stack's default, and the table
 * of algorithms a socket or a stack may choose by name.
 *
 * Slow start, and loss recovery while it lasts, are NewReno's (RFC 5681,
 * RFC 6582; with SACK, RFC 6675 and PRR in tcp_sack.c): CUBIC takes over
 * the congestion-avoidance growth and the reduction on a congestion event.
 *
 *   window   W_cubic(t) = C (t - K)^3 + W_max        (RFC 9438 4.2)
 *            K = cbrt((W_max - cwnd_epoch) / C)
 *   growth   per ACK, cwnd += (target - cwnd) / cwnd for each acked
 *            segment, target = W_cubic(t + RTT) within [cwnd, 1.5 cwnd]
 *            (4.4, 4.5); the Reno-friendly estimate W_est (4.3) wins when
 *            it is larger
 *   loss     ssthresh = flight * beta, beta = 0.7; W_max with fast
 *            convergence (4.6, 4.7); after a timeout the next stage starts
 *            with K = 0 (4.8)
 *
 * Everything is integer arithmetic on bytes: t and K in milliseconds from
 * the stack's clock (no clock is read here), the cube root by a bitwise
 * integer method (no libm).  Not done: HyStart++ (RFC 9406; slow start is
 * the standard one), the spurious-loss undo of 4.9, and holding the
 * window while the sender is application-limited (5.8).
 */
#include <string.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"

/* C = 0.4 and beta_cubic = 0.7 (RFC 9438 5), as fractions (C in lowest
 * terms: it multiplies the largest product). */
#define CUBIC_C_NUM 2
#define CUBIC_C_DEN 5
#define CUBIC_BETA_NUM 7
#define CUBIC_BETA_DEN 10
/* alpha_cubic = 3 (1 - beta) / (1 + beta) = 9/17 (4.3). */
#define CUBIC_ALPHA_NUM 9
#define CUBIC_ALPHA_DEN 17
/* W_cubic's (t - K) is bounded so that (t - K)^3 * MSS * C_NUM fits in 63
 * bits; beyond two minutes the curve is flat again (the window is then
 * far larger than any buffer). */
#define CUBIC_DT_MAX_MS 120000
/* The largest window CUBIC asks for. */
#define CUBIC_CWND_MAX (UINT32_MAX / 2)
/* ms^3 per s^3. */
#define MS3_PER_S3 1000000000ull

_Static_assert((uint64_t)CUBIC_DT_MAX_MS * CUBIC_DT_MAX_MS * CUBIC_DT_MAX_MS * PS_TCP_MSS_MAX * CUBIC_C_NUM <
                   (uint64_t)INT64_MAX,
               "W_cubic must not overflow");

uint32_t ps_tcp_cubic_cbrt(uint64_t x)
{
    /* Bit by bit, three bits of x per bit of the root (Hacker's Delight
     * 11-2, widened to 64 bits): y^3 <= x < (y+1)^3. */
    uint64_t y = 0;
    for (int sh = 63; sh >= 0; sh -= 3) {
        y <<= 1;
        uint64_t b = 3 * y * (y + 1) + 1;
        if ((x >> sh) >= b) {
            x -= b << sh;
            y++;
        }
    }
    return (uint32_t)y;
}

static uint32_t flight(const struct ps_tcb *tcb)
{
    return tcb->snd_max - tcb->snd_una;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

/* W_cubic at t_ms after the epoch, bytes. */
static uint32_t w_cubic(const struct ps_tcb *tcb, uint64_t t_ms)
{
    const struct ps_tcp_cubic *c = &tcb->cubic;
    int64_t d = (int64_t)(t_ms > CUBIC_DT_MAX_MS * 2ull ? CUBIC_DT_MAX_MS * 2ull : t_ms) - (int64_t)c->k_ms;
    if (d > CUBIC_DT_MAX_MS)
        d = CUBIC_DT_MAX_MS;
    if (d < -CUBIC_DT_MAX_MS)
        d = -CUBIC_DT_MAX_MS;
    /* C (d / 1000)^3 segments, in bytes. */
    int64_t delta = d * d * d * (int64_t)ps_tcp_eff_mss(tcb) * CUBIC_C_NUM / (int64_t)(MS3_PER_S3 * CUBIC_C_DEN);
    int64_t w = (int64_t)c->w_max + delta;
    if (w < 0)
        w = 0;
    return w > CUBIC_CWND_MAX ? CUBIC_CWND_MAX : (uint32_t)w;
}

static void cubic_reset(struct ps_tcb *tcb)
{
    memset(&tcb->cubic, 0, sizeof(tcb->cubic));
}

static void cubic_init(struct ps_tcb *tcb)
{
    ps_tcp_cc_newreno.init(tcb); /* initial window, ssthresh, recovery state */
    cubic_reset(tcb);
}

/* The first ACK of a congestion-avoidance stage. */
static void epoch_start(struct ps_tcb *tcb, ps_time_t now)
{
    struct ps_tcp_cubic *c = &tcb->cubic;
    c->epoch = now;
    c->epoch_valid = true;
    c->cwnd_epoch = tcb->cwnd;
    c->w_est = tcb->cwnd;
    c->inc_rem = c->est_rem = 0;
    if (c->after_rto || c->w_max <= tcb->cwnd) {
        /* 4.8 after a timeout, and a window already past the old W_max:
         * the curve starts here, convex. */
        c->after_rto = false;
        c->w_max = tcb->cwnd;
        c->k_ms = 0;
        return;
    }
    /* K = cbrt((W_max - cwnd_epoch) / (C * MSS)) s, in ms. */
    uint64_t diff = c->w_max - tcb->cwnd;
    uint64_t k3 = diff * (MS3_PER_S3 * CUBIC_C_DEN / CUBIC_C_NUM) / ps_tcp_eff_mss(tcb);
    uint32_t k = ps_tcp_cubic_cbrt(k3);
    c->k_ms = k > CUBIC_DT_MAX_MS ? CUBIC_DT_MAX_MS : k;
}

/* Congestion avoidance: one ACK of `acked` new bytes. */
static void cubic_avoid(struct ps_tcb *tcb, uint32_t acked, ps_time_t now)
{
    struct ps_tcp_cubic *c = &tcb->cubic;
    if (!c->epoch_valid)
        epoch_start(tcb, now);
    uint32_t mss = ps_tcp_eff_mss(tcb);
    uint32_t cwnd = tcb->cwnd ? tcb->cwnd : mss;
    uint64_t t_ms = (now - c->epoch) / 1000;
    uint64_t rtt_ms = (tcb->srtt ? tcb->srtt : tcb->rto) / 1000;

    /* 4.3: W_est grows by alpha segments per window acked; alpha is 1 once
     * W_est has passed the window of the last congestion event. */
    bool alpha_one = c->w_est >= c->cwnd_prior;
    uint64_t an = alpha_one ? 1 : CUBIC_ALPHA_NUM, ad = alpha_one ? 1 : CUBIC_ALPHA_DEN;
    uint64_t num = an * mss * acked + c->est_rem;
    uint64_t den = ad * cwnd;
    uint64_t w_est = c->w_est + num / den;
    c->est_rem = (uint32_t)(num % den);
    c->w_est = w_est > CUBIC_CWND_MAX ? CUBIC_CWND_MAX : (uint32_t)w_est;

    if (w_cubic(tcb, t_ms) < c->w_est) {
        /* The Reno-friendly region. */
        if (c->w_est > tcb->cwnd)
            tcb->cwnd = c->w_est;
        return;
    }
    /* 4.4, 4.5: toward W_cubic one RTT ahead, at most half a window more. */
    uint32_t target = w_cubic(tcb, t_ms + rtt_ms);
    uint32_t hi = cwnd + cwnd / 2 > CUBIC_CWND_MAX ? CUBIC_CWND_MAX : cwnd + cwnd / 2;
    if (target > hi)
        target = hi;
    if (target <= cwnd)
        return;
    uint64_t inc = (uint64_t)(target - cwnd) * acked + c->inc_rem;
    uint64_t grown = cwnd + inc / cwnd;
    c->inc_rem = (uint32_t)(inc % cwnd);
    tcb->cwnd = grown > CUBIC_CWND_MAX ? CUBIC_CWND_MAX : (uint32_t)grown;
}

static void cubic_ack(struct ps_tcb *tcb, uint32_t acked, ps_time_t now)
{
    if (tcb->in_recovery || tcb->cwnd < tcb->ssthresh) {
        /* NewReno's recovery (partial and full ACKs) and slow start. */
        ps_tcp_cc_newreno.ack(tcb, acked, now);
        return;
    }
    tcb->dupacks = 0;
    cubic_avoid(tcb, acked, now);
}

/* A congestion event: ssthresh from beta, W_max with fast convergence. */
static void congestion_event(struct ps_tcb *tcb, uint32_t cwnd_before, uint32_t flight_before)
{
    struct ps_tcp_cubic *c = &tcb->cubic;
    uint32_t mss = ps_tcp_eff_mss(tcb);
    /* 4.7: a window that stopped short of the last W_max releases
     * bandwidth to newer flows. */
    if (cwnd_before < c->w_max)
        c->w_max = (uint32_t)((uint64_t)cwnd_before * (CUBIC_BETA_DEN + CUBIC_BETA_NUM) / (2 * CUBIC_BETA_DEN));
    else
        c->w_max = cwnd_before;
    c->cwnd_prior = cwnd_before;
    tcb->ssthresh = max_u32((uint32_t)((uint64_t)flight_before * CUBIC_BETA_NUM / CUBIC_BETA_DEN), 2 * mss);
    c->epoch_valid = false;
}

static void cubic_dupack(struct ps_tcb *tcb)
{
    uint32_t cwnd = tcb->cwnd, fl = flight(tcb);
    bool before = tcb->in_recovery;
    ps_tcp_cc_newreno.dupack(tcb); /* fast retransmit, NewReno recovery */
    if (before || !tcb->in_recovery)
        return;
    /* Recovery began: CUBIC's reduction instead of NewReno's half. */
    congestion_event(tcb, cwnd, fl);
    tcb->cwnd = tcb->ssthresh + 3 * ps_tcp_eff_mss(tcb);
}

static void cubic_timeout(struct ps_tcb *tcb)
{
    uint32_t cwnd = tcb->cwnd, fl = flight(tcb), ssthresh = tcb->ssthresh;
    ps_tcp_cc_newreno.timeout(tcb); /* loss window, recovery off */
    if (tcb->retries <= 1)
        congestion_event(tcb, cwnd, fl); /* 4.8: ssthresh with beta, at the first timeout */
    else
        tcb->ssthresh = ssthresh;
    tcb->cubic.epoch_valid = false;
    tcb->cubic.after_rto = true;
}

const struct ps_tcp_cc_ops ps_tcp_cc_cubic = {
    .name = "cubic",
    .init = cubic_init,
    .ack = cubic_ack,
    .dupack = cubic_dupack,
    .timeout = cubic_timeout,
};

/* ---- the table ---------------------------------------------------------------------- */

static const struct ps_tcp_cc_ops *const algorithms[] = {&ps_tcp_cc_cubic, &ps_tcp_cc_newreno};

const struct ps_tcp_cc_ops *ps_tcp_cc_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
        if (strcmp(algorithms[i]->name, name) == 0)
            return algorithms[i];
    return NULL;
}

void ps_tcp_cc_set(struct ps_tcb *tcb, const struct ps_tcp_cc_ops *cc)
{
    if (tcb->cc == cc)
        return;
    tcb->cc = cc;
    if (tcb->state < PS_TCPS_ESTABLISHED || tcb->state == PS_TCPS_TIME_WAIT || tcb->cwnd == 0)
        return; /* init runs at establishment */
    /* Keep what the connection has learnt; the new algorithm's own state
     * starts afresh (as Linux's tcp_reinit_congestion_control). */
    uint32_t cwnd = tcb->cwnd, ssthresh = tcb->ssthresh, recover = tcb->recover, bytes_acked = tcb->bytes_acked;
    uint8_t dupacks = tcb->dupacks;
    bool in_recovery = tcb->in_recovery;
    cc->init(tcb);
    tcb->cwnd = cwnd;
    tcb->ssthresh = ssthresh;
    tcb->recover = recover;
    tcb->bytes_acked = bytes_acked;
    tcb->dupacks = dupacks;
    tcb->in_recovery = in_recovery;
}
