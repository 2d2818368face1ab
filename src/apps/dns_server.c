/*
 * The authoritative DNS server: a fixed table of records, answers built
 * straight into the reply buffer (owner names compressed against the
 * names already written), over UDP and over TCP with the two-byte length
 * prefix (RFC 1035 4.2.2, RFC 7766).  Query parsing is dns_msg.c's.
 */
#include <portstack/dns_server.h>
#include <portstack/socket.h>
#include <portstack/stack.h>
#include <portstack/stats.h>
#include <portstack/wire.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apps/dns_msg.h"

/* The listener's backlog (connections waiting for a free slot). */
#define DNSD_TCP_BACKLOG 8
/* Names remembered per answer for compression (the question's and each
 * CNAME target's). */
#define DNSD_MAX_NAMES (PS_DNSD_MAX_CHAIN + 2)
/* Bytes an OPT record takes (root name, type, class, TTL, no data). */
#define DNSD_OPT_LEN 11

struct record {
    char name[PS_DNS_MAX_NAME + 2];
    uint16_t type; /* DNS_TYPE_A or DNS_TYPE_CNAME */
    uint32_t ttl;
    ps_ip4_t addr;
    char target[PS_DNS_MAX_NAME + 2];
};

struct tcp_conn {
    struct ps_dnsd *d;
    int fd;              /* -1: slot free */
    bool eof, busy, again;
    ps_time_t idle_at;
    size_t in_len, out_off, out_len;
    uint8_t in[DNS_TCP_PREFIX + PS_DNSD_TCP_MAX_MSG];
    uint8_t out[DNS_TCP_PREFIX + PS_DNSD_TCP_MAX_MSG];
};

struct ps_dnsd {
    struct ps_stack *s;
    uint16_t port;
    int udp_fd, tcp_fd;
    struct ps_dnsd_stats stats;
    unsigned nrec;
    struct record rec[PS_DNSD_MAX_RECORDS];
    struct tcp_conn conn[PS_DNSD_TCP_MAX_CONN];
    uint8_t qbuf[PS_DNSD_UDP_MAX]; /* a longer query is dropped */
    uint8_t abuf[PS_DNSD_UDP_MAX];
};

/* ---- the table ----------------------------------------------------------------------- */

