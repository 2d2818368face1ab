/*
 * Simulation tests of the network layer: hosts and a router on simulated
 * wires, driven by the virtual clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <portstack/pcap.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>

#include "test.h"

/* ---- a small world: hostA -- router -- hostB, or two hosts on one wire ---- */

struct world {
    struct ps_sim *sim;
    struct ps_stack *a, *r, *b;
    struct ps_iface *a0, *r0, *r1, *b0;
    struct ps_sim_link *l1, *l2;
};

static struct ps_stack *new_stack(uint64_t seed, bool router)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = seed;
    cfg.ip_forwarding = router;
    struct ps_stack *s = ps_stack_new(&cfg, 0);
    REQUIRE(s);
    return s;
}

/* Two hosts on one link (r unused). */
static void two_hosts(struct world *w, uint64_t seed, const struct ps_sim_impair *imp)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(seed, 0);
    w->a = new_stack(seed + 1, false);
    w->b = new_stack(seed + 2, false);
    w->l1 = ps_sim_link_new(w->sim, imp);
    w->a0 = ps_sim_attach(w->l1, w->a, "eth0", NULL, 1500);
    w->b0 = ps_sim_attach(w->l1, w->b, "eth0", NULL, 1500);
    REQUIRE(w->sim && w->l1 && w->a0 && w->b0);
    CHECK_EQ(ps_iface_add_addr(w->a0, PS_IP4(192, 0, 2, 10), 24), 0);
    CHECK_EQ(ps_iface_add_addr(w->b0, PS_IP4(192, 0, 2, 20), 24), 0);
}

static void three_hosts(struct world *w, uint64_t seed, const struct ps_sim_impair *imp, uint16_t mtu2)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(seed, 0);
    w->a = new_stack(seed + 1, false);
    w->r = new_stack(seed + 2, true);
    w->b = new_stack(seed + 3, false);
    w->l1 = ps_sim_link_new(w->sim, imp);
    w->l2 = ps_sim_link_new(w->sim, imp);
    w->a0 = ps_sim_attach(w->l1, w->a, "eth0", NULL, 1500);
    w->r0 = ps_sim_attach(w->l1, w->r, "eth0", NULL, 1500);
    w->r1 = ps_sim_attach(w->l2, w->r, "eth1", NULL, mtu2);
    w->b0 = ps_sim_attach(w->l2, w->b, "eth0", NULL, mtu2);
    REQUIRE(w->a0 && w->r0 && w->r1 && w->b0);
    CHECK_EQ(ps_iface_add_addr(w->a0, PS_IP4(192, 0, 2, 10), 24), 0);
    CHECK_EQ(ps_iface_add_addr(w->r0, PS_IP4(192, 0, 2, 1), 24), 0);
    CHECK_EQ(ps_iface_add_addr(w->r1, PS_IP4(198, 51, 100, 1), 24), 0);
    CHECK_EQ(ps_iface_add_addr(w->b0, PS_IP4(198, 51, 100, 20), 24), 0);
    CHECK_EQ(ps_route_add(w->a, 0, 0, PS_IP4(192, 0, 2, 1), w->a0), 0);
    CHECK_EQ(ps_route_add(w->b, 0, 0, PS_IP4(198, 51, 100, 1), w->b0), 0);
}

static void pools_full(struct ps_stack *s)
{
    unsigned sf, st, lf, lt;
    if (!s)
        return;
    ps_pbuf_pool_usage(s, &sf, &st, &lf, &lt);
    CHECK_EQ(sf, st);
    CHECK_EQ(lf, lt);
}

static void world_free(struct world *w)
{
    /* Let every timer run out first: then no buffer may be held anywhere. */
    ps_sim_run_for(w->sim, PS_SEC(600));
    pools_full(w->a);
    pools_full(w->r);
    pools_full(w->b);
    ps_sim_free(w->sim);
    ps_stack_free(w->a);
    ps_stack_free(w->r);
    ps_stack_free(w->b);
}

static ps_time_t pinger_poll(void *ctx, ps_time_t now)
{
    return ps_pinger_poll(ctx, now);
}

/* Run a pinger to completion; fills the summary. */
static void run_ping(struct world *w, struct ps_stack *from, const struct ps_pinger_cfg *cfg,
                     struct ps_ping_summary *sum, struct ps_pinger **keep)
{
    struct ps_pinger *p = ps_pinger_new(from, cfg, NULL, NULL);
    REQUIRE(p);
    REQUIRE(ps_sim_add_poller(w->sim, pinger_poll, p) == 0);
    ps_time_t limit = ps_sim_now(w->sim) + cfg->count * (cfg->interval ? cfg->interval : PS_SEC(1)) + PS_SEC(30);
    CHECK(ps_sim_run_while_not(w->sim, (bool (*)(void *))ps_pinger_done, p, limit));
    ps_pinger_summary(p, sum);
    ps_sim_remove_poller(w->sim, pinger_poll, p);
    if (keep)
        *keep = p;
    else
        ps_pinger_free(p);
}

