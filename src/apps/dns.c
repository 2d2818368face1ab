/*
 * The DNS stub resolver: queries in flight, retries, server failover, TCP
 * when a UDP answer comes truncated, and a small TTL cache.  RFC 5452
 * defences: a fresh socket (so a fresh, unpredictable ephemeral port) and
 * a random ID for every try, a connected socket so only the server asked
 * can answer, and the question checked.
 */
#include <portstack/dns.h>
#include <portstack/socket.h>
#include <portstack/stack.h>
#include <portstack/wire.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apps/dns_msg.h"

struct dns_query {
    struct ps_dns *r;
    bool used;
    char name[PS_DNS_MAX_NAME + 2];
    ps_dns_fn fn;
    void *ctx;
    int fd;              /* this try's socket, -1 between tries */
    unsigned server, tries;
    int last_err;        /* what the last server said, for the final error */
    ps_time_t deadline;
    uint8_t out[DNS_TCP_PREFIX + DNS_MAX_UDP]; /* TCP's length, then the query */
    size_t qlen;
    /* TCP, once this server's UDP answer came truncated. */
    bool tcp, connected;
    size_t tsent;        /* bytes of out sent on the connection */
    uint8_t *tbuf;       /* the answer: DNS_TCP_PREFIX + PS_DNS_TCP_MAX_ANSWER bytes */
    size_t tlen;         /* bytes of it read */
};

struct dns_cached {
    bool used;
    char name[PS_DNS_MAX_NAME + 2];
    ps_ip4_t addrs[PS_DNS_MAX_ADDRS];
    unsigned naddrs;
    ps_time_t expires, last_used;
};

struct ps_dns {
    struct ps_stack *s;
    ps_ip4_t servers[PS_DNS_MAX_SERVERS];
    unsigned nservers;
    struct dns_query q[PS_DNS_MAX_QUERIES];
    struct dns_cached cache[PS_DNS_CACHE_SIZE];
    struct ps_dns_stats stats;
    uint8_t buf[DNS_MAX_UDP + 1]; /* one more: a longer answer is not DNS over UDP */
};

