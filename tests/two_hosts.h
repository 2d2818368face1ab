/*
 * tests/two_hosts.h - two stacks, a (192.0.2.1) and b (192.0.2.2), on one
 * simulated link, run event by event with ps_stack_check() on both after
 * every event: the harness of the fault-injection, partition and soak
 * tests.  The first broken invariant is kept in w->why (and the run
 * stops); tests assert w->broken is false.
 */
#ifndef PORTSTACK_TEST_TWO_HOSTS_H
#define PORTSTACK_TEST_TWO_HOSTS_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "stream_data.h"

#define IP_A PS_IP4(192, 0, 2, 1)
#define IP_B PS_IP4(192, 0, 2, 2)

struct two_hosts {
    struct ps_sim *sim;
    struct ps_sim_link *link;
    struct ps_stack *a, *b;
    struct ps_iface *ia, *ib;
    unsigned check_every;   /* check after every n-th event (0 or 1: each) */
    unsigned long events;   /* events run */
    unsigned long checks;   /* invariant checks made */
    bool broken;            /* an invariant broke: why says which */
    char why[256];
};

/* The stacks' configuration used by these tests unless they change it. */
static inline void two_hosts_config(struct ps_config *c, uint64_t seed)
{
    ps_config_default(c);
    c->seed = seed;
}

/* The world with its clock (and both stacks') starting at t0: the
 * simulation seeded with `seed`, one link impaired as imp says (NULL: a
 * perfect one), a and b on it with the configurations ca and cb.  False if
 * any part could not be made (two_hosts_free() frees what was). */
static inline bool two_hosts_new_at(struct two_hosts *w, uint64_t seed, ps_time_t t0, const struct ps_config *ca,
                                    const struct ps_config *cb, const struct ps_sim_impair *imp)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(seed, t0);
    w->link = w->sim ? ps_sim_link_new(w->sim, imp) : NULL;
    w->a = ps_stack_new(ca, t0);
    w->b = ps_stack_new(cb, t0);
    if (!w->link || !w->a || !w->b)
        return false;
    ps_stack_set_name(w->a, "a");
    ps_stack_set_name(w->b, "b");
    w->ia = ps_sim_attach(w->link, w->a, "eth0", NULL, 1500);
    w->ib = ps_sim_attach(w->link, w->b, "eth0", NULL, 1500);
    return w->ia && w->ib && ps_iface_add_addr(w->ia, IP_A, 24) == 0 && ps_iface_add_addr(w->ib, IP_B, 24) == 0;
}

/* two_hosts_new_at() with the default configurations (two_hosts_config)
 * seeded seed_a and seed_b. */
static inline bool two_hosts_new_seeded(struct two_hosts *w, uint64_t seed, ps_time_t t0, uint64_t seed_a,
                                        uint64_t seed_b, const struct ps_sim_impair *imp)
{
    struct ps_config ca, cb;
    two_hosts_config(&ca, seed_a);
    two_hosts_config(&cb, seed_b);
    return two_hosts_new_at(w, seed, t0, &ca, &cb, imp);
}

/* two_hosts_new_at() with the clock at 1000 s. */
static inline bool two_hosts_new(struct two_hosts *w, uint64_t seed, const struct ps_config *ca,
                                 const struct ps_config *cb, const struct ps_sim_impair *imp)
{
    return two_hosts_new_at(w, seed, PS_SEC(1000), ca, cb, imp);
}

static inline void two_hosts_free(struct two_hosts *w)
{
    ps_stack_free(w->a);
    ps_stack_free(w->b);
    ps_sim_free(w->sim);
}

/* Check both stacks now; false (and w->why) at the first broken one. */
static inline bool two_hosts_check(struct two_hosts *w)
{
    struct ps_stack *s[2] = {w->a, w->b};
    for (int i = 0; i < 2 && !w->broken; i++) {
        char why[200];
        w->checks++;
        if (ps_stack_check(s[i], why, sizeof(why)) != 0) {
            w->broken = true;
            snprintf(w->why, sizeof(w->why), "stack %s at %llu us: %s", ps_stack_name(s[i]),
                     (unsigned long long)ps_sim_now(w->sim), why);
        }
    }
    return !w->broken;
}

