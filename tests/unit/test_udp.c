/*
 * tests/unit/test_udp.c - UDP through real stacks: round trips over the
 * loopback path and the simulated wire, checksums and lengths verified on
 * crafted frames, the bounded receive queue, MSG_PEEK / MSG_TRUNC,
 * broadcast, fragmentation of big datagrams, and ICMP errors turned into
 * socket errors.  Every test ends with every buffer back in its pool.
 */
#include <errno.h>

#include <portstack/sim.h>
#include <portstack/socket.h>

#include "frames.h"

#define CHECK_POOLS_FULL(s)                                  \
    do {                                                     \
        unsigned sf_, st_, lf_, lt_;                         \
        ps_pbuf_pool_usage((s), &sf_, &st_, &lf_, &lt_);    \
        CHECK_EQ(sf_, st_);                                  \
        CHECK_EQ(lf_, lt_);                                  \
    } while (0)

/* The largest UDP payload: 65535 - 20 (IPv4) - 8 (UDP). */
#define MAX_DGRAM 65507

#define STAT(s, name) (ps_stack_stats(s)->name)

static struct ps_sockaddr_in sa(ps_ip4_t addr, uint16_t port)
{
    struct ps_sockaddr_in a = {.addr = addr, .port = port};
    return a;
}

static int udp_bound(struct ps_stack *s, ps_ip4_t addr, uint16_t port)
{
    int fd = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in a = sa(addr, port);
    if (fd < 0 || ps_bind(s, fd, &a) != 0)
        return -1;
    return fd;
}

