/*
 * The ports module on its own: the port bitmap, ephemeral selection
 * (range, uniqueness, spread, seeds, exhaustion and release, sharing per
 * quadruple), the basic bind rules, and demultiplexing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/services.h>

#include "core/stack_impl.h"
#include "test.h"
#include "transport/port_bitmap.h"
#include "transport/ports.h"

#define US PS_IP4(192, 0, 2, 1)
#define US2 PS_IP4(192, 0, 2, 2)
#define PEER_A PS_IP4(198, 51, 100, 7)
#define PEER_B PS_IP4(203, 0, 113, 9)

/* Interfaces need a transmit function; these tests send nothing. */
static int no_tx(void *ctx, struct ps_iface *ifc, const uint8_t *f, size_t n)
{
    (void)ctx, (void)ifc, (void)f, (void)n;
    return 0;
}

static struct ps_stack *host(uint64_t seed, unsigned max_sockets)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = seed;
    cfg.max_sockets = max_sockets;
    struct ps_stack *s = ps_stack_new(&cfg, 0);
    REQUIRE(s);
    static const ps_mac_t mac = {{2, 0, 0, 0, 0, 1}};
    struct ps_iface *ifc = ps_iface_add(s, "eth0", &mac, 1500, no_tx, NULL);
    REQUIRE(ifc);
    REQUIRE(ps_iface_add_addr(ifc, US, 24) == 0);
    REQUIRE(ps_iface_add_addr(ifc, US2, 24) == 0);
    return s;
}

static struct ps_endpoint *eps_new(unsigned n, uint8_t proto)
{
    struct ps_endpoint *e = calloc(n, sizeof(*e));
    REQUIRE(e);
    for (unsigned i = 0; i < n; i++)
        e[i].proto = proto;
    return e;
}

TEST(bitmap_matches_brute_force)
{
    static struct ps_port_bitmap b;
    memset(&b, 0, sizeof(b));
    uint64_t r = 12345;
    for (int round = 0; round < 200; round++) {
        /* Fill densely so runs of full words appear. */
        for (int k = 0; k < 3000; k++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            uint16_t p = (uint16_t)(r >> 48);
            if ((r >> 20) & 7)
                ps_port_bitmap_set(&b, p);
            else
                ps_port_bitmap_clear(&b, p);
        }
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned from = (unsigned)(r >> 48), to = from + (unsigned)((r >> 16) % (65536 - from));
        int want = -1;
        for (unsigned p = from; p <= to; p++)
            if (!ps_port_bitmap_test(&b, (uint16_t)p)) {
                want = (int)p;
                break;
            }
        CHECK_EQ(ps_port_bitmap_find_clear(&b, from, to), want);
    }
    /* All full: nothing. */
    for (unsigned p = 0; p < 65536; p++)
        ps_port_bitmap_set(&b, (uint16_t)p);
    CHECK_EQ(ps_port_bitmap_find_clear(&b, 0, 65535), -1);
    ps_port_bitmap_clear(&b, 65535);
    CHECK_EQ(ps_port_bitmap_find_clear(&b, 0, 65535), 65535);
    CHECK_EQ(ps_port_bitmap_find_clear(&b, 0, 65534), -1);
}

