/*
 * The DHCP client against a small scripted server on another simulated
 * host: the four-message exchange, the lease applied (address, prefix,
 * router, DNS), renewal at T1 by unicast, rebinding at T2 by broadcast,
 * expiry, NAK, retransmission through loss, release on stop; and the
 * message parser against malformed input.
 */
#include <errno.h>
#include <string.h>

#include <portstack/dhcp.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "apps/dhcp_msg.h"
#include "test.h"

#define SRV PS_IP4(192, 0, 2, 1)
#define OFFER PS_IP4(192, 0, 2, 77)
#define LEASE_S 100

struct server {
    struct ps_stack *s;
    int fd;
    bool silent;          /* answer nothing */
    bool nak;             /* answer REQUESTs with NAK */
    unsigned discover, request, release;
    unsigned unicast_requests;
    uint8_t buf[1500];
};

/* A BOOTREPLY for the client's request `q` (raw bytes). */
static size_t reply(uint8_t *out, const uint8_t *q, uint8_t type, ps_ip4_t yiaddr)
{
    memset(out, 0, 400);
    out[0] = 2;
    out[1] = 1;
    out[2] = 6;
    memcpy(out + 4, q + 4, 4);    /* xid */
    memcpy(out + 10, q + 10, 2);  /* flags */
    ps_put32(out + 16, yiaddr);
    memcpy(out + 28, q + 28, 16); /* chaddr */
    ps_put32(out + 236, DHCP_MAGIC);
    uint8_t *o = out + 240;
    *o++ = 53, *o++ = 1, *o++ = type;
    *o++ = 54, *o++ = 4, ps_put32(o, SRV), o += 4;
    if (type != DHCPNAK) {
        *o++ = 51, *o++ = 4, ps_put32(o, LEASE_S), o += 4;
        *o++ = 1, *o++ = 4, ps_put32(o, 0xffffff00), o += 4;
        *o++ = 3, *o++ = 4, ps_put32(o, SRV), o += 4;
        *o++ = 6, *o++ = 8, ps_put32(o, PS_IP4(192, 0, 2, 53)), ps_put32(o + 4, PS_IP4(192, 0, 2, 54)), o += 8;
    }
    *o++ = 255;
    return 300;
}

static uint8_t msg_type(const uint8_t *b, size_t n)
{
    for (size_t i = 240; i + 2 < n; i += 2u + b[i + 1])
        if (b[i] == 53)
            return b[i + 2];
    return 0;
}

static void on_server(void *ctx, int fd, short ev)
{
    struct server *sv = ctx;
    (void)ev;
    struct ps_sockaddr_in from;
    ssize_t n;
    while ((n = ps_recvfrom(sv->s, fd, sv->buf, sizeof(sv->buf), 0, &from)) > 0) {
        uint8_t out[400], t = msg_type(sv->buf, (size_t)n);
        if (t == DHCPRELEASE) {
            sv->release++;
            continue;
        }
        if (t == DHCPREQUEST) {
            sv->request++;
            if (from.addr)
                sv->unicast_requests += 1; /* from the leased address: renewal */
        } else if (t == DHCPDISCOVER) {
            sv->discover++;
        }
        if (sv->silent)
            continue;
        uint8_t rt = t == DHCPDISCOVER ? DHCPOFFER : sv->nak ? DHCPNAK : DHCPACK;
        size_t len = reply(out, sv->buf, rt, rt == DHCPNAK ? 0 : OFFER);
        struct ps_sockaddr_in to = {.addr = PS_IP4_BROADCAST, .port = 68};
        ps_sendto(sv->s, fd, out, len, 0, &to);
    }
}

static ps_time_t dhcp_poll(void *ctx, ps_time_t now)
{
    return ps_dhcp_poll(ctx, now);
}

/* Counts the client's broadcast DHCP frames (to ff:ff:ff:ff:ff:ff and
 * 255.255.255.255:67) that carry a ciaddr: rebinding REQUESTs. */
static unsigned rebind_broadcasts;

static void client_capture(void *ctx, struct ps_iface *ifc, enum ps_dir dir, const uint8_t *f, size_t len,
                           ps_time_t now)
{
    (void)ctx, (void)ifc, (void)now;
    if (dir == PS_DIR_OUT && len > 14 + 20 + 8 + 16 && f[0] == 0xff && ps_get32(f + 14 + 16) == PS_IP4_BROADCAST &&
        ps_get16(f + 14 + 20 + 2) == 67 && ps_get32(f + 14 + 20 + 8 + 12) != 0)
        rebind_broadcasts++;
}

struct world {
    struct ps_sim *sim;
    struct ps_sim_link *link;
    struct ps_stack *c;
    struct ps_iface *cif;
    struct server sv;
    struct ps_dhcp *dhcp;
};

