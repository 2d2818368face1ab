/*
 * DNS messages (RFC 1035 4.1): pure build of an A query and parse of the
 * answer, with name compression followed safely (bounded jumps, every
 * offset checked), so the parser can be fuzzed on its own.
 */
#ifndef PS_APPS_DNS_MSG_H
#define PS_APPS_DNS_MSG_H

#include <portstack/dns.h>

#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_MAX_UDP 512 /* RFC 1035 4.2.1, without EDNS */
#define DNS_MAX_MSG 65535 /* the most a TCP length prefix can say (RFC 1035 4.2.2) */
#define DNS_TCP_PREFIX 2  /* the two-byte length before a message over TCP */
#ifndef DNS_MAX_RRS
#define DNS_MAX_RRS 96    /* answer records looked at (A and CNAME); the rest are not */
#endif
#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_CLASS_IN 1

struct dns_answer {
    uint16_t id;
    uint8_t rcode;
    bool truncated;
    ps_ip4_t addrs[PS_DNS_MAX_ADDRS];
    unsigned naddrs;
    uint32_t ttl; /* the smallest TTL along the chain */
};

/* Build a recursive A query for name (dotted, no trailing dot needed) into
 * buf (>= DNS_MAX_UDP bytes).  Returns the length, or 0 if the name is not
 * valid (empty label, label > 63, name > 253). */
size_t dns_build_query(uint8_t *buf, uint16_t id, const char *name);

/* Parse a reply to the query `q` (qlen bytes), as it came over UDP or
 * over TCP without its length prefix: checks it is a response with the
 * same ID and question, then follows CNAMEs from the question name and
 * collects A records (at most PS_DNS_MAX_ADDRS).  0 on success (even with
 * no address), -1 if malformed or not an answer to q.  A truncated answer
 * (TC set) may end inside a record: the whole records before it count. */
int dns_parse_answer(const uint8_t *buf, size_t len, const uint8_t *q, size_t qlen, struct dns_answer *a);

/* ---- the server side (dns_server.c) ---------------------------------------- */

#define DNS_TYPE_OPT 41   /* EDNS (RFC 6891) */
#define DNS_TYPE_ANY 255
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5
#define DNS_RCODE_BADVERS 16 /* extended: 1 in the OPT record, 0 in the header */

/* A query as a server sees it. */
struct dns_query_in {
    uint16_t id, flags;
    char name[PS_DNS_MAX_NAME + 2]; /* lower-case, dotted, "" for the root */
    uint16_t qtype, qclass;
    size_t qend;          /* offset just past the question (0: no question parsed) */
    bool edns;            /* an OPT record came with it */
    uint8_t edns_version;
    uint16_t edns_size;   /* the UDP payload size the asker takes */
};

/* Parse a query (a UDP payload, or a TCP message without its prefix).
 * Returns 0 for a query to answer, -1 for something never to answer (too
 * short for a header, or a response), or an RCODE to answer with when the
 * header is good and the rest is not: DNS_RCODE_NOTIMP (an opcode other
 * than QUERY), DNS_RCODE_FORMERR (not one question, a malformed or
 * compressed question name, a label holding a dot or a NUL byte, a
 * malformed record after it); q->qend says whether the question is good
 * enough to echo. */
int dns_parse_query(const uint8_t *buf, size_t len, struct dns_query_in *q);

/* Write name (dotted, a final dot allowed; "" or "." is the root) as
 * uncompressed labels at o, with room bytes there.  Returns the bytes
 * written, or 0 if the name is not valid or does not fit. */
size_t dns_put_name(uint8_t *o, size_t room, const char *name);

/* Read the (possibly compressed) name at *off, as dns_parse_answer does:
 * lower-cased and dotted into out (PS_DNS_MAX_NAME + 2 bytes); *off moves
 * past it.  0, or -1 if malformed. */
int dns_read_name(const uint8_t *m, size_t len, size_t *off, char *out);

#endif
