/*
 * The stack instance: the one struct every layer's state hangs off.
 * Internal to the library.
 */
#ifndef PS_STACK_IMPL_H
#define PS_STACK_IMPL_H

#include <portstack/siphash.h>
#include <portstack/stack.h>

#include "core/timer.h"
#include "net/net_impl.h"

struct ps_pbuf_pool {
    uint8_t *mem;            /* one block holding every buffer */
    struct ps_pbuf *free;    /* free list */
    unsigned nfree, total;
    size_t bufsize;          /* bytes of storage per buffer */
};

enum { PS_POOL_SMALL = 0, PS_POOL_LARGE = 1, PS_POOL_COUNT = 2 };

struct ps_stack {
    struct ps_config cfg;
    char name[32];
    ps_time_t now;
    int64_t realtime_offset; /* UTC us = now + this (0: not known) */
    /* Randomness: SipHash in counter mode under a key derived from the seed. */
    struct ps_siphash_key rng_key;
    uint64_t rng_counter;
    /* Secret keys, each for one purpose so that one leaking tells nothing
     * of the others. */
    struct ps_siphash_key key_table; /* hash tables (ARP, later demux) */
    struct ps_siphash_key key_ipid;  /* IP ID buckets */
    struct ps_siphash_key key_demux; /* port table hashes (quadruples) */
    struct ps_siphash_key key_port;  /* RFC 6056 port offsets (re-keyed) */
    struct ps_siphash_key key_isn;   /* RFC 6528 TCP initial sequence numbers */
    struct ps_stats stats;
    struct ps_pbuf_pool pools[PS_POOL_COUNT];
    struct ps_timer_heap timers;
    struct ps_net net;
    /* Transport: the ports module per protocol, UDP, and the sockets. */
    struct ps_ports *ports_udp, *ports_tcp;
    uint16_t ephemeral_lo, ephemeral_hi;
    struct ps_timer port_rekey_timer;
    struct ps_sockets *sockets;
    struct ps_tcp *tcp;              /* TCP's per-stack state (tcp.h) */
};

#define PS_STAT_INC(s, name) ((s)->stats.name++)
#define PS_STAT_ADD(s, name, n) ((s)->stats.name += (n))

/* Arm or cancel a timer of stack s. */
static inline void ps_stack_timer_arm(struct ps_stack *s, struct ps_timer *t, ps_time_t when)
{
    ps_timer_arm(&s->timers, t, when);
}
static inline void ps_stack_timer_cancel(struct ps_stack *s, struct ps_timer *t)
{
    ps_timer_cancel(&s->timers, t);
}

/* Record the host's time (never backwards). */
static inline void ps_stack_set_now(struct ps_stack *s, ps_time_t now)
{
    if (now > s->now)
        s->now = now;
}

/* Initialise / release the pools (pbuf.c). */
int ps_pbuf_pools_init(struct ps_stack *s);
void ps_pbuf_pools_fini(struct ps_stack *s);

#endif
