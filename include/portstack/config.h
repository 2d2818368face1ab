/*
 * portstack/config.h - every limit of the stack, in one place.
 *
 * Each PS_DEFAULT_* below is the compile-time default of a field of
 * struct ps_config (see stack.h).  A build may override any of them with
 * -DPS_DEFAULT_X=value; a host may override them per stack at run time by
 * editing the struct ps_config it passes to ps_stack_new().  Nothing in the
 * stack grows beyond these numbers: what does not fit is dropped and counted
 * in the stack statistics (stats.h).
 */
#ifndef PORTSTACK_CONFIG_H
#define PORTSTACK_CONFIG_H

/* ---- Packet buffers (pbuf.h) ------------------------------------------ */

/* Bytes reserved in front of every buffer so that each layer can prepend
 * its header without a copy: Ethernet 14 + IPv4 60 + TCP 60, rounded up. */
#ifndef PS_PBUF_HEADROOM
#define PS_PBUF_HEADROOM 144
#endif
/* Storage of a small buffer: headroom plus a full Ethernet frame. */
#ifndef PS_PBUF_SMALL_SIZE
#define PS_PBUF_SMALL_SIZE (PS_PBUF_HEADROOM + 1536)
#endif
/* Storage of a large buffer: a whole reassembled IPv4 datagram. */
#ifndef PS_PBUF_LARGE_SIZE
#define PS_PBUF_LARGE_SIZE (PS_PBUF_HEADROOM + 65536)
#endif
#ifndef PS_DEFAULT_PBUF_SMALL_COUNT
#define PS_DEFAULT_PBUF_SMALL_COUNT 512
#endif
#ifndef PS_DEFAULT_PBUF_LARGE_COUNT
#define PS_DEFAULT_PBUF_LARGE_COUNT 4
#endif

/* ---- Interfaces and routes -------------------------------------------- */

#ifndef PS_MAX_IFACES
#define PS_MAX_IFACES 8
#endif
#ifndef PS_MAX_ADDRS_PER_IFACE
#define PS_MAX_ADDRS_PER_IFACE 4
#endif
#ifndef PS_DEFAULT_ROUTE_MAX
#define PS_DEFAULT_ROUTE_MAX 32
#endif
#ifndef PS_IFNAMSIZ
#define PS_IFNAMSIZ 16
#endif

/* ---- ARP --------------------------------------------------------------- */

#ifndef PS_DEFAULT_ARP_CACHE_SIZE
#define PS_DEFAULT_ARP_CACHE_SIZE 64
#endif
/* How long a resolved entry stays valid (ms). */
#ifndef PS_DEFAULT_ARP_TIMEOUT_MS
#define PS_DEFAULT_ARP_TIMEOUT_MS 60000
#endif
/* Interval between ARP requests for an unresolved entry (ms). */
#ifndef PS_DEFAULT_ARP_RETRY_MS
#define PS_DEFAULT_ARP_RETRY_MS 1000
#endif
/* Requests sent before an entry is given up. */
#ifndef PS_DEFAULT_ARP_RETRIES
#define PS_DEFAULT_ARP_RETRIES 5
#endif
/* Packets held per entry while it resolves (oldest dropped beyond). */
#ifndef PS_DEFAULT_ARP_QUEUE_LEN
#define PS_DEFAULT_ARP_QUEUE_LEN 4
#endif
/* How long a failed entry suppresses new requests (ms). */
#ifndef PS_DEFAULT_ARP_FAIL_HOLD_MS
#define PS_DEFAULT_ARP_FAIL_HOLD_MS 3000
#endif

/* ---- IPv4 ---------------------------------------------------------------- */

#ifndef PS_DEFAULT_TTL
#define PS_DEFAULT_TTL 64
#endif
/* Datagrams being reassembled at once. */
#ifndef PS_DEFAULT_REASM_MAX_DATAGRAMS
#define PS_DEFAULT_REASM_MAX_DATAGRAMS 8
#endif
/* Buffers (pbufs) all datagrams under reassembly may hold together. */
#ifndef PS_DEFAULT_REASM_MAX_PBUFS
#define PS_DEFAULT_REASM_MAX_PBUFS 192
#endif
/* Fragments one datagram may hold: a 64 KiB datagram over a 576-byte MTU
 * takes 119, or 135 when a router re-fragments 1500-byte fragments. */