/* Tell a stack whose clock lags the world's what time it is (as the
 * simulation does before it runs a poller), so that what the test does
 * through it next is stamped with the world's time. */
static inline void two_hosts_sync(struct two_hosts *w)
{
    ps_time_t now = ps_sim_now(w->sim);
    if (ps_stack_now(w->a) < now)
        ps_stack_poll(w->a, now);
    if (ps_stack_now(w->b) < now)
        ps_stack_poll(w->b, now);
}

/* Run event by event until cond(ctx) holds or the clock reaches `limit`
 * (cond NULL: until limit), checking the invariants as it goes; false if
 * cond never held or an invariant broke.  cond may call into the stacks
 * (it is where the tests' applications run). */
static inline bool two_hosts_run(struct two_hosts *w, bool (*cond)(void *ctx), void *ctx, ps_time_t limit)
{
    for (;;) {
        two_hosts_sync(w);
        if (cond && cond(ctx))
            return !w->broken;
        if (w->broken)
            return false;
        if (!ps_sim_step(w->sim, limit)) {
            ps_sim_run_until(w->sim, limit); /* nothing left before limit: move the clock */
            two_hosts_sync(w);
            return cond ? cond(ctx) && !w->broken : two_hosts_check(w);
        }
        w->events++;
        if (w->check_every <= 1 || w->events % w->check_every == 0)
            two_hosts_check(w);
    }
}

static inline bool two_hosts_run_for(struct two_hosts *w, ps_time_t dt)
{
    return two_hosts_run(w, NULL, NULL, ps_sim_now(w->sim) + dt);
}

/* The counter called name, or -1. */
static inline long long stat_of(struct ps_stack *s, const char *name)
{
    for (unsigned i = 0; i < ps_stats_count(); i++)
        if (strcmp(ps_stats_name(i), name) == 0)
            return (long long)ps_stats_get(ps_stack_stats(s), i);
    return -1;
}

/* A TCP socket listening on port (any address) with this backlog, or -1. */
static inline int stream_listener(struct ps_stack *s, uint16_t port, int backlog)
{
    int fd = ps_socket(s, PS_SOCK_STREAM);
    struct ps_sockaddr_in any = {.addr = 0, .port = port};
    if (fd < 0 || ps_bind(s, fd, &any) != 0 || ps_listen(s, fd, backlog) != 0)
        return -1;
    return fd;
}

struct state_count {
    const char *state;
    unsigned n;
};

static inline int state_count_fn(void *ctx, const struct ps_sock_info *i)
{
    struct state_count *c = ctx;
    if (i->type == PS_SOCK_STREAM && i->state && strcmp(i->state, c->state) == 0)
        c->n++;
    return 0;
}

/* TCP sockets (and TIME_WAIT records) a stack lists in `state` ("ESTAB"...). */
static inline unsigned count_state(struct ps_stack *s, const char *state)
{
    struct state_count c = {state, 0};
    ps_socket_foreach(s, state_count_fn, &c);
    return c.n;
}

/* Every buffer back in its pool. */
static inline bool pools_full(struct ps_stack *s)
{
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(s, &sf, &st, &lf, &lt);
    return sf == st && lf == lt;
}

/* One end of a TCP connection carrying test streams (stream_data.h): it
 * sends tx_total bytes of stream tx_seed and shuts down its sending side,
 * and checks every byte of stream rx_seed it reads up to EOF.  An end that
 * leads sends at once; the other first reads the peer's stream to its end
 * (so the leader's FIN goes first and it keeps TIME_WAIT). */
struct stream_end {
    struct ps_stack *s;
    int fd;
    bool leads;
    uint32_t tx_seed, rx_seed;
    size_t tx_total, sent, rcvd;
    bool shut, eof, bad; /* bad: a byte differed from the stream */
    int err;             /* the first error (positive errno) */
};

