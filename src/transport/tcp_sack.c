/*
 * SACK both ways and the loss recovery built on it.
 *
 *   receiver  SACK blocks from the out-of-order ranges (tcp_input.c keeps
 *             them): the range holding the latest arrival first, then the
 *             ranges of the arrivals before it, then the rest (RFC 2018 4);
 *             a duplicate arrival is reported first as a D-SACK (RFC 2883).
 *   sender    a bounded scoreboard of SACKed ranges above SND.UNA, fed by
 *             validated blocks only (each strictly above SEG.ACK and at or
 *             below SND.MAX; the rest are discarded and counted), cleared
 *             when the peer is seen to renege (RFC 2018 8);
 *             recovery per RFC 6675 - IsLost, SetPipe, NextSeg - entered on
 *             DupThresh duplicate ACKs or when IsLost(SND.UNA), left when
 *             SND.UNA reaches RecoveryPoint; how much is sent per ACK is
 *             PRR's (RFC 6937, with slow-start reduction bound, PRR-SSRB).
 *
 * The congestion control decides ssthresh on entry (its dupack hook, at
 * the third duplicate) and grows cwnd outside recovery; during a SACK
 * recovery cwnd is PRR's.  A peer without SACK gets the congestion
 * control's NewReno recovery (RFC 6582) unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

bool ps_tcp_ranges_get(struct ps_stack *s, struct ps_tcp_ooo **tab, unsigned n)
{
    if (*tab)
        return true;
    *tab = ps_alloc_ok(s) ? malloc(n * sizeof(**tab)) : NULL;
    if (!*tab)
        PS_STAT_INC(s, tcp_ranges_nomem);
    return *tab != NULL;
}

static void ranges_put(struct ps_tcp_ooo **tab)
{
    free(*tab);
    *tab = NULL;
}

void ps_tcp_ranges_free(struct ps_tcb *tcb)
{
    tcb->nooo = 0;
    tcb->nsacked = 0;
    ranges_put(&tcb->ooo);
    ranges_put(&tcb->sacked);
}

void ps_tcp_sack_reset(struct ps_tcb *tcb)
{
    tcb->nsacked = 0;
    ranges_put(&tcb->sacked);
    tcb->nsack_recent = 0;
    tcb->dsack_pending = false;
    tcb->rto_check = false;
    tcb->sack_newly = 0;
    tcb->high_rxt = tcb->snd_una;
    tcb->prr_delivered = tcb->prr_out = tcb->recover_fs = 0;
}

/* ---- receiver ------------------------------------------------------------------ */

/* The out-of-order range holding seq, or -1. */
static int ooo_find(const struct ps_tcb *tcb, uint32_t seq)
{
    for (unsigned i = 0; i < tcb->nooo; i++)
        if (ps_seq_leq(tcb->ooo[i].start, seq) && ps_seq_lt(seq, tcb->ooo[i].end))
            return (int)i;
    return -1;
}

void ps_tcp_sack_rcvd(struct ps_tcb *tcb, uint32_t start, uint32_t end)
{
    (void)end;
    if (!tcb->sack_ok)
        return;
    /* Newest first; an older entry in the same (merged) range or in none
     * any more goes. */
    int here = ooo_find(tcb, start);
    unsigned n = 0;
    uint32_t keep[PS_TCP_SACK_RECENT];
    keep[n++] = start;
    for (unsigned i = 0; i < tcb->nsack_recent && n < PS_TCP_SACK_RECENT; i++) {
        int r = ooo_find(tcb, tcb->sack_recent[i]);
        if (r >= 0 && r != here)
            keep[n++] = tcb->sack_recent[i];
    }
    memcpy(tcb->sack_recent, keep, n * sizeof(keep[0]));
    tcb->nsack_recent = (uint8_t)n;
}

void ps_tcp_sack_dsack(struct ps_tcb *tcb, uint32_t start, uint32_t end)
{
    if (!tcb->sack_ok || !ps_seq_lt(start, end))
        return;
    tcb->dsack_pending = true;
    tcb->dsack_start = start;
    tcb->dsack_end = end;
}

