/*
 * Echo (RFC 862) and discard (RFC 863) over UDP and TCP, on the socket API.
 *
 * UDP: a readiness callback drains the socket; echo answers each datagram
 * to its sender from the port it arrived on.
 *
 * TCP: a listening socket on the same port; its readiness callback accepts
 * connections (at most APP_TCP_MAX_CONN at once per service: beyond that
 * they wait in the listener's accept queue, whose bound is the backlog, and
 * are taken as slots free).  Each connection has its own callback: discard
 * reads and drops; echo reads into a small bounded buffer and writes it
 * back, and while the peer does not take it all (a partial write or
 * -EAGAIN) reads nothing more until POLLOUT lets it flush - so a client
 * that sends without reading stalls itself, not the stack.  A connection
 * is closed at end of stream (after echo has written everything back) or
 * on an error.
 */
#include <portstack/apps.h>
#include <portstack/services.h>
#include <portstack/socket.h>
#include <portstack/wire.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The largest datagram either service handles whole (bigger ones are cut,
 * as RFC 862 leaves open). */
#define APP_DGRAM_MAX 65507

/* TCP connections one service holds at once; more wait to be accepted. */
#define APP_TCP_MAX_CONN 32

/* The listener's backlog (completed connections waiting for accept). */
#define APP_TCP_BACKLOG 16

/* Bytes echo holds per connection: read at most this much before it has
 * been written back. */
#define APP_TCP_PENDING 4096

enum app_kind { APP_ECHO, APP_DISCARD };

static const struct {
    const char *name;
    enum app_kind kind;
} known[] = {
    {"echo", APP_ECHO},
    {"discard", APP_DISCARD},
};

struct ps_app;

struct app_conn {
    struct ps_app *app;
    int fd;          /* -1: slot free */
    bool eof;        /* the peer finished sending */
    bool busy, again; /* in on_conn; reported again meanwhile */
    size_t off, len; /* echo: pending[off .. len) still to write */
    uint8_t pending[APP_TCP_PENDING];
};

struct ps_app {
    struct ps_stack *stack;
    enum app_kind kind;
    const char *name;
    uint16_t port;
    int udp_fd;
    int tcp_fd; /* the listener */
    unsigned nconn;
    struct ps_app_stats stats;
    struct app_conn conn[APP_TCP_MAX_CONN];
    uint8_t buf[APP_DGRAM_MAX];
};

/* ---- UDP -------------------------------------------------------------------------- */

static void on_udp(void *ctx, int fd, short revents)
{
    struct ps_app *a = ctx;
    if (!(revents & PS_POLLIN))
        return;
    for (;;) {
        struct ps_sockaddr_in from;
        ssize_t n = ps_recvfrom(a->stack, fd, a->buf, sizeof(a->buf), 0, &from);
        if (n == -EAGAIN)
            return;
        if (n < 0) {
            /* A pending error (an ICMP message about an earlier reply) is
             * reported once; carry on with the next datagram. */
            a->stats.errors++;
            continue;
        }
        a->stats.datagrams++;
        a->stats.bytes += (uint64_t)n;
        if (a->kind == APP_ECHO) {
            if (ps_sendto(a->stack, fd, a->buf, (size_t)n, 0, &from) >= 0)
                a->stats.replies++;
            else
                a->stats.errors++;
        }
    }
}

/* ---- TCP -------------------------------------------------------------------------- */

static void tcp_accept_pending(struct ps_app *a);

static void conn_close(struct app_conn *c)
{
    struct ps_app *a = c->app;
    int fd = c->fd;
    /* Free the slot first: ps_close may report readiness, and the socket
     * number may come back from the next accept. */
    c->fd = -1;
    c->eof = c->busy = c->again = false;
    c->off = c->len = 0;
    a->nconn--;
    ps_socket_set_callback(a->stack, fd, NULL, NULL);
    ps_close(a->stack, fd);
    a->stats.closed++;
    /* A slot is free: take a connection that waited for one. */
    tcp_accept_pending(a);
}

/* Write what echo holds.  Returns 0 when all is written, 1 when the peer
 * must take some first (wait for POLLOUT), or a negative errno. */
static int conn_flush(struct app_conn *c)
{
    struct ps_app *a = c->app;
    while (c->off < c->len) {
        ssize_t n = ps_send(a->stack, c->fd, c->pending + c->off, c->len - c->off, 0);
        if (n == -EAGAIN)
            return 1;
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 1; /* nothing taken: as -EAGAIN */
        c->off += (size_t)n;
        a->stats.bytes_sent += (uint64_t)n;
    }
    c->off = c->len = 0;
    return 0;
}

static void conn_run(struct app_conn *c, int fd, short revents);

static void on_conn(void *ctx, int fd, short revents)
{
    struct app_conn *c = ctx;
    if (c->fd != fd)
        return; /* a stale report for a slot already closed */
    if (c->busy) {
        /* Reported from inside one of our own calls (a send that made
         * room, say): the running pass looks again before it returns. */
        c->again = true;
        return;
    }
    do {
        c->busy = true;
        c->again = false;
        conn_run(c, fd, revents);
        if (c->fd != fd)
            return; /* closed (the slot may already hold another) */
        c->busy = false;
    } while (c->again);
}

/* One pass: flush, read, until the socket has nothing more to give or
 * take.  May close the connection (and return at once). */
