/*
 * tests/unit/test_socket.c - the socket API itself: socket numbers and the
 * table limit, bad descriptors, bind / connect / getsockname, options,
 * shutdown, poll and callbacks, STREAM sockets at the ports level, the
 * error names and the `ss` listing.  Each test ends with every buffer back
 * in its pool.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <portstack/socket.h>

#include "frames.h"

#define CHECK_POOLS_FULL(s)                                  \
    do {                                                     \
        unsigned sf_, st_, lf_, lt_;                         \
        ps_pbuf_pool_usage((s), &sf_, &st_, &lf_, &lt_);    \
        CHECK_EQ(sf_, st_);                                  \
        CHECK_EQ(lf_, lt_);                                  \
    } while (0)

#define LO PS_IP4(127, 0, 0, 1)

static struct ps_sockaddr_in sa(ps_ip4_t addr, uint16_t port)
{
    struct ps_sockaddr_in a = {.addr = addr, .port = port};
    return a;
}

static int set_int(struct ps_stack *s, int fd, int level, int name, int v)
{
    return ps_setsockopt(s, fd, level, name, &v, sizeof v);
}

static int get_int(struct ps_stack *s, int fd, int level, int name)
{
    int v = -12345;
    size_t len = sizeof v;
    int rc = ps_getsockopt(s, fd, level, name, &v, &len);
    if (rc != 0)
        return rc;
    return len == sizeof v ? v : -12345;
}

/* A stack with eth0 = 192.0.2.1/24 (frames.h), its peer's MAC known. */
static struct net *host(const struct ps_config *cfg)
{
    return net_new(cfg, NET_STATIC_PEERS, 0);
}

static void finish(struct ps_stack *s)
{
    CHECK_POOLS_FULL(s);
    ps_stack_free(s);
}

/* ---- socket numbers -------------------------------------------------------------- */

TEST(every_call_rejects_a_bad_fd)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.max_sockets = 8;
    struct ps_stack *s = ps_stack_new(&cfg, T0);
    REQUIRE(s);
    int closed = ps_socket(s, PS_SOCK_DGRAM);
    REQUIRE(closed == 0);
    REQUIRE(ps_close(s, closed) == 0);
    const int bad[] = {-1, closed, 5, 8, 1 << 30};
    struct ps_sockaddr_in a = sa(LO, 7);
    char b[4];
    int v = 1;
    size_t len = sizeof v;
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = bad[i];
        CHECK_EQ(ps_bind(s, fd, &a), -EBADF);
        CHECK_EQ(ps_listen(s, fd, 5), -EBADF);
        CHECK_EQ(ps_accept(s, fd, &a), -EBADF);
        CHECK_EQ(ps_connect(s, fd, &a), -EBADF);
        CHECK_EQ(ps_send(s, fd, "x", 1, 0), -EBADF);
        CHECK_EQ(ps_sendto(s, fd, "x", 1, 0, &a), -EBADF);
        CHECK_EQ(ps_recv(s, fd, b, sizeof b, 0), -EBADF);
        CHECK_EQ(ps_recvfrom(s, fd, b, sizeof b, 0, &a), -EBADF);
        CHECK_EQ(ps_shutdown(s, fd, PS_SHUT_RDWR), -EBADF);
        CHECK_EQ(ps_setsockopt(s, fd, PS_SOL_SOCKET, PS_SO_REUSEADDR, &v, sizeof v), -EBADF);
        CHECK_EQ(ps_getsockopt(s, fd, PS_SOL_SOCKET, PS_SO_TYPE, &v, &len), -EBADF);
        CHECK_EQ(ps_getsockname(s, fd, &a), -EBADF);
        CHECK_EQ(ps_getpeername(s, fd, &a), -EBADF);
        CHECK_EQ(ps_socket_set_callback(s, fd, NULL, NULL), -EBADF);
        CHECK_EQ(ps_close(s, fd), -EBADF);
        struct ps_pollfd p = {.fd = fd, .events = PS_POLLIN | PS_POLLOUT};
        /* POSIX: a negative fd is skipped; any other bad one is POLLNVAL. */
        CHECK_EQ(ps_poll(s, &p, 1), fd < 0 ? 0 : 1);
        CHECK_EQ(p.revents, fd < 0 ? 0 : PS_POLLNVAL);
    }
    finish(s);
}