static void set_int(struct ps_stack *s, int fd, int level, int name, int v)
{
    CHECK_EQ(ps_setsockopt(s, fd, level, name, &v, sizeof v), 0);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

/* ---- two hosts on a simulated wire ------------------------------------------------ */

struct world {
    struct ps_sim *sim;
    struct ps_stack *a, *b; /* a = IP_US, b = IP_PEER, on 192.0.2.0/24 */
};

static bool world_new(struct world *w, const struct ps_config *cfg, uint16_t mtu)
{
    static const struct ps_sim_impair wire = {.delay = PS_US(50)};
    w->sim = ps_sim_new(7, T0);
    struct ps_sim_link *l = w->sim ? ps_sim_link_new(w->sim, &wire) : NULL;
    w->a = ps_stack_new(cfg, T0);
    w->b = ps_stack_new(cfg, T0);
    if (!l || !w->a || !w->b)
        return false;
    struct ps_iface *ia = ps_sim_attach(l, w->a, "eth0", NULL, mtu);
    struct ps_iface *ib = ps_sim_attach(l, w->b, "eth0", NULL, mtu);
    return ia && ib && ps_iface_add_addr(ia, IP_US, 24) == 0 && ps_iface_add_addr(ib, IP_PEER, 24) == 0;
}

/* Let everything in flight land, check no buffer is held, free. */
#define WORLD_FREE(w)                          \
    do {                                       \
        ps_sim_run_for((w).sim, PS_SEC(1));    \
        CHECK_POOLS_FULL((w).a);               \
        CHECK_POOLS_FULL((w).b);               \
        ps_stack_free((w).a);                  \
        ps_stack_free((w).b);                  \
        ps_sim_free((w).sim);                  \
    } while (0)

/* ---- round trips -------------------------------------------------------------------- */

TEST(loopback_round_trip)
{
    struct ps_stack *s = ps_stack_new(NULL, T0);
    REQUIRE(s);
    int srv = udp_bound(s, PS_IP4(127, 0, 0, 1), 7000);
    int cli = ps_socket(s, PS_SOCK_DGRAM);
    REQUIRE(srv >= 0 && cli >= 0);
    static const char msg[] = "hello\0world"; /* a NUL inside: bytes, not a string */
    struct ps_sockaddr_in to = sa(PS_IP4(127, 0, 0, 1), 7000), me, from;
    CHECK_EQ(ps_sendto(s, cli, msg, sizeof msg, 0, &to), sizeof msg);
    REQUIRE(ps_getsockname(s, cli, &me) == 0);
    CHECK(me.port >= PS_DEFAULT_EPHEMERAL_LO); /* bound on the first send */
    CHECK_EQ(me.addr, 0);
    char buf[64];
    CHECK_EQ(ps_recv(s, srv, buf, sizeof buf, 0), -EAGAIN); /* loopback delivers at the next poll */
    ps_stack_poll(s, T0);
    memset(&from, 0, sizeof from);
    REQUIRE(ps_recvfrom(s, srv, buf, sizeof buf, 0, &from) == sizeof msg);
    CHECK_MEM(buf, msg, sizeof msg);
    CHECK_U64(from.addr, PS_IP4(127, 0, 0, 1));
    CHECK_EQ(from.port, me.port);
    /* And back to where it came from. */
    CHECK_EQ(ps_sendto(s, srv, "pong", 4, 0, &from), 4);
    ps_stack_poll(s, T0);
    REQUIRE(ps_recvfrom(s, cli, buf, sizeof buf, 0, &from) == 4);
    CHECK_MEM(buf, "pong", 4);
    CHECK_EQ(from.port, 7000);
    CHECK_U64(from.addr, PS_IP4(127, 0, 0, 1));
    CHECK_EQ(STAT(s, udp_tx), 2);
    CHECK_EQ(STAT(s, udp_rx), 2);
    CHECK_EQ(STAT(s, udp_delivered), 2);
    ps_close(s, srv);
    ps_close(s, cli);
    CHECK_POOLS_FULL(s);
    ps_stack_free(s);
}

TEST(wire_round_trip)
{
    struct world w;
    REQUIRE(world_new(&w, NULL, 1500));
    int srv = udp_bound(w.b, 0, 4000);
    int cli = ps_socket(w.a, PS_SOCK_DGRAM);
    REQUIRE(srv >= 0 && cli >= 0);
    uint8_t out[1000], in[1200];
    fill(out, sizeof out, 1);
    struct ps_sockaddr_in to = sa(IP_PEER, 4000), from, me;
    CHECK_EQ(ps_sendto(w.a, cli, out, sizeof out, 0, &to), sizeof out);
    ps_sim_run_for(w.sim, PS_MS(10));
    REQUIRE(ps_getsockname(w.a, cli, &me) == 0);
    REQUIRE(ps_recvfrom(w.b, srv, in, sizeof in, 0, &from) == sizeof out);
    CHECK_MEM(in, out, sizeof out);
    CHECK_U64(from.addr, IP_US);
    CHECK_EQ(from.port, me.port);
    CHECK_EQ(ps_sendto(w.b, srv, in, 10, 0, &from), 10);
    ps_sim_run_for(w.sim, PS_MS(10));
    REQUIRE(ps_recvfrom(w.a, cli, in, sizeof in, 0, &from) == 10);
    CHECK_MEM(in, out, 10);
    CHECK_U64(from.addr, IP_PEER);
    CHECK_EQ(from.port, 4000);
    ps_close(w.a, cli);
    ps_close(w.b, srv);
    WORLD_FREE(w);
}

/* ---- crafted datagrams: checksum and lengths ------------------------------------------ */

#define UDP_OFF (PS_ETH_HLEN + PS_IPV4_HLEN) /* the UDP header in a frame */

/* A frame from the peer carrying a UDP datagram; `extra` bytes of IP
 * payload follow the datagram (which its length field excludes). */
static size_t udp_frame(uint8_t *f, ps_mac_t eth_dst, ps_ip4_t dst, uint16_t sport, uint16_t dport,
                        const void *data, size_t len, size_t extra)
{
    uint8_t u[FRAME_MAX];
    memcpy(u + PS_UDP_HLEN, data, len);
    memset(u + PS_UDP_HLEN + len, 0xee, extra);
    struct ps_udp_hdr h = {.sport = sport, .dport = dport};
    ps_udp_emit(u, &h, IP_PEER, dst, len);
    struct ps_ipv4_hdr ih = ip_hdr(IP_PEER, dst, PS_IP_PROTO_UDP);
    return frame_ip(f, eth_dst, MAC_PEER, &ih, u, PS_UDP_HLEN + len + extra);
}

#define RX_OK "eth_rx+1 ip_rx+1 ip_delivered+1 udp_rx+1 udp_delivered+1"

TEST(checksum_verified_zero_accepted)
{
    struct net *n = net_new(NULL, NET_STATIC_PEERS, 0);
    REQUIRE(n);
    int fd = udp_bound(n->s, 0, 5000);
    REQUIRE(fd >= 0);
    uint8_t f[FRAME_MAX], buf[64];
    struct ps_sockaddr_in from;
    size_t len = udp_frame(f, MAC_US, IP_US, 1234, 5000, "payload!", 8, 0);

    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, RX_OK);
    REQUIRE(ps_recvfrom(n->s, fd, buf, sizeof buf, 0, &from) == 8);
    CHECK_MEM(buf, "payload!", 8);
    CHECK_U64(from.addr, IP_PEER);
    CHECK_EQ(from.port, 1234);

    /* One bit flipped in the payload: the checksum no longer verifies. */
    f[UDP_OFF + PS_UDP_HLEN + 4] ^= 0x20; /* 'o' -> 'O' */
    before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 udp_rx+1 udp_drop_checksum+1");
    CHECK_EQ(ps_recv(n->s, fd, buf, sizeof buf, 0), -EAGAIN);

    /* The same bent datagram with checksum 0 ("none computed") is taken. */
    f[UDP_OFF + 6] = f[UDP_OFF + 7] = 0;
    before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, RX_OK);
    REQUIRE(ps_recv(n->s, fd, buf, sizeof buf, 0) == 8);
    CHECK_MEM(buf, "paylOad!", 8);
    CHECK_EQ(n->n, 0); /* nothing answered */
    ps_close(n->s, fd);
    NET_FREE(n);
}