static bool block_listed(const struct ps_tcp_opts *o, uint32_t left)
{
    for (unsigned i = 0; i < o->sack_count; i++)
        if (o->sack[i].left == left)
            return true;
    return false;
}

void ps_tcp_sack_fill(const struct ps_tcb *tcb, struct ps_tcp_opts *o)
{
    o->sack_count = 0;
    if (!tcb->sack_ok)
        return;
    if (tcb->dsack_pending) {
        o->sack[0].left = tcb->dsack_start;
        o->sack[0].right = tcb->dsack_end;
        o->sack_count = 1;
    }
    for (unsigned i = 0; i < tcb->nsack_recent && o->sack_count < PS_TCP_MAX_SACK; i++) {
        int r = ooo_find(tcb, tcb->sack_recent[i]);
        if (r < 0 || block_listed(o, tcb->ooo[r].start))
            continue;
        o->sack[o->sack_count].left = tcb->ooo[r].start;
        o->sack[o->sack_count].right = tcb->ooo[r].end;
        o->sack_count++;
    }
    /* Then the others, highest first. */
    for (unsigned i = tcb->nooo; i-- > 0 && o->sack_count < PS_TCP_MAX_SACK;) {
        if (block_listed(o, tcb->ooo[i].start))
            continue;
        o->sack[o->sack_count].left = tcb->ooo[i].start;
        o->sack[o->sack_count].right = tcb->ooo[i].end;
        o->sack_count++;
    }
}

/* ---- the scoreboard ------------------------------------------------------------- */

static uint32_t smss(const struct ps_tcb *tcb)
{
    return ps_tcp_eff_mss(tcb);
}

/* Bytes of [a, b) the scoreboard holds. */
static uint32_t sacked_in(const struct ps_tcb *tcb, uint32_t a, uint32_t b)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < tcb->nsacked; i++) {
        uint32_t l = ps_seq_max(a, tcb->sacked[i].start), r = ps_seq_min(b, tcb->sacked[i].end);
        if (ps_seq_lt(l, r))
            n += r - l;
    }
    return n;
}

static uint32_t unsacked_in(const struct ps_tcb *tcb, uint32_t a, uint32_t b)
{
    return ps_seq_lt(a, b) ? (b - a) - sacked_in(tcb, a, b) : 0;
}

/* Add [l, r) (valid, above SND.UNA); returns the bytes it newly covers. */
static uint32_t sb_add(struct ps_stack *s, struct ps_tcb *tcb, uint32_t l, uint32_t r)
{
    uint32_t newly = (r - l) - sacked_in(tcb, l, r);
    if (newly == 0 || !ps_tcp_ranges_get(s, &tcb->sacked, PS_TCP_SACK_SLOTS))
        return 0;
    for (unsigned i = 0; i < tcb->nsacked;) {
        struct ps_tcp_ooo *e = &tcb->sacked[i];
        if (ps_seq_leq(e->start, r) && ps_seq_leq(l, e->end)) {
            l = ps_seq_min(l, e->start);
            r = ps_seq_max(r, e->end);
            memmove(e, e + 1, (tcb->nsacked - i - 1) * sizeof(*e));
            tcb->nsacked--;
            continue;
        }
        i++;
    }
    if (tcb->nsacked == PS_TCP_SACK_SLOTS) {
        /* Full: the highest range is the least useful (recovery works
         * upward from SND.UNA); forgetting it costs retransmissions only. */
        if (ps_seq_gt(l, tcb->sacked[tcb->nsacked - 1].start))
            return 0;
        tcb->nsacked--;
    }
    unsigned i = 0;
    while (i < tcb->nsacked && ps_seq_lt(tcb->sacked[i].start, l))
        i++;
    memmove(&tcb->sacked[i + 1], &tcb->sacked[i], (tcb->nsacked - i) * sizeof(tcb->sacked[0]));
    tcb->sacked[i].start = l;
    tcb->sacked[i].end = r;
    tcb->nsacked++;
    return newly;
}