static void world_new(struct world *w, double loss, uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(seed, 0);
    struct ps_sim_impair imp = {.delay = PS_MS(1), .loss = loss};
    w->link = ps_sim_link_new(w->sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 1;
    w->c = ps_stack_new(&cfg, 0);
    cfg.seed = 2;
    w->sv.s = ps_stack_new(&cfg, 0);
    REQUIRE(w->c && w->sv.s);
    w->cif = ps_sim_attach(w->link, w->c, "eth0", NULL, 1500);
    struct ps_iface *sif = ps_sim_attach(w->link, w->sv.s, "eth0", NULL, 1500);
    REQUIRE(w->cif && sif && ps_iface_add_addr(sif, SRV, 24) == 0);
    w->sv.fd = ps_socket(w->sv.s, PS_SOCK_DGRAM);
    int one = 1;
    struct ps_sockaddr_in a = {0, 67};
    REQUIRE(ps_setsockopt(w->sv.s, w->sv.fd, PS_SOL_SOCKET, PS_SO_BROADCAST, &one, sizeof(one)) == 0);
    REQUIRE(ps_bind(w->sv.s, w->sv.fd, &a) == 0);
    REQUIRE(ps_socket_set_callback(w->sv.s, w->sv.fd, on_server, &w->sv) == 0);
    int err;
    w->dhcp = ps_dhcp_start(w->c, w->cif, NULL, NULL, &err);
    REQUIRE(w->dhcp && err == 0);
    REQUIRE(ps_sim_add_poller(w->sim, dhcp_poll, w->dhcp) == 0);
}

static void world_free(struct world *w)
{
    ps_sim_remove_poller(w->sim, dhcp_poll, w->dhcp);
    if (w->dhcp)
        ps_dhcp_stop(w->dhcp);
    ps_sim_run_for(w->sim, PS_SEC(1));
    ps_close(w->sv.s, w->sv.fd);
    ps_sim_run_for(w->sim, PS_SEC(600));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(w->c, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(w->sim);
    ps_stack_free(w->c);
    ps_stack_free(w->sv.s);
}

static bool bound(void *ctx)
{
    return ps_dhcp_state(ctx) == PS_DHCP_BOUND;
}

TEST(lease_acquired_applied_renewed_released)
{
    struct world w;
    world_new(&w, 0, 5);
    REQUIRE(ps_sim_run_while_not(w.sim, bound, w.dhcp, PS_SEC(10)));
    CHECK_EQ(w.sv.discover, 1);
    CHECK_EQ(w.sv.request, 1);
    const struct ps_dhcp_lease *l = ps_dhcp_lease(w.dhcp);
    REQUIRE(l);
    CHECK_EQ(l->addr, OFFER);
    CHECK_EQ(l->prefix, 24);
    CHECK_EQ(l->router, SRV);
    CHECK_EQ(l->ndns, 2);
    CHECK_EQ(l->dns[1], PS_IP4(192, 0, 2, 54));
    /* The address, its subnet route and the default route are in place. */
    ps_ip4_t a;
    uint8_t p;
    CHECK(ps_iface_addr(w.cif, 0, &a, &p) && a == OFFER && p == 24);
    struct ps_iface *via;
    ps_ip4_t hop;
    CHECK_EQ(ps_route_lookup(w.c, PS_IP4(203, 0, 113, 5), &via, &hop, NULL), 0);
    CHECK_EQ(hop, SRV);
    /* The client is reachable at its new address. */
    CHECK_EQ(ps_icmp_echo_request(w.sv.s, OFFER, 9, 1, 0, NULL, 8), 0);
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK_EQ(ps_stack_stats(w.c)->icmp_echo_reply_tx, 1);
    /* T1 = 50 s: a unicast REQUEST renews; the lease goes on. */
    ps_sim_run_for(w.sim, PS_SEC(55));
    CHECK_EQ(w.sv.unicast_requests, 1);
    CHECK_EQ(ps_dhcp_state(w.dhcp), PS_DHCP_BOUND);
    ps_sim_run_for(w.sim, PS_SEC(300)); /* renewals keep it */
    CHECK_EQ(ps_dhcp_state(w.dhcp), PS_DHCP_BOUND);
    CHECK(w.sv.unicast_requests >= 6);
    /* Stop: DHCPRELEASE to the server, the address removed. */
    ps_sim_remove_poller(w.sim, dhcp_poll, w.dhcp);
    ps_dhcp_stop(w.dhcp);
    w.dhcp = NULL;
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK_EQ(w.sv.release, 1);
    CHECK(!ps_iface_addr(w.cif, 0, NULL, NULL));
    world_free(&w);
}

TEST(silent_server_rebinding_then_expiry)
{
    struct world w;
    world_new(&w, 0, 5);
    REQUIRE(ps_sim_run_while_not(w.sim, bound, w.dhcp, PS_SEC(10)));
    w.sv.silent = true;
    rebind_broadcasts = 0;
    ps_iface_set_capture(w.cif, client_capture, NULL);
    /* T1 50 s: renewing; T2 87 s: rebinding (broadcast); 100 s: gone. */
    ps_sim_run_for(w.sim, PS_SEC(60));
    CHECK_EQ(ps_dhcp_state(w.dhcp), PS_DHCP_RENEWING);
    ps_sim_run_for(w.sim, PS_SEC(30));
    CHECK_EQ(ps_dhcp_state(w.dhcp), PS_DHCP_REBINDING);
    CHECK(rebind_broadcasts >= 1);
    CHECK(w.sv.unicast_requests >= 1); /* it tried the server first */
    ps_iface_set_capture(w.cif, NULL, NULL);
    ps_sim_run_for(w.sim, PS_SEC(15));
    CHECK(ps_dhcp_state(w.dhcp) == PS_DHCP_INIT || ps_dhcp_state(w.dhcp) == PS_DHCP_SELECTING);
    CHECK(!ps_iface_addr(w.cif, 0, NULL, NULL));
    CHECK(ps_route_lookup(w.c, PS_IP4(203, 0, 113, 5), NULL, NULL, NULL) != 0);
    /* The server comes back: a new lease. */
    w.sv.silent = false;
    REQUIRE(ps_sim_run_while_not(w.sim, bound, w.dhcp, ps_sim_now(w.sim) + PS_SEC(120)));
    world_free(&w);
}

TEST(nak_restarts)
{
    struct world w;
    world_new(&w, 0, 5);
    w.sv.nak = true;
    ps_sim_run_for(w.sim, PS_SEC(2));
    CHECK(w.sv.discover >= 2); /* offer, request, NAK, and a fresh DISCOVER */
    CHECK(ps_dhcp_state(w.dhcp) != PS_DHCP_BOUND);
    w.sv.nak = false;
    REQUIRE(ps_sim_run_while_not(w.sim, bound, w.dhcp, ps_sim_now(w.sim) + PS_SEC(120)));
    world_free(&w);
}

TEST(retransmits_through_loss)
{
    /* 30% of frames lost, several seeds: every client gets its lease in
     * the end, and it took retransmissions to do so. */
    unsigned extra = 0;
    for (uint64_t seed = 0; seed < 6; seed++) {
        struct world w;
        world_new(&w, 0.3, 100 + seed);
        /* Backoff reaches 64 s between tries (RFC 2131 4.1). */
        REQUIRE(ps_sim_run_while_not(w.sim, bound, w.dhcp, PS_SEC(1200)));
        extra += w.sv.discover + w.sv.request - 2;
        world_free(&w);
    }
    CHECK(extra > 0);
}

TEST(parser_refuses_malformed)
{
    uint8_t q[DHCP_MAX_MSG] = {0}, b[400];
    struct dhcp_out o = {.type = DHCPDISCOVER, .xid = 7};
    size_t n = dhcp_build(q, &o);
    CHECK_EQ(n, 300);
    size_t len = reply(b, q, DHCPACK, OFFER);
    struct dhcp_in m;
    REQUIRE(dhcp_parse(b, len, &m) == 0);
    CHECK_EQ(m.type, DHCPACK);
    CHECK_EQ(m.xid, 7);
    CHECK_EQ(m.lease_s, LEASE_S);
    for (size_t cut = 0; cut < 240; cut++)
        CHECK_EQ(dhcp_parse(b, cut, &m), -1);
    uint8_t bad[400];
    memcpy(bad, b, sizeof(bad));
    bad[236] ^= 1; /* cookie */
    CHECK_EQ(dhcp_parse(bad, len, &m), -1);
    memcpy(bad, b, sizeof(bad));
    bad[241] = 2; /* message type with length 2 */
    CHECK_EQ(dhcp_parse(bad, len, &m), -1);
    memcpy(bad, b, sizeof(bad));
    bad[244] = 3; /* server id with length 3 */
    CHECK_EQ(dhcp_parse(bad, len, &m), -1);
    memcpy(bad, b, sizeof(bad));
    bad[250] = 250; /* the lease option's length runs off the end */
    CHECK_EQ(dhcp_parse(bad, 260, &m), -1);
    memset(bad, 0, sizeof(bad));
    memcpy(bad, b, 240);
    bad[240] = 255; /* no message type */
    CHECK_EQ(dhcp_parse(bad, 300, &m), -1);
}

int main(void)
{
    RUN(lease_acquired_applied_renewed_released);
    RUN(silent_server_rebinding_then_expiry);
    RUN(nak_restarts);
    RUN(retransmits_through_loss);
    RUN(parser_refuses_malformed);
    TEST_END();
}