TEST(socket_numbers_and_the_table_limit)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.max_sockets = 4;
    struct ps_stack *s = ps_stack_new(&cfg, T0);
    REQUIRE(s);
    CHECK_EQ(ps_socket(s, 0), -EINVAL);
    CHECK_EQ(ps_socket(s, 99), -EINVAL);
    CHECK_EQ(ps_socket(s, 3), -EPROTONOSUPPORT); /* SOCK_RAW */
    for (int i = 0; i < 4; i++)
        CHECK_EQ(ps_socket(s, i % 2 ? PS_SOCK_STREAM : PS_SOCK_DGRAM), i); /* lowest first */
    CHECK_EQ(ps_socket(s, PS_SOCK_DGRAM), -EMFILE);
    CHECK_EQ(ps_socket(s, PS_SOCK_STREAM), -EMFILE);
    CHECK_EQ(ps_stack_stats(s)->sock_table_full, 2);
    CHECK_EQ(ps_close(s, 2), 0);
    CHECK_EQ(ps_close(s, 1), 0);
    CHECK_EQ(ps_socket(s, PS_SOCK_DGRAM), 1); /* the lowest free number */
    CHECK_EQ(ps_socket(s, PS_SOCK_DGRAM), 2);
    CHECK_EQ(get_int(s, 1, PS_SOL_SOCKET, PS_SO_TYPE), PS_SOCK_DGRAM);
    CHECK_EQ(get_int(s, 3, PS_SOL_SOCKET, PS_SO_TYPE), PS_SOCK_STREAM);
    /* Sockets left open are closed with the stack. */
    finish(s);
}

/* ---- bind and names -------------------------------------------------------------- */

TEST(bind_rules_and_ephemeral_ports)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.ephemeral_lo = 40000;
    cfg.ephemeral_hi = 40100;
    struct net *n = host(&cfg);
    REQUIRE(n);
    struct ps_stack *s = n->s;
    int a = ps_socket(s, PS_SOCK_DGRAM), b = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in me;
    REQUIRE(ps_getsockname(s, a, &me) == 0);
    CHECK_EQ(me.addr, 0);
    CHECK_EQ(me.port, 0);
    struct ps_sockaddr_in any0 = sa(0, 0), us = sa(IP_US, 5353), far = sa(IP_FAR, 5353);
    REQUIRE(ps_bind(s, a, &any0) == 0);
    REQUIRE(ps_getsockname(s, a, &me) == 0);
    CHECK(me.port >= 40000 && me.port <= 40100);
    CHECK_EQ(ps_bind(s, a, &us), -EINVAL);           /* bound already */
    CHECK_EQ(ps_bind(s, b, &far), -EADDRNOTAVAIL);   /* not our address */
    CHECK_EQ(ps_bind(s, b, NULL), -EINVAL);
    struct ps_sockaddr_in taken = sa(0, me.port);
    CHECK_EQ(ps_bind(s, b, &taken), -EADDRINUSE);
    CHECK_EQ(ps_close(s, a), 0);                      /* frees the port */
    CHECK_EQ(ps_bind(s, b, &taken), 0);
    CHECK_EQ(ps_close(s, b), 0); /* out of the way of the narrow range below */

    /* IP_LOCAL_PORT_RANGE narrows the pick for one socket. */
    int c[4];
    uint16_t got[3];
    uint32_t range = (40012u << 16) | 40010u;
    for (int i = 0; i < 4; i++) {
        c[i] = ps_socket(s, PS_SOCK_DGRAM);
        REQUIRE(ps_setsockopt(s, c[i], PS_IPPROTO_IP, PS_IP_LOCAL_PORT_RANGE, &range, sizeof range) == 0);
    }
    for (int i = 0; i < 3; i++) {
        REQUIRE(ps_bind(s, c[i], &any0) == 0);
        REQUIRE(ps_getsockname(s, c[i], &me) == 0);
        got[i] = me.port;
        CHECK(me.port >= 40010 && me.port <= 40012);
    }
    CHECK(got[0] != got[1] && got[1] != got[2] && got[0] != got[2]);
    CHECK_EQ(ps_bind(s, c[3], &any0), -EADDRNOTAVAIL); /* the range is spent */
    CHECK_EQ(ps_close(s, c[1]), 0);
    CHECK_EQ(ps_bind(s, c[3], &any0), 0);
    REQUIRE(ps_getsockname(s, c[3], &me) == 0);
    CHECK_EQ(me.port, got[1]);

    /* A socket that sends unbound gets a port then. */
    int d = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in peer = sa(IP_PEER, 53);
    CHECK_EQ(ps_sendto(s, d, "q", 1, 0, &peer), 1);
    REQUIRE(ps_getsockname(s, d, &me) == 0);
    CHECK_EQ(me.addr, 0);
    CHECK(me.port >= 40000 && me.port <= 40100);
    NET_FREE(n);
}

