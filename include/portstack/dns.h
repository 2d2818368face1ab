/*
 * portstack/dns.h - a DNS stub resolver (RFC 1035) for A records, on the
 * socket API.
 *
 * Each query goes out from a fresh socket, so it gets its own unpredictable
 * ephemeral port, with a random 16-bit ID (RFC 5452); a reply counts only
 * if it comes from the server asked, carries the ID and echoes the
 * question.  CNAME chains are followed within the answer.  Unanswered
 * queries are retried, then the next server is tried.  Answers are cached
 * for their TTL in a small bounded cache.  (Falling back to TCP for
 * truncated answers needs TCP; until then a truncated answer is used for
 * the addresses it holds, or fails with -EMSGSIZE.)
 */
#ifndef PORTSTACK_DNS_H
#define PORTSTACK_DNS_H

#include "types.h"

struct ps_stack;
struct ps_dns;

#define PS_DNS_PORT 53
#define PS_DNS_MAX_SERVERS 3
#define PS_DNS_MAX_NAME 253   /* RFC 1035 2.3.4, without the final dot */
#define PS_DNS_MAX_ADDRS 8    /* A records kept from one answer */
#ifndef PS_DNS_MAX_QUERIES
#define PS_DNS_MAX_QUERIES 8  /* queries in flight */
#endif
#ifndef PS_DNS_CACHE_SIZE
#define PS_DNS_CACHE_SIZE 16  /* cached names (least recently used goes) */
#endif
#ifndef PS_DNS_TIMEOUT_MS
#define PS_DNS_TIMEOUT_MS 2000 /* per try */
#endif
#ifndef PS_DNS_TRIES
#define PS_DNS_TRIES 3        /* per server */
#endif
#ifndef PS_DNS_MAX_TTL
#define PS_DNS_MAX_TTL 86400  /* cap on what a server may ask us to cache */
#endif

/* The outcome of a resolution: err 0 and at least one address, or a
 * negative errno: -ENOENT (NXDOMAIN or no A record), -ETIMEDOUT,
 * -ECONNREFUSED, -EPROTO (a malformed or failed answer). */
typedef void (*ps_dns_fn)(void *ctx, const char *name, int err, const ps_ip4_t *addrs, unsigned naddrs,
                          uint32_t ttl);

/* A resolver asking these servers in order.  NULL on bad arguments. */
struct ps_dns *ps_dns_new(struct ps_stack *s, const ps_ip4_t *servers, unsigned nservers);

/* Resolve name.  From the cache, fn runs before this returns.  Returns 0,
 * -EINVAL (not a valid name), -EBUSY (PS_DNS_MAX_QUERIES in flight), or
 * what socket() said. */
int ps_dns_resolve(struct ps_dns *r, const char *name, ps_dns_fn fn, void *ctx);

/* Retry or give up on what is due; returns the next deadline. */
ps_time_t ps_dns_poll(struct ps_dns *r, ps_time_t now);

/* Cached entries, and drop them all. */
unsigned ps_dns_cache_count(const struct ps_dns *r);
void ps_dns_cache_flush(struct ps_dns *r);

/* Cancel every query (no callback) and free the resolver. */
void ps_dns_free(struct ps_dns *r);

#endif