TEST(lengths_checked)
{
    struct net *n = net_new(NULL, NET_STATIC_PEERS, 0);
    REQUIRE(n);
    int fd = udp_bound(n->s, IP_US, 5000);
    REQUIRE(fd >= 0);
    uint8_t f[FRAME_MAX], buf[64];
    /* Length field beyond the IP payload, and below the header size. */
    static const uint16_t bad[] = {8 + 6 + 1, 7, 0};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = udp_frame(f, MAC_US, IP_US, 1234, 5000, "abcdef", 6, 0);
        ps_put16(f + UDP_OFF + 4, bad[i]);
        struct ps_stats before = SNAP(n);
        net_input(n, n->eth0, f, len);
        CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 udp_rx+1 udp_drop_malformed+1");
    }
    /* IP payload longer than the datagram: the extra bytes are not data. */
    size_t len = udp_frame(f, MAC_US, IP_US, 1234, 5000, "abcdef", 6, 5);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s, RX_OK);
    CHECK_EQ(ps_recv(n->s, fd, buf, sizeof buf, PS_MSG_TRUNC), 6);
    CHECK_EQ(n->n, 0);
    ps_close(n->s, fd);
    NET_FREE(n);
}

TEST(closed_port_answers_port_unreachable)
{
    struct net *n = net_new(NULL, NET_STATIC_PEERS, 0);
    REQUIRE(n);
    uint8_t f[FRAME_MAX];
    size_t len = udp_frame(f, MAC_US, IP_US, 1234, 9, "knock", 5, 0);
    struct ps_stats before = SNAP(n);
    net_input(n, n->eth0, f, len);
    CHECK_DELTA(before, n->s,
                "eth_rx+1 eth_tx+1 ip_rx+1 ip_tx+1 ip_delivered+1 icmp_tx+1 icmp_err_tx+1 udp_rx+1 "
                "udp_drop_no_port+1");
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    struct ps_icmp_hdr ic;
    REQUIRE(cap_icmp(n, 0, &eh, &ih, &ic));
    CHECK_EQ(ic.type, PS_ICMP_DEST_UNREACH);
    CHECK_EQ(ic.code, PS_ICMP_UNREACH_PORT);
    CHECK_U64(ih.src, IP_US);
    CHECK_U64(ih.dst, IP_PEER);
    REQUIRE(ic.payload_len == len - PS_ETH_HLEN); /* the whole datagram quoted */
    CHECK_MEM(ic.payload, f + PS_ETH_HLEN, len - PS_ETH_HLEN);

    /* Never about a broadcast: IP subnet broadcast, the limited one, or a
     * unicast IP inside a link-level broadcast. */
    static const ps_ip4_t dsts[] = {IP_BCAST0, PS_IP4_BROADCAST, IP_US};
    for (unsigned i = 0; i < 3; i++) {
        len = udp_frame(f, MAC_BCAST, dsts[i], 68, 67, "dhcp?", 5, 0);
        before = SNAP(n);
        net_input(n, n->eth0, f, len);
        CHECK_DELTA(before, n->s, "eth_rx+1 ip_rx+1 ip_delivered+1 udp_rx+1 udp_drop_broadcast+1");
    }
    CHECK_EQ(n->n, 1);
    NET_FREE(n);
}

