/*
 * The DNS server on a simulated link: portstack's own resolver against it
 * (A records, CNAME chains, NXDOMAIN, a large answer truncated over UDP
 * and fetched again over TCP), hand-made queries for every kind of answer
 * (no data, a chain leaving the table, a CNAME loop, REFUSED, NOTIMP,
 * FORMERR, EDNS and BADVERS, responses never answered), TCP with
 * pipelined queries, the idle timeout and the connection limit, and the
 * table's own limits.
 */
#include <errno.h>
#include <string.h>

#include <portstack/dns.h>
#include <portstack/dns_server.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "apps/dns_msg.h"
#include "test.h"

#define NS PS_IP4(192, 0, 2, 53)
#define CLIENT PS_IP4(192, 0, 2, 10)
#define WEB PS_IP4(198, 51, 100, 10)
#define MANY 40 /* A records of many.example: more than 512 bytes of answer */

struct world {
    struct ps_sim *sim;
    struct ps_stack *srv, *cli;
    struct ps_dnsd *d;
    struct ps_dns *r;
    int err;
    unsigned naddrs, results;
    ps_ip4_t addrs[PS_DNS_MAX_ADDRS];
    uint32_t ttl;
};

/* The server's deadlines move when connections come, which a sim poller
 * does not see; look at least every 100 ms, as a host loop would. */
static ps_time_t dnsd_poll(void *ctx, ps_time_t now)
{
    ps_time_t next = ps_dnsd_poll(ctx, now);
    return next < now + PS_MS(100) ? next : now + PS_MS(100);
}

static ps_time_t dns_poll(void *ctx, ps_time_t now)
{
    ps_time_t next = ps_dns_poll(ctx, now);
    return next < now + PS_MS(100) ? next : now + PS_MS(100);
}

static void world_new(struct world *w)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(5, 0);
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    struct ps_sim_link *l = ps_sim_link_new(w->sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 1;
    w->srv = ps_stack_new(&cfg, 0);
    cfg.seed = 2;
    w->cli = ps_stack_new(&cfg, 0);
    REQUIRE(w->srv && w->cli);
    struct ps_iface *si = ps_sim_attach(l, w->srv, "eth0", NULL, 1500);
    struct ps_iface *ci = ps_sim_attach(l, w->cli, "eth0", NULL, 1500);
    REQUIRE(si && ci && ps_iface_add_addr(si, NS, 24) == 0 && ps_iface_add_addr(ci, CLIENT, 24) == 0);
    int err;
    w->d = ps_dnsd_start(w->srv, 0, 0, &err);
    REQUIRE(w->d && err == 0);
    CHECK_EQ(ps_dnsd_port(w->d), 53);
    REQUIRE(ps_dnsd_add_a(w->d, "server.example", WEB, 60) == 0);
    REQUIRE(ps_dnsd_add_spec(w->d, "www.example=web.example") == 0);
    REQUIRE(ps_dnsd_add_cname(w->d, "Web.Example.", "server.example", 0) == 0);
    REQUIRE(ps_dnsd_add_spec(w->d, "alias.example=elsewhere.test") == 0);
    REQUIRE(ps_dnsd_add_cname(w->d, "loop1.example", "loop2.example", 0) == 0);
    REQUIRE(ps_dnsd_add_cname(w->d, "loop2.example", "loop1.example", 0) == 0);
    for (unsigned i = 0; i < MANY; i++)
        REQUIRE(ps_dnsd_add_a(w->d, "many.example", PS_IP4(203, 0, 113, 1 + i), 0) == 0);
    REQUIRE(ps_sim_add_poller(w->sim, dnsd_poll, w->d) == 0);
    ps_ip4_t ns = NS;
    w->r = ps_dns_new(w->cli, &ns, 1);
    REQUIRE(w->r);
    REQUIRE(ps_sim_add_poller(w->sim, dns_poll, w->r) == 0);
}