/* A valid name, lower-cased, without a final dot, into out. */
static int norm_name(const char *name, char out[PS_DNS_MAX_NAME + 2])
{
    uint8_t wire[PS_DNS_MAX_NAME + 2];
    size_t n = strlen(name);
    if (n == 0 || n > PS_DNS_MAX_NAME + 1 || dns_put_name(wire, sizeof(wire), name) == 0)
        return -EINVAL;
    if (name[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++)
        out[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
    out[n] = '\0';
    return 0;
}

static int add_record(struct ps_dnsd *d, const char *name, uint16_t type, uint32_t ttl, ps_ip4_t addr,
                      const char *target)
{
    struct record r = {.type = type, .ttl = ttl ? ttl : PS_DNSD_TTL, .addr = addr};
    if (norm_name(name, r.name) || (target && norm_name(target, r.target)) || r.ttl > 0x7fffffffu)
        return -EINVAL;
    for (unsigned i = 0; i < d->nrec; i++)
        if (strcmp(d->rec[i].name, r.name) == 0 && (type == DNS_TYPE_CNAME || d->rec[i].type == DNS_TYPE_CNAME))
            return -EINVAL; /* a CNAME stands alone (RFC 1034 3.6.2) */
    if (d->nrec >= PS_DNSD_MAX_RECORDS)
        return -ENOSPC;
    d->rec[d->nrec++] = r;
    return 0;
}

int ps_dnsd_add_a(struct ps_dnsd *d, const char *name, ps_ip4_t addr, uint32_t ttl)
{
    return add_record(d, name, DNS_TYPE_A, ttl, addr, NULL);
}

int ps_dnsd_add_cname(struct ps_dnsd *d, const char *name, const char *target, uint32_t ttl)
{
    return add_record(d, name, DNS_TYPE_CNAME, ttl, 0, target);
}

int ps_dnsd_add_spec(struct ps_dnsd *d, const char *spec)
{
    const char *eq = strchr(spec, '=');
    char name[PS_DNS_MAX_NAME + 2];
    if (!eq || eq == spec || (size_t)(eq - spec) > PS_DNS_MAX_NAME + 1)
        return -EINVAL;
    memcpy(name, spec, (size_t)(eq - spec));
    name[eq - spec] = '\0';
    ps_ip4_t a;
    if (ps_ip4_aton(eq + 1, &a) == 0)
        return ps_dnsd_add_a(d, name, a, 0);
    return ps_dnsd_add_cname(d, name, eq + 1, 0);
}

unsigned ps_dnsd_records(const struct ps_dnsd *d)
{
    return d->nrec;
}

/* ---- answers ------------------------------------------------------------------------- */

/* A response being written: a cursor and the names already in it. */
struct writer {
    uint8_t *buf;
    size_t len, cap; /* cap leaves room for the OPT record when one is due */
    unsigned an;
    bool truncated;
    unsigned nnames;
    struct {
        const char *name;
        uint16_t off;
    } names[DNSD_MAX_NAMES];
};

/* A name already written becomes a two-byte pointer (RFC 1035 4.1.4). */
static size_t put_owner(struct writer *w, const char *name, uint8_t *o, size_t room)
{
    for (unsigned i = 0; i < w->nnames; i++)
        if (strcmp(w->names[i].name, name) == 0) {
            if (room < 2)
                return 0;
            ps_put16(o, (uint16_t)(0xc000 | w->names[i].off));
            return 2;
        }
    return dns_put_name(o, room, name);
}

static void remember(struct writer *w, const char *name, size_t off)
{
    if (w->nnames < DNSD_MAX_NAMES && off < 0x3fff) {
        w->names[w->nnames].name = name;
        w->names[w->nnames].off = (uint16_t)off;
        w->nnames++;
    }
}

/* Append one record; a record that does not fit truncates the answer. */
static void put_rr(struct writer *w, const struct record *r)
{
    if (w->truncated)
        return;
    uint8_t *o = w->buf + w->len;
    size_t room = w->cap - w->len;
    size_t n = put_owner(w, r->name, o, room);
    if (n == 0 || n + 10 > room) {
        w->truncated = true;
        return;
    }
    size_t rd = n + 10, rdlen = 4;
    if (r->type == DNS_TYPE_A) {
        if (rd + 4 > room) {
            w->truncated = true;
            return;
        }
        ps_put32(o + rd, r->addr);
    } else {
        rdlen = put_owner(w, r->target, o + rd, room - rd);
        if (rdlen == 0) {
            w->truncated = true;
            return;
        }
        if (rdlen > 2)
            remember(w, r->target, w->len + rd);
    }
    ps_put16(o + n, r->type);
    ps_put16(o + n + 2, DNS_CLASS_IN);
    ps_put32(o + n + 4, r->ttl);
    ps_put16(o + n + 8, (uint16_t)rdlen);
    w->len += rd + rdlen;
    w->an++;
}

static bool type_wanted(uint16_t qtype, uint16_t type)
{
    return qtype == type || qtype == DNS_TYPE_ANY;
}

/* The answer section for the question; returns the RCODE. */
static int resolve(struct ps_dnsd *d, const struct dns_query_in *q, struct writer *w)
{
    const char *cur = q->name;
    for (unsigned hop = 0; hop <= PS_DNSD_MAX_CHAIN; hop++) {
        const struct record *cname = NULL;
        bool known = false;
        for (unsigned i = 0; i < d->nrec; i++)
            if (strcmp(d->rec[i].name, cur) == 0) {
                known = true;
                if (d->rec[i].type == DNS_TYPE_CNAME)
                    cname = &d->rec[i];
            }
        if (!known)
            return hop == 0 ? DNS_RCODE_NXDOMAIN : 0; /* a target outside the table: the chain so far */
        if (cname && q->qtype != DNS_TYPE_CNAME && q->qtype != DNS_TYPE_ANY) {
            put_rr(w, cname);
            cur = cname->target;
            continue;
        }
        for (unsigned i = 0; i < d->nrec; i++)
            if (strcmp(d->rec[i].name, cur) == 0 && type_wanted(q->qtype, d->rec[i].type))
                put_rr(w, &d->rec[i]);
        return 0;
    }
    return 0; /* a chain longer than we follow: what we have */
}

/* Build the response to the query q (qbuf: its bytes, rc: what parsing
 * said) into out; cap is the most it may take.  Returns its length. */
static size_t build_response(struct ps_dnsd *d, const uint8_t *qbuf, const struct dns_query_in *q, int rc,
                             uint8_t *out, size_t cap)
{
    struct writer w = {.buf = out, .cap = cap};
    if (q->edns && q->qend)
        w.cap -= DNSD_OPT_LEN;
    memset(out, 0, DNS_HDR_LEN);
    w.len = DNS_HDR_LEN;
    if (q->qend) { /* at most 12 + 255 + 4 bytes: it always fits */
        /* The question as asked (its case too), then its name for pointers. */
        size_t qlen = q->qend - DNS_HDR_LEN;
        memcpy(out + DNS_HDR_LEN, qbuf + DNS_HDR_LEN, qlen);
        w.len += qlen;
        ps_put16(out + 4, 1);
        remember(&w, q->name, DNS_HDR_LEN);
    }
    if (rc == 0 && q->edns && q->edns_version > 0)
        rc = DNS_RCODE_BADVERS;
    else if (rc == 0 && q->qclass != DNS_CLASS_IN && q->qclass != DNS_TYPE_ANY)
        rc = DNS_RCODE_REFUSED;
    else if (rc == 0)
        rc = resolve(d, q, &w);
    if (rc == 0 && w.an)
        d->stats.answers++;
    else if (rc == 0)
        d->stats.nodata++;
    else if (rc == DNS_RCODE_NXDOMAIN)
        d->stats.nxdomain++;
    else
        d->stats.errors++;
    /* QR, the opcode and RD echoed, AA for what the table says, no RA. */
    uint16_t flags = (uint16_t)(0x8000 | (q->flags & 0x7900) | (rc & 0x0f));
    if (rc == 0 || rc == DNS_RCODE_NXDOMAIN)
        flags |= 0x0400;
    if (w.truncated) {
        flags |= 0x0200;
        d->stats.truncated++;
    }
    ps_put16(out, q->id);
    ps_put16(out + 2, flags);
    ps_put16(out + 6, (uint16_t)w.an);
    if (q->edns && q->qend) {
        /* Our OPT: the payload size we take, the extended RCODE bits. */
        uint8_t *o = out + w.len;
        o[0] = 0;
        ps_put16(o + 1, DNS_TYPE_OPT);
        ps_put16(o + 3, PS_DNSD_UDP_MAX);
        ps_put32(o + 5, (uint32_t)(rc >> 4) << 24);
        ps_put16(o + 9, 0);
        w.len += DNSD_OPT_LEN;
        ps_put16(out + 10, 1);
    }
    return w.len;
}

/* A message dropped: counted here and in the stack's counters. */
static void dropped(struct ps_dnsd *d)
{
    d->stats.dropped++;
    ps_stack_stats_rw(d->s)->dnsd_drop++;
}

/* Parse and answer one query; 0 if it deserves no answer. */
static size_t answer(struct ps_dnsd *d, const uint8_t *qbuf, size_t qlen, uint8_t *out, size_t cap, bool udp)
{
    struct dns_query_in q;
    int rc = dns_parse_query(qbuf, qlen, &q);
    if (rc < 0) {
        dropped(d);
        return 0;
    }
    if (udp) {
        size_t most = q.edns ? q.edns_size : DNS_MAX_UDP;
        if (most < cap)
            cap = most;
    }
    return build_response(d, qbuf, &q, rc, out, cap);
}

/* ---- UDP ------------------------------------------------------------------------------- */

static void on_udp(void *ctx, int fd, short revents)
{
    struct ps_dnsd *d = ctx;
    if (!(revents & (PS_POLLIN | PS_POLLERR)))
        return;
    for (;;) {
        struct ps_sockaddr_in from;
        ssize_t n = ps_recvfrom(d->s, fd, d->qbuf, sizeof(d->qbuf), PS_MSG_TRUNC, &from);
        if (n == -EAGAIN)
            return;
        if (n < 0 || (size_t)n > PS_DNSD_UDP_MAX) {
            dropped(d); /* an error about an earlier answer, or an oversized query */
            continue;
        }
        d->stats.udp_queries++;
        size_t len = answer(d, d->qbuf, (size_t)n, d->abuf, sizeof(d->abuf), true);
        if (len && ps_sendto(d->s, fd, d->abuf, len, 0, &from) < 0)
            dropped(d);
    }
}

/* ---- TCP ------------------------------------------------------------------------------- */

static void accept_pending(struct ps_dnsd *d);

static void conn_close(struct tcp_conn *c)
{
    int fd = c->fd;
    c->fd = -1; /* free first: closing may report events, and the number comes back */
    ps_socket_set_callback(c->d->s, fd, NULL, NULL);
    ps_close(c->d->s, fd);
    accept_pending(c->d);
}

/* Write what is queued: 0 when done, 1 to wait for room, <0 an error. */
static int conn_flush(struct tcp_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = ps_send(c->d->s, c->fd, c->out + c->out_off, c->out_len - c->out_off, 0);
        if (n == -EAGAIN || n == 0)
            return 1;
        if (n < 0)
            return (int)n;
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

/* One pass: write answers, answer whole queries, read more.  Returns
 * false when the connection was closed. */
static bool conn_step(struct tcp_conn *c)
{
    struct ps_dnsd *d = c->d;
    for (;;) {
        int rc = conn_flush(c);
        if (rc < 0)
            break;
        if (rc > 0)
            return true; /* on POLLOUT */
        if (c->in_len >= DNS_TCP_PREFIX) {
            size_t mlen = ps_get16(c->in);
            if (mlen > PS_DNSD_TCP_MAX_MSG) {
                d->stats.tcp_too_big++;
                ps_stack_stats_rw(d->s)->dnsd_tcp_closed++;
                break;
            }
            if (c->in_len >= DNS_TCP_PREFIX + mlen) {
                d->stats.tcp_queries++;
                size_t alen = answer(d, c->in + DNS_TCP_PREFIX, mlen, c->out + DNS_TCP_PREFIX,
                                     PS_DNSD_TCP_MAX_MSG, false);
                if (alen) {
                    ps_put16(c->out, (uint16_t)alen);
                    c->out_len = DNS_TCP_PREFIX + alen;
                }
                c->in_len -= DNS_TCP_PREFIX + mlen;
                memmove(c->in, c->in + DNS_TCP_PREFIX + mlen, c->in_len);
                c->idle_at = ps_stack_now(d->s) + PS_MS(PS_DNSD_TCP_IDLE_MS);
                continue;
            }
        }
        if (c->eof)
            break; /* everything asked is answered */
        ssize_t n = ps_recv(d->s, c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
        if (n == -EAGAIN)
            return true;
        if (n < 0)
            break;
        if (n == 0)
            c->eof = true;
        c->in_len += (size_t)n;
        c->idle_at = ps_stack_now(d->s) + PS_MS(PS_DNSD_TCP_IDLE_MS);
    }
    conn_close(c);
    return false;
}

static void on_conn(void *ctx, int fd, short revents)
{
    struct tcp_conn *c = ctx;
    (void)revents;
    if (c->fd != fd)
        return; /* a late report about a slot since closed */
    if (c->busy) {
        c->again = true; /* raised from inside our own send: the loop looks again */
        return;
    }
    do {
        c->busy = true;
        c->again = false;
        if (!conn_step(c))
            return;
        c->busy = false;
    } while (c->again);
}

static void accept_pending(struct ps_dnsd *d)
{
    for (unsigned i = 0; i < PS_DNSD_TCP_MAX_CONN && d->tcp_fd >= 0; i++) {
        struct tcp_conn *c = &d->conn[i];
        if (c->fd >= 0)
            continue;
        int fd = ps_accept(d->s, d->tcp_fd, NULL);
        if (fd < 0)
            return;
        c->fd = fd;
        c->eof = c->busy = c->again = false;
        c->in_len = c->out_off = c->out_len = 0;
        c->idle_at = ps_stack_now(d->s) + PS_MS(PS_DNSD_TCP_IDLE_MS);
        d->stats.tcp_connections++;
        if (ps_socket_set_callback(d->s, fd, on_conn, c) != 0) {
            conn_close(c);
            continue;
        }
        on_conn(c, fd, 0); /* the query may have come with the handshake */
    }
}

static void on_listen(void *ctx, int fd, short revents)
{
    (void)fd, (void)revents;
    accept_pending(ctx);
}

/* ---- the server -------------------------------------------------------------------------- */

struct ps_dnsd *ps_dnsd_start(struct ps_stack *s, ps_ip4_t addr, uint16_t port, int *err)
{
    struct ps_dnsd *d = calloc(1, sizeof(*d));
    if (!d) {
        *err = -ENOMEM;
        return NULL;
    }
    d->s = s;
    d->port = port ? port : PS_DNS_PORT;
    d->tcp_fd = -1;
    for (unsigned i = 0; i < PS_DNSD_TCP_MAX_CONN; i++) {
        d->conn[i].d = d;
        d->conn[i].fd = -1;
    }
    struct ps_sockaddr_in me = {.addr = addr, .port = d->port};
    int rc = d->udp_fd = ps_socket(s, PS_SOCK_DGRAM);
    if (rc >= 0)
        rc = ps_bind(s, d->udp_fd, &me);
    if (rc >= 0)
        rc = ps_socket_set_callback(s, d->udp_fd, on_udp, d);
    if (rc >= 0)
        rc = d->tcp_fd = ps_socket(s, PS_SOCK_STREAM);
    if (rc >= 0)
        rc = ps_bind(s, d->tcp_fd, &me);
    if (rc >= 0)
        rc = ps_listen(s, d->tcp_fd, DNSD_TCP_BACKLOG);
    if (rc >= 0)
        rc = ps_socket_set_callback(s, d->tcp_fd, on_listen, d);
    if (rc < 0) {
        *err = rc;
        ps_dnsd_stop(d);
        return NULL;
    }
    *err = 0;
    return d;
}

ps_time_t ps_dnsd_poll(struct ps_dnsd *d, ps_time_t now)
{
    ps_time_t next = PS_TIME_NEVER;
    for (unsigned i = 0; i < PS_DNSD_TCP_MAX_CONN; i++) {
        struct tcp_conn *c = &d->conn[i];
        if (c->fd >= 0 && now >= c->idle_at) {
            d->stats.tcp_closed_idle++;
            ps_stack_stats_rw(d->s)->dnsd_tcp_closed++;
            conn_close(c);
        }
    }
    for (unsigned i = 0; i < PS_DNSD_TCP_MAX_CONN; i++)
        if (d->conn[i].fd >= 0 && d->conn[i].idle_at < next)
            next = d->conn[i].idle_at;
    return next;
}

uint16_t ps_dnsd_port(const struct ps_dnsd *d)
{
    return d->port;
}

const struct ps_dnsd_stats *ps_dnsd_stats(const struct ps_dnsd *d)
{
    return &d->stats;
}

void ps_dnsd_stop(struct ps_dnsd *d)
{
    if (!d)
        return;
    if (d->udp_fd >= 0)
        ps_close(d->s, d->udp_fd);
    if (d->tcp_fd >= 0) {
        ps_socket_set_callback(d->s, d->tcp_fd, NULL, NULL);
        ps_close(d->s, d->tcp_fd);
        d->tcp_fd = -1; /* conn_close accepts no more */
    }
    for (unsigned i = 0; i < PS_DNSD_TCP_MAX_CONN; i++)
        if (d->conn[i].fd >= 0)
            conn_close(&d->conn[i]);
    free(d);
}