/* IP_TTL reaches the wire; DF is never set, so big datagrams fragment. */
TEST(ttl_and_fragments_on_the_wire)
{
    struct net *n = net_new(NULL, NET_STATIC_PEERS, 0);
    REQUIRE(n);
    int fd = udp_bound(n->s, 0, 6000);
    REQUIRE(fd >= 0);
    set_int(n->s, fd, PS_IPPROTO_IP, PS_IP_TTL, 7);
    struct ps_sockaddr_in to = sa(IP_PEER, 9000);
    CHECK_EQ(ps_sendto(n->s, fd, "abc", 3, 0, &to), 3);
    REQUIRE(n->n == 1);
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    size_t plen;
    const uint8_t *ip = cap_ip(n, 0, &eh, &ih, &plen);
    REQUIRE(ip && ih.proto == PS_IP_PROTO_UDP);
    CHECK_EQ(ih.ttl, 7);
    CHECK(!ih.df);
    CHECK_U64(ih.src, IP_US); /* the route's source for a wildcard socket */
    struct ps_udp_hdr uh;
    REQUIRE(ps_udp_parse(ip + ih.hlen, plen, ih.src, ih.dst, &uh) == PS_UDP_HLEN);
    CHECK(uh.cksum != 0);
    CHECK_EQ(uh.sport, 6000);
    CHECK_EQ(uh.dport, 9000);
    CHECK_EQ(uh.len, 11);
    CHECK_MEM(ip + ih.hlen + PS_UDP_HLEN, "abc", 3);

    static uint8_t big[8000];
    fill(big, sizeof big, 3);
    CHECK_EQ(ps_sendto(n->s, fd, big, sizeof big, 0, &to), sizeof big);
    CHECK_EQ(n->n, 1 + 6); /* 8008 bytes in 1480-byte pieces */
    for (unsigned i = 1; i < n->n; i++) {
        REQUIRE(cap_ip(n, i, &eh, &ih, &plen));
        CHECK(!ih.df);
        CHECK_EQ(ih.mf, i < n->n - 1);
        CHECK_EQ(ih.ttl, 7);
    }
    ps_close(n->s, fd);
    NET_FREE(n);
}

/* ---- the receive queue --------------------------------------------------------------- */

TEST(receive_queue_bounded_by_datagrams)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.udp_rcvq_max = 4;
    struct ps_stack *s = ps_stack_new(&cfg, T0);
    REQUIRE(s);
    int srv = udp_bound(s, 0, 7000), cli = ps_socket(s, PS_SOCK_DGRAM);
    REQUIRE(srv >= 0 && cli >= 0);
    struct ps_sockaddr_in to = sa(PS_IP4(127, 0, 0, 1), 7000);
    for (uint8_t i = 0; i < 6; i++)
        CHECK_EQ(ps_sendto(s, cli, &i, 1, 0, &to), 1);
    ps_stack_poll(s, T0);
    CHECK_EQ(STAT(s, udp_delivered), 4);
    CHECK_EQ(STAT(s, udp_drop_rcvbuf), 2);
    for (uint8_t i = 0; i < 4; i++) { /* the first four, in order */
        uint8_t b = 0xff;
        CHECK_EQ(ps_recv(s, srv, &b, 1, 0), 1);
        CHECK_EQ(b, i);
    }
    CHECK_EQ(ps_recv(s, srv, NULL, 0, 0), -EAGAIN);
    ps_close(s, srv);
    ps_close(s, cli);
    CHECK_POOLS_FULL(s);
    ps_stack_free(s);
}

TEST(receive_queue_bounded_by_bytes)
{
    struct ps_stack *s = ps_stack_new(NULL, T0);
    REQUIRE(s);
    int srv = udp_bound(s, 0, 7000), cli = ps_socket(s, PS_SOCK_DGRAM);
    REQUIRE(srv >= 0 && cli >= 0);
    set_int(s, srv, PS_SOL_SOCKET, PS_SO_RCVBUF, 1000);
    struct ps_sockaddr_in to = sa(PS_IP4(127, 0, 0, 1), 7000);
    uint8_t d[2000];
    fill(d, sizeof d, 9);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(ps_sendto(s, cli, d, 300, 0, &to), 300);
    ps_stack_poll(s, T0);
    CHECK_EQ(STAT(s, udp_delivered), 3); /* 900 bytes; a fourth would be 1200 */
    CHECK_EQ(STAT(s, udp_drop_rcvbuf), 2);
    uint8_t b[2000];
    for (int i = 0; i < 3; i++)
        CHECK_EQ(ps_recv(s, srv, b, sizeof b, 0), 300);
    /* An empty queue takes one datagram of any size. */
    CHECK_EQ(ps_sendto(s, cli, d, 2000, 0, &to), 2000);
    CHECK_EQ(ps_sendto(s, cli, d, 1, 0, &to), 1);
    ps_stack_poll(s, T0);
    CHECK_EQ(STAT(s, udp_drop_rcvbuf), 3);
    REQUIRE(ps_recv(s, srv, b, sizeof b, 0) == 2000);
    CHECK_MEM(b, d, 2000);
    CHECK_EQ(ps_recv(s, srv, b, sizeof b, 0), -EAGAIN);
    ps_close(s, srv);
    ps_close(s, cli);
    CHECK_POOLS_FULL(s);
    ps_stack_free(s);
}

