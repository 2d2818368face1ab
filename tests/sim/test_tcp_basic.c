/*
 * TCP through the socket API between two stacks on a simulated link: the
 * handshake and the states ss shows, data both ways byte-exact, graceful
 * close from either side and from both at once, half-close, the errors a
 * connection reports (ECONNREFUSED, ETIMEDOUT/EHOSTUNREACH, ECONNRESET,
 * EPIPE), the accept queue's bound, SO_LINGER 0, TIME_WAIT and 2*MSL,
 * readiness through ps_poll and callbacks.  Every test ends with every
 * buffer back in its pool.
 *
 * Host a is 192.0.2.1, host b 192.0.2.2, on one link with a 1 ms one-way
 * delay.  Data is a stream of pseudo-random bytes, each a function of its
 * position, so a receiver checks every byte it gets and a 64-bit FNV-1a
 * checksum of everything sent and received is compared at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/apps.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "tcp_sim.h"

#define IP_NOBODY PS_IP4(192, 0, 2, 99) /* on the link, but no host has it */
#define T0 PS_SEC(100)

/* The default MSL; TIME_WAIT lasts twice that. */
#define MSL_DEFAULT PS_MS(PS_DEFAULT_TCP_MSL_MS)

/* ---- the world: a and b (two_hosts.h) on a link with a 1 ms delay ---------------------- */

static const struct ps_sim_impair wire = {.delay = PS_MS(1)};

static bool world_new_cfg(struct two_hosts *w, const struct ps_config *ca, const struct ps_config *cb)
{
    return two_hosts_new_at(w, 4242, T0, ca, cb, &wire);
}

static bool world_new(struct two_hosts *w)
{
    return two_hosts_new_seeded(w, 4242, T0, 1001, 2002, &wire);
}

/* Let every timer run out (TIME_WAIT included), check no buffer is held,
 * free everything.  The caller has closed its sockets. */
static void world_free(struct two_hosts *w)
{
    ps_sim_run_for(w->sim, 4 * MSL_DEFAULT + PS_SEC(60));
    CHECK_POOLS_FULL(w->a);
    CHECK_POOLS_FULL(w->b);
    two_hosts_free(w);
}

static struct ps_sockaddr_in sa(ps_ip4_t addr, uint16_t port)
{
    struct ps_sockaddr_in a = {.addr = addr, .port = port};
    return a;
}

/* ---- the socket table --------------------------------------------------------------- */

struct find {
    int fd;                       /* match this fd, or -2: match the quadruple */
    struct ps_sockaddr_in local, peer;
    char state[32];
    int found_fd;
    unsigned count;               /* matching entries */
};

static int find_cb(void *ctx, const struct ps_sock_info *i)
{
    struct find *f = ctx;
    if (i->type != PS_SOCK_STREAM)
        return 0;
    if (f->fd >= 0 ? i->fd != f->fd
                   : (i->local.addr != f->local.addr || i->local.port != f->local.port ||
                      i->peer.addr != f->peer.addr || i->peer.port != f->peer.port))
        return 0;
    if (f->count++ == 0) {
        snprintf(f->state, sizeof(f->state), "%s", i->state ? i->state : "(null)");
        f->found_fd = i->fd;
    }
    return 0;
}

/* The state of socket fd as the table shows it ("" if not listed). */
static const char *state_of(struct ps_stack *s, int fd)
{
    static struct find f;
    memset(&f, 0, sizeof(f));
    f.fd = fd;
    ps_socket_foreach(s, find_cb, &f);
    return f.state;
}

/* The entry for a quadruple (a socket or a TIME_WAIT record). */
static struct find quad_entry(struct ps_stack *s, struct ps_sockaddr_in local, struct ps_sockaddr_in peer)
{
    struct find f;
    memset(&f, 0, sizeof(f));
    f.fd = -2;
    f.local = local;
    f.peer = peer;
    ps_socket_foreach(s, find_cb, &f);
    return f;
}

static int count_cb(void *ctx, const struct ps_sock_info *i)
{
    unsigned *n = ctx;
    if (i->type == PS_SOCK_STREAM)
        (*n)++;
    return 0;
}

static unsigned stream_entries(struct ps_stack *s)
{
    unsigned n = 0;
    ps_socket_foreach(s, count_cb, &n);
    return n;
}

static int live_cb(void *ctx, const struct ps_sock_info *i)
{
    unsigned *n = ctx;
    if (i->type == PS_SOCK_STREAM && (!i->state || strcmp(i->state, "TIME-WAIT") != 0))
        (*n)++;
    return 0;
}

/* STREAM entries other than TIME-WAIT records. */
static unsigned live_entries(struct ps_stack *s)
{
    unsigned n = 0;
    ps_socket_foreach(s, live_cb, &n);
    return n;
}

#define CHECK_STATE(s, fd, want)                                                            \
    do {                                                                                    \
        const char *st_ = state_of((s), (fd));                                              \
        if (strcmp(st_, (want)) != 0)                                                       \
            T_FAIL("state of %s fd %d is '%s', expected '%s'", ps_stack_name(s), (fd), st_, \
                   (want));                                                                 \
    } while (0)

static int so_error(struct ps_stack *s, int fd)
{
    int e = -1;
    size_t len = sizeof(e);
    int rc = ps_getsockopt(s, fd, PS_SOL_SOCKET, PS_SO_ERROR, &e, &len);
    return rc < 0 ? rc : e;
}

static short revents(struct ps_stack *s, int fd, short events)
{
    struct ps_pollfd p = {.fd = fd, .events = events};
    ps_poll(s, &p, 1);
    return p.revents;
}

/* ---- data: bytes as a function of their position, checksummed ------------------------- */

/* mix64, gen, fnv1a: tests/stream_data.h */

/* struct flow, flow_send, flow_recv: tests/tcp_sim.h */

/* A poller that moves the registered flows every millisecond. */
#define MAX_FLOWS 64
static struct flow *pumped[MAX_FLOWS];
static unsigned npumped;

static ps_time_t pump(void *ctx, ps_time_t now)
{
    (void)ctx;
    for (unsigned i = 0; i < npumped; i++) {
        flow_send(pumped[i]);
        flow_recv(pumped[i]);
    }
    return now + PS_MS(1);
}

static void pump_start(struct two_hosts *w, struct flow *f)
{
    if (npumped == 0)
        ps_sim_add_poller(w->sim, pump, NULL);
    pumped[npumped++] = f;
}

static void pump_stop(struct two_hosts *w)
{
    ps_sim_remove_poller(w->sim, pump, NULL);
    npumped = 0;
}