#ifndef PS_DEFAULT_REASM_MAX_FRAGS
#define PS_DEFAULT_REASM_MAX_FRAGS 160
#endif
/* Reassembly timeout (ms); RFC 791 suggests 15 s, Linux uses 30 s. */
#ifndef PS_DEFAULT_REASM_TIMEOUT_MS
#define PS_DEFAULT_REASM_TIMEOUT_MS 30000
#endif
/* Buckets of the per-destination IP ID counters (RFC 6864, RFC 7739). */
#ifndef PS_IPID_BUCKETS
#define PS_IPID_BUCKETS 256
#endif
/* Loopback packets waiting for the next poll. */
#ifndef PS_DEFAULT_LOOPBACK_QUEUE_LEN
#define PS_DEFAULT_LOOPBACK_QUEUE_LEN 64
#endif

/* ---- ICMP -------------------------------------------------------------- */

/* Token bucket for ICMP errors (RFC 1812 4.3.2.8): tokens per second and
 * burst size.  Echo replies are not limited (as in Linux): each costs no
 * more than the request that caused it. */
#ifndef PS_DEFAULT_ICMP_RATE
#define PS_DEFAULT_ICMP_RATE 100
#endif
#ifndef PS_DEFAULT_ICMP_BURST
#define PS_DEFAULT_ICMP_BURST 50
#endif
/* Bytes of the offending datagram quoted in an ICMP error (RFC 1812: as
 * much as fits in 576 bytes). */
#ifndef PS_ICMP_QUOTE_MAX
#define PS_ICMP_QUOTE_MAX (576 - 20 - 8)
#endif

/* ---- Ports and sockets ------------------------------------------------------ */

/* Sockets a stack may have open at once (the socket table). */
#ifndef PS_DEFAULT_MAX_SOCKETS
#define PS_DEFAULT_MAX_SOCKETS 1024
#endif
/* The dynamic/ephemeral port range (IANA, RFC 6335). */
#ifndef PS_DEFAULT_EPHEMERAL_LO
#define PS_DEFAULT_EPHEMERAL_LO 49152
#endif
#ifndef PS_DEFAULT_EPHEMERAL_HI
#define PS_DEFAULT_EPHEMERAL_HI 65535
#endif
/* RFC 6056 Algorithm 4: entries of the perturbation table, and how often
 * (ms) the secret behind the port offsets is re-keyed. */
#ifndef PS_PORT_PERTURB_SIZE
#define PS_PORT_PERTURB_SIZE 256
#endif
#ifndef PS_DEFAULT_PORT_REKEY_MS
#define PS_DEFAULT_PORT_REKEY_MS 3600000
#endif
/* Per-socket UDP receive queue: bytes (SO_RCVBUF) and datagrams. */
#ifndef PS_DEFAULT_UDP_RCVBUF
#define PS_DEFAULT_UDP_RCVBUF 65536
#endif
#ifndef PS_DEFAULT_UDP_RCVQ_MAX
#define PS_DEFAULT_UDP_RCVQ_MAX 64
#endif
/* Largest TCP super-segment payload handed to a driver with TSO (bytes;
 * the IPv4 total length of 65535 minus the largest IP and TCP headers). */
#ifndef PS_TCP_TSO_MAX
#define PS_TCP_TSO_MAX (65535 - 20 - 60)
#endif
/* Largest SO_RCVBUF / SO_SNDBUF a socket may ask for. */
#ifndef PS_MAX_SOCKBUF
#define PS_MAX_SOCKBUF (4u << 20)
#endif
/* Default SO_SNDBUF (TCP; UDP sends at once). */
#ifndef PS_DEFAULT_SNDBUF
#define PS_DEFAULT_SNDBUF 65536
#endif


/* ---- TCP ------------------------------------------------------------------ */

/* Connections whose output waits for the end of the stack call in hand
 * (tcp_subr.c): what the application sends and the window it opens
 * while a callback runs leave as one segment with the ACK the arriving
 * data asked for.  Beyond this many, a connection sends at once. */
