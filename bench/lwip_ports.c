/*
 * bench/lwip_ports.c - bench/bench_ports.c's measurements on lwIP 2.1
 * (Debian's liblwip-dev, 2.1.3): the cost of its ephemeral port pick and of
 * its UDP demultiplexing as the number of pcbs grows.  bench/run.sh builds
 * it with gcc directly (the portstack build never depends on lwIP):
 *
 *   gcc -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -Wshadow \
 *       -Wstrict-prototypes -Wmissing-prototypes -I/usr/include/lwip \
 *       bench/lwip_ports.c -o build/lwip_ports -llwip -lpthread
 *
 * lwIP is driven from this one thread: lwip_init() without tcpip_init()
 * (as bench/lwip_tap_echo.c --mode single; its top comment explains why
 * that works with Debian's NO_SYS=0 build).  Debian's lwipopts.h sets
 * MEMP_MEM_MALLOC and MEM_LIBC_MALLOC: every pcb and pbuf is a malloc(),
 * so MEMP_NUM_UDP_PCB (4 by default) caps nothing and 100k pcbs fit.
 *
 *  pick    udp_bind(pcb, IP_ADDR_ANY, 0) with 0, 50, 90 and 99% of lwIP's
 *          ephemeral range (UDP_LOCAL_PORT_RANGE_START..END, 0xc000-0xffff,
 *          the same 16384 ports as portstack's) held by pcbs bound to
 *          random ports of it, and at 100%, the failing pick (ERR_USE).
 *          udp_bind walks every pcb once to see whether this one is already
 *          listed, then udp_new_port() walks the list again for each
 *          candidate port, moving to the next port on any match.  After a
 *          successful pick the pcb is taken off the head of udp_pcbs again
 *          (where udp_bind put it; udp_pcbs is exported by lwIP's udp.h), so
 *          the occupancy stays constant and no allocator runs in the loop.
 *          The same for udp_connect() of an unbound pcb (it binds to port
 *          0 first), then unlinked and reset.
 *  demux   10, 1k, 10k and 100k connected pcbs, each bound (SOF_REUSEADDR,
 *          ports 49152 + i mod 16384: lwIP's own pick cannot give more than
 *          16384 pcbs a port) to 192.0.2.1 and connected to its own peer.
 *          Each datagram is a full IPv4 + UDP packet (32 bytes of payload,
 *          real checksums) copied into a fresh PBUF_RAM pbuf and handed to
 *          ip4_input(p, netif) of a dummy netif (PBUF_RAM, not PBUF_POOL:
 *          Debian's PBUF_POOL overruns its buffers, see lwip_tap_echo.c).
 *          udp_input walks udp_pcbs for a full match (moving the match to
 *          the front); the pcb's recv callback copies the payload out and
 *          frees the pbuf.  The miss path (a port nobody holds) answers
 *          ICMP port unreachable through the netif's output function (a
 *          counter); the wildcard path reaches a pcb bound to 0.0.0.0:7,
 *          found only after the whole list is walked.  The queries are the
 *          same kind as bench_ports' (2^18, pre-generated, random).
 *
 * Output, options and the --tsv rows are as bench_ports'; the row keys are
 * the same, so bench/run.sh can put the two side by side.  Nothing asserts
 * on timings; the program exits 1 only if lwIP did not do the work (a
 * datagram not delivered, a miss not answered, a pick that failed or
 * succeeded unexpectedly).
 *
 *   usage: lwip_ports [--time SEC] [--repeat N] [--max N] [--tsv FILE]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

#include "bench_harness.h"

#define PORT_WILD 7
#define PORT_NOBODY 9
#define PAYLOAD 32
#define PKT_LEN (20 + 8 + PAYLOAD)
#define NQUERY (1u << 18)
#define NPEER_PICK 4096
#define EPH_LO 0xc000u
#define EPH_N 16384u
#define MAX_REPEAT BENCH_MAX_REPEAT

static double run_seconds = 0.2;
static unsigned repeats = 5;


static uint64_t rng_state = 0x6c776970ULL;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- the harness (as bench_ports.c) ------------------------------------------------ */