static bool flows_done(void *ctx)
{
    (void)ctx;
    for (unsigned i = 0; i < npumped; i++) {
        const struct flow *f = pumped[i];
        if (f->tx_err || f->rx_err)
            return true; /* no point waiting */
        if (f->rcvd < f->total || !f->done_tx)
            return false;
        if (f->end != FLOW_KEEP && !f->eof)
            return false;
    }
    return true;
}

/* ---- connections ------------------------------------------------------------------------ */

struct accept_ctx {
    struct ps_stack *s;
    int lfd, fd;
    struct ps_sockaddr_in peer;
};

static bool try_accept(void *ctx)
{
    struct accept_ctx *c = ctx;
    if (c->fd < 0)
        c->fd = ps_accept(c->s, c->lfd, &c->peer);
    return c->fd >= 0;
}

/* connect() as a non-blocking BSD socket answers: in progress (or done). */
#define CHECK_CONNECT_RC(rc) \
    do { \
        int rc_ = (rc); \
        if (rc_ != -EINPROGRESS && rc_ != 0) \
            T_FAIL("connect returned %d (%s), expected -EINPROGRESS or 0", rc_, ps_strerror(rc_)); \
    } while (0)

/* An established pair: cfd on a (the client), afd on b (accepted). */
static bool connect_pair(struct two_hosts *w, int lfd, uint16_t port, int *cfd, int *afd)
{
    *cfd = ps_socket(w->a, PS_SOCK_STREAM);
    if (*cfd < 0)
        return false;
    struct ps_sockaddr_in to = sa(IP_B, port);
    CHECK_CONNECT_RC(ps_connect(w->a, *cfd, &to));
    struct accept_ctx ac = {.s = w->b, .lfd = lfd, .fd = -1};
    if (!ps_sim_run_while_not(w->sim, try_accept, &ac, ps_sim_now(w->sim) + PS_SEC(5)))
        return false;
    *afd = ac.fd;
    ps_sim_run_for(w->sim, PS_MS(10)); /* the client has seen the SYN-ACK too */
    return strcmp(state_of(w->a, *cfd), "ESTAB") == 0;
}

/* A world (the usual configurations, or ca and cb) with a listener lfd on
 * b's port and one connection to it established: cfd on a, afd on b; cl
 * and sv, when asked for, the client's and the server's addresses. */
static void world_conn(struct two_hosts *w, const struct ps_config *ca, const struct ps_config *cb, uint16_t port,
                       int *lfd, int *cfd, int *afd, struct ps_sockaddr_in *cl, struct ps_sockaddr_in *sv)
{
    REQUIRE(ca ? world_new_cfg(w, ca, cb) : world_new(w));
    *lfd = stream_listener(w->b, port, 8);
    REQUIRE(*lfd >= 0);
    REQUIRE(connect_pair(w, *lfd, port, cfd, afd));
    if (cl)
        REQUIRE(ps_getsockname(w->a, *cfd, cl) == 0);
    if (sv)
        REQUIRE(ps_getpeername(w->a, *cfd, sv) == 0);
}

/* Close the client, the accepted socket and the listener, in that order,
 * then world_free(). */
static void world_conn_free(struct two_hosts *w, int lfd, int cfd, int afd)
{
    ps_close(w->a, cfd);
    ps_close(w->b, afd);
    ps_close(w->b, lfd);
    world_free(w);
}

/* ---- the tests ------------------------------------------------------------------------- */

TEST(handshake_and_states)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int lfd = stream_listener(w.b, 5000, 8);
    REQUIRE(lfd >= 0);
    CHECK_STATE(w.b, lfd, "LISTEN");
    CHECK_EQ(revents(w.b, lfd, PS_POLLIN), 0); /* nothing to accept yet */
    struct ps_sockaddr_in peer;
    CHECK_EQ(ps_accept(w.b, lfd, &peer), -EAGAIN);

    int cfd = ps_socket(w.a, PS_SOCK_STREAM);
    REQUIRE(cfd >= 0);
    struct ps_sockaddr_in to = sa(IP_B, 5000), me, them;
    CHECK_CONNECT_RC(ps_connect(w.a, cfd, &to));
    CHECK_STATE(w.a, cfd, "SYN-SENT");
    REQUIRE(ps_getsockname(w.a, cfd, &me) == 0);
    CHECK(me.port >= PS_DEFAULT_EPHEMERAL_LO);
    CHECK_EQ(revents(w.a, cfd, PS_POLLOUT), 0); /* not writable before ESTAB */
    CHECK_EQ(ps_connect(w.a, cfd, &to), -EALREADY);

    struct accept_ctx ac = {.s = w.b, .lfd = lfd, .fd = -1};
    REQUIRE(ps_sim_run_while_not(w.sim, try_accept, &ac, T0 + PS_SEC(5)));
    ps_sim_run_for(w.sim, PS_MS(10));
    CHECK_STATE(w.a, cfd, "ESTAB");
    CHECK_STATE(w.b, ac.fd, "ESTAB");
    CHECK_STATE(w.b, lfd, "LISTEN");
    CHECK(revents(w.a, cfd, PS_POLLOUT) & PS_POLLOUT);
    CHECK_EQ(ps_connect(w.a, cfd, &to), -EISCONN);
    CHECK_EQ(so_error(w.a, cfd), 0);

    /* Both ends name the same quadruple. */
    REQUIRE(ps_getsockname(w.a, cfd, &me) == 0);
    REQUIRE(ps_getpeername(w.a, cfd, &them) == 0);
    CHECK_U64(me.addr, IP_A);
    CHECK_U64(them.addr, IP_B);
    CHECK_EQ(them.port, 5000);
    CHECK_U64(ac.peer.addr, IP_A);
    CHECK_EQ(ac.peer.port, me.port);
    REQUIRE(ps_getsockname(w.b, ac.fd, &me) == 0);
    REQUIRE(ps_getpeername(w.b, ac.fd, &them) == 0);
    CHECK_U64(me.addr, IP_B);
    CHECK_EQ(me.port, 5000);
    CHECK_U64(them.addr, IP_A);
    CHECK_EQ(them.port, ac.peer.port);
    struct find e = quad_entry(w.a, sa(IP_A, ac.peer.port), sa(IP_B, 5000));
    CHECK_EQ(e.count, 1);
    CHECK_EQ(e.found_fd, cfd);

    /* A second connection gets another ephemeral port. */
    int c2, a2;
    REQUIRE(connect_pair(&w, lfd, 5000, &c2, &a2));
    struct ps_sockaddr_in me2;
    REQUIRE(ps_getsockname(w.a, c2, &me2) == 0);
    CHECK(me2.port != ac.peer.port);

    ps_close(w.a, cfd);
    ps_close(w.a, c2);
    ps_close(w.b, ac.fd);
    ps_close(w.b, a2);
    ps_close(w.b, lfd);
    world_free(&w);
}

