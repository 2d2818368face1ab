/*
 * Internal timers: an intrusive pairing heap ordered by deadline.
 *
 * Every object that needs a timer (an ARP entry, a reassembly, later a TCP
 * connection) embeds a struct ps_timer, so arming one allocates nothing.
 * Insert and the minimum are O(1), removal O(log n) amortised: the stack's
 * next deadline is always at hand however many timers exist.
 */
#ifndef PS_CORE_TIMER_H
#define PS_CORE_TIMER_H

#include <portstack/types.h>

struct ps_stack;
struct ps_timer;

typedef void (*ps_timer_fn)(struct ps_stack *s, struct ps_timer *t);

struct ps_timer {
    ps_time_t when;
    ps_timer_fn fn;
    struct ps_timer *child, *next, *prev; /* prev: left sibling, or parent if first child */
    bool armed;
};

struct ps_timer_heap {
    struct ps_timer *root;
    size_t count;
};

/* Set up a timer that will call fn when it fires (once per arming). */
void ps_timer_init(struct ps_timer *t, ps_timer_fn fn);
/* Arm (or re-arm) the timer for time `when`. */
void ps_timer_arm(struct ps_timer_heap *h, struct ps_timer *t, ps_time_t when);
/* Disarm; harmless if not armed. */
void ps_timer_cancel(struct ps_timer_heap *h, struct ps_timer *t);
/* The earliest deadline, or PS_TIME_NEVER. */
ps_time_t ps_timer_next(const struct ps_timer_heap *h);
/* Remove and return the earliest timer due at `now`, or NULL. */
struct ps_timer *ps_timer_pop_due(struct ps_timer_heap *h, ps_time_t now);

#endif
