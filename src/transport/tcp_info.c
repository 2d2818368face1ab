/*
 * A connection's figures (PS_TCP_INFO, and `ss -ti` through the socket
 * layer's listing).
 *
 * The payload counters follow the sequence space: bytes sent is how far
 * SND.MAX went, bytes acked how far SND.UNA went, neither counting the SYN
 * or the FIN, so retransmissions never count twice and the two are equal
 * once everything is acknowledged.  They are brought up to date lazily,
 * on every segment received (ps_tcp_keep_rcvd) and on every reading, which
 * is far more often than the 2 GB of progress a 32-bit difference allows.
 */
#include <string.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

_Static_assert(PS_TCPS_ESTABLISHED == PS_TCPI_ESTABLISHED && PS_TCPS_TIME_WAIT == PS_TCPI_TIME_WAIT &&
                   PS_TCPS_SYN_RECEIVED == PS_TCPI_SYN_RECEIVED && PS_TCPS_CLOSE_WAIT == PS_TCPI_CLOSE_WAIT,
               "PS_TCPI_* follow enum ps_tcp_state");

/* A sequence number, less our FIN once it is past it. */
static uint32_t data_edge(const struct ps_tcb *tcb, uint32_t seq)
{
    if (tcb->fin_queued && ps_seq_gt(seq, tcb->fin_seq))
        return tcb->fin_seq;
    return seq;
}

void ps_tcp_info_account(struct ps_tcb *tcb)
{
    if (!tcb->acct_started) {
        if (tcb->state < PS_TCPS_ESTABLISHED || !tcb->ever_connected)
            return;
        tcb->acct_started = true;
        tcb->acct_una = tcb->acct_max = tcb->iss + 1; /* the first data octet */
        tcb->acked_total = tcb->sent_total = 0;
    }
    uint32_t una = data_edge(tcb, tcb->snd_una), max = data_edge(tcb, tcb->snd_max);
    if (ps_seq_gt(una, tcb->acct_una)) {
        tcb->acked_total += una - tcb->acct_una;
        tcb->acct_una = una;
    }
    if (ps_seq_gt(max, tcb->acct_max)) {
        tcb->sent_total += max - tcb->acct_max;
        tcb->acct_max = max;
    }
}

void ps_tcp_info_fill(struct ps_tcb *tcb, struct ps_tcp_info *ti)
{
    memset(ti, 0, sizeof(*ti));
    ps_tcp_info_account(tcb);
    ti->state = (uint8_t)tcb->state;
    if (tcb->in_recovery)
        ti->ca_state = PS_TCPI_CA_RECOVERY;
    else if (tcb->retries > 0 && tcb->state >= PS_TCPS_ESTABLISHED)
        ti->ca_state = PS_TCPI_CA_LOSS;
    else
        ti->ca_state = PS_TCPI_CA_OPEN;
    if (tcb->ts_ok)
        ti->options |= PS_TCPI_OPT_TIMESTAMPS;
    if (tcb->sack_ok)
        ti->options |= PS_TCPI_OPT_SACK;
    if (tcb->ws_ok) {
        ti->options |= PS_TCPI_OPT_WSCALE;
        ti->snd_wscale = tcb->snd_wscale;
        ti->rcv_wscale = tcb->rcv_wscale;
    }
    ti->backoff = tcb->retries;
    ti->keepalive_probes = tcb->keep_probes;
    if (tcb->state != PS_TCPS_LISTEN && (tcb->state != PS_TCPS_CLOSED || tcb->ever_connected)) {
        ti->snd_mss = ps_tcp_eff_mss(tcb);
        ti->rcv_mss = tcb->rcv_mss;
    }
    ti->rto_us = (uint32_t)tcb->rto;
    ti->srtt_us = (uint32_t)tcb->srtt;
    ti->rttvar_us = (uint32_t)tcb->rttvar;
    ti->cwnd = tcb->cwnd;
    ti->ssthresh = tcb->ssthresh >= PS_TCPI_INFINITE_SSTHRESH || tcb->ssthresh == 0 ? PS_TCPI_INFINITE_SSTHRESH
                                                                                    : tcb->ssthresh;
    ti->snd_wnd = tcb->snd_wnd;
    if (tcb->state >= PS_TCPS_SYN_RECEIVED && tcb->state != PS_TCPS_TIME_WAIT)
        ti->rcv_wnd = ps_seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    if (tcb->state >= PS_TCPS_SYN_SENT)
        ti->unacked = tcb->snd_max - tcb->snd_una;
    ti->bytes_sent = tcb->sent_total;
    ti->bytes_acked = tcb->acked_total;
    ti->bytes_received = tcb->bytes_in;
    ti->segs_out = tcb->segs_out;
    ti->segs_in = tcb->segs_in;
    ti->retransmits = tcb->retransmits;
    if (tcb->cc && tcb->cc->name) {
        size_t n = strlen(tcb->cc->name);
        if (n >= sizeof(ti->congestion))
            n = sizeof(ti->congestion) - 1;
        memcpy(ti->congestion, tcb->cc->name, n);
    }
}
