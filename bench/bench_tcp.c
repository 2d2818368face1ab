/*
 * bench/bench_tcp.c - the stack-only cost of portstack's TCP: two stacks in
 * this process joined by the simulated wire (portstack/sim.h) with no
 * impairments (an instant, lossless link), driven through the public socket
 * API only.  No device, no syscall inside the measured work.
 *
 *  1. Bulk: CPU time per MB moved, 100 MB (--mb) a -> b on one connection,
 *     then 100 MB b -> a on another, each measured with
 *     CLOCK_PROCESS_CPUTIME_ID around the transfer alone (set-up and close
 *     excluded), --repeat times (median shown).  The figure covers BOTH
 *     stacks (sender and receiver), the simulated wire (a copy of every
 *     frame) and the application's copies in and out of the socket, and a
 *     memcmp of every received byte against the pattern sent; the cost of
 *     those application copies alone is printed next to it.
 *  2. Connection rate: connect + accept + close, one after another, between
 *     the two stacks while 10 (and then 10,000) other connections stay open
 *     and idle; cycles per second of CPU and of wall time.
 *  3. Memory, measured from the heap (glibc mallinfo2) because the public
 *     API does not expose the sizes of the socket-table entry or the
 *     connection block:
 *     - one socket-table slot: two stacks created with max_sockets differing
 *       by 65536, the heap difference divided by 65536.  The table holds the
 *       connection block inside the entry (no allocation per socket), so
 *       this is the entry plus its share of every structure sized from
 *       max_sockets (free map, demux hash tables);
 *     - what an established idle connection allocates beyond that slot:
 *       the heap growth while the idle connections are opened (both ends),
 *       per connection end, minus its two ring buffers (SO_SNDBUF +
 *       SO_RCVBUF as getsockopt reports them);
 *     - TIME_WAIT: K connections closed actively; the benchmark checks
 *       whether each record still holds a socket-table slot (by opening
 *       sockets until EMFILE) and how much heap the records hold (heap with
 *       the K records minus the heap after they expire).
 *
 * Every measurement checks that the work was done (every byte arrived and
 * matched, every connection was accepted, the idle ones are still
 * ESTABLISHED afterwards) and the program exits 1 if not.  Nothing here
 * asserts on a timing.
 *
 *   usage: bench_tcp [--mb N] [--repeat N] [--rate-time SEC] [--idle LIST]
 *                    [--tw N] [--tsv FILE]
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

/* The two-stack world of the tests (IP_A, IP_B: RFC 5737 addresses),
 * count_state, stat_of, stream_listener; no test harness. */
#include "../tests/two_hosts.h"

#define T0 PS_SEC(100)
#define PORT_BULK 5001
#define PORT_IDLE 5002
#define PORT_RATE 5003
#define MAX_REPEAT 15
#define PAT 65536 /* the pattern repeats every PAT bytes */

static unsigned opt_mb = 100;
static unsigned opt_repeat = 3;
static double opt_rate_time = 1.0;
static unsigned opt_idle[8] = {10, 10000};
static unsigned opt_nidle = 2;
static unsigned opt_tw = 2000;
static FILE *tsv;
static int failures;

static uint8_t pattern[2 * PAT]; /* any PAT-byte window starting below PAT */

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd; /* in use in the arena + mmapped blocks */
}

static void fail(const char *what)
{
    fprintf(stderr, "bench_tcp: FAILED: %s\n", what);
    failures++;
}