TEST(connect_and_disconnect)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    struct ps_stack *s = n->s;
    int fd = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in me, peer, dns = sa(IP_PEER, 53), undo = sa(0, 0);
    CHECK_EQ(ps_getpeername(s, fd, &peer), -ENOTCONN);
    CHECK_EQ(ps_send(s, fd, "x", 1, 0), -EDESTADDRREQ);
    struct ps_sockaddr_in half = sa(0, 53);
    CHECK_EQ(ps_connect(s, fd, &half), -EINVAL);
    CHECK_EQ(ps_connect(s, fd, NULL), -EINVAL);
    REQUIRE(ps_connect(s, fd, &dns) == 0);
    REQUIRE(ps_getsockname(s, fd, &me) == 0);
    CHECK_U64(me.addr, IP_US); /* the route's source address */
    CHECK(me.port >= PS_DEFAULT_EPHEMERAL_LO);
    REQUIRE(ps_getpeername(s, fd, &peer) == 0);
    CHECK_U64(peer.addr, IP_PEER);
    CHECK_EQ(peer.port, 53);
    CHECK_EQ(ps_send(s, fd, "q", 1, 0), 1);
    CHECK_EQ(n->n, 1);
    /* Disconnect: a port picked by connect() is given back, as Linux. */
    REQUIRE(ps_connect(s, fd, &undo) == 0);
    CHECK_EQ(ps_getpeername(s, fd, &peer), -ENOTCONN);
    REQUIRE(ps_getsockname(s, fd, &me) == 0);
    CHECK_EQ(me.addr, 0);
    CHECK_EQ(me.port, 0);
    CHECK_EQ(ps_send(s, fd, "x", 1, 0), -EDESTADDRREQ);
    ps_close(s, fd);
    NET_FREE(n);
}

/* A connected socket hears only its peer; after disconnect, anyone. */
TEST(connected_socket_filters_by_peer)
{
    struct ps_stack *s = ps_stack_new(NULL, T0);
    REQUIRE(s);
    int srv = ps_socket(s, PS_SOCK_DGRAM), c = ps_socket(s, PS_SOCK_DGRAM), x = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in a_srv = sa(LO, 7001), a_c = sa(LO, 7002), a_x = sa(LO, 7003), undo = sa(0, 0);
    REQUIRE(ps_bind(s, srv, &a_srv) == 0 && ps_bind(s, c, &a_c) == 0 && ps_bind(s, x, &a_x) == 0);
    REQUIRE(ps_connect(s, c, &a_srv) == 0);
    CHECK_EQ(ps_sendto(s, srv, "from srv", 8, 0, &a_c), 8);
    CHECK_EQ(ps_sendto(s, x, "from x", 6, 0, &a_c), 6);
    ps_stack_poll(s, T0);
    ps_stack_poll(s, T0);
    char b[16];
    struct ps_sockaddr_in from;
    CHECK_EQ(ps_recvfrom(s, c, b, sizeof b, 0, &from), 8);
    CHECK_EQ(from.port, 7001);
    CHECK_EQ(ps_recv(s, c, b, sizeof b, 0), -EAGAIN);
    CHECK_EQ(ps_stack_stats(s)->udp_drop_no_port, 1);
    /* Back to bound: the explicit bind (address and port) is kept. */
    REQUIRE(ps_connect(s, c, &undo) == 0);
    struct ps_sockaddr_in me;
    REQUIRE(ps_getsockname(s, c, &me) == 0);
    CHECK_U64(me.addr, LO);
    CHECK_EQ(me.port, 7002);
    CHECK_EQ(ps_sendto(s, x, "again", 5, 0, &a_c), 5);
    ps_stack_poll(s, T0);
    CHECK_EQ(ps_recvfrom(s, c, b, sizeof b, 0, &from), 5);
    CHECK_EQ(from.port, 7003);
    /* Reconnecting to another peer replaces the first. */
    REQUIRE(ps_connect(s, c, &a_srv) == 0);
    REQUIRE(ps_connect(s, c, &a_x) == 0);
    struct ps_sockaddr_in peer;
    REQUIRE(ps_getpeername(s, c, &peer) == 0);
    CHECK_EQ(peer.port, 7003);
    ps_close(s, srv);
    ps_close(s, c);
    ps_close(s, x);
    finish(s);
}

static int drop_tx(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    (void)ctx;
    (void)ifc;
    (void)frame;
    (void)len;
    return 0;
}