TEST(bind_port0_in_range_unique_and_spread)
{
    struct ps_stack *s = host(1, 4096);
    unsigned n = 4000;
    struct ps_endpoint *e = eps_new(n, PS_IP_PROTO_UDP);
    static uint8_t seen[65536];
    memset(seen, 0, sizeof(seen));
    unsigned hist[16] = {0};
    for (unsigned i = 0; i < n; i++) {
        REQUIRE(ps_ports_bind(s, &e[i], 0, 0) == 0);
        CHECK(e[i].lport >= PS_DEFAULT_EPHEMERAL_LO);
        CHECK(!seen[e[i].lport]);
        seen[e[i].lport] = 1;
        hist[(e[i].lport - PS_DEFAULT_EPHEMERAL_LO) / 1024]++;
    }
    /* 4000 picks over 16 equal slices: 250 each; a chi-square with 15
     * degrees of freedom above 37.7 has p < 0.001. */
    double chi = 0;
    for (int i = 0; i < 16; i++)
        chi += (hist[i] - 250.0) * (hist[i] - 250.0) / 250.0;
    fprintf(stderr, "  chi-square of the spread: %.1f\n", chi);
    CHECK(chi < 37.7);
    /* Not sequential: consecutive picks are rarely neighbours. */
    unsigned adjacent = 0;
    for (unsigned i = 1; i < n; i++)
        adjacent += abs((int)e[i].lport - (int)e[i - 1].lport) <= 8;
    CHECK(adjacent < n / 20);
    CHECK_EQ(ps_ports_in_use(s, PS_IP_PROTO_UDP), n);
    for (unsigned i = 0; i < n; i++)
        ps_ports_unbind(s, &e[i]);
    CHECK_EQ(ps_ports_in_use(s, PS_IP_PROTO_UDP), 0);
    free(e);
    ps_stack_free(s);
}

static void picks(uint64_t seed, uint16_t *out, unsigned n)
{
    struct ps_stack *s = host(seed, 64);
    struct ps_endpoint *e = eps_new(n, PS_IP_PROTO_TCP);
    for (unsigned i = 0; i < n; i++) {
        REQUIRE(ps_ports_connect(s, &e[i], US, PEER_A, 443) == 0);
        out[i] = e[i].lport;
    }
    for (unsigned i = 0; i < n; i++)
        ps_ports_unbind(s, &e[i]);
    free(e);
    ps_stack_free(s);
}

TEST(seeds_replay_and_differ)
{
    uint16_t a[32], b[32], c[32];
    picks(7, a, 32);
    picks(7, b, 32);
    picks(8, c, 32);
    CHECK_MEM(a, b, sizeof(a));
    unsigned same = 0;
    for (int i = 0; i < 32; i++)
        same += a[i] == c[i];
    CHECK(same < 4);
}

TEST(exhaustion_release_success)
{
    struct ps_stack *s = host(2, 256);
    REQUIRE(ps_ports_set_range(s, 50000, 50099) == 0);
    struct ps_endpoint *e = eps_new(101, PS_IP_PROTO_UDP);
    for (unsigned i = 0; i < 100; i++)
        REQUIRE(ps_ports_bind(s, &e[i], 0, 0) == 0);
    CHECK_EQ(ps_ports_bind(s, &e[100], 0, 0), -EADDRNOTAVAIL);
    CHECK_EQ(ps_stack_stats(s)->ports_exhausted, 1);
    uint16_t freed = e[37].lport;
    ps_ports_unbind(s, &e[37]);
    CHECK_EQ(ps_ports_bind(s, &e[100], 0, 0), 0);
    CHECK_EQ(e[100].lport, freed);
    /* A per-socket range narrows the stack's. */
    struct ps_endpoint x = {.proto = PS_IP_PROTO_TCP, .range_lo = 50010, .range_hi = 50012};
    CHECK_EQ(ps_ports_bind(s, &x, 0, 0), 0);
    CHECK(x.lport >= 50010 && x.lport <= 50012);
    ps_ports_unbind(s, &x);
    for (unsigned i = 0; i <= 100; i++)
        if (i != 37)
            ps_ports_unbind(s, &e[i]);
    free(e);
    ps_stack_free(s);
}

