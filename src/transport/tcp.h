/*
 * TCP (RFC 9293): the connection block and the internal API.
 *
 * The implementation is split by concern, as FreeBSD's is:
 *
 *   tcp_seq.h        modular sequence-number comparisons
 *   tcp_buf.c        byte rings for the send and receive buffers
 *   tcp_isn.c        initial sequence numbers (RFC 6528)
 *   tcp_subr.c       per-stack set-up, block life cycle, RST for strangers,
 *                    ICMP errors, the deferred readiness events
 *   tcp_usrreq.c     the user calls: connect, send, recv, shutdown, close
 *   tcp_listen.c     listeners: SYN handling, half-open and accept queues
 *   tcp_input.c      segment arrival (RFC 9293 3.10.7) in every state
 *   tcp_output.c     segments and options, window, Nagle, delayed ACK
 *   tcp_timer.c      retransmission (RFC 6298), persist, delayed ACK,
 *                    TIME_WAIT and FIN_WAIT_2
 *   tcp_cc_newreno.c congestion control (RFC 5681, RFC 6582) behind
 *                    struct ps_tcp_cc_ops
 *   tcp_cc_cubic.c   CUBIC (RFC 9438), the default; the table of algorithms
 *   tcp_keepalive.c  keepalive (RFC 9293 3.8.4), user timeout, the
 *                    per-socket choices (congestion control, keepalive)
 *   tcp_info.c       a connection's figures (PS_TCP_INFO, ss -ti)
 *   tcp_sack.c       SACK both ways (RFC 2018), SACK loss recovery (RFC
 *                    6675) and PRR (RFC 6937)
 *   tcp_syncookie.c  SYN cookies when a listener's half-open queue is full
 *   tcp_timewait.c   TIME_WAIT as compact records owning their quadruple
 *
 * Connection blocks live in the socket layer's table (one per socket
 * entry; no allocation but the two buffer rings).  TCP never calls up into
 * the socket API: it tells the socket layer through the upcalls the
 * socket layer registers (ps_tcp_set_upcalls), and those events are
 * deferred to the end of each entry point (input, timer, user call), so an
 * application callback never runs while TCP is in the middle of a segment.
 */
#ifndef PS_TRANSPORT_TCP_H
#define PS_TRANSPORT_TCP_H

#include <sys/types.h>

#include <portstack/net.h>
#include <portstack/siphash.h>
#include <portstack/socket.h>
#include <portstack/wire.h>

#include "core/timer.h"
#include "transport/ports.h"
#include "transport/tcp_buf.h"

enum ps_tcp_state {
    PS_TCPS_CLOSED = 0,
    PS_TCPS_LISTEN,
    PS_TCPS_SYN_SENT,
    PS_TCPS_SYN_RECEIVED,
    PS_TCPS_ESTABLISHED,
    PS_TCPS_FIN_WAIT_1,
    PS_TCPS_FIN_WAIT_2,
    PS_TCPS_CLOSE_WAIT,
    PS_TCPS_CLOSING,
    PS_TCPS_LAST_ACK,
    PS_TCPS_TIME_WAIT,
};

/* The largest MSS we use: a segment must fit one small pbuf. */
#define PS_TCP_MSS_MAX 1460
#define PS_TCP_MSS_MIN 88     /* floor for fragmentation-needed (68 - 20 + slack) */
#define PS_TCP_MSS_DEFAULT 536 /* RFC 9293 3.7.1: when the peer sends none */
#define PS_TCP_WSCALE_MAX 14

/* SACK (RFC 2018, RFC 6675): SACKed ranges the sender's scoreboard holds
 * (PS_TCP_SACK_SLOTS in config.h: beyond it the highest are forgotten,
 * which costs only retransmissions), the recent out-of-order arrivals the
 * receiver reports first, and DupThresh. */
#define PS_TCP_SACK_RECENT 4
#define PS_TCP_DUPTHRESH 3

struct ps_tcb;

/* A connection's timers (tcp_timer.c): each is a deadline in the block,
 * and one entry of the stack's timer heap stands for the earliest. */
enum ps_tcp_timer_kind {
    PS_TCPT_REXMIT, /* retransmission, or persist (the two never run together) */
    PS_TCPT_DELACK, /* delayed ACK */
    PS_TCPT_CONN,   /* TIME_WAIT (2*MSL), FIN_WAIT_2 timeout */
    PS_TCPT_KEEP,   /* keepalive (tcp_keepalive.c) */
    PS_TCPT_COUNT
};

