/*
 * The SNTP server on a simulated link: portstack's own SNTP client sets
 * its clock from it (to within the path's asymmetry), refuses it while
 * the server's own clock is unset, and hand-made requests show the reply's
 * fields (version and poll echoed, originate time stamp, stratum and
 * reference ID, reference time) and what is dropped unanswered.
 */
#include <errno.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/sntp.h>
#include <portstack/sntp_server.h>
#include <portstack/socket.h>

#include "test.h"

#define SRV PS_IP4(192, 0, 2, 123)
#define CLI PS_IP4(192, 0, 2, 10)
/* The server's wall clock: 2023-11-14 22:13:20 UTC. */
#define SERVER_EPOCH_US (1700000000LL * 1000000)
#define NTP_UNIX_DELTA 2208988800LL

struct world {
    struct ps_sim *sim;
    struct ps_stack *srv, *cli;
    struct ps_sntpd *d;
    struct ps_sntp *sntp;
    struct ps_sntp_result last;
    unsigned results;
};

static ps_time_t sntp_poll(void *ctx, ps_time_t now)
{
    return ps_sntp_poll(ctx, now);
}

static void on_result(void *ctx, const struct ps_sntp_result *r)
{
    struct world *w = ctx;
    w->last = *r;
    w->results++;
}

static void world_new(struct world *w, bool clock_set, const struct ps_sntpd_config *cfg)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(9, PS_SEC(100));
    struct ps_sim_impair imp = {.delay = PS_MS(3)};
    struct ps_sim_link *l = ps_sim_link_new(w->sim, &imp);
    struct ps_config c;
    ps_config_default(&c);
    c.seed = 1;
    w->srv = ps_stack_new(&c, PS_SEC(100));
    c.seed = 2;
    w->cli = ps_stack_new(&c, PS_SEC(100));
    REQUIRE(w->srv && w->cli);
    struct ps_iface *si = ps_sim_attach(l, w->srv, "eth0", NULL, 1500);
    struct ps_iface *ci = ps_sim_attach(l, w->cli, "eth0", NULL, 1500);
    REQUIRE(si && ci && ps_iface_add_addr(si, SRV, 24) == 0 && ps_iface_add_addr(ci, CLI, 24) == 0);
    if (clock_set)
        ps_stack_set_realtime_offset(w->srv, SERVER_EPOCH_US - (int64_t)PS_SEC(100));
    int err;
    w->d = ps_sntpd_start(w->srv, 0, 0, cfg, &err);
    REQUIRE(w->d && err == 0);
    CHECK_EQ(ps_sntpd_port(w->d), 123);
    /* Neighbours known first, so no request waits for ARP (an asymmetric
     * first exchange). */
    ps_icmp_echo_request(w->cli, SRV, 1, 1, 0, NULL, 8);
    ps_sim_run_for(w->sim, PS_MS(20));
}

