/*
 * The stack instance: the one struct every layer's state hangs off.
 * Internal to the library.
 */
#ifndef PS_STACK_IMPL_H
#define PS_STACK_IMPL_H

#include <portstack/gauges.h>
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
    struct {
        uint64_t now, peak;
    } gauges[PS_GAUGE_COUNT];        /* levels of the bounded resources (gauges.h) */
    struct ps_pbuf_pool pools[PS_POOL_COUNT];
    struct ps_timer_heap timers;
    struct ps_net net;
    /* Transport: the ports module per protocol, UDP, and the sockets. */
    struct ps_ports *ports_udp, *ports_tcp;
    uint16_t ephemeral_lo, ephemeral_hi;
    struct ps_timer port_rekey_timer;
    struct ps_sockets *sockets;
    struct ps_tcp *tcp;              /* TCP's per-stack state (tcp.h) */
    /* Fault injection (ps_stack_fail_alloc): every run-time allocation is
     * numbered; the one numbered alloc_fail_at fails (0: none). */
    uint64_t alloc_count, alloc_fail_at;
};

#define PS_STAT_INC(s, name) ((s)->stats.name++)
#define PS_STAT_ADD(s, name, n) ((s)->stats.name += (n))

/* A resource's level changed: record it, and its high-water mark. */
static inline void ps_gauge_set(struct ps_stack *s, enum ps_gauge_id g, uint64_t level)
{
    s->gauges[g].now = level;
    if (level > s->gauges[g].peak)
        s->gauges[g].peak = level;
}
#define PS_GAUGE_SET(s, name, level) ps_gauge_set((s), PS_GAUGE_##name, (level))
#define PS_GAUGE_NOW(s, name) ((s)->gauges[PS_GAUGE_##name].now)
/* One more (+1) or one fewer (-1) held, for resources counted nowhere else. */
#define PS_GAUGE_ADD(s, name, d) ps_gauge_set((s), PS_GAUGE_##name, (s)->gauges[PS_GAUGE_##name].now + (uint64_t)(int64_t)(d))

/* Arm or cancel a timer of stack s. */
static inline void ps_stack_timer_arm(struct ps_stack *s, struct ps_timer *t, ps_time_t when)
{
    ps_timer_arm(&s->timers, t, when);
}
static inline void ps_stack_timer_cancel(struct ps_stack *s, struct ps_timer *t)
{
    ps_timer_cancel(&s->timers, t);
}

/* Every allocation the stack makes at run time (a packet buffer, a socket,
 * a connection's ring or range table, a TIME_WAIT record, a reassembly
 * context, an ARP entry, a port bucket) asks this first; false means fail it as if its
 * pool were empty.  Always compiled: it is one increment and one compare,
 * and the fault-injection tests (tests/sim/test_fault_alloc.c) then run
 * against the very code that ships. */
static inline bool ps_alloc_ok(struct ps_stack *s)
{
    if (++s->alloc_count != s->alloc_fail_at)
        return true;
    PS_STAT_INC(s, alloc_injected_fail);
    return false;
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
/* Bytes from one buffer of a pool to the next (header and storage). */
size_t ps_pbuf_stride(size_t bufsize);

#endif