/* Congestion control: one ops struct per algorithm (tcp_cc_*.c).  State
 * lives in the block's cc fields. */
struct ps_tcp_cc_ops {
    const char *name;
    void (*init)(struct ps_tcb *tcb);             /* at establishment */
    void (*ack)(struct ps_tcb *tcb, uint32_t acked, ps_time_t now); /* SND.UNA advanced */
    void (*dupack)(struct ps_tcb *tcb);           /* a duplicate ACK */
    void (*timeout)(struct ps_tcb *tcb);          /* the RTO fired */
};
extern const struct ps_tcp_cc_ops ps_tcp_cc_newreno;
extern const struct ps_tcp_cc_ops ps_tcp_cc_cubic;

/* CUBIC's state (tcp_cc_cubic.c); sizes in bytes. */
struct ps_tcp_cubic {
    ps_time_t epoch;         /* start of the congestion-avoidance stage */
    uint32_t w_max;          /* W_max: cwnd before the last reduction (fast convergence) */
    uint32_t cwnd_prior;     /* cwnd when the last congestion event came */
    uint32_t cwnd_epoch;     /* cwnd at the start of the stage */
    uint32_t k_ms;           /* K, ms */
    uint32_t w_est;          /* W_est, the Reno-friendly estimate */
    uint32_t inc_rem, est_rem; /* fractions of a byte carried between ACKs */
    bool epoch_valid;        /* a stage is running (epoch set) */
    bool after_rto;          /* the next stage starts with K = 0 (RFC 9438 4.8) */
};

/* An out-of-order range above RCV.NXT, data held in the receive ring. */
struct ps_tcp_ooo {
    uint32_t start, end; /* [start, end) in sequence space */
};

/* The connection block.  Ordered by size, flags as bit-fields: with
 * 10,000 connections every byte here is 10 KB (docs/DESIGN.md, memory). */