uint32_t ps_tcp_sack_input(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_tcp_hdr *th)
{
    const struct ps_tcp_opts *o = &th->opt;
    uint32_t ack = th->ack;
    tcb->sack_newly = 0;
    /* The first new ACK after an RTO: an echo of a timestamp older than the
     * retransmission means the original arrived (RFC 3522's test). */
    if (tcb->rto_check && ps_seq_gt(ack, tcb->snd_una)) {
        tcb->rto_check = false;
        if (tcb->ts_ok && o->has_timestamp && o->tsecr && ps_seq_lt(o->tsecr, tcb->rto_tsval))
            PS_STAT_INC(s, tcp_spurious_rto);
    }
    if (!tcb->sack_ok || o->sack_count == 0)
        return 0;
    uint32_t una = ps_seq_gt(ack, tcb->snd_una) ? ack : tcb->snd_una;
    for (unsigned i = 0; i < o->sack_count; i++) {
        uint32_t l = o->sack[i].left, r = o->sack[i].right;
        PS_STAT_INC(s, tcp_sack_blocks_rx);
        /* RFC 2883: a first block at or below the ACK, or inside the
         * second, reports a duplicate. */
        if (i == 0 && ps_seq_lt(l, r) &&
            (ps_seq_leq(r, ack) || (o->sack_count > 1 && ps_seq_geq(l, o->sack[1].left) &&
                                    ps_seq_leq(r, o->sack[1].right)))) {
            PS_STAT_INC(s, tcp_dsack_rx);
            continue;
        }
        /* RFC 2018 / 6675: a block must lie in (SEG.ACK, SND.MAX]; anything
         * else is stale or forged and is not believed. */
        if (!ps_seq_lt(l, r) || !ps_seq_gt(l, una) || ps_seq_gt(r, tcb->snd_max)) {
            PS_STAT_INC(s, tcp_sack_blocks_bad);
            continue;
        }
        tcb->sack_newly += sb_add(s, tcb, l, r);
    }
    return tcb->sack_newly;
}

/* SND.UNA moved: drop what it covers.  A SACKed range that SND.UNA reaches
 * but does not pass was thrown away by the peer (RFC 2018 8): forget
 * every SACK and resend from SND.UNA. */
static void sb_trim(struct ps_stack *s, struct ps_tcb *tcb)
{
    uint32_t una = tcb->snd_una;
    while (tcb->nsacked && ps_seq_leq(tcb->sacked[0].end, una)) {
        memmove(&tcb->sacked[0], &tcb->sacked[1], (tcb->nsacked - 1) * sizeof(tcb->sacked[0]));
        tcb->nsacked--;
    }
    if (tcb->nsacked && ps_seq_leq(tcb->sacked[0].start, una)) {
        PS_STAT_INC(s, tcp_sack_reneging);
        tcb->nsacked = 0;
        tcb->high_rxt = una;
        tcb->rexmit_one = true;
    }
    if (tcb->nsacked == 0)
        ranges_put(&tcb->sacked);
    if (ps_seq_lt(tcb->high_rxt, una))
        tcb->high_rxt = una;
}

/* ---- RFC 6675 ---------------------------------------------------------------------- */

/* The lost prefix: every unSACKed octet below the returned sequence is
 * IsLost() - DupThresh SACKed ranges, or more than (DupThresh - 1) * SMSS
 * SACKed bytes, lie above it. */
static uint32_t lost_edge(const struct ps_tcb *tcb)
{
    uint32_t cum = 0, limit = (PS_TCP_DUPTHRESH - 1) * smss(tcb);
    unsigned count = 0;
    for (unsigned i = tcb->nsacked; i-- > 0;) {
        cum += tcb->sacked[i].end - tcb->sacked[i].start;
        count++;
        if (cum > limit || count >= PS_TCP_DUPTHRESH)
            return tcb->sacked[i].start;
    }
    return tcb->snd_una;
}