static void put(const char *key, double v)
{
    if (tsv)
        fprintf(tsv, "%s\t%.6g\n", key, v);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- a world: two stacks on one perfect link ------------------------------------------- */

/* a and b (tests/two_hosts.h) on a link with no impairments at all,
 * with ARP resolved both ways. */
static int world_new(struct two_hosts *w, unsigned max_sockets, unsigned timewait_max)
{
    struct ps_config ca, cb;
    ps_config_default(&ca);
    if (max_sockets)
        ca.max_sockets = max_sockets;
    if (timewait_max)
        ca.tcp_timewait_max = timewait_max;
    cb = ca;
    ca.seed = 1;
    cb.seed = 2;
    if (!two_hosts_new_at(w, 42, T0, &ca, &cb, NULL))
        return -1;
    /* ARP first, both ways, so that no SYN waits on resolution. */
    ps_icmp_echo_request(w->a, IP_B, 1, 1, 0, NULL, 8);
    ps_sim_run_for(w->sim, PS_MS(100));
    return 0;
}

static void world_free(struct two_hosts *w)
{
    two_hosts_free(w);
    memset(w, 0, sizeof(*w));
}

static int listen_on(struct ps_stack *s, uint16_t port)
{
    return stream_listener(s, port, 4096);
}

/* One connection a -> b:port, accepted on lfd; returns 0 and both fds. */
static int connect_pair(struct two_hosts *w, int lfd, uint16_t port, int *cfd, int *afd)
{
    *cfd = ps_socket(w->a, PS_SOCK_STREAM);
    if (*cfd < 0)
        return -1;
    struct ps_sockaddr_in to = {.addr = IP_B, .port = port};
    int rc = ps_connect(w->a, *cfd, &to);
    if (rc != 0 && rc != -EINPROGRESS)
        return -1;
    ps_time_t limit = ps_sim_now(w->sim) + PS_SEC(5);
    while ((*afd = ps_accept(w->b, lfd, NULL)) == -EAGAIN && ps_sim_now(w->sim) < limit)
        ps_sim_run_for(w->sim, PS_MS(1));
    return *afd >= 0 ? 0 : -1;
}

/* ---- 1. bulk transfer ---------------------------------------------------------------- */

struct bulk {
    struct ps_stack *tx_s, *rx_s;
    int tx_fd, rx_fd;
    uint64_t total, sent, rcvd, bad;
    int err;
    bool tx_busy, tx_again, rx_busy, rx_again;
};

static struct bulk *cur_bulk;

static void bulk_send(struct bulk *b)
{
    if (b->tx_busy) {
        b->tx_again = true;
        return;
    }
    do {
        b->tx_busy = true;
        b->tx_again = false;
        while (b->sent < b->total && !b->err) {
            size_t off = (size_t)(b->sent % PAT), n = PAT;
            if (b->total - b->sent < n)
                n = (size_t)(b->total - b->sent);
            ssize_t k = ps_send(b->tx_s, b->tx_fd, pattern + off, n, 0);
            if (k == -EAGAIN || k == 0)
                break;
            if (k < 0) {
                b->err = (int)k;
                break;
            }
            b->sent += (uint64_t)k;
        }
        b->tx_busy = false;
    } while (b->tx_again);
}

static void bulk_recv(struct bulk *b)
{
    static uint8_t buf[PAT];
    if (b->rx_busy) {
        b->rx_again = true;
        return;
    }
    do {
        b->rx_busy = true;
        b->rx_again = false;
        while (!b->err) {
            ssize_t k = ps_recv(b->rx_s, b->rx_fd, buf, sizeof(buf), 0);
            if (k == -EAGAIN || k == 0)
                break;
            if (k < 0) {
                b->err = (int)k;
                break;
            }
            if (memcmp(buf, pattern + b->rcvd % PAT, (size_t)k) != 0)
                b->bad++;
            b->rcvd += (uint64_t)k;
        }
        b->rx_busy = false;
    } while (b->rx_again);
}

static void on_bulk_tx(void *ctx, int fd, short ev)
{
    (void)fd;
    (void)ev;
    bulk_send(ctx);
}

static void on_bulk_rx(void *ctx, int fd, short ev)
{
    (void)fd;
    (void)ev;
    bulk_recv(ctx);
}

/* A slow safety net: a missed readiness report costs time, not the run. */
static ps_time_t bulk_fallback(void *ctx, ps_time_t now)
{
    (void)ctx;
    if (cur_bulk) {
        bulk_send(cur_bulk);
        bulk_recv(cur_bulk);
    }
    return now + PS_MS(10);
}

static bool bulk_done(void *ctx)
{
    struct bulk *b = ctx;
    return b->rcvd >= b->total || b->err;
}

struct bulk_result {
    double cpu, wall, virt; /* seconds */
    uint64_t frames, segs_tx_a, segs_tx_b, retransmits;
};

/* One transfer of `total` bytes, from a to b (a_to_b) or from b to a. */
static int bulk_once(bool a_to_b, uint64_t total, struct bulk_result *res)
{
    struct two_hosts w;
    if (world_new(&w, 0, 0) != 0) {
        world_free(&w);
        return -1;
    }
    int lfd = listen_on(w.b, PORT_BULK), cfd = -1, afd = -1;
    if (lfd < 0 || connect_pair(&w, lfd, PORT_BULK, &cfd, &afd) != 0) {
        world_free(&w);
        return -1;
    }
    struct bulk b = {.total = total};
    b.tx_s = a_to_b ? w.a : w.b;
    b.tx_fd = a_to_b ? cfd : afd;
    b.rx_s = a_to_b ? w.b : w.a;
    b.rx_fd = a_to_b ? afd : cfd;
    cur_bulk = &b;
    ps_socket_set_callback(b.tx_s, b.tx_fd, on_bulk_tx, &b);
    ps_socket_set_callback(b.rx_s, b.rx_fd, on_bulk_rx, &b);
    ps_sim_add_poller(w.sim, bulk_fallback, NULL);
    uint64_t f0 = ps_sim_link_stats(w.link)->frames_sent;
    long long ta0 = stat_of(w.a, "tcp_tx"), tb0 = stat_of(w.b, "tcp_tx");
    ps_time_t v0 = ps_sim_now(w.sim);

    double c0 = cpu_s(), t0 = wall_s();
    bulk_send(&b);
    bool ok = ps_sim_run_while_not(w.sim, bulk_done, &b, v0 + PS_SEC(3600));
    double c1 = cpu_s(), t1 = wall_s();

    res->cpu = c1 - c0;
    res->wall = t1 - t0;
    res->virt = (double)(ps_sim_now(w.sim) - v0) / 1e6;
    res->frames = ps_sim_link_stats(w.link)->frames_sent - f0;
    res->segs_tx_a = (uint64_t)(stat_of(w.a, "tcp_tx") - ta0);
    res->segs_tx_b = (uint64_t)(stat_of(w.b, "tcp_tx") - tb0);
    res->retransmits = (uint64_t)(stat_of(w.a, "tcp_retransmits") + stat_of(w.b, "tcp_retransmits"));
    ps_sim_remove_poller(w.sim, bulk_fallback, NULL);
    cur_bulk = NULL;
    int rc = 0;
    if (!ok || b.err || b.rcvd != total || b.sent != total || b.bad) {
        fprintf(stderr, "bench_tcp: bulk %s: sent %" PRIu64 ", received %" PRIu64 " of %" PRIu64
                        ", %" PRIu64 " bad reads, error %s%s\n",
                a_to_b ? "a->b" : "b->a", b.sent, b.rcvd, total, b.bad, b.err ? ps_strerror(b.err) : "none",
                ok ? "" : ", virtual time limit reached");
        rc = -1;
    }
    ps_close(w.a, cfd);
    ps_close(w.b, afd);
    ps_close(w.b, lfd);
    world_free(&w);
    return rc;
}

/* What the application side costs alone: the same copies into and out of
 * 64 KiB buffers and the memcmp, without any stack. */
static double app_copy_cost(uint64_t total)
{
    static uint8_t sockbuf[PAT], rbuf[PAT];
    uint64_t bad = 0;
    double c0 = cpu_s();
    for (uint64_t done = 0; done < total; done += PAT) {
        memcpy(sockbuf, pattern + done % PAT, PAT); /* ps_send's copy in */
        memcpy(rbuf, sockbuf, PAT);                /* ps_recv's copy out */
        bad += memcmp(rbuf, pattern + done % PAT, PAT) != 0;
        __asm__ volatile("" ::"r"(sockbuf), "r"(rbuf) : "memory");
    }
    double c1 = cpu_s();
    if (bad)
        fail("app copy baseline");
    return c1 - c0;
}

static void run_bulk(void)
{
    uint64_t total = (uint64_t)opt_mb * 1000000u;
    printf("== bulk transfer on the simulated wire (perfect link, MTU 1500): %u MB each way, "
           "median of %u\n\n",
           opt_mb, opt_repeat);
    printf("| direction | CPU per MB (both stacks + wire + app) | CPU time | wall time | frames on the wire | "
           "CPU per frame | all runs, CPU ms/MB |\n");
    printf("|---|---:|---:|---:|---:|---:|---|\n");
    for (int dir = 0; dir < 2; dir++) {
        struct bulk_result r[MAX_REPEAT];
        double per[MAX_REPEAT];
        unsigned n = 0;
        for (unsigned i = 0; i < opt_repeat; i++) {
            if (bulk_once(dir == 0, total, &r[n]) != 0) {
                fail("bulk transfer");
                continue;
            }
            per[n] = r[n].cpu;
            n++;
        }
        if (n == 0)
            continue;
        /* The median run by CPU time. */
        double sorted[MAX_REPEAT];
        memcpy(sorted, per, n * sizeof(double));
        qsort(sorted, n, sizeof(double), cmp_double);
        unsigned m = 0;
        for (unsigned i = 0; i < n; i++)
            if (per[i] == sorted[n / 2])
                m = i;
        char all[160] = "";
        for (unsigned i = 0; i < n; i++) {
            size_t l = strlen(all);
            snprintf(all + l, sizeof(all) - l, "%s%.3f", i ? " " : "", sorted[i] * 1e3 / opt_mb);
        }
        double ms_mb = r[m].cpu * 1e3 / opt_mb;
        printf("| %s | %.3f ms/MB (%.0f MB/s of CPU) | %.3f s | %.3f s | %" PRIu64 " | %.2f us | %s |\n",
               dir == 0 ? "a -> b (client sends)" : "b -> a (server sends)", ms_mb, opt_mb / r[m].cpu, r[m].cpu,
               r[m].wall, r[m].frames, r[m].cpu * 1e6 / (double)r[m].frames, all);
        put(dir == 0 ? "bulk.ab.cpu_ms_per_mb" : "bulk.ba.cpu_ms_per_mb", ms_mb);
        put(dir == 0 ? "bulk.ab.frames" : "bulk.ba.frames", (double)r[m].frames);
        if (r[m].retransmits)
            printf("(note: %" PRIu64 " retransmissions on a perfect link)\n", r[m].retransmits);
    }
    double app = app_copy_cost(total);
    printf("\nThe application's share, measured alone (the same 64 KiB copies in and out and the memcmp, no "
           "stack): %.3f ms/MB.\n",
           app * 1e3 / opt_mb);
    put("bulk.app_cpu_ms_per_mb", app * 1e3 / opt_mb);
    printf("\n");
}

/* ---- 2. connection rate with idle connections open ---------------------------------------- */

struct idle_set {
    int *cfd, *afd;
    unsigned n;
};

/* Open n idle connections a -> b:PORT_IDLE, in batches. */
static int open_idle(struct two_hosts *w, int lfd, struct idle_set *set, unsigned n)
{
    set->cfd = malloc((n + 1) * sizeof(int));
    set->afd = malloc((n + 1) * sizeof(int));
    set->n = 0;
    if (!set->cfd || !set->afd)
        return -1;
    const unsigned batch = 128;
    struct ps_sockaddr_in to = {.addr = IP_B, .port = PORT_IDLE};
    unsigned opened = 0;
    while (opened < n) {
        unsigned k = n - opened < batch ? n - opened : batch;
        for (unsigned i = 0; i < k; i++) {
            int fd = ps_socket(w->a, PS_SOCK_STREAM);
            if (fd < 0)
                return -1;
            int rc = ps_connect(w->a, fd, &to);
            if (rc != 0 && rc != -EINPROGRESS)
                return -1;
            set->cfd[opened + i] = fd;
        }
        unsigned got = 0;
        ps_time_t limit = ps_sim_now(w->sim) + PS_SEC(10);
        while (got < k && ps_sim_now(w->sim) < limit) {
            int fd;
            while ((fd = ps_accept(w->b, lfd, NULL)) >= 0)
                set->afd[set->n + got++] = fd;
            if (got < k)
                ps_sim_run_for(w->sim, PS_MS(1));
        }
        if (got < k)
            return -1;
        opened += k;
        set->n += k;
    }
    ps_sim_run_for(w->sim, PS_MS(100)); /* the last ACKs, delayed ACK timers */
    return 0;
}

static int ring_bytes(struct ps_stack *s, int fd)
{
    int snd = 0, rcv = 0;
    size_t l = sizeof(int);
    ps_getsockopt(s, fd, PS_SOL_SOCKET, PS_SO_SNDBUF, &snd, &l);
    l = sizeof(int);
    ps_getsockopt(s, fd, PS_SOL_SOCKET, PS_SO_RCVBUF, &rcv, &l);
    return snd + rcv;
}

static void run_rate(void)
{
    printf("== connection rate on the simulated wire: connect + accept + close, one after another, "
           "~%.1f s each\n\n",
           opt_rate_time);
    printf("| idle connections open | cycles | cycles/s (CPU) | cycles/s (wall) | CPU per cycle | "
           "idle still ESTAB (a / b) | TIME-WAIT on a at the end |\n");
    printf("|---:|---:|---:|---:|---:|---|---:|\n");
    for (unsigned z = 0; z < opt_nidle; z++) {
        unsigned nidle = opt_idle[z];
        struct two_hosts w;
        /* Room for the idle connections, the listeners, TIME_WAIT and the
         * cycle's own pair. */
        if (world_new(&w, nidle + 4096, 0) != 0) {
            fail("world");
            world_free(&w);
            continue;
        }
        int lidle = listen_on(w.b, PORT_IDLE), lrate = listen_on(w.b, PORT_RATE);
        struct idle_set set = {0};
        size_t h0 = heap_used();
        if (lidle < 0 || lrate < 0 || open_idle(&w, lidle, &set, nidle) != 0) {
            fprintf(stderr, "bench_tcp: could not open %u idle connections (%u open)\n", nidle, set.n);
            fail("idle connections");
            free(set.cfd);
            free(set.afd);
            world_free(&w);
            continue;
        }
        size_t h1 = heap_used();
        if (nidle >= 1000) {
            /* The memory figure: heap per connection end beyond its slot. */
            double per_end = (double)(h1 - h0) / (2.0 * nidle);
            int rings = ring_bytes(w.a, set.cfd[0]);
            printf("(heap growth while opening %u idle connections: %.1f B per connection end, of which "
                   "%d B are its two rings)\n",
                   nidle, per_end, rings);
            put("mem.conn_heap_per_end", per_end);
            put("mem.conn_rings", rings);
        }
        unsigned est_a0 = count_state(w.a, "ESTAB"), est_b0 = count_state(w.b, "ESTAB");
        if (est_a0 != nidle || est_b0 != nidle)
            fprintf(stderr, "bench_tcp: before the cycles: ESTAB %u on a, %u on b (want %u)\n", est_a0, est_b0,
                    nidle);

        /* A short warm-up, then the measured cycles. */
        uint64_t cycles = 0, warm = 200;
        int bad = 0;
        double c0 = 0, t0 = 0;
        for (;;) {
            if (cycles == warm) {
                c0 = cpu_s();
                t0 = wall_s();
            }
            if (cycles > warm && (cycles & 63) == 0 && wall_s() - t0 >= opt_rate_time)
                break;
            int cfd, afd;
            if (connect_pair(&w, lrate, PORT_RATE, &cfd, &afd) != 0) {
                bad++;
                if (bad > 10)
                    break;
                continue;
            }
            ps_close(w.a, cfd); /* the client closes first: TIME_WAIT on a */
            ps_sim_run_until(w.sim, ps_sim_now(w.sim));
            ps_close(w.b, afd);
            ps_sim_run_for(w.sim, PS_MS(1));
            cycles++;
        }
        double cpu = cpu_s() - c0, wall = wall_s() - t0;
        uint64_t measured = cycles - warm;
        ps_sim_run_for(w.sim, PS_MS(500));
        unsigned est_a = count_state(w.a, "ESTAB"), est_b = count_state(w.b, "ESTAB");
        unsigned tw_a = count_state(w.a, "TIME-WAIT");
        if (bad)
            fail("connection-rate cycles");
        if (est_a != nidle || est_b != nidle)
            fail("idle connections lost during the cycles");
        printf("| %u | %" PRIu64 " | %.0f | %.0f | %.2f us | %u / %u | %u |\n", nidle, measured,
               (double)measured / cpu, (double)measured / wall, cpu * 1e6 / (double)measured, est_a, est_b,
               tw_a);
        char key[64];
        snprintf(key, sizeof key, "rate.%u.per_s_cpu", nidle);
        put(key, (double)measured / cpu);
        snprintf(key, sizeof key, "rate.%u.per_s_wall", nidle);
        put(key, (double)measured / wall);
        snprintf(key, sizeof key, "rate.%u.us_per_cycle", nidle);
        put(key, cpu * 1e6 / (double)measured);
        if (z + 1 == opt_nidle)
            printf("\ncounters of a (the last run): tcp_timewait %lld, tcp_timewait_overflow %lld, "
                   "tcp_conn_active %lld; of b: tcp_conn_passive %lld, tcp_synq_overflow %lld, "
                   "tcp_accept_overflow %lld\n",
                   stat_of(w.a, "tcp_timewait"), stat_of(w.a, "tcp_timewait_overflow"),
                   stat_of(w.a, "tcp_conn_active"), stat_of(w.b, "tcp_conn_passive"),
                   stat_of(w.b, "tcp_synq_overflow"), stat_of(w.b, "tcp_accept_overflow"));
        free(set.cfd);
        free(set.afd);
        world_free(&w);
    }
    printf("\n");
}

/* ---- 3. memory --------------------------------------------------------------------------- */

/* Heap taken by one stack with max_sockets = n (and nothing else). */
static double stack_heap(unsigned max_sockets, unsigned timewait_max)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.max_sockets = max_sockets;
    if (timewait_max)
        cfg.tcp_timewait_max = timewait_max;
    size_t h0 = heap_used();
    struct ps_stack *s = ps_stack_new(&cfg, T0);
    size_t h1 = heap_used();
    if (!s)
        return -1;
    ps_stack_free(s);
    return (double)(h1 - h0);
}