struct ps_tcb {
    struct ps_endpoint ep;   /* binding and demux (ports.h); first member */
    struct ps_tcb *ev_next;  /* deferred-event list */
    /* Listener and child links. */
    struct ps_tcb *parent;   /* the listener of a child not yet accepted */
    struct ps_tcb *lq_next;  /* in the parent's synq or acceptq */
    struct ps_tcb *tw_prev, *tw_next; /* TIME_WAIT list (oldest first) */
    /* Out-of-order ranges: cfg.tcp_ooo_max entries allocated at the first
     * out-of-order arrival, freed once the holes are filled (an idle
     * connection holds none; ps_tcp_ranges_* in tcp_sack.c). */
    struct ps_tcp_ooo *ooo;
    struct ps_tcp_ooo *sacked; /* scoreboard: SACKed ranges above SND.UNA, sorted;
                                * PS_TCP_SACK_SLOTS entries while any, else NULL */
    const struct ps_tcp_cc_ops *cc;
    struct ps_ring snd, rcv;
    /* Timers: due[k] is kind k's deadline (PS_TIME_NEVER: off); `timer`
     * is armed at or before the earliest of them whenever any is on. */
    struct ps_timer timer;
    ps_time_t due[PS_TCPT_COUNT];
    ps_time_t ts_recent_age; /* when TS.Recent was taken (PAWS) */
    ps_time_t rtt_start;     /* the timed segment left (no timestamps) */
    ps_time_t last_rcv;      /* the last acceptable segment from the peer (keepalive) */
    ps_time_t ut_since;      /* unacked data outstanding, without progress, since */
    /* PS_TCP_INFO figures (tcp_info.c). */
    uint64_t bytes_in, acked_total, sent_total;
    union {
        struct ps_tcp_cubic cubic; /* a connection: CUBIC (tcp_cc_cubic.c) */
        struct {                   /* a listener (tcp_listen.c), zeroed by listen() */
            struct ps_tcb *synq, *acceptq, *acceptq_tail;
            uint32_t synq_len, acceptq_len, backlog;
            ps_time_t synq_overflow_at; /* last half-open overflow (SYN cookies), 0 = never */
        };
    };
    /* Send sequence space (RFC 9293 3.3.1). */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
    uint32_t snd_wnd, max_sndwnd;
    uint32_t sb_seq;         /* sequence number of the send ring's first byte */
    uint32_t fin_seq;        /* sequence number of our FIN once queued */
    /* Receive sequence space. */
    uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge advertised */
    uint32_t ooo_fin_seq;    /* a FIN seen beyond a hole (ooo_fin) */
    /* Options (RFC 7323). */
    uint32_t ts_recent;      /* TS.Recent */
    uint32_t ts_offset;      /* TSval offset, keyed per address pair (tcp_isn.c) */
    uint32_t last_ack_sent;
    /* Retransmission (RFC 6298), us (up to 71 minutes; the RTO's bound
     * is at most an hour): srtt 0 = no sample yet. */
    uint32_t srtt, rttvar, rto;
    uint32_t rtt_seq;        /* timed segment (no timestamps) */
    /* Congestion control and loss recovery (RFC 2018, 6675, 6937). */
    uint32_t cwnd, ssthresh, bytes_acked, recover;
    uint32_t sack_recent[PS_TCP_SACK_RECENT]; /* receiver: latest out-of-order arrivals, newest first */
    uint32_t dsack_start, dsack_end;
    uint32_t sack_newly;     /* bytes newly SACKed by the ACK in hand */
    uint32_t high_rxt;       /* RFC 6675 HighRxt: retransmitted up to here */
    uint32_t prr_delivered, prr_out, recover_fs; /* RFC 6937 */
    uint32_t rto_tsval;      /* TSval of the first retransmission after an RTO */
    uint32_t rcv_unacked;    /* bytes received since our last ACK */
    uint32_t user_timeout_ms; /* TCP_USER_TIMEOUT, 0 = off */
    uint32_t acct_una, acct_max; /* sequence numbers already counted (tcp_info.c) */
    uint32_t retransmits, segs_in, segs_out; /* PS_TCP_INFO */
    uint32_t rcvbuf, sndbuf; /* ring sizes the socket layer set, bytes */
    int16_t error;           /* pending error (positive errno), 0 = none */
    int16_t soft_error;      /* last ICMP soft error, reported on timeout */
    uint16_t nooo, nsacked;  /* entries in ooo, sacked */
    uint16_t mss;            /* what we may send (peer's MSS, our MTU) */
    uint16_t rcv_mss;        /* what we advertised */
    uint16_t keep_idle_s, keep_intvl_s; /* TCP_KEEPIDLE, TCP_KEEPINTVL */
    uint8_t state;           /* enum ps_tcp_state */
    uint8_t ttl;             /* 0 = stack default */
    uint8_t snd_wscale, rcv_wscale;
    uint8_t retries;         /* consecutive timeouts */
    uint8_t persist_shift;
    uint8_t wnd_probes;      /* zero-window probes since SND.UNA last moved (saturates) */
    uint8_t dupacks;
    uint8_t nsack_recent;    /* receiver: entries in sack_recent */
    uint8_t quickack;        /* segments still ACKed at once (start-up) */
    uint8_t keep_probes;     /* keepalive probes sent, unanswered */
    uint8_t keep_cnt;        /* TCP_KEEPCNT */
    /* Life cycle. */
    bool nodelay : 1;        /* TCP_NODELAY */
    bool passive : 1;        /* created by a listener (SYN_RECEIVED child) */
    bool rings_later : 1;    /* a half-open child: rings when the handshake ends */
    bool orphan : 1;         /* the socket was closed; TCP finishes alone */
    bool connect_pending : 1; /* connect() said EINPROGRESS; not yet told */
    bool event_queued : 1;   /* on the stack's deferred-event list */
    bool out_queued : 1;     /* in the stack's deferred-output queue */
    bool shut_rd : 1;        /* shutdown(SHUT_RD) */
    bool fin_queued : 1;     /* close/shutdown(SHUT_WR): FIN after the data */
    bool fin_rcvd : 1;       /* the peer's FIN is in (EOF after the data) */
    bool ever_connected : 1;
    bool in_acceptq : 1;     /* a child: on the accept queue, not the half-open one */
    bool acked_early : 1;    /* handshake ACK came while the accept queue was full */
    bool ooo_fin : 1;        /* a FIN seen beyond a hole, at ooo_fin_seq */
    bool ws_ok : 1, ts_ok : 1, sack_ok : 1; /* options in use */
    bool tso : 1;            /* the route's interface cuts super-segments */
    bool rtt_timing : 1;     /* rtt_seq is timed */
    bool persist : 1;        /* the rexmit timer is the persist timer */
    bool sws_override : 1;   /* output: the persist timer fired, send what the window allows */
    bool in_recovery : 1;
    bool rexmit_one : 1;     /* output: resend one segment at SND.UNA */
    bool dsack_pending : 1;  /* receiver: report [dsack_start, dsack_end) first (RFC 2883) */
    bool rto_check : 1;      /* the next new ACK tells whether the RTO was spurious */
    bool ack_now : 1;
    bool keepalive : 1;      /* SO_KEEPALIVE */
    bool acct_started : 1;   /* acct_una / acct_max follow SND.UNA / SND.MAX */
};

