/*
 * portstack/dns.h - a DNS stub resolver (RFC 1035) for A records, on the
 * socket API.
 *
 * Each query goes out from a fresh socket, so it gets its own unpredictable
 * ephemeral port, with a random 16-bit ID (RFC 5452); a reply counts only
 * if it comes from the server asked, carries the ID and echoes the
 * question.  CNAME chains are followed within the answer.  Unanswered
 * queries are retried, then the next server is tried.  Answers are cached
 * for their TTL in a small bounded cache.
 *
 * A UDP answer with the TC (truncated) bit set is asked again over TCP
 * (RFC 1035 4.2.2, RFC 7766): a connection to the same server's port 53
 * from an ephemeral port, the query with a fresh ID behind a two-byte
 * length, and the length-prefixed answer read into a buffer of at most
 * PS_DNS_TCP_MAX_ANSWER bytes, checked as a UDP answer is (ID and
 * question) and cached by the same rules.  A TCP try that fails or times
 * out (PS_DNS_TCP_TIMEOUT_MS) is retried over TCP within the server's
 * PS_DNS_TRIES; the next server is asked over UDP first again.
 */
#ifndef PORTSTACK_DNS_H
#define PORTSTACK_DNS_H

#include "types.h"

struct ps_stack;
struct ps_dns;

#define PS_DNS_PORT 53
#define PS_DNS_MAX_SERVERS 3
#define PS_DNS_MAX_NAME 253   /* RFC 1035 2.3.4, without the final dot */
#ifndef PS_DNS_MAX_ADDRS
#define PS_DNS_MAX_ADDRS 64   /* A records kept from one answer */
#endif
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
#ifndef PS_DNS_TCP_TIMEOUT_MS
#define PS_DNS_TCP_TIMEOUT_MS 5000 /* per TCP try: connect, query and the whole answer */
#endif
#ifndef PS_DNS_TCP_MAX_ANSWER
#define PS_DNS_TCP_MAX_ANSWER 4096 /* bytes; a longer TCP answer fails with -EMSGSIZE */
#endif
#ifndef PS_DNS_MAX_TTL
#define PS_DNS_MAX_TTL 86400  /* cap on what a server may ask us to cache */
#endif

/* What a resolver did, counted since ps_dns_new(). */
struct ps_dns_stats {
    uint64_t cache_hits;    /* resolutions answered from the cache */
    uint64_t udp_queries;   /* queries sent over UDP (each try) */
    uint64_t tcp_queries;   /* TCP connections opened to ask again (each try) */
    uint64_t truncated;     /* UDP answers with TC set (then asked over TCP) */
    uint64_t answers;       /* answers accepted (UDP and TCP) */
    uint64_t tcp_answers;   /* of which over TCP */
    uint64_t ignored;       /* messages dropped: malformed, or not an answer to the question */
    uint64_t timeouts;      /* tries that got no answer in time */
    uint64_t too_big;       /* TCP answers longer than PS_DNS_TCP_MAX_ANSWER */
};

/* The outcome of a resolution: err 0 and at least one address, or a
 * negative errno: -ENOENT (NXDOMAIN or no A record), -ETIMEDOUT,
 * -ECONNREFUSED, -EPROTO (a malformed or failed answer), -EMSGSIZE (the
 * TCP answer was longer than PS_DNS_TCP_MAX_ANSWER), -ENOMEM. */
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

/* The resolver's counters. */
const struct ps_dns_stats *ps_dns_stats(const struct ps_dns *r);

/* Cancel every query (no callback) and free the resolver. */
void ps_dns_free(struct ps_dns *r);

#endif