static void conn_run(struct app_conn *c, int fd, short revents)
{
    struct ps_app *a = c->app;
    for (;;) {
        if (a->kind == APP_ECHO) {
            int rc = conn_flush(c);
            if (rc < 0) {
                a->stats.errors++;
                conn_close(c);
                return;
            }
            if (rc > 0)
                return; /* resume on POLLOUT */
        }
        if (c->eof) {
            conn_close(c); /* everything read and (for echo) written back */
            return;
        }
        ssize_t n = ps_recv(a->stack, fd, c->pending, sizeof(c->pending), 0);
        if (n == -EAGAIN) {
            /* Nothing to read.  A socket hung up both ways without an
             * end of stream to read is finished too. */
            if (revents & PS_POLLHUP) {
                short ev = 0;
                struct ps_pollfd p = {.fd = fd, .events = PS_POLLIN};
                if (ps_poll(a->stack, &p, 1) > 0)
                    ev = p.revents;
                if ((ev & PS_POLLHUP) && !(ev & PS_POLLIN))
                    conn_close(c);
            }
            return;
        }
        if (n < 0) {
            a->stats.errors++; /* ECONNRESET, ETIMEDOUT, ... */
            conn_close(c);
            return;
        }
        if (n == 0) {
            c->eof = true;
            continue;
        }
        a->stats.bytes += (uint64_t)n;
        if (a->kind == APP_ECHO) {
            c->off = 0;
            c->len = (size_t)n;
        }
    }
}

static void tcp_accept_pending(struct ps_app *a)
{
    while (a->tcp_fd >= 0 && a->nconn < APP_TCP_MAX_CONN) {
        struct ps_sockaddr_in peer;
        int fd = ps_accept(a->stack, a->tcp_fd, &peer);
        if (fd < 0)
            return; /* -EAGAIN: none waits (or no TCP yet) */
        struct app_conn *c = NULL;
        for (unsigned i = 0; i < APP_TCP_MAX_CONN && !c; i++)
            if (a->conn[i].fd < 0)
                c = &a->conn[i];
        c->fd = fd;
        c->eof = c->busy = c->again = false;
        c->off = c->len = 0;
        a->nconn++;
        a->stats.connections++;
        if (ps_socket_set_callback(a->stack, fd, on_conn, c) != 0) {
            conn_close(c);
            continue;
        }
        /* Data (even the end of stream) may have come with the handshake,
         * before the callback was set: look now. */
        on_conn(c, fd, 0);
    }
}

static void on_listen(void *ctx, int fd, short revents)
{
    struct ps_app *a = ctx;
    (void)fd;
    (void)revents;
    tcp_accept_pending(a);
}

/* ---- the service -------------------------------------------------------------------- */

bool ps_app_known(const char *service)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(known[i].name, service) == 0)
            return true;
    return false;
}

struct ps_app *ps_app_start(struct ps_stack *s, const char *service, ps_ip4_t addr, uint16_t port, int *err)
{
    size_t i = 0;
    while (i < sizeof(known) / sizeof(known[0]) && strcmp(known[i].name, service) != 0)
        i++;
    if (i == sizeof(known) / sizeof(known[0])) {
        *err = -ENOENT;
        return NULL;
    }
    if (port == 0)
        port = ps_service_port(service, PS_IP_PROTO_UDP);
    struct ps_app *a = calloc(1, sizeof(*a));
    if (!a) {
        *err = -ENOMEM;
        return NULL;
    }
    a->stack = s;
    a->kind = known[i].kind;
    a->name = known[i].name;
    a->port = port;
    a->tcp_fd = -1;
    for (unsigned k = 0; k < APP_TCP_MAX_CONN; k++) {
        a->conn[k].app = a;
        a->conn[k].fd = -1;
    }
    a->udp_fd = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in sa = {.addr = addr, .port = port};
    int rc = a->udp_fd < 0 ? a->udp_fd : ps_bind(s, a->udp_fd, &sa);
    if (rc == 0)
        rc = ps_socket_set_callback(s, a->udp_fd, on_udp, a);
    if (rc == 0) {
        a->tcp_fd = ps_socket(s, PS_SOCK_STREAM);
        rc = a->tcp_fd < 0 ? a->tcp_fd : ps_bind(s, a->tcp_fd, &sa);
        if (rc == 0)
            rc = ps_listen(s, a->tcp_fd, APP_TCP_BACKLOG);
        if (rc == 0)
            rc = ps_socket_set_callback(s, a->tcp_fd, on_listen, a);
    }
    if (rc < 0) {
        *err = rc;
        ps_app_stop(a);
        return NULL;
    }
    *err = 0;
    return a;
}

const char *ps_app_name(const struct ps_app *a)
{
    return a->name;
}

uint16_t ps_app_port(const struct ps_app *a)
{
    return a->port;
}

const struct ps_app_stats *ps_app_stats(const struct ps_app *a)
{
    return &a->stats;
}

void ps_app_stop(struct ps_app *a)
{
    if (!a)
        return;
    if (a->udp_fd >= 0)
        ps_close(a->stack, a->udp_fd);
    if (a->tcp_fd >= 0) {
        ps_socket_set_callback(a->stack, a->tcp_fd, NULL, NULL);
        ps_close(a->stack, a->tcp_fd);
        a->tcp_fd = -1; /* conn_close takes no new connection */
    }
    for (unsigned k = 0; k < APP_TCP_MAX_CONN; k++)
        if (a->conn[k].fd >= 0)
            conn_close(&a->conn[k]);
    free(a);
}
