/*
 * The DHCP server on a simulated link, against portstack's own DHCP
 * client (several hosts at once: distinct addresses, the configuration
 * applied, renewal, release and reuse, expiry, an exhausted pool) and
 * against hand-made requests for the cases a well-behaved client does not
 * produce (a REQUEST for another server, INIT-REBOOT on the wrong
 * network, DECLINE, INFORM, relayed and malformed messages).
 */
#include <errno.h>
#include <string.h>

#include <portstack/dhcp.h>
#include <portstack/dhcp_server.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "apps/dhcp_msg.h"
#include "test.h"

#define SRV PS_IP4(192, 0, 2, 1)
#define POOL0 PS_IP4(192, 0, 2, 100)
#define NS PS_IP4(192, 0, 2, 53)
#define LEASE_S 100
#define MAX_CLIENTS 4

struct world {
    struct ps_sim *sim;
    struct ps_sim_link *link;
    struct ps_stack *srv;
    struct ps_dhcpd *d;
    struct ps_stack *c[MAX_CLIENTS];
    struct ps_iface *cif[MAX_CLIENTS];
    struct ps_dhcp *dhcp[MAX_CLIENTS];
    unsigned n;
    unsigned events[PS_DHCPD_EV_EXPIRE + 1];
};

/* The server's deadlines move when requests come, which a sim poller
 * does not see; look at least every 100 ms, as a host loop would. */
static ps_time_t dhcpd_poll(void *ctx, ps_time_t now)
{
    ps_time_t next = ps_dhcpd_poll(ctx, now);
    return next < now + PS_MS(100) ? next : now + PS_MS(100);
}

static ps_time_t dhcp_poll(void *ctx, ps_time_t now)
{
    return ps_dhcp_poll(ctx, now);
}

static void on_event(void *ctx, enum ps_dhcpd_event ev, const struct ps_dhcpd_lease *l)
{
    struct world *w = ctx;
    (void)l;
    w->events[ev]++;
}

/* A server with a pool of pool_n addresses from POOL0, and n client
 * stacks (clients not started yet). */
static void world_new(struct world *w, unsigned n, unsigned pool_n)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(11, 0);
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    w->link = ps_sim_link_new(w->sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 100;
    w->srv = ps_stack_new(&cfg, 0);
    REQUIRE(w->srv);
    struct ps_iface *sif = ps_sim_attach(w->link, w->srv, "eth0", NULL, 1500);
    REQUIRE(sif && ps_iface_add_addr(sif, SRV, 24) == 0);
    struct ps_dhcpd_config dc = {
        .server = SRV, .prefix = 24, .pool_first = POOL0, .pool_last = POOL0 + pool_n - 1,
        .router = SRV, .dns = {NS}, .ndns = 1, .lease_s = LEASE_S,
    };
    int err;
    w->d = ps_dhcpd_start(w->srv, &dc, &err);
    REQUIRE(w->d && err == 0);
    ps_dhcpd_set_callback(w->d, on_event, w);
    REQUIRE(ps_sim_add_poller(w->sim, dhcpd_poll, w->d) == 0);
    w->n = n;
    for (unsigned i = 0; i < n; i++) {
        cfg.seed = 1 + i;
        w->c[i] = ps_stack_new(&cfg, 0);
        REQUIRE(w->c[i]);
        w->cif[i] = ps_sim_attach(w->link, w->c[i], "eth0", NULL, 1500);
        REQUIRE(w->cif[i]);
    }
}

static void start_client(struct world *w, unsigned i)
{
    int err;
    w->dhcp[i] = ps_dhcp_start(w->c[i], w->cif[i], NULL, NULL, &err);
    REQUIRE(w->dhcp[i] && err == 0);
    REQUIRE(ps_sim_add_poller(w->sim, dhcp_poll, w->dhcp[i]) == 0);
}

static void stop_client(struct world *w, unsigned i)
{
    if (!w->dhcp[i])
        return;
    ps_sim_remove_poller(w->sim, dhcp_poll, w->dhcp[i]);
    ps_dhcp_stop(w->dhcp[i]); /* DHCPRELEASE */
    w->dhcp[i] = NULL;
}