/* ---- tests ---------------------------------------------------------------- */

TEST(two_hosts_ping)
{
    struct world w;
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    two_hosts(&w, 10, &imp);
    struct ps_pinger_cfg pc = {.dst = PS_IP4(192, 0, 2, 20), .count = 10, .interval = PS_MS(100)};
    struct ps_ping_summary sum;
    run_ping(&w, w.a, &pc, &sum, NULL);
    CHECK_EQ(sum.sent, 10);
    CHECK_EQ(sum.received, 10);
    CHECK_EQ(sum.duplicates, 0);
    CHECK_EQ(sum.corrupt, 0);
    /* The first probe waited one ARP round trip: 2 ms more than the rest. */
    CHECK_U64(sum.rtt_min, PS_MS(2));
    CHECK_U64(sum.rtt_max, PS_MS(4));
    /* ARP resolved both ways: A asked, B learnt A from the request. */
    struct ps_arp_entry_info e;
    REQUIRE(ps_arp_lookup(w.a, PS_IP4(192, 0, 2, 20), &e));
    CHECK_EQ(e.state, PS_ARP_RESOLVED);
    CHECK(ps_mac_equal(&e.mac, ps_iface_mac(w.b0)));
    REQUIRE(ps_arp_lookup(w.b, PS_IP4(192, 0, 2, 10), &e));
    CHECK_EQ(e.state, PS_ARP_RESOLVED);
    CHECK(ps_mac_equal(&e.mac, ps_iface_mac(w.a0)));
    CHECK_EQ(ps_stack_stats(w.a)->arp_tx_request, 1);
    CHECK_EQ(ps_stack_stats(w.b)->arp_tx_request, 0);
    CHECK_EQ(ps_stack_stats(w.b)->icmp_echo_reply_tx, 10);
    world_free(&w);
}

TEST(three_hosts_through_router)
{
    struct world w;
    struct ps_sim_impair imp = {.delay = PS_MS(2)};
    three_hosts(&w, 20, &imp, 1500);
    struct ps_pinger_cfg pc = {.dst = PS_IP4(198, 51, 100, 20), .count = 20, .interval = PS_MS(50)};
    struct ps_ping_summary sum;
    struct ps_pinger *p;
    run_ping(&w, w.a, &pc, &sum, &p);
    CHECK_EQ(sum.received, 20);
    /* Four wire crossings of 2 ms once every neighbour is known. */
    CHECK_U64(sum.rtt_min, PS_MS(8));
    /* The reply crossed the router: TTL 64 - 1. */
    CHECK_EQ(ps_pinger_probe(p, 5)->ttl, 63);
    ps_pinger_free(p);
    CHECK_EQ(ps_stack_stats(w.r)->ip_forwarded, 40);
    /* And the other way, to the router's far address and to hostA. */
    struct ps_pinger_cfg back = {.dst = PS_IP4(192, 0, 2, 10), .count = 5, .interval = PS_MS(50)};
    run_ping(&w, w.b, &back, &sum, NULL);
    CHECK_EQ(sum.received, 5);
    struct ps_pinger_cfg rtr = {.dst = PS_IP4(192, 0, 2, 1), .count = 5, .interval = PS_MS(50)};
    run_ping(&w, w.b, &rtr, &sum, NULL);
    CHECK_EQ(sum.received, 5);
    CHECK_U64(sum.rtt_min, PS_MS(4)); /* the router answers for its other address itself */
    world_free(&w);
}

TEST(fragments_through_router_with_small_mtu)
{
    struct world w;
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    /* Link 2 has a 576-byte MTU: the router must fragment hostA's 1500-byte
     * fragments again, and hostB's replies arrive in small pieces. */
    three_hosts(&w, 30, &imp, 576);
    struct ps_pinger_cfg pc = {.dst = PS_IP4(198, 51, 100, 20), .count = 5, .interval = PS_MS(100), .size = 4000};
    struct ps_ping_summary sum;
    run_ping(&w, w.a, &pc, &sum, NULL);
    CHECK_EQ(sum.received, 5);
    CHECK_EQ(sum.corrupt, 0);
    CHECK_EQ(ps_stack_stats(w.b)->ip_reasm_ok, 5);
    CHECK_EQ(ps_stack_stats(w.a)->ip_reasm_ok, 5);
    CHECK(ps_stack_stats(w.r)->ip_frag_tx >= 5 * 8);
    /* 65507 bytes, the largest ICMP payload there is. */
    struct ps_pinger_cfg huge = {.dst = PS_IP4(198, 51, 100, 20), .count = 1, .size = 65507};
    run_ping(&w, w.a, &huge, &sum, NULL);
    CHECK_EQ(sum.received, 1);
    world_free(&w);
}