TEST(peek_trunc_and_short_buffers)
{
    struct ps_stack *s = ps_stack_new(NULL, T0);
    REQUIRE(s);
    int srv = udp_bound(s, 0, 7000), cli = udp_bound(s, 0, 7001);
    REQUIRE(srv >= 0 && cli >= 0);
    struct ps_sockaddr_in to = sa(PS_IP4(127, 0, 0, 1), 7000), from;
    uint8_t d[100], b[200];
    fill(d, sizeof d, 5);
    CHECK_EQ(ps_sendto(s, cli, d, 100, 0, &to), 100);
    CHECK_EQ(ps_sendto(s, cli, "", 0, 0, &to), 0);
    CHECK_EQ(ps_sendto(s, cli, d, 50, 0, &to), 50);
    ps_stack_poll(s, T0);

    memset(b, 0, sizeof b);
    CHECK_EQ(ps_recvfrom(s, srv, b, 10, PS_MSG_PEEK, &from), 10);
    CHECK_MEM(b, d, 10);
    CHECK_EQ(from.port, 7001);
    CHECK_EQ(ps_recv(s, srv, b, 10, PS_MSG_PEEK | PS_MSG_TRUNC), 100); /* the real length */
    CHECK_EQ(ps_recv(s, srv, b, sizeof b, PS_MSG_PEEK), 100);
    CHECK_MEM(b, d, 100);
    /* A short buffer cuts the datagram; the rest is gone. */
    memset(b, 0, sizeof b);
    CHECK_EQ(ps_recv(s, srv, b, 10, 0), 10);
    CHECK_MEM(b, d, 10);
    CHECK_EQ(b[10], 0);
    /* The empty datagram is a datagram. */
    memset(&from, 0, sizeof from);
    CHECK_EQ(ps_recvfrom(s, srv, b, sizeof b, 0, &from), 0);
    CHECK_EQ(from.port, 7001);
    CHECK_EQ(ps_recv(s, srv, b, 5, PS_MSG_TRUNC), 50);
    CHECK_EQ(ps_recv(s, srv, b, sizeof b, 0), -EAGAIN);
    ps_close(s, srv);
    ps_close(s, cli);
    CHECK_POOLS_FULL(s);
    ps_stack_free(s);
}

/* ---- broadcast ------------------------------------------------------------------------- */

struct counter {
    unsigned calls;
    short last;
};

static void count_cb(void *ctx, int fd, short revents)
{
    (void)fd;
    struct counter *c = ctx;
    c->calls++;
    c->last = revents;
}