/* Move what can move now: read, then send and shut down. */
static inline void stream_end_pump(struct stream_end *e)
{
    uint8_t buf[4096], exp[4096];
    while (e->fd >= 0 && !e->eof && !e->err) {
        ssize_t k = ps_recv(e->s, e->fd, buf, sizeof(buf), 0);
        if (k == -EAGAIN)
            break;
        if (k < 0) {
            e->err = (int)-k;
        } else if (k == 0) {
            e->eof = true;
        } else {
            gen(e->rx_seed, e->rcvd, exp, (size_t)k);
            e->bad |= memcmp(buf, exp, (size_t)k) != 0;
            e->rcvd += (size_t)k;
        }
    }
    bool may_send = e->fd >= 0 && (e->leads || e->eof) && !e->err;
    while (may_send && e->sent < e->tx_total) {
        size_t n = e->tx_total - e->sent < sizeof(buf) ? e->tx_total - e->sent : sizeof(buf);
        gen(e->tx_seed, e->sent, buf, n);
        ssize_t k = ps_send(e->s, e->fd, buf, n, 0);
        if (k == -EAGAIN)
            break;
        if (k <= 0) {
            e->err = k < 0 ? (int)-k : EIO;
            break;
        }
        e->sent += (size_t)k;
    }
    if (may_send && e->sent == e->tx_total && !e->shut) {
        int rc = ps_shutdown(e->s, e->fd, PS_SHUT_WR);
        e->shut = true;
        if (rc)
            e->err = -rc;
    }
}

static inline int count_entry(void *ctx, const struct ps_sock_info *info)
{
    (void)info;
    (*(unsigned *)ctx)++;
    return 0;
}

/* Sockets and TIME_WAIT records a stack lists (ss). */
static inline unsigned sockets_listed(struct ps_stack *s)
{
    unsigned n = 0;
    ps_socket_foreach(s, count_entry, &n);
    return n;
}

/* Let every timer run out for `settle`, then: true if both stacks are back
 * to nothing - every buffer in its pool, no socket, port or TIME_WAIT
 * record - with every invariant holding; else false, w->why saying what. */
static inline bool two_hosts_settled(struct two_hosts *w, ps_time_t settle)
{
    if (!two_hosts_run_for(w, settle) || !two_hosts_check(w))
        return false;
    struct ps_stack *s[2] = {w->a, w->b};
    for (int i = 0; i < 2; i++) {
        unsigned left = sockets_listed(s[i]);
        if (pools_full(s[i]) && left == 0)
            continue;
        snprintf(w->why, sizeof(w->why), "stack %s: %s, %u sockets or TIME_WAIT records left", ps_stack_name(s[i]),
                 pools_full(s[i]) ? "buffers all free" : "buffers held", left);
        w->broken = true;
        return false;
    }
    return true;
}

/* A connection from a client on one stack to a listener on another, each
 * end carrying a stream; srv.fd is -1 until the connection is accepted. */
struct stream_pair {
    struct ps_stack *b; /* the listener's stack */
    int lfd;
    struct stream_end cli, srv;
};

/* Accept the connection if it is not yet, then pump both ends. */
static inline void stream_pair_pump(struct stream_pair *t)
{
    if (t->srv.fd < 0) {
        int fd = ps_accept(t->b, t->lfd, NULL);
        if (fd >= 0)
            t->srv.fd = fd;
        else if (fd != -EAGAIN)
            t->srv.err = -fd;
    }
    stream_end_pump(&t->cli);
    stream_end_pump(&t->srv);
}

/* Both streams read to their end, or an error or a bad byte. */
static inline bool stream_pair_over(const struct stream_pair *t)
{
    return (t->cli.eof && t->srv.eof) || t->cli.err || t->srv.err || t->cli.bad || t->srv.bad;
}

#endif