TEST(icmp_errors_reach_the_sender)
{
    struct world w;
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    three_hosts(&w, 40, &imp, 1500);
    struct ps_ping_summary sum;
    struct ps_pinger *p;
    /* TTL 1 dies at the router: time exceeded, from the router. */
    struct ps_pinger_cfg ttl = {.dst = PS_IP4(198, 51, 100, 20), .count = 1, .ttl = 1};
    run_ping(&w, w.a, &ttl, &sum, &p);
    CHECK_EQ(sum.errors, 1);
    CHECK_EQ(ps_pinger_probe(p, 0)->err_type, PS_ICMP_TIME_EXCEEDED);
    CHECK_EQ(ps_pinger_probe(p, 0)->from, PS_IP4(192, 0, 2, 1));
    ps_pinger_free(p);
    /* No route at the router: network unreachable. */
    struct ps_pinger_cfg nr = {.dst = PS_IP4(203, 0, 113, 9), .count = 1};
    run_ping(&w, w.a, &nr, &sum, &p);
    CHECK_EQ(sum.errors, 1);
    CHECK_EQ(ps_pinger_probe(p, 0)->err_type, PS_ICMP_DEST_UNREACH);
    CHECK_EQ(ps_pinger_probe(p, 0)->err_code, PS_ICMP_UNREACH_NET);
    ps_pinger_free(p);
    /* A host that does not exist on the router's link: ARP gives up after
     * its retries and the router reports host unreachable. */
    struct ps_pinger_cfg nh = {.dst = PS_IP4(198, 51, 100, 99), .count = 1, .timeout = PS_SEC(20)};
    run_ping(&w, w.a, &nh, &sum, &p);
    CHECK_EQ(sum.errors, 1);
    CHECK_EQ(ps_pinger_probe(p, 0)->err_code, PS_ICMP_UNREACH_HOST);
    CHECK_EQ(ps_stack_stats(w.r)->arp_timeout, 1);
    /* The router learnt hostA from its request; it asked for .99 five times. */
    CHECK_EQ(ps_stack_stats(w.r)->arp_tx_request, PS_DEFAULT_ARP_RETRIES);
    ps_pinger_free(p);
    /* A UDP datagram to a port of hostB no socket holds: hostB answers port
     * unreachable, and hostA's transport layer is handed the error with the
     * quoted header (no socket sent it, so it stays unmatched). */
    uint64_t before = ps_stack_stats(w.a)->tp_icmp_err_unmatched;
    struct ps_pbuf *u = ps_pbuf_alloc(w.a, 8 + 4);
    REQUIRE(u);
    struct ps_udp_hdr uh = {.sport = 40000, .dport = 9, .len = 12};
    memcpy(u->data + 8, "ping", 4);
    ps_udp_emit(u->data, &uh, PS_IP4(192, 0, 2, 10), PS_IP4(198, 51, 100, 20), 4);
    struct ps_ip_tx tx = {.dst = PS_IP4(198, 51, 100, 20), .proto = PS_IP_PROTO_UDP};
    CHECK_EQ(ps_ip_output(w.a, u, &tx), 0);
    ps_sim_run_for(w.sim, PS_MS(100));
    CHECK_EQ(ps_stack_stats(w.b)->udp_drop_no_port, 1);
    CHECK_EQ(ps_stack_stats(w.a)->icmp_err_rx, 4);
    CHECK_EQ(ps_stack_stats(w.a)->tp_icmp_err_unmatched, before + 1);
    world_free(&w);
}

/* Run the same lossy, jittery scenario and write its pcap. */
static void scenario_pcap(uint64_t seed, const char *path)
{
    struct world w;
    struct ps_sim_impair imp = {.delay = PS_MS(3), .jitter = PS_MS(2), .loss = 0.1, .duplicate = 0.05,
                                .reorder = 0.05, .reorder_delay = PS_MS(5), .bandwidth_bps = 10000000};
    three_hosts(&w, seed, &imp, 1500);
    struct ps_pcap *pc = ps_pcap_open(path, 0);
    REQUIRE(pc);
    ps_pcap_attach(pc, w.a0, false);
    ps_pcap_attach(pc, w.b0, true);
    struct ps_pinger_cfg pc1 = {.dst = PS_IP4(198, 51, 100, 20), .count = 30, .interval = PS_MS(20), .size = 2000};
    struct ps_ping_summary sum;
    run_ping(&w, w.a, &pc1, &sum, NULL);
    CHECK(sum.received > 10);
    ps_iface_set_capture(w.a0, NULL, NULL);
    ps_iface_set_capture(w.b0, NULL, NULL);
    CHECK(ps_pcap_frames(pc) > 100);
    CHECK_EQ(ps_pcap_close(pc), 0);
    world_free(&w);
}