uint32_t ps_tcp_sack_pipe(const struct ps_tcb *tcb)
{
    uint32_t una = tcb->snd_una, lost = lost_edge(tcb);
    uint32_t rxt = ps_seq_gt(tcb->high_rxt, una) ? tcb->high_rxt : una;
    /* Not SACKed and not lost, plus retransmitted (and not since SACKed). */
    return unsacked_in(tcb, una, tcb->snd_max) - unsacked_in(tcb, una, lost) + unsacked_in(tcb, una, rxt);
}

/* The first octet at or above seq no SACKed range covers. */
static uint32_t first_unsacked(const struct ps_tcb *tcb, uint32_t seq)
{
    for (unsigned i = 0; i < tcb->nsacked; i++)
        if (ps_seq_leq(tcb->sacked[i].start, seq) && ps_seq_lt(seq, tcb->sacked[i].end))
            seq = tcb->sacked[i].end;
    return seq;
}

/* The start of the first SACKed range above seq, or SND.MAX. */
static uint32_t next_sacked(const struct ps_tcb *tcb, uint32_t seq)
{
    for (unsigned i = 0; i < tcb->nsacked; i++)
        if (ps_seq_gt(tcb->sacked[i].start, seq))
            return tcb->sacked[i].start;
    return tcb->snd_max;
}

bool ps_tcp_sack_nextseg(const struct ps_tcb *tcb, bool unlost_ok, uint32_t *seq, uint32_t *len)
{
    uint32_t from = ps_seq_gt(tcb->high_rxt, tcb->snd_una) ? tcb->high_rxt : tcb->snd_una;
    uint32_t s2 = first_unsacked(tcb, from);
    if (tcb->in_recovery && tcb->prr_out == 0) {
        /* RFC 6675 5 (4.2): recovery starts by resending the first
         * segment presumed dropped, HighACK + 1, lost or not yet. */
        if (!ps_seq_lt(s2, tcb->snd_max))
            return false;
    } else {
        /* Rule 1: a lost octet; rule 3: any hole below the highest SACK. */
        if (tcb->nsacked == 0)
            return false;
        uint32_t bound = unlost_ok ? tcb->sacked[tcb->nsacked - 1].start : lost_edge(tcb);
        if (!ps_seq_lt(s2, bound))
            return false;
    }
    uint32_t n = next_sacked(tcb, s2) - s2;
    if (n > smss(tcb))
        n = smss(tcb);
    *seq = s2;
    *len = n;
    return true;
}

uint32_t ps_tcp_sack_usable(const struct ps_tcb *tcb)
{
    uint32_t pipe = ps_tcp_sack_pipe(tcb);
    uint32_t cc = tcb->cwnd > pipe ? tcb->cwnd - pipe : 0;
    uint32_t out = tcb->snd_nxt - tcb->snd_una;
    uint32_t peer = tcb->snd_wnd > out ? tcb->snd_wnd - out : 0;
    return cc < peer ? cc : peer;
}

uint32_t ps_tcp_sack_skip(struct ps_tcb *tcb)
{
    if (!tcb->sack_ok || tcb->nsacked == 0 || !ps_seq_lt(tcb->snd_nxt, tcb->snd_max))
        return UINT32_MAX;
    tcb->snd_nxt = first_unsacked(tcb, tcb->snd_nxt);
    return next_sacked(tcb, tcb->snd_nxt) - tcb->snd_nxt;
}

/* ---- PRR (RFC 6937) ------------------------------------------------------------------- */

static void prr_ack(struct ps_tcb *tcb, uint32_t delivered)
{
    uint32_t mss = smss(tcb);
    tcb->prr_delivered += delivered;
    uint32_t pipe = ps_tcp_sack_pipe(tcb);
    int64_t sndcnt;
    if (pipe > tcb->ssthresh) {
        /* Proportional: spread the reduction over the recovery. */
        uint64_t fs = tcb->recover_fs ? tcb->recover_fs : 1;
        uint64_t want = ((uint64_t)tcb->prr_delivered * tcb->ssthresh + fs - 1) / fs;
        sndcnt = (int64_t)want - (int64_t)tcb->prr_out;
    } else {
        /* Slow-start reduction bound: back up to ssthresh, no faster
         * than slow start. */
        int64_t limit = (int64_t)tcb->prr_delivered - (int64_t)tcb->prr_out;
        if (limit < (int64_t)delivered)
            limit = delivered;
        limit += mss;
        int64_t gap = (int64_t)tcb->ssthresh - (int64_t)pipe;
        sndcnt = gap < limit ? gap : limit;
    }
    if (sndcnt < 0)
        sndcnt = 0;
    /* The fast retransmit itself always goes (as Linux). */
    if (tcb->prr_out == 0 && sndcnt < (int64_t)mss)
        sndcnt = mss;
    tcb->cwnd = pipe + (uint32_t)sndcnt;
}

