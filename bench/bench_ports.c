/*
 * bench/bench_ports.c - the port system: demultiplexing and ephemeral port
 * picking, at growing scale (issue 3, "Benchmarks").
 *
 * Three groups of measurements, all in this process, no device, no syscall
 * in the measured loops:
 *
 *  demux   ps_ports_lookup() with 10, 1k, 10k and 100k connected UDP
 *          endpoints (cfg.max_sockets set to match, since the tables are
 *          sized from it).  Each endpoint is connected with
 *          ps_ports_connect() to its own peer (address, port), so the
 *          stack picks its local port (RFC 6056 Algorithm 4; past 16384
 *          endpoints ports are shared, uniqueness being per quadruple).
 *          A pre-generated list of 2^18 queries picks existing quadruples
 *          at random (the hit path), or asks for a port nobody holds (the
 *          miss path: all three probes fail), or for a wildcard listener
 *          bound to 0.0.0.0:7 (quadruple miss, specific miss, wildcard
 *          hit); successive runs go on through the list rather than
 *          repeating its start.
 *          Then the same three through the whole receive path (when UDP
 *          is wired into the stack): an Ethernet + IPv4 + UDP frame (32
 *          bytes of payload, real checksums) handed to ps_iface_input(),
 *          the datagram queued on its socket, the socket's readiness
 *          callback reading it with ps_udp_recvfrom(); a miss answers ICMP
 *          port unreachable (the ICMP rate limit is raised so that every
 *          miss does, as in lwIP, which has no limit).
 *          With 100k endpoints the endpoints (112-byte UDP blocks, 11 MB)
 *          and the hash arrays (2 MB each) are larger than the caches, so
 *          a random flow costs cache and TLB misses that 10 endpoints never
 *          see; the "16 hot flows" row looks up 16 endpoints spread over
 *          the same tables, which separates the algorithm's cost from the
 *          memory's.  The set-up row is the one cold pass connecting the N
 *          endpoints (page faults included).
 *  pick    bind(port 0): ps_ports_bind(ep, 0.0.0.0, 0) then
 *          ps_ports_unbind() (occupancy stays constant), with 0, 50, 90 and
 *          99% of the ephemeral range (49152-65535, 16384 ports) held by
 *          endpoints bound to random ports of it; and at 100%, the failing
 *          pick (EADDRNOTAVAIL).  The same for connect() of an unbound
 *          endpoint (ps_ports_connect to a random peer, then unbind).
 *  ratios  demux at 100k / at 10 (target <= 1.5x) and pick at 99% / at 0%
 *          (target <= 3x), printed as "target met" / "target missed".
 *
 * Each measurement is calibrated to about --time seconds a run and run
 * --repeat times; the tables show the median run in ns per operation.
 * Nothing asserts on a timing: the program exits 0 whatever the numbers.
 * It checks that the work was done (every hit found the right endpoint,
 * every datagram reached its socket, every miss sent its ICMP error, every
 * pick succeeded or, at 100%, failed) and exits 1 if not, so a fast number
 * never comes from a path that silently did nothing.
 *
 * bench/lwip_ports.c measures the same on lwIP 2.1; bench/run.sh puts the
 * two side by side (--tsv writes the machine-readable rows it reads).
 *
 *   usage: bench_ports [--time SEC] [--repeat N] [--max N] [--tsv FILE]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <portstack/net.h>
#include <portstack/pbuf.h>
#include <portstack/stack.h>
#include <portstack/stats.h>
#include <portstack/wire.h>

#include "transport/ports.h"
#include "transport/udp.h"

#include "bench_harness.h"

/* Addresses from RFC 5737; the peers sit behind a gateway. */
#define IP_US PS_IP4(192, 0, 2, 1)
#define IP_GW PS_IP4(192, 0, 2, 254)
static const ps_mac_t mac_us = {{0x02, 0, 0, 0, 0, 0x01}};
static const ps_mac_t mac_gw = {{0x02, 0, 0, 0, 0, 0xfe}};

