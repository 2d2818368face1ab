/*
 * tests/unit/test_sim.c - the simulated wire, exercised with real stacks
 * exchanging real ARP and ICMP echo traffic.
 *
 * Frames are observed with capture hooks on the interfaces: a hook on the
 * sender sees each frame as it is handed to the link (PS_DIR_OUT) and one on
 * the receiver sees it as the link delivers it (PS_DIR_IN), both at stack
 * time, which the world keeps equal to its virtual clock.
 */
#include <errno.h>

#include "portstack/net.h"
#include "portstack/sim.h"
#include "portstack/stack.h"
#include "portstack/stats.h"
#include "test.h"

/* The in-flight bound of sim.c (PS_SIM_MAX_INFLIGHT). */
#define SIM_MAX_INFLIGHT 65536

#define LOG_MAX 8192
#define HEAD 192

struct frame_rec {
    ps_time_t t;
    enum ps_dir dir;
    size_t len;
    uint64_t hash;
    uint8_t head[HEAD];
};

/* Everything one interface's capture hook saw. */
struct cap_log {
    unsigned n;     /* records, including those beyond LOG_MAX */
    uint64_t chain; /* hash over (time, dir, bytes) of every record */
    struct frame_rec r[LOG_MAX];
};

#define ECHO_MAX 8192

/* Echo replies one stack received. */
struct echo_log {
    unsigned replies, errors;
    uint64_t chain;
    ps_time_t t[ECHO_MAX];
    uint16_t seq[ECHO_MAX];
};

struct host {
    struct ps_stack *s;
    struct ps_iface *ifc;
    ps_ip4_t ip;
    struct cap_log *log;
    struct echo_log *echo;
};

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

#define FNV_INIT 0xcbf29ce484222325u

static void capture(void *ctx, struct ps_iface *ifc, enum ps_dir dir, const uint8_t *frame, size_t len,
                    ps_time_t now)
{
    struct cap_log *log = ctx;
    uint64_t h = fnv(FNV_INIT, frame, len);
    log->chain = fnv(log->chain, &now, sizeof(now));
    log->chain = fnv(log->chain, &dir, sizeof(dir));
    log->chain = fnv(log->chain, &h, sizeof(h));
    if (log->n < LOG_MAX) {
        struct frame_rec *r = &log->r[log->n];
        r->t = now;
        r->dir = dir;
        r->len = len;
        r->hash = h;
        memcpy(r->head, frame, len < HEAD ? len : HEAD);
    }
    log->n++;
}

static void on_echo(void *ctx, const struct ps_echo_event *ev)
{
    struct echo_log *e = ctx;
    if (!ev->is_reply) {
        e->errors++;
        return;
    }
    e->chain = fnv(e->chain, &ev->now, sizeof(ev->now));
    e->chain = fnv(e->chain, &ev->seq, sizeof(ev->seq));
    if (e->replies < ECHO_MAX) {
        e->t[e->replies] = ev->now;
        e->seq[e->replies] = ev->seq;
    }
    e->replies++;
}

/* A stack with one interface on link l holding 10.0.0.<n>/24. */
static void host_init(struct host *h, struct ps_sim *sim, struct ps_sim_link *l, const char *name, unsigned n)
{
    memset(h, 0, sizeof(*h));
    h->s = ps_stack_new(NULL, ps_sim_now(sim));
    REQUIRE(h->s != NULL);
    ps_stack_set_name(h->s, name);
    h->ifc = ps_sim_attach(l, h->s, "eth0", NULL, 1500);
    REQUIRE(h->ifc != NULL);
    h->ip = PS_IP4(10, 0, 0, n);
    REQUIRE(ps_iface_add_addr(h->ifc, h->ip, 24) == 0);
    h->log = calloc(1, sizeof(*h->log));
    h->echo = calloc(1, sizeof(*h->echo));
    REQUIRE(h->log != NULL && h->echo != NULL);
    h->log->chain = FNV_INIT;
    h->echo->chain = FNV_INIT;
    ps_iface_set_capture(h->ifc, capture, h->log);
    ps_icmp_set_echo_hook(h->s, on_echo, h->echo);
}

static void host_free(struct host *h)
{
    if (h->s)
        ps_stack_free(h->s);
    free(h->log);
    free(h->echo);
    memset(h, 0, sizeof(*h));
}

