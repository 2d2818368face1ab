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

#include "config.h"
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

/* Keepalive, user timeout, congestion control and connection figures
 * (STREAM sockets; the numbers are Linux's).  Every new socket starts with
 * the stack's values (struct ps_config); an accepted socket takes its
 * listener's.
 *
 * PS_SO_KEEPALIVE (int, 0/1, default 0): probe an idle connection (RFC
 *   9293 3.8.4, RFC 1122 4.2.3.6); after PS_TCP_KEEPCNT unanswered probes
 *   the connection is dropped and reports ETIMEDOUT.
 * PS_TCP_KEEPIDLE (int, s, 1..PS_TCP_KEEPIDLE_MAX_S): idle time before the
 *   first probe.  PS_TCP_KEEPINTVL (int, s, 1..PS_TCP_KEEPINTVL_MAX_S):
 *   between probes.  PS_TCP_KEEPCNT (int, 1..PS_TCP_KEEPCNT_MAX).
 * PS_TCP_USER_TIMEOUT (int, ms, 0..PS_TCP_USER_TIMEOUT_MAX_MS, 0 = off):
 *   data sent and left unacknowledged this long aborts the connection
 *   (RST sent, ETIMEDOUT reported; a pending ICMP soft error is reported
 *   instead, as Linux does); with keepalive on, also the longest time
 *   probes may go unanswered.
 * PS_TCP_CONGESTION (a string, at most PS_TCP_CC_NAME_MAX bytes with its
 *   NUL; set takes len bytes, need not be terminated): "cubic" (RFC 9438)
 *   or "newreno" (RFC 5681/6582); -ENOENT for any other name.  May be
 *   changed on a live connection (the window is kept).
 * PS_TCP_INFO (get only, struct ps_tcp_info below; a shorter buffer gets
 *   the first *len bytes). */
#define PS_SO_KEEPALIVE 9
#define PS_TCP_KEEPIDLE 4
#define PS_TCP_KEEPINTVL 5
#define PS_TCP_KEEPCNT 6
#define PS_TCP_INFO 11
#define PS_TCP_CONGESTION 13
#define PS_TCP_USER_TIMEOUT 18

/* struct ps_tcp_info .state: the RFC 9293 states. */
#define PS_TCPI_CLOSED 0
#define PS_TCPI_LISTEN 1
#define PS_TCPI_SYN_SENT 2
#define PS_TCPI_SYN_RECEIVED 3
#define PS_TCPI_ESTABLISHED 4
#define PS_TCPI_FIN_WAIT_1 5
#define PS_TCPI_FIN_WAIT_2 6
#define PS_TCPI_CLOSE_WAIT 7
#define PS_TCPI_CLOSING 8
#define PS_TCPI_LAST_ACK 9
#define PS_TCPI_TIME_WAIT 10
/* .ca_state: what the congestion control is doing. */
#define PS_TCPI_CA_OPEN 0     /* slow start or congestion avoidance */
#define PS_TCPI_CA_RECOVERY 3 /* fast recovery after duplicate ACKs */
#define PS_TCPI_CA_LOSS 4     /* after a retransmission timeout */
/* .ssthresh before the first congestion event. */
#define PS_TCPI_INFINITE_SSTHRESH 0x7fffffffu
/* .options bits: what the handshake negotiated. */
#define PS_TCPI_OPT_TIMESTAMPS 0x1 /* RFC 7323 timestamps */
#define PS_TCPI_OPT_SACK 0x2       /* RFC 2018 SACK-permitted */
#define PS_TCPI_OPT_WSCALE 0x4     /* RFC 7323 window scaling */

/* A connection's figures (PS_TCP_INFO), like Linux's struct tcp_info and
 * `ss -ti`.  Sizes are bytes (windows too, not segments), times
 * microseconds.  Payload counters count data bytes only (no SYN or FIN). */
struct ps_tcp_info {
    uint8_t state;            /* PS_TCPI_* state */
    uint8_t ca_state;         /* PS_TCPI_CA_* */
    uint8_t options;          /* PS_TCPI_OPT_* negotiated */
    uint8_t snd_wscale;       /* shift applied to the peer's windows (0 without) */
    uint8_t rcv_wscale;       /* shift applied to ours (0 without) */
    uint8_t backoff;          /* retransmission timeouts in a row, now */
    uint8_t keepalive_probes; /* keepalive probes sent and not answered */
    uint32_t snd_mss;         /* payload of a full segment we send */
    uint32_t rcv_mss;         /* the MSS we advertised */
    uint32_t rto_us;          /* retransmission timeout */
    uint32_t srtt_us;         /* smoothed RTT (0: no sample yet) */
    uint32_t rttvar_us;       /* RTT variation */
    uint32_t cwnd;            /* congestion window */
    uint32_t ssthresh;        /* slow-start threshold, PS_TCPI_INFINITE_SSTHRESH at first */
    uint32_t snd_wnd;         /* the peer's receive window */
    uint32_t rcv_wnd;         /* the window we advertise */
    uint32_t unacked;         /* sent and not yet acknowledged (sequence space) */
    uint64_t bytes_sent;      /* payload sent, each byte once (retransmissions not counted) */
    uint64_t bytes_acked;     /* payload the peer acknowledged */
    uint64_t bytes_received;  /* payload received in order */
    uint64_t segs_out;        /* segments sent, retransmissions included */
    uint64_t segs_in;         /* segments received for the connection */
    uint64_t retransmits;     /* segments retransmitted */
    char congestion[PS_TCP_CC_NAME_MAX]; /* "cubic" / "newreno" */
};

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
    /* A TCP connection's figures (as PS_TCP_INFO), valid during the
     * callback; NULL for UDP, listeners and never-connected sockets. */
    const struct ps_tcp_info *tcp;
};

/* Visit every socket (and TIME_WAIT record); stops when fn returns
 * non-zero. */
void ps_socket_foreach(struct ps_stack *s, int (*fn)(void *ctx, const struct ps_sock_info *info), void *ctx);

/* Print the table as `ss -tuna` does, with service names where known
 * (numeric with PS_SS_NUMERIC).  PS_SS_INFO adds, as `ss -ti` does, an
 * indented line of figures under each TCP connection (struct
 * ps_tcp_info: congestion control, options, window scales, rto, rtt,
 * mss, cwnd, ssthresh, bytes, segments, retransmissions, windows). */
#define PS_SS_NUMERIC 0x1
#define PS_SS_INFO 0x2
void ps_ss_print(struct ps_stack *s, FILE *out, unsigned flags);

#endif /* PORTSTACK_SOCKET_H */