static void world_free(struct world *w)
{
    ps_sim_remove_poller(w->sim, dns_poll, w->r);
    ps_dns_free(w->r);
    ps_sim_remove_poller(w->sim, dnsd_poll, w->d);
    ps_dnsd_stop(w->d);
    ps_sim_run_for(w->sim, PS_SEC(700));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(w->srv, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_pbuf_pool_usage(w->cli, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(w->sim);
    ps_stack_free(w->srv);
    ps_stack_free(w->cli);
}

static void on_resolved(void *ctx, const char *name, int err, const ps_ip4_t *addrs, unsigned n, uint32_t ttl)
{
    struct world *w = ctx;
    (void)name;
    w->err = err;
    w->naddrs = n;
    w->ttl = ttl;
    if (n)
        memcpy(w->addrs, addrs, n * sizeof(*addrs));
    w->results++;
}

static int resolve(struct world *w, const char *name)
{
    w->results = 0;
    w->err = 1;
    ps_dns_cache_flush(w->r);
    REQUIRE(ps_dns_resolve(w->r, name, on_resolved, w) == 0);
    ps_sim_run_for(w->sim, PS_SEC(1));
    CHECK_EQ(w->results, 1);
    return w->err;
}

TEST(resolver_gets_records_chains_and_nxdomain)
{
    struct world w;
    world_new(&w);
    CHECK_EQ(resolve(&w, "server.example"), 0);
    CHECK_EQ(w.naddrs, 1);
    CHECK_EQ(w.addrs[0], WEB);
    CHECK_EQ(w.ttl, 60);
    /* A chain of two CNAMEs, asked in another case, with a final dot. */
    CHECK_EQ(resolve(&w, "WWW.example."), 0);
    CHECK_EQ(w.naddrs, 1);
    CHECK_EQ(w.addrs[0], WEB);
    CHECK_EQ(resolve(&w, "nosuch.example"), -ENOENT);
    CHECK_EQ(resolve(&w, "alias.example"), -ENOENT); /* a CNAME out of the table: no address */
    const struct ps_dnsd_stats *st = ps_dnsd_stats(w.d);
    CHECK_EQ(st->udp_queries, 4);
    CHECK_EQ(st->answers, 3);
    CHECK_EQ(st->nxdomain, 1);
    world_free(&w);
}

TEST(large_answer_truncated_over_udp_whole_over_tcp)
{
    struct world w;
    world_new(&w);
    CHECK_EQ(resolve(&w, "many.example"), 0);
    CHECK_EQ(w.naddrs, MANY);
    for (unsigned i = 0; i < w.naddrs; i++)
        CHECK_EQ(w.addrs[i], PS_IP4(203, 0, 113, 1 + i));
    const struct ps_dnsd_stats *st = ps_dnsd_stats(w.d);
    CHECK_EQ(st->truncated, 1);
    CHECK_EQ(st->tcp_connections, 1);
    CHECK_EQ(st->tcp_queries, 1);
    world_free(&w);
}

/* ---- hand-made queries over UDP ----------------------------------------------------- */

struct asker {
    struct world *w;
    int fd;
    uint8_t reply[2048];
    ssize_t len;
};

static void asker_new(struct asker *a, struct world *w)
{
    memset(a, 0, sizeof(*a));
    a->w = w;
    a->fd = ps_socket(w->cli, PS_SOCK_DGRAM);
    struct ps_sockaddr_in srv = {NS, 53};
    REQUIRE(a->fd >= 0 && ps_connect(w->cli, a->fd, &srv) == 0);
}

/* Send q and return the reply's length (-EAGAIN: none came). */
static ssize_t ask(struct asker *a, const uint8_t *q, size_t qlen)
{
    ps_recv(a->w->cli, a->fd, a->reply, sizeof(a->reply), 0); /* nothing stale */
    CHECK(ps_send(a->w->cli, a->fd, q, qlen, 0) == (ssize_t)qlen);
    ps_sim_run_for(a->w->sim, PS_MS(50));
    a->len = ps_recv(a->w->cli, a->fd, a->reply, sizeof(a->reply), 0);
    return a->len;
}

static unsigned rcode(const struct asker *a)
{
    return ps_get16(a->reply + 2) & 0x0f;
}

static unsigned count(const struct asker *a, unsigned section)
{
    return ps_get16(a->reply + 4 + 2 * section); /* 0 QD, 1 AN, 2 NS, 3 AR */
}

/* A query for name with its type and class changed. */
static size_t query(uint8_t *q, uint16_t id, const char *name, uint16_t type, uint16_t cls)
{
    size_t n = dns_build_query(q, id, name);
    ps_put16(q + n - 4, type);
    ps_put16(q + n - 2, cls);
    return n;
}

/* Append an OPT record (payload size, version) to query q of length n. */
static size_t add_opt(uint8_t *q, size_t n, uint16_t size, uint8_t version)
{
    uint8_t *o = q + n;
    o[0] = 0;
    ps_put16(o + 1, DNS_TYPE_OPT);
    ps_put16(o + 3, size);
    ps_put32(o + 5, (uint32_t)version << 16);
    ps_put16(o + 9, 0);
    ps_put16(q + 10, 1);
    return n + 11;
}

TEST(every_kind_of_answer)
{
    struct world w;
    world_new(&w);
    struct asker a;
    asker_new(&a, &w);
    uint8_t q[600];
    struct dns_answer ans;
    /* An A answer: authoritative, RD echoed, no recursion offered. */
    size_t n = query(q, 1, "server.example", DNS_TYPE_A, DNS_CLASS_IN);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(ps_get16(a.reply + 2), 0x8500); /* QR AA RD, NOERROR */
    CHECK_EQ(count(&a, 1), 1);
    REQUIRE(dns_parse_answer(a.reply, (size_t)a.len, q, n, &ans) == 0);
    CHECK(ans.naddrs == 1 && ans.addrs[0] == WEB && ans.ttl == 60);
    /* The chain, compressed: the resolver's own parser follows it. */
    n = query(q, 2, "www.example", DNS_TYPE_A, DNS_CLASS_IN);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(count(&a, 1), 3);
    REQUIRE(dns_parse_answer(a.reply, (size_t)a.len, q, n, &ans) == 0);
    CHECK(ans.naddrs == 1 && ans.addrs[0] == WEB && ans.ttl == 60);
    CHECK(a.len < 12 + 17 + 3 * 30); /* owner names are pointers */
    /* A name without records of the type asked: NOERROR, nothing. */
    n = query(q, 3, "server.example", 28 /* AAAA */, DNS_CLASS_IN);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(rcode(&a), 0);
    CHECK_EQ(count(&a, 1), 0);
    CHECK(ps_get16(a.reply + 2) & 0x0400);
    /* The CNAME itself when asked for. */
    n = query(q, 4, "www.example", DNS_TYPE_CNAME, DNS_CLASS_IN);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(count(&a, 1), 1);
    /* A CNAME loop ends at the chain limit. */
    n = query(q, 5, "loop1.example", DNS_TYPE_A, DNS_CLASS_IN);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(rcode(&a), 0);
    CHECK_EQ(count(&a, 1), PS_DNSD_MAX_CHAIN + 1);
    /* NXDOMAIN, authoritative. */
    n = query(q, 6, "nosuch.example", DNS_TYPE_A, DNS_CLASS_IN);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(ps_get16(a.reply + 2), 0x8503);
    /* Class CHAOS: REFUSED. */
    n = query(q, 7, "server.example", DNS_TYPE_A, 3);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(rcode(&a), DNS_RCODE_REFUSED);
    /* Opcode STATUS: NOTIMP, the opcode echoed. */
    n = query(q, 8, "server.example", DNS_TYPE_A, DNS_CLASS_IN);
    q[2] |= 2 << 3;
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(rcode(&a), DNS_RCODE_NOTIMP);
    CHECK_EQ((a.reply[2] >> 3) & 0xf, 2);
    /* No question, and a label holding a dot: FORMERR. */
    n = query(q, 9, "server.example", DNS_TYPE_A, DNS_CLASS_IN);
    ps_put16(q + 4, 0);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(rcode(&a), DNS_RCODE_FORMERR);
    CHECK_EQ(count(&a, 0), 0);
    n = query(q, 10, "server.example", DNS_TYPE_A, DNS_CLASS_IN);
    q[12 + 1 + 3] = '.'; /* "ser.er" as one label */
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(rcode(&a), DNS_RCODE_FORMERR);
    /* A response is never answered; neither is a runt. */
    n = query(q, 11, "server.example", DNS_TYPE_A, DNS_CLASS_IN);
    q[2] |= 0x80;
    CHECK_EQ(ask(&a, q, n), -EAGAIN);
    CHECK_EQ(ask(&a, q, 11), -EAGAIN);
    CHECK_EQ(ps_dnsd_stats(w.d)->dropped, 2);
    CHECK_EQ(ps_stack_stats(w.srv)->dnsd_drop, 2);
    ps_close(w.cli, a.fd);
    world_free(&w);
}

TEST(udp_size_limits_and_edns)
{
    struct world w;
    world_new(&w);
    struct asker a;
    asker_new(&a, &w);
    uint8_t q[600];
    /* Plain DNS: 512 bytes at most, cut at a whole record, TC set. */
    size_t n = query(q, 1, "many.example", DNS_TYPE_A, DNS_CLASS_IN);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK(a.len <= 512);
    CHECK(ps_get16(a.reply + 2) & 0x0200);
    unsigned fit = (512 - (unsigned)n) / 16; /* pointer + fixed part + address */
    CHECK_EQ(count(&a, 1), fit);
    CHECK_EQ(a.len, (ssize_t)(n + 16 * fit));
    /* EDNS with 4096 bytes offered: the whole answer (within our 1232), and
     * our OPT record. */
    n = add_opt(q, query(q, 2, "many.example", DNS_TYPE_A, DNS_CLASS_IN), 4096, 0);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK(!(ps_get16(a.reply + 2) & 0x0200));
    CHECK_EQ(count(&a, 1), MANY);
    CHECK_EQ(count(&a, 3), 1);
    CHECK_EQ(ps_get16(a.reply + a.len - 11 + 1), DNS_TYPE_OPT);
    CHECK_EQ(ps_get16(a.reply + a.len - 11 + 3), PS_DNSD_UDP_MAX);
    /* EDNS version 1: BADVERS (extended RCODE 1 in the OPT record). */
    n = add_opt(q, query(q, 3, "server.example", DNS_TYPE_A, DNS_CLASS_IN), 1232, 1);
    REQUIRE(ask(&a, q, n) > 0);
    CHECK_EQ(rcode(&a), 0);
    CHECK_EQ(count(&a, 1), 0);
    CHECK_EQ(a.reply[a.len - 11 + 5], 1);
    ps_close(w.cli, a.fd);
    world_free(&w);
}

/* ---- TCP ---------------------------------------------------------------------------- */

static int tcp_connect(struct world *w)
{
    int fd = ps_socket(w->cli, PS_SOCK_STREAM);
    struct ps_sockaddr_in srv = {NS, 53};
    REQUIRE(fd >= 0);
    int rc = ps_connect(w->cli, fd, &srv);
    CHECK(rc == 0 || rc == -EINPROGRESS);
    ps_sim_run_for(w->sim, PS_MS(20));
    return fd;
}

/* A query with its two-byte length in front, at o; returns its length. */
static size_t framed(uint8_t *o, uint16_t id, const char *name)
{
    size_t n = dns_build_query(o + 2, id, name);
    ps_put16(o, (uint16_t)n);
    return n + 2;
}

TEST(tcp_pipelined_idle_and_limit)
{
    struct world w;
    world_new(&w);
    /* Two queries in one write: both answered, in order, whole. */
    int fd = tcp_connect(&w);
    uint8_t q[600];
    size_t n = framed(q, 0x1111, "many.example");
    n += framed(q + n, 0x2222, "server.example");
    CHECK_EQ(ps_send(w.cli, fd, q, n, 0), (ssize_t)n);
    ps_sim_run_for(w.sim, PS_MS(100));
    uint8_t r[4096];
    ssize_t got = ps_recv(w.cli, fd, r, sizeof(r), 0);
    REQUIRE(got > 2);
    size_t l1 = ps_get16(r);
    REQUIRE((size_t)got > 2 + l1 + 2);
    CHECK_EQ(ps_get16(r + 2), 0x1111);
    CHECK_EQ(ps_get16(r + 2 + 6), MANY);
    CHECK(!(ps_get16(r + 2 + 2) & 0x0200));
    CHECK_EQ(ps_get16(r + 2 + l1 + 2), 0x2222);
    CHECK_EQ((size_t)got, 2 + l1 + 2 + ps_get16(r + 2 + l1));
    /* Left idle, the server closes it. */
    ps_sim_run_for(w.sim, PS_MS(PS_DNSD_TCP_IDLE_MS + 200));
    CHECK_EQ(ps_recv(w.cli, fd, r, sizeof(r), 0), 0);
    CHECK_EQ(ps_dnsd_stats(w.d)->tcp_closed_idle, 1);
    ps_close(w.cli, fd);
    /* PS_DNSD_TCP_MAX_CONN at once: one more waits until one goes. */
    int fds[PS_DNSD_TCP_MAX_CONN + 1];
    for (unsigned i = 0; i <= PS_DNSD_TCP_MAX_CONN; i++)
        fds[i] = tcp_connect(&w);
    int last = fds[PS_DNSD_TCP_MAX_CONN];
    n = framed(q, 0x3333, "server.example");
    CHECK_EQ(ps_send(w.cli, last, q, n, 0), (ssize_t)n);
    ps_sim_run_for(w.sim, PS_MS(100));
    CHECK_EQ(ps_recv(w.cli, last, r, sizeof(r), 0), -EAGAIN);
    ps_close(w.cli, fds[0]);
    ps_sim_run_for(w.sim, PS_MS(100));
    got = ps_recv(w.cli, last, r, sizeof(r), 0);
    CHECK(got > 4 && ps_get16(r + 2) == 0x3333);
    /* A query longer than we read closes the connection. */
    ps_put16(q, PS_DNSD_TCP_MAX_MSG + 1);
    CHECK_EQ(ps_send(w.cli, fds[1], q, 2, 0), 2);
    ps_sim_run_for(w.sim, PS_MS(100));
    CHECK_EQ(ps_recv(w.cli, fds[1], r, sizeof(r), 0), 0);
    CHECK_EQ(ps_dnsd_stats(w.d)->tcp_too_big, 1);
    CHECK_EQ(ps_stack_stats(w.srv)->dnsd_tcp_closed, 2); /* the idle one and this */
    for (unsigned i = 1; i <= PS_DNSD_TCP_MAX_CONN; i++)
        ps_close(w.cli, fds[i]);
    world_free(&w);
}

TEST(table_limits)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    struct ps_stack *s = ps_stack_new(&cfg, 0);
    REQUIRE(s);
    int err;
    struct ps_dnsd *d = ps_dnsd_start(s, 0, 5353, &err);
    REQUIRE(d);
    CHECK_EQ(ps_dnsd_add_a(d, "a.example", 1, 0), 0);
    CHECK_EQ(ps_dnsd_add_a(d, "a.example", 2, 0), 0);
    CHECK_EQ(ps_dnsd_add_cname(d, "a.example", "b.example", 0), -EINVAL); /* beside A records */
    CHECK_EQ(ps_dnsd_add_cname(d, "c.example", "b.example", 0), 0);
    CHECK_EQ(ps_dnsd_add_a(d, "C.example", 3, 0), -EINVAL); /* beside a CNAME */
    CHECK_EQ(ps_dnsd_add_a(d, "bad..example", 1, 0), -EINVAL);
    CHECK_EQ(ps_dnsd_add_a(d, "", 1, 0), -EINVAL);
    CHECK_EQ(ps_dnsd_add_spec(d, "noequals"), -EINVAL);
    CHECK_EQ(ps_dnsd_add_spec(d, "=1.2.3.4"), -EINVAL);
    while (ps_dnsd_records(d) < PS_DNSD_MAX_RECORDS)
        REQUIRE(ps_dnsd_add_spec(d, "x.example=192.0.2.9") == 0);
    CHECK_EQ(ps_dnsd_add_spec(d, "x.example=192.0.2.9"), -ENOSPC);
    CHECK(!ps_dnsd_start(s, 0, 5353, &err) && err == -EADDRINUSE);
    ps_dnsd_stop(d);
    ps_stack_free(s);
}

int main(void)
{
    RUN(resolver_gets_records_chains_and_nxdomain);
    RUN(large_answer_truncated_over_udp_whole_over_tcp);
    RUN(every_kind_of_answer);
    RUN(udp_size_limits_and_edns);
    RUN(tcp_pipelined_idle_and_limit);
    RUN(table_limits);
    TEST_END();
}