/* Permanent ARP entries both ways, so that no ARP traffic shares the link. */
static void static_arp(struct host *a, struct host *b)
{
    REQUIRE(ps_arp_add_static(a->s, a->ifc, b->ip, ps_iface_mac(b->ifc)) == 0);
    REQUIRE(ps_arp_add_static(b->s, b->ifc, a->ip, ps_iface_mac(a->ifc)) == 0);
}

/* count echo requests of `len` payload bytes from a to b, `gap` apart. */
static void ping_train(struct ps_sim *sim, struct host *a, struct host *b, unsigned count, ps_time_t gap,
                       size_t len)
{
    for (unsigned i = 0; i < count; i++) {
        CHECK_EQ(ps_icmp_echo_request(a->s, b->ip, 0x1234, (uint16_t)i, 0, NULL, len), 0);
        if (gap)
            ps_sim_run_for(sim, gap);
    }
}

/* Is this captured frame an ICMP echo request?  Its sequence number if so. */
static bool icmp_echo_seq(const struct frame_rec *r, uint8_t type, uint16_t *seq)
{
    const uint8_t *f = r->head;
    if (r->len < 14 + 20 + 8 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 1)
        return false;
    size_t off = 14 + (size_t)(f[14] & 0x0f) * 4;
    if (off + 8 > HEAD || f[off] != type)
        return false;
    *seq = (uint16_t)((f[off + 6] << 8) | f[off + 7]);
    return true;
}

static ps_time_t ser_us(size_t len, uint64_t bps)
{
    return (ps_time_t)(((uint64_t)len * 8u * 1000000u + bps - 1) / bps);
}

/* ---- tests ------------------------------------------------------------------ */

TEST(clock)
{
    struct ps_sim *sim = ps_sim_new(7, 5000);
    REQUIRE(sim != NULL);
    CHECK_U64(ps_sim_now(sim), 5000);
    CHECK(!ps_sim_step(sim, PS_TIME_NEVER)); /* nothing at all to do */
    ps_sim_run_until(sim, 10000);
    CHECK_U64(ps_sim_now(sim), 10000);
    ps_sim_run_until(sim, 9000); /* never backwards */
    CHECK_U64(ps_sim_now(sim), 10000);
    ps_sim_run_for(sim, 500);
    CHECK_U64(ps_sim_now(sim), 10500);
    ps_sim_free(sim);
    ps_sim_free(NULL);
}

/* Every frame arrives exactly delay + serialisation after it was sent, the
 * same bytes, ARP included; a ping's round trip is exact. */
TEST(delivery_timing)
{
    const ps_time_t delay = 1000;
    const uint64_t bps = 10000000;
    struct ps_sim *sim = ps_sim_new(1, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = delay, .bandwidth_bps = bps};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);

    /* The first ping needs ARP first. */
    CHECK_EQ(ps_icmp_echo_request(a.s, b.ip, 1, 1, 0, NULL, 100), 0);
    ps_sim_run_until(sim, PS_SEC(1));
    CHECK_EQ(a.echo->replies, 1);
    CHECK(a.log->n >= 2);

    /* Match each frame a sent with the one b received, and vice versa. */
    struct host *pair[2][2] = {{&a, &b}, {&b, &a}};
    unsigned matched = 0;
    for (int d = 0; d < 2; d++) {
        struct cap_log *tx = pair[d][0]->log, *rx = pair[d][1]->log;
        unsigned j = 0;
        for (unsigned i = 0; i < tx->n; i++) {
            if (tx->r[i].dir != PS_DIR_OUT)
                continue;
            while (j < rx->n && rx->r[j].dir != PS_DIR_IN)
                j++;
            REQUIRE(j < rx->n);
            CHECK_U64(rx->r[j].hash, tx->r[i].hash);
            CHECK_U64(rx->r[j].t, tx->r[i].t + ser_us(tx->r[i].len, bps) + delay);
            j++;
            matched++;
        }
    }
    CHECK_EQ(matched, a.log->n + b.log->n - matched); /* every IN has its OUT */
    const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
    CHECK_U64(st->frames_sent, matched);
    CHECK_U64(st->frames_delivered, matched);
    CHECK_U64(st->frames_lost + st->frames_duplicated + st->frames_corrupted + st->frames_reordered +
                  st->frames_queue_dropped,
              0);

    /* ARP resolved: the second ping's round trip is two one-way trips of a
     * 14 + 20 + 8 + 100 byte frame. */
    ps_time_t t0 = ps_sim_now(sim);
    CHECK_EQ(ps_icmp_echo_request(a.s, b.ip, 1, 2, 0, NULL, 100), 0);
    ps_sim_run_for(sim, PS_SEC(1));
    REQUIRE(a.echo->replies == 2);
    CHECK_U64(a.echo->t[1], t0 + 2 * (ser_us(142, bps) + delay));
    CHECK_U64(a.echo->t[1] - t0, 2228);
    CHECK_U64(st->bytes_delivered > 0, 1);

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

