/*
 * portstack/socket.h - the BSD-style socket API.
 *
 * Sockets are small integers per stack, as file descriptors are per
 * process.  Every call is non-blocking: where BSD would block, portstack
 * returns -EAGAIN and the host waits with ps_poll() or a readiness
 * callback, then calls again.  Errors are negative POSIX errno values
 * (-EADDRINUSE, ...); ps_strerror() names them.
 *
 * Addresses are struct ps_sockaddr_in: an IPv4 address and a port, both
 * in host byte order.
 */
#ifndef PORTSTACK_SOCKET_H
#define PORTSTACK_SOCKET_H

#include <stdio.h>
#include <sys/types.h>

#include "types.h"

struct ps_stack;

/* Socket types. */
#define PS_SOCK_STREAM 1 /* TCP */
#define PS_SOCK_DGRAM 2  /* UDP */

struct ps_sockaddr_in {
    ps_ip4_t addr; /* host order; 0 = any */
    uint16_t port; /* host order; 0 = any / ephemeral */
};

/* Flags for send/recv. */
#define PS_MSG_PEEK 0x02     /* read without removing */
#define PS_MSG_TRUNC 0x20    /* recv: return the real datagram length */
#define PS_MSG_DONTWAIT 0x40 /* accepted for compatibility: always so */

/* shutdown() how. */
#define PS_SHUT_RD 0
#define PS_SHUT_WR 1
#define PS_SHUT_RDWR 2

/* Option levels and names (values are portstack's own). */
#define PS_SOL_SOCKET 1
#define PS_IPPROTO_IP 0
#define PS_IPPROTO_TCP 6
#define PS_SO_REUSEADDR 2
#define PS_SO_REUSEPORT 15
#define PS_SO_BROADCAST 6
#define PS_SO_SNDBUF 7
#define PS_SO_RCVBUF 8
#define PS_SO_ERROR 4
#define PS_SO_LINGER 13
#define PS_SO_TYPE 3
#define PS_TCP_NODELAY 1
#define PS_IP_TTL 2
/* IP_LOCAL_PORT_RANGE: a uint32_t, high 16 bits the upper bound, low 16
 * the lower (0 = the stack's), as Linux. */
#define PS_IP_LOCAL_PORT_RANGE 51

struct ps_linger {
    int l_onoff;
    int l_linger; /* seconds */
};

/* Create a socket of `type`.  Returns its number (>= 0), -EINVAL,
 * -EPROTONOSUPPORT or -EMFILE (the table of max_sockets is full). */
int ps_socket(struct ps_stack *s, int type);

/* Bind to a local address and port (port 0: ephemeral).  -EADDRINUSE,
 * -EADDRNOTAVAIL, -EINVAL (already bound), -EBADF. */
int ps_bind(struct ps_stack *s, int fd, const struct ps_sockaddr_in *addr);

/* Listen for connections (STREAM).  Binds an ephemeral port if unbound. */
int ps_listen(struct ps_stack *s, int fd, int backlog);

/* Accept a connection (STREAM): a new socket number, or -EAGAIN. */
int ps_accept(struct ps_stack *s, int fd, struct ps_sockaddr_in *peer);

/* Connect: STREAM starts the handshake; DGRAM fixes the peer (port 0 and
 * address 0 undo it).  Binds an ephemeral port unique for the quadruple. */
int ps_connect(struct ps_stack *s, int fd, const struct ps_sockaddr_in *addr);

/* Send len bytes (to the connected peer, or `to`).  Returns the bytes
 * taken, -EAGAIN, -EDESTADDRREQ, -EMSGSIZE, -EACCES (broadcast without
 * SO_BROADCAST), -ECONNREFUSED (a pending ICMP error), ... */
ssize_t ps_send(struct ps_stack *s, int fd, const void *buf, size_t len, int flags);
ssize_t ps_sendto(struct ps_stack *s, int fd, const void *buf, size_t len, int flags,
                  const struct ps_sockaddr_in *to);

/* Receive into buf.  DGRAM: one datagram per call; a datagram longer than
 * len is cut (the rest lost) and the return is len, or its real length
 * with PS_MSG_TRUNC.  Returns -EAGAIN when nothing waits. */
ssize_t ps_recv(struct ps_stack *s, int fd, void *buf, size_t len, int flags);
ssize_t ps_recvfrom(struct ps_stack *s, int fd, void *buf, size_t len, int flags, struct ps_sockaddr_in *from);

int ps_shutdown(struct ps_stack *s, int fd, int how);

/* Close: releases the port (and for STREAM starts the close handshake). */
int ps_close(struct ps_stack *s, int fd);

int ps_setsockopt(struct ps_stack *s, int fd, int level, int name, const void *val, size_t len);
int ps_getsockopt(struct ps_stack *s, int fd, int level, int name, void *val, size_t *len);

int ps_getsockname(struct ps_stack *s, int fd, struct ps_sockaddr_in *addr);
int ps_getpeername(struct ps_stack *s, int fd, struct ps_sockaddr_in *addr);

/* ---- Readiness --------------------------------------------------------- */

#define PS_POLLIN 0x001
#define PS_POLLOUT 0x004
#define PS_POLLERR 0x008
#define PS_POLLHUP 0x010
#define PS_POLLNVAL 0x020

struct ps_pollfd {
    int fd;
    short events;
    short revents;
};

/* Fill revents for each entry; returns how many have any.  Never waits:
 * the host sleeps until the stack's next deadline or new input. */
int ps_poll(struct ps_stack *s, struct ps_pollfd *fds, unsigned n);

/* Called whenever a socket may have become readable, writable or failed,
 * with the events now ready.  One callback per socket; NULL removes it. */
typedef void (*ps_sock_event_fn)(void *ctx, int fd, short revents);
int ps_socket_set_callback(struct ps_stack *s, int fd, ps_sock_event_fn fn, void *ctx);

/* The name of a negative (or positive) errno value, e.g. "EADDRINUSE". */
const char *ps_strerror(int err);

/* ---- The socket table ------------------------------------------------------ */

struct ps_sock_info {
    int fd;                 /* -1 for entries without a socket (TIME_WAIT) */
    int type;               /* PS_SOCK_STREAM / PS_SOCK_DGRAM */
    const char *state;      /* "UNCONN", "LISTEN", "ESTAB", ... as ss prints */
    size_t recv_q, send_q;  /* bytes queued */
    struct ps_sockaddr_in local, peer;
};

/* Visit every socket (and TIME_WAIT record); stops when fn returns
 * non-zero. */
void ps_socket_foreach(struct ps_stack *s, int (*fn)(void *ctx, const struct ps_sock_info *info), void *ctx);

/* Print the table as `ss -tuna` does, with service names where known
 * (numeric with PS_SS_NUMERIC). */
#define PS_SS_NUMERIC 0x1
void ps_ss_print(struct ps_stack *s, FILE *out, unsigned flags);

#endif /* PORTSTACK_SOCKET_H */