TEST(send_argument_errors)
{
    struct ps_stack *s = ps_stack_new(NULL, T0);
    REQUIRE(s);
    int fd = ps_socket(s, PS_SOCK_DGRAM);
    static uint8_t big[65508];
    struct ps_sockaddr_in to = sa(LO, 9), port0 = sa(LO, 0), addr0 = sa(0, 9);
    CHECK_EQ(ps_sendto(s, fd, big, sizeof big, 0, &to), -EMSGSIZE);
    CHECK_EQ(ps_sendto(s, fd, "x", 1, 0, &port0), -EINVAL);
    CHECK_EQ(ps_sendto(s, fd, "x", 1, 0, &addr0), -EINVAL);
    CHECK_EQ(ps_sendto(s, fd, NULL, 1, 0, &to), -EINVAL);
    CHECK_EQ(ps_sendto(s, fd, "x", 1, 0x1 /* MSG_OOB */, &to), -EOPNOTSUPP);
    CHECK_EQ(ps_recv(s, fd, NULL, 4, 0), -EINVAL);
    CHECK_EQ(ps_recv(s, fd, big, 4, 0x1), -EOPNOTSUPP);
    CHECK_EQ(ps_recv(s, fd, big, 4, PS_MSG_DONTWAIT), -EAGAIN);
    /* The largest datagram goes through the loopback path whole. */
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));
    int srv = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in a = sa(LO, 9);
    REQUIRE(ps_bind(s, srv, &a) == 0);
    CHECK_EQ(ps_sendto(s, fd, big, 65507, 0, &to), 65507);
    ps_stack_poll(s, T0);
    static uint8_t in[65507];
    REQUIRE(ps_recv(s, srv, in, sizeof in, 0) == 65507);
    CHECK_MEM(in, big, 65507);
    /* A bound to loopback socket cannot reach the wire (Linux: EINVAL). */
    struct ps_iface *ifc = ps_iface_add(s, "eth0", &MAC_US, 1500, drop_tx, NULL);
    REQUIRE(ifc && ps_iface_add_addr(ifc, IP_US, 24) == 0);
    struct ps_sockaddr_in peer = sa(IP_PEER, 9);
    CHECK_EQ(ps_sendto(s, srv, "x", 1, 0, &peer), -EINVAL);
    ps_close(s, fd);
    ps_close(s, srv);
    finish(s);
}

/* ---- options ------------------------------------------------------------------------ */