TEST(data_both_ways_byte_exact)
{
    struct two_hosts w;
    int lfd, cfd, afd;
    world_conn(&w, NULL, NULL, 5001, &lfd, &cfd, &afd, NULL, NULL);
    struct flow up, down;
    flow_init(&up, w.a, cfd, w.b, afd, 300000, 1);
    flow_init(&down, w.b, afd, w.a, cfd, 200001, 2);
    pump_start(&w, &up);
    pump_start(&w, &down);
    CHECK(ps_sim_run_while_not(w.sim, flows_done, NULL, ps_sim_now(w.sim) + PS_SEC(60)));
    pump_stop(&w);
    CHECK_FLOW(up);
    CHECK_FLOW(down);

    /* Small writes arrive in order too, and ss shows nothing queued once
     * the peer has read everything. */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(ps_send(w.a, cfd, &i, sizeof(i), 0), sizeof(i));
    ps_sim_run_for(w.sim, PS_MS(500));
    int got[100];
    size_t have = 0;
    ssize_t n;
    while (have < sizeof(got) && (n = ps_recv(w.b, afd, (char *)got + have, sizeof(got) - have, 0)) > 0)
        have += (size_t)n;
    CHECK_EQ(have, sizeof(got));
    for (int i = 0; i < 100; i++)
        CHECK_EQ(got[i], i);
    CHECK_EQ(ps_recv(w.b, afd, got, sizeof(got), 0), -EAGAIN);

    /* MSG_PEEK leaves the bytes. */
    CHECK_EQ(ps_send(w.b, afd, "peekaboo", 8, 0), 8);
    ps_sim_run_for(w.sim, PS_MS(100));
    char pk[16];
    CHECK_EQ(ps_recv(w.a, cfd, pk, 4, PS_MSG_PEEK), 4);
    CHECK_MEM(pk, "peek", 4);
    CHECK_EQ(ps_recv(w.a, cfd, pk, sizeof(pk), 0), 8);
    CHECK_MEM(pk, "peekaboo", 8);

    world_conn_free(&w, lfd, cfd, afd);
}

/* The client closes first: FIN-WAIT, CLOSE-WAIT, LAST-ACK, TIME-WAIT on
 * the client; every byte sent before close() still arrives. */
TEST(close_from_client)
{
    struct two_hosts w;
    int lfd, cfd, afd;
    struct ps_sockaddr_in cl, sv;
    world_conn(&w, NULL, NULL, 5002, &lfd, &cfd, &afd, &cl, &sv);

    struct flow up;
    flow_init(&up, w.a, cfd, w.b, afd, 100000, 3);
    up.end = FLOW_CLOSE; /* close() right after the last send */
    pump_start(&w, &up);
    CHECK(ps_sim_run_while_not(w.sim, flows_done, NULL, ps_sim_now(w.sim) + PS_SEC(30)));
    pump_stop(&w);
    CHECK_FLOW(up);
    CHECK(up.eof);
    CHECK_EQ(up.end_rc, 0);
    /* The FIN's ACK may be delayed (no more than 200 ms). */
    ps_sim_run_for(w.sim, PS_MS(300));
    char b[8];
    CHECK_EQ(ps_recv(w.b, afd, b, sizeof(b), 0), 0); /* EOF stays EOF */
    CHECK_STATE(w.b, afd, "CLOSE-WAIT");
    struct find e = quad_entry(w.a, cl, sv);
    CHECK_EQ(e.count, 1);
    CHECK(strcmp(e.state, "FIN-WAIT-2") == 0);
    if (strcmp(e.state, "FIN-WAIT-2") != 0)
        fprintf(stderr, "  client state after its FIN was acked: %s\n", e.state);

    /* The server may still send in CLOSE-WAIT; the closed client answers
     * data with RST (nobody will read it), but a plain close is fine. */
    CHECK_EQ(ps_close(w.b, afd), 0);
    ps_sim_run_for(w.sim, PS_MS(100));
    e = quad_entry(w.a, cl, sv);
    CHECK_EQ(e.count, 1);
    CHECK(strcmp(e.state, "TIME-WAIT") == 0);
    CHECK_EQ(e.found_fd, -1);
    if (strcmp(e.state, "TIME-WAIT") != 0)
        fprintf(stderr, "  client state after the server's FIN: %s\n", e.state);
    e = quad_entry(w.b, sv, cl);
    CHECK_EQ(e.count, 0); /* the passive closer keeps nothing */

    ps_close(w.b, lfd);
    world_free(&w);
}

/* The server closes first: the client reads to EOF, then closes; the
 * server holds TIME-WAIT. */
TEST(close_from_server)
{
    struct two_hosts w;
    int lfd, cfd, afd;
    struct ps_sockaddr_in cl, sv;
    world_conn(&w, NULL, NULL, 5003, &lfd, &cfd, &afd, &cl, &sv);

    struct flow down;
    flow_init(&down, w.b, afd, w.a, cfd, 150000, 4);
    down.end = FLOW_CLOSE;
    pump_start(&w, &down);
    CHECK(ps_sim_run_while_not(w.sim, flows_done, NULL, ps_sim_now(w.sim) + PS_SEC(30)));
    pump_stop(&w);
    CHECK_FLOW(down);
    CHECK(down.eof);
    CHECK_STATE(w.a, cfd, "CLOSE-WAIT");
    CHECK(revents(w.a, cfd, PS_POLLIN) & PS_POLLIN); /* EOF is readable */
    CHECK_EQ(ps_close(w.a, cfd), 0);
    ps_sim_run_for(w.sim, PS_MS(100));
    struct find e = quad_entry(w.b, sv, cl);
    CHECK_EQ(e.count, 1);
    CHECK(strcmp(e.state, "TIME-WAIT") == 0);
    if (strcmp(e.state, "TIME-WAIT") != 0)
        fprintf(stderr, "  server state after the client's FIN: %s\n", e.state);
    CHECK_EQ(quad_entry(w.a, cl, sv).count, 0);
    /* The listener is unaffected. */
    CHECK_STATE(w.b, lfd, "LISTEN");
    ps_close(w.b, lfd);
    world_free(&w);
}