/* What TCP tells the socket layer. */
struct ps_tcp_upcalls {
    /* Readiness of tcb's socket may have changed (deferred; any socket
     * call may be made from it). */
    void (*event)(struct ps_stack *s, struct ps_tcb *tcb);
    /* A block for a new connection of `listener` (a hidden socket-table
     * entry with the listener's options copied), or NULL: table full. */
    struct ps_tcb *(*spawn)(struct ps_stack *s, struct ps_tcb *listener);
    /* An orphan (or a child never accepted) is finished: free its entry. */
    void (*release)(struct ps_stack *s, struct ps_tcb *tcb);
};

/* Per-stack TCP state. */
struct ps_tcp {
    struct ps_tcp_upcalls up;
    struct ps_tcb *ev_head, *ev_tail; /* deferred events */
    /* Deferred output (ps_tcp_output_later), run by the outermost
     * ps_tcp_flush_events after the events: oldest first. */
    struct ps_tcb *outq[PS_TCP_OUTQ_MAX];
    unsigned noutq;
    bool flushing;                    /* in the outermost flush */
    struct ps_tcb *tw_head, *tw_tail; /* TIME_WAIT, oldest first */
    unsigned tw_count;
    /* RFC 5961 challenge-ACK budget, refilled each second. */
    ps_time_t chall_epoch;
    unsigned chall_left;
    /* SYN cookies and compact TIME_WAIT records (tcp_syncookie.c,
     * tcp_timewait.c). */
    struct ps_siphash_key cookie_key;
    struct ps_tcp_tw *tw_pool;        /* cfg.tcp_timewait_max records */
    uint32_t tw_free, tw_first, tw_last; /* pool indices, PS_TCP_TW_NIL = none */
    unsigned tw_nrec;                 /* records in use */
    struct ps_timer tw_timer;         /* the earliest record's expiry */
    uint32_t tw_isn;                  /* ISS for a SYN reopening a record ... */
    bool tw_isn_set;                  /* ... while the listener handles it */
};

static inline struct ps_tcb *ps_tcb_of(struct ps_endpoint *ep)
{
    return (struct ps_tcb *)(void *)ep; /* ep is the first member */
}

/* ---- tcp_subr.c ------------------------------------------------------------ */
int ps_tcp_init(struct ps_stack *s);
void ps_tcp_fini(struct ps_stack *s);
void ps_tcp_set_upcalls(struct ps_stack *s, const struct ps_tcp_upcalls *up);
/* A fresh CLOSED block with the stack's defaults. */
void ps_tcb_init(struct ps_stack *s, struct ps_tcb *tcb);
/* Free everything a block holds, silently (stack teardown). */
void ps_tcb_destroy(struct ps_stack *s, struct ps_tcb *tcb);
/* Allocate the rings and set up the parts every new connection shares. */
int ps_tcb_start(struct ps_stack *s, struct ps_tcb *tcb, ps_ip4_t laddr, ps_ip4_t raddr);
/* Enter CLOSED: timers off, rings freed, ports released, lists left;
 * an orphan is released to the socket layer.  err: the pending error. */
