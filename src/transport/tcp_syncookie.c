/*
 * SYN cookies: when a listener's half-open queue is full, a SYN is
 * answered with a SYN-ACK whose ISN encodes everything the connection
 * needs, and no state is kept; the client's ACK brings the ISN back (as
 * SEG.ACK - 1), and if it checks out the connection is rebuilt and queued
 * for accept() as if it had gone through the half-open queue.
 *
 * The cookie, as Linux's (net/ipv4/syncookies.c), with SipHash-2-4 under a
 * per-stack key for its hash:
 *
 *   ISN = H(quad, 0) + SEG.SEQ + (count << 24) + ((H(quad, count) + mss) mod 2^24)
 *
 * where count is a coarse clock (PS_TCP_SYNCOOKIE_PERIOD_MS a tick) and
 * mss the index of the client's MSS in a small table.  The check recovers
 * count from the top byte, refuses cookies older than
 * PS_TCP_SYNCOOKIE_MAX_AGE ticks, and accepts only if the low 24 bits give
 * a valid table index (a forged ACK passes with odds of about 2^-22).
 *
 * When the SYN carried timestamps, the low 6 bits of our SYN-ACK's TSval
 * carry the rest, and come back in the ACK's TSecr: the client's window
 * scale (4 bits, 0xf for none) and SACK-permitted (1 bit).  Without
 * timestamps only the MSS survives: our SYN-ACK then offers neither window
 * scaling nor SACK, so both sides agree.  Cookies are checked only while
 * the listener has overflowed recently, as Linux does.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

#define PS_TCP_SYNCOOKIE_PERIOD_MS 64000u /* the cookie clock's tick */
#define PS_TCP_SYNCOOKIE_MAX_AGE 2u       /* ticks a cookie stays valid */
#define COOKIE_BITS 24
#define COOKIE_MASK ((1u << COOKIE_BITS) - 1)
#define TS_OPT_BITS 6                     /* low TSval bits carrying options */
#define TS_OPT_MASK ((1u << TS_OPT_BITS) - 1)
#define TS_OPT_WSCALE_MASK 0x0fu
#define TS_OPT_WSCALE_NONE 0x0fu
#define TS_OPT_SACK 0x10u

/* Client MSS values a cookie can say (Linux's IPv4 table). */
static const uint16_t mss_table[] = {536, 1300, 1440, 1460};
#define MSS_TABLE_LEN (sizeof(mss_table) / sizeof(mss_table[0]))

void ps_tcp_syncookie_init(struct ps_stack *s)
{
    s->tcp->cookie_key.k0 = ps_stack_random(s);
    s->tcp->cookie_key.k1 = ps_stack_random(s);
}

static uint32_t cookie_hash(const struct ps_stack *s, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr,
                            uint16_t rport, uint32_t count, uint32_t c)
{
    return (uint32_t)ps_siphash_u64x4(&s->tcp->cookie_key, ((uint64_t)laddr << 32) | raddr,
                                      ((uint64_t)lport << 16) | rport, count, c, 4);
}

static uint32_t cookie_count(const struct ps_stack *s)
{
    return (uint32_t)(s->now / PS_MS(PS_TCP_SYNCOOKIE_PERIOD_MS));
}

static uint32_t ts_clock(const struct ps_stack *s)
{
    return (uint32_t)(s->now / 1000); /* as ps_tcp_ts_now: 1 ms */
}

/* The window scale a block with this receive buffer uses (ps_tcb_start). */
static uint8_t wscale_for(unsigned rcvbuf)
{
    uint8_t ws = 0;
    while (ws < PS_TCP_WSCALE_MAX && (rcvbuf >> ws) > 65535)
        ws++;
    return ws;
}