/* Both close at the same instant: both FINs cross (CLOSING), and both
 * ends go through TIME-WAIT. */
TEST(simultaneous_close)
{
    struct two_hosts w;
    int lfd, cfd, afd;
    struct ps_sockaddr_in cl, sv;
    world_conn(&w, NULL, NULL, 5004, &lfd, &cfd, &afd, &cl, &sv);
    CHECK_EQ(ps_close(w.a, cfd), 0);
    CHECK_EQ(ps_close(w.b, afd), 0);
    ps_sim_run_for(w.sim, PS_MS(500));
    struct find ea = quad_entry(w.a, cl, sv), eb = quad_entry(w.b, sv, cl);
    CHECK_EQ(ea.count, 1);
    CHECK_EQ(eb.count, 1);
    CHECK(strcmp(ea.state, "TIME-WAIT") == 0);
    CHECK(strcmp(eb.state, "TIME-WAIT") == 0);
    if (strcmp(ea.state, "TIME-WAIT") != 0 || strcmp(eb.state, "TIME-WAIT") != 0)
        fprintf(stderr, "  after a simultaneous close: a %s, b %s\n", ea.state, eb.state);
    ps_close(w.b, lfd);
    world_free(&w);
    /* The same with shutdown, which keeps the sockets to look at:
     * FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both. */
    world_conn(&w, NULL, NULL, 5004, &lfd, &cfd, &afd, NULL, NULL);
    CHECK_EQ(ps_shutdown(w.a, cfd, PS_SHUT_WR), 0);
    CHECK_EQ(ps_shutdown(w.b, afd, PS_SHUT_WR), 0);
    CHECK_STATE(w.a, cfd, "FIN-WAIT-1");
    CHECK_STATE(w.b, afd, "FIN-WAIT-1");
    ps_sim_run_for(w.sim, PS_MS(500));
    CHECK_STATE(w.a, cfd, "TIME-WAIT");
    CHECK_STATE(w.b, afd, "TIME-WAIT");
    char b[4];
    CHECK_EQ(ps_recv(w.a, cfd, b, sizeof(b), 0), 0);
    CHECK_EQ(ps_recv(w.b, afd, b, sizeof(b), 0), 0);
    world_conn_free(&w, lfd, cfd, afd);
}

/* shutdown(SHUT_WR): the peer reads EOF and may go on sending; the
 * half-closed side still reads all of it; send after shutdown is EPIPE. */
TEST(half_close)
{
    struct two_hosts w;
    int lfd, cfd, afd;
    world_conn(&w, NULL, NULL, 5005, &lfd, &cfd, &afd, NULL, NULL);

    struct flow up, down;
    flow_init(&up, w.a, cfd, w.b, afd, 20000, 5);
    up.end = FLOW_SHUT;
    pump_start(&w, &up);
    CHECK(ps_sim_run_while_not(w.sim, flows_done, NULL, ps_sim_now(w.sim) + PS_SEC(30)));
    pump_stop(&w);
    CHECK_FLOW(up);
    CHECK(up.eof);
    CHECK_EQ(up.end_rc, 0);
    ps_sim_run_for(w.sim, PS_MS(300)); /* the FIN's ACK may be delayed */
    CHECK_STATE(w.a, cfd, "FIN-WAIT-2");
    CHECK_STATE(w.b, afd, "CLOSE-WAIT");
    CHECK_EQ(ps_send(w.a, cfd, "x", 1, 0), -EPIPE);
    char b[8];
    CHECK_EQ(ps_recv(w.b, afd, b, sizeof(b), 0), 0);
    CHECK_EQ(ps_recv(w.b, afd, b, sizeof(b), 0), 0);

    /* The other way still works, byte-exact, up to the second FIN. */
    flow_init(&down, w.b, afd, w.a, cfd, 500000, 6);
    down.end = FLOW_SHUT;
    pump_start(&w, &down);
    CHECK(ps_sim_run_while_not(w.sim, flows_done, NULL, ps_sim_now(w.sim) + PS_SEC(60)));
    pump_stop(&w);
    CHECK_FLOW(down);
    CHECK(down.eof);
    CHECK_EQ(ps_recv(w.a, cfd, b, sizeof(b), 0), 0);
    ps_sim_run_for(w.sim, PS_MS(100));
    CHECK_STATE(w.a, cfd, "TIME-WAIT");
    CHECK_EQ(ps_send(w.b, afd, "x", 1, 0), -EPIPE);
    CHECK_EQ(ps_send(w.a, cfd, "x", 1, 0), -EPIPE);
    CHECK_EQ(ps_shutdown(w.a, cfd, PS_SHUT_RDWR), 0);
    world_conn_free(&w, lfd, cfd, afd);
}

/* SYN to a port without a listener: RST, and the connect fails with
 * ECONNREFUSED (POLLERR, SO_ERROR); a later send says so too. */
TEST(connect_refused)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int fd = ps_socket(w.a, PS_SOCK_STREAM);
    REQUIRE(fd >= 0);
    struct ps_sockaddr_in to = sa(IP_B, 5999);
    CHECK_CONNECT_RC(ps_connect(w.a, fd, &to));
    ps_sim_run_for(w.sim, PS_MS(100));
    short ev = revents(w.a, fd, PS_POLLIN | PS_POLLOUT);
    CHECK(ev & PS_POLLERR);
    int e = so_error(w.a, fd);
    CHECK_EQ(e, ECONNREFUSED);
    CHECK_EQ(so_error(w.a, fd), 0); /* reading it cleared it */
    CHECK(strcmp(state_of(w.a, fd), "ESTAB") != 0);
    CHECK(strcmp(state_of(w.a, fd), "SYN-SENT") != 0);
    char b[4];
    ssize_t n = ps_send(w.a, fd, "x", 1, 0);
    CHECK(n == -EPIPE || n == -ENOTCONN);
    n = ps_recv(w.a, fd, b, sizeof(b), 0);
    CHECK(n == 0 || n == -ENOTCONN);
    ps_close(w.a, fd);

    /* A second socket sees the error from recv() when it asks first. */
    fd = ps_socket(w.a, PS_SOCK_STREAM);
    CHECK_CONNECT_RC(ps_connect(w.a, fd, &to));
    ps_sim_run_for(w.sim, PS_MS(100));
    CHECK_EQ(ps_recv(w.a, fd, b, sizeof(b), 0), -ECONNREFUSED);
    ps_close(w.a, fd);
    CHECK(stat_of(w.b, "tcp_rst_tx") >= 2);
    CHECK(stat_of(w.a, "tcp_conn_refused") >= 2);
    world_free(&w);
}