#define PORT_WILD 7   /* the wildcard listener (echo) */
#define PORT_NOBODY 9 /* nobody listens here: the miss path */
#define PAYLOAD 32
#define NQUERY (1u << 18)
#define NPEER_PICK 4096
#define NHOT 16 /* flows of the hot-set measurement */
#define EPH_LO 49152u
#define EPH_N 16384u
#define T0 PS_SEC(100)
#define MAX_REPEAT BENCH_MAX_REPEAT

static double run_seconds = 0.2;
static unsigned repeats = 5;
static volatile uint64_t sink;


/* splitmix64: the benchmark's own reproducible randomness. */
static uint64_t rng_state = 0x706f727473ULL;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- the harness --------------------------------------------------------------- */


struct result {
    double med, min, max; /* ns per operation */
    uint64_t iters;       /* per run */
    bool valid;
};


/* Calibrate to about run_seconds a run (from one iteration up, so that a
 * slow operation is not run needlessly often), then `repeats` runs; the
 * median, fastest and slowest. */
static struct result measure(bench_fn fn, void *ctx)
{
    struct bench_timing t = bench_measure(fn, ctx, 1, run_seconds, repeats);
    struct result res = {.med = t.med, .min = t.min, .max = t.max, .iters = t.iters, .valid = true};
    return res;
}

static FILE *tsv;

static void tsv_row(const char *key, const struct result *r)
{
    if (tsv && r->valid)
        fprintf(tsv, "%s\t%.1f\t%.1f\t%.1f\t%" PRIu64 "\n", key, r->med, r->min, r->max, r->iters);
}

static void fmt_ns(char *buf, size_t n, const struct result *r)
{
    if (!r->valid)
        snprintf(buf, n, "-");
    else if (r->med >= 1e6)
        snprintf(buf, n, "%.2f ms", r->med / 1e6);
    else if (r->med >= 1e4)
        snprintf(buf, n, "%.1f us", r->med / 1e3);
    else
        snprintf(buf, n, "%.1f", r->med);
}

/* ---- demultiplexing -------------------------------------------------------------- */

/* A query, and the bytes that change in the frame for it (checksums
 * precomputed, so the loop patches 16 bytes and copies the frame). */
struct query {
    ps_ip4_t src, dst;
    uint16_t sport, dport;
    uint16_t ip_cksum, udp_cksum; /* as on the wire (big-endian bytes) */
};

struct demux {
    struct ps_stack *s;
    struct ps_iface *eth;
    unsigned n;
    struct ps_udp_pcb *pcbs, lis;
    struct query *hit, *miss, *wild, *hot;
    const struct query *cur; /* the query list a run uses */
    uint64_t qpos;           /* the next query: runs go on through the list */
    double setup_ns;         /* ps_ports_connect of all n endpoints */
    ps_time_t now;
    uint8_t frame[14 + 20 + 8 + PAYLOAD];
    uint8_t rxbuf[64];
    uint64_t delivered, tx_frames;
};

static ps_ip4_t peer_addr(unsigned i)
{
    unsigned k = i % 508;
    return k < 254 ? PS_IP4(198, 51, 100, 1 + k) : PS_IP4(203, 0, 113, 1 + (k - 254));
}

static uint16_t peer_port(unsigned i)
{
    return (uint16_t)(1024 + i / 508);
}

static int count_tx(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    struct demux *d = ctx;
    (void)ifc;
    (void)frame;
    (void)len;
    d->tx_frames++;
    return 0;
}

/* The socket's readiness callback: read the datagram, as an event loop
 * would. */
static struct demux *event_demux;
static void on_readable(struct ps_stack *s, void *ctx)
{
    struct ps_udp_pcb *pcb = ctx;
    ssize_t n = ps_udp_recvfrom(s, pcb, event_demux->rxbuf, sizeof(event_demux->rxbuf), 0, NULL);
    if (n == PAYLOAD)
        event_demux->delivered++;
}

/* Fill in a query's frame bytes through the wire emitters, keeping the
 * checksums they computed. */