static long read_file(const char *path, unsigned char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n);
    if (!*out || fread(*out, 1, (size_t)n, f) != (size_t)n)
        n = -1;
    fclose(f);
    return n;
}

TEST(same_seed_same_pcap)
{
    char p1[64], p2[64], p3[64];
    snprintf(p1, sizeof(p1), "/tmp/ps-det-%d-1.pcap", (int)getpid());
    snprintf(p2, sizeof(p2), "/tmp/ps-det-%d-2.pcap", (int)getpid());
    snprintf(p3, sizeof(p3), "/tmp/ps-det-%d-3.pcap", (int)getpid());
    scenario_pcap(77, p1);
    scenario_pcap(77, p2);
    scenario_pcap(78, p3);
    unsigned char *a = NULL, *b = NULL, *c = NULL;
    long na = read_file(p1, &a), nb = read_file(p2, &b), nc = read_file(p3, &c);
    REQUIRE(na > 1000 && nb > 0 && nc > 0);
    CHECK_EQ(na, nb);
    CHECK(na == nb && memcmp(a, b, (size_t)na) == 0);
    CHECK(na != nc || memcmp(a, c, (size_t)na) != 0);
    free(a);
    free(b);
    free(c);
    remove(p1);
    remove(p2);
    remove(p3);
}

TEST(loss_20_percent_1000_pings)
{
    struct world w;
    struct ps_sim_impair imp = {.delay = PS_MS(1), .loss = 0.2};
    two_hosts(&w, 50, &imp);
    /* 100 s of pings: ARP entries expire (60 s) and refresh on the way. */
    struct ps_pinger_cfg pc = {.dst = PS_IP4(192, 0, 2, 20), .count = 1000, .interval = PS_MS(100),
                               .timeout = PS_SEC(3)};
    struct ps_ping_summary sum;
    run_ping(&w, w.a, &pc, &sum, NULL);
    double share = sum.received / 1000.0;
    fprintf(stderr, "  answered %u of 1000 (expected 640)\n", sum.received);
    /* Request and reply each cross the lossy wire once: (1-0.2)^2 = 0.64;
     * the standard deviation over 1000 probes is 0.015. */
    CHECK(share > 0.60 && share < 0.68);
    CHECK_EQ(sum.received + sum.lost, 1000);
    CHECK(ps_stack_stats(w.a)->arp_resolved >= 1);
    world_free(&w);
}

TEST(arp_retries_through_loss)
{
    /* ARP alone at 20% loss, over many seeds: a resolution needs a request
     * and a reply to survive (0.64), so on average 1/0.64 = 1.56 requests;
     * with 5 tries, 0.36^5 = 0.6% of resolutions fail. */
    unsigned resolved = 0, requests = 0, runs = 300;
    for (unsigned seed = 0; seed < runs; seed++) {
        struct world w;
        struct ps_sim_impair imp = {.delay = PS_MS(1), .loss = 0.2};
        two_hosts(&w, 1000 + seed, &imp);
        struct ps_pinger_cfg pc = {.dst = PS_IP4(192, 0, 2, 20), .count = 1, .timeout = PS_SEC(10)};
        struct ps_ping_summary sum;
        run_ping(&w, w.a, &pc, &sum, NULL);
        struct ps_arp_entry_info e;
        if (ps_arp_lookup(w.a, PS_IP4(192, 0, 2, 20), &e) && e.state == PS_ARP_RESOLVED)
            resolved++;
        requests += (unsigned)ps_stack_stats(w.a)->arp_tx_request;
        world_free(&w);
    }
    double mean = (double)requests / runs;
    fprintf(stderr, "  resolved %u of %u, %.2f requests each\n", resolved, runs, mean);
    CHECK(resolved >= runs - 6);
    CHECK(mean > 1.35 && mean < 1.80);
}

int main(void)
{
    RUN(two_hosts_ping);
    RUN(three_hosts_through_router);
    RUN(fragments_through_router_with_small_mtu);
    RUN(icmp_errors_reach_the_sender);
    RUN(same_seed_same_pcap);
    RUN(loss_20_percent_1000_pings);
    RUN(arp_retries_through_loss);
    TEST_END();
}