struct err_ctx {
    struct ps_stack *s;
    int fd;
};

static bool has_error(void *ctx)
{
    struct err_ctx *c = ctx;
    return (revents(c->s, c->fd, 0) & PS_POLLERR) != 0;
}

/* A host that does not exist: ARP gives up (ICMP host unreachable looped
 * back) and SYN retransmissions run out; the connect fails with
 * EHOSTUNREACH or ETIMEDOUT, in bounded time. */
TEST(connect_unreachable)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int fd = ps_socket(w.a, PS_SOCK_STREAM);
    REQUIRE(fd >= 0);
    struct ps_sockaddr_in to = sa(IP_NOBODY, 80);
    CHECK_CONNECT_RC(ps_connect(w.a, fd, &to));
    struct err_ctx c = {w.a, fd};
    ps_time_t t = ps_sim_now(w.sim);
    CHECK(ps_sim_run_while_not(w.sim, has_error, &c, t + PS_SEC(600)));
    int e = so_error(w.a, fd);
    CHECK(e == ETIMEDOUT || e == EHOSTUNREACH);
    fprintf(stderr, "  connect to a missing host failed after %.1f s with %s\n",
            (double)(ps_sim_now(w.sim) - t) / 1e6, ps_strerror(e));
    ps_close(w.a, fd);

    /* Off-link with no route at all: refused at once. */
    fd = ps_socket(w.a, PS_SOCK_STREAM);
    to = sa(PS_IP4(203, 0, 113, 7), 80);
    int rc = ps_connect(w.a, fd, &to);
    CHECK(rc == -ENETUNREACH || rc == -EHOSTUNREACH);
    ps_close(w.a, fd);
    world_free(&w);
}

/* More connections than the backlog: the excess is refused or held off
 * and counted, never crashes; accepting makes room and every client ends
 * either accepted with its byte delivered or with an error. */
#define BL_CLIENTS 12
#define BL_BACKLOG 3
TEST(accept_queue_bound)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int lfd = stream_listener(w.b, 5006, BL_BACKLOG);
    REQUIRE(lfd >= 0);
    int cfd[BL_CLIENTS];
    struct ps_sockaddr_in to = sa(IP_B, 5006);
    for (int i = 0; i < BL_CLIENTS; i++) {
        cfd[i] = ps_socket(w.a, PS_SOCK_STREAM);
        REQUIRE(cfd[i] >= 0);
        CHECK_CONNECT_RC(ps_connect(w.a, cfd[i], &to));
    }
    /* Each client says who it is, once it can. */
    bool said[BL_CLIENTS] = {false};
    for (int round = 0; round < 4; round++) {
        ps_sim_run_for(w.sim, PS_MS(100));
        for (int i = 0; i < BL_CLIENTS; i++) {
            unsigned char who = (unsigned char)i;
            if (!said[i] && ps_send(w.a, cfd[i], &who, 1, 0) == 1)
                said[i] = true;
        }
    }
    /* The queue holds no more than the backlog (Linux: backlog + 1). */
    int afd[BL_CLIENTS], nacc = 0;
    struct ps_sockaddr_in peer;
    while (nacc < BL_CLIENTS && (afd[nacc] = ps_accept(w.b, lfd, &peer)) >= 0)
        nacc++;
    fprintf(stderr, "  %d of %d connections were waiting with backlog %d\n", nacc, BL_CLIENTS, BL_BACKLOG);
    CHECK(nacc >= 1);
    CHECK(nacc <= BL_BACKLOG + 1);
    long long ov = stat_of(w.b, "tcp_accept_overflow"), sq = stat_of(w.b, "tcp_synq_overflow");
    fprintf(stderr, "  tcp_accept_overflow = %lld, tcp_synq_overflow = %lld\n", ov, sq);
    CHECK(ov + sq > 0);

    /* Keep accepting for a minute: the rest come in as room is made, or
     * fail; none is left hanging. */
    for (int round = 0; round < 600 && nacc < BL_CLIENTS; round++) {
        ps_sim_run_for(w.sim, PS_MS(100));
        for (int i = 0; i < BL_CLIENTS; i++) {
            unsigned char who = (unsigned char)i;
            if (!said[i] && ps_send(w.a, cfd[i], &who, 1, 0) == 1)
                said[i] = true;
        }
        while (nacc < BL_CLIENTS && (afd[nacc] = ps_accept(w.b, lfd, &peer)) >= 0)
            nacc++;
    }
    ps_sim_run_for(w.sim, PS_MS(100));
    int delivered = 0, failed = 0, seen[BL_CLIENTS] = {0};
    for (int k = 0; k < nacc; k++) {
        unsigned char who;
        if (ps_recv(w.b, afd[k], &who, 1, 0) == 1 && who < BL_CLIENTS && !seen[who]) {
            seen[who] = 1;
            delivered++;
        }
    }
    for (int i = 0; i < BL_CLIENTS; i++)
        if (!seen[i] && (revents(w.a, cfd[i], 0) & PS_POLLERR))
            failed++;
    fprintf(stderr, "  after a minute: %d accepted, %d delivered their byte, %d failed\n", nacc, delivered,
            failed);
    CHECK_EQ(delivered, nacc);
    CHECK_EQ(delivered + failed, BL_CLIENTS);
    for (int i = 0; i < BL_CLIENTS; i++)
        ps_close(w.a, cfd[i]);
    for (int k = 0; k < nacc; k++)
        ps_close(w.b, afd[k]);
    ps_close(w.b, lfd);
    world_free(&w);
}

/* Closing a listener resets the connections still waiting in its queue. */
TEST(listener_close_resets_queue)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int lfd = stream_listener(w.b, 5007, 4);
    REQUIRE(lfd >= 0);
    int c = ps_socket(w.a, PS_SOCK_STREAM);
    struct ps_sockaddr_in to = sa(IP_B, 5007);
    CHECK_CONNECT_RC(ps_connect(w.a, c, &to));
    ps_sim_run_for(w.sim, PS_MS(100));
    CHECK_STATE(w.a, c, "ESTAB");
    CHECK_EQ(ps_close(w.b, lfd), 0);
    ps_sim_run_for(w.sim, PS_MS(100));
    char b[4];
    CHECK_EQ(ps_recv(w.a, c, b, sizeof(b), 0), -ECONNRESET);
    CHECK_EQ(stream_entries(w.b), 0);
    ps_close(w.a, c);
    world_free(&w);
}