static void make_query(struct demux *d, struct query *q, ps_ip4_t src, uint16_t sport, uint16_t dport)
{
    uint8_t *f = d->frame;
    q->src = src;
    q->dst = IP_US;
    q->sport = sport;
    q->dport = dport;
    struct ps_ipv4_hdr ih = {.total_len = 20 + 8 + PAYLOAD, .ttl = 64, .proto = PS_IP_PROTO_UDP, .src = src,
                             .dst = IP_US};
    ps_ipv4_emit(f + 14, &ih);
    struct ps_udp_hdr uh = {.sport = sport, .dport = dport};
    ps_udp_emit(f + 34, &uh, src, IP_US, PAYLOAD);
    memcpy(&q->ip_cksum, f + 14 + 10, 2);
    memcpy(&q->udp_cksum, f + 34 + 6, 2);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void patch_frame(uint8_t *f, const struct query *q)
{
    put_be32(f + 14 + 12, q->src);
    memcpy(f + 14 + 10, &q->ip_cksum, 2);
    put_be16(f + 34, q->sport);
    put_be16(f + 36, q->dport);
    memcpy(f + 34 + 6, &q->udp_cksum, 2);
}

static void demux_free(struct demux *d)
{
    if (d->s) {
        for (unsigned i = 0; i < d->n; i++)
            ps_udp_pcb_close(d->s, &d->pcbs[i]);
        ps_udp_pcb_close(d->s, &d->lis);
        ps_stack_free(d->s);
    }
    free(d->pcbs);
    free(d->hit);
    free(d->miss);
    free(d->wild);
    free(d->hot);
    memset(d, 0, sizeof(*d));
}

static int demux_setup(struct demux *d, unsigned n)
{
    memset(d, 0, sizeof(*d));
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 0x62656e6368706f72ULL;
    cfg.max_sockets = n + 16; /* the endpoints, the listener, room to spare */
    cfg.icmp_rate = 4000000;  /* 4 tokens per simulated microsecond: every miss is answered */
    cfg.icmp_burst = 1000;
    d->n = n;
    d->now = T0;
    d->s = ps_stack_new(&cfg, T0);
    d->pcbs = calloc(n, sizeof(*d->pcbs));
    d->hit = malloc(NQUERY * sizeof(*d->hit));
    d->miss = malloc(NQUERY * sizeof(*d->miss));
    d->wild = malloc(NQUERY * sizeof(*d->wild));
    d->hot = malloc(NQUERY * sizeof(*d->hot));
    if (!d->s || !d->pcbs || !d->hit || !d->miss || !d->wild || !d->hot)
        return -ENOMEM;
    d->eth = ps_iface_add(d->s, "eth0", &mac_us, 1500, count_tx, d);
    if (!d->eth)
        return -ENOSPC;
    int rc = ps_iface_add_addr(d->eth, IP_US, 24);
    if (rc == 0)
        rc = ps_route_add(d->s, 0, 0, IP_GW, d->eth);
    if (rc == 0)
        rc = ps_arp_add_static(d->s, d->eth, IP_GW, &mac_gw);
    if (rc != 0)
        return rc;
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++) {
        struct ps_udp_pcb *pcb = &d->pcbs[i];
        ps_udp_pcb_init(d->s, pcb);
        rc = ps_ports_connect(d->s, &pcb->ep, IP_US, peer_addr(i), peer_port(i));
        if (rc != 0)
            return rc;
        pcb->event = on_readable;
        pcb->event_ctx = pcb;
    }
    d->setup_ns = (double)(now_ns() - t0);
    ps_udp_pcb_init(d->s, &d->lis);
    rc = ps_ports_bind(d->s, &d->lis.ep, 0, PORT_WILD);
    if (rc != 0)
        return rc;
    d->lis.event = on_readable;
    d->lis.event_ctx = &d->lis;
    /* The frame template: Ethernet from the gateway, IPv4, UDP, payload. */
    struct ps_eth_hdr eh = {.dst = mac_us, .src = mac_gw, .type = PS_ETHERTYPE_IPV4};
    ps_eth_emit(d->frame, &eh);
    for (unsigned i = 0; i < PAYLOAD; i++)
        d->frame[14 + 20 + 8 + i] = (uint8_t)(0x40 + i);
    for (unsigned i = 0; i < NQUERY; i++) {
        unsigned k = (unsigned)(rnd() % n);
        make_query(d, &d->hit[i], d->pcbs[k].ep.raddr, d->pcbs[k].ep.rport, d->pcbs[k].ep.lport);
        k = (unsigned)(rnd() % n);
        uint16_t sport = (uint16_t)(1024 + rnd() % 60000);
        make_query(d, &d->miss[i], peer_addr(k), sport, PORT_NOBODY);
        make_query(d, &d->wild[i], peer_addr(k), sport, PORT_WILD);
    }
    /* The hot set: NHOT endpoints spread over the table, queried in turn. */
    unsigned hot[NHOT];
    for (unsigned h = 0; h < NHOT; h++)
        hot[h] = (unsigned)(rnd() % n);
    for (unsigned i = 0; i < NQUERY; i++) {
        const struct ps_endpoint *e = &d->pcbs[hot[rnd() % NHOT]].ep;
        make_query(d, &d->hot[i], e->raddr, e->rport, e->lport);
    }
    /* Every hit query finds its endpoint, every miss none, every wildcard
     * query the listener. */
    for (unsigned i = 0; i < NQUERY; i++) {
        const struct query *q = &d->hit[i];
        struct ps_endpoint *e = ps_ports_lookup(d->s, PS_IP_PROTO_UDP, q->src, q->sport, q->dst, q->dport);
        if (!e || e->raddr != q->src || e->rport != q->sport || e->lport != q->dport || e == &d->lis.ep)
            return -EPROTO;
        q = &d->hot[i];
        e = ps_ports_lookup(d->s, PS_IP_PROTO_UDP, q->src, q->sport, q->dst, q->dport);
        if (!e || e->raddr != q->src || e->rport != q->sport || e->lport != q->dport)
            return -EPROTO;
        q = &d->miss[i];
        if (ps_ports_lookup(d->s, PS_IP_PROTO_UDP, q->src, q->sport, q->dst, q->dport))
            return -EPROTO;
        q = &d->wild[i];
        if (ps_ports_lookup(d->s, PS_IP_PROTO_UDP, q->src, q->sport, q->dst, q->dport) != &d->lis.ep)
            return -EPROTO;
    }
    return 0;
}