TEST(broadcast_needs_so_broadcast_and_reaches_every_socket)
{
    struct world w;
    REQUIRE(world_new(&w, NULL, 1500));
    int one = 1;
    int r[4];
    static const struct {
        ps_ip4_t addr;
        uint16_t port;
    } binds[4] = {{0, 6000}, {0, 6000}, {IP_PEER, 6000}, {0, 6001}};
    struct counter cnt[4] = {{0, 0}};
    for (int i = 0; i < 4; i++) {
        r[i] = ps_socket(w.b, PS_SOCK_DGRAM);
        REQUIRE(r[i] >= 0);
        set_int(w.b, r[i], PS_SOL_SOCKET, PS_SO_REUSEADDR, 1);
        struct ps_sockaddr_in a = sa(binds[i].addr, binds[i].port);
        REQUIRE(ps_bind(w.b, r[i], &a) == 0);
        REQUIRE(ps_socket_set_callback(w.b, r[i], count_cb, &cnt[i]) == 0);
    }
    int tx = ps_socket(w.a, PS_SOCK_DGRAM);
    REQUIRE(tx >= 0);
    struct ps_sockaddr_in lim = sa(PS_IP4_BROADCAST, 6000), dir = sa(IP_BCAST0, 6000);
    CHECK_EQ(ps_sendto(w.a, tx, "x", 1, 0, &lim), -EACCES);
    CHECK_EQ(ps_sendto(w.a, tx, "x", 1, 0, &dir), -EACCES);
    CHECK_EQ(ps_connect(w.a, tx, &lim), -EACCES);
    CHECK_EQ(ps_setsockopt(w.a, tx, PS_SOL_SOCKET, PS_SO_BROADCAST, &one, sizeof one), 0);
    CHECK_EQ(ps_sendto(w.a, tx, "lim", 3, 0, &lim), 3);
    CHECK_EQ(ps_sendto(w.a, tx, "dir", 3, 0, &dir), 3);
    ps_sim_run_for(w.sim, PS_MS(10));
    char b[8];
    struct ps_sockaddr_in from, me;
    REQUIRE(ps_getsockname(w.a, tx, &me) == 0);
    for (int i = 0; i < 2; i++) { /* the wildcard sockets on 6000: both, in order */
        CHECK_EQ(cnt[i].calls, 2);
        CHECK(cnt[i].last & PS_POLLIN);
        CHECK_EQ(ps_recvfrom(w.b, r[i], b, sizeof b, 0, &from), 3);
        CHECK_MEM(b, "lim", 3);
        CHECK_U64(from.addr, IP_US);
        CHECK_EQ(from.port, me.port);
        CHECK_EQ(ps_recv(w.b, r[i], b, sizeof b, 0), 3);
        CHECK_MEM(b, "dir", 3);
    }
    /* Bound to the unicast address, or another port: not for them. */
    for (int i = 2; i < 4; i++) {
        CHECK_EQ(cnt[i].calls, 0);
        CHECK_EQ(ps_recv(w.b, r[i], b, sizeof b, 0), -EAGAIN);
    }
    CHECK_EQ(STAT(w.b, udp_delivered), 4);
    /* No socket: counted, and never an ICMP error. */
    struct ps_sockaddr_in none = sa(PS_IP4_BROADCAST, 6002);
    CHECK_EQ(ps_sendto(w.a, tx, "?", 1, 0, &none), 1);
    ps_sim_run_for(w.sim, PS_MS(10));
    CHECK_EQ(STAT(w.b, udp_drop_broadcast), 1);
    CHECK_EQ(STAT(w.b, icmp_err_tx), 0);
    CHECK_EQ(STAT(w.a, udp_rx), 0); /* the sender does not hear itself */
    for (int i = 0; i < 4; i++)
        ps_close(w.b, r[i]);
    ps_close(w.a, tx);
    WORLD_FREE(w);
}

/* An application callback may close and open sockets while a broadcast
 * is being handed out. */
struct churn {
    struct ps_stack *s;
    int fds[3];
    unsigned calls;
    int opened;
};

static void churn_cb(void *ctx, int fd, short revents)
{
    (void)revents;
    struct churn *c = ctx;
    c->calls++;
    for (int i = 0; i < 3; i++)
        if (c->fds[i] != fd && c->fds[i] >= 0) {
            ps_close(c->s, c->fds[i]);
            c->fds[i] = -1;
        }
    if (c->opened < 0) { /* in a slot just freed */
        int one = 1;
        struct ps_sockaddr_in a = sa(0, 6000);
        c->opened = ps_socket(c->s, PS_SOCK_DGRAM);
        ps_setsockopt(c->s, c->opened, PS_SOL_SOCKET, PS_SO_REUSEADDR, &one, sizeof one);
        if (ps_bind(c->s, c->opened, &a) != 0)
            c->opened = -2;
    }
}

TEST(callbacks_may_close_sockets_during_broadcast)
{
    struct world w;
    REQUIRE(world_new(&w, NULL, 1500));
    struct churn c = {.s = w.b, .opened = -1};
    int one = 1;
    for (int i = 0; i < 3; i++) {
        c.fds[i] = ps_socket(w.b, PS_SOCK_DGRAM);
        REQUIRE(c.fds[i] >= 0);
        set_int(w.b, c.fds[i], PS_SOL_SOCKET, PS_SO_REUSEADDR, 1);
        struct ps_sockaddr_in a = sa(0, 6000);
        REQUIRE(ps_bind(w.b, c.fds[i], &a) == 0);
        ps_socket_set_callback(w.b, c.fds[i], churn_cb, &c);
    }
    int tx = ps_socket(w.a, PS_SOCK_DGRAM);
    REQUIRE(ps_setsockopt(w.a, tx, PS_SOL_SOCKET, PS_SO_BROADCAST, &one, sizeof one) == 0);
    struct ps_sockaddr_in lim = sa(PS_IP4_BROADCAST, 6000);
    CHECK_EQ(ps_sendto(w.a, tx, "all", 3, 0, &lim), 3);
    ps_sim_run_for(w.sim, PS_MS(10));
    CHECK_EQ(c.calls, 1); /* the others were closed before their turn */
    CHECK_EQ(STAT(w.b, udp_delivered), 3);
    int left = -1;
    for (int i = 0; i < 3; i++)
        if (c.fds[i] >= 0)
            left = c.fds[i];
    REQUIRE(left >= 0);
    char b[8];
    CHECK_EQ(ps_recv(w.b, left, b, sizeof b, 0), 3);
    REQUIRE(c.opened >= 0);
    CHECK(c.opened != left && c.opened < 3); /* it took a slot freed in the callback */
    CHECK_EQ(ps_recv(w.b, c.opened, b, sizeof b, 0), -EAGAIN); /* born after the datagram */
    ps_close(w.b, left);
    ps_close(w.b, c.opened);
    ps_close(w.a, tx);
    WORLD_FREE(w);
}

