/*
 * The socket table behind include/portstack/socket.h: a fixed array of
 * max_sockets entries, each holding the protocol control block itself (no
 * allocation per socket), and a bitmap of free entries so that a new
 * socket gets the lowest free number, as POSIX gives file descriptors.
 *
 * socket.c      the table and the calls that dispatch by socket type
 * sockopt.c     setsockopt / getsockopt
 * poll.c        ps_poll, readiness callbacks
 * sstable.c     the table iterator and the `ss -tuna` formatter
 * strerror.c    ps_strerror
 * stream.c      STREAM sockets at the ports level (the TCP hook)
 */
#ifndef PS_SOCKET_SOCKETS_H
#define PS_SOCKET_SOCKETS_H

#include <portstack/socket.h>

#include "transport/ports.h"
#include "transport/udp.h"

/* A STREAM socket until the TCP issue lands: its endpoint (so binding,
 * listening and the bind matrix work) and its options.  TCP replaces this
 * with its connection block; every function in stream.c is the hook. */
struct ps_stream {
    struct ps_endpoint ep;
    unsigned rcvbuf;
    uint8_t ttl; /* 0 = the stack default */
    int backlog;
    bool shut_rd, shut_wr;
};

struct ps_sock {
    bool used;
    int type; /* PS_SOCK_STREAM / PS_SOCK_DGRAM */
    int fd;
    ps_sock_event_fn cb;
    void *cb_ctx;
    /* Options the socket layer keeps for every type. */
    unsigned sndbuf;
    struct ps_linger linger;
    bool nodelay;
    union {
        struct ps_udp_pcb udp;     /* PS_SOCK_DGRAM */
        struct ps_stream stream;   /* PS_SOCK_STREAM */
    } u;
};

struct ps_sockets {
    struct ps_sock *tab;
    unsigned max;      /* cfg.max_sockets */
    unsigned nused;
    uint64_t *free_map; /* bit set: entry free */
    unsigned nwords;
    unsigned hint;     /* no free entry in words below this */
};

/* Set up / tear down (from transport.c).  Teardown closes every socket. */
int ps_sockets_init(struct ps_stack *s);
void ps_sockets_fini(struct ps_stack *s);

/* The open socket fd, or NULL (the caller answers -EBADF). */
struct ps_sock *ps_sock_get(struct ps_stack *s, int fd);

/* The endpoint of a socket (ports.h), whatever its type. */
struct ps_endpoint *ps_sock_ep(struct ps_sock *sk);

/* The PS_POLL* events ready on sk now (poll.c). */
short ps_sock_revents(struct ps_sock *sk);

/* Tell the application (its callback, if any) that sk may have changed
 * readiness (poll.c). */
void ps_sock_notify(struct ps_sock *sk);

/* The state as ss prints it (sstable.c). */
const char *ps_sock_state(struct ps_sock *sk);

/* ---- STREAM (stream.c): the TCP hook ------------------------------------------ */

void ps_stream_init(struct ps_stack *s, struct ps_stream *st);
int ps_stream_listen(struct ps_stack *s, struct ps_stream *st, int backlog);
int ps_stream_accept(struct ps_stack *s, struct ps_stream *st, struct ps_sockaddr_in *peer);
int ps_stream_connect(struct ps_stack *s, struct ps_stream *st, const struct ps_sockaddr_in *addr);
ssize_t ps_stream_send(struct ps_stack *s, struct ps_stream *st, const void *buf, size_t len, int flags);
ssize_t ps_stream_recv(struct ps_stack *s, struct ps_stream *st, void *buf, size_t len, int flags);
int ps_stream_shutdown(struct ps_stack *s, struct ps_stream *st, int how);
void ps_stream_close(struct ps_stack *s, struct ps_stream *st);
short ps_stream_poll(const struct ps_stream *st);
const char *ps_stream_state(const struct ps_stream *st);
size_t ps_stream_recv_q(const struct ps_stream *st);
size_t ps_stream_send_q(const struct ps_stream *st);

#endif
