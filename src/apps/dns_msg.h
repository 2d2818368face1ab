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

/* Parse a reply to the query `q` (qlen bytes): checks it is a response
 * with the same ID and question, then follows CNAMEs from the question
 * name and collects A records.  0 on success (even with no address), -1
 * if malformed or not an answer to q. */
int dns_parse_answer(const uint8_t *buf, size_t len, const uint8_t *q, size_t qlen, struct dns_answer *a);

#endif
