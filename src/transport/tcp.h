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

struct ps_tcb;

/* Congestion control: one ops struct per algorithm (tcp_cc_*.c).  State
 * lives in the block's cc fields. */
struct ps_tcp_cc_ops {
    const char *name;
    void (*init)(struct ps_tcb *tcb);             /* at establishment */
    void (*ack)(struct ps_tcb *tcb, uint32_t acked); /* SND.UNA advanced */
    void (*dupack)(struct ps_tcb *tcb);           /* a duplicate ACK */
    void (*timeout)(struct ps_tcb *tcb);          /* the RTO fired */
};
extern const struct ps_tcp_cc_ops ps_tcp_cc_newreno;

/* An out-of-order range above RCV.NXT, data held in the receive ring. */
struct ps_tcp_ooo {
    uint32_t start, end; /* [start, end) in sequence space */
};

struct ps_tcb {
    struct ps_endpoint ep;   /* binding and demux (ports.h); first member */
    enum ps_tcp_state state;
    /* Options the socket layer sets. */
    unsigned rcvbuf, sndbuf; /* ring sizes, bytes */
    uint8_t ttl;             /* 0 = stack default */
    bool nodelay;            /* TCP_NODELAY */
    /* Life cycle. */
    bool passive;            /* created by a listener (SYN_RECEIVED child) */
    bool orphan;             /* the socket was closed; TCP finishes alone */
    bool connect_pending;    /* connect() said EINPROGRESS; not yet told */
    bool event_queued;       /* on the stack's deferred-event list */
    bool shut_rd;            /* shutdown(SHUT_RD) */
    bool fin_queued;         /* close/shutdown(SHUT_WR): FIN after the data */
    bool fin_rcvd;           /* the peer's FIN is in (EOF after the data) */
    bool ever_connected;
    int error;               /* pending error (positive errno), 0 = none */
    int soft_error;          /* last ICMP soft error, reported on timeout */
    struct ps_tcb *ev_next;  /* deferred-event list */
    /* Listener (LISTEN) and child links. */
    struct ps_tcb *parent;   /* the listener of a child not yet accepted */
    struct ps_tcb *lq_next;  /* in the parent's synq or acceptq */
    bool in_acceptq;         /* which of the two */
    bool acked_early;        /* handshake ACK came while the accept queue was full */
    struct ps_tcb *synq, *acceptq, *acceptq_tail;
    unsigned synq_len, acceptq_len, backlog;
    /* TIME_WAIT list (oldest first). */
    struct ps_tcb *tw_prev, *tw_next;
    /* Send sequence space (RFC 9293 3.3.1). */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
    uint32_t snd_wnd, max_sndwnd;
    uint32_t sb_seq;         /* sequence number of the send ring's first byte */
    uint32_t fin_seq;        /* sequence number of our FIN once queued */
    /* Receive sequence space. */
    uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge advertised */
    bool ooo_fin;            /* a FIN seen beyond a hole, at ooo_fin_seq */
    uint32_t ooo_fin_seq;
    uint8_t nooo;
    struct ps_tcp_ooo ooo[PS_TCP_OOO_SLOTS];
    struct ps_ring snd, rcv;
    /* Options (RFC 7323, RFC 2018). */
    uint16_t mss;            /* what we may send (peer's MSS, our MTU) */
    uint16_t rcv_mss;        /* what we advertised */
    uint8_t snd_wscale, rcv_wscale;
    bool ws_ok, ts_ok, sack_ok;
    uint32_t ts_recent;      /* TS.Recent */
    ps_time_t ts_recent_age;
    uint32_t ts_offset;      /* per-connection random TSval offset */
    uint32_t last_ack_sent;
    /* Retransmission (RFC 6298). */
    ps_time_t srtt, rttvar, rto; /* us; srtt 0 = no sample yet */
    uint32_t rtt_seq;        /* timed segment (no timestamps) */
    ps_time_t rtt_start;
    bool rtt_timing;
    uint8_t retries;         /* consecutive timeouts */
    bool persist;            /* the rexmit timer is the persist timer */
    uint8_t persist_shift;
    /* Congestion control. */
    const struct ps_tcp_cc_ops *cc;
    uint32_t cwnd, ssthresh, bytes_acked, recover;
    uint8_t dupacks;
    bool in_recovery;
    bool rexmit_one;         /* output: resend one segment at SND.UNA */
    /* ACK policy. */
    bool ack_now;
    uint32_t rcv_unacked;    /* bytes received since our last ACK */
    uint8_t quickack;        /* segments still ACKed at once (start-up) */
    /* Timers. */
    struct ps_timer t_rexmit;  /* retransmission or persist */
    struct ps_timer t_delack;
    struct ps_timer t_conn;    /* TIME_WAIT, FIN_WAIT_2 */
    ps_time_t tw_since;
    /* Figures. */
    uint64_t bytes_in, bytes_out, retransmits;
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
    struct ps_tcb *tw_head, *tw_tail; /* TIME_WAIT, oldest first */
    unsigned tw_count;
    /* RFC 5961 challenge-ACK budget, refilled each second. */
    ps_time_t chall_epoch;
    unsigned chall_left;
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
void ps_tcp_flush_events(struct ps_stack *s);
/* A RST (or ACK) not tied to a block: answer to a segment. */
void ps_tcp_respond(struct ps_stack *s, ps_ip4_t src, ps_ip4_t dst, uint16_t sport, uint16_t dport,
                    uint32_t seq, uint32_t ack, uint8_t flags);
/* RFC 9293 3.10.7.1: the RST that answers segment th of len seg_len. */
void ps_tcp_reset_reply(struct ps_stack *s, const struct ps_ipv4_hdr *ip, const struct ps_tcp_hdr *th,
                        uint32_t seg_len);
/* The MSS toward raddr from our side (interface MTU less 40). */
uint16_t ps_tcp_mss_for(struct ps_stack *s, ps_ip4_t raddr);
bool ps_tcp_icmp_error(struct ps_stack *s, const struct ps_icmp_error *e);
const char *ps_tcp_state_name(enum ps_tcp_state st);
/* The block leaves the TIME_WAIT list / enters it. */
void ps_tcp_tw_enter(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_tw_leave(struct ps_stack *s, struct ps_tcb *tcb);

/* ---- tcp_isn.c ---------------------------------------------------------------- */
uint32_t ps_tcp_isn(struct ps_stack *s, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr, uint16_t rport);

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

/* ---- tcp_timer.c -------------------------------------------------------------- */
void ps_tcp_timers_init(struct ps_tcb *tcb);
void ps_tcp_timers_cancel(struct ps_stack *s, struct ps_tcb *tcb);
/* (Re)arm the retransmission timer at the current RTO. */
void ps_tcp_rexmit_arm(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_rexmit_stop(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_persist_arm(struct ps_stack *s, struct ps_tcb *tcb);
void ps_tcp_delack_arm(struct ps_stack *s, struct ps_tcb *tcb);
/* An RTT sample (us): RFC 6298 2.2-2.3. */
void ps_tcp_rtt_sample(struct ps_stack *s, struct ps_tcb *tcb, ps_time_t rtt);
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
void ps_tcp_child_unlink(struct ps_tcb *child);
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