/* ---- big datagrams -------------------------------------------------------------------- */

TEST(big_datagrams_fragment_and_reassemble)
{
    struct world w;
    REQUIRE(world_new(&w, NULL, 1500));
    int srv = udp_bound(w.b, 0, 4000), cli = ps_socket(w.a, PS_SOCK_DGRAM);
    REQUIRE(srv >= 0 && cli >= 0);
    static uint8_t out[MAX_DGRAM + 1], in[MAX_DGRAM + 16];
    fill(out, sizeof out, 11);
    struct ps_sockaddr_in to = sa(IP_PEER, 4000);
    static const size_t sizes[] = {8000, 1473, 1472, MAX_DGRAM};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t frags = STAT(w.a, ip_frag_tx);
        CHECK_EQ(ps_sendto(w.a, cli, out, sizes[i], 0, &to), sizes[i]);
        ps_sim_run_for(w.sim, PS_MS(20));
        memset(in, 0, sizes[i]);
        REQUIRE(ps_recv(w.b, srv, in, sizeof in, 0) == (ssize_t)sizes[i]);
        CHECK_MEM(in, out, sizes[i]);
        CHECK_EQ(STAT(w.a, ip_frag_tx) > frags, sizes[i] > 1472); /* 1472 + 28 = 1500 fits */
    }
    CHECK_EQ(ps_sendto(w.a, cli, out, MAX_DGRAM + 1, 0, &to), -EMSGSIZE);
    ps_close(w.a, cli);
    ps_close(w.b, srv);
    WORLD_FREE(w);
}

/* ---- ICMP errors ------------------------------------------------------------------------ */

TEST(port_unreachable_refuses_connected_sender_only)
{
    struct world w;
    REQUIRE(world_new(&w, NULL, 1500));
    int con = ps_socket(w.a, PS_SOCK_DGRAM), unc = ps_socket(w.a, PS_SOCK_DGRAM);
    REQUIRE(con >= 0 && unc >= 0);
    struct counter cnt = {0, 0};
    ps_socket_set_callback(w.a, con, count_cb, &cnt);
    struct ps_sockaddr_in closed = sa(IP_PEER, 9999);
    REQUIRE(ps_connect(w.a, con, &closed) == 0);
    CHECK_EQ(ps_send(w.a, con, "x", 1, 0), 1);
    ps_sim_run_for(w.sim, PS_MS(10));
    CHECK_EQ(STAT(w.b, udp_drop_no_port), 1);
    CHECK_EQ(STAT(w.b, icmp_err_tx), 1);
    CHECK_EQ(STAT(w.a, tp_icmp_err_delivered), 1);
    CHECK_EQ(cnt.calls, 1);
    CHECK(cnt.last & PS_POLLERR);
    struct ps_pollfd pfd = {.fd = con, .events = PS_POLLIN};
    CHECK_EQ(ps_poll(w.a, &pfd, 1), 1);
    CHECK_EQ(pfd.revents, PS_POLLERR);
    /* The next call reports it, once. */
    CHECK_EQ(ps_send(w.a, con, "y", 1, 0), -ECONNREFUSED);
    CHECK_EQ(ps_send(w.a, con, "y", 1, 0), 1);
    ps_sim_run_for(w.sim, PS_MS(10));
    /* This time read through SO_ERROR, which clears it too. */
    int err = -1;
    size_t len = sizeof err;
    CHECK_EQ(ps_getsockopt(w.a, con, PS_SOL_SOCKET, PS_SO_ERROR, &err, &len), 0);
    CHECK_EQ(err, ECONNREFUSED);
    CHECK_EQ(ps_getsockopt(w.a, con, PS_SOL_SOCKET, PS_SO_ERROR, &err, &len), 0);
    CHECK_EQ(err, 0);
    char b[4];
    CHECK_EQ(ps_recv(w.a, con, b, sizeof b, 0), -EAGAIN);

    /* An unconnected socket is not told: it may talk to many peers. */
    uint64_t delivered = STAT(w.a, tp_icmp_err_delivered);
    CHECK_EQ(ps_sendto(w.a, unc, "z", 1, 0, &closed), 1);
    ps_sim_run_for(w.sim, PS_MS(10));
    CHECK_EQ(STAT(w.b, icmp_err_tx), 3);
    CHECK_EQ(STAT(w.a, icmp_err_rx), 3);
    CHECK_EQ(STAT(w.a, tp_icmp_err_delivered), delivered);
    CHECK_EQ(STAT(w.a, tp_icmp_err_unmatched), 0);
    CHECK_EQ(ps_recv(w.a, unc, b, sizeof b, 0), -EAGAIN);
    CHECK_EQ(ps_sendto(w.a, unc, "z", 1, 0, &closed), 1);
    ps_close(w.a, con);
    ps_close(w.a, unc);
    WORLD_FREE(w);
}