bool ps_tcp_syncookie_send(struct ps_stack *s, struct ps_tcb *lst, const struct ps_ipv4_hdr *ip,
                           const struct ps_tcp_hdr *th)
{
    if (!s->cfg.tcp_syncookies)
        return false;
    lst->synq_overflow_at = s->now ? s->now : 1;
    ps_ip4_t laddr = ip->dst, raddr = ip->src;
    uint16_t lport = th->dport, rport = th->sport;
    /* The largest table entry the client's MSS allows (as Linux). */
    unsigned peer_mss = th->opt.has_mss ? th->opt.mss : PS_TCP_MSS_DEFAULT;
    uint32_t idx = MSS_TABLE_LEN - 1;
    while (idx > 0 && peer_mss < mss_table[idx])
        idx--;
    uint32_t count = cookie_count(s);
    uint32_t isn = cookie_hash(s, laddr, lport, raddr, rport, 0, 0) + th->seq + (count << COOKIE_BITS) +
                   ((cookie_hash(s, laddr, lport, raddr, rport, count, 1) + idx) & COOKIE_MASK);
    struct ps_tcp_opts o;
    memset(&o, 0, sizeof(o));
    o.has_mss = true;
    o.mss = ps_tcp_mss_for(s, raddr);
    if (th->opt.has_timestamp) {
        uint32_t opts = TS_OPT_WSCALE_NONE;
        if (th->opt.has_wscale) {
            o.has_wscale = true;
            o.wscale = wscale_for(lst->rcvbuf);
            opts = th->opt.wscale > PS_TCP_WSCALE_MAX ? PS_TCP_WSCALE_MAX : th->opt.wscale;
        }
        if (th->opt.sack_permitted) {
            o.sack_permitted = true;
            opts |= TS_OPT_SACK;
        }
        /* The offset every connection toward raddr uses (tcp_isn.c), so
         * the rebuilt connection's timestamps go on from this one. */
        uint32_t now = ts_clock(s) + ps_tcp_ts_offset(s, laddr, raddr);
        uint32_t tsval = (now & ~TS_OPT_MASK) | opts;
        if (ps_seq_gt(tsval, now))
            tsval -= 1u << TS_OPT_BITS; /* never ahead of the clock */
        o.has_timestamp = true;
        o.tsval = tsval;
        o.tsecr = th->opt.tsval;
    }
    uint16_t win = lst->rcvbuf > 65535 ? 65535 : (uint16_t)lst->rcvbuf; /* a SYN's is never scaled */
    ps_tcp_send_raw(s, laddr, raddr, lport, rport, isn, th->seq + 1, PS_TCP_SYN | PS_TCP_ACK, win, &o, lst->ttl);
    PS_STAT_INC(s, tcp_syncookies_sent);
    return true;
}

/* Check a returning cookie; on success the client's MSS index. */
static bool cookie_check(const struct ps_stack *s, const struct ps_ipv4_hdr *ip, const struct ps_tcp_hdr *th,
                         uint32_t *idx)
{
    ps_ip4_t laddr = ip->dst, raddr = ip->src;
    uint16_t lport = th->dport, rport = th->sport;
    uint32_t isn = th->ack - 1, sseq = th->seq - 1;
    uint32_t c = isn - cookie_hash(s, laddr, lport, raddr, rport, 0, 0) - sseq;
    uint32_t count = cookie_count(s);
    uint32_t age = (count - (c >> COOKIE_BITS)) & (0xffffffffu >> COOKIE_BITS);
    if (age >= PS_TCP_SYNCOOKIE_MAX_AGE)
        return false;
    uint32_t m = (c - cookie_hash(s, laddr, lport, raddr, rport, count - age, 1)) & COOKIE_MASK;
    if (m >= MSS_TABLE_LEN)
        return false;
    *idx = m;
    return true;
}

