/*
 * portstack/stack.h - a stack instance: creation, time, timers, randomness.
 *
 * Everything portstack owns hangs off a struct ps_stack; there is no global
 * mutable state, so a process may run any number of independent stacks.
 * The stack never reads a clock, sleeps or starts a thread: the host passes
 * the current time into every call that needs it and calls ps_stack_poll()
 * no later than the deadline the previous call returned.
 *
 * A stack is not thread-safe: one thread at a time may call into it.
 */
#ifndef PORTSTACK_STACK_H
#define PORTSTACK_STACK_H

#include "config.h"
#include "stats.h"
#include "types.h"

/* Run-time configuration.  Fill it with ps_config_default(), change what
 * you need, and pass it to ps_stack_new(); the stack copies it. */
struct ps_config {
    /* Seed of the stack's random generator and of every secret key derived
     * from it (ISNs, ephemeral ports, IP IDs).  The same seed replays the
     * same run; a production host should pass 64 bits of real entropy. */
    uint64_t seed;
    unsigned pbuf_small_count; /* small (one frame) buffers */
    unsigned pbuf_large_count; /* large (64 KiB datagram) buffers */
    unsigned route_max;        /* routing table entries */
    unsigned arp_cache_size;   /* ARP cache entries */
    unsigned arp_timeout_ms;   /* lifetime of a resolved entry */
    unsigned arp_retry_ms;     /* interval between requests */
    unsigned arp_retries;      /* requests before giving up */
    unsigned arp_queue_len;    /* packets held per unresolved entry */
    unsigned arp_fail_hold_ms; /* how long a failed entry is remembered */
    unsigned reasm_max_datagrams; /* datagrams under reassembly at once */
    unsigned reasm_max_pbufs;  /* buffers held by reassembly in total */
    unsigned reasm_max_frags;  /* fragments per datagram */
    unsigned reasm_timeout_ms; /* reassembly timeout */
    unsigned loopback_queue_len; /* packets waiting on the loopback path */
    unsigned icmp_rate;        /* ICMP error tokens per second */
    unsigned icmp_burst;       /* ICMP token bucket depth */
    unsigned max_sockets;      /* socket table size */
    uint16_t ephemeral_lo, ephemeral_hi; /* ephemeral port range */
    unsigned port_rekey_ms;    /* RFC 6056 secret re-keying interval */
    unsigned udp_rcvbuf;       /* default UDP receive queue, bytes */
    unsigned udp_rcvq_max;     /* UDP receive queue, datagrams */
    unsigned sndbuf;           /* default send buffer, bytes */
    unsigned tcp_rcvbuf;       /* default TCP receive buffer, bytes */
    unsigned tcp_msl_ms;       /* maximum segment lifetime; TIME_WAIT is 2*MSL */
    unsigned tcp_rto_initial_ms, tcp_rto_min_ms, tcp_rto_max_ms; /* RFC 6298; each <= PS_TCP_RTO_LIMIT_MS */
    unsigned tcp_delack_ms;    /* delayed-ACK timer (<= 200) */
    unsigned tcp_syn_retries;  /* SYN retransmissions before ETIMEDOUT */
    unsigned tcp_retries;      /* data retransmissions before ETIMEDOUT */
    unsigned tcp_fin_wait2_ms; /* FIN_WAIT_2 timeout of a closed socket */
    unsigned tcp_backlog_max;  /* cap of listen()'s backlog (accept queue) */
    unsigned tcp_synq_max;     /* half-open connections per listener */
    unsigned tcp_half_open_max; /* half-open connections of all listeners */
    unsigned tcp_ooo_max;      /* out-of-order ranges per connection */
    unsigned tcp_timewait_max; /* TIME_WAIT connections per stack */
    unsigned tcp_challenge_ack_limit; /* RFC 5961 challenge ACKs per second */
    unsigned tcp_pmtu_min;     /* smallest path MTU fragmentation-needed may set */
    unsigned tcp_orphan_probes; /* zero-window probes of a closed socket's connection */
    /* Congestion control, keepalive and user timeout: the defaults of
     * every new TCP socket (each may change its own, socket.h). */
    char tcp_congestion[PS_TCP_CC_NAME_MAX]; /* "cubic" (default) or "newreno" */
    unsigned tcp_keepidle_s;   /* keepalive idle time before probing (s) */
    unsigned tcp_keepintvl_s;  /* between keepalive probes (s) */
    unsigned tcp_keepcnt;      /* unanswered probes before ETIMEDOUT */
    unsigned tcp_user_timeout_ms; /* unacked data this old: ETIMEDOUT; 0 = off */
    bool tcp_syncookies;       /* SYN cookies when the half-open queue is full */
    uint8_t default_ttl;       /* TTL of packets the stack originates */
    bool ip_forwarding;        /* act as a router between interfaces */
    bool icmp_echo_reply;      /* answer pings (default on) */
    bool tcp_no_sack;          /* neither offer nor accept SACK (RFC 2018); default off */
    bool tcp_no_tso;           /* never send super-segments, even where a driver has TSO */
};