static void world_free(struct world *w)
{
    for (unsigned i = 0; i < w->n; i++)
        stop_client(w, i);
    ps_sim_run_for(w->sim, PS_SEC(1));
    ps_sim_remove_poller(w->sim, dhcpd_poll, w->d);
    ps_dhcpd_stop(w->d);
    ps_sim_run_for(w->sim, PS_SEC(600));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(w->srv, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(w->sim);
    ps_stack_free(w->srv);
    for (unsigned i = 0; i < w->n; i++)
        ps_stack_free(w->c[i]);
}

struct all_bound {
    struct world *w;
    unsigned n;
};

static bool clients_bound(void *ctx)
{
    struct all_bound *a = ctx;
    for (unsigned i = 0; i < a->n; i++)
        if (!a->w->dhcp[i] || ps_dhcp_state(a->w->dhcp[i]) != PS_DHCP_BOUND)
            return false;
    return true;
}

static bool wait_bound(struct world *w, unsigned n, ps_time_t within)
{
    struct all_bound a = {w, n};
    return ps_sim_run_while_not(w->sim, clients_bound, &a, ps_sim_now(w->sim) + within);
}

static bool has_lease(void *ctx)
{
    return ps_dhcp_lease(ctx) != NULL;
}

static enum ps_dhcpd_lease_state state_of(struct world *w, ps_ip4_t addr);

TEST(clients_get_distinct_addresses_and_configuration)
{
    struct world w;
    world_new(&w, 3, 8);
    CHECK_EQ(ps_dhcpd_pool_size(w.d), 8);
    for (unsigned i = 0; i < 3; i++)
        start_client(&w, i);
    REQUIRE(wait_bound(&w, 3, PS_SEC(10)));
    ps_ip4_t seen[3];
    for (unsigned i = 0; i < 3; i++) {
        const struct ps_dhcp_lease *l = ps_dhcp_lease(w.dhcp[i]);
        REQUIRE(l);
        seen[i] = l->addr;
        CHECK(l->addr >= POOL0 && l->addr < POOL0 + 8);
        CHECK_EQ(l->prefix, 24);
        CHECK_EQ(l->router, SRV);
        CHECK_EQ(l->server, SRV);
        CHECK_EQ(l->ndns, 1);
        CHECK_EQ(l->dns[0], NS);
        CHECK_EQ(l->lease_s, LEASE_S);
        CHECK_EQ(l->t1_s, LEASE_S / 2);
        CHECK_EQ(l->t2_s, LEASE_S / 8 * 7);
        CHECK_EQ(state_of(&w, l->addr), PS_DHCPD_BOUND);
        /* Applied: the server reaches the client at its new address. */
        ps_ip4_t a;
        CHECK(ps_iface_addr(w.cif[i], 0, &a, NULL) && a == l->addr);
    }
    CHECK(seen[0] != seen[1] && seen[1] != seen[2] && seen[0] != seen[2]);
    CHECK_EQ(ps_dhcpd_leased(w.d), 3);
    const struct ps_dhcpd_stats *st = ps_dhcpd_stats(w.d);
    CHECK_EQ(st->discovers, 3);
    CHECK_EQ(st->offers, 3);
    CHECK_EQ(st->requests, 3);
    CHECK_EQ(st->acks, 3);
    CHECK_EQ(st->naks, 0);
    CHECK_EQ(w.events[PS_DHCPD_EV_OFFER], 3);
    CHECK_EQ(w.events[PS_DHCPD_EV_ACK], 3);
    CHECK_EQ(ps_icmp_echo_request(w.srv, seen[2], 9, 1, 0, NULL, 8), 0);
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK_EQ(ps_stack_stats(w.c[2])->icmp_echo_reply_tx, 1);
    world_free(&w);
}

static int find_state(void *ctx, const struct ps_dhcpd_lease *l)
{
    struct ps_dhcpd_lease *want = ctx;
    if (l->addr != want->addr)
        return 0;
    *want = *l;
    return 1;
}

static enum ps_dhcpd_lease_state state_of(struct world *w, ps_ip4_t addr)
{
    struct ps_dhcpd_lease l = {.addr = addr, .state = (enum ps_dhcpd_lease_state)-1};
    ps_dhcpd_foreach(w->d, find_state, &l);
    return l.state;
}

TEST(renewal_keeps_the_lease)
{
    struct world w;
    world_new(&w, 1, 4);
    start_client(&w, 0);
    REQUIRE(wait_bound(&w, 1, PS_SEC(10)));
    ps_ip4_t addr = ps_dhcp_lease(w.dhcp[0])->addr;
    /* Five lease times: renewed at every T1, by unicast, never lost. */
    for (int i = 0; i < 10; i++) {
        ps_sim_run_for(w.sim, PS_SEC(LEASE_S / 2));
        CHECK(ps_dhcp_state(w.dhcp[0]) == PS_DHCP_BOUND || ps_dhcp_state(w.dhcp[0]) == PS_DHCP_RENEWING);
        CHECK_EQ(state_of(&w, addr), PS_DHCPD_BOUND);
    }
    CHECK(ps_dhcpd_stats(w.d)->acks >= 10);
    CHECK_EQ(ps_dhcpd_stats(w.d)->expired, 0);
    CHECK_EQ(ps_dhcpd_stats(w.d)->discovers, 1);
    CHECK_EQ(ps_dhcp_lease(w.dhcp[0])->addr, addr);
    world_free(&w);
}

TEST(release_frees_and_the_client_gets_it_back)
{
    struct world w;
    world_new(&w, 2, 4);
    start_client(&w, 0);
    REQUIRE(wait_bound(&w, 1, PS_SEC(10)));
    ps_ip4_t first = ps_dhcp_lease(w.dhcp[0])->addr;
    /* The RELEASE goes by unicast to the server: let the client know the
     * server's MAC first (it learns it from the server's ARP request), as
     * a renewal would have. */
    CHECK_EQ(ps_icmp_echo_request(w.srv, first, 9, 1, 0, NULL, 8), 0);
    ps_sim_run_for(w.sim, PS_MS(50));
    stop_client(&w, 0);
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK_EQ(ps_dhcpd_stats(w.d)->releases, 1);
    CHECK_EQ(w.events[PS_DHCPD_EV_RELEASE], 1);
    CHECK_EQ(state_of(&w, first), PS_DHCPD_FREE);
    CHECK_EQ(ps_dhcpd_leased(w.d), 0);
    /* Another client gets a never-used address, not the released one. */
    start_client(&w, 1);
    REQUIRE(ps_sim_run_while_not(w.sim, has_lease, w.dhcp[1], ps_sim_now(w.sim) + PS_SEC(10)));
    CHECK(ps_dhcp_lease(w.dhcp[1])->addr != first);
    /* The first client comes back: its old address again. */
    start_client(&w, 0);
    REQUIRE(wait_bound(&w, 2, PS_SEC(10)));
    CHECK_EQ(ps_dhcp_lease(w.dhcp[0])->addr, first);
    world_free(&w);
}

TEST(lease_expires_when_not_renewed)
{
    struct world w;
    world_new(&w, 1, 4);
    start_client(&w, 0);
    REQUIRE(wait_bound(&w, 1, PS_SEC(10)));
    ps_ip4_t addr = ps_dhcp_lease(w.dhcp[0])->addr;
    /* The client vanishes without a word (cut off from the link). */
    struct ps_sim_impair dead = {.delay = PS_MS(1), .loss = 1.0};
    ps_sim_link_set_impair(w.link, &dead);
    ps_sim_run_for(w.sim, PS_SEC(LEASE_S - 2));
    CHECK_EQ(state_of(&w, addr), PS_DHCPD_BOUND);
    ps_sim_run_for(w.sim, PS_SEC(4));
    CHECK_EQ(state_of(&w, addr), PS_DHCPD_FREE);
    CHECK_EQ(ps_dhcpd_stats(w.d)->expired, 1);
    CHECK_EQ(w.events[PS_DHCPD_EV_EXPIRE], 1);
    CHECK_EQ(ps_dhcpd_leased(w.d), 0);
    /* And it comes back to a new lease of the same address. */
    struct ps_sim_impair ok = {.delay = PS_MS(1)};
    ps_sim_link_set_impair(w.link, &ok);
    REQUIRE(wait_bound(&w, 1, PS_SEC(200)));
    CHECK_EQ(ps_dhcp_lease(w.dhcp[0])->addr, addr);
    world_free(&w);
}

TEST(exhausted_pool_offers_nothing)
{
    struct world w;
    world_new(&w, 3, 2);
    for (unsigned i = 0; i < 3; i++)
        start_client(&w, i);
    ps_sim_run_for(w.sim, PS_SEC(30));
    unsigned n_bound = 0;
    for (unsigned i = 0; i < 3; i++)
        n_bound += ps_dhcp_state(w.dhcp[i]) == PS_DHCP_BOUND;
    CHECK_EQ(n_bound, 2);
    CHECK_EQ(ps_dhcpd_leased(w.d), 2);
    CHECK(ps_dhcpd_stats(w.d)->pool_exhausted >= 1);
    CHECK_EQ(ps_stack_stats(w.srv)->dhcpd_pool_exhausted, ps_dhcpd_stats(w.d)->pool_exhausted);
    CHECK_EQ(ps_dhcpd_stats(w.d)->offers, 2);
    /* One leaves: the third gets its address. */
    unsigned third = 0;
    while (ps_dhcp_state(w.dhcp[third]) == PS_DHCP_BOUND)
        third++;
    stop_client(&w, third == 0 ? 1 : 0);
    REQUIRE(ps_sim_run_while_not(w.sim, has_lease, w.dhcp[third], ps_sim_now(w.sim) + PS_SEC(130)));
    world_free(&w);
}

/* ---- hand-made requests ------------------------------------------------------------ */

struct probe {
    struct ps_stack *s;
    int fd;
    ps_mac_t mac;
    uint32_t xid;
    unsigned got;
    struct dhcp_in last;
    struct ps_sockaddr_in last_to_port; /* where the last reply came from */
};

static void on_probe(void *ctx, int fd, short ev)
{
    struct probe *p = ctx;
    (void)ev;
    uint8_t buf[1500];
    struct ps_sockaddr_in from;
    ssize_t n;
    while ((n = ps_recvfrom(p->s, fd, buf, sizeof(buf), 0, &from)) != -EAGAIN) {
        struct dhcp_in m;
        if (n > 0 && dhcp_parse(buf, (size_t)n, &m) == 0 && m.xid == p->xid && m.op == 2) {
            p->got++;
            p->last = m;
            p->last_to_port = from;
        }
    }
}

static void probe_new(struct probe *p, struct world *w)
{
    memset(p, 0, sizeof(*p));
    p->s = w->c[0];
    p->mac = *ps_iface_mac(w->cif[0]);
    p->fd = ps_socket(p->s, PS_SOCK_DGRAM);
    int one = 1;
    struct ps_sockaddr_in a = {0, PS_DHCP_CLIENT_PORT};
    REQUIRE(ps_setsockopt(p->s, p->fd, PS_SOL_SOCKET, PS_SO_BROADCAST, &one, sizeof(one)) == 0);
    REQUIRE(ps_bind(p->s, p->fd, &a) == 0);
    REQUIRE(ps_socket_set_callback(p->s, p->fd, on_probe, p) == 0);
}

/* Send message m (its chaddr and xid filled in here) and run a while;
 * returns the replies seen. */
static unsigned probe_send(struct world *w, struct probe *p, struct dhcp_out *m, uint32_t xid)
{
    uint8_t buf[DHCP_MAX_MSG];
    p->xid = m->xid = xid;
    m->chaddr = p->mac;
    p->got = 0;
    size_t len = dhcp_build(buf, m);
    struct ps_sockaddr_in to = {PS_IP4_BROADCAST, PS_DHCP_SERVER_PORT};
    CHECK(ps_sendto(p->s, p->fd, buf, len, 0, &to) == (ssize_t)len);
    ps_sim_run_for(w->sim, PS_MS(20));
    return p->got;
}

TEST(selecting_init_reboot_decline_inform)
{
    struct world w;
    world_new(&w, 1, 4);
    struct probe p;
    probe_new(&p, &w);
    /* DISCOVER asking for .102: offered .102. */
    struct dhcp_out m = {.type = DHCPDISCOVER, .requested = POOL0 + 2, .broadcast = true};
    REQUIRE(probe_send(&w, &p, &m, 1) == 1);
    CHECK_EQ(p.last.type, DHCPOFFER);
    CHECK_EQ(p.last.yiaddr, POOL0 + 2);
    CHECK_EQ(p.last.server, SRV);
    CHECK_EQ(p.last.client_id_len, 7); /* echoed (RFC 6842) */
    CHECK_EQ(state_of(&w, POOL0 + 2), PS_DHCPD_OFFERED);
    /* A REQUEST naming another server: our offer is withdrawn, no reply. */
    m = (struct dhcp_out){.type = DHCPREQUEST, .requested = POOL0 + 2, .server = PS_IP4(192, 0, 2, 9)};
    CHECK_EQ(probe_send(&w, &p, &m, 2), 0);
    CHECK_EQ(state_of(&w, POOL0 + 2), PS_DHCPD_FREE);
    /* Selecting us for an address we did not offer: NAK. */
    m = (struct dhcp_out){.type = DHCPREQUEST, .requested = POOL0 + 3, .server = SRV};
    REQUIRE(probe_send(&w, &p, &m, 3) == 1);
    CHECK_EQ(p.last.type, DHCPNAK);
    CHECK_EQ(p.last.yiaddr, 0);
    /* INIT-REBOOT on the wrong network: NAK; with an address we know
     * nothing of: silence. */
    m = (struct dhcp_out){.type = DHCPREQUEST, .requested = PS_IP4(198, 51, 100, 7)};
    REQUIRE(probe_send(&w, &p, &m, 4) == 1);
    CHECK_EQ(p.last.type, DHCPNAK);
    m = (struct dhcp_out){.type = DHCPREQUEST, .requested = POOL0 + 1};
    CHECK_EQ(probe_send(&w, &p, &m, 5), 0);
    /* The proper way: offer, request, ACK; then INIT-REBOOT gets it again. */
    m = (struct dhcp_out){.type = DHCPDISCOVER};
    REQUIRE(probe_send(&w, &p, &m, 6) == 1);
    ps_ip4_t got = p.last.yiaddr;
    m = (struct dhcp_out){.type = DHCPREQUEST, .requested = got, .server = SRV};
    REQUIRE(probe_send(&w, &p, &m, 7) == 1);
    CHECK_EQ(p.last.type, DHCPACK);
    CHECK_EQ(p.last.lease_s, LEASE_S);
    CHECK_EQ(p.last.netmask, 0xffffff00u);
    m = (struct dhcp_out){.type = DHCPREQUEST, .requested = got};
    REQUIRE(probe_send(&w, &p, &m, 8) == 1);
    CHECK_EQ(p.last.type, DHCPACK);
    CHECK_EQ(p.last.yiaddr, got);
    /* DECLINE: the address rests; the next DISCOVER gets another. */
    m = (struct dhcp_out){.type = DHCPDECLINE, .requested = got, .server = SRV};
    CHECK_EQ(probe_send(&w, &p, &m, 9), 0);
    CHECK_EQ(state_of(&w, got), PS_DHCPD_DECLINED);
    m = (struct dhcp_out){.type = DHCPDISCOVER, .requested = got};
    REQUIRE(probe_send(&w, &p, &m, 10) == 1);
    CHECK(p.last.yiaddr != got);
    /* INFORM (a client with its own address): configuration, no lease. */
    m = (struct dhcp_out){.type = DHCPINFORM};
    REQUIRE(probe_send(&w, &p, &m, 11) == 1);
    CHECK_EQ(p.last.type, DHCPACK);
    CHECK_EQ(p.last.yiaddr, 0);
    CHECK_EQ(p.last.lease_s, 0);
    CHECK_EQ(p.last.router, SRV);
    CHECK_EQ(p.last.dns[0], NS);
    const struct ps_dhcpd_stats *st = ps_dhcpd_stats(w.d);
    CHECK_EQ(st->naks, 2);
    CHECK_EQ(st->declines, 1);
    CHECK_EQ(st->informs, 1);
    CHECK_EQ(st->ignored, 2);
    CHECK_EQ(w.events[PS_DHCPD_EV_DECLINE], 1);
    /* The declined address comes back after its rest. */
    ps_sim_run_for(w.sim, PS_SEC(PS_DHCPD_DECLINE_HOLD_S));
    CHECK_EQ(state_of(&w, got), PS_DHCPD_FREE);
    ps_close(p.s, p.fd);
    world_free(&w);
}

TEST(relayed_malformed_and_replies_dropped)
{
    struct world w;
    world_new(&w, 1, 4);
    struct probe p;
    probe_new(&p, &w);
    uint8_t buf[DHCP_MAX_MSG];
    struct dhcp_out m = {.type = DHCPDISCOVER, .xid = 1, .chaddr = p.mac};
    size_t len = dhcp_build(buf, &m);
    struct ps_sockaddr_in to = {PS_IP4_BROADCAST, PS_DHCP_SERVER_PORT};
    p.xid = 1;
    ps_put32(buf + 24, PS_IP4(203, 0, 113, 1)); /* giaddr: relayed */
    ps_sendto(p.s, p.fd, buf, len, 0, &to);
    len = dhcp_build(buf, &m);
    buf[0] = 2; /* a BOOTREPLY */
    ps_sendto(p.s, p.fd, buf, len, 0, &to);
    len = dhcp_build(buf, &m);
    buf[DHCP_FIXED_LEN] ^= 0xff; /* no magic cookie */
    ps_sendto(p.s, p.fd, buf, len, 0, &to);
    ps_sendto(p.s, p.fd, buf, 100, 0, &to); /* a runt */
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK_EQ(p.got, 0);
    CHECK_EQ(ps_dhcpd_stats(w.d)->dropped, 4);
    CHECK_EQ(ps_stack_stats(w.srv)->dhcpd_drop, 4); /* and in the stack's counters */
    CHECK_EQ(ps_dhcpd_stats(w.d)->offers, 0);
    ps_close(p.s, p.fd);
    world_free(&w);
}

TEST(bad_configurations_refused)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    struct ps_stack *s = ps_stack_new(&cfg, 0);
    REQUIRE(s);
    int err;
    struct ps_dhcpd_config c = {.server = SRV, .prefix = 24, .pool_first = POOL0, .pool_last = POOL0 + 9};
    struct ps_dhcpd_config bad = c;
    bad.server = 0;
    CHECK(!ps_dhcpd_start(s, &bad, &err) && err == -EINVAL);
    bad = c;
    bad.prefix = 31;
    CHECK(!ps_dhcpd_start(s, &bad, &err) && err == -EINVAL);
    bad = c;
    bad.pool_last = PS_IP4(192, 0, 3, 5); /* off the subnet */
    CHECK(!ps_dhcpd_start(s, &bad, &err) && err == -EINVAL);
    bad = c;
    bad.pool_first = bad.pool_last = SRV; /* only the server's own address */
    CHECK(!ps_dhcpd_start(s, &bad, &err) && err == -EINVAL);
    /* A long range is cut at PS_DHCPD_MAX_LEASES; network, broadcast and
     * the server's own address are skipped. */
    bad = c;
    bad.pool_first = PS_IP4(192, 0, 2, 0);
    bad.pool_last = PS_IP4(192, 0, 2, 255);
    struct ps_dhcpd *d = ps_dhcpd_start(s, &bad, &err);
    REQUIRE(d);
    CHECK_EQ(ps_dhcpd_pool_size(d), PS_DHCPD_MAX_LEASES < 253 ? PS_DHCPD_MAX_LEASES : 253);
    /* The port is taken now. */
    CHECK(!ps_dhcpd_start(s, &c, &err) && err == -EADDRINUSE);
    ps_dhcpd_stop(d);
    d = ps_dhcpd_start(s, &c, &err);
    CHECK(d && ps_dhcpd_pool_size(d) == 10);
    ps_dhcpd_stop(d);
    ps_stack_free(s);
}

int main(void)
{
    RUN(clients_get_distinct_addresses_and_configuration);
    RUN(renewal_keeps_the_lease);
    RUN(release_frees_and_the_client_gets_it_back);
    RUN(lease_expires_when_not_renewed);
    RUN(exhausted_pool_offers_nothing);
    RUN(selecting_init_reboot_decline_inform);
    RUN(relayed_malformed_and_replies_dropped);
    RUN(bad_configurations_refused);
    TEST_END();
}