static void lower(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n && src[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[n] = '\0';
}

struct ps_dns *ps_dns_new(struct ps_stack *s, const ps_ip4_t *servers, unsigned nservers)
{
    if (!servers || nservers == 0 || nservers > PS_DNS_MAX_SERVERS)
        return NULL;
    struct ps_dns *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->s = s;
    memcpy(r->servers, servers, nservers * sizeof(*servers));
    r->nservers = nservers;
    for (unsigned i = 0; i < PS_DNS_MAX_QUERIES; i++) {
        r->q[i].r = r;
        r->q[i].fd = -1;
    }
    return r;
}

/* ---- cache ------------------------------------------------------------------ */

static struct dns_cached *cache_find(struct ps_dns *r, const char *name)
{
    ps_time_t now = ps_stack_now(r->s);
    for (unsigned i = 0; i < PS_DNS_CACHE_SIZE; i++) {
        struct dns_cached *c = &r->cache[i];
        if (!c->used)
            continue;
        if (c->expires <= now) {
            c->used = false;
            continue;
        }
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

static void cache_put(struct ps_dns *r, const char *name, const struct dns_answer *a)
{
    if (a->ttl == 0)
        return; /* "do not cache" */
    struct dns_cached *slot = cache_find(r, name);
    for (unsigned i = 0; i < PS_DNS_CACHE_SIZE && !slot; i++)
        if (!r->cache[i].used)
            slot = &r->cache[i];
    if (!slot) { /* full: the least recently used goes */
        slot = &r->cache[0];
        for (unsigned i = 1; i < PS_DNS_CACHE_SIZE; i++)
            if (r->cache[i].last_used < slot->last_used)
                slot = &r->cache[i];
    }
    ps_time_t now = ps_stack_now(r->s);
    uint32_t ttl = a->ttl > PS_DNS_MAX_TTL ? PS_DNS_MAX_TTL : a->ttl;
    slot->used = true;
    strcpy(slot->name, name);
    memcpy(slot->addrs, a->addrs, sizeof(slot->addrs));
    slot->naddrs = a->naddrs;
    slot->expires = now + PS_SEC(ttl);
    slot->last_used = now;
}

unsigned ps_dns_cache_count(const struct ps_dns *r)
{
    unsigned n = 0;
    for (unsigned i = 0; i < PS_DNS_CACHE_SIZE; i++)
        n += r->cache[i].used && r->cache[i].expires > ps_stack_now(r->s);
    return n;
}

void ps_dns_cache_flush(struct ps_dns *r)
{
    for (unsigned i = 0; i < PS_DNS_CACHE_SIZE; i++)
        r->cache[i].used = false;
}

/* ---- queries -------------------------------------------------------------------- */

static uint8_t *query_msg(struct dns_query *q)
{
    return q->out + DNS_TCP_PREFIX;
}

static void close_try(struct dns_query *q)
{
    /* Forget the socket before closing it: closing may report its last
     * events, and they are no longer this try's. */
    int fd = q->fd;
    q->fd = -1;
    if (fd >= 0) {
        ps_socket_set_callback(q->r->s, fd, NULL, NULL);
        ps_close(q->r->s, fd);
    }
}

/* Settle a query: free its slot first, so the callback may resolve again. */
static void finish(struct dns_query *q, int err, const struct dns_answer *a)
{
    close_try(q);
    free(q->tbuf);
    q->tbuf = NULL;
    q->used = false;
    char name[PS_DNS_MAX_NAME + 2];
    strcpy(name, q->name);
    if (q->fn)
        q->fn(q->ctx, name, err, a ? a->addrs : NULL, a ? a->naddrs : 0, a ? a->ttl : 0);
}

static void on_readable(void *ctx, int fd, short revents);
static void on_tcp_event(void *ctx, int fd, short revents);

/* A UDP try: a new socket, so a new random port. */
static void send_udp(struct dns_query *q)
{
    struct ps_dns *r = q->r;
    q->deadline = ps_stack_now(r->s) + PS_MS(PS_DNS_TIMEOUT_MS);
    int fd = ps_socket(r->s, PS_SOCK_DGRAM);
    if (fd < 0) {
        q->last_err = fd;
        return; /* retried at the deadline */
    }
    struct ps_sockaddr_in srv = {.addr = r->servers[q->server], .port = PS_DNS_PORT};
    if (ps_connect(r->s, fd, &srv) < 0 || ps_socket_set_callback(r->s, fd, on_readable, q) < 0 ||
        ps_send(r->s, fd, query_msg(q), q->qlen, 0) < 0) {
        ps_close(r->s, fd);
        q->last_err = -EHOSTUNREACH;
        return;
    }
    r->stats.udp_queries++;
    q->fd = fd;
}

/* A TCP try: a connection from an ephemeral port to the server's port 53;
 * the query goes once it is up (on_tcp_event). */
static void send_tcp(struct dns_query *q)
{
    struct ps_dns *r = q->r;
    q->deadline = ps_stack_now(r->s) + PS_MS(PS_DNS_TCP_TIMEOUT_MS);
    q->connected = false;
    q->tsent = q->tlen = 0;
    ps_put16(q->out, (uint16_t)q->qlen);
    int fd = ps_socket(r->s, PS_SOCK_STREAM);
    if (fd < 0) {
        q->last_err = fd;
        return;
    }
    struct ps_sockaddr_in srv = {.addr = r->servers[q->server], .port = PS_DNS_PORT};
    int rc = ps_connect(r->s, fd, &srv);
    if ((rc < 0 && rc != -EINPROGRESS) || ps_socket_set_callback(r->s, fd, on_tcp_event, q) < 0) {
        ps_close(r->s, fd);
        q->last_err = rc < 0 && rc != -EINPROGRESS ? rc : -EHOSTUNREACH;
        return;
    }
    r->stats.tcp_queries++;
    q->fd = fd;
    if (rc == 0) /* connected at once: no writable event to wait for */
        on_tcp_event(q, fd, PS_POLLOUT);
}

/* One try, with a new random ID, over UDP or (after a truncated answer
 * from this server) TCP. */
static void send_try(struct dns_query *q)
{
    close_try(q);
    ps_put16(query_msg(q), (uint16_t)ps_stack_random(q->r->s));
    if (q->tcp)
        send_tcp(q);
    else
        send_udp(q);
}

/* The next try: this server again, or the next one, or give up. */
static void next_try(struct dns_query *q)
{
    if (++q->tries >= PS_DNS_TRIES) {
        q->tries = 0;
        q->tcp = false; /* a new server is asked over UDP first */
        if (++q->server >= q->r->nservers) {
            finish(q, q->last_err ? q->last_err : -ETIMEDOUT, NULL);
            return;
        }
    }
    send_try(q);
}

/* A server that refused or failed: straight to the next server. */
static void next_server(struct dns_query *q, int err)
{
    q->last_err = err;
    q->tries = PS_DNS_TRIES - 1;
    next_try(q);
}

/* An answer to our question, over UDP or TCP. */
static void on_answer(struct dns_query *q, const struct dns_answer *a, bool over_tcp)
{
    struct ps_dns *r = q->r;
    if (a->truncated && !over_tcp) {
        /* Ask again over TCP, in this same try (RFC 7766 5). */
        r->stats.truncated++;
        if (!q->tbuf)
            q->tbuf = malloc(DNS_TCP_PREFIX + PS_DNS_TCP_MAX_ANSWER);
        if (!q->tbuf) {
            finish(q, -ENOMEM, NULL);
            return;
        }
        q->tcp = true;
        send_try(q);
        return;
    }
    r->stats.answers++;
    r->stats.tcp_answers += over_tcp;
    if (a->rcode == 3) {
        finish(q, -ENOENT, NULL);
    } else if (a->rcode != 0) {
        next_server(q, -EPROTO); /* SERVFAIL, REFUSED, ... */
    } else if (a->naddrs == 0) {
        finish(q, a->truncated ? -EMSGSIZE : -ENOENT, NULL);
    } else {
        cache_put(r, q->name, a);
        finish(q, 0, a);
    }
}

static void on_readable(void *ctx, int fd, short revents)
{
    struct dns_query *q = ctx;
    struct ps_dns *r = q->r;
    if (!(revents & (PS_POLLIN | PS_POLLERR)) || !q->used || q->fd != fd)
        return;
    for (;;) {
        ssize_t n = ps_recv(r->s, fd, r->buf, sizeof(r->buf), 0);
        if (n == -EAGAIN)
            return;
        if (n < 0) { /* ICMP port unreachable: no DNS server there */
            next_server(q, (int)n);
            return;
        }
        struct dns_answer a;
        if ((size_t)n > DNS_MAX_UDP || dns_parse_answer(r->buf, (size_t)n, query_msg(q), q->qlen, &a) != 0) {
            r->stats.ignored++;
            continue; /* not an answer to this question: ignore it, keep waiting */
        }
        on_answer(q, &a, false);
        return;
    }
}

/* The TCP try failed before a whole answer came: a refused connection
 * means no server there (the next one); anything else is retried. */
static void tcp_failed(struct dns_query *q, int err)
{
    if (err == -ECONNREFUSED && !q->connected) {
        next_server(q, err);
        return;
    }
    q->last_err = err;
    next_try(q);
}

/* Send what is left of the framed query; false if the try ended. */
static bool tcp_send_query(struct dns_query *q, int fd)
{
    size_t total = DNS_TCP_PREFIX + q->qlen;
    while (q->tsent < total) {
        ssize_t n = ps_send(q->r->s, fd, q->out + q->tsent, total - q->tsent, 0);
        if (n == -EAGAIN)
            return true; /* POLLOUT calls again */
        if (n < 0) {
            tcp_failed(q, (int)n);
            return false;
        }
        q->tsent += (size_t)n;
    }
    return true;
}

static void on_tcp_event(void *ctx, int fd, short revents)
{
    struct dns_query *q = ctx;
    struct ps_dns *r = q->r;
    if (!q->used || q->fd != fd)
        return;
    if (!q->connected) {
        if (!(revents & (PS_POLLOUT | PS_POLLERR | PS_POLLHUP)))
            return;
        int err = 0;
        size_t len = sizeof(err);
        ps_getsockopt(r->s, fd, PS_SOL_SOCKET, PS_SO_ERROR, &err, &len);
        if (err || !(revents & PS_POLLOUT)) {
            tcp_failed(q, err ? -abs(err) : -ECONNREFUSED);
            return;
        }
        q->connected = true;
    }
    if (!tcp_send_query(q, fd) || q->tsent < DNS_TCP_PREFIX + q->qlen)
        return;
    /* Read the two-byte length, then exactly that many bytes. */
    for (;;) {
        size_t want = DNS_TCP_PREFIX;
        if (q->tlen >= DNS_TCP_PREFIX) {
            size_t mlen = ps_get16(q->tbuf);
            if (mlen > PS_DNS_TCP_MAX_ANSWER) {
                r->stats.too_big++;
                finish(q, -EMSGSIZE, NULL);
                return;
            }
            want += mlen;
        }
        if (q->tlen == want && want > DNS_TCP_PREFIX) {
            struct dns_answer a;
            if (dns_parse_answer(q->tbuf + DNS_TCP_PREFIX, want - DNS_TCP_PREFIX, query_msg(q), q->qlen, &a) == 0) {
                on_answer(q, &a, true);
                return;
            }
            r->stats.ignored++; /* not an answer to this question: wait for the next message */
            q->tlen = 0;
            continue;
        }
        if (q->tlen == want) { /* an empty message */
            r->stats.ignored++;
            q->tlen = 0;
            continue;
        }
        ssize_t n = ps_recv(r->s, fd, q->tbuf + q->tlen, want - q->tlen, 0);
        if (n == -EAGAIN)
            return;
        if (n <= 0) { /* closed or reset before a whole answer */
            tcp_failed(q, n ? (int)n : -ECONNRESET);
            return;
        }
        q->tlen += (size_t)n;
    }
}

int ps_dns_resolve(struct ps_dns *r, const char *name, ps_dns_fn fn, void *ctx)
{
    uint8_t probe[DNS_MAX_UDP];
    if (!r)
        return -EINVAL;
    if (!name || strlen(name) > PS_DNS_MAX_NAME + 1 || dns_build_query(probe, 0, name) == 0)
        return -EINVAL;
    char lname[PS_DNS_MAX_NAME + 2];
    lower(lname, name);
    struct dns_cached *c = cache_find(r, lname);
    if (c) {
        ps_time_t now = ps_stack_now(r->s);
        c->last_used = now;
        r->stats.cache_hits++;
        if (fn)
            fn(ctx, lname, 0, c->addrs, c->naddrs, (uint32_t)((c->expires - now) / PS_SEC(1)));
        return 0;
    }
    struct dns_query *q = NULL;
    for (unsigned i = 0; i < PS_DNS_MAX_QUERIES && !q; i++)
        if (!r->q[i].used)
            q = &r->q[i];
    if (!q)
        return -EBUSY;
    q->used = true;
    strcpy(q->name, lname);
    q->fn = fn;
    q->ctx = ctx;
    q->server = 0;
    q->tries = 0;
    q->last_err = 0;
    q->tcp = false;
    q->qlen = dns_build_query(query_msg(q), 0, lname);
    send_try(q);
    return 0;
}

ps_time_t ps_dns_poll(struct ps_dns *r, ps_time_t now)
{
    ps_time_t next = PS_TIME_NEVER;
    for (unsigned i = 0; i < PS_DNS_MAX_QUERIES; i++) {
        struct dns_query *q = &r->q[i];
        if (q->used && now >= q->deadline) {
            r->stats.timeouts += q->fd >= 0; /* (no socket: the try never went out) */
            next_try(q);
        }
        if (q->used && q->deadline < next)
            next = q->deadline;
    }
    return next;
}

void ps_dns_free(struct ps_dns *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < PS_DNS_MAX_QUERIES; i++)
        if (r->q[i].used) {
            close_try(&r->q[i]);
            free(r->q[i].tbuf);
        }
    free(r);
}

const struct ps_dns_stats *ps_dns_stats(const struct ps_dns *r)
{
    return &r->stats;
}