/* SO_LINGER {1, 0}: close() aborts with RST; the peer sees ECONNRESET and
 * nobody keeps TIME-WAIT. */
TEST(linger_zero_resets)
{
    struct two_hosts w;
    int lfd, cfd, afd;
    struct ps_sockaddr_in cl, sv;
    world_conn(&w, NULL, NULL, 5008, &lfd, &cfd, &afd, &cl, &sv);
    /* Unread data on the aborting side must not matter. */
    CHECK_EQ(ps_send(w.b, afd, "unread", 6, 0), 6);
    ps_sim_run_for(w.sim, PS_MS(50));
    struct ps_linger lg = {.l_onoff = 1, .l_linger = 0};
    CHECK_EQ(ps_setsockopt(w.a, cfd, PS_SOL_SOCKET, PS_SO_LINGER, &lg, sizeof(lg)), 0);
    CHECK_EQ(ps_close(w.a, cfd), 0);
    CHECK_EQ(quad_entry(w.a, cl, sv).count, 0); /* gone at once, no TIME-WAIT */
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK(revents(w.b, afd, PS_POLLIN) & PS_POLLERR);
    char b[8];
    CHECK_EQ(ps_recv(w.b, afd, b, sizeof(b), 0), -ECONNRESET);
    ssize_t n = ps_send(w.b, afd, "x", 1, 0);
    CHECK(n == -EPIPE || n == -ECONNRESET);
    CHECK(state_of(w.b, afd)[0] != '\0'); /* the socket stays until closed ... */
    ps_close(w.b, afd);
    CHECK_EQ(quad_entry(w.b, sv, cl).count, 0); /* ... and leaves no TIME-WAIT */
    ps_close(w.b, lfd);
    world_free(&w);
}

/* TIME-WAIT is listed (fd -1) after an active close and gone after 2*MSL. */
TEST(time_wait_lasts_2msl)
{
    struct two_hosts w;
    int lfd, cfd, afd;
    struct ps_sockaddr_in cl, sv;
    world_conn(&w, NULL, NULL, 5009, &lfd, &cfd, &afd, &cl, &sv);
    CHECK_EQ(ps_close(w.a, cfd), 0);
    ps_sim_run_for(w.sim, PS_MS(20));
    char b[4];
    CHECK_EQ(ps_recv(w.b, afd, b, sizeof(b), 0), 0);
    CHECK_EQ(ps_close(w.b, afd), 0);
    ps_sim_run_for(w.sim, PS_MS(20));
    ps_time_t t_tw = ps_sim_now(w.sim);
    struct find e = quad_entry(w.a, cl, sv);
    CHECK_EQ(e.count, 1);
    CHECK(strcmp(e.state, "TIME-WAIT") == 0);
    CHECK_EQ(e.found_fd, -1);
    CHECK_SS_LISTS(w.a, "TIME-WAIT"); /* printed by ss too */

    ps_sim_run_until(w.sim, t_tw + 2 * MSL_DEFAULT - PS_SEC(5));
    e = quad_entry(w.a, cl, sv);
    CHECK_EQ(e.count, 1);
    ps_sim_run_until(w.sim, t_tw + 2 * MSL_DEFAULT + PS_SEC(5));
    e = quad_entry(w.a, cl, sv);
    CHECK_EQ(e.count, 0);
    CHECK_EQ(stream_entries(w.a), 0);
    ps_close(w.b, lfd);
    world_free(&w);
}

/* With a configured MSL of 2 s, TIME-WAIT lasts 4 s. */
TEST(time_wait_configured_msl)
{
    struct two_hosts w;
    struct ps_config ca, cb;
    two_hosts_config(&ca, 1003);
    two_hosts_config(&cb, 2004);
    ca.tcp_msl_ms = 2000;
    int lfd, cfd, afd;
    struct ps_sockaddr_in cl, sv;
    world_conn(&w, &ca, &cb, 5013, &lfd, &cfd, &afd, &cl, &sv);
    /* b sends the first FIN, so b holds TIME-WAIT (its default MSL) and
     * a, the passive closer, nothing. */
    CHECK_EQ(ps_shutdown(w.b, afd, PS_SHUT_WR), 0);
    ps_sim_run_for(w.sim, PS_MS(20));
    CHECK_EQ(ps_close(w.a, cfd), 0);
    ps_sim_run_for(w.sim, PS_MS(20));
    CHECK_EQ(quad_entry(w.a, cl, sv).count, 0);
    struct find e = quad_entry(w.b, sv, cl);
    CHECK(strcmp(e.state, "TIME-WAIT") == 0);
    ps_close(w.b, afd);

    /* Now a closes first. */
    REQUIRE(connect_pair(&w, lfd, 5013, &cfd, &afd));
    REQUIRE(ps_getsockname(w.a, cfd, &cl) == 0);
    CHECK_EQ(ps_close(w.a, cfd), 0);
    ps_sim_run_for(w.sim, PS_MS(20));
    CHECK_EQ(ps_close(w.b, afd), 0);
    ps_sim_run_for(w.sim, PS_MS(20));
    ps_time_t t_tw = ps_sim_now(w.sim);
    e = quad_entry(w.a, cl, sv);
    CHECK(strcmp(e.state, "TIME-WAIT") == 0);
    ps_sim_run_until(w.sim, t_tw + PS_MS(3500));
    CHECK_EQ(quad_entry(w.a, cl, sv).count, 1);
    ps_sim_run_until(w.sim, t_tw + PS_MS(4500));
    CHECK_EQ(quad_entry(w.a, cl, sv).count, 0);
    ps_close(w.b, lfd);
    world_free(&w);
}

/* Readiness through callbacks and ps_poll: the listener says POLLIN when
 * a connection waits, the client POLLOUT when established, the receiver
 * POLLIN for data and for EOF, a full send buffer turns POLLOUT off and
 * the peer's reading turns it on again. */
struct cb_log {
    unsigned calls;
    short last, all;
};

static void on_event(void *ctx, int fd, short ev)
{
    struct cb_log *l = ctx;
    (void)fd;
    l->calls++;
    l->last = ev;
    l->all |= ev;
}