static void bench_lookup(void *ctx, uint64_t iters)
{
    struct demux *d = ctx;
    const struct query *qs = d->cur;
    uintptr_t acc = 0;
    for (uint64_t i = 0; i < iters; i++) {
        const struct query *q = &qs[d->qpos++ & (NQUERY - 1)];
        acc += (uintptr_t)ps_ports_lookup(d->s, PS_IP_PROTO_UDP, q->src, q->sport, q->dst, q->dport);
    }
    sink = acc;
}

static void bench_input(void *ctx, uint64_t iters)
{
    struct demux *d = ctx;
    const struct query *qs = d->cur;
    for (uint64_t i = 0; i < iters; i++) {
        patch_frame(d->frame, &qs[d->qpos++ & (NQUERY - 1)]);
        d->now += 1; /* a microsecond per frame */
        ps_iface_input(d->eth, d->frame, sizeof(d->frame), d->now);
    }
}

/* Does a datagram through ps_iface_input reach a UDP socket in this build
 * (is UDP wired into the stack's receive path)? */
static bool udp_input_works(struct demux *d)
{
    uint64_t before = d->delivered;
    d->cur = d->hit;
    bench_input(d, 1);
    return d->delivered == before + 1;
}

/* ---- a memory reference --------------------------------------------------------- */

/* A pointer chase through one random cycle over `n` slots (Sattolo): each
 * read depends on the last, as the bucket -> endpoint reads of a lookup
 * do.  What one cache or TLB miss costs on this machine. */
struct chase {
    uint32_t *next;
    uint32_t pos;
};

static void bench_chase(void *ctx, uint64_t iters)
{
    struct chase *c = ctx;
    uint32_t p = c->pos;
    for (uint64_t i = 0; i < iters; i++)
        p = c->next[p];
    c->pos = p;
    sink = p;
}

static struct result memory_reference(size_t bytes)
{
    struct chase c = {.next = malloc(bytes), .pos = 0};
    struct result r = {.valid = false};
    if (!c.next)
        return r;
    uint32_t n = (uint32_t)(bytes / sizeof(uint32_t));
    for (uint32_t i = 0; i < n; i++)
        c.next[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(rnd() % i);
        uint32_t t = c.next[i];
        c.next[i] = c.next[j];
        c.next[j] = t;
    }
    r = measure(bench_chase, &c);
    free(c.next);
    return r;
}

