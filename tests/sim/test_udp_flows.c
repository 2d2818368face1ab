/*
 * Many hosts, thousands of concurrent UDP flows: every datagram reaches
 * the socket its quadruple names, and only that one; a closed port answers
 * ICMP port unreachable and the connected sender sees ECONNREFUSED.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "test.h"

#define HOSTS 8
#define SERVERS 64   /* server sockets per host */
#define CLIENTS 400  /* client sockets per host */
#define ROUNDS 3     /* datagrams per client */

struct msg {
    uint32_t host, client, round, magic;
};

struct host {
    struct ps_stack *s;
    ps_ip4_t addr;
    int srv[SERVERS];
    int cli[CLIENTS];
    uint16_t cli_port[CLIENTS];
    unsigned cli_peer[CLIENTS]; /* server host */
    unsigned cli_srv[CLIENTS];  /* server index there */
    unsigned replies[CLIENTS];
};

static struct host hosts[HOSTS];
static struct ps_sim *sim;
static unsigned misdelivered, served, sent_round;

static ps_ip4_t host_addr(unsigned h)
{
    return PS_IP4(192, 0, 2, 10 + h);
}

/* Servers echo, after checking the datagram was meant for them. */
static void serve_all(void)
{
    for (unsigned h = 0; h < HOSTS; h++)
        for (unsigned i = 0; i < SERVERS; i++) {
            struct msg m;
            struct ps_sockaddr_in from;
            ssize_t n;
            while ((n = ps_recvfrom(hosts[h].s, hosts[h].srv[i], &m, sizeof(m), 0, &from)) > 0) {
                const struct host *ch = &hosts[m.host];
                if (n != sizeof(m) || m.magic != 0x70727473 || ch->cli_peer[m.client] != h ||
                    ch->cli_srv[m.client] != i || from.addr != ch->addr || from.port != ch->cli_port[m.client])
                    misdelivered++;
                served++;
                ps_sendto(hosts[h].s, hosts[h].srv[i], &m, sizeof(m), 0, &from);
            }
        }
}

static void collect_replies(void)
{
    for (unsigned h = 0; h < HOSTS; h++)
        for (unsigned c = 0; c < CLIENTS; c++) {
            struct msg m;
            ssize_t n;
            while ((n = ps_recv(hosts[h].s, hosts[h].cli[c], &m, sizeof(m), 0)) > 0) {
                if (n != sizeof(m) || m.host != h || m.client != c)
                    misdelivered++;
                else
                    hosts[h].replies[c]++;
            }
        }
}

/* Each round, every client sends one datagram, spread over 100 ms. */
static ps_time_t sender(void *ctx, ps_time_t now)
{
    (void)ctx;
    static unsigned next;
    unsigned total = HOSTS * CLIENTS;
    if (sent_round >= ROUNDS)
        return PS_TIME_NEVER;
    for (unsigned k = 0; k < 64 && next < total; k++, next++) {
        unsigned h = next / CLIENTS, c = next % CLIENTS;
        struct msg m = {h, c, sent_round, 0x70727473};
        ps_send(hosts[h].s, hosts[h].cli[c], &m, sizeof(m), 0);
    }
    if (next == total) {
        next = 0;
        sent_round++;
        return now + PS_MS(200);
    }
    return now + PS_MS(2);
}

/* Servers and clients drain their sockets often. */
static ps_time_t drainer(void *ctx, ps_time_t now)
{
    (void)ctx;
    serve_all();
    collect_replies();
    return now + PS_MS(1);
}