TEST(socket_options)
{
    struct ps_stack *s = ps_stack_new(NULL, T0);
    REQUIRE(s);
    int u = ps_socket(s, PS_SOCK_DGRAM), t = ps_socket(s, PS_SOCK_STREAM);
    static const int flags[] = {PS_SO_REUSEADDR, PS_SO_REUSEPORT, PS_SO_BROADCAST};
    for (unsigned i = 0; i < 3; i++) {
        CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, flags[i]), 0);
        CHECK_EQ(set_int(s, u, PS_SOL_SOCKET, flags[i], 5), 0);
        CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, flags[i]), 1);
        CHECK_EQ(set_int(s, u, PS_SOL_SOCKET, flags[i], 0), 0);
        CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, flags[i]), 0);
    }
    CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, PS_SO_RCVBUF), PS_DEFAULT_UDP_RCVBUF);
    CHECK_EQ(set_int(s, u, PS_SOL_SOCKET, PS_SO_RCVBUF, 4096), 0);
    CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, PS_SO_RCVBUF), 4096);
    CHECK_EQ(set_int(s, u, PS_SOL_SOCKET, PS_SO_RCVBUF, 1 << 30), 0);
    CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, PS_SO_RCVBUF), PS_MAX_SOCKBUF);
    CHECK_EQ(set_int(s, u, PS_SOL_SOCKET, PS_SO_RCVBUF, -1), -EINVAL);
    CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, PS_SO_SNDBUF), PS_DEFAULT_SNDBUF);
    CHECK_EQ(set_int(s, u, PS_SOL_SOCKET, PS_SO_SNDBUF, 1000), 0);
    CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, PS_SO_SNDBUF), 1000);
    CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, PS_SO_ERROR), 0);
    CHECK_EQ(set_int(s, u, PS_SOL_SOCKET, PS_SO_ERROR, 1), -ENOPROTOOPT);
    CHECK_EQ(set_int(s, u, PS_SOL_SOCKET, PS_SO_TYPE, 1), -ENOPROTOOPT);
    CHECK_EQ(get_int(s, u, PS_SOL_SOCKET, 999), -ENOPROTOOPT);
    CHECK_EQ(get_int(s, u, 77, PS_SO_TYPE), -ENOPROTOOPT);

    CHECK_EQ(get_int(s, u, PS_IPPROTO_IP, PS_IP_TTL), PS_DEFAULT_TTL);
    CHECK_EQ(set_int(s, u, PS_IPPROTO_IP, PS_IP_TTL, 9), 0);
    CHECK_EQ(get_int(s, u, PS_IPPROTO_IP, PS_IP_TTL), 9);
    CHECK_EQ(set_int(s, u, PS_IPPROTO_IP, PS_IP_TTL, 0), -EINVAL);
    CHECK_EQ(set_int(s, u, PS_IPPROTO_IP, PS_IP_TTL, 256), -EINVAL);
    CHECK_EQ(set_int(s, u, PS_IPPROTO_IP, PS_IP_TTL, -1), 0); /* back to the default */
    CHECK_EQ(get_int(s, u, PS_IPPROTO_IP, PS_IP_TTL), PS_DEFAULT_TTL);

    uint32_t range = (50000u << 16) | 50100u, back = 0; /* lo > hi */
    size_t len = sizeof back;
    CHECK_EQ(ps_setsockopt(s, u, PS_IPPROTO_IP, PS_IP_LOCAL_PORT_RANGE, &range, sizeof range), -EINVAL);
    range = (50100u << 16) | 50000u;
    CHECK_EQ(ps_setsockopt(s, u, PS_IPPROTO_IP, PS_IP_LOCAL_PORT_RANGE, &range, sizeof range), 0);
    CHECK_EQ(ps_getsockopt(s, u, PS_IPPROTO_IP, PS_IP_LOCAL_PORT_RANGE, &back, &len), 0);
    CHECK_U64(back, range);
    CHECK_EQ(ps_setsockopt(s, u, PS_IPPROTO_IP, PS_IP_LOCAL_PORT_RANGE, &range, 2), -EINVAL);

    /* Lengths: too short is EINVAL, the written length is reported. */
    int v = 1;
    len = 2;
    CHECK_EQ(ps_setsockopt(s, u, PS_SOL_SOCKET, PS_SO_REUSEADDR, &v, 2), -EINVAL);
    CHECK_EQ(ps_getsockopt(s, u, PS_SOL_SOCKET, PS_SO_TYPE, &v, &len), -EINVAL);
    CHECK_EQ(ps_setsockopt(s, u, PS_SOL_SOCKET, PS_SO_REUSEADDR, NULL, sizeof v), -EINVAL);
    int64_t wide = -1;
    len = sizeof wide;
    CHECK_EQ(ps_getsockopt(s, u, PS_SOL_SOCKET, PS_SO_TYPE, &wide, &len), 0);
    CHECK_EQ(len, sizeof(int));

    /* SO_LINGER for both types; TCP_NODELAY for STREAM only. */
    struct ps_linger lg = {1, 30}, lg2 = {0, 0};
    len = sizeof lg2;
    CHECK_EQ(ps_setsockopt(s, t, PS_SOL_SOCKET, PS_SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(ps_getsockopt(s, t, PS_SOL_SOCKET, PS_SO_LINGER, &lg2, &len), 0);
    CHECK_EQ(lg2.l_onoff, 1);
    CHECK_EQ(lg2.l_linger, 30);
    CHECK_EQ(ps_setsockopt(s, t, PS_SOL_SOCKET, PS_SO_LINGER, &lg, 4), -EINVAL);
    CHECK_EQ(get_int(s, t, PS_IPPROTO_TCP, PS_TCP_NODELAY), 0);
    CHECK_EQ(set_int(s, t, PS_IPPROTO_TCP, PS_TCP_NODELAY, 1), 0);
    CHECK_EQ(get_int(s, t, PS_IPPROTO_TCP, PS_TCP_NODELAY), 1);
    CHECK_EQ(set_int(s, u, PS_IPPROTO_TCP, PS_TCP_NODELAY, 1), -ENOPROTOOPT);
    CHECK_EQ(set_int(s, t, PS_IPPROTO_IP, PS_IP_TTL, 200), 0);
    CHECK_EQ(get_int(s, t, PS_IPPROTO_IP, PS_IP_TTL), 200);
    ps_close(s, u);
    ps_close(s, t);
    finish(s);
}

/* ---- shutdown, poll and callbacks ---------------------------------------------------- */

TEST(shutdown_semantics)
{
    struct ps_stack *s = ps_stack_new(NULL, T0);
    REQUIRE(s);
    int a = ps_socket(s, PS_SOCK_DGRAM), b = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in aa = sa(LO, 8001), ba = sa(LO, 8002);
    REQUIRE(ps_bind(s, a, &aa) == 0 && ps_bind(s, b, &ba) == 0);
    CHECK_EQ(ps_shutdown(s, a, PS_SHUT_RD), -ENOTCONN);
    REQUIRE(ps_connect(s, a, &ba) == 0);
    CHECK_EQ(ps_shutdown(s, a, 7), -EINVAL);
    CHECK_EQ(ps_sendto(s, b, "one", 3, 0, &aa), 3);
    ps_stack_poll(s, T0);
    CHECK_EQ(ps_shutdown(s, a, PS_SHUT_RD), 0);
    CHECK_EQ(ps_sendto(s, b, "two", 3, 0, &aa), 3);
    ps_stack_poll(s, T0);
    CHECK_EQ(ps_stack_stats(s)->udp_drop_rcvbuf, 1); /* the reading side is shut */
    char buf[8];
    CHECK_EQ(ps_recv(s, a, buf, sizeof buf, 0), 3);   /* what was queued stays readable */
    CHECK_EQ(ps_recv(s, a, buf, sizeof buf, 0), 0);   /* then end of file */
    CHECK_EQ(ps_send(s, a, "x", 1, 0), 1);            /* writing still works */
    CHECK_EQ(ps_shutdown(s, a, PS_SHUT_WR), 0);
    CHECK_EQ(ps_send(s, a, "x", 1, 0), -EPIPE);
    struct ps_pollfd p = {.fd = a, .events = PS_POLLIN};
    CHECK_EQ(ps_poll(s, &p, 1), 1);
    CHECK_EQ(p.revents, PS_POLLIN | PS_POLLHUP);
    ps_stack_poll(s, T0);
    ps_close(s, a);
    ps_close(s, b);
    finish(s);
}

struct events {
    unsigned n;
    int fd[8];
    short rev[8];
    struct ps_stack *s;
    bool close_in_cb;
};

static void record(void *ctx, int fd, short revents)
{
    struct events *e = ctx;
    if (e->n < 8) {
        e->fd[e->n] = fd;
        e->rev[e->n] = revents;
    }
    e->n++;
    if (e->close_in_cb)
        ps_close(e->s, fd);
}

TEST(poll_and_callbacks)
{
    struct ps_stack *s = ps_stack_new(NULL, T0);
    REQUIRE(s);
    int a = ps_socket(s, PS_SOCK_DGRAM), b = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in aa = sa(LO, 8001);
    REQUIRE(ps_bind(s, a, &aa) == 0);
    struct ps_pollfd p[3] = {{a, PS_POLLIN | PS_POLLOUT, -1}, {b, PS_POLLIN, -1}, {40, PS_POLLIN, -1}};
    CHECK_EQ(ps_poll(s, p, 3), 2);
    CHECK_EQ(p[0].revents, PS_POLLOUT); /* UDP can always send */
    CHECK_EQ(p[1].revents, 0);
    CHECK_EQ(p[2].revents, PS_POLLNVAL);
    CHECK_EQ(ps_poll(s, NULL, 0), 0);

    struct events ev = {.s = s};
    REQUIRE(ps_socket_set_callback(s, a, record, &ev) == 0);
    CHECK_EQ(ps_sendto(s, b, "hi", 2, 0, &aa), 2);
    CHECK_EQ(ev.n, 0); /* not before the datagram is really there */
    ps_stack_poll(s, T0);
    REQUIRE(ev.n == 1);
    CHECK_EQ(ev.fd[0], a);
    CHECK_EQ(ev.rev[0], PS_POLLIN | PS_POLLOUT);
    CHECK_EQ(ps_poll(s, p, 2), 1);
    CHECK_EQ(p[0].revents, PS_POLLIN | PS_POLLOUT);
    char buf[4];
    CHECK_EQ(ps_recv(s, a, buf, sizeof buf, 0), 2);

    /* An error is an event too. */
    struct ps_sockaddr_in closed = sa(LO, 8999);
    REQUIRE(ps_connect(s, a, &closed) == 0);
    CHECK_EQ(ps_send(s, a, "x", 1, 0), 1);
    ps_stack_poll(s, T0);
    ps_stack_poll(s, T0);
    REQUIRE(ev.n == 2);
    CHECK_EQ(ev.rev[1], PS_POLLOUT | PS_POLLERR);
    p[0].events = 0;
    CHECK_EQ(ps_poll(s, p, 1), 1);
    CHECK_EQ(p[0].revents, PS_POLLERR); /* reported even when not asked for */

    /* No callback after removing it. */
    REQUIRE(ps_connect(s, a, &(struct ps_sockaddr_in){0, 0}) == 0);
    REQUIRE(ps_socket_set_callback(s, a, NULL, NULL) == 0);
    CHECK_EQ(ps_sendto(s, b, "hi", 2, 0, &aa), 2);
    ps_stack_poll(s, T0);
    CHECK_EQ(ev.n, 2);

    /* A callback may close its own socket; the queue goes with it. */
    REQUIRE(ps_socket_set_callback(s, a, record, &ev) == 0);
    ev.close_in_cb = true;
    CHECK_EQ(ps_sendto(s, b, "hi", 2, 0, &aa), 2);
    ps_stack_poll(s, T0);
    CHECK_EQ(ev.n, 3);
    CHECK_EQ(ps_recv(s, a, buf, sizeof buf, 0), -EBADF);
    ps_close(s, b);
    finish(s);
}

/* ---- STREAM sockets at the ports level ----------------------------------------------------- */

TEST(stream_sockets_at_the_ports_level)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    struct ps_stack *s = n->s;
    int l1 = ps_socket(s, PS_SOCK_STREAM), l2 = ps_socket(s, PS_SOCK_STREAM);
    struct ps_sockaddr_in http = sa(0, 8080), me;
    REQUIRE(ps_bind(s, l1, &http) == 0);
    CHECK_EQ(ps_accept(s, l1, &me), -EINVAL); /* not listening yet */
    REQUIRE(ps_listen(s, l1, 16) == 0);
    CHECK_EQ(ps_listen(s, l1, 32), 0); /* again: fine */
    CHECK_EQ(ps_bind(s, l2, &http), -EADDRINUSE);
    /* SO_REUSEADDR lets both bind, never both listen; SO_REUSEPORT does. */
    int r1 = ps_socket(s, PS_SOCK_STREAM), r2 = ps_socket(s, PS_SOCK_STREAM);
    struct ps_sockaddr_in p81 = sa(IP_US, 8081);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(set_int(s, i ? r2 : r1, PS_SOL_SOCKET, PS_SO_REUSEADDR, 1), 0);
    CHECK_EQ(ps_bind(s, r1, &p81), 0);
    CHECK_EQ(ps_bind(s, r2, &p81), 0);
    CHECK_EQ(ps_listen(s, r1, 5), 0);
    CHECK_EQ(ps_listen(s, r2, 5), -EADDRINUSE);
    int q1 = ps_socket(s, PS_SOCK_STREAM), q2 = ps_socket(s, PS_SOCK_STREAM);
    struct ps_sockaddr_in p82 = sa(0, 8082);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(set_int(s, i ? q2 : q1, PS_SOL_SOCKET, PS_SO_REUSEPORT, 1), 0);
    CHECK_EQ(ps_bind(s, q1, &p82), 0);
    CHECK_EQ(ps_bind(s, q2, &p82), 0);
    CHECK_EQ(ps_listen(s, q1, 5), 0);
    CHECK_EQ(ps_listen(s, q2, 5), 0);
    /* UDP has its own port space. */
    int u = ps_socket(s, PS_SOCK_DGRAM);
    CHECK_EQ(ps_bind(s, u, &http), 0);
    CHECK_EQ(ps_listen(s, u, 5), -EOPNOTSUPP);
    CHECK_EQ(ps_accept(s, u, &me), -EOPNOTSUPP);
    /* listen() on an unbound socket picks a port. */
    int e = ps_socket(s, PS_SOCK_STREAM);
    REQUIRE(ps_listen(s, e, 5) == 0);
    REQUIRE(ps_getsockname(s, e, &me) == 0);
    CHECK(me.port >= PS_DEFAULT_EPHEMERAL_LO);
    /* TCP: a connect starts the handshake; a listener has nothing to
     * accept yet and is no connection to send or receive on. */
    char b[4];
    struct ps_sockaddr_in peer = sa(IP_PEER, 80);
    struct ps_pollfd pf[2] = {{l1, PS_POLLIN, 0}, {l2, PS_POLLIN, 0}};
    CHECK_EQ(ps_poll(s, pf, 2), 1);
    CHECK_EQ(pf[1].revents, PS_POLLHUP); /* never connected */
    int c2 = ps_socket(s, PS_SOCK_STREAM);
    CHECK_EQ(ps_connect(s, c2, &peer), -EINPROGRESS);
    CHECK_EQ(ps_accept(s, l1, &me), -EAGAIN);
    CHECK_EQ(ps_send(s, l1, "x", 1, 0), -ENOTCONN);
    CHECK_EQ(ps_recv(s, l1, b, sizeof b, 0), -ENOTCONN);
    CHECK_EQ(ps_shutdown(s, l1, PS_SHUT_WR), -ENOTCONN);
    CHECK_EQ(ps_poll(s, pf, 2), 1);
    CHECK_EQ(pf[0].revents, 0);
    CHECK_EQ(pf[1].revents, PS_POLLHUP);
    CHECK_EQ(ps_close(s, c2), 0);
    /* Closing the listener frees its port. */
    CHECK_EQ(ps_close(s, l1), 0);
    CHECK_EQ(ps_bind(s, l2, &http), 0);
    CHECK_EQ(ps_listen(s, l2, 5), 0);
    NET_FREE(n);
}