TEST(port_unreachable_over_loopback)
{
    struct ps_stack *s = ps_stack_new(NULL, T0);
    REQUIRE(s);
    int fd = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in closed = sa(PS_IP4(127, 0, 0, 1), 9);
    REQUIRE(ps_connect(s, fd, &closed) == 0);
    CHECK_EQ(ps_send(s, fd, "x", 1, 0), 1);
    ps_stack_poll(s, T0); /* the datagram, and the ICMP error queued */
    ps_stack_poll(s, T0); /* the ICMP error */
    char b[4];
    CHECK_EQ(ps_recv(s, fd, b, sizeof b, 0), -ECONNREFUSED);
    CHECK_EQ(ps_recv(s, fd, b, sizeof b, 0), -EAGAIN);
    ps_close(s, fd);
    CHECK_POOLS_FULL(s);
    ps_stack_free(s);
}

/* A neighbour that never answers ARP: the stack's own host-unreachable
 * error reaches the connected socket. */
TEST(arp_failure_is_host_unreachable)
{
    struct world w;
    REQUIRE(world_new(&w, NULL, 1500));
    int fd = ps_socket(w.a, PS_SOCK_DGRAM);
    struct ps_sockaddr_in nobody = sa(PS_IP4(192, 0, 2, 99), 7);
    REQUIRE(ps_connect(w.a, fd, &nobody) == 0);
    CHECK_EQ(ps_send(w.a, fd, "hello?", 6, 0), 6);
    ps_sim_run_for(w.sim, PS_SEC(10));
    char b[8];
    CHECK_EQ(ps_recv(w.a, fd, b, sizeof b, 0), -EHOSTUNREACH);
    ps_close(w.a, fd);
    WORLD_FREE(w);
}

TEST(no_route_is_net_unreachable)
{
    struct world w;
    REQUIRE(world_new(&w, NULL, 1500));
    int fd = ps_socket(w.a, PS_SOCK_DGRAM);
    struct ps_sockaddr_in far = sa(IP_FAR, 7);
    CHECK_EQ(ps_sendto(w.a, fd, "x", 1, 0, &far), -ENETUNREACH);
    CHECK_EQ(ps_connect(w.a, fd, &far), -ENETUNREACH);
    ps_close(w.a, fd);
    WORLD_FREE(w);
}

int main(void)
{
    RUN(loopback_round_trip);
    RUN(wire_round_trip);
    RUN(checksum_verified_zero_accepted);
    RUN(lengths_checked);
    RUN(closed_port_answers_port_unreachable);
    RUN(ttl_and_fragments_on_the_wire);
    RUN(receive_queue_bounded_by_datagrams);
    RUN(receive_queue_bounded_by_bytes);
    RUN(peek_trunc_and_short_buffers);
    RUN(broadcast_needs_so_broadcast_and_reaches_every_socket);
    RUN(callbacks_may_close_sockets_during_broadcast);
    RUN(big_datagrams_fragment_and_reassemble);
    RUN(port_unreachable_refuses_connected_sender_only);
    RUN(port_unreachable_over_loopback);
    RUN(arp_failure_is_host_unreachable);
    RUN(no_route_is_net_unreachable);
    TEST_END();
}