/* Fill cfg with the compile-time defaults of config.h and seed 0. */
void ps_config_default(struct ps_config *cfg);

/* Create a stack.  cfg may be NULL for the defaults.  `now` is the current
 * host time.  The stack starts with a loopback interface "lo" holding
 * 127.0.0.1/8.  Returns NULL if memory for the pools cannot be had. */
struct ps_stack *ps_stack_new(const struct ps_config *cfg, ps_time_t now);

/* Destroy a stack and everything it owns. */
void ps_stack_free(struct ps_stack *s);

/* The configuration the stack runs with. */
const struct ps_config *ps_stack_config(const struct ps_stack *s);

/* Run every timer due at `now`, deliver packets queued on the loopback path,
 * and return the next deadline at which the host must call again
 * (PS_TIME_NEVER if none).  Time never goes backwards: a `now` earlier than
 * one seen before is treated as the latest seen. */
ps_time_t ps_stack_poll(struct ps_stack *s, ps_time_t now);

/* The next deadline without running anything (PS_TIME_NEVER if none). */
ps_time_t ps_stack_next_deadline(const struct ps_stack *s);

/* The latest time the host has passed in. */
ps_time_t ps_stack_now(const struct ps_stack *s);

/* 64 random bits from the stack's seeded generator (deterministic for a
 * given seed and call sequence; unpredictable without the seed). */
uint64_t ps_stack_random(struct ps_stack *s);

/* Wall-clock time.  The stack keeps only an offset from its monotonic
 * time to UTC (microseconds since 1970-01-01), set by the host or by a
 * time protocol client such as SNTP (apps/sntp.h); it starts at 0, i.e.
 * unknown. */
void ps_stack_set_realtime_offset(struct ps_stack *s, int64_t offset_us);
int64_t ps_stack_realtime_offset(const struct ps_stack *s);
/* Now as UTC microseconds since 1970 (now + offset). */
int64_t ps_stack_realtime(const struct ps_stack *s);

/* ---- Testing: fault injection and invariants ---------------------------------
 *
 * Every allocation the stack makes at run time - a packet buffer, a socket
 * (its table entry and its memory), a connection's send or receive ring or
 * range table, a TIME_WAIT record, a reassembly context, an ARP entry, a
 * port bucket - is numbered from 1, per stack.  ps_stack_fail_alloc(s, n) makes the allocation numbered n fail
 * once, exactly as if its pool were empty (counted in alloc_injected_fail
 * as well as where an exhausted pool is counted); n = 0 turns it off.
 * ps_stack_alloc_count() is how many allocations have been numbered so
 * far, so a test can run a scenario once to count them and then once per
 * allocation with that one failing. */
void ps_stack_fail_alloc(struct ps_stack *s, uint64_t n);
uint64_t ps_stack_alloc_count(const struct ps_stack *s);

/* Check the stack's invariants: no buffer leaked (each pool's free list
 * matches its count, and every buffer in use is held by a queue: ARP,
 * loopback, reassembly, a UDP socket), every queue within its configured
 * bound, the timer heap well formed and holding exactly the armed timers,
 * the socket table, the ports tables and the TIME_WAIT records consistent
 * with each other, and each TCP connection's state consistent with its
 * timers, buffers, sequence numbers and table entries.  Call it between
 * calls into the stack, while the host holds no buffer of its own.
 * Returns 0 if all hold; otherwise -1 with the first broken invariant
 * described in why (NUL-terminated, truncated to len; why may be NULL).
 * It reads only, and costs time in proportion to the stack's tables. */
int ps_stack_check(const struct ps_stack *s, char *why, size_t len);

/* A name for the stack, used when printing (copied, truncated to 31). */
void ps_stack_set_name(struct ps_stack *s, const char *name);
const char *ps_stack_name(const struct ps_stack *s);

#endif /* PORTSTACK_STACK_H */