TEST(connect_shares_ports_per_quadruple)
{
    struct ps_stack *s = host(3, 256);
    REQUIRE(ps_ports_set_range(s, 50000, 50009) == 0);
    struct ps_endpoint *a = eps_new(11, PS_IP_PROTO_TCP), *b = eps_new(10, PS_IP_PROTO_TCP);
    for (unsigned i = 0; i < 10; i++)
        REQUIRE(ps_ports_connect(s, &a[i], US, PEER_A, 80) == 0);
    /* The range is full toward PEER_A:80 ... */
    CHECK_EQ(ps_ports_connect(s, &a[10], US, PEER_A, 80), -EADDRNOTAVAIL);
    /* ... but each port is still free toward another peer. */
    for (unsigned i = 0; i < 10; i++)
        REQUIRE(ps_ports_connect(s, &b[i], US, PEER_B, 80) == 0);
    for (unsigned i = 0; i < 10; i++)
        for (unsigned j = 0; j < 10; j++)
            if (i != j) {
                CHECK(a[i].lport != a[j].lport);
                CHECK(b[i].lport != b[j].lport);
            }
    /* Another port of PEER_A is another quadruple too. */
    CHECK_EQ(ps_ports_connect(s, &a[10], US, PEER_A, 81), 0);
    /* bind(0) wants a port nobody uses: none is left. */
    struct ps_endpoint x = {.proto = PS_IP_PROTO_TCP};
    CHECK_EQ(ps_ports_bind(s, &x, 0, 0), -EADDRNOTAVAIL);
    for (unsigned i = 0; i < 10; i++) {
        ps_ports_unbind(s, &a[i]);
        ps_ports_unbind(s, &b[i]);
    }
    ps_ports_unbind(s, &a[10]);
    CHECK_EQ(ps_ports_in_use(s, PS_IP_PROTO_TCP), 0);
    free(a);
    free(b);
    ps_stack_free(s);
}

TEST(bind_basics)
{
    struct ps_stack *s = host(4, 64);
    struct ps_endpoint a = {.proto = PS_IP_PROTO_UDP}, b = {.proto = PS_IP_PROTO_UDP},
                       t = {.proto = PS_IP_PROTO_TCP};
    CHECK_EQ(ps_ports_bind(s, &a, PS_IP4(203, 0, 113, 1), 7), -EADDRNOTAVAIL); /* not ours */
    CHECK_EQ(ps_ports_bind(s, &a, US, 7), 0);
    CHECK_EQ(ps_ports_bind(s, &a, US, 8), -EINVAL); /* already bound */
    CHECK_EQ(ps_ports_bind(s, &b, 0, 7), -EADDRINUSE); /* wildcard overlaps */
    CHECK_EQ(ps_ports_bind(s, &b, US2, 7), 0);         /* another address: fine */
    CHECK_EQ(ps_ports_bind(s, &t, US, 7), 0);          /* TCP has its own ports */
    CHECK_EQ(ps_stack_stats(s)->ports_bind_conflict, 1);
    ps_ports_unbind(s, &a);
    ps_ports_unbind(s, &b);
    ps_ports_unbind(s, &t);
    ps_stack_free(s);
}