TEST(readiness)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int lfd = stream_listener(w.b, 5010, 8);
    REQUIRE(lfd >= 0);
    struct cb_log lcb = {0}, ccb = {0}, acb = {0};
    REQUIRE(ps_socket_set_callback(w.b, lfd, on_event, &lcb) == 0);
    int cfd = ps_socket(w.a, PS_SOCK_STREAM);
    REQUIRE(cfd >= 0);
    REQUIRE(ps_socket_set_callback(w.a, cfd, on_event, &ccb) == 0);
    struct ps_sockaddr_in to = sa(IP_B, 5010);
    CHECK_CONNECT_RC(ps_connect(w.a, cfd, &to));
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK(lcb.calls >= 1);
    CHECK(lcb.all & PS_POLLIN);
    CHECK(ccb.calls >= 1);
    CHECK(ccb.all & PS_POLLOUT);
    CHECK(revents(w.b, lfd, PS_POLLIN) & PS_POLLIN);
    struct ps_sockaddr_in peer;
    int afd = ps_accept(w.b, lfd, &peer);
    REQUIRE(afd >= 0);
    CHECK_EQ(revents(w.b, lfd, PS_POLLIN), 0);
    REQUIRE(ps_socket_set_callback(w.b, afd, on_event, &acb) == 0);
    CHECK_EQ(revents(w.b, afd, PS_POLLIN), 0);

    /* Data: POLLIN on the receiver. */
    CHECK_EQ(ps_send(w.a, cfd, "hello", 5, 0), 5);
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK(acb.all & PS_POLLIN);
    CHECK(revents(w.b, afd, PS_POLLIN) & PS_POLLIN);
    char b[64];
    CHECK_EQ(ps_recv(w.b, afd, b, sizeof(b), 0), 5);
    CHECK_EQ(revents(w.b, afd, PS_POLLIN), 0);

    /* Fill the pipe: nobody reads on b, so a's sends stop with EAGAIN and
     * POLLOUT goes off. */
    uint8_t chunk[8192];
    memset(chunk, 0x5a, sizeof(chunk));
    uint64_t queued = 0;
    for (int round = 0; round < 200; round++) {
        ssize_t n;
        while ((n = ps_send(w.a, cfd, chunk, sizeof(chunk), 0)) > 0)
            queued += (uint64_t)n;
        CHECK_EQ(n, -EAGAIN);
        ps_sim_run_for(w.sim, PS_MS(20));
        if (!(revents(w.a, cfd, PS_POLLOUT) & PS_POLLOUT))
            break;
    }
    fprintf(stderr, "  %llu bytes taken before the send buffer filled\n", (unsigned long long)queued);
    CHECK_EQ(revents(w.a, cfd, PS_POLLOUT), 0);
    CHECK(queued < 16u << 20); /* bounded by the buffers */
    /* b reads everything: a becomes writable again, and says so. */
    ccb.calls = 0;
    ccb.all = 0;
    uint64_t drained = 0;
    for (int round = 0; round < 1000 && drained < queued; round++) {
        ssize_t n;
        while ((n = ps_recv(w.b, afd, chunk, sizeof(chunk), 0)) > 0)
            drained += (uint64_t)n;
        ps_sim_run_for(w.sim, PS_MS(10));
    }
    CHECK_EQ(drained, queued);
    CHECK(ccb.all & PS_POLLOUT);
    CHECK(revents(w.a, cfd, PS_POLLOUT) & PS_POLLOUT);

    /* EOF: POLLIN, recv 0, again and again. */
    acb.all = 0;
    CHECK_EQ(ps_shutdown(w.a, cfd, PS_SHUT_WR), 0);
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK(acb.all & PS_POLLIN);
    CHECK_EQ(ps_recv(w.b, afd, b, sizeof(b), 0), 0);
    CHECK_EQ(ps_recv(w.b, afd, b, sizeof(b), 0), 0);
    CHECK(revents(w.b, afd, PS_POLLIN) & PS_POLLIN);
    /* Both directions closed: POLLHUP. */
    CHECK_EQ(ps_shutdown(w.b, afd, PS_SHUT_WR), 0);
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK(revents(w.a, cfd, PS_POLLIN) & PS_POLLHUP);
    CHECK(revents(w.b, afd, PS_POLLIN) & PS_POLLHUP);
    ps_socket_set_callback(w.a, cfd, NULL, NULL);
    ps_socket_set_callback(w.b, afd, NULL, NULL);
    ps_socket_set_callback(w.b, lfd, NULL, NULL);
    world_conn_free(&w, lfd, cfd, afd);
}

/* The calls a STREAM socket refuses, and the states they need. */
TEST(api_errors)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int fd = ps_socket(w.a, PS_SOCK_STREAM);
    REQUIRE(fd >= 0);
    char b[4];
    /* POSIX says ENOTCONN; Linux answers a send with EPIPE. */
    ssize_t n = ps_send(w.a, fd, "x", 1, 0);
    CHECK(n == -ENOTCONN || n == -EPIPE);
    CHECK_EQ(ps_recv(w.a, fd, b, sizeof(b), 0), -ENOTCONN);
    CHECK_EQ(ps_shutdown(w.a, fd, PS_SHUT_WR), -ENOTCONN);
    struct ps_sockaddr_in peer;
    CHECK_EQ(ps_accept(w.a, fd, &peer), -EINVAL);
    CHECK_EQ(ps_getpeername(w.a, fd, &peer), -ENOTCONN);
    int lfd = stream_listener(w.b, 5011, 8);
    REQUIRE(lfd >= 0);
    struct ps_sockaddr_in to = sa(IP_B, 5011);
    int rc = ps_connect(w.b, lfd, &to); /* Linux: EISCONN; BSD: EINVAL */
    CHECK(rc == -EISCONN || rc == -EINVAL);
    n = ps_send(w.b, lfd, "x", 1, 0);
    CHECK(n == -ENOTCONN || n == -EPIPE);
    CHECK_STATE(w.b, lfd, "LISTEN");
    ps_close(w.a, fd);
    ps_close(w.b, lfd);
    world_free(&w);
}

/* Many short connections in a row through one listener: each opened,
 * used, closed; ephemeral ports and TIME-WAIT records behave. */
TEST(many_in_a_row)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int lfd = stream_listener(w.b, 5012, 8);
    REQUIRE(lfd >= 0);
    unsigned ok = 0;
    for (unsigned i = 0; i < 200; i++) {
        int cfd, afd;
        if (!connect_pair(&w, lfd, 5012, &cfd, &afd)) {
            T_FAIL("connection %u did not establish", i);
            break;
        }
        struct flow f;
        flow_init(&f, w.a, cfd, w.b, afd, 1000 + i, 100 + i);
        f.end = FLOW_CLOSE;
        pump_start(&w, &f);
        bool done = ps_sim_run_while_not(w.sim, flows_done, NULL, ps_sim_now(w.sim) + PS_SEC(10));
        pump_stop(&w);
        ps_close(w.b, afd);
        if (done && f.eof && f.rcvd == f.total && f.h_rx == f.h_tx && !f.bad)
            ok++;
    }
    CHECK_EQ(ok, 200);
    ps_sim_run_for(w.sim, PS_SEC(1));
    CHECK_EQ(stream_entries(w.b), 1); /* the listener; TIME-WAIT is on a */
    ps_close(w.b, lfd);
    world_free(&w);
}

