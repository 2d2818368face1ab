/*
 * bench/bench_core.c - in-process microbenchmarks of portstack's hot paths.
 *
 * Everything runs in this process against the public API: no device, no
 * syscall in the measured loops.  Each benchmark is calibrated to run for
 * about --time seconds (default 0.2), repeated --repeat times (default 5),
 * and the median run is reported as ns/op and a rate.  The stack itself
 * never reads a clock; the benchmark reads CLOCK_MONOTONIC around the
 * loops and passes a synthetic, steadily advancing time into the stack.
 *
 * Nothing here asserts on timings.  The packet benchmarks check that the
 * stack did the work (one echo reply per request, three reply fragments
 * per reassembled 4000-byte ping) and exit non-zero if it did not, so a
 * fast number can never come from a path that silently dropped packets.
 *
 *   usage: bench_core [--time SEC] [--repeat N]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <portstack/net.h>
#include <portstack/pbuf.h>
#include <portstack/siphash.h>
#include <portstack/stack.h>
#include <portstack/stats.h>
#include <portstack/wire.h>

#include "bench_harness.h"

/* Addresses from RFC 5737, locally administered MACs. */
#define IP_US PS_IP4(192, 0, 2, 1)
#define IP_PEER PS_IP4(192, 0, 2, 2)
static const ps_mac_t mac_us = {{0x02, 0, 0, 0, 0, 0x01}};
static const ps_mac_t mac_peer = {{0x02, 0, 0, 0, 0, 0x02}};

#define T0 PS_SEC(100)
#define MAX_REPEAT BENCH_MAX_REPEAT

static double run_seconds = 0.2;
static unsigned repeats = 5;

/* Results are stored here so the compiler cannot drop the work. */
static volatile uint64_t sink;


/* ---- the harness ----------------------------------------------------------- */


enum rate_unit { RATE_OPS, RATE_BYTES, RATE_FRAMES, RATE_DATAGRAMS };

struct result {
    const char *name;
    uint64_t iters;  /* per run */
    double ns_op;    /* median over the runs */
    double ns_min, ns_max;
    double rate;     /* per second, in `unit` */
    enum rate_unit unit;
};


/* Calibrate the iteration count to about run_seconds, then run `repeats`
 * times and keep the median.  bytes_per_op (for GB/s) or frames_per_op
 * scale the rate. */
static struct result measure(const char *name, bench_fn fn, void *ctx, enum rate_unit unit, double per_op)
{
    struct bench_timing t = bench_measure(fn, ctx, 16, run_seconds, repeats);
    struct result res = {.name = name, .iters = t.iters, .ns_op = t.med, .ns_min = t.min, .ns_max = t.max,
                         .unit = unit};
    res.rate = per_op * 1e9 / res.ns_op;
    return res;
}

static void print_header(void)
{
    printf("%-44s %12s %10s %10s %10s  %s\n", "benchmark", "iterations", "ns/op", "min", "max", "rate");
    printf("%-44s %12s %10s %10s %10s  %s\n", "---------", "----------", "-----", "---", "---", "----");
}

static void print_result(const struct result *r)
{
    char rate[48];
    switch (r->unit) {
    case RATE_BYTES:
        snprintf(rate, sizeof rate, "%.2f GB/s", r->rate / 1e9);
        break;
    case RATE_FRAMES:
        snprintf(rate, sizeof rate, "%.2f M frames/s", r->rate / 1e6);
        break;
    case RATE_DATAGRAMS:
        snprintf(rate, sizeof rate, "%.3f M datagrams/s", r->rate / 1e6);
        break;
    default:
        snprintf(rate, sizeof rate, "%.2f Mops/s", r->rate / 1e6);
        break;
    }
    printf("%-44s %12" PRIu64 " %10.1f %10.1f %10.1f  %s\n", r->name, r->iters, r->ns_op, r->ns_min, r->ns_max,
           rate);
    fflush(stdout);
}

/* ---- pure functions ---------------------------------------------------------- */

struct buf_ctx {
    uint8_t data[1500];
};

