/*
 * src/drivers/sim.c - the simulated wire (see portstack/sim.h).
 *
 * A world holds a virtual clock, a seeded random generator, its links and
 * the frames in flight.  Each frame copy on its way to a receiver is an
 * event in a binary min-heap ordered by (delivery time, sequence number):
 * the sequence number breaks ties in the order frames were sent, so a run
 * never depends on heap layout or on memory addresses.
 *
 * The life of a frame sent on a link, per sender:
 *   1. serialisation: at bandwidth_bps it takes len*8/bandwidth (rounded
 *      up to a whole microsecond) and starts when the sender's previous
 *      frame has finished (busy_until).  A frame that would make the bytes
 *      not yet serialised exceed queue_limit is dropped (drop-tail).
 *   2. then, independently for every other interface on the link: loss,
 *      delay + uniform jitter, reordering (held back by reorder_delay),
 *      corruption (one random bit flipped) and duplication (an identical
 *      second copy PS_SIM_DUP_GAP later).
 * Jitter is drawn per frame, so with jitter larger than the gap between two
 * frames a later frame can overtake an earlier one even without the reorder
 * impairment - as on a real path with variable queueing.  A link without
 * jitter and reorder keeps each sender's frames in order.
 *
 * Impairments that are zero consume no random numbers, so adding a perfect
 * link to a world does not change what happens on the others.
 *
 * Running: each step picks the earliest of the next frame delivery, every
 * stack's ps_stack_next_deadline() and every poller's last returned
 * deadline (ties: frames, then stacks, then pollers, each in the order
 * added) and runs that one thing.  Pollers run only at their deadlines; a
 * frame arriving does not wake them.  Before a poller runs, and when
 * run_until moves the clock on, stacks whose own clock lags the world's are
 * polled at the world's time (nothing is due then), so that what an
 * application does through a stack is stamped and timed correctly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portstack/net.h"
#include "portstack/gso.h"
#include "portstack/sim.h"
#include "portstack/stack.h"
#include "portstack/wire.h"

/* Frame copies in flight in one world; beyond this they are dropped and
 * counted as frames_queue_dropped, so memory stays bounded whatever the
 * stacks do. */
#ifndef PS_SIM_MAX_INFLIGHT
#define PS_SIM_MAX_INFLIGHT 65536
#endif
/* Stacks and extra pollers one world drives. */
#ifndef PS_SIM_MAX_STACKS
#define PS_SIM_MAX_STACKS 64
#endif
#ifndef PS_SIM_MAX_POLLERS
#define PS_SIM_MAX_POLLERS 64
#endif
/* queue_limit 0 means this many bytes. */
#define PS_SIM_DEFAULT_QUEUE_LIMIT ((size_t)256 * 1024)
/* How much later a duplicate arrives than the original. */
#define PS_SIM_DUP_GAP PS_US(1)
/* MTU of an interface attached with mtu 0. */
#define PS_SIM_DEFAULT_MTU 1500

/* ---- Random numbers: xoshiro256** seeded by splitmix64 ------------------ */

