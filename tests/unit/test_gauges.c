/*
 * tests/unit/test_gauges.c - the gauges (gauges.h): each follows its
 * resource up and down, keeps the most ever held, reports its configured
 * limit, and under a flood shows the bound reached but never passed.
 */
#include <portstack/gauges.h>
#include <portstack/socket.h>

#include "frames.h"

static struct ps_gauge gauge(struct net *n, enum ps_gauge_id id)
{
    struct ps_gauge g;
    REQUIRE(ps_stack_gauge(n->s, id, &g));
    return g;
}

/* Every gauge has a name, a description and its ps_config field's value as
 * its limit; past the end there is none. */
TEST(names_and_limits)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.pbuf_small_count = 77;
    cfg.reasm_max_pbufs = 33;
    cfg.max_sockets = 99;
    struct net *n = net_new(&cfg, 0, 0);
    REQUIRE(n);
    struct ps_gauge g;
    unsigned i = 0;
    while (ps_stack_gauge(n->s, i, &g)) {
        CHECK(g.name && g.name[0]);
        CHECK(g.desc && g.desc[0]);
        CHECK(g.peak >= g.now);
        CHECK(g.limit > 0);
        i++;
    }
    CHECK_EQ(i, PS_GAUGE_COUNT);
    CHECK_EQ(gauge(n, PS_GAUGE_pbuf_small_used).limit, 77);
    CHECK_EQ(gauge(n, PS_GAUGE_reasm_pbufs_held).limit, 33);
    CHECK_EQ(gauge(n, PS_GAUGE_sockets_used).limit, 99);
    CHECK_EQ(gauge(n, PS_GAUGE_tcp_timewait_records).limit, cfg.tcp_timewait_max);
    CHECK(strcmp(gauge(n, PS_GAUGE_sockets_used).name, "sockets_used") == 0);
    NET_FREE(n);
}

/* Buffers and sockets: the level follows, the peak stays. */
TEST(level_and_peak)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    uint64_t base = gauge(n, PS_GAUGE_pbuf_small_used).now;
    struct ps_pbuf *p[10];
    for (int i = 0; i < 10; i++)
        REQUIRE((p[i] = ps_pbuf_alloc(n->s, 100)) != NULL);
    CHECK_EQ(gauge(n, PS_GAUGE_pbuf_small_used).now, base + 10);
    for (int i = 0; i < 10; i++)
        ps_pbuf_free(n->s, p[i]);
    struct ps_gauge g = gauge(n, PS_GAUGE_pbuf_small_used);
    CHECK_EQ(g.now, base);
    CHECK(g.peak >= base + 10);
    struct ps_pbuf *big = ps_pbuf_alloc(n->s, 20000);
    REQUIRE(big);
    CHECK_EQ(gauge(n, PS_GAUGE_pbuf_large_used).now, 1);
    ps_pbuf_free(n->s, big);
    CHECK_EQ(gauge(n, PS_GAUGE_pbuf_large_used).now, 0);
    CHECK_EQ(gauge(n, PS_GAUGE_pbuf_large_used).peak, 1);

    int fds[5];
    for (int i = 0; i < 5; i++)
        REQUIRE((fds[i] = ps_socket(n->s, i % 2 ? PS_SOCK_STREAM : PS_SOCK_DGRAM)) >= 0);
    CHECK_EQ(gauge(n, PS_GAUGE_sockets_used).now, 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(ps_close(n->s, fds[i]), 0);
    CHECK_EQ(gauge(n, PS_GAUGE_sockets_used).now, 0);
    CHECK_EQ(gauge(n, PS_GAUGE_sockets_used).peak, 5);
    NET_FREE(n);
}

/* A flood of first fragments that never complete: reassembly holds at most
 * reasm_max_datagrams datagrams and reasm_max_pbufs buffers; the gauges
 * reach both bounds and never pass them, and fall to 0 at the timeout. */
TEST(reassembly_flood_at_the_bound)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.reasm_max_datagrams = 6;
    cfg.reasm_max_pbufs = 20;
    struct net *n = net_new(&cfg, NET_STATIC_PEERS, 0);
    REQUIRE(n);
    uint8_t data[1000], f[FRAME_MAX];
    memset(data, 0x5a, sizeof data);
    struct ps_stats b = SNAP(n);
    for (unsigned id = 0; id < 100; id++) {
        /* One piece each of the first 50 datagrams (the bound on datagrams
         * evicts), then five each (the bound on buffers evicts); none is
         * ever the last piece. */
        for (unsigned k = 0; k < (id < 50 ? 1u : 5u); k++) {
            struct ps_ipv4_hdr h = ip_hdr(IP_PEER, IP_US, PS_IP_PROTO_UDP);
            h.id = (uint16_t)id;
            h.frag_off = (uint16_t)(k * 1000);
            h.mf = true;
            net_input(n, n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &h, data, sizeof data));
            struct ps_gauge d = gauge(n, PS_GAUGE_reasm_datagrams), p = gauge(n, PS_GAUGE_reasm_pbufs_held);
            REQUIRE(d.now <= 6 && p.now <= 20);
        }
    }
    struct ps_gauge d = gauge(n, PS_GAUGE_reasm_datagrams), p = gauge(n, PS_GAUGE_reasm_pbufs_held);
    CHECK_EQ(d.peak, 6);
    CHECK_EQ(p.peak, 20);
    CHECK_EQ(d.limit, 6);
    CHECK_EQ(p.limit, 20);
    CHECK(ps_stack_stats(n->s)->ip_reasm_evicted - b.ip_reasm_evicted >= 90);
    net_drain(n); /* the reassembly timeouts */
    CHECK_EQ(gauge(n, PS_GAUGE_reasm_datagrams).now, 0);
    CHECK_EQ(gauge(n, PS_GAUGE_reasm_pbufs_held).now, 0);
    CHECK_EQ(gauge(n, PS_GAUGE_reasm_pbufs_held).peak, 20);
    NET_FREE(n);
}

/* The printed form, which `portstack run` shows on SIGUSR1 and at exit. */
TEST(printed)
{
    struct net *n = net_new(NULL, 0, 0);
    REQUIRE(n);
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    REQUIRE(f);
    ps_gauges_print(n->s, f);
    fclose(f);
    char line[160];
    snprintf(line, sizeof line, "  %-24s now %8u  peak %8u  limit %8u  ", "sockets_used", 0u, 0u,
             ps_stack_config(n->s)->max_sockets);
    CHECK(strstr(buf, line) != NULL);
    unsigned lines = 0;
    for (const char *c = buf; *c; c++)
        lines += *c == '\n';
    CHECK_EQ(lines, PS_GAUGE_COUNT);
    NET_FREE(n);
}

int main(void)
{
    RUN(names_and_limits);
    RUN(level_and_peak);
    RUN(reassembly_flood_at_the_bound);
    RUN(printed);
    TEST_END();
}