/* ---- names and listings -------------------------------------------------------------- */

TEST(error_names)
{
    static const struct {
        int err;
        const char *name;
    } t[] = {
        {EBADF, "EBADF"}, {EAGAIN, "EAGAIN"}, {EINVAL, "EINVAL"}, {EMFILE, "EMFILE"},
        {EACCES, "EACCES"}, {EPIPE, "EPIPE"}, {EPROTO, "EPROTO"}, {EDESTADDRREQ, "EDESTADDRREQ"},
        {EMSGSIZE, "EMSGSIZE"}, {ENOPROTOOPT, "ENOPROTOOPT"}, {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
        {EOPNOTSUPP, "EOPNOTSUPP"}, {EADDRINUSE, "EADDRINUSE"}, {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
        {ENETUNREACH, "ENETUNREACH"}, {ENOBUFS, "ENOBUFS"}, {ENOTCONN, "ENOTCONN"},
        {ECONNREFUSED, "ECONNREFUSED"}, {EHOSTUNREACH, "EHOSTUNREACH"}, {ECONNRESET, "ECONNRESET"},
        {ETIMEDOUT, "ETIMEDOUT"}, {EISCONN, "EISCONN"}, {EINPROGRESS, "EINPROGRESS"},
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK(strcmp(ps_strerror(-t[i].err), t[i].name) == 0);
        CHECK(strcmp(ps_strerror(t[i].err), t[i].name) == 0);
    }
    CHECK(strcmp(ps_strerror(0), "OK") == 0);
    CHECK(strcmp(ps_strerror(-100000), "unknown error") == 0);
    CHECK(strcmp(ps_strerror(-2147483647 - 1), "unknown error") == 0);
}

struct listing {
    unsigned n;
    struct ps_sock_info info[8];
};

static int collect(void *ctx, const struct ps_sock_info *info)
{
    struct listing *l = ctx;
    l->info[l->n++] = *info;
    return l->n == 3; /* stop after three */
}

TEST(socket_table_and_ss)
{
    struct net *n = host(NULL);
    REQUIRE(n);
    struct ps_stack *s = n->s;
    int dns = ps_socket(s, PS_SOCK_DGRAM), cli = ps_socket(s, PS_SOCK_DGRAM), ssh = ps_socket(s, PS_SOCK_STREAM);
    int odd = ps_socket(s, PS_SOCK_DGRAM), fresh = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in a53 = sa(0, 53), a22 = sa(0, 22), a_odd = sa(LO, 40123), ntp = sa(IP_PEER, 123);
    REQUIRE(ps_bind(s, dns, &a53) == 0);
    REQUIRE(ps_connect(s, cli, &ntp) == 0);
    REQUIRE(ps_bind(s, ssh, &a22) == 0 && ps_listen(s, ssh, 8) == 0);
    REQUIRE(ps_bind(s, odd, &a_odd) == 0);
    /* Something queued on the DNS socket, for Recv-Q. */
    int tx = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in lo53 = sa(LO, 53), me;
    CHECK_EQ(ps_sendto(s, tx, "12345", 5, 0, &lo53), 5);
    ps_stack_poll(s, T0);
    REQUIRE(ps_getsockname(s, cli, &me) == 0);

    struct listing l = {0};
    ps_socket_foreach(s, collect, &l);
    REQUIRE(l.n == 3);
    CHECK_EQ(l.info[0].fd, dns);
    CHECK_EQ(l.info[0].type, PS_SOCK_DGRAM);
    CHECK(strcmp(l.info[0].state, "UNCONN") == 0);
    CHECK_EQ(l.info[0].recv_q, 5);
    CHECK_EQ(l.info[0].local.port, 53);
    CHECK(strcmp(l.info[1].state, "ESTAB") == 0);
    CHECK_U64(l.info[1].peer.addr, IP_PEER);
    CHECK_EQ(l.info[1].peer.port, 123);
    CHECK_EQ(l.info[2].type, PS_SOCK_STREAM);
    CHECK(strcmp(l.info[2].state, "LISTEN") == 0);

    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    REQUIRE(f);
    ps_ss_print(s, f, 0);
    ps_ss_print(s, f, PS_SS_NUMERIC);
    fclose(f);
    fprintf(stderr, "%s", text);
    char want[128];
    CHECK(strstr(text, "Netid State      Recv-Q Send-Q Local Address:Port") == text);
    CHECK(strstr(text, "udp   UNCONN     5      0      *:domain"));
    CHECK(strstr(text, "udp   UNCONN     5      0      *:53 "));
    snprintf(want, sizeof want, "udp   ESTAB      0      0      192.0.2.1:%u", me.port);
    CHECK(strstr(text, want));
    CHECK(strstr(text, "192.0.2.2:ntp\n"));
    CHECK(strstr(text, "192.0.2.2:123\n"));
    CHECK(strstr(text, "tcp   LISTEN     0      8      *:ssh"));
    CHECK(strstr(text, "127.0.0.1:40123"));
    CHECK(strstr(text, "*:*\n"));
    (void)fresh;
    free(text);
    ps_close(s, dns); /* its queue goes back to the pool */
    NET_FREE(n);
}

int main(void)
{
    RUN(every_call_rejects_a_bad_fd);
    RUN(socket_numbers_and_the_table_limit);
    RUN(bind_rules_and_ephemeral_ports);
    RUN(connect_and_disconnect);
    RUN(connected_socket_filters_by_peer);
    RUN(send_argument_errors);
    RUN(socket_options);
    RUN(shutdown_semantics);
    RUN(poll_and_callbacks);
    RUN(stream_sockets_at_the_ports_level);
    RUN(error_names);
    RUN(socket_table_and_ss);
    TEST_END();
}