static void bench_cksum(void *ctx, uint64_t iters)
{
    struct buf_ctx *c = ctx;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < iters; i++) {
        c->data[0] = (uint8_t)i; /* a dependency the compiler must honour */
        acc += ps_cksum(c->data, sizeof(c->data));
    }
    sink = acc;
}

struct sip_ctx {
    struct ps_siphash_key key;
    uint8_t data[12];
};

static void bench_siphash(void *ctx, uint64_t iters)
{
    struct sip_ctx *c = ctx;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < iters; i++) {
        c->data[0] = (uint8_t)i;
        acc ^= ps_siphash(&c->key, c->data, sizeof(c->data));
    }
    sink = acc;
}

struct ipparse_ctx {
    uint8_t hdr[84]; /* a 20-byte header and 64 bytes of payload */
};

static void bench_ipv4_parse(void *ctx, uint64_t iters)
{
    struct ipparse_ctx *c = ctx;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < iters; i++) {
        struct ps_ipv4_hdr h;
        int rc = ps_ipv4_parse(c->hdr, sizeof(c->hdr), &h);
        acc += (uint64_t)rc + h.total_len;
    }
    sink = acc;
}

/* ---- the stack's receive path ------------------------------------------------ */

struct stack_ctx {
    struct ps_stack *s;
    struct ps_iface *eth;
    ps_time_t now;
    uint64_t tx_frames, tx_bytes;
    uint8_t last_tx[1600];
    size_t last_len;
    uint8_t frame[3][1514]; /* the input frame(s) */
    size_t frame_len[3];
    unsigned nframes;
};

static int count_transmit(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    struct stack_ctx *c = ctx;
    (void)ifc;
    c->tx_frames++;
    c->tx_bytes += len;
    /* Keep the first bytes of the latest frame for the correctness check
     * (a bounded copy, as a driver's write would touch them anyway). */
    size_t k = len < 64 ? len : 64;
    memcpy(c->last_tx, frame, k);
    c->last_len = len;
    return 0;
}

static int stack_setup(struct stack_ctx *c)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 0x62656e6368; /* "bench": a fixed seed, the run replays */
    c->now = T0;
    c->s = ps_stack_new(&cfg, T0);
    if (!c->s)
        return -ENOMEM;
    c->eth = ps_iface_add(c->s, "eth0", &mac_us, 1500, count_transmit, c);
    if (!c->eth)
        return -ENOSPC;
    int rc = ps_iface_add_addr(c->eth, IP_US, 24);
    if (rc == 0)
        rc = ps_arp_add_static(c->s, c->eth, IP_PEER, &mac_peer);
    return rc;
}

/* Ethernet + IPv4 header for an ICMP datagram from the peer to us:
 * ip_payload bytes of the datagram starting at frag_off, MF as given. */
static size_t put_headers(uint8_t *b, uint16_t id, uint16_t frag_off, bool mf, size_t ip_payload)
{
    struct ps_eth_hdr eh = {.dst = mac_us, .src = mac_peer, .type = PS_ETHERTYPE_IPV4};
    size_t k = ps_eth_emit(b, &eh);
    struct ps_ipv4_hdr ih = {.total_len = (uint16_t)(PS_IPV4_HLEN + ip_payload), .id = id, .mf = mf,
                             .frag_off = frag_off, .ttl = 64, .proto = PS_IP_PROTO_ICMP,
                             .src = IP_PEER, .dst = IP_US};
    return k + ps_ipv4_emit(b + k, &ih);
}

/* An echo request datagram's ICMP part (header + payload) into icmp[]. */
static size_t build_echo(uint8_t *icmp, uint16_t id, uint16_t seq, size_t payload)
{
    for (size_t i = 0; i < payload; i++)
        icmp[PS_ICMP_HLEN + i] = (uint8_t)(0x10 + i);
    struct ps_icmp_hdr h = {.type = PS_ICMP_ECHO_REQUEST, .id = id, .seq = seq};
    ps_icmp_emit(icmp, &h, payload);
    return PS_ICMP_HLEN + payload;
}