TEST(demux_specific_wildcard_connected_reuseport)
{
    struct ps_stack *s = host(5, 64);
    struct ps_endpoint wild = {.proto = PS_IP_PROTO_UDP, .flags = PS_EP_REUSEADDR},
                       spec = {.proto = PS_IP_PROTO_UDP, .flags = PS_EP_REUSEADDR},
                       conn = {.proto = PS_IP_PROTO_UDP, .flags = PS_EP_REUSEADDR};
    REQUIRE(ps_ports_bind(s, &wild, 0, 5000) == 0);
    REQUIRE(ps_ports_bind(s, &spec, US, 5000) == 0);
    REQUIRE(ps_ports_bind(s, &conn, US, 5000) == 0);
    REQUIRE(ps_ports_connect(s, &conn, US, PEER_A, 6000) == 0);
    /* The connected socket wins for its peer; specific beats wildcard. */
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_A, 6000, US, 5000) == &conn);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_A, 6001, US, 5000) == &spec);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_B, 6000, US, 5000) == &spec);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_A, 6000, US2, 5000) == &wild);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_A, 6000, US2, 5001) == NULL);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_TCP, PEER_A, 6000, US, 5000) == NULL);
    ps_ports_unbind(s, &spec);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_B, 6000, US, 5000) == &wild);
    ps_ports_disconnect(s, &conn); /* back to a bound socket on US */
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_A, 6000, US, 5000) == &conn);
    ps_ports_unbind(s, &conn);
    ps_ports_unbind(s, &wild);

    /* A SO_REUSEPORT group of four listeners: flows spread across all,
     * and one flow always reaches the same member. */
    struct ps_endpoint g[4];
    memset(g, 0, sizeof(g));
    for (int i = 0; i < 4; i++) {
        g[i].proto = PS_IP_PROTO_TCP;
        g[i].flags = PS_EP_REUSEPORT;
        REQUIRE(ps_ports_bind(s, &g[i], 0, 8080) == 0);
        REQUIRE(ps_ports_listen(s, &g[i]) == 0);
    }
    unsigned hits[4] = {0};
    for (unsigned f = 0; f < 4000; f++) {
        struct ps_endpoint *e = ps_ports_lookup(s, PS_IP_PROTO_TCP, PEER_A, (uint16_t)(10000 + f), US, 8080);
        REQUIRE(e >= g && e < g + 4);
        hits[e - g]++;
        CHECK(ps_ports_lookup(s, PS_IP_PROTO_TCP, PEER_A, (uint16_t)(10000 + f), US, 8080) == e);
    }
    for (int i = 0; i < 4; i++)
        CHECK(hits[i] > 850 && hits[i] < 1150);
    for (int i = 0; i < 4; i++)
        ps_ports_unbind(s, &g[i]);
    ps_stack_free(s);
}

TEST(demux_is_exact_with_many_endpoints)
{
    /* 20,000 connected endpoints: every quadruple finds its own. */
    unsigned n = 20000;
    struct ps_stack *s = host(6, n);
    struct ps_endpoint *e = eps_new(n, PS_IP_PROTO_UDP);
    for (unsigned i = 0; i < n; i++)
        REQUIRE(ps_ports_connect(s, &e[i], US, PEER_A + (i % 50), (uint16_t)(1000 + i / 50)) == 0);
    unsigned wrong = 0;
    for (unsigned i = 0; i < n; i++)
        wrong += ps_ports_lookup(s, PS_IP_PROTO_UDP, e[i].raddr, e[i].rport, US, e[i].lport) != &e[i];
    CHECK_EQ(wrong, 0);
    for (unsigned i = 0; i < n; i++)
        ps_ports_unbind(s, &e[i]);
    CHECK_EQ(ps_ports_in_use(s, PS_IP_PROTO_UDP), 0);
    free(e);
    ps_stack_free(s);
}

TEST(reconnect_keeps_port_and_old_peer_on_failure)
{
    struct ps_stack *s = host(9, 64);
    struct ps_endpoint e = {.proto = PS_IP_PROTO_UDP, .flags = PS_EP_REUSEADDR},
                       f = {.proto = PS_IP_PROTO_UDP, .flags = PS_EP_REUSEADDR};
    REQUIRE(ps_ports_bind(s, &e, US, 5000) == 0);
    REQUIRE(ps_ports_bind(s, &f, US, 5000) == 0);
    REQUIRE(ps_ports_connect(s, &e, US, PEER_A, 1) == 0);
    REQUIRE(ps_ports_connect(s, &f, US, PEER_B, 1) == 0);
    /* PEER_B:1 is f's quadruple: e keeps PEER_A. */
    CHECK_EQ(ps_ports_connect(s, &e, US, PEER_B, 1), -EADDRINUSE);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_A, 1, US, 5000) == &e);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_B, 1, US, 5000) == &f);
    /* A free quadruple: e moves, on the same port. */
    CHECK_EQ(ps_ports_connect(s, &e, US, PEER_B, 2), 0);
    CHECK_EQ(e.lport, 5000);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_B, 2, US, 5000) == &e);
    CHECK(ps_ports_lookup(s, PS_IP_PROTO_UDP, PEER_A, 1, US, 5000) == NULL);
    /* An autobound endpoint keeps its port across a reconnect too. */
    struct ps_endpoint g = {.proto = PS_IP_PROTO_UDP};
    REQUIRE(ps_ports_connect(s, &g, US, PEER_A, 53) == 0);
    uint16_t port = g.lport;
    CHECK_EQ(ps_ports_connect(s, &g, US, PEER_B, 53), 0);
    CHECK_EQ(g.lport, port);
    ps_ports_unbind(s, &e);
    ps_ports_unbind(s, &f);
    ps_ports_unbind(s, &g);
    CHECK_EQ(ps_ports_in_use(s, PS_IP_PROTO_UDP), 0);
    ps_stack_free(s);
}