/* ---- ephemeral picks -------------------------------------------------------------- */

struct pick {
    struct ps_stack *s;
    struct ps_endpoint *occ; /* EPH_N endpoints holding ports */
    uint16_t order[EPH_N];   /* the ports of the range, shuffled */
    unsigned held;           /* how many of them are bound */
    struct ps_endpoint ep;   /* the one that picks */
    ps_ip4_t peer[NPEER_PICK];
    uint16_t peer_port[NPEER_PICK];
    uint64_t ok, fail, bad; /* bad: an error other than EADDRNOTAVAIL */
};

static void bench_pick_bind(void *ctx, uint64_t iters)
{
    struct pick *p = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        int rc = ps_ports_bind(p->s, &p->ep, 0, 0);
        if (rc == 0) {
            p->ok++;
            ps_ports_unbind(p->s, &p->ep);
        } else if (rc == -EADDRNOTAVAIL) {
            p->fail++;
        } else {
            p->bad++;
        }
    }
}

static void bench_pick_connect(void *ctx, uint64_t iters)
{
    struct pick *p = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        unsigned k = (unsigned)(i & (NPEER_PICK - 1));
        int rc = ps_ports_connect(p->s, &p->ep, IP_US, p->peer[k], p->peer_port[k]);
        if (rc == 0) {
            p->ok++;
            ps_ports_unbind(p->s, &p->ep);
        } else if (rc == -EADDRNOTAVAIL) {
            p->fail++;
        } else {
            p->bad++;
        }
    }
}

/* Bind endpoints to the shuffled ports until `want` are held. */
static int occupy(struct pick *p, unsigned want)
{
    while (p->held < want) {
        struct ps_endpoint *e = &p->occ[p->held];
        memset(e, 0, sizeof(*e));
        e->proto = PS_IP_PROTO_UDP;
        int rc = ps_ports_bind(p->s, e, 0, p->order[p->held]);
        if (rc != 0)
            return rc;
        p->held++;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench_ports [--time SEC] [--repeat N] [--max N] [--tsv FILE]\n"
            "  The port system's costs: demultiplexing with 10, 1k, 10k and 100k\n"
            "  connected UDP endpoints (up to --max, default 100000), and ephemeral port\n"
            "  picks at 0/50/90/99/100%% occupancy.  Each measurement is calibrated to\n"
            "  about SEC seconds a run (default 0.2), run N times (default 5, at most %d);\n"
            "  the median run is shown.  --tsv also writes key, median, min, max (ns) and\n"
            "  iterations per run, one row per measurement, for bench/run.sh.\n",
            MAX_REPEAT);
}

static const unsigned sizes[] = {10, 1000, 10000, 100000};
static const char *const size_names[] = {"10", "1k", "10k", "100k"};
#define NSIZES 4
static const unsigned occ_pct[] = {0, 50, 90, 99, 100};
#define NOCC 5