/* The echo and discard services over TCP: more clients at once than the
 * service takes (the rest wait to be accepted), each echoed byte-exact;
 * a client that writes without reading stalls only itself; discard takes
 * everything and closes at EOF; stopping the service closes what is left. */
#define SVC_CLIENTS 40
TEST(services_echo_discard)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int err;
    struct ps_app *echo = ps_app_start(w.b, "echo", 0, 0, &err);
    struct ps_app *discard = ps_app_start(w.b, "discard", 0, 0, &err);
    REQUIRE(echo && discard);
    CHECK_EQ(ps_app_port(echo), 7);
    CHECK_EQ(ps_app_port(discard), 9);

    static struct flow f[SVC_CLIENTS];
    int fd[SVC_CLIENTS];
    struct ps_sockaddr_in to = sa(IP_B, 7);
    for (int i = 0; i < SVC_CLIENTS; i++) {
        fd[i] = ps_socket(w.a, PS_SOCK_STREAM);
        REQUIRE(fd[i] >= 0);
        CHECK_CONNECT_RC(ps_connect(w.a, fd[i], &to));
        /* What goes out comes back on the same socket. */
        flow_init(&f[i], w.a, fd[i], w.a, fd[i], 30000 + 1000 * (uint64_t)i, 700 + (uint32_t)i);
        f[i].end = FLOW_SHUT;
        pump_start(&w, &f[i]);
    }
    CHECK(ps_sim_run_while_not(w.sim, flows_done, NULL, ps_sim_now(w.sim) + PS_SEC(120)));
    pump_stop(&w);
    uint64_t total = 0;
    for (int i = 0; i < SVC_CLIENTS; i++) {
        CHECK_FLOW(f[i]);
        CHECK(f[i].eof); /* echo closed after writing everything back */
        total += f[i].total;
    }
    const struct ps_app_stats *es = ps_app_stats(echo);
    CHECK_EQ(es->connections, SVC_CLIENTS);
    CHECK_EQ(es->closed, SVC_CLIENTS);
    CHECK_EQ(es->bytes, total);
    CHECK_EQ(es->bytes_sent, total);
    CHECK_EQ(es->errors, 0);
    for (int i = 0; i < SVC_CLIENTS; i++)
        ps_close(w.a, fd[i]);

    /* A client that only writes: echo stops reading once the client's
     * window is full, so the writes stall with EAGAIN - and resume when the
     * client reads. */
    int c = ps_socket(w.a, PS_SOCK_STREAM);
    REQUIRE(c >= 0);
    CHECK_CONNECT_RC(ps_connect(w.a, c, &to));
    ps_sim_run_for(w.sim, PS_MS(20));
    struct flow big;
    flow_init(&big, w.a, c, w.a, c, 3000000, 99);
    big.end = FLOW_SHUT;
    for (int round = 0; round < 50; round++) {
        flow_send(&big);
        ps_sim_run_for(w.sim, PS_MS(20));
    }
    fprintf(stderr, "  echo: %llu bytes written before the client read anything\n",
            (unsigned long long)big.sent);
    CHECK(big.sent < big.total);
    CHECK_EQ(big.tx_err, 0);
    pump_start(&w, &big);
    CHECK(ps_sim_run_while_not(w.sim, flows_done, NULL, ps_sim_now(w.sim) + PS_SEC(120)));
    pump_stop(&w);
    CHECK_FLOW(big);
    CHECK(big.eof);
    ps_close(w.a, c);

    /* Discard: everything taken, nothing sent back, closed at EOF. */
    int d = ps_socket(w.a, PS_SOCK_STREAM);
    struct ps_sockaddr_in dto = sa(IP_B, 9);
    CHECK_CONNECT_RC(ps_connect(w.a, d, &dto));
    struct flow df;
    flow_init(&df, w.a, d, w.b, -1, 500000, 5);
    df.end = FLOW_SHUT;
    for (int round = 0; round < 500 && !df.done_tx; round++) {
        flow_send(&df);
        ps_sim_run_for(w.sim, PS_MS(5));
    }
    CHECK(df.done_tx);
    ps_sim_run_for(w.sim, PS_MS(500));
    char b[16];
    CHECK_EQ(ps_recv(w.a, d, b, sizeof(b), 0), 0); /* the server closed */
    CHECK_EQ(ps_app_stats(discard)->bytes, 500000);
    CHECK_EQ(ps_app_stats(discard)->closed, 1);
    ps_close(w.a, d);

    /* Stopping the service with a connection open closes it. */
    int e = ps_socket(w.a, PS_SOCK_STREAM);
    CHECK_CONNECT_RC(ps_connect(w.a, e, &to));
    ps_sim_run_for(w.sim, PS_MS(50));
    CHECK_EQ(ps_app_stats(echo)->connections, SVC_CLIENTS + 2);
    ps_app_stop(echo);
    ps_app_stop(discard);
    ps_sim_run_for(w.sim, PS_MS(500));
    ssize_t n = ps_recv(w.a, e, b, sizeof(b), 0);
    CHECK(n == 0 || n == -ECONNRESET);
    ps_close(w.a, e);
    ps_sim_run_for(w.sim, PS_MS(100));
    /* b closed first, so only its TIME-WAIT record is left. */
    CHECK_EQ(stream_entries(w.b), 1);
    CHECK_EQ(live_entries(w.b), 0);
    world_free(&w);
}

int main(void)
{
    RUN(handshake_and_states);
    RUN(data_both_ways_byte_exact);
    RUN(close_from_client);
    RUN(close_from_server);
    RUN(simultaneous_close);
    RUN(half_close);
    RUN(connect_refused);
    RUN(connect_unreachable);
    RUN(accept_queue_bound);
    RUN(listener_close_resets_queue);
    RUN(linger_zero_resets);
    RUN(time_wait_lasts_2msl);
    RUN(time_wait_configured_msl);
    RUN(readiness);
    RUN(api_errors);
    RUN(many_in_a_row);
    RUN(services_echo_discard);
    TEST_END();
}
