/*
 * portstack/sim.h - the simulated wire: an in-process network of stacks.
 *
 * A ps_sim is a small world with a virtual clock.  Links are broadcast
 * segments (like an Ethernet hub) joining two or more interfaces, each with
 * its own impairments: delay, jitter, bandwidth, loss, duplication,
 * reordering and bit corruption.  All randomness comes from the world's
 * seed, so a whole multi-host run - every frame and every timestamp - is
 * the same for the same seed.
 *
 * The world drives its stacks: ps_sim_run_until() advances the clock from
 * event to event, delivering frames and calling ps_stack_poll() (and any
 * extra pollers, such as an application) when their deadlines come.
 */
#ifndef PORTSTACK_SIM_H
#define PORTSTACK_SIM_H

#include "types.h"

struct ps_sim;
struct ps_sim_link;

/* Impairments of one link.  Zero everywhere is a perfect, instant wire. */
struct ps_sim_impair {
    ps_time_t delay;        /* one-way propagation delay (us) */
    ps_time_t jitter;       /* extra delay, uniform in [0, jitter] (us) */
    uint64_t bandwidth_bps; /* serialisation rate per sender; 0 = infinite */
    double loss;            /* probability a frame is lost, 0..1 */
    double duplicate;       /* probability a frame is delivered twice */
    double reorder;         /* probability a frame is held back ... */
    ps_time_t reorder_delay;/* ... by this much extra (us) */
    double corrupt;         /* probability one random bit is flipped */
    size_t queue_limit;     /* bytes a sender may have waiting; 0 = 256 KiB */
};

/* Counters of one link. */
struct ps_sim_link_stats {
    uint64_t frames_sent;     /* frames handed to the link by senders */
    uint64_t frames_delivered;/* frame copies delivered to receivers */
    uint64_t frames_lost;     /* lost by the loss impairment */
    uint64_t frames_duplicated;
    uint64_t frames_reordered;
    uint64_t frames_corrupted;
    uint64_t frames_queue_dropped; /* dropped at the sender's queue limit */
    uint64_t frames_partitioned;   /* lost because the link was down */
    uint64_t bytes_delivered;
};

/* A poll function: run what is due at `now`, return the next deadline
 * (PS_TIME_NEVER if none). */
typedef ps_time_t (*ps_sim_poll_fn)(void *ctx, ps_time_t now);

/* Create a world whose clock starts at `start` (us), with its own seed. */
struct ps_sim *ps_sim_new(uint64_t seed, ps_time_t start);

/* Destroy the world and its links (not the stacks).  The stacks' simulated
 * interfaces keep pointing into the world: free the stacks first, or send
 * nothing through them afterwards. */
void ps_sim_free(struct ps_sim *sim);

/* The virtual clock. */
ps_time_t ps_sim_now(const struct ps_sim *sim);

/* Let the world drive this stack's timers.  Returns 0 or -ENOSPC. */
int ps_sim_add_stack(struct ps_sim *sim, struct ps_stack *s);

/* Add another poller (an application, a test).  Returns 0 or -ENOSPC. */
int ps_sim_add_poller(struct ps_sim *sim, ps_sim_poll_fn fn, void *ctx);

/* Remove a poller added with exactly this fn and ctx (no-op if absent). */
void ps_sim_remove_poller(struct ps_sim *sim, ps_sim_poll_fn fn, void *ctx);

/* Create a link with impairments (NULL = perfect).  NULL on failure. */
struct ps_sim_link *ps_sim_link_new(struct ps_sim *sim, const struct ps_sim_impair *imp);

/* Change a link's impairments from now on. */
void ps_sim_link_set_impair(struct ps_sim_link *l, const struct ps_sim_impair *imp);

/* Cut a link (up = false: a partition) or mend it (up = true).  While a
 * link is down every frame sent on it, and every frame still on its way
 * when it went down, is lost and counted in frames_partitioned; the
 * interfaces stay up, so the hosts see only silence, as with a cable
 * pulled out between two switches.  A new link is up.  Frames lost this
 * way draw no random numbers, so the rest of the run stays reproducible. */
void ps_sim_link_set_up(struct ps_sim_link *l, bool up);
bool ps_sim_link_is_up(const struct ps_sim_link *l);

/* Create an Ethernet interface on stack s joined to link l (the stack is
 * added to the world if it is not yet).  mac NULL: one made from the seed.
 * mtu 0: 1500.  Returns the interface or NULL. */
struct ps_iface *ps_sim_attach(struct ps_sim_link *l, struct ps_stack *s, const char *name,
                               const ps_mac_t *mac, uint16_t mtu);

/* TCP segmentation offload on a simulated interface (ps_iface_set_tso). */
enum ps_sim_tso {
    PS_SIM_TSO_OFF = 0,   /* the stack sends segments of at most the MTU */
    PS_SIM_TSO_CUT = 1,   /* super-segments, cut into MTU frames on sending,
                           * like a network card (portstack/gso.h) */
    PS_SIM_TSO_WHOLE = 2, /* super-segments cross the link whole, received
                           * as PS_RX_GSO, like a TAP device and the kernel */
};

/* Set ifc's (attached to l) TSO mode.  Returns 0 or -ENOENT. */
int ps_sim_set_tso(struct ps_sim_link *l, struct ps_iface *ifc, enum ps_sim_tso mode);

/* Process the next event if it is due no later than `until`, advancing the
 * clock to it.  Returns true if something ran. */
bool ps_sim_step(struct ps_sim *sim, ps_time_t until);

/* Run every event up to and including time t, then set the clock to t. */
void ps_sim_run_until(struct ps_sim *sim, ps_time_t t);

/* ps_sim_run_until(sim, ps_sim_now(sim) + dt). */
void ps_sim_run_for(struct ps_sim *sim, ps_time_t dt);

/* Run until cond(ctx) is true or the clock passes `limit`; returns whether
 * cond became true. */
bool ps_sim_run_while_not(struct ps_sim *sim, bool (*cond)(void *ctx), void *ctx, ps_time_t limit);

/* A link's counters. */
const struct ps_sim_link_stats *ps_sim_link_stats(const struct ps_sim_link *l);

#endif /* PORTSTACK_SIM_H */
