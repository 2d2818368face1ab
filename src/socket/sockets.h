/*
 * The socket table behind include/portstack/socket.h: max_sockets pointers
 * and a bitmap of free entries, so that a new socket gets the lowest free
 * number, as POSIX gives file descriptors.  Each socket is one allocation
 * holding its protocol control block, made by socket() (or for a new
 * connection of a listener) and freed when the socket (or its orphaned
 * connection) is finished, sized by type: an unused entry costs a pointer
 * and a bit, a UDP socket its UDP block only.
 *
 * socket.c      the table and the calls that dispatch by socket type
 * sockopt.c     setsockopt / getsockopt
 * poll.c        ps_poll, readiness callbacks
 * sstable.c     the table iterator and the `ss -tuna` formatter
 * strerror.c    ps_strerror
 * stream.c      STREAM sockets on TCP (transport/tcp.h)
 */
#ifndef PS_SOCKET_SOCKETS_H
#define PS_SOCKET_SOCKETS_H

#include <portstack/socket.h>

#include "transport/ports.h"
#include "transport/tcp.h"
#include "transport/udp.h"

/* A STREAM socket: its TCP connection block, kept in the table entry.  A
 * closed socket whose connection is still finishing (an orphan), or a
 * connection waiting for accept(), holds a hidden entry: no socket number
 * reaches it, the listing shows it with fd -1, and TCP's release upcall
 * frees it. */
struct ps_stream {
    struct ps_tcb tcb;
};

struct ps_sock {
    struct ps_sock *dead_next; /* freed, on the reap list (ps_sockets_reap) */
    ps_sock_event_fn cb;
    void *cb_ctx;
    int fd;
    /* Options the socket layer keeps for every type. */
    unsigned sndbuf;
    struct ps_linger linger;
    uint8_t type; /* PS_SOCK_STREAM / PS_SOCK_DGRAM */
    bool used;
    bool hidden; /* used by a connection without a socket number */
    bool nodelay;
    union {
        struct ps_udp_pcb udp;     /* PS_SOCK_DGRAM */
        struct ps_stream stream;   /* PS_SOCK_STREAM */
    } u;
};

struct ps_sockets {
    struct ps_sock **tab; /* NULL: a free entry */
    struct ps_sock *dead; /* freed sockets whose memory waits for the reap */
    unsigned max;      /* cfg.max_sockets */
    unsigned nused;
    uint64_t *free_map; /* bit set: entry free */
    unsigned nwords;
    unsigned hint;     /* no free entry in words below this */
};

/* Set up / tear down (from transport.c).  Teardown closes every socket. */
int ps_sockets_init(struct ps_stack *s);
void ps_sockets_fini(struct ps_stack *s);

/* Free the memory of the sockets freed since the last call.  A socket (and
 * the connection block in it) may be freed deep inside TCP, whose callers
 * up the stack still look at the block before they return; so its entry is
 * free at once, and its memory only here, between two host calls. */
void ps_sockets_reap(struct ps_stack *s);

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

/* ---- STREAM (stream.c): on TCP ---------------------------------------------- */

/* The socket entry holding a connection block. */
struct ps_sock *ps_sock_of_tcb(struct ps_tcb *tcb);
/* Register the socket layer's TCP upcalls (socket.c). */
void ps_stream_register(struct ps_stack *s);

void ps_stream_init(struct ps_stack *s, struct ps_stream *st);
int ps_stream_listen(struct ps_stack *s, struct ps_stream *st, int backlog);
int ps_stream_accept(struct ps_stack *s, struct ps_stream *st, struct ps_sockaddr_in *peer);
int ps_stream_connect(struct ps_stack *s, struct ps_stream *st, const struct ps_sockaddr_in *addr);
ssize_t ps_stream_send(struct ps_stack *s, struct ps_stream *st, const void *buf, size_t len, int flags);
ssize_t ps_stream_recv(struct ps_stack *s, struct ps_stream *st, void *buf, size_t len, int flags);
int ps_stream_shutdown(struct ps_stack *s, struct ps_stream *st, int how);
/* Close from the socket: true if the connection lives on (the entry is
 * hidden until TCP releases it). */
bool ps_stream_close(struct ps_stack *s, struct ps_stream *st, bool abort);
short ps_stream_poll(const struct ps_stream *st);
const char *ps_stream_state(const struct ps_stream *st);
size_t ps_stream_recv_q(const struct ps_stream *st);
size_t ps_stream_send_q(const struct ps_stream *st);

#endif