TEST(thousands_of_flows_each_to_its_socket)
{
    sim = ps_sim_new(99, 0);
    struct ps_sim_impair imp = {.delay = PS_US(300)};
    struct ps_sim_link *link = ps_sim_link_new(sim, &imp);
    REQUIRE(sim && link);
    for (unsigned h = 0; h < HOSTS; h++) {
        struct ps_config cfg;
        ps_config_default(&cfg);
        cfg.seed = 500 + h;
        cfg.pbuf_small_count = 2048;
        hosts[h].s = ps_stack_new(&cfg, 0);
        REQUIRE(hosts[h].s);
        hosts[h].addr = host_addr(h);
        char name[8];
        snprintf(name, sizeof(name), "eth0");
        struct ps_iface *ifc = ps_sim_attach(link, hosts[h].s, name, NULL, 1500);
        REQUIRE(ifc && ps_iface_add_addr(ifc, hosts[h].addr, 24) == 0);
    }
    /* Neighbours known first, so no datagram waits on ARP. */
    for (unsigned h = 0; h < HOSTS; h++)
        for (unsigned o = 0; o < HOSTS; o++)
            if (o != h)
                ps_icmp_echo_request(hosts[h].s, host_addr(o), 1, 1, 0, NULL, 8);
    ps_sim_run_for(sim, PS_MS(100));

    uint64_t rng = 42;
    for (unsigned h = 0; h < HOSTS; h++) {
        for (unsigned i = 0; i < SERVERS; i++) {
            int fd = ps_socket(hosts[h].s, PS_SOCK_DGRAM);
            REQUIRE(fd >= 0);
            struct ps_sockaddr_in a = {.addr = i % 2 ? hosts[h].addr : 0, .port = (uint16_t)(7000 + i)};
            REQUIRE(ps_bind(hosts[h].s, fd, &a) == 0);
            hosts[h].srv[i] = fd;
        }
        for (unsigned c = 0; c < CLIENTS; c++) {
            int fd = ps_socket(hosts[h].s, PS_SOCK_DGRAM);
            REQUIRE(fd >= 0);
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned peer = (h + 1 + (unsigned)(rng >> 40) % (HOSTS - 1)) % HOSTS;
            unsigned srv = (unsigned)(rng >> 20) % SERVERS;
            struct ps_sockaddr_in to = {.addr = host_addr(peer), .port = (uint16_t)(7000 + srv)};
            REQUIRE(ps_connect(hosts[h].s, fd, &to) == 0);
            struct ps_sockaddr_in me;
            REQUIRE(ps_getsockname(hosts[h].s, fd, &me) == 0);
            CHECK(me.port >= PS_DEFAULT_EPHEMERAL_LO);
            CHECK_EQ(me.addr, hosts[h].addr);
            hosts[h].cli[c] = fd;
            hosts[h].cli_port[c] = me.port;
            hosts[h].cli_peer[c] = peer;
            hosts[h].cli_srv[c] = srv;
        }
    }
    REQUIRE(ps_sim_add_poller(sim, sender, NULL) == 0);
    REQUIRE(ps_sim_add_poller(sim, drainer, NULL) == 0);
    ps_sim_run_for(sim, PS_SEC(3));
    ps_sim_remove_poller(sim, sender, NULL);
    ps_sim_remove_poller(sim, drainer, NULL);

    unsigned flows = HOSTS * CLIENTS, complete = 0;
    for (unsigned h = 0; h < HOSTS; h++)
        for (unsigned c = 0; c < CLIENTS; c++)
            complete += hosts[h].replies[c] == ROUNDS;
    fprintf(stderr, "  %u flows, %u served, %u complete, %u misdelivered\n", flows, served, complete, misdelivered);
    CHECK_EQ(misdelivered, 0);
    CHECK_EQ(served, flows * ROUNDS);
    CHECK_EQ(complete, flows);
    for (unsigned h = 0; h < HOSTS; h++) {
        CHECK_EQ(ps_stack_stats(hosts[h].s)->udp_drop_no_port, 0);
        CHECK_EQ(ps_stack_stats(hosts[h].s)->udp_drop_rcvbuf, 0);
    }

    /* A closed port: ICMP port unreachable, then ECONNREFUSED. */
    struct ps_stack *a = hosts[0].s;
    int fd = ps_socket(a, PS_SOCK_DGRAM);
    struct ps_sockaddr_in to = {.addr = host_addr(1), .port = 9999};
    REQUIRE(ps_connect(a, fd, &to) == 0);
    CHECK_EQ(ps_send(a, fd, "x", 1, 0), 1);
    ps_sim_run_for(sim, PS_MS(10));
    CHECK_EQ(ps_stack_stats(hosts[1].s)->udp_drop_no_port, 1);
    char b[4];
    CHECK_EQ(ps_recv(a, fd, b, sizeof(b), 0), -ECONNREFUSED);
    CHECK_EQ(ps_recv(a, fd, b, sizeof(b), 0), -EAGAIN); /* reported once */
    ps_close(a, fd);

    for (unsigned h = 0; h < HOSTS; h++) {
        for (unsigned i = 0; i < SERVERS; i++)
            CHECK_EQ(ps_close(hosts[h].s, hosts[h].srv[i]), 0);
        for (unsigned c = 0; c < CLIENTS; c++)
            CHECK_EQ(ps_close(hosts[h].s, hosts[h].cli[c]), 0);
    }
    ps_sim_run_for(sim, PS_SEC(600));
    for (unsigned h = 0; h < HOSTS; h++) {
        unsigned sf, st, lf, lt;
        ps_pbuf_pool_usage(hosts[h].s, &sf, &st, &lf, &lt);
        CHECK_EQ(sf, st);
        CHECK_EQ(lf, lt);
    }
    ps_sim_free(sim);
    for (unsigned h = 0; h < HOSTS; h++)
        ps_stack_free(hosts[h].s);
}

int main(void)
{
    RUN(thousands_of_flows_each_to_its_socket);
    TEST_END();
}