#ifndef PS_TCP_OUTQ_MAX
#define PS_TCP_OUTQ_MAX 32
#endif

/* Default SO_RCVBUF of a TCP socket (bytes): the receive ring allocated
 * when the connection is created; the window advertised comes from it. */
#ifndef PS_DEFAULT_TCP_RCVBUF
#define PS_DEFAULT_TCP_RCVBUF 65536
#endif
/* Maximum segment lifetime (ms); TIME_WAIT lasts 2*MSL (RFC 9293 3.4.2).
 * Linux effectively uses 30 s (TIME_WAIT 60 s). */
#ifndef PS_DEFAULT_TCP_MSL_MS
#define PS_DEFAULT_TCP_MSL_MS 30000
#endif
/* Retransmission timeout bounds (RFC 6298: initial 1 s, minimum 1 s
 * SHOULD, but Linux's 200 ms minimum is the practice on fast paths). */
#ifndef PS_DEFAULT_TCP_RTO_INITIAL_MS
#define PS_DEFAULT_TCP_RTO_INITIAL_MS 1000
#endif
#ifndef PS_DEFAULT_TCP_RTO_MIN_MS
#define PS_DEFAULT_TCP_RTO_MIN_MS 200
#endif
#ifndef PS_DEFAULT_TCP_RTO_MAX_MS
#define PS_DEFAULT_TCP_RTO_MAX_MS 60000
#endif
/* Delayed-ACK timer (ms); RFC 9293 3.8.6.3 and the issue ask <= 200 ms. */
#ifndef PS_DEFAULT_TCP_DELACK_MS
#define PS_DEFAULT_TCP_DELACK_MS 40
#endif
/* SYN (or SYN-ACK) retransmissions before a connect gives up (ETIMEDOUT),
 * and data retransmissions before an established connection does. */
#ifndef PS_DEFAULT_TCP_SYN_RETRIES
#define PS_DEFAULT_TCP_SYN_RETRIES 6
#endif
#ifndef PS_DEFAULT_TCP_RETRIES
#define PS_DEFAULT_TCP_RETRIES 15
#endif
/* FIN_WAIT_2 timeout of a connection its socket has closed (ms). */
#ifndef PS_DEFAULT_TCP_FIN_WAIT2_MS
#define PS_DEFAULT_TCP_FIN_WAIT2_MS 60000
#endif
/* Listen backlog: the largest accept queue a listen() may ask for, and
 * the half-open (SYN_RECEIVED) connections a listener may hold. */
#ifndef PS_DEFAULT_TCP_BACKLOG_MAX
#define PS_DEFAULT_TCP_BACKLOG_MAX 4096
#endif
#ifndef PS_DEFAULT_TCP_SYNQ_MAX
#define PS_DEFAULT_TCP_SYNQ_MAX 256
#endif
/* Half-open connections of all listeners together.  Each holds a socket
 * entry; past this bound SYNs get cookies, so that a flood on several
 * listeners cannot fill the socket table (keep it below max_sockets). */
#ifndef PS_DEFAULT_TCP_HALF_OPEN_MAX
#define PS_DEFAULT_TCP_HALF_OPEN_MAX 768
#endif
/* Out-of-order ranges a connection keeps above RCV.NXT (the data sits in
 * the receive ring itself; this bounds the bookkeeping: 8 bytes a range,
 * allocated only while there are holes).  A burst of losses in a large
 * window leaves many holes, and every segment beyond the last range kept
 * would be dropped and sent again.  PS_TCP_OOO_SLOTS caps the run-time
 * value. */
#ifndef PS_TCP_OOO_SLOTS
#define PS_TCP_OOO_SLOTS 1024
#endif
#ifndef PS_DEFAULT_TCP_OOO_MAX
#define PS_DEFAULT_TCP_OOO_MAX 256
#endif
/* SACKed ranges a sender's scoreboard holds (8 bytes each, allocated only
 * while the peer reports holes).  As many as the receiver may have holes:
 * a range forgotten is data sent again although it arrived. */
