/*
 * The SNTP client against a scripted NTP server on another simulated host
 * whose clock is set to a known time: the offset computed and applied,
 * delay measured, periodic updates, and the refusals (a forged reply with
 * the wrong originate time stamp, kiss-o'-death, no server, silence).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/sntp.h>
#include <portstack/socket.h>

#include "test.h"

#define SRV PS_IP4(192, 0, 2, 123)
#define CLI PS_IP4(192, 0, 2, 10)
/* The server's wall clock: 2023-11-14 22:13:20 UTC. */
#define SERVER_EPOCH_US (1700000000LL * 1000000)

struct server {
    struct ps_stack *s;
    int fd;
    unsigned requests;
    uint8_t stratum;
    bool forge_first, silent;
};

static void put_ntp(uint8_t *p, int64_t us)
{
    uint64_t secs = (uint64_t)(us / 1000000) + 2208988800ULL;
    uint64_t frac = ((uint64_t)(us % 1000000) << 32) / 1000000;
    ps_put32(p, (uint32_t)secs);
    ps_put32(p + 4, (uint32_t)frac);
}

static void on_server(void *ctx, int fd, short ev)
{
    struct server *sv = ctx;
    (void)ev;
    uint8_t q[64], r[48];
    struct ps_sockaddr_in from;
    ssize_t n;
    while ((n = ps_recvfrom(sv->s, fd, q, sizeof(q), 0, &from)) > 0) {
        sv->requests++;
        if (sv->silent || n < 48 || (q[0] & 7) != 3)
            continue;
        int64_t now = ps_stack_realtime(sv->s);
        memset(r, 0, sizeof(r));
        r[0] = (0 << 6) | (4 << 3) | 4;
        r[1] = sv->stratum;
        memcpy(r + 24, q + 40, 8); /* originate = the client's transmit */
        put_ntp(r + 32, now);      /* received */
        put_ntp(r + 40, now + 30); /* sent 30 us later */
        if (sv->forge_first) {
            sv->forge_first = false;
            uint8_t f[48];
            memcpy(f, r, 48);
            f[31] ^= 1;             /* a forger who does not know it */
            put_ntp(f + 40, now + 3600LL * 1000000);
            ps_sendto(sv->s, fd, f, 48, 0, &from);
        }
        ps_sendto(sv->s, fd, r, 48, 0, &from);
    }
}

struct world {
    struct ps_sim *sim;
    struct ps_stack *c;
    struct server sv;
    struct ps_sntp *sntp;
    struct ps_sntp_result last;
    unsigned results;
};

static void on_result(void *ctx, const struct ps_sntp_result *r)
{
    struct world *w = ctx;
    w->last = *r;
    w->results++;
}

static ps_time_t sntp_poll(void *ctx, ps_time_t now)
{
    return ps_sntp_poll(ctx, now);
}

static void world_new(struct world *w, ps_time_t delay, bool server_socket, unsigned interval)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(8, PS_SEC(100));
    struct ps_sim_impair imp = {.delay = delay};
    struct ps_sim_link *l = ps_sim_link_new(w->sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 1;
    w->c = ps_stack_new(&cfg, PS_SEC(100));
    cfg.seed = 2;
    w->sv.s = ps_stack_new(&cfg, PS_SEC(100));
    REQUIRE(w->c && w->sv.s);
    struct ps_iface *ci = ps_sim_attach(l, w->c, "eth0", NULL, 1500);
    struct ps_iface *si = ps_sim_attach(l, w->sv.s, "eth0", NULL, 1500);
    REQUIRE(ci && si && ps_iface_add_addr(ci, CLI, 24) == 0 && ps_iface_add_addr(si, SRV, 24) == 0);
    ps_stack_set_realtime_offset(w->sv.s, SERVER_EPOCH_US - (int64_t)PS_SEC(100));
    w->sv.stratum = 2;
    if (server_socket) {
        w->sv.fd = ps_socket(w->sv.s, PS_SOCK_DGRAM);
        struct ps_sockaddr_in a = {0, 123};
        REQUIRE(ps_bind(w->sv.s, w->sv.fd, &a) == 0);
        REQUIRE(ps_socket_set_callback(w->sv.s, w->sv.fd, on_server, &w->sv) == 0);
    }
    /* Neighbours known first: a request that waited for ARP would make the
     * path look asymmetric and the first offset off by half the wait. */
    ps_icmp_echo_request(w->c, SRV, 1, 1, 0, NULL, 8);
    ps_sim_run_for(w->sim, delay * 4 + PS_MS(1));
    w->sntp = ps_sntp_start(w->c, SRV, interval, on_result, w);
    REQUIRE(w->sntp);
    REQUIRE(ps_sim_add_poller(w->sim, sntp_poll, w->sntp) == 0);
}