static void bench_echo(void *ctx, uint64_t iters)
{
    struct stack_ctx *c = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        c->now += 1; /* one microsecond per frame */
        ps_iface_input(c->eth, c->frame[0], c->frame_len[0], c->now);
    }
}

static void bench_reasm(void *ctx, uint64_t iters)
{
    struct stack_ctx *c = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        c->now += 1;
        for (unsigned f = 0; f < c->nframes; f++)
            ps_iface_input(c->eth, c->frame[f], c->frame_len[f], c->now);
    }
}

/* The pools must be full again: every buffer went back. */
static int check_pools(struct ps_stack *s, const char *what)
{
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(s, &sf, &st, &lf, &lt);
    if (sf != st || lf != lt) {
        fprintf(stderr, "bench_core: %s: buffers not returned (small %u/%u, large %u/%u)\n", what, sf, st, lf,
                lt);
        return -1;
    }
    return 0;
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out, "usage: bench_core [--time SEC] [--repeat N]\n"
                 "  Microbenchmarks of portstack's hot paths; each is calibrated to about SEC\n"
                 "  seconds a run (default 0.2), run N times (default 5, at most %d), and the\n"
                 "  median is shown with the fastest and slowest run.\n",
            MAX_REPEAT);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
            run_seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeats = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (run_seconds <= 0 || run_seconds > 60 || repeats < 1 || repeats > MAX_REPEAT) {
        usage(stderr);
        return 2;
    }

    int status = 0;
    print_header();

    /* Internet checksum over a full 1500-byte packet. */
    static struct buf_ctx bc;
    for (size_t i = 0; i < sizeof(bc.data); i++)
        bc.data[i] = (uint8_t)(i * 7 + 3);
    struct result r = measure("ps_cksum, 1500 bytes", bench_cksum, &bc, RATE_BYTES, sizeof(bc.data));
    print_result(&r);

    /* SipHash-2-4 of 12 bytes (an address pair and a port pair). */
    static struct sip_ctx sc;
    const uint8_t key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    ps_siphash_key_from_bytes(&sc.key, key);
    for (size_t i = 0; i < sizeof(sc.data); i++)
        sc.data[i] = (uint8_t)i;
    r = measure("ps_siphash, 12 bytes", bench_siphash, &sc, RATE_OPS, 1);
    print_result(&r);

    /* IPv4 header parse and validation (checksum included). */
    static struct ipparse_ctx ic;
    struct ps_ipv4_hdr ih = {.total_len = 84, .id = 0x1234, .df = true, .ttl = 64, .proto = PS_IP_PROTO_ICMP,
                             .src = IP_PEER, .dst = IP_US};
    ps_ipv4_emit(ic.hdr, &ih);
    {
        struct ps_ipv4_hdr chk;
        if (ps_ipv4_parse(ic.hdr, sizeof(ic.hdr), &chk) != PS_IPV4_HLEN || chk.total_len != sizeof(ic.hdr)) {
            fprintf(stderr, "bench_core: the benchmark's IPv4 header does not parse\n");
            return 1;
        }
    }
    r = measure("ps_ipv4_parse, 20-byte header", bench_ipv4_parse, &ic, RATE_OPS, 1);
    print_result(&r);

    /* Receive path: an ICMP echo request frame (56 bytes of payload, 98
     * bytes on the wire) through ps_iface_input to the echo reply at the
     * transmit callback.  The peer's ARP entry is static. */
    static struct stack_ctx ec;
    if (stack_setup(&ec) != 0) {
        fprintf(stderr, "bench_core: cannot set up the stack\n");
        return 1;
    }
    {
        uint8_t *b = ec.frame[0];
        size_t k = put_headers(b, 0x4242, 0, false, PS_ICMP_HLEN + 56);
        ec.frame_len[0] = k + build_echo(b + k, 0x7001, 1, 56);
        ec.nframes = 1;
    }
    const struct ps_stats *st = ps_stack_stats(ec.s);
    uint64_t rx0 = st->icmp_echo_rx;
    bench_echo(&ec, 1);
    if (ec.tx_frames != 1 || ec.last_len != ec.frame_len[0] || ec.last_tx[PS_ETH_HLEN + PS_IPV4_HLEN] != 0 ||
        st->icmp_echo_rx != rx0 + 1) {
        fprintf(stderr, "bench_core: the echo request was not answered (tx %" PRIu64 ", len %zu)\n",
                ec.tx_frames, ec.last_len);
        return 1;
    }
    ec.tx_frames = 0;
    uint64_t echo_before = st->icmp_echo_reply_tx;
    r = measure("ICMP echo, frame in -> reply out (98 B)", bench_echo, &ec, RATE_FRAMES, 1);
    print_result(&r);
    if (ec.tx_frames != st->icmp_echo_reply_tx - echo_before || st->icmp_rate_limited != 0 ||
        st->pbuf_alloc_fail != 0) {
        fprintf(stderr, "bench_core: echo: %" PRIu64 " frames sent for %" PRIu64 " replies, %" PRIu64
                        " rate limited, %" PRIu64 " allocation failures\n",
                ec.tx_frames, st->icmp_echo_reply_tx - echo_before, st->icmp_rate_limited, st->pbuf_alloc_fail);
        status = 1;
    }
    if (check_pools(ec.s, "echo") != 0)
        status = 1;

    /* Reassembly: a 4000-byte ping (4008 bytes of ICMP) in three fragments
     * of 1480, 1480 and 1048 bytes, reassembled, answered, and the reply
     * fragmented again into three frames.  The same IP ID every time: each
     * datagram completes before the next begins. */
    {
        static uint8_t icmp[PS_ICMP_HLEN + 4000];
        size_t total = build_echo(icmp, 0x7002, 1, 4000);
        size_t off = 0;
        ec.nframes = 0;
        while (off < total) {
            size_t chunk = total - off > 1480 ? 1480 : total - off;
            bool mf = off + chunk < total;
            uint8_t *b = ec.frame[ec.nframes];
            size_t k = put_headers(b, 0x4343, (uint16_t)off, mf, chunk);
            memcpy(b + k, icmp + off, chunk);
            ec.frame_len[ec.nframes++] = k + chunk;
            off += chunk;
        }
    }
    uint64_t reasm0 = st->ip_reasm_ok, frag_tx0 = ec.tx_frames, reply0 = st->icmp_echo_reply_tx;
    bench_reasm(&ec, 1);
    if (st->ip_reasm_ok != reasm0 + 1 || st->icmp_echo_reply_tx != reply0 + 1 || ec.tx_frames != frag_tx0 + 3) {
        fprintf(stderr, "bench_core: the fragmented ping was not reassembled and answered in 3 frames\n");
        return 1;
    }
    reasm0 = st->ip_reasm_ok;
    frag_tx0 = ec.tx_frames;
    r = measure("4000-byte ping: 3 fragments in, 3 out", bench_reasm, &ec, RATE_DATAGRAMS, 1);
    print_result(&r);
    {
        uint64_t done = st->ip_reasm_ok - reasm0, frames = ec.tx_frames - frag_tx0;
        if (frames != 3 * done || st->ip_reasm_evicted != 0 || st->ip_reasm_overlap != 0) {
            fprintf(stderr, "bench_core: reassembly: %" PRIu64 " datagrams, %" PRIu64 " frames out\n", done,
                    frames);
            status = 1;
        }
    }
    if (check_pools(ec.s, "reassembly") != 0)
        status = 1;
    ps_stack_free(ec.s);

    /* Timers: the pairing heap (src/core/timer.h) is internal; the public
     * API offers no way to arm or cancel a timer directly, and the objects
     * that own timers (ARP entries, reassemblies) cannot be made to hold
     * 10,000 of them without measuring ARP or reassembly instead. */
    printf("%-44s %12s %10s %10s %10s  %s\n", "timer arm/cancel, 10,000 armed", "-", "-", "-", "-",
           "skipped: timers are not in the public API");
    printf("\n(median of %u runs of ~%.2f s each; min/max: fastest and slowest run, ns/op;\n"
           " frames/s counts request frames in, each answered by one reply frame out)\n",
           repeats, run_seconds);
    return status;
}