bool ps_tcp_syncookie_ack(struct ps_stack *s, struct ps_tcb *lst, const struct ps_ipv4_hdr *ip,
                          const struct ps_tcp_hdr *th, const uint8_t *data, uint32_t dlen)
{
    uint8_t f = th->flags;
    if (!s->cfg.tcp_syncookies || !(f & PS_TCP_ACK) || (f & (PS_TCP_SYN | PS_TCP_RST)))
        return false;
    /* Only while the listener has overflowed recently (Linux's
     * tcp_synq_no_recent_overflow): otherwise it is an ordinary stray ACK. */
    if (!lst->synq_overflow_at ||
        s->now - lst->synq_overflow_at > PS_MS((uint64_t)PS_TCP_SYNCOOKIE_PERIOD_MS * PS_TCP_SYNCOOKIE_MAX_AGE))
        return false;
    uint32_t idx;
    if (!cookie_check(s, ip, th, &idx)) {
        PS_STAT_INC(s, tcp_syncookies_failed);
        return false; /* answered as LISTEN answers an ACK: RST */
    }
    ps_ip4_t laddr = ip->dst, raddr = ip->src;
    uint16_t lport = th->dport, rport = th->sport;
    /* The options, from the TSecr when the ACK carries timestamps (our
     * SYN-ACK had them only if the SYN did). */
    struct ps_tcp_opts o;
    memset(&o, 0, sizeof(o));
    o.has_mss = true;
    o.mss = mss_table[idx];
    if (th->opt.has_timestamp) {
        uint32_t now = ts_clock(s) + ps_tcp_ts_offset(s, laddr, raddr), tsecr = th->opt.tsecr;
        uint32_t opts = tsecr & TS_OPT_MASK;
        uint32_t ws = opts & TS_OPT_WSCALE_MASK;
        /* The echoed TSval must be one we could have sent, and young. */
        if (ps_seq_gt(tsecr, now) ||
            now - tsecr > PS_TCP_SYNCOOKIE_PERIOD_MS * PS_TCP_SYNCOOKIE_MAX_AGE ||
            (ws != TS_OPT_WSCALE_NONE && ws > PS_TCP_WSCALE_MAX)) {
            PS_STAT_INC(s, tcp_syncookies_failed);
            return false;
        }
        o.has_timestamp = true;
        o.tsval = th->opt.tsval;
        o.tsecr = tsecr;
        if (ws != TS_OPT_WSCALE_NONE) {
            o.has_wscale = true;
            o.wscale = (uint8_t)ws;
        }
        o.sack_permitted = (opts & TS_OPT_SACK) != 0;
    }
    if (lst->acceptq_len >= lst->backlog) {
        /* No room: drop the ACK; the client's retransmission brings the
         * cookie again (as Linux). */
        PS_STAT_INC(s, tcp_accept_overflow);
        return true;
    }
    struct ps_tcb *c = s->tcp->up.spawn ? s->tcp->up.spawn(s, lst) : NULL;
    if (!c) {
        PS_STAT_INC(s, tcp_no_socket);
        ps_tcp_reset_reply(s, ip, th, dlen + ((f & PS_TCP_FIN) ? 1 : 0));
        return true;
    }
    c->passive = true;
    c->orphan = true; /* no socket number until accepted */
    if (ps_ports_attach(s, &c->ep, laddr, lport, raddr, rport) != 0 || ps_tcb_start(s, c, laddr, raddr) != 0) {
        ps_tcp_closed(s, c, 0);
        return true;
    }
    PS_STAT_INC(s, tcp_syncookies_ok);
    /* Rebuild the connection as the SYN-ACK left it: SYN-RECEIVED, our
     * SYN sent, the client's ISN one before its ACK's sequence number. */
    c->irs = th->seq - 1;
    c->rcv_nxt = th->seq;
    c->last_ack_sent = c->rcv_nxt;
    ps_tcp_syn_options(s, c, &o);
    uint16_t win = c->rcvbuf > 65535 ? 65535 : (uint16_t)c->rcvbuf;
    c->rcv_adv = c->rcv_nxt + win;
    c->iss = th->ack - 1;
    c->snd_una = c->iss;
    c->snd_nxt = c->snd_max = c->iss + 1;
    c->sb_seq = c->iss + 1;
    c->snd_wl1 = c->irs;
    c->snd_wl2 = c->iss;
    c->retries = 1; /* the TSecr's low bits are options: no RTT sample from it */
    c->state = PS_TCPS_SYN_RECEIVED;
    c->parent = lst;
    c->lq_next = lst->synq;
    lst->synq = c;
    lst->synq_len++;
    PS_GAUGE_ADD(s, tcp_half_open, 1);
    /* The ACK (and any data or FIN on it) now completes the handshake
     * through the ordinary path, which moves c to the accept queue. */
    ps_tcp_segment(s, c, ip, th, data, dlen);
    if (c->state == PS_TCPS_SYN_RECEIVED && c->parent == lst && !c->in_acceptq)
        ps_tcp_closed(s, c, 0); /* not completed: nothing is kept */
    return true;
}