void ps_tcp_closed(struct ps_stack *s, struct ps_tcb *tcb, int err);
/* Send RST for the connection (seq SND.NXT) and close it with err. */
void ps_tcp_abort(struct ps_stack *s, struct ps_tcb *tcb, int err);
void ps_tcp_set_state(struct ps_stack *s, struct ps_tcb *tcb, enum ps_tcp_state st);
/* Queue a readiness event for tcb's socket; flush runs them. */
void ps_tcp_notify(struct ps_stack *s, struct ps_tcb *tcb);
/* Run the queued events, then (in the outermost call only) the deferred
 * output; again while either brought more.  Every entry point ends with
 * it. */
void ps_tcp_flush_events(struct ps_stack *s);
/* ps_tcp_output, at the end of the entry point in hand (the flush):
 * segment arrival and the user's send and receive use it, so what the
 * application sends or reads from its callback joins the ACK the
 * arriving data asked for in one segment.  With the queue full, at once. */
void ps_tcp_output_later(struct ps_stack *s, struct ps_tcb *tcb);
/* The deferred output of tcb, now (if any is queued). */
void ps_tcp_output_pending(struct ps_stack *s, struct ps_tcb *tcb);
/* A RST (or ACK) not tied to a block: answer to a segment. */
void ps_tcp_respond(struct ps_stack *s, ps_ip4_t src, ps_ip4_t dst, uint16_t sport, uint16_t dport,
                    uint32_t seq, uint32_t ack, uint8_t flags);
/* RFC 9293 3.10.7.1: the RST that answers segment th of len seg_len. */
void ps_tcp_reset_reply(struct ps_stack *s, const struct ps_ipv4_hdr *ip, const struct ps_tcp_hdr *th,
                        uint32_t seg_len);
/* The MSS toward raddr from our side (interface MTU less 40). */
uint16_t ps_tcp_mss_for(struct ps_stack *s, ps_ip4_t raddr);

/* Allocate the send and receive rings if they are not yet (-ENOBUFS). */
int ps_tcb_rings(struct ps_stack *s, struct ps_tcb *tcb);

/* Whether segments to raddr leave through an interface with TSO. */
bool ps_tcp_tso_for(struct ps_stack *s, ps_ip4_t raddr);
bool ps_tcp_icmp_error(struct ps_stack *s, const struct ps_icmp_error *e);
const char *ps_tcp_state_name(enum ps_tcp_state st);
/* The block leaves the TIME_WAIT list / enters it. */
void ps_tcp_tw_enter(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_tw_leave(struct ps_stack *s, struct ps_tcb *tcb);

/* ---- tcp_syncookie.c --------------------------------------------------------------- */
void ps_tcp_syncookie_init(struct ps_stack *s);
/* The half-open queue of lst is full: answer the SYN with a cookie
 * SYN-ACK, keeping no state.  false: cookies are off (the SYN is dropped). */
bool ps_tcp_syncookie_send(struct ps_stack *s, struct ps_tcb *lst, const struct ps_ipv4_hdr *ip,
                           const struct ps_tcp_hdr *th);
/* An ACK (no SYN, no RST) for listener lst: if it returns a valid cookie,
 * rebuild the connection, process the segment on it and queue it for
 * accept (true).  false: not a cookie (the caller answers as LISTEN). */
bool ps_tcp_syncookie_ack(struct ps_stack *s, struct ps_tcb *lst, const struct ps_ipv4_hdr *ip,
                          const struct ps_tcp_hdr *th, const uint8_t *data, uint32_t dlen);

/* ---- tcp_timewait.c ----------------------------------------------------------------- */
#define PS_TCP_TW_NIL UINT32_MAX
int ps_tcp_tw_init(struct ps_stack *s);
void ps_tcp_tw_fini(struct ps_stack *s);
/* Bytes of one record (the memory TIME_WAIT costs per connection). */
size_t ps_tcp_tw_record_size(void);
unsigned ps_tcp_tw_count(const struct ps_stack *s);
/* A record takes over tcb's quadruple until `expiry` (the oldest record
 * goes first when the pool is full); the caller then closes the block.
 * false: no TIME_WAIT is kept (cfg.tcp_timewait_max 0). */
bool ps_tcp_tw_create(struct ps_stack *s, struct ps_tcb *tcb, ps_time_t expiry);
/* A segment for a record (ep has PS_EP_TWREC). */
void ps_tcp_tw_input(struct ps_stack *s, struct ps_endpoint *ep, const struct ps_ipv4_hdr *ip,
                     const struct ps_tcp_hdr *th, uint32_t dlen);
/* connect() toward a quadruple: 0 no record holds it; 1 a record held it
 * and timestamps make reuse safe (it is gone; *iss and *ts_offset are
 * what the new connection continues from); -EADDRINUSE otherwise.
 * With lport 0: any record toward raddr:rport from laddr (ports ran out). */
int ps_tcp_tw_reuse(struct ps_stack *s, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr, uint16_t rport,
                    uint32_t *iss, uint32_t *ts_offset);
/* The records, oldest first, for listings: NULL ends. */
const struct ps_endpoint *ps_tcp_tw_next(const struct ps_stack *s, const struct ps_endpoint *prev);
/* Send one segment no block owns (SYN-ACK with a cookie, a record's ACK). */
void ps_tcp_send_raw(struct ps_stack *s, ps_ip4_t src, ps_ip4_t dst, uint16_t sport, uint16_t dport,
                     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window, const struct ps_tcp_opts *o,
                     uint8_t ttl);

/* ---- tcp_isn.c ---------------------------------------------------------------- */
uint32_t ps_tcp_isn(struct ps_stack *s, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr, uint16_t rport);
/* The TSval clock's offset toward a host: keyed, per address pair (as
 * Linux since 4.13), so one host's timestamps grow across connections and
 * RFC 6191 can tell a new incarnation of a quadruple from an old one. */
uint32_t ps_tcp_ts_offset(struct ps_stack *s, ps_ip4_t laddr, ps_ip4_t raddr);

/* ---- tcp_input.c -------------------------------------------------------------- */
void ps_tcp_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *ip);
/* Process a parsed segment on a block in a synchronized or SYN state.
 * data/dlen: the payload. */
