/*
 * The invariant checker behind ps_stack_check() (stack.h), internal.
 *
 * It is the one place that reads every layer's state at once, so it sits
 * beside the stack instance rather than in any layer:
 *
 *   check.c            entry point; buffer pools and who holds each buffer;
 *                      the timer heap; ARP, reassembly and loopback queues
 *   check_transport.c  the socket table, TCP connection blocks, listeners,
 *                      TIME_WAIT (blocks and records), the ports tables
 *
 * Each part records the first broken invariant and stops walking: a
 * corrupted list is not followed further.  Every walk is bounded by the
 * size of what it walks, so a cycle is reported, never looped on.
 */
#ifndef PS_CORE_CHECK_H
#define PS_CORE_CHECK_H

#include "core/stack_impl.h"

struct ps_check {
    const struct ps_stack *s;
    char *why;
    size_t len;
    bool failed;
    /* One bit per buffer of each pool: seen in the free list or held by a
     * queue.  A buffer seen twice is a double free or a shared owner. */
    uint8_t *seen[PS_POOL_COUNT];
    unsigned held[PS_POOL_COUNT]; /* buffers found in queues */
    size_t armed;                 /* armed timers found in the objects */
};

/* Record a broken invariant (only the first is kept).  Returns false, so
 * a check can end with `return ps_check_fail(...)`. */
bool ps_check_fail(struct ps_check *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Account for a queue of at most `max` buffers linked through ->next,
 * expected to hold exactly `expect` of them; `what` names it in reports.
 * Returns the buffers counted (the walk stops at a broken one). */
unsigned ps_check_pbuf_queue(struct ps_check *c, const struct ps_pbuf *head, unsigned expect, unsigned max,
                             const char *what);

/* Count a timer the objects hold; an armed one must be in the heap. */
void ps_check_timer(struct ps_check *c, const struct ps_timer *t, const char *what);

/* The transport part (check_transport.c). */
void ps_check_transport(struct ps_check *c);

#endif