struct sim_rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(struct sim_rng *r, uint64_t seed)
{
    /* splitmix64 never yields four zero words, which xoshiro must avoid. */
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, n) without modulo bias; n > 0. */
static uint64_t rng_below(struct sim_rng *r, uint64_t n)
{
    /* Reject the top (2^64 mod n) values so every residue is equally likely. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = rng_next(r);
        if (x >= threshold)
            return x % n;
    }
}

/* True with probability p (p <= 0 never, p >= 1 always). */
static bool rng_chance(struct sim_rng *r, double p)
{
    double u = (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    return u < p;
}

/* ---- The world ----------------------------------------------------------- */

/* One interface's end of a link; the ctx of its transmit callback. */
struct sim_endpoint {
    struct ps_sim_link *link;
    struct ps_iface *ifc;
    unsigned stack_idx;   /* index into sim->stacks */
    ps_time_t busy_until; /* when its last accepted frame is fully serialised */
};

struct ps_sim_link {
    struct ps_sim *sim;
    struct ps_sim_link *next;
    struct ps_sim_impair imp;
    struct ps_sim_link_stats stats;
    bool down;            /* partitioned (ps_sim_link_set_up) */
    struct sim_endpoint **eps;
    size_t n_eps, cap_eps;
    bool tso_whole; /* an endpoint sends super-segments uncut (ps_sim_set_tso) */
};

/* One frame copy on its way to one receiver. */
struct sim_event {
    ps_time_t time;
    uint64_t seq;
    struct sim_endpoint *to;
    size_t len;
    uint8_t data[];
};

/* Something polled at a deadline.  spin_at/spins detect a poll function
 * that keeps asking to be called again at the same instant. */
struct sim_stack {
    struct ps_stack *s;
    ps_time_t spin_at;
    unsigned spins;
};

struct sim_poller {
    ps_sim_poll_fn fn; /* NULL: a free slot (removed) */
    void *ctx;
    uint64_t gen;      /* bumped when the slot is (re)used */
    ps_time_t deadline;
    ps_time_t spin_at;
    unsigned spins;
};

struct ps_sim {
    ps_time_t now;
    uint64_t next_seq;
    struct sim_rng rng;
    struct ps_sim_link *links;
    struct sim_event **heap;
    size_t heap_len, heap_cap;
    struct sim_stack stacks[PS_SIM_MAX_STACKS];
    unsigned n_stacks;
    struct sim_poller pollers[PS_SIM_MAX_POLLERS];
    unsigned n_pollers; /* slots in use or freed; never shrinks */
};

static ps_time_t sat_add(ps_time_t a, ps_time_t b)
{
    return a > PS_TIME_NEVER - b ? PS_TIME_NEVER - 1 : a + b;
}

/* ---- The event heap -------------------------------------------------------- */

static bool ev_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void heap_sift_up(struct ps_sim *sim, size_t i)
{
    struct sim_event **h = sim->heap;
    struct sim_event *e = h[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(e, h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = e;
}

static void heap_sift_down(struct ps_sim *sim, size_t i)
{
    struct sim_event **h = sim->heap;
    size_t n = sim->heap_len;
    struct sim_event *e = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_before(h[c + 1], h[c]))
            c++;
        if (!ev_before(h[c], e))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

static struct sim_event *heap_pop(struct ps_sim *sim)
{
    struct sim_event *top = sim->heap[0];
    sim->heap_len--;
    if (sim->heap_len > 0) {
        sim->heap[0] = sim->heap[sim->heap_len];
        heap_sift_down(sim, 0);
    }
    return top;
}

/* Queue a copy of a frame for delivery to `to` at time t.  Returns the event
 * (so the caller may corrupt its bytes) or NULL when it was dropped at the
 * in-flight bound (counted). */
static struct sim_event *schedule(struct ps_sim *sim, struct sim_endpoint *to, const uint8_t *frame,
                                  size_t len, ps_time_t t)
{
    struct ps_sim_link *l = to->link;
    if (sim->heap_len >= PS_SIM_MAX_INFLIGHT) {
        l->stats.frames_queue_dropped++;
        return NULL;
    }
    if (sim->heap_len == sim->heap_cap) {
        size_t cap = sim->heap_cap ? sim->heap_cap * 2 : 64;
        if (cap > PS_SIM_MAX_INFLIGHT)
            cap = PS_SIM_MAX_INFLIGHT;
        struct sim_event **h = realloc(sim->heap, cap * sizeof(*h));
        if (h == NULL) {
            l->stats.frames_queue_dropped++;
            return NULL;
        }
        sim->heap = h;
        sim->heap_cap = cap;
    }
    struct sim_event *ev = malloc(sizeof(*ev) + len);
    if (ev == NULL) {
        l->stats.frames_queue_dropped++;
        return NULL;
    }
    ev->time = t;
    ev->seq = sim->next_seq++;
    ev->to = to;
    ev->len = len;
    if (len > 0)
        memcpy(ev->data, frame, len);
    sim->heap[sim->heap_len] = ev;
    sim->heap_len++;
    heap_sift_up(sim, sim->heap_len - 1);
    return ev;
}

/* ---- Transmission ---------------------------------------------------------- */

/* Microseconds to serialise len bytes at bps, rounded up. */
static ps_time_t serialisation_time(size_t len, uint64_t bps)
{
    uint64_t bits_us = (uint64_t)len * 8u * 1000000u;
    return (bits_us + bps - 1) / bps;
}

/* One receiver's copy: draw its impairments and schedule it. */
static void deliver_copy(struct ps_sim *sim, struct ps_sim_link *l, struct sim_endpoint *to,
                         const uint8_t *frame, size_t len, ps_time_t depart)
{
    const struct ps_sim_impair *imp = &l->imp;
    struct sim_rng *rng = &sim->rng;

    if (imp->loss > 0 && rng_chance(rng, imp->loss)) {
        l->stats.frames_lost++;
        return;
    }
    ps_time_t t = sat_add(depart, imp->delay);
    if (imp->jitter > 0)
        t = sat_add(t, imp->jitter == PS_TIME_NEVER ? rng_next(rng) : rng_below(rng, imp->jitter + 1));
    bool reordered = imp->reorder > 0 && rng_chance(rng, imp->reorder);
    if (reordered)
        t = sat_add(t, imp->reorder_delay);
    bool corrupt = imp->corrupt > 0 && len > 0 && rng_chance(rng, imp->corrupt);
    uint64_t bit = corrupt ? rng_below(rng, (uint64_t)len * 8u) : 0;
    bool dup = imp->duplicate > 0 && rng_chance(rng, imp->duplicate);

    /* All draws are made before anything can fail, so an allocation
     * failure never shifts the random sequence of later frames. */
    struct sim_event *ev = schedule(sim, to, frame, len, t);
    if (ev == NULL)
        return;
    if (reordered)
        l->stats.frames_reordered++;
    if (corrupt) {
        ev->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        l->stats.frames_corrupted++;
    }
    /* The duplicate is byte for byte the copy above (corruption included). */
    if (dup && schedule(sim, to, ev->data, len, sat_add(t, PS_SIM_DUP_GAP)) != NULL)
        l->stats.frames_duplicated++;
}

/* The transmit callback of every simulated interface.  Whatever the link
 * does to the frame, the sender is told it went out: loss and queue drops
 * are the network's business, as with a real cable and switch. */
static int sim_transmit(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    struct sim_endpoint *ep = ctx;
    struct ps_sim_link *l = ep->link;
    struct ps_sim *sim = l->sim;
    const struct ps_sim_impair *imp = &l->imp;
    ps_time_t now = sim->now;

    l->stats.frames_sent++;
    if (l->down) {
        l->stats.frames_partitioned++;
        return 0;
    }

    ps_time_t depart = now;
    if (imp->bandwidth_bps > 0) {
        ps_time_t start = ep->busy_until > now ? ep->busy_until : now;
        if (start > now) {
            /* Bytes still waiting for (or in) serialisation. */
            size_t limit = imp->queue_limit ? imp->queue_limit : PS_SIM_DEFAULT_QUEUE_LIMIT;
            double backlog = (double)(start - now) * (double)imp->bandwidth_bps / 8e6;
            if (backlog + (double)len > (double)limit) {
                l->stats.frames_queue_dropped++;
                return 0;
            }
        }
        depart = sat_add(start, serialisation_time(len, imp->bandwidth_bps));
        ep->busy_until = depart;
    }

    for (size_t i = 0; i < l->n_eps; i++) {
        struct sim_endpoint *to = l->eps[i];
        if (to != ep)
            deliver_copy(sim, l, to, frame, len, depart);
    }
    return 0;
}

/* TSO like a network card: the super-segment is cut here, and each piece
 * goes out as a frame of its own (PS_SIM_TSO_CUT); or it crosses the link
 * whole, as between a TAP device and the kernel (PS_SIM_TSO_WHOLE). */
static int sim_emit_piece(void *ctx, const uint8_t *frame, size_t len)
{
    struct sim_endpoint *ep = ctx;
    return sim_transmit(ep, ep->ifc, frame, len);
}

static int sim_transmit_cut(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len, uint16_t gso)
{
    (void)ifc;
    uint8_t scratch[PS_GSO_SCRATCH];
    int rc = ps_gso_segment(frame, len, gso, scratch, sim_emit_piece, ctx);
    return rc < 0 ? rc : 0;
}

static int sim_transmit_whole(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len, uint16_t gso)
{
    (void)gso;
    return sim_transmit(ctx, ifc, frame, len);
}

/* ---- Public API ------------------------------------------------------------ */

int ps_sim_set_tso(struct ps_sim_link *l, struct ps_iface *ifc, enum ps_sim_tso mode)
{
    for (size_t i = 0; i < l->n_eps; i++) {
        if (l->eps[i]->ifc != ifc)
            continue;
        ps_iface_set_tso(ifc, mode == PS_SIM_TSO_CUT ? sim_transmit_cut
                              : mode == PS_SIM_TSO_WHOLE ? sim_transmit_whole : NULL);
        if (mode == PS_SIM_TSO_WHOLE)
            l->tso_whole = true;
        return 0;
    }
    return -ENOENT;
}

struct ps_sim *ps_sim_new(uint64_t seed, ps_time_t start)
{
    struct ps_sim *sim = calloc(1, sizeof(*sim));
    if (sim == NULL)
        return NULL;
    sim->now = start;
    rng_seed(&sim->rng, seed);
    return sim;
}

void ps_sim_free(struct ps_sim *sim)
{
    if (sim == NULL)
        return;
    for (size_t i = 0; i < sim->heap_len; i++)
        free(sim->heap[i]);
    free(sim->heap);
    struct ps_sim_link *l = sim->links;
    while (l != NULL) {
        struct ps_sim_link *next = l->next;
        for (size_t i = 0; i < l->n_eps; i++)
            free(l->eps[i]);
        free(l->eps);
        free(l);
        l = next;
    }
    free(sim);
}

ps_time_t ps_sim_now(const struct ps_sim *sim)
{
    return sim->now;
}

static int find_stack(const struct ps_sim *sim, const struct ps_stack *s)
{
    for (unsigned i = 0; i < sim->n_stacks; i++)
        if (sim->stacks[i].s == s)
            return (int)i;
    return -1;
}

/* Index of s in sim->stacks, adding it if needed; -ENOSPC when full. */
static int add_stack(struct ps_sim *sim, struct ps_stack *s)
{
    int idx = find_stack(sim, s);
    if (idx >= 0)
        return idx;
    if (sim->n_stacks >= PS_SIM_MAX_STACKS)
        return -ENOSPC;
    struct sim_stack *st = &sim->stacks[sim->n_stacks];
    st->s = s;
    st->spin_at = 0;
    st->spins = 0;
    return (int)sim->n_stacks++;
}

int ps_sim_add_stack(struct ps_sim *sim, struct ps_stack *s)
{
    if (s == NULL)
        return -EINVAL;
    int idx = add_stack(sim, s);
    return idx < 0 ? idx : 0;
}

int ps_sim_add_poller(struct ps_sim *sim, ps_sim_poll_fn fn, void *ctx)
{
    if (fn == NULL)
        return -EINVAL;
    /* Reuse a removed poller's slot, else take a new one.  Slots never
     * move, so a poller may add or remove pollers (itself included) while
     * it runs. */
    unsigned i = 0;
    while (i < sim->n_pollers && sim->pollers[i].fn != NULL)
        i++;
    if (i == sim->n_pollers) {
        if (sim->n_pollers >= PS_SIM_MAX_POLLERS)
            return -ENOSPC;
        sim->n_pollers++;
    }
    struct sim_poller *p = &sim->pollers[i];
    p->gen++;
    p->fn = fn;
    p->ctx = ctx;
    p->deadline = sim->now; /* first called at the next step */
    p->spin_at = 0;
    p->spins = 0;
    return 0;
}

void ps_sim_remove_poller(struct ps_sim *sim, ps_sim_poll_fn fn, void *ctx)
{
    for (unsigned i = 0; i < sim->n_pollers; i++) {
        struct sim_poller *p = &sim->pollers[i];
        if (p->fn != NULL && p->fn == fn && p->ctx == ctx) {
            p->fn = NULL;
            p->ctx = NULL;
            p->deadline = PS_TIME_NEVER;
            return;
        }
    }
}

struct ps_sim_link *ps_sim_link_new(struct ps_sim *sim, const struct ps_sim_impair *imp)
{
    struct ps_sim_link *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->sim = sim;
    if (imp != NULL)
        l->imp = *imp;
    /* Append, so links are kept in creation order. */
    struct ps_sim_link **pp = &sim->links;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = l;
    return l;
}

void ps_sim_link_set_impair(struct ps_sim_link *l, const struct ps_sim_impair *imp)
{
    if (imp != NULL)
        l->imp = *imp;
    else
        memset(&l->imp, 0, sizeof(l->imp));
}

void ps_sim_link_set_up(struct ps_sim_link *l, bool up)
{
    l->down = !up;
}

bool ps_sim_link_is_up(const struct ps_sim_link *l)
{
    return !l->down;
}

const struct ps_sim_link_stats *ps_sim_link_stats(const struct ps_sim_link *l)
{
    return &l->stats;
}

static bool mac_in_use(const struct ps_sim *sim, const ps_mac_t *m)
{
    for (const struct ps_sim_link *l = sim->links; l != NULL; l = l->next)
        for (size_t i = 0; i < l->n_eps; i++)
            if (memcmp(ps_iface_mac(l->eps[i]->ifc)->b, m->b, 6) == 0)
                return true;
    return false;
}

/* A locally administered unicast address 02:xx:xx:xx:xx:xx from the world's
 * generator, distinct from those of the world's other interfaces. */
static void make_mac(struct ps_sim *sim, ps_mac_t *m)
{
    for (int tries = 0; tries < 16; tries++) {
        uint64_t r = rng_next(&sim->rng);
        m->b[0] = 0x02;
        for (int i = 1; i < 6; i++)
            m->b[i] = (uint8_t)(r >> (8 * i));
        if (!mac_in_use(sim, m))
            return;
    }
}

struct ps_iface *ps_sim_attach(struct ps_sim_link *l, struct ps_stack *s, const char *name,
                               const ps_mac_t *mac, uint16_t mtu)
{
    struct ps_sim *sim = l->sim;
    if (s == NULL)
        return NULL;
    int idx = add_stack(sim, s);
    if (idx < 0)
        return NULL;

    /* Make room first: once the stack has the interface nothing may fail,
     * as an interface cannot be removed again. */
    if (l->n_eps == l->cap_eps) {
        size_t cap = l->cap_eps ? l->cap_eps * 2 : 4;
        struct sim_endpoint **eps = realloc(l->eps, cap * sizeof(*eps));
        if (eps == NULL)
            return NULL;
        l->eps = eps;
        l->cap_eps = cap;
    }
    struct sim_endpoint *ep = calloc(1, sizeof(*ep));
    if (ep == NULL)
        return NULL;
    ep->link = l;
    ep->stack_idx = (unsigned)idx;
    ep->busy_until = sim->now;

    ps_mac_t made;
    if (mac == NULL) {
        make_mac(sim, &made);
        mac = &made;
    }
    struct ps_iface *ifc = ps_iface_add(s, name, mac, mtu ? mtu : PS_SIM_DEFAULT_MTU, sim_transmit, ep);
    if (ifc == NULL) {
        free(ep);
        return NULL;
    }
    ep->ifc = ifc;
    l->eps[l->n_eps++] = ep;
    return ifc;
}

/* ---- Running ----------------------------------------------------------------- */

/* Record a poll at `now`; returns how many polls in a row ran at this instant. */
static unsigned note_poll(ps_time_t *spin_at, unsigned *spins, ps_time_t now)
{
    if (*spin_at == now) {
        (*spins)++;
    } else {
        *spin_at = now;
        *spins = 1;
    }
    return *spins;
}

/* When a stack is next due, never before now.  A stack still due at the
 * instant it has already been polled at twice is pushed 1 us on, so that a
 * misbehaving deadline cannot stop the clock. */
static ps_time_t stack_due(const struct ps_sim *sim, const struct sim_stack *st)
{
    ps_time_t d = ps_stack_next_deadline(st->s);
    if (d == PS_TIME_NEVER)
        return d;
    if (d <= sim->now) {
        d = sim->now;
        if (st->spin_at == sim->now && st->spins >= 2)
            d = sim->now + 1;
    }
    return d;
}

/* Tell every stack whose idea of the time lags the world's what time it is,
 * so that work an application starts now (outside a stack callback) is
 * stamped and timed with the right clock.  Nothing is due at this instant
 * (stacks are served before pollers and before a step returns false), so
 * these polls run no timers. */
static void sync_stacks(struct ps_sim *sim)
{
    for (unsigned i = 0; i < sim->n_stacks; i++)
        if (ps_stack_now(sim->stacks[i].s) < sim->now)
            (void)ps_stack_poll(sim->stacks[i].s, sim->now);
}

enum sim_kind { SIM_NONE, SIM_FRAME, SIM_STACK, SIM_POLLER };

bool ps_sim_step(struct ps_sim *sim, ps_time_t until)
{
    /* The earliest thing due; at equal times frames come first, then stacks
     * and pollers in the order they were added. */
    enum sim_kind kind = SIM_NONE;
    unsigned idx = 0;
    ps_time_t best = PS_TIME_NEVER;

    if (sim->heap_len > 0) {
        best = sim->heap[0]->time > sim->now ? sim->heap[0]->time : sim->now;
        kind = SIM_FRAME;
    }
    for (unsigned i = 0; i < sim->n_stacks; i++) {
        ps_time_t d = stack_due(sim, &sim->stacks[i]);
        if (d < best) {
            best = d;
            kind = SIM_STACK;
            idx = i;
        }
    }
    for (unsigned i = 0; i < sim->n_pollers; i++) {
        if (sim->pollers[i].fn == NULL)
            continue;
        ps_time_t d = sim->pollers[i].deadline;
        if (d != PS_TIME_NEVER && d < sim->now)
            d = sim->now;
        if (d < best) {
            best = d;
            kind = SIM_POLLER;
            idx = i;
        }
    }
    if (kind == SIM_NONE || best > until)
        return false;

    sim->now = best;
    switch (kind) {
    case SIM_FRAME: {
        struct sim_event *ev = heap_pop(sim);
        struct sim_endpoint *to = ev->to;
        if (to->link->down) { /* it was on its way when the link went down */
            to->link->stats.frames_partitioned++;
            free(ev);
            break;
        }
        to->link->stats.frames_delivered++;
        to->link->stats.bytes_delivered += ev->len;
        /* New input may legitimately leave work due at this very instant. */
        sim->stacks[to->stack_idx].spins = 0;
        /* On a link carrying whole super-segments, a frame beyond the MTU
         * can only be one: the receiver is told, as a TAP device would. */
        unsigned rx = to->link->tso_whole && ev->len > (size_t)ps_iface_mtu(to->ifc) + PS_ETH_HLEN ? PS_RX_GSO : 0;
        ps_iface_input_ex(to->ifc, ev->data, ev->len, sim->now, rx);
        free(ev);
        break;
    }
    case SIM_STACK: {
        struct sim_stack *st = &sim->stacks[idx];
        note_poll(&st->spin_at, &st->spins, sim->now);
        (void)ps_stack_poll(st->s, sim->now); /* its deadline is asked for afresh */
        break;
    }
    case SIM_POLLER: {
        struct sim_poller *p = &sim->pollers[idx];
        sync_stacks(sim);
        unsigned spins = note_poll(&p->spin_at, &p->spins, sim->now);
        uint64_t gen = p->gen;
        ps_time_t d = p->fn(p->ctx, sim->now);
        if (p->fn == NULL || p->gen != gen)
            break; /* it removed itself (and the slot may be reused) */
        /* One immediate re-poll is allowed; after that a deadline that does
         * not move forward is taken as 1 us from now. */
        if (d != PS_TIME_NEVER && d <= sim->now)
            d = spins >= 2 ? sim->now + 1 : sim->now;
        p->deadline = d;
        break;
    }
    case SIM_NONE:
        break;
    }
    return true;
}

void ps_sim_run_until(struct ps_sim *sim, ps_time_t t)
{
    while (ps_sim_step(sim, t)) {
    }
    if (t != PS_TIME_NEVER && t > sim->now) {
        sim->now = t;
        sync_stacks(sim);
    }
}

void ps_sim_run_for(struct ps_sim *sim, ps_time_t dt)
{
    ps_sim_run_until(sim, sat_add(sim->now, dt));
}

bool ps_sim_run_while_not(struct ps_sim *sim, bool (*cond)(void *ctx), void *ctx, ps_time_t limit)
{
    for (;;) {
        if (cond(ctx))
            return true;
        if (!ps_sim_step(sim, limit))
            break;
    }
    if (limit != PS_TIME_NEVER && limit > sim->now) {
        sim->now = limit;
        sync_stacks(sim);
    }
    return cond(ctx);
}