static void run_memory(void)
{
    printf("== memory (glibc mallinfo2: heap in use, mmapped blocks included)\n\n");
    const unsigned base = 1024, extra = 65536;
    double h_small = stack_heap(base, 0), h_big = stack_heap(base + extra, 0);
    double slot = (h_big - h_small) / extra;
    printf("one socket-table slot (entry + its share of every table sized from max_sockets): %.1f B\n", slot);
    printf("  (a stack with max_sockets %u: %.0f B of heap; with %u: %.0f B)\n", base, h_small, base + extra,
           h_big);
    put("mem.slot", slot);
    double tw_small = stack_heap(base, 512), tw_big = stack_heap(base, 512 + extra);
    double tw_pre = (tw_big - tw_small) / extra;
    printf("heap preallocated per tcp_timewait_max unit: %.1f B (0: no separate TIME_WAIT table)\n", tw_pre);
    put("mem.tw_prealloc", tw_pre);

    /* TIME_WAIT records: K connections, closed actively by a. */
    unsigned k = opt_tw, max = k + 1024;
    struct two_hosts w;
    if (world_new(&w, max, k + 16) != 0) {
        fail("world");
        world_free(&w);
        return;
    }
    int lfd = listen_on(w.b, PORT_IDLE);
    struct idle_set set = {0};
    if (lfd < 0 || open_idle(&w, lfd, &set, k) != 0) {
        fail("TIME_WAIT connections");
        free(set.cfd);
        free(set.afd);
        world_free(&w);
        return;
    }
    for (unsigned i = 0; i < k; i++)
        ps_close(w.a, set.cfd[i]);
    ps_sim_run_until(w.sim, ps_sim_now(w.sim));
    for (unsigned i = 0; i < k; i++)
        ps_close(w.b, set.afd[i]);
    ps_sim_run_for(w.sim, PS_SEC(1));
    unsigned tw = count_state(w.a, "TIME-WAIT"), other_b = count_state(w.b, "LAST-ACK");
    size_t h_tw = heap_used();
    /* Does each record still hold a socket-table slot?  Open sockets on a
     * until the table is full, then give them back. */
    int *fds = malloc(max * sizeof(int));
    unsigned opened = 0;
    while (fds && opened < max) {
        int fd = ps_socket(w.a, PS_SOCK_STREAM);
        if (fd < 0)
            break;
        fds[opened++] = fd;
    }
    for (unsigned i = 0; i < opened; i++)
        ps_close(w.a, fds[i]);
    free(fds);
    /* Past 2*MSL: every record expires. */
    const struct ps_config *cfg = ps_stack_config(w.a);
    ps_sim_run_for(w.sim, PS_MS(2ull * cfg->tcp_msl_ms + 5000));
    unsigned tw_after = count_state(w.a, "TIME-WAIT");
    size_t h_gone = heap_used();
    double held = tw ? ((double)h_tw - (double)h_gone) / tw : 0;
    bool holds_slot = opened < max - tw / 2;
    printf("TIME_WAIT: %u connections closed actively: %u records on a (%u LAST-ACK left on b); "
           "a could then open %u sockets in a table of %u: each record %s a socket-table slot\n",
           k, tw, other_b, opened, max, holds_slot ? "holds" : "does not hold");
    printf("  heap held by the %u records beyond any slot (heap with them minus after their expiry at 2*MSL, "
           "%u left): %.1f B per record\n",
           tw, tw_after, held);
    double tw_rec = (holds_slot ? slot : tw_pre) + held;
    printf("  => bytes per TIME_WAIT record: %.1f B (%s)\n", tw_rec,
           holds_slot ? "a full socket-table entry: no compact TIME_WAIT records in this build"
                      : "a compact record");
    put("mem.tw_held_heap", held);
    put("mem.tw_holds_slot", holds_slot);
    put("mem.tw_record", tw_rec);
    if (tw != k)
        printf("  (note: %u of %u connections were in TIME-WAIT)\n", tw, k);
    if (tw == 0)
        fail("no TIME_WAIT records");
    free(set.cfd);
    free(set.afd);
    world_free(&w);
    printf("\n");
}

