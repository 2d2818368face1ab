/*
 * portstack/dns_server.h - an authoritative DNS server (RFC 1035) for a
 * small table of A and CNAME records, over UDP and TCP, on the socket API.
 *
 * A query for a name in the table is answered authoritatively (AA set,
 * no recursion offered): its A records, or its CNAME followed by the
 * target's records when the target is in the table too (a chain of at
 * most PS_DNSD_MAX_CHAIN).  A name in the table without records of the
 * type asked is an empty answer (NOERROR); any other name is NXDOMAIN;
 * classes other than IN are REFUSED, opcodes other than QUERY NOTIMP, a
 * malformed question FORMERR, and responses are never answered.
 *
 * Over UDP an answer fits 512 bytes, or the size an EDNS asker offers
 * (RFC 6891) up to PS_DNSD_UDP_MAX; what does not fit is cut at a whole
 * record and marked truncated (TC), so the asker retries over TCP, where
 * answers of up to PS_DNSD_TCP_MAX_MSG bytes go whole.  TCP connections
 * (RFC 7766: several queries each, answered in order) are bounded in
 * number and closed when idle for PS_DNSD_TCP_IDLE_MS.
 *
 * Host-driven: ps_dnsd_poll() at its deadline (TCP idle timeouts);
 * queries are answered from the sockets' readiness callbacks.
 */
#ifndef PORTSTACK_DNS_SERVER_H
#define PORTSTACK_DNS_SERVER_H

#include "dns.h"
#include "types.h"

struct ps_stack;
struct ps_dnsd;

#ifndef PS_DNSD_MAX_RECORDS
#define PS_DNSD_MAX_RECORDS 64    /* records in the table */
#endif
#ifndef PS_DNSD_MAX_CHAIN
#define PS_DNSD_MAX_CHAIN 8       /* CNAMEs followed for one answer */
#endif
#ifndef PS_DNSD_UDP_MAX
#define PS_DNSD_UDP_MAX 1232      /* largest UDP answer, for EDNS askers (RFC 9715's advice) */
#endif
#ifndef PS_DNSD_TCP_MAX_CONN
#define PS_DNSD_TCP_MAX_CONN 4    /* TCP connections at once; more wait in the backlog */
#endif
#ifndef PS_DNSD_TCP_MAX_MSG
#define PS_DNSD_TCP_MAX_MSG 4096  /* largest query read and answer written over TCP */
#endif
#ifndef PS_DNSD_TCP_IDLE_MS
#define PS_DNSD_TCP_IDLE_MS 10000 /* an idle TCP connection is closed */
#endif
#ifndef PS_DNSD_TTL
#define PS_DNSD_TTL 300           /* TTL of records added with ttl 0 */
#endif

struct ps_dnsd_stats {
    uint64_t udp_queries, tcp_queries;
    uint64_t answers;     /* NOERROR with records */
    uint64_t nodata;      /* NOERROR, no record of that type */
    uint64_t nxdomain;
    uint64_t errors;      /* FORMERR, NOTIMP, REFUSED, BADVERS sent */
    uint64_t truncated;   /* UDP answers cut (TC set) */
    uint64_t dropped;     /* responses, runts, unsendable answers */
    uint64_t tcp_connections, tcp_closed_idle, tcp_too_big; /* a query over PS_DNSD_TCP_MAX_MSG closes */
};

/* Serve on port (0: 53) at addr (0: all), over UDP and TCP, with an
 * empty table.  NULL with *err set (-ENOMEM, or what socket(), bind() or
 * listen() said). */
struct ps_dnsd *ps_dnsd_start(struct ps_stack *s, ps_ip4_t addr, uint16_t port, int *err);

/* Add a record (ttl 0: PS_DNSD_TTL).  Names are case-insensitive, a final
 * dot is allowed.  A name holds either a CNAME or other records, not both
 * (RFC 1034 3.6.2), and one CNAME.  0, -EINVAL (a bad name, or against
 * that rule), -ENOSPC (PS_DNSD_MAX_RECORDS reached). */
int ps_dnsd_add_a(struct ps_dnsd *d, const char *name, ps_ip4_t addr, uint32_t ttl);
int ps_dnsd_add_cname(struct ps_dnsd *d, const char *name, const char *target, uint32_t ttl);

/* "NAME=A.B.C.D" adds an A record, "NAME=OTHER.NAME" a CNAME (ttl 0). */
int ps_dnsd_add_spec(struct ps_dnsd *d, const char *spec);

/* Records in the table. */
unsigned ps_dnsd_records(const struct ps_dnsd *d);

/* Close idle TCP connections; returns the next deadline. */
ps_time_t ps_dnsd_poll(struct ps_dnsd *d, ps_time_t now);

uint16_t ps_dnsd_port(const struct ps_dnsd *d);
const struct ps_dnsd_stats *ps_dnsd_stats(const struct ps_dnsd *d);

/* Close every socket and free the server. */
void ps_dnsd_stop(struct ps_dnsd *d);

#endif