struct result {
    double med, min, max;
    uint64_t iters;
    bool valid;
};


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

/* ---- packets -------------------------------------------------------------------------- */

#define IP_US_U32 0xc0000201u /* 192.0.2.1 */

static uint32_t peer_addr(unsigned i)
{
    unsigned k = i % 508;
    return k < 254 ? 0xc6336400u + 1 + k : 0xcb007100u + 1 + (k - 254); /* 198.51.100/24, 203.0.113/24 */
}

static uint16_t peer_port(unsigned i)
{
    return (uint16_t)(1024 + i / 508);
}

/* An lwIP IPv4 address from a host-order one. */
static void set_ip4(ip_addr_t *a, uint32_t host_order)
{
    memset(a, 0, sizeof(*a));
    ip4_addr_set_u32(ip_2_ip4(a), lwip_htonl(host_order));
    IP_SET_TYPE_VAL(*a, IPADDR_TYPE_V4);
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

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        acc += (uint32_t)b[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

struct query {
    uint32_t src, dst; /* host order */
    uint16_t sport, dport;
    uint8_t ip_cksum[2], udp_cksum[2];
};

/* Write the whole packet for q into pkt (the template keeps the rest) and
 * record its checksums. */
static void make_query(uint8_t *pkt, struct query *q, uint32_t src, uint16_t sport, uint16_t dport)
{
    q->src = src;
    q->dst = IP_US_U32;
    q->sport = sport;
    q->dport = dport;
    pkt[0] = 0x45;
    pkt[1] = 0;
    put_be16(pkt + 2, PKT_LEN);
    put_be16(pkt + 4, 0);
    put_be16(pkt + 6, 0);
    pkt[8] = 64;
    pkt[9] = 17; /* UDP */
    put_be16(pkt + 10, 0);
    put_be32(pkt + 12, src);
    put_be32(pkt + 16, IP_US_U32);
    put_be16(pkt + 10, fold(sum16(pkt, 20, 0)));
    uint8_t *u = pkt + 20;
    put_be16(u, sport);
    put_be16(u + 2, dport);
    put_be16(u + 4, 8 + PAYLOAD);
    put_be16(u + 6, 0);
    uint32_t acc = sum16(pkt + 12, 8, 0) + 17 + 8 + PAYLOAD; /* pseudo-header */
    uint16_t c = fold(sum16(u, 8 + PAYLOAD, acc));
    put_be16(u + 6, c ? c : 0xffff);
    memcpy(q->ip_cksum, pkt + 10, 2);
    memcpy(q->udp_cksum, u + 6, 2);
}

static void patch_packet(uint8_t *pkt, const struct query *q)
{
    put_be32(pkt + 12, q->src);
    memcpy(pkt + 10, q->ip_cksum, 2);
    put_be16(pkt + 20, q->sport);
    put_be16(pkt + 22, q->dport);
    memcpy(pkt + 26, q->udp_cksum, 2);
}

/* ---- the netif ------------------------------------------------------------------------- */

static struct netif nif;
static uint64_t tx_packets; /* what lwIP sent (ICMP port unreachable) */

static err_t count_output(struct netif *n, struct pbuf *p, const ip4_addr_t *ipaddr)
{
    (void)n;
    (void)p;
    (void)ipaddr;
    tx_packets++;
    return ERR_OK;
}

static err_t null_linkoutput(struct netif *n, struct pbuf *p)
{
    (void)n;
    (void)p;
    return ERR_OK;
}

static err_t bench_netif_init(struct netif *n)
{
    n->name[0] = 'b';
    n->name[1] = 'p';
    n->output = count_output;
    n->linkoutput = null_linkoutput;
    n->mtu = 1500;
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

/* ---- demultiplexing --------------------------------------------------------------------- */

struct demux {
    unsigned n;
    struct udp_pcb **pcbs, *lis;
    struct query *hit, *miss, *wild;
    const struct query *cur;
    uint64_t qpos; /* the next query: runs go on through the list */
    double setup_ns; /* udp_new + udp_bind + udp_connect of all n */
    uint8_t pkt[PKT_LEN];
    uint8_t rxbuf[64];
    uint64_t ran, delivered, wrong, nomem;
};

static void on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
    struct demux *d = arg;
    if (pbuf_copy_partial(p, d->rxbuf, sizeof(d->rxbuf), 0) == PAYLOAD)
        d->delivered++;
    /* A connected pcb must be the datagram's peer's. */
    if ((pcb->flags & UDP_FLAGS_CONNECTED) &&
        (pcb->remote_port != port || !ip_addr_cmp(&pcb->remote_ip, addr)))
        d->wrong++;
    pbuf_free(p);
}

static void demux_free(struct demux *d)
{
    for (unsigned i = 0; i < d->n; i++)
        if (d->pcbs[i])
            udp_remove(d->pcbs[i]);
    if (d->lis)
        udp_remove(d->lis);
    free(d->pcbs);
    free(d->hit);
    free(d->miss);
    free(d->wild);
    memset(d, 0, sizeof(*d));
}

static int demux_setup(struct demux *d, unsigned n)
{
    memset(d, 0, sizeof(*d));
    d->n = n;
    d->pcbs = calloc(n, sizeof(*d->pcbs));
    d->hit = malloc(NQUERY * sizeof(*d->hit));
    d->miss = malloc(NQUERY * sizeof(*d->miss));
    d->wild = malloc(NQUERY * sizeof(*d->wild));
    if (!d->pcbs || !d->hit || !d->miss || !d->wild)
        return -ENOMEM;
    ip_addr_t us;
    IP_ADDR4(&us, 192, 0, 2, 1);
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++) {
        struct udp_pcb *pcb = udp_new();
        if (!pcb)
            return -ENOMEM;
        d->pcbs[i] = pcb;
        ip_set_option(pcb, SOF_REUSEADDR);
        uint16_t lport = (uint16_t)(EPH_LO + i % EPH_N);
        if (udp_bind(pcb, &us, lport) != ERR_OK || pcb->local_port != lport || udp_pcbs != pcb)
            return -EPROTO;
        ip_addr_t peer;
        set_ip4(&peer, peer_addr(i));
        if (udp_connect(pcb, &peer, peer_port(i)) != ERR_OK || !(pcb->flags & UDP_FLAGS_CONNECTED))
            return -EPROTO;
        udp_recv(pcb, on_recv, d);
        if (n > 10000 && (i + 1) % 20000 == 0)
            fprintf(stderr, "lwip_ports:   %u pcbs bound and connected (%.1f s)\n", i + 1,
                    (double)(now_ns() - t0) / 1e9);
    }
    d->setup_ns = (double)(now_ns() - t0);
    d->lis = udp_new();
    if (!d->lis || udp_bind(d->lis, IP_ADDR_ANY, PORT_WILD) != ERR_OK)
        return -EPROTO;
    udp_recv(d->lis, on_recv, d);
    for (unsigned i = 0; i < PAYLOAD; i++)
        d->pkt[28 + i] = (uint8_t)(0x40 + i);
    for (unsigned i = 0; i < NQUERY; i++) {
        unsigned k = (unsigned)(rnd() % n);
        make_query(d->pkt, &d->hit[i], peer_addr(k), peer_port(k), (uint16_t)(EPH_LO + k % EPH_N));
        k = (unsigned)(rnd() % n);
        uint16_t sport = (uint16_t)(1024 + rnd() % 60000);
        make_query(d->pkt, &d->miss[i], peer_addr(k), sport, PORT_NOBODY);
        make_query(d->pkt, &d->wild[i], peer_addr(k), sport, PORT_WILD);
    }
    return 0;
}

static void bench_input(void *ctx, uint64_t iters)
{
    struct demux *d = ctx;
    const struct query *qs = d->cur;
    d->ran += iters;
    for (uint64_t i = 0; i < iters; i++) {
        /* Never the same queries twice in a row: udp_input moves each
         * match to the front of the list, so a run repeating the last
         * run's queries would find them all near the front. */
        patch_packet(d->pkt, &qs[d->qpos++ & (NQUERY - 1)]);
        /* PBUF_RAM: one malloc of the exact size (see the top). */
        struct pbuf *p = pbuf_alloc(PBUF_RAW, PKT_LEN, PBUF_RAM);
        if (!p) {
            d->nomem++;
            continue;
        }
        memcpy(p->payload, d->pkt, PKT_LEN);
        ip4_input(p, &nif); /* lwIP owns p */
    }
}

/* ---- ephemeral picks ------------------------------------------------------------------- */

struct pick {
    struct udp_pcb *occ[EPH_N];
    uint16_t order[EPH_N];
    unsigned held;
    struct udp_pcb *pk;
    ip_addr_t peer[NPEER_PICK];
    uint16_t peer_port[NPEER_PICK];
    uint64_t ok, fail, bad;
};

/* Take p->pk off the list again (udp_bind/udp_connect pushed it on the
 * head) and make it unbound and unconnected. */
static void unlist(struct pick *p)
{
    if (udp_pcbs != p->pk) {
        p->bad++;
        return;
    }
    udp_pcbs = p->pk->next;
    p->pk->next = NULL;
    p->pk->local_port = 0;
    p->pk->remote_port = 0;
    ip_addr_set_any(0, &p->pk->remote_ip);
    p->pk->flags = (u8_t)(p->pk->flags & ~UDP_FLAGS_CONNECTED);
}

static void bench_pick_bind(void *ctx, uint64_t iters)
{
    struct pick *p = ctx;
    for (uint64_t i = 0; i < iters; i++) {
        err_t e = udp_bind(p->pk, IP_ADDR_ANY, 0);
        if (e == ERR_OK) {
            p->ok++;
            unlist(p);
        } else if (e == ERR_USE) {
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
        err_t e = udp_connect(p->pk, &p->peer[k], p->peer_port[k]);
        if (e == ERR_OK) {
            p->ok++;
            unlist(p);
        } else if (e == ERR_USE) {
            p->fail++;
        } else {
            p->bad++;
        }
    }
}

static int occupy(struct pick *p, unsigned want)
{
    while (p->held < want) {
        struct udp_pcb *pcb = udp_new();
        if (!pcb)
            return -ENOMEM;
        p->occ[p->held] = pcb;
        if (udp_bind(pcb, IP_ADDR_ANY, p->order[p->held]) != ERR_OK)
            return -EADDRINUSE;
        p->held++;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lwip_ports [--time SEC] [--repeat N] [--max N] [--tsv FILE]\n"
            "  lwIP %s: udp_bind(port 0) at 0/50/90/99/100%% occupancy of its ephemeral\n"
            "  range, and ip4_input of a UDP datagram with 10, 1k, 10k and 100k connected\n"
            "  pcbs (up to --max, default 100000).  Calibrated to about SEC seconds a run\n"
            "  (default 0.2), N runs (default 5, at most %d), the median shown.\n",
            LWIP_VERSION_STRING, MAX_REPEAT);
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
            fprintf(stderr, "lwip_ports: cannot write %s: %s\n", tsv_path, strerror(errno));
            return 2;
        }
    }
    srand(1); /* LWIP_RAND() is rand(): lwIP's first port is reproducible */
    lwip_init();
    ip4_addr_t ip, mask, gw;
    IP4_ADDR(&ip, 192, 0, 2, 1);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gw, 192, 0, 2, 254);
    if (!netif_add(&nif, &ip, &mask, &gw, NULL, bench_netif_init, ip4_input)) {
        fprintf(stderr, "lwip_ports: netif_add failed\n");
        return 1;
    }
    netif_set_default(&nif);
    netif_set_up(&nif);
    netif_set_link_up(&nif);
    unsigned preexisting = 0;
    for (struct udp_pcb *p = udp_pcbs; p; p = p->next)
        preexisting++;
    if (preexisting) {
        fprintf(stderr, "lwip_ports: lwIP has %u UDP pcbs of its own after lwip_init\n", preexisting);
        return 1;
    }
    int status = 0;
    printf("lwIP %s port system (median of %u runs of ~%.2f s; ns per operation)\n\n", LWIP_VERSION_STRING,
           repeats, run_seconds);

    /* ---- demux ---- */
    enum { R_HIT, R_MISS, R_WILD, NROWS };
    static const char *const row_name[NROWS] = {"ip4_input: connected, hit", "ip4_input: miss (ICMP unreach)",
                                                "ip4_input: wildcard listener"};
    static const char *const row_key[NROWS] = {"input.hit", "input.miss", "input.wild"};
    struct result dm[NROWS][NSIZES], setup[NSIZES];
    memset(dm, 0, sizeof(dm));
    memset(setup, 0, sizeof(setup));
    unsigned nsizes = 0;
    for (unsigned z = 0; z < NSIZES && sizes[z] <= max_n; z++) {
        static struct demux d;
        nsizes = z + 1;
        fprintf(stderr, "lwip_ports: demux with %s pcbs...\n", size_names[z]);
        int rc = demux_setup(&d, sizes[z]);
        if (rc != 0) {
            fprintf(stderr, "lwip_ports: cannot set up %u connected pcbs: %s\n", sizes[z], strerror(-rc));
            return 1;
        }
        double each = d.setup_ns / sizes[z];
        setup[z] = (struct result){.med = each, .min = each, .max = each, .iters = sizes[z], .valid = true};
        const struct query *lists[NROWS] = {d.hit, d.miss, d.wild};
        for (unsigned r = 0; r < NROWS; r++) {
            uint64_t del0 = d.delivered, tx0 = tx_packets, wrong0 = d.wrong;
            d.cur = lists[r];
            /* The work of one datagram, checked before timing. */
            bench_input(&d, 1);
            bool one_ok = r == R_MISS ? tx_packets == tx0 + 1 && d.delivered == del0
                                      : d.delivered == del0 + 1 && tx_packets == tx0;
            if (!one_ok || d.wrong != wrong0 || d.nomem) {
                fprintf(stderr, "lwip_ports: %s with %s pcbs: the datagram was not handled as expected\n",
                        row_name[r], size_names[z]);
                return 1;
            }
            del0 = d.delivered;
            tx0 = tx_packets;
            uint64_t ran0 = d.ran;
            dm[r][z] = measure(bench_input, &d);
            uint64_t total = d.ran - ran0;
            bool ok = d.wrong == wrong0 && d.nomem == 0 &&
                      (r == R_MISS ? d.delivered == del0 && tx_packets - tx0 == total
                                   : d.delivered - del0 == total && tx_packets == tx0);
            if (!ok) {
                fprintf(stderr, "lwip_ports: %s with %s pcbs: %" PRIu64 " delivered, %" PRIu64 " sent, %" PRIu64
                                " to the wrong pcb, %" PRIu64 " allocation failures\n",
                        row_name[r], size_names[z], d.delivered - del0, tx_packets - tx0, d.wrong - wrong0,
                        d.nomem);
                status = 1;
            }
        }
        demux_free(&d);
    }
    printf("%-40s", "demux, ns per datagram        pcbs:");
    for (unsigned z = 0; z < nsizes; z++)
        printf(" %10s", size_names[z]);
    printf("\n");
    for (unsigned r = 0; r < NROWS; r++) {
        printf("%-40s", row_name[r]);
        for (unsigned z = 0; z < nsizes; z++) {
            char b[32], key[64];
            fmt_ns(b, sizeof b, &dm[r][z]);
            printf(" %10s", b);
            snprintf(key, sizeof key, "demux.%s.%u", row_key[r], sizes[z]);
            tsv_row(key, &dm[r][z]);
        }
        printf("\n");
    }
    printf("%-40s", "set-up: udp_bind+udp_connect, each");
    for (unsigned z = 0; z < nsizes; z++) {
        char b[32], key[64];
        fmt_ns(b, sizeof b, &setup[z]);
        printf(" %10s", b);
        snprintf(key, sizeof key, "demux.setup.%u", sizes[z]);
        tsv_row(key, &setup[z]);
    }
    printf("\n");

    /* ---- picks ---- */
    static struct pick pk;
    for (unsigned i = 0; i < EPH_N; i++)
        pk.order[i] = (uint16_t)(EPH_LO + i);
    for (unsigned i = EPH_N - 1; i > 0; i--) {
        unsigned j = (unsigned)(rnd() % (i + 1));
        uint16_t t = pk.order[i];
        pk.order[i] = pk.order[j];
        pk.order[j] = t;
    }
    for (unsigned i = 0; i < NPEER_PICK; i++) {
        set_ip4(&pk.peer[i], peer_addr((unsigned)(rnd() % 100000)));
        pk.peer_port[i] = (uint16_t)(1024 + rnd() % 60000);
    }
    pk.pk = udp_new();
    if (!pk.pk) {
        fprintf(stderr, "lwip_ports: udp_new failed\n");
        return 1;
    }
    struct result pick_bind[NOCC], pick_conn[NOCC];
    fprintf(stderr, "lwip_ports: ephemeral picks...\n");
    for (unsigned o = 0; o < NOCC; o++) {
        unsigned want = occ_pct[o] == 100 ? EPH_N : (unsigned)((uint64_t)EPH_N * occ_pct[o] / 100);
        int rc = occupy(&pk, want);
        if (rc != 0) {
            fprintf(stderr, "lwip_ports: cannot occupy %u%% of the range: %s\n", occ_pct[o], strerror(-rc));
            return 1;
        }
        bool full = occ_pct[o] == 100;
        pk.ok = pk.fail = pk.bad = 0;
        pick_bind[o] = measure(bench_pick_bind, &pk);
        if (pk.bad || (full ? pk.ok != 0 : pk.fail != 0)) {
            fprintf(stderr, "lwip_ports: udp_bind(0) at %u%%: %" PRIu64 " ok, %" PRIu64 " ERR_USE, %" PRIu64
                            " other\n", occ_pct[o], pk.ok, pk.fail, pk.bad);
            status = 1;
        }
        pk.ok = pk.fail = pk.bad = 0;
        pick_conn[o] = measure(bench_pick_connect, &pk);
        if (pk.bad || (full ? pk.ok != 0 : pk.fail != 0)) {
            fprintf(stderr, "lwip_ports: udp_connect at %u%%: %" PRIu64 " ok, %" PRIu64 " ERR_USE, %" PRIu64
                            " other\n", occ_pct[o], pk.ok, pk.fail, pk.bad);
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
    } prow[2] = {{"udp_bind(port 0) + unlink", "bind", pick_bind}, {"udp_connect() pick + unlink", "connect", pick_conn}};
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
    printf("(the range is %u ports, 0xc000-0xffff; at 100%% every pick fails with ERR_USE)\n", EPH_N);
    for (unsigned i = 0; i < pk.held; i++)
        udp_remove(pk.occ[i]);
    udp_remove(pk.pk);

    unsigned top = nsizes - 1;
    printf("\nratios (informational)\n");
    double r = dm[R_HIT][top].med / dm[R_HIT][0].med;
    printf("demux (ip4_input hit) at %s / at 10 pcbs: %.2fx\n", size_names[top], r);
    if (tsv)
        fprintf(tsv, "ratio.demux.input\t%.3f\n", r);
    r = pick_bind[3].med / pick_bind[0].med;
    printf("udp_bind(0) pick at 99%% / at 0%% occupancy: %.2fx\n", r);
    if (tsv)
        fprintf(tsv, "ratio.pick.bind\t%.3f\n", r);
    r = pick_conn[3].med / pick_conn[0].med;
    printf("udp_connect() pick at 99%% / at 0%% occupancy: %.2fx\n", r);
    if (tsv) {
        fprintf(tsv, "ratio.pick.connect\t%.3f\n", r);
        fclose(tsv);
    }
    return status;
}