static void world_free(struct world *w)
{
    if (w->sntp) {
        ps_sim_remove_poller(w->sim, sntp_poll, w->sntp);
        ps_sntp_stop(w->sntp);
    }
    ps_sntpd_stop(w->d);
    ps_sim_run_for(w->sim, PS_SEC(10));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(w->srv, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(w->sim);
    ps_stack_free(w->srv);
    ps_stack_free(w->cli);
}

static void start_client(struct world *w, unsigned interval)
{
    w->sntp = ps_sntp_start(w->cli, SRV, interval, on_result, w);
    REQUIRE(w->sntp);
    REQUIRE(ps_sim_add_poller(w->sim, sntp_poll, w->sntp) == 0);
}

static int64_t abs64(int64_t x)
{
    return x < 0 ? -x : x;
}

TEST(client_sets_its_clock_from_the_server)
{
    struct world w;
    world_new(&w, true, NULL);
    start_client(&w, 64);
    ps_sim_run_for(w.sim, PS_MS(100));
    REQUIRE(w.results == 1);
    CHECK_EQ(w.last.err, 0);
    CHECK_EQ(w.last.stratum, PS_SNTPD_STRATUM);
    CHECK(w.last.delay_us >= 5900 && w.last.delay_us <= 6100); /* 3 ms each way */
    CHECK(abs64(ps_stack_realtime(w.cli) - ps_stack_realtime(w.srv)) < 100);
    CHECK(abs64(ps_stack_realtime(w.cli) - SERVER_EPOCH_US) < (int64_t)PS_SEC(1));
    /* Every 64 s, and the clocks stay together. */
    ps_sim_run_for(w.sim, PS_SEC(200));
    CHECK_EQ(ps_sntp_updates(w.sntp), 4);
    CHECK(abs64(ps_stack_realtime(w.cli) - ps_stack_realtime(w.srv)) < 100);
    CHECK_EQ(ps_sntpd_stats(w.d)->requests, 4);
    CHECK_EQ(ps_sntpd_stats(w.d)->replies, 4);
    world_free(&w);
}

TEST(unset_clock_is_refused)
{
    struct world w;
    world_new(&w, false, NULL);
    start_client(&w, 0);
    ps_sim_run_for(w.sim, PS_MS(100));
    REQUIRE(w.results == 1);
    CHECK_EQ(w.last.err, -EPROTO); /* LI 3, stratum 0: no time to take */
    CHECK_EQ(ps_stack_realtime_offset(w.cli), 0);
    CHECK_EQ(ps_sntpd_stats(w.d)->unsynchronised, 1);
    CHECK_EQ(ps_sntpd_stats(w.d)->replies, 0);
    world_free(&w);
}

/* ---- hand-made requests ------------------------------------------------------------- */

static void put64(uint8_t *p, uint64_t v)
{
    ps_put32(p, (uint32_t)(v >> 32));
    ps_put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *p)
{
    return ((uint64_t)ps_get32(p) << 32) | ps_get32(p + 4);
}

/* Send a request (len bytes, first byte b0, poll 6, a transmit time
 * stamp) and return the reply's length, the reply in r. */
static ssize_t ask(struct world *w, uint8_t b0, size_t len, uint8_t r[64])
{
    int fd = ps_socket(w->cli, PS_SOCK_DGRAM);
    struct ps_sockaddr_in srv = {SRV, 123};
    REQUIRE(ps_connect(w->cli, fd, &srv) == 0);
    uint8_t q[64] = {b0, 0, 6};
    put64(q + 40, 0x0123456789abcdefULL);
    CHECK_EQ(ps_send(w->cli, fd, q, len, 0), (ssize_t)len);
    ps_sim_run_for(w->sim, PS_MS(20));
    ssize_t n = ps_recv(w->cli, fd, r, 64, 0);
    ps_close(w->cli, fd);
    return n;
}

TEST(reply_fields)
{
    struct world w;
    world_new(&w, true, NULL);
    uint8_t r[64];
    /* Version 3, client mode: a version-3 server reply. */
    REQUIRE(ask(&w, 3 << 3 | 3, 48, r) == 48);
    CHECK_EQ(r[0], 0 << 6 | 3 << 3 | 4);
    CHECK_EQ(r[1], 1);
    CHECK_EQ(r[2], 6);                          /* poll echoed */
    CHECK_EQ((int8_t)r[3], PS_SNTPD_PRECISION);
    CHECK_MEM(r + 12, "LOCL", 4);
    CHECK_U64(get64(r + 24), 0x0123456789abcdefULL); /* originate */
    /* Receive = transmit = the server's clock, in NTP's era. */
    int64_t now_s = ps_stack_realtime(w.srv) / 1000000;
    CHECK(abs64((int64_t)ps_get32(r + 40) - NTP_UNIX_DELTA - now_s) <= 1);
    CHECK_U64(get64(r + 32), get64(r + 40));
    /* The reference time: when the clock was set (before the server started). */
    CHECK(ps_get32(r + 16) <= ps_get32(r + 40));
    /* The clock is set again: the reference time follows. */
    ps_sim_run_for(w.sim, PS_SEC(30));
    ps_stack_set_realtime_offset(w.srv, ps_stack_realtime_offset(w.srv) + PS_SEC(5));
    REQUIRE(ask(&w, 4 << 3 | 3, 48, r) == 48);
    CHECK_EQ(ps_get32(r + 16), ps_get32(r + 40));
    /* Longer requests (extension fields, a MAC) still get 48 bytes. */
    CHECK_EQ(ask(&w, 4 << 3 | 3, 64, r), 48);
    /* Dropped: server mode, symmetric mode, version 0 and 5, a runt. */
    CHECK_EQ(ask(&w, 4 << 3 | 4, 48, r), -EAGAIN);
    CHECK_EQ(ask(&w, 4 << 3 | 1, 48, r), -EAGAIN);
    CHECK_EQ(ask(&w, 0 << 3 | 3, 48, r), -EAGAIN);
    CHECK_EQ(ask(&w, 5 << 3 | 3, 48, r), -EAGAIN);
    CHECK_EQ(ask(&w, 4 << 3 | 3, 47, r), -EAGAIN);
    CHECK_EQ(ps_sntpd_stats(w.d)->dropped, 5);
    CHECK_EQ(ps_stack_stats(w.srv)->sntpd_drop, 5);
    CHECK_EQ(ps_sntpd_stats(w.d)->replies, 3);
    world_free(&w);
}

TEST(stratum_and_reference_id_configured)
{
    struct world w;
    struct ps_sntpd_config c = {.stratum = 3, .upstream = PS_IP4(203, 0, 113, 5)};
    world_new(&w, true, &c);
    uint8_t r[64];
    REQUIRE(ask(&w, 4 << 3 | 3, 48, r) == 48);
    CHECK_EQ(r[1], 3);
    CHECK_EQ(ps_get32(r + 12), PS_IP4(203, 0, 113, 5));
    world_free(&w);
    struct ps_sntpd_config gps = {.stratum = 1, .refid = "GPS"};
    world_new(&w, true, &gps);
    REQUIRE(ask(&w, 4 << 3 | 3, 48, r) == 48);
    CHECK_MEM(r + 12, "GPS\0", 4);
    struct ps_sntpd_config bad = {.stratum = 16};
    int err;
    CHECK(!ps_sntpd_start(w.srv, 0, 1123, &bad, &err) && err == -EINVAL);
    CHECK(!ps_sntpd_start(w.srv, 0, 0, NULL, &err) && err == -EADDRINUSE);
    world_free(&w);
}

int main(void)
{
    RUN(client_sets_its_clock_from_the_server);
    RUN(unset_clock_is_refused);
    RUN(reply_fields);
    RUN(stratum_and_reference_id_configured);
    TEST_END();
}