void ps_tcp_segment(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_ipv4_hdr *ip,
                    const struct ps_tcp_hdr *th, const uint8_t *data, uint32_t dlen);
/* Adopt the peer's SYN options (MSS, window scale, timestamps, SACK). */
void ps_tcp_syn_options(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_tcp_opts *o);
/* A child whose handshake ACK found the accept queue full: establish it
 * now if there is room. */
void ps_tcp_passive_complete(struct ps_stack *s, struct ps_tcb *tcb);
/* Send a challenge ACK (RFC 5961), within the per-stack rate limit. */
void ps_tcp_challenge_ack(struct ps_stack *s, struct ps_tcb *tcb);

/* Take one ACK from the stack's RFC 5961 challenge-ACK budget (refilled
 * each second); false, counted, when it is spent. */
bool ps_tcp_challenge_budget(struct ps_stack *s);

/* ---- tcp_output.c ------------------------------------------------------------- */
/* Send whatever the state, windows and Nagle allow (and a pending ACK). */
void ps_tcp_output(struct ps_stack *s, struct ps_tcb *tcb);
/* Send one bare segment of the connection (ACK, RST, probe). */
void ps_tcp_send_ctl(struct ps_stack *s, struct ps_tcb *tcb, uint32_t seq, uint8_t flags);
/* The window to advertise (unscaled bytes), receiver SWS avoidance. */
uint32_t ps_tcp_rcv_window(const struct ps_tcb *tcb);
/* The application read: send a window update if the window opened enough. */
void ps_tcp_rcvd(struct ps_stack *s, struct ps_tcb *tcb);
/* The TSval clock (ms) of a connection. */
uint32_t ps_tcp_ts_now(const struct ps_stack *s, const struct ps_tcb *tcb);
/* The payload a full segment carries (MSS less the options in use). */
uint32_t ps_tcp_eff_mss(const struct ps_tcb *tcb);

/* ---- tcp_sack.c --------------------------------------------------------------- */
/* SACK both ways (RFC 2018, RFC 2883 D-SACK), SACK-based loss recovery
 * (RFC 6675) with PRR (RFC 6937); NewReno (RFC 6582, in the congestion
 * control) when the peer does not do SACK. */
void ps_tcp_sack_reset(struct ps_tcb *tcb);

/* The out-of-line range tables (tcb->ooo, tcb->sacked): make sure *tab
 * holds n entries (false: no memory, the caller goes without), and free
 * both of a connection's (it keeps none at its end). */