/* ---- entering and leaving recovery --------------------------------------------------- */

static void enter_recovery(struct ps_stack *s, struct ps_tcb *tcb)
{
    /* The congestion control sets ssthresh and RecoveryPoint at its
     * DupThresh-th duplicate, unless the loss is older than the last
     * recovery (RFC 6582 4, RFC 6675 5). */
    tcb->dupacks = PS_TCP_DUPTHRESH - 1;
    tcb->cc->dupack(tcb);
    if (!tcb->in_recovery)
        return;
    tcb->rexmit_one = false; /* NextSeg chooses */
    tcb->high_rxt = tcb->snd_una;
    tcb->recover_fs = tcb->snd_max - tcb->snd_una;
    tcb->prr_delivered = tcb->prr_out = 0;
    PS_STAT_INC(s, tcp_recovery_episodes);
    PS_STAT_INC(s, tcp_fast_retransmits);
    prr_ack(tcb, tcb->sack_newly);
}

static bool can_enter(const struct ps_tcb *tcb)
{
    return ps_seq_lt(tcb->snd_una, tcb->snd_max) && lost_edge(tcb) != tcb->snd_una;
}

void ps_tcp_loss_ack(struct ps_stack *s, struct ps_tcb *tcb, uint32_t acked)
{
    if (!tcb->sack_ok) {
        tcb->cc->ack(tcb, acked, s->now);
        return;
    }
    sb_trim(s, tcb);
    if (tcb->in_recovery) {
        if (ps_seq_geq(tcb->snd_una, tcb->recover)) {
            /* RFC 6937: at the end of recovery cwnd is ssthresh. */
            tcb->cwnd = tcb->ssthresh;
            tcb->in_recovery = false;
            tcb->dupacks = 0;
            tcb->bytes_acked = 0;
        } else {
            prr_ack(tcb, acked + tcb->sack_newly);
            return;
        }
    } else {
        tcb->cc->ack(tcb, acked, s->now);
    }
    /* A cumulative ACK may itself show a loss (SACKs above SND.UNA). */
    if (!tcb->in_recovery && can_enter(tcb))
        enter_recovery(s, tcb);
}

void ps_tcp_loss_dupack(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (!tcb->sack_ok) {
        bool before = tcb->in_recovery;
        tcb->cc->dupack(tcb);
        if (!before && tcb->in_recovery) {
            PS_STAT_INC(s, tcp_fast_retransmits);
            PS_STAT_INC(s, tcp_recovery_episodes);
        }
        return;
    }
    if (tcb->in_recovery) {
        prr_ack(tcb, tcb->sack_newly);
        return;
    }
    if (tcb->dupacks < 255)
        tcb->dupacks++;
    if (tcb->dupacks >= PS_TCP_DUPTHRESH || can_enter(tcb))
        enter_recovery(s, tcb);
}

void ps_tcp_loss_timeout(struct ps_stack *s, struct ps_tcb *tcb)
{
    /* RFC 6675 5.1: recovery ends (the congestion control did that);
     * the scoreboard is kept so the resend skips SACKed data, unless the
     * timeout repeats - then the peer may have reneged (RFC 2018 8). */
    tcb->high_rxt = tcb->snd_una;
    if (tcb->retries >= 2)
        tcb->nsacked = 0;
    if (tcb->ts_ok && tcb->retries == 1) {
        tcb->rto_check = true;
        tcb->rto_tsval = ps_tcp_ts_now(s, tcb);
    }
}