static void usage(FILE *out)
{
    fprintf(out, "usage: bench_tcp [--mb N] [--repeat N] [--rate-time SEC] [--idle N[,N...]] [--tw N] "
                 "[--tsv FILE]\n"
                 "  TCP between two portstack stacks on a perfect simulated link: CPU per MB (N MB each way,\n"
                 "  default 100), connect+accept+close rate with N idle connections open (default 10,10000),\n"
                 "  and memory per connection and per TIME_WAIT record (N records, default 2000).\n");
}

int main(int argc, char **argv)
{
    const char *tsv_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "bench_tcp: %s needs a value\n", o);
            return 2;
        }
        i++;
        if (strcmp(o, "--mb") == 0) {
            opt_mb = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(o, "--repeat") == 0) {
            opt_repeat = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(o, "--rate-time") == 0) {
            opt_rate_time = atof(v);
        } else if (strcmp(o, "--tw") == 0) {
            opt_tw = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(o, "--idle") == 0) {
            char buf[128];
            snprintf(buf, sizeof buf, "%s", v);
            opt_nidle = 0;
            for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && opt_nidle < 8;
                 t = strtok_r(NULL, ",", &save))
                opt_idle[opt_nidle++] = (unsigned)strtoul(t, NULL, 10);
        } else if (strcmp(o, "--tsv") == 0) {
            tsv_path = v;
        } else {
            fprintf(stderr, "bench_tcp: unknown option '%s'\n", o);
            usage(stderr);
            return 2;
        }
    }
    if (opt_mb < 1 || opt_repeat < 1 || opt_repeat > MAX_REPEAT || opt_tw < 1 || opt_nidle == 0) {
        usage(stderr);
        return 2;
    }
    if (tsv_path && !(tsv = fopen(tsv_path, "w"))) {
        perror(tsv_path);
        return 1;
    }
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)((i % PAT) * 131 + (i % PAT) / 251);

    run_memory();
    run_rate();
    run_bulk();
    if (tsv)
        fclose(tsv);
    if (failures) {
        fprintf(stderr, "bench_tcp: %d check(s) failed\n", failures);
        return 1;
    }
    return 0;
}