#ifndef PS_TCP_SACK_SLOTS
#define PS_TCP_SACK_SLOTS 256
#endif
/* Connections in TIME_WAIT at once; beyond it the oldest is dropped. */
#ifndef PS_DEFAULT_TCP_TIMEWAIT_MAX
#define PS_DEFAULT_TCP_TIMEWAIT_MAX 512
#endif
/* SYN cookies when a listener's half-open queue is full (1 on, 0 off). */
#ifndef PS_DEFAULT_TCP_SYNCOOKIES
#define PS_DEFAULT_TCP_SYNCOOKIES 1
#endif
/* RFC 5961 challenge ACKs per second (per stack). */
#ifndef PS_DEFAULT_TCP_CHALLENGE_ACK_LIMIT
#define PS_DEFAULT_TCP_CHALLENGE_ACK_LIMIT 100
#endif
/* The smallest path MTU a fragmentation-needed message may set (bytes):
 * a forged one claiming 68 would cut the MSS to a few dozen bytes (RFC
 * 5927 7); smaller claims are raised to this, Linux's min_pmtu. */
#ifndef PS_DEFAULT_TCP_PMTU_MIN
#define PS_DEFAULT_TCP_PMTU_MIN 552
#endif
/* Zero-window probes a closed socket's connection (an orphan: nobody
 * will read or write it again) sends without the window opening before
 * it is reset; an open socket's connection probes for as long as the
 * peer answers (RFC 9293 3.8.6.1; RFC 6429; Linux's tcp_orphan_retries). */
#ifndef PS_DEFAULT_TCP_ORPHAN_PROBES
#define PS_DEFAULT_TCP_ORPHAN_PROBES 8
#endif
/* Initial window in segments (RFC 6928). */
#ifndef PS_TCP_INIT_CWND_SEGS
#define PS_TCP_INIT_CWND_SEGS 10
#endif

/* ---- TCP congestion control, keepalive, user timeout ------------------------ */

/* Room for a congestion-control name with its NUL ("cubic", "newreno"),
 * as Linux's TCP_CA_NAME_MAX. */
#ifndef PS_TCP_CC_NAME_MAX
#define PS_TCP_CC_NAME_MAX 16
#endif
/* The stack's default algorithm (RFC 9438 CUBIC); "newreno" is the other. */
#ifndef PS_DEFAULT_TCP_CONGESTION
#define PS_DEFAULT_TCP_CONGESTION "cubic"
#endif
/* Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6), off unless SO_KEEPALIVE:
 * idle time before the first probe (s; RFC 1122: no less than two hours
 * by default), interval between probes (s), and unanswered probes before
 * the connection is dropped with ETIMEDOUT.  Linux's defaults. */
#ifndef PS_DEFAULT_TCP_KEEPIDLE_S
#define PS_DEFAULT_TCP_KEEPIDLE_S 7200
#endif
#ifndef PS_DEFAULT_TCP_KEEPINTVL_S
#define PS_DEFAULT_TCP_KEEPINTVL_S 75
#endif
#ifndef PS_DEFAULT_TCP_KEEPCNT
#define PS_DEFAULT_TCP_KEEPCNT 9
#endif
/* Bounds of the keepalive options (as Linux's MAX_TCP_KEEPIDLE,
 * MAX_TCP_KEEPINTVL and MAX_TCP_KEEPCNT). */
#define PS_TCP_KEEPIDLE_MAX_S 32767
#define PS_TCP_KEEPINTVL_MAX_S 32767
#define PS_TCP_KEEPCNT_MAX 127
/* User timeout (RFC 5482 spirit, Linux TCP_USER_TIMEOUT, ms): data left
 * unacknowledged this long aborts the connection with ETIMEDOUT; 0 = off
 * (the retransmission count alone decides). */
#ifndef PS_DEFAULT_TCP_USER_TIMEOUT_MS
#define PS_DEFAULT_TCP_USER_TIMEOUT_MS 0
#endif
/* The largest RTO bounds a configuration may give (ms): the connection
 * block keeps its RTT figures in 32-bit microseconds. */
#ifndef PS_TCP_RTO_LIMIT_MS
#define PS_TCP_RTO_LIMIT_MS 3600000
#endif
/* The largest user timeout accepted (ms, about 24 days: INT_MAX). */
#define PS_TCP_USER_TIMEOUT_MAX_MS 2147483647u

#endif /* PORTSTACK_CONFIG_H */