static void world_free(struct world *w)
{
    ps_sim_remove_poller(w->sim, sntp_poll, w->sntp);
    ps_sntp_stop(w->sntp);
    ps_sim_run_for(w->sim, PS_SEC(700));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(w->c, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(w->sim);
    ps_stack_free(w->c);
    ps_stack_free(w->sv.s);
}

static int64_t llabs64(int64_t x)
{
    return x < 0 ? -x : x;
}

TEST(clock_set_from_server)
{
    struct world w;
    world_new(&w, PS_MS(5), true, 64);
    ps_sim_run_for(w.sim, PS_MS(100));
    REQUIRE(w.results == 1);
    CHECK_EQ(w.last.err, 0);
    CHECK_EQ(w.last.stratum, 2);
    /* 5 ms each way: the delay seen is the 10 ms round trip, without the
     * server's 30 us. */
    CHECK(w.last.delay_us >= 9900 && w.last.delay_us <= 10100);
    /* Both clocks now agree to within the path's asymmetry (none here:
     * a few microseconds of rounding). */
    int64_t diff = ps_stack_realtime(w.c) - ps_stack_realtime(w.sv.s);
    fprintf(stderr, "  clock difference after sync: %lld us\n", (long long)diff);
    CHECK(llabs64(diff) < 100);
    /* Periodic: every 64 s. */
    ps_sim_run_for(w.sim, PS_SEC(200));
    CHECK_EQ(ps_sntp_updates(w.sntp), 4);
    CHECK(llabs64(ps_stack_realtime(w.c) - ps_stack_realtime(w.sv.s)) < 100);
    world_free(&w);
}

TEST(forged_reply_ignored)
{
    struct world w;
    world_new(&w, PS_MS(2), true, 0);
    w.sv.forge_first = true;
    ps_sim_run_for(w.sim, PS_MS(100));
    CHECK_EQ(w.results, 1);
    CHECK_EQ(w.last.err, 0);
    CHECK(llabs64(ps_stack_realtime(w.c) - ps_stack_realtime(w.sv.s)) < 100); /* not an hour off */
    world_free(&w);
}

TEST(kiss_of_death_refused)
{
    struct world w;
    world_new(&w, PS_MS(2), true, 0);
    w.sv.stratum = 0;
    ps_sim_run_for(w.sim, PS_MS(100));
    CHECK_EQ(w.results, 1);
    CHECK_EQ(w.last.err, -EPROTO);
    CHECK_EQ(ps_stack_realtime_offset(w.c), 0); /* clock untouched */
    world_free(&w);
}

TEST(no_server_and_silent_server)
{
    struct world w;
    world_new(&w, PS_MS(2), false, 0);
    ps_sim_run_for(w.sim, PS_SEC(1));
    CHECK_EQ(w.results, 1);
    CHECK_EQ(w.last.err, -ECONNREFUSED); /* ICMP port unreachable */
    world_free(&w);
    world_new(&w, PS_MS(2), true, 0);
    w.sv.silent = true;
    ps_sim_run_for(w.sim, PS_SEC(20));
    CHECK_EQ(w.results, 1);
    CHECK_EQ(w.last.err, -ETIMEDOUT);
    CHECK_EQ(w.sv.requests, PS_SNTP_TRIES);
    CHECK_EQ(ps_stack_realtime_offset(w.c), 0);
    world_free(&w);
}

int main(void)
{
    RUN(clock_set_from_server);
    RUN(forged_reply_ignored);
    RUN(kiss_of_death_refused);
    RUN(no_server_and_silent_server);
    TEST_END();
}