TEST(port_secret_rekeyed_over_time)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.port_rekey_ms = 1000;
    struct ps_stack *s = ps_stack_new(&cfg, 0);
    REQUIRE(s);
    ps_stack_poll(s, PS_MS(900));
    CHECK_EQ(ps_stack_stats(s)->ports_rekey, 0);
    ps_stack_poll(s, PS_MS(1000));
    CHECK_EQ(ps_stack_stats(s)->ports_rekey, 1);
    ps_stack_poll(s, PS_MS(2500));
    CHECK_EQ(ps_stack_stats(s)->ports_rekey, 2);
    CHECK_U64(ps_stack_next_deadline(s), PS_MS(3500));
    ps_stack_free(s);
}

TEST(service_names_both_ways)
{
    CHECK(strcmp(ps_service_name(7, PS_IP_PROTO_UDP), "echo") == 0);
    CHECK(strcmp(ps_service_name(53, PS_IP_PROTO_TCP), "domain") == 0);
    CHECK(strcmp(ps_service_name(443, 0), "https") == 0);
    CHECK(strcmp(ps_service_name(123, PS_IP_PROTO_UDP), "ntp") == 0);
    CHECK(ps_service_name(123, PS_IP_PROTO_TCP) == NULL); /* NTP is UDP only */
    CHECK(ps_service_name(49999, 0) == NULL);
    CHECK_EQ(ps_service_port("http", PS_IP_PROTO_TCP), 80);
    CHECK_EQ(ps_service_port("discard", PS_IP_PROTO_UDP), 9);
    CHECK_EQ(ps_service_port("ssh", 0), 22);
    CHECK_EQ(ps_service_port("nonesuch", 0), 0);
    /* Every name maps back to its port. */
    static const uint16_t ports[] = {7, 9, 13, 22, 53, 67, 68, 80, 123, 443, 5353, 8080};
    for (unsigned i = 0; i < sizeof ports / sizeof ports[0]; i++)
        CHECK_EQ(ps_service_port(ps_service_name(ports[i], 0), 0), ports[i]);
    CHECK(strcmp(ps_port_class(80), "well-known") == 0);
    CHECK(strcmp(ps_port_class(1024), "registered") == 0);
    CHECK(strcmp(ps_port_class(49152), "dynamic") == 0);
}

int main(void)
{
    RUN(service_names_both_ways);
    RUN(port_secret_rekeyed_over_time);
    RUN(reconnect_keeps_port_and_old_peer_on_failure);
    RUN(bitmap_matches_brute_force);
    RUN(bind_port0_in_range_unique_and_spread);
    RUN(seeds_replay_and_differ);
    RUN(exhaustion_release_success);
    RUN(connect_shares_ports_per_quadruple);
    RUN(bind_basics);
    RUN(demux_specific_wildcard_connected_reuseport);
    RUN(demux_is_exact_with_many_endpoints);
    TEST_END();
}