bool ps_tcp_ranges_get(struct ps_stack *s, struct ps_tcp_ooo **tab, unsigned n);
void ps_tcp_ranges_free(struct ps_tcb *tcb);
/* Receiver: [start, end) arrived out of order and is kept / is a duplicate. */
void ps_tcp_sack_rcvd(struct ps_tcb *tcb, uint32_t start, uint32_t end);
void ps_tcp_sack_dsack(struct ps_tcb *tcb, uint32_t start, uint32_t end);
/* Receiver: the blocks a segment carries (o->sack, o->sack_count). */
void ps_tcp_sack_fill(const struct ps_tcb *tcb, struct ps_tcp_opts *o);
/* Sender, for each acceptable ACK before SND.UNA moves: validate the
 * blocks, update the scoreboard; sets and returns tcb->sack_newly. */
uint32_t ps_tcp_sack_input(struct ps_stack *s, struct ps_tcb *tcb, const struct ps_tcp_hdr *th);
/* SND.UNA advanced by acked (replaces cc->ack), a duplicate ACK (replaces
 * cc->dupack), the RTO fired (after cc->timeout). */
void ps_tcp_loss_ack(struct ps_stack *s, struct ps_tcb *tcb, uint32_t acked);
void ps_tcp_loss_dupack(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_loss_timeout(struct ps_stack *s, struct ps_tcb *tcb);
/* In SACK recovery (RFC 6675 with PRR) rather than NewReno's. */
static inline bool ps_tcp_sack_recovering(const struct ps_tcb *tcb)
{
    return tcb->in_recovery && tcb->sack_ok;
}
/* RFC 6675 SetPipe(), and NextSeg() for a retransmission (rules 1 and,
 * with unlost_ok, 3); false: nothing to retransmit. */
uint32_t ps_tcp_sack_pipe(const struct ps_tcb *tcb);
bool ps_tcp_sack_nextseg(const struct ps_tcb *tcb, bool unlost_ok, uint32_t *seq, uint32_t *len);
/* Bytes of new data recovery allows now (cwnd - pipe, the peer's window). */
uint32_t ps_tcp_sack_usable(const struct ps_tcb *tcb);
/* Going back after an RTO: move SND.NXT past a SACKed range; returns the
 * most that may be sent from there before the next SACKed range. */
uint32_t ps_tcp_sack_skip(struct ps_tcb *tcb);

/* ---- tcp_cc_cubic.c ------------------------------------------------------------ */
/* The algorithm called name ("cubic", "newreno"), or NULL. */
const struct ps_tcp_cc_ops *ps_tcp_cc_find(const char *name);
/* Switch a block to cc; on a live connection the window and the recovery
 * state are kept and only the algorithm's own state starts afresh. */
void ps_tcp_cc_set(struct ps_tcb *tcb, const struct ps_tcp_cc_ops *cc);
/* Integer cube root (floor) of x; no libm. */
uint32_t ps_tcp_cubic_cbrt(uint64_t x);

/* ---- tcp_keepalive.c ------------------------------------------------------------ */
/* A new block takes the stack's choices (ps_tcb_init). */
void ps_tcp_opts_init(struct ps_stack *s, struct ps_tcb *tcb);
/* An accepted connection takes its listener's (the spawn upcall). */
void ps_tcp_opts_inherit(struct ps_tcb *child, const struct ps_tcb *lst);
/* The connection is established: keepalive starts counting idle time. */
void ps_tcp_keep_start(struct ps_stack *s, struct ps_tcb *tcb);
/* (Re)arm or stop the keepalive timer after an option change. */
void ps_tcp_keep_arm(struct ps_stack *s, struct ps_tcb *tcb);
/* An acceptable segment came from the peer: it is alive. */
void ps_tcp_keep_rcvd(struct ps_stack *s, struct ps_tcb *tcb);
/* The keepalive deadline came (tcp_timer.c calls it). */
void ps_tcp_keep_fire(struct ps_stack *s, struct ps_tcb *tcb);
/* User timeout: the latest time the retransmission timer may fire at
 * (`when` unchanged when off); and whether it has run out. */
ps_time_t ps_tcp_user_timeout_clamp(const struct ps_stack *s, const struct ps_tcb *tcb, ps_time_t when);
bool ps_tcp_user_timeout_expired(const struct ps_stack *s, const struct ps_tcb *tcb);

/* ---- tcp_info.c ---------------------------------------------------------------- */
/* Bring the byte counters up to SND.UNA / SND.MAX (at least once per 2 GB). */
void ps_tcp_info_account(struct ps_tcb *tcb);
/* Fill *ti (PS_TCP_INFO). */
void ps_tcp_info_fill(struct ps_tcb *tcb, struct ps_tcp_info *ti);

/* ---- tcp_timer.c -------------------------------------------------------------- */
void ps_tcp_timers_init(struct ps_tcb *tcb);
/* Every timer of the connection off (its heap entry leaves the heap). */
void ps_tcp_timers_cancel(struct ps_stack *s, struct ps_tcb *tcb);
/* Arm (or move) timer k to fire at `when`; stop it. */
void ps_tcp_timer_set(struct ps_stack *s, struct ps_tcb *tcb, enum ps_tcp_timer_kind k, ps_time_t when);
void ps_tcp_timer_stop(struct ps_stack *s, struct ps_tcb *tcb, enum ps_tcp_timer_kind k);
static inline bool ps_tcp_timer_on(const struct ps_tcb *tcb, enum ps_tcp_timer_kind k)
{
    return tcb->due[k] != PS_TIME_NEVER;
}
/* (Re)arm the retransmission timer at the current RTO. */
void ps_tcp_rexmit_arm(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_rexmit_stop(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_persist_arm(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_delack_arm(struct ps_stack *s, struct ps_tcb *tcb);
/* An RTT sample (us): RFC 6298 2.2-2.3. */
void ps_tcp_rtt_sample(struct ps_stack *s, struct ps_tcb *tcb, ps_time_t rtt);
/* A sample from an echoed timestamp (TSecr); none if it lies ahead of
 * our TSval clock. */
void ps_tcp_rtt_sample_ts(struct ps_stack *s, struct ps_tcb *tcb, uint32_t tsecr);
/* Enter TIME_WAIT (2*MSL), or arm the FIN_WAIT_2 timeout. */
void ps_tcp_timewait_start(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_finwait2_arm(struct ps_stack *s, struct ps_tcb *tcb);

/* ---- tcp_listen.c ------------------------------------------------------------- */
int ps_tcp_listen(struct ps_stack *s, struct ps_tcb *tcb, int backlog);
/* A segment for a listener (RFC 9293 3.10.7.2). */
void ps_tcp_listen_input(struct ps_stack *s, struct ps_tcb *lst, const struct ps_ipv4_hdr *ip,
                         const struct ps_tcp_hdr *th, uint32_t dlen);
/* A child finished its handshake: move it to the accept queue (false:
 * the queue is full, the handshake is not completed). */
bool ps_tcp_child_established(struct ps_stack *s, struct ps_tcb *child);
/* A child leaves its listener's queues (it died, or was accepted). */
void ps_tcp_child_unlink(struct ps_stack *s, struct ps_tcb *child);
/* Take the next established child, or NULL. */
struct ps_tcb *ps_tcp_accept(struct ps_stack *s, struct ps_tcb *lst);
/* Reset and release every child of a closing listener. */
void ps_tcp_listen_close(struct ps_stack *s, struct ps_tcb *lst);

/* ---- tcp_usrreq.c ------------------------------------------------------------- */
int ps_tcp_connect(struct ps_stack *s, struct ps_tcb *tcb, ps_ip4_t addr, uint16_t port);
ssize_t ps_tcp_send(struct ps_stack *s, struct ps_tcb *tcb, const void *buf, size_t len);
ssize_t ps_tcp_recv(struct ps_stack *s, struct ps_tcb *tcb, void *buf, size_t len, int flags);
int ps_tcp_shutdown(struct ps_stack *s, struct ps_tcb *tcb, int how);
/* Close from the socket: true if the block lives on (an orphan the
 * socket layer must keep until the release upcall), false if it can be
 * freed now.  abort: SO_LINGER with 0 (send RST). */
bool ps_tcp_close(struct ps_stack *s, struct ps_tcb *tcb, bool abort);
short ps_tcp_poll(const struct ps_tcb *tcb);
int ps_tcp_take_error(struct ps_tcb *tcb);
size_t ps_tcp_recv_q(const struct ps_tcb *tcb);
size_t ps_tcp_send_q(const struct ps_tcb *tcb);

#endif