/* A link is a hub: every other interface gets a copy. */
TEST(broadcast_segment)
{
    struct ps_sim *sim = ps_sim_new(2, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_link *l = ps_sim_link_new(sim, NULL);
    REQUIRE(l != NULL);
    struct host a, b, c;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    host_init(&c, sim, l, "c", 3);

    CHECK_EQ(ps_icmp_echo_request(a.s, b.ip, 1, 1, 0, NULL, 32), 0);
    ps_sim_run_for(sim, PS_SEC(1));
    CHECK_EQ(a.echo->replies, 1);

    const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
    CHECK(st->frames_sent >= 4); /* ARP request, reply, echo request, reply */
    CHECK_U64(st->frames_delivered, 2 * st->frames_sent);
    /* c saw everything: the ARP request (not for it) and the unicasts. */
    const struct ps_stats *cs = ps_stack_stats(c.s);
    CHECK_U64(cs->eth_rx, st->frames_sent);
    CHECK(cs->arp_drop_not_for_us >= 1);
    CHECK(cs->eth_drop_other_mac >= 2);
    CHECK_EQ(cs->eth_tx, 0);

    host_free(&a);
    host_free(&b);
    host_free(&c);
    ps_sim_free(sim);
}

/* Made-up MACs: locally administered unicast, distinct, from the seed. */
TEST(made_up_macs)
{
    ps_mac_t m[2][4];
    for (int w = 0; w < 2; w++) {
        struct ps_sim *sim = ps_sim_new(99, 0);
        REQUIRE(sim != NULL);
        struct ps_sim_link *l1 = ps_sim_link_new(sim, NULL);
        struct ps_sim_link *l2 = ps_sim_link_new(sim, NULL);
        REQUIRE(l1 && l2);
        struct ps_stack *s = ps_stack_new(NULL, 0);
        REQUIRE(s != NULL);
        for (int i = 0; i < 4; i++) {
            char name[8] = {'e', 't', 'h', (char)('0' + i), 0};
            struct ps_iface *ifc = ps_sim_attach(i < 2 ? l1 : l2, s, name, NULL, 0);
            REQUIRE(ifc != NULL);
            CHECK_EQ(ps_iface_mtu(ifc), 1500);
            m[w][i] = *ps_iface_mac(ifc);
            CHECK_EQ(m[w][i].b[0], 0x02);
            for (int j = 0; j < i; j++)
                CHECK(memcmp(m[w][i].b, m[w][j].b, 6) != 0);
        }
        /* A given MAC is used as is. */
        ps_mac_t fixed = {{0x02, 0, 0, 0, 0, 0x42}};
        struct ps_iface *ifc = ps_sim_attach(l1, s, "fixed", &fixed, 1400);
        REQUIRE(ifc != NULL);
        CHECK_MEM(ps_iface_mac(ifc)->b, fixed.b, 6);
        CHECK_EQ(ps_iface_mtu(ifc), 1400);
        ps_stack_free(s);
        ps_sim_free(sim);
    }
    CHECK_MEM(m[0], m[1], sizeof(m[0])); /* same seed, same addresses */

    struct ps_sim *sim = ps_sim_new(100, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_link *l = ps_sim_link_new(sim, NULL);
    struct ps_stack *s = ps_stack_new(NULL, 0);
    REQUIRE(l && s);
    struct ps_iface *ifc = ps_sim_attach(l, s, "eth0", NULL, 1500);
    REQUIRE(ifc != NULL);
    CHECK(memcmp(ps_iface_mac(ifc)->b, m[0][0].b, 6) != 0);
    ps_stack_free(s);
    ps_sim_free(sim);
}

TEST(loss)
{
    struct ps_sim *sim = ps_sim_new(3, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = 100, .loss = 0.2};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    static_arp(&a, &b);

    ping_train(sim, &a, &b, 2000, PS_MS(2), 56);
    ps_sim_run_for(sim, PS_SEC(1));

    const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
    double frac = (double)st->frames_lost / (double)st->frames_sent;
    fprintf(stderr, "  sent %llu lost %llu (%.3f)\n", (unsigned long long)st->frames_sent,
            (unsigned long long)st->frames_lost, frac);
    CHECK(frac > 0.17 && frac < 0.23);
    CHECK_U64(st->frames_sent, st->frames_delivered + st->frames_lost);
    const struct ps_stats *as = ps_stack_stats(a.s), *bs = ps_stack_stats(b.s);
    /* Every delivered frame is a request at b or a reply at a. */
    CHECK_U64(bs->icmp_echo_rx + as->icmp_echo_reply_rx, st->frames_delivered);
    CHECK_U64(a.echo->replies, as->icmp_echo_reply_rx);
    /* About 0.8 * 0.8 of the pings come back. */
    CHECK(a.echo->replies > 2000 * 0.58 && a.echo->replies < 2000 * 0.70);

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

TEST(duplicate)
{
    struct ps_sim *sim = ps_sim_new(4, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = 100, .duplicate = 0.3};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    static_arp(&a, &b);

    ping_train(sim, &a, &b, 1000, PS_MS(2), 56);
    ps_sim_run_for(sim, PS_SEC(1));

    const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
    double frac = (double)st->frames_duplicated / (double)st->frames_sent;
    CHECK(frac > 0.25 && frac < 0.35);
    CHECK_U64(st->frames_delivered, st->frames_sent + st->frames_duplicated);
    const struct ps_stats *bs = ps_stack_stats(b.s);
    CHECK(bs->icmp_echo_rx > 1000);
    /* Duplicated requests get two replies, each of which may be doubled. */
    CHECK(a.echo->replies > 1500);

    /* A duplicate is the same bytes 1 us after the original. */
    unsigned dups = 0;
    const struct frame_rec *prev = NULL;
    for (unsigned i = 0; i < b.log->n && i < LOG_MAX; i++) {
        const struct frame_rec *r = &b.log->r[i];
        if (r->dir != PS_DIR_IN)
            continue; /* b's replies come between */
        if (prev != NULL && prev->hash == r->hash) {
            CHECK_U64(r->t, prev->t + 1);
            dups++;
        }
        prev = r;
    }
    CHECK(dups > 200);

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

TEST(corrupt)
{
    struct ps_sim *sim = ps_sim_new(5, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = 100, .corrupt = 1.0};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    static_arp(&a, &b);

    ping_train(sim, &a, &b, 300, PS_MS(1), 100);
    ps_sim_run_for(sim, PS_SEC(1));

    const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
    CHECK_U64(st->frames_corrupted, st->frames_sent);
    CHECK_U64(st->frames_delivered, st->frames_sent);

    /* Exactly one bit differs between each frame sent and received. */
    unsigned j = 0, compared = 0;
    for (unsigned i = 0; i < a.log->n; i++) {
        const struct frame_rec *s = &a.log->r[i];
        if (s->dir != PS_DIR_OUT)
            continue;
        while (j < b.log->n && b.log->r[j].dir != PS_DIR_IN)
            j++;
        REQUIRE(j < b.log->n);
        const struct frame_rec *r = &b.log->r[j++];
        REQUIRE(r->len == s->len && s->len <= HEAD);
        unsigned bits = 0;
        for (size_t k = 0; k < s->len; k++)
            bits += (unsigned)__builtin_popcount((unsigned)(s->head[k] ^ r->head[k]));
        CHECK_EQ(bits, 1);
        compared++;
    }
    CHECK_EQ(compared, 300);

    /* The receiver's checks caught them: few requests got through. */
    const struct ps_stats *bs = ps_stack_stats(b.s);
    fprintf(stderr, "  b: echo_rx %llu ip_drop_checksum %llu icmp_drop_malformed %llu\n",
            (unsigned long long)bs->icmp_echo_rx, (unsigned long long)bs->ip_drop_checksum,
            (unsigned long long)bs->icmp_drop_malformed);
    CHECK(bs->ip_drop_checksum > 0);
    CHECK(bs->icmp_drop_malformed > 150);
    CHECK(bs->icmp_echo_rx < 30);

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

/* Drop-tail at the sender's serialisation queue. */
TEST(queue_limit)
{
    const uint64_t bps = 1000000; /* a 142-byte frame takes 1136 us */
    struct ps_sim *sim = ps_sim_new(6, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.bandwidth_bps = bps, .queue_limit = 3000};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    static_arp(&a, &b);

    ping_train(sim, &a, &b, 50, 0, 100); /* all at t = 0 */
    const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
    CHECK_U64(st->frames_sent, 50);
    /* Frame k is accepted while k*142 + 142 <= 3000: k = 0..20. */
    CHECK_U64(st->frames_queue_dropped, 29);
    CHECK_EQ(ps_stack_stats(a.s)->eth_tx_err, 0); /* a wire does not tell */

    ps_sim_run_for(sim, PS_SEC(1));
    CHECK_EQ(a.echo->replies, 21);
    /* Request k leaves the queue at (k+1) * 1136 us. */
    unsigned k = 0;
    for (unsigned i = 0; i < b.log->n; i++) {
        uint16_t seq;
        if (b.log->r[i].dir == PS_DIR_IN && icmp_echo_seq(&b.log->r[i], 8, &seq)) {
            CHECK_EQ(seq, k);
            CHECK_U64(b.log->r[i].t, (k + 1) * ser_us(142, bps));
            k++;
        }
    }
    CHECK_EQ(k, 21);
    CHECK_U64(a.echo->t[20], 22 * ser_us(142, bps));

    /* queue_limit 0 is 256 KiB: k*142 + 142 <= 262144 for k = 0..1845. */
    struct ps_sim_impair imp2 = {.bandwidth_bps = bps};
    ps_sim_link_set_impair(l, &imp2);
    uint64_t dropped0 = st->frames_queue_dropped;
    ping_train(sim, &a, &b, 2000, 0, 100);
    CHECK_U64(st->frames_queue_dropped - dropped0, 2000 - 1846);

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

/* The bound on frames in flight holds. */
TEST(inflight_bound)
{
    struct ps_sim *sim = ps_sim_new(7, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = PS_SEC(10)};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    static_arp(&a, &b);

    ping_train(sim, &a, &b, SIM_MAX_INFLIGHT + 100, 0, 0);
    const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
    CHECK_U64(st->frames_queue_dropped, 100);
    ps_sim_run_until(sim, PS_SEC(10));
    CHECK_U64(st->frames_delivered, SIM_MAX_INFLIGHT);
    /* b's replies are now in flight; freeing the world frees them. */
    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

/* Without jitter and reorder a sender's frames stay in order; with reorder
 * some are held back. */
TEST(reorder)
{
    for (int with = 0; with < 2; with++) {
        struct ps_sim *sim = ps_sim_new(8, 0);
        REQUIRE(sim != NULL);
        struct ps_sim_impair imp = {.delay = 500, .bandwidth_bps = 100000000};
        if (with) {
            imp.reorder = 0.3;
            imp.reorder_delay = PS_MS(5);
        }
        struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
        REQUIRE(l != NULL);
        struct host a, b;
        host_init(&a, sim, l, "a", 1);
        host_init(&b, sim, l, "b", 2);
        static_arp(&a, &b);

        ping_train(sim, &a, &b, 500, PS_MS(1), 56);
        ps_sim_run_for(sim, PS_SEC(1));

        unsigned n = 0, inversions = 0;
        uint16_t last = 0;
        for (unsigned i = 0; i < b.log->n; i++) {
            uint16_t seq;
            if (b.log->r[i].dir == PS_DIR_IN && icmp_echo_seq(&b.log->r[i], 8, &seq)) {
                if (n > 0 && seq < last)
                    inversions++;
                last = seq;
                n++;
            }
        }
        const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
        CHECK_EQ(n, 500);
        if (with) {
            double frac = (double)st->frames_reordered / (double)st->frames_sent;
            CHECK(frac > 0.25 && frac < 0.35);
            CHECK(inversions > 50);
        } else {
            CHECK_EQ(st->frames_reordered, 0);
            CHECK_EQ(inversions, 0);
        }
        CHECK_EQ(a.echo->replies, 500);
        host_free(&a);
        host_free(&b);
        ps_sim_free(sim);
    }
}

TEST(jitter)
{
    struct ps_sim *sim = ps_sim_new(9, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = 1000, .jitter = 500};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    static_arp(&a, &b);

    /* 10 ms apart: far more than the jitter, so the order is kept and the
     * n-th frame sent is the n-th received. */
    ping_train(sim, &a, &b, 300, PS_MS(10), 56);
    ps_sim_run_for(sim, PS_SEC(1));

    ps_time_t lo = PS_TIME_NEVER, hi = 0;
    unsigned j = 0, n = 0;
    for (unsigned i = 0; i < a.log->n; i++) {
        if (a.log->r[i].dir != PS_DIR_OUT)
            continue;
        while (j < b.log->n && b.log->r[j].dir != PS_DIR_IN)
            j++;
        REQUIRE(j < b.log->n);
        CHECK_U64(b.log->r[j].hash, a.log->r[i].hash);
        ps_time_t d = b.log->r[j].t - a.log->r[i].t;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        j++;
        n++;
    }
    CHECK_EQ(n, 300);
    CHECK(lo >= 1000 && hi <= 1500);
    CHECK(lo < 1050 && hi > 1450); /* spread over the whole range */

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

/* A whole run with every impairment, fingerprinted: the same seed gives the
 * same frames at the same times, another seed does not. */
static uint64_t impaired_run(uint64_t seed)
{
    struct ps_sim *sim = ps_sim_new(seed, PS_SEC(100));
    if (sim == NULL)
        return 0;
    struct ps_sim_impair imp = {
        .delay = 500,
        .jitter = 300,
        .bandwidth_bps = 10000000,
        .loss = 0.1,
        .duplicate = 0.1,
        .reorder = 0.1,
        .reorder_delay = PS_MS(3),
        .corrupt = 0.05,
        .queue_limit = 4000,
    };
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);

    /* Ping until ARP has resolved (its frames may be lost too)... */
    for (unsigned i = 0; i < 100 && a.echo->replies == 0; i++) {
        (void)ps_icmp_echo_request(a.s, b.ip, 6, (uint16_t)i, 0, NULL, 100);
        ps_sim_run_for(sim, PS_MS(300));
    }
    /* ...then bursts of 10 back to back (some hit the queue limit). */
    for (unsigned burst = 0; burst < 30; burst++) {
        for (unsigned i = 0; i < 10; i++)
            (void)ps_icmp_echo_request(a.s, b.ip, 7, (uint16_t)(burst * 10 + i), 0, NULL, 400);
        ps_sim_run_for(sim, PS_MS(20));
    }
    ps_sim_run_for(sim, PS_SEC(5));

    const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
    fprintf(stderr, "  seed %llu: sent %llu lost %llu dup %llu reord %llu corrupt %llu qdrop %llu replies %u\n",
            (unsigned long long)seed, (unsigned long long)st->frames_sent, (unsigned long long)st->frames_lost,
            (unsigned long long)st->frames_duplicated, (unsigned long long)st->frames_reordered,
            (unsigned long long)st->frames_corrupted, (unsigned long long)st->frames_queue_dropped,
            a.echo->replies);
    CHECK(st->frames_lost > 0);
    CHECK(st->frames_duplicated > 0);
    CHECK(st->frames_reordered > 0);
    CHECK(st->frames_corrupted > 0);
    CHECK(st->frames_queue_dropped > 0);
    CHECK(a.echo->replies > 0);

    uint64_t h = FNV_INIT;
    h = fnv(h, &a.log->chain, sizeof(a.log->chain));
    h = fnv(h, &b.log->chain, sizeof(b.log->chain));
    h = fnv(h, &a.echo->chain, sizeof(a.echo->chain));
    h = fnv(h, st, sizeof(*st));
    h = fnv(h, &a.log->n, sizeof(a.log->n));
    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
    return h;
}

TEST(determinism)
{
    uint64_t h1 = impaired_run(42);
    uint64_t h2 = impaired_run(42);
    uint64_t h3 = impaired_run(43);
    CHECK_U64(h1, h2);
    CHECK(h1 != h3);
}

/* The world drives the stacks' timers: ARP retries come at the configured
 * interval. */
TEST(stack_timers)
{
    struct ps_sim *sim = ps_sim_new(10, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = 250};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);

    ps_sim_run_until(sim, PS_MS(3));
    CHECK_EQ(ps_icmp_echo_request(a.s, PS_IP4(10, 0, 0, 99), 1, 1, 0, NULL, 8), 0);
    ps_sim_run_for(sim, PS_SEC(20));

    unsigned n = 0;
    ps_time_t prev = 0;
    for (unsigned i = 0; i < b.log->n; i++) {
        const struct frame_rec *r = &b.log->r[i];
        if (r->dir != PS_DIR_IN || r->head[12] != 0x08 || r->head[13] != 0x06)
            continue;
        if (n == 0)
            CHECK_U64(r->t, PS_MS(3) + 250); /* stamped with the world's time */
        else
            CHECK_U64(r->t - prev, PS_MS(ps_stack_config(a.s)->arp_retry_ms));
        prev = r->t;
        n++;
    }
    CHECK(n >= 2);
    CHECK(n <= ps_stack_config(a.s)->arp_retries + 1);

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

struct poller_state {
    unsigned calls;
    ps_time_t step; /* 0: return now (a misbehaving poller); NEVER: once */
    ps_time_t first, last;
    struct host *a, *b; /* if set: ping at the first call */
};

static ps_time_t poll_fn(void *ctx, ps_time_t now)
{
    struct poller_state *p = ctx;
    if (p->calls == 0)
        p->first = now;
    p->last = now;
    p->calls++;
    if (p->a && p->calls == 1)
        (void)ps_icmp_echo_request(p->a->s, p->b->ip, 9, 9, 0, NULL, 8);
    if (p->step == PS_TIME_NEVER)
        return PS_TIME_NEVER;
    return now + p->step;
}

TEST(pollers)
{
    struct ps_sim *sim = ps_sim_new(11, 1000);
    REQUIRE(sim != NULL);
    struct poller_state every100 = {.step = 100}, busy = {.step = 0}, once = {.step = PS_TIME_NEVER};
    REQUIRE(ps_sim_add_poller(sim, poll_fn, &every100) == 0);
    REQUIRE(ps_sim_add_poller(sim, poll_fn, &busy) == 0);
    REQUIRE(ps_sim_add_poller(sim, poll_fn, &once) == 0);
    ps_sim_run_until(sim, 2000);
    CHECK_EQ(every100.calls, 11); /* 1000, 1100, ..., 2000 */
    CHECK_U64(every100.first, 1000);
    CHECK_U64(every100.last, 2000);
    CHECK_EQ(once.calls, 1);
    /* The busy one is called twice per microsecond and no more. */
    CHECK(busy.calls >= 1001 && busy.calls <= 2 * 1001);
    CHECK_U64(busy.last, 2000);
    CHECK_U64(ps_sim_now(sim), 2000);

    /* The table is bounded. */
    int rc = 0;
    unsigned added = 3;
    while ((rc = ps_sim_add_poller(sim, poll_fn, &once)) == 0 && added < 10000)
        added++;
    CHECK_EQ(rc, -ENOSPC);
    /* A removed poller's slot is free again and it is no longer called. */
    ps_sim_remove_poller(sim, poll_fn, &every100);
    ps_sim_remove_poller(sim, poll_fn, &every100); /* absent: no-op */
    CHECK_EQ(ps_sim_add_poller(sim, poll_fn, &once), 0);
    CHECK_EQ(ps_sim_add_poller(sim, poll_fn, &once), -ENOSPC);
    ps_sim_run_until(sim, 3000);
    CHECK_EQ(every100.calls, 11);
    ps_sim_free(sim);
}

/* A poller that removes itself on its third call and adds `next`. */
struct self_remover {
    struct ps_sim *sim;
    unsigned calls;
    struct poller_state *next;
};

static ps_time_t self_remove_fn(void *ctx, ps_time_t now)
{
    struct self_remover *r = ctx;
    if (++r->calls == 3) {
        ps_sim_remove_poller(r->sim, self_remove_fn, r);
        CHECK_EQ(ps_sim_add_poller(r->sim, poll_fn, r->next), 0); /* reuses the slot */
        return now; /* must not be applied to the new poller */
    }
    return now + 10;
}

TEST(poller_removes_itself)
{
    struct ps_sim *sim = ps_sim_new(15, 0);
    REQUIRE(sim != NULL);
    struct poller_state next = {.step = 1000};
    struct self_remover r = {.sim = sim, .next = &next};
    REQUIRE(ps_sim_add_poller(sim, self_remove_fn, &r) == 0);
    ps_sim_run_until(sim, 5000);
    CHECK_EQ(r.calls, 3);          /* at 0, 10, 20 */
    CHECK_U64(next.first, 20);     /* first called when added */
    CHECK_EQ(next.calls, 5);       /* 20, 1020, ..., 4020 */
    CHECK_U64(next.last, 4020);
    ps_sim_free(sim);
}

/* An application poller acting at time T: the stack it calls works with the
 * world's time, not the time of its own last event. */
TEST(poller_drives_stack)
{
    struct ps_sim *sim = ps_sim_new(12, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = 40};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    static_arp(&a, &b);
    ps_sim_run_until(sim, PS_MS(5));

    struct poller_state app = {.step = PS_TIME_NEVER, .a = &a, .b = &b};
    REQUIRE(ps_sim_add_poller(sim, poll_fn, &app) == 0);
    ps_sim_run_for(sim, PS_MS(1));
    CHECK_EQ(app.calls, 1);
    CHECK_U64(app.first, PS_MS(5));
    REQUIRE(a.log->n >= 2);
    CHECK_U64(a.log->r[0].t, PS_MS(5)); /* the request */
    CHECK_U64(a.echo->t[0], PS_MS(5) + 80);

    /* The same from outside the run loop, after the clock moved. */
    ps_sim_run_until(sim, PS_MS(50));
    CHECK_EQ(ps_icmp_echo_request(a.s, b.ip, 1, 2, 0, NULL, 8), 0);
    CHECK_U64(a.log->r[a.log->n - 1].t, PS_MS(50));

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

static bool got_reply(void *ctx)
{
    const struct host *h = ctx;
    return h->echo->replies > 0;
}

static bool never(void *ctx)
{
    return false;
}

TEST(run_while_not)
{
    struct ps_sim *sim = ps_sim_new(13, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = 300};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    static_arp(&a, &b);

    CHECK_EQ(ps_icmp_echo_request(a.s, b.ip, 1, 1, 0, NULL, 8), 0);
    CHECK(ps_sim_run_while_not(sim, got_reply, &a, PS_SEC(10)));
    CHECK_U64(ps_sim_now(sim), 600); /* stopped at the reply */
    CHECK(!ps_sim_run_while_not(sim, never, NULL, PS_SEC(10)));
    CHECK_U64(ps_sim_now(sim), PS_SEC(10));

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

/* New impairments apply to frames sent from then on, not to those in flight. */
TEST(set_impair)
{
    struct ps_sim *sim = ps_sim_new(14, 0);
    REQUIRE(sim != NULL);
    struct ps_sim_impair imp = {.delay = PS_MS(10)};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    REQUIRE(l != NULL);
    struct host a, b;
    host_init(&a, sim, l, "a", 1);
    host_init(&b, sim, l, "b", 2);
    static_arp(&a, &b);

    CHECK_EQ(ps_icmp_echo_request(a.s, b.ip, 1, 1, 0, NULL, 8), 0);
    struct ps_sim_impair dead = {.loss = 1.0};
    ps_sim_link_set_impair(l, &dead);
    ps_sim_run_for(sim, PS_SEC(1));
    const struct ps_sim_link_stats *st = ps_sim_link_stats(l);
    CHECK_EQ(ps_stack_stats(b.s)->icmp_echo_rx, 1); /* arrived... */
    CHECK_EQ(a.echo->replies, 0);                   /* ...its reply did not */
    CHECK_U64(st->frames_lost, 1);

    ps_sim_link_set_impair(l, NULL); /* perfect again */
    CHECK_EQ(ps_icmp_echo_request(a.s, b.ip, 1, 2, 0, NULL, 8), 0);
    ps_sim_run_for(sim, PS_SEC(1));
    CHECK_EQ(a.echo->replies, 1);

    host_free(&a);
    host_free(&b);
    ps_sim_free(sim);
}

int main(void)
{
    RUN(clock);
    RUN(delivery_timing);
    RUN(broadcast_segment);
    RUN(made_up_macs);
    RUN(loss);
    RUN(duplicate);
    RUN(corrupt);
    RUN(queue_limit);
    RUN(inflight_bound);
    RUN(reorder);
    RUN(jitter);
    RUN(determinism);
    RUN(stack_timers);
    RUN(pollers);
    RUN(poller_removes_itself);
    RUN(poller_drives_stack);
    RUN(run_while_not);
    RUN(set_impair);
    TEST_END();
}