int main(int argc, char **argv)
{
    unsigned max_n = 100000;
    const char *tsv_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
            run_seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeats = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) {
            max_n = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--tsv") == 0 && i + 1 < argc) {
            tsv_path = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (run_seconds <= 0 || run_seconds > 60 || repeats < 1 || repeats > MAX_REPEAT || max_n < 10) {
        usage(stderr);
        return 2;
    }
    if (tsv_path) {
        tsv = fopen(tsv_path, "w");
        if (!tsv) {
            fprintf(stderr, "bench_ports: cannot write %s: %s\n", tsv_path, strerror(errno));
            return 2;
        }
    }
    int status = 0;
    printf("portstack port system (median of %u runs of ~%.2f s; ns per operation)\n\n", repeats, run_seconds);

    /* ---- demux ---- */
    enum { R_LOOKUP_HIT, R_LOOKUP_MISS, R_LOOKUP_WILD, R_INPUT_HIT, R_INPUT_MISS, R_INPUT_WILD, R_LOOKUP_HOT,
           NROWS };
    static const char *const row_name[NROWS] = {
        "ps_ports_lookup: connected, hit", "ps_ports_lookup: miss (no endpoint)",
        "ps_ports_lookup: wildcard listener", "full input path: connected, hit",
        "full input path: miss (ICMP unreach)", "full input path: wildcard listener",
        "ps_ports_lookup: hit, 16 hot flows"};
    static const char *const row_key[NROWS] = {"lookup.hit", "lookup.miss", "lookup.wild", "input.hit",
                                               "input.miss", "input.wild",  "lookup.hot"};
    struct result dm[NROWS][NSIZES];
    memset(dm, 0, sizeof(dm));
    struct result setup[NSIZES];
    memset(setup, 0, sizeof(setup));
    bool have_input = true;
    unsigned nsizes = 0;
    for (unsigned z = 0; z < NSIZES && sizes[z] <= max_n; z++) {
        static struct demux d;
        nsizes = z + 1;
        fprintf(stderr, "bench_ports: demux with %s endpoints...\n", size_names[z]);
        int rc = demux_setup(&d, sizes[z]);
        if (rc != 0) {
            fprintf(stderr, "bench_ports: cannot set up %u connected endpoints: %s\n", sizes[z], strerror(-rc));
            return 1;
        }
        event_demux = &d;
        double each = d.setup_ns / sizes[z];
        setup[z] = (struct result){.med = each, .min = each, .max = each, .iters = sizes[z], .valid = true};
        const struct query *lists[3] = {d.hit, d.miss, d.wild};
        for (unsigned r = 0; r < 3; r++) {
            d.cur = lists[r];
            dm[R_LOOKUP_HIT + r][z] = measure(bench_lookup, &d);
        }
        d.cur = d.hot;
        dm[R_LOOKUP_HOT][z] = measure(bench_lookup, &d);
        if (z == 0)
            have_input = udp_input_works(&d);
        if (have_input) {
            const struct ps_stats *st = ps_stack_stats(d.s);
            for (unsigned r = 0; r < 3; r++) {
                uint64_t rx0 = st->udp_rx, del0 = d.delivered, tx0 = d.tx_frames, noport0 = st->udp_drop_no_port;
                d.cur = lists[r];
                dm[R_INPUT_HIT + r][z] = measure(bench_input, &d);
                uint64_t frames = st->udp_rx - rx0;
                bool ok = frames > 0 && st->udp_drop_checksum == 0 && st->udp_drop_malformed == 0 &&
                          st->udp_drop_rcvbuf == 0;
                if (r == 1) /* a miss: no delivery, one ICMP error each */
                    ok = ok && d.delivered == del0 && d.tx_frames - tx0 == frames &&
                         st->udp_drop_no_port - noport0 == frames;
                else
                    ok = ok && d.delivered - del0 == frames && d.tx_frames == tx0;
                if (!ok) {
                    fprintf(stderr,
                            "bench_ports: %s, %s endpoints: %" PRIu64 " datagrams in, %" PRIu64
                            " delivered, %" PRIu64 " frames out\n",
                            row_name[R_INPUT_HIT + r], size_names[z], frames, d.delivered - del0,
                            d.tx_frames - tx0);
                    status = 1;
                }
            }
            unsigned sf, stot, lf, lt;
            ps_pbuf_pool_usage(d.s, &sf, &stot, &lf, &lt);
            if (sf != stot || lf != lt) {
                fprintf(stderr, "bench_ports: buffers not returned (small %u/%u, large %u/%u)\n", sf, stot, lf, lt);
                status = 1;
            }
        }
        demux_free(&d);
    }
    printf("%-40s", "demux, ns per datagram   endpoints:");
    for (unsigned z = 0; z < nsizes; z++)
        printf(" %10s", size_names[z]);
    printf("\n");
    static const unsigned shown[NROWS] = {R_LOOKUP_HIT, R_LOOKUP_HOT, R_LOOKUP_MISS, R_LOOKUP_WILD,
                                          R_INPUT_HIT,  R_INPUT_MISS, R_INPUT_WILD};
    for (unsigned i = 0; i < NROWS; i++) {
        unsigned r = shown[i];
        printf("%-40s", row_name[r]);
        for (unsigned z = 0; z < nsizes; z++) {
            char b[32];
            fmt_ns(b, sizeof b, &dm[r][z]);
            printf(" %10s", b);
            char key[64];
            snprintf(key, sizeof key, "demux.%s.%u", row_key[r], sizes[z]);
            tsv_row(key, &dm[r][z]);
        }
        printf("\n");
    }
    printf("%-40s", "set-up: ps_ports_connect, each (1 pass)");
    for (unsigned z = 0; z < nsizes; z++) {
        char b[32], key[64];
        fmt_ns(b, sizeof b, &setup[z]);
        printf(" %10s", b);
        snprintf(key, sizeof key, "demux.setup.%u", sizes[z]);
        tsv_row(key, &setup[z]);
    }
    printf("\n");
    {
        struct result small = memory_reference(16u << 10), big = memory_reference(16u << 20);
        printf("memory reference: one dependent random read in 16 KB: %.1f ns, in 16 MB: %.1f ns\n", small.med,
               big.med);
        tsv_row("ref.chase.16k", &small);
        tsv_row("ref.chase.16m", &big);
    }
    if (!have_input)
        printf("(full input path skipped: a datagram handed to ps_iface_input did not reach its UDP socket\n"
               " in this build - UDP is not wired into the receive path yet)\n");

    /* ---- picks ---- */
    static struct pick pk;
    {
        struct ps_config cfg;
        ps_config_default(&cfg);
        cfg.seed = 0x7069636b ^ 0x62656e6368ULL;
        cfg.max_sockets = EPH_N + 64;
        pk.s = ps_stack_new(&cfg, T0);
        pk.occ = calloc(EPH_N, sizeof(*pk.occ));
        if (!pk.s || !pk.occ) {
            fprintf(stderr, "bench_ports: out of memory\n");
            return 1;
        }
        uint16_t lo, hi;
        ps_ports_get_range(pk.s, &lo, &hi);
        if (lo != EPH_LO || hi != EPH_LO + EPH_N - 1) {
            fprintf(stderr, "bench_ports: the ephemeral range is %u-%u, not 49152-65535\n", lo, hi);
            return 1;
        }
        for (unsigned i = 0; i < EPH_N; i++)
            pk.order[i] = (uint16_t)(EPH_LO + i);
        for (unsigned i = EPH_N - 1; i > 0; i--) {
            unsigned j = (unsigned)(rnd() % (i + 1));
            uint16_t t = pk.order[i];
            pk.order[i] = pk.order[j];
            pk.order[j] = t;
        }
        for (unsigned i = 0; i < NPEER_PICK; i++) {
            pk.peer[i] = peer_addr((unsigned)(rnd() % 100000));
            pk.peer_port[i] = (uint16_t)(1024 + rnd() % 60000);
        }
        pk.ep.proto = PS_IP_PROTO_UDP;
    }
    struct result pick_bind[NOCC], pick_conn[NOCC];
    fprintf(stderr, "bench_ports: ephemeral picks...\n");
    for (unsigned o = 0; o < NOCC; o++) {
        unsigned want = occ_pct[o] == 100 ? EPH_N : (unsigned)((uint64_t)EPH_N * occ_pct[o] / 100);
        int rc = occupy(&pk, want);
        if (rc != 0) {
            fprintf(stderr, "bench_ports: cannot occupy %u%% of the range: %s\n", occ_pct[o], strerror(-rc));
            return 1;
        }
        bool full = occ_pct[o] == 100;
        pk.ok = pk.fail = pk.bad = 0;
        pick_bind[o] = measure(bench_pick_bind, &pk);
        if (pk.bad || (full ? pk.ok != 0 : pk.fail != 0)) {
            fprintf(stderr, "bench_ports: bind(0) at %u%%: %" PRIu64 " ok, %" PRIu64 " EADDRNOTAVAIL, %" PRIu64
                            " other errors\n", occ_pct[o], pk.ok, pk.fail, pk.bad);
            status = 1;
        }
        pk.ok = pk.fail = pk.bad = 0;
        pick_conn[o] = measure(bench_pick_connect, &pk);
        if (pk.bad || (full ? pk.ok != 0 : pk.fail != 0)) {
            fprintf(stderr, "bench_ports: connect() at %u%%: %" PRIu64 " ok, %" PRIu64 " EADDRNOTAVAIL, %" PRIu64
                            " other errors\n", occ_pct[o], pk.ok, pk.fail, pk.bad);
            status = 1;
        }
        if (ps_ports_in_use(pk.s, PS_IP_PROTO_UDP) != pk.held) {
            fprintf(stderr, "bench_ports: %u endpoints hold ports, expected %u\n",
                    ps_ports_in_use(pk.s, PS_IP_PROTO_UDP), pk.held);
            status = 1;
        }
    }
    printf("\n%-40s", "ephemeral pick, ns   range occupied:");
    for (unsigned o = 0; o < NOCC; o++) {
        char h[16];
        snprintf(h, sizeof h, "%u%%%s", occ_pct[o], occ_pct[o] == 100 ? " (fail)" : "");
        printf(" %10s", h);
    }
    printf("\n");
    const struct {
        const char *name, *key;
        struct result *r;
    } prow[2] = {{"bind(port 0) + unbind", "bind", pick_bind}, {"connect() pick + unbind", "connect", pick_conn}};
    for (unsigned k = 0; k < 2; k++) {
        printf("%-40s", prow[k].name);
        for (unsigned o = 0; o < NOCC; o++) {
            char b[32], key[64];
            fmt_ns(b, sizeof b, &prow[k].r[o]);
            printf(" %10s", b);
            snprintf(key, sizeof key, "pick.%s.%u", prow[k].key, occ_pct[o]);
            tsv_row(key, &prow[k].r[o]);
        }
        printf("\n");
    }
    printf("(the range is %u ports, 49152-65535; at 100%% every pick fails with EADDRNOTAVAIL)\n", EPH_N);
    for (unsigned i = 0; i < pk.held; i++)
        ps_ports_unbind(pk.s, &pk.occ[i]);
    ps_stack_free(pk.s);
    free(pk.occ);

    /* ---- ratios ---- */
    unsigned top = nsizes - 1;
    printf("\nratios (informational; nothing asserts on them)\n");
    {
        double r = dm[R_LOOKUP_HIT][top].med / dm[R_LOOKUP_HIT][0].med;
        printf("demux (ps_ports_lookup hit) at %s / at 10 endpoints: %.2fx (target <= 1.5x): %s\n",
               size_names[top], r, r <= 1.5 ? "target met" : "target missed");
        if (tsv)
            fprintf(tsv, "ratio.demux.lookup\t%.3f\n", r);
        r = dm[R_LOOKUP_HOT][top].med / dm[R_LOOKUP_HOT][0].med;
        printf("demux (ps_ports_lookup, 16 hot flows) at %s / at 10 endpoints: %.2fx (target <= 1.5x): %s\n",
               size_names[top], r, r <= 1.5 ? "target met" : "target missed");
        if (tsv)
            fprintf(tsv, "ratio.demux.hot\t%.3f\n", r);
        if (have_input) {
            r = dm[R_INPUT_HIT][top].med / dm[R_INPUT_HIT][0].med;
            printf("demux (full input path hit) at %s / at 10 endpoints: %.2fx (target <= 1.5x): %s\n",
                   size_names[top], r, r <= 1.5 ? "target met" : "target missed");
            if (tsv)
                fprintf(tsv, "ratio.demux.input\t%.3f\n", r);
        }
        r = pick_bind[3].med / pick_bind[0].med;
        printf("bind(0) pick at 99%% / at 0%% occupancy: %.2fx (target <= 3x): %s\n", r,
               r <= 3 ? "target met" : "target missed");
        if (tsv)
            fprintf(tsv, "ratio.pick.bind\t%.3f\n", r);
        r = pick_conn[3].med / pick_conn[0].med;
        printf("connect() pick at 99%% / at 0%% occupancy: %.2fx (target <= 3x): %s\n", r,
               r <= 3 ? "target met" : "target missed");
        if (tsv)
            fprintf(tsv, "ratio.pick.connect\t%.3f\n", r);
    }
    if (top != NSIZES - 1)
        printf("(--max %u: the largest size measured was %s endpoints)\n", max_n, size_names[top]);
    if (tsv)
        fclose(tsv);
    return status;
}
