/*
 * The DNS stub resolver against a scripted server on another simulated
 * host: A records, CNAME chains, NXDOMAIN, SERVFAIL failover to a second
 * server, a dead server (timeouts, then the next), a spoofed answer with a
 * wrong ID ignored, the TTL cache, fresh ports and IDs per query; and the
 * parser against malformed answers.
 *
 * TCP fallback: the server's answer for big.example (BIG_N A records) does
 * not fit in 512 bytes, so over UDP it sends it truncated (TC) and over TCP
 * (a listener on port 53 of the same host) in full, behind the two-byte
 * length.  The server can be told to cut the UDP answer mid-record, to
 * send a wrong-ID message first over TCP, to stay silent on TCP, to close
 * the connection mid-answer, to claim an answer longer than the
 * resolver's bound, or to have no TCP listener at all.
 */
#include <errno.h>
#include <string.h>

#include <portstack/dns.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "apps/dns_msg.h"
#include "test.h"

#define NS1 PS_IP4(192, 0, 2, 53)
#define NS2 PS_IP4(192, 0, 2, 54)
#define CLIENT PS_IP4(192, 0, 2, 10)

#define BIG_N 40 /* A records of big.example: 12 + 16 + 40 * 16 bytes > 512 */
#define BIG_ADDR(i) PS_IP4(203, 0, 113, 1 + (i))
#define MAX_TCP_CONNS 8

enum tcp_mode { TCP_SERVE, TCP_WRONG_ID_FIRST, TCP_SILENT, TCP_CLOSE_MIDWAY, TCP_TOO_BIG };

struct tcp_conn {
    struct server *sv;
    int fd;
    size_t len;
    uint8_t buf[2 + 600];
};

struct server {
    struct ps_stack *s;
    int fd, lfd;
    unsigned queries;
    uint16_t ports[64], ids[64];
    bool servfail, spoof_first;
    bool cut_mid_record; /* a truncated UDP answer keeps ANCOUNT and is cut at 512 bytes */
    enum tcp_mode tcp_mode;
    unsigned tcp_conns, tcp_queries;
    uint16_t tcp_ports[8], tcp_ids[8];
    struct tcp_conn conns[MAX_TCP_CONNS];
    uint8_t buf[600];
};

/* Append a name (uncompressed) at o. */
static uint8_t *put_name(uint8_t *o, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        *o++ = (uint8_t)l;
        memcpy(o, name, l);
        o += l;
        name += l + (dot ? 1 : 0);
    }
    *o++ = 0;
    return o;
}

static uint8_t *put_rr(uint8_t *o, uint16_t type, uint32_t ttl, const void *rdata, uint16_t rdlen, bool ptr_to_q)
{
    if (ptr_to_q) { /* owner = the question name, by compression pointer */
        *o++ = 0xc0;
        *o++ = 12;
    }
    ps_put16(o, type), ps_put16(o + 2, 1), ps_put32(o + 4, ttl), ps_put16(o + 8, rdlen);
    memcpy(o + 10, rdata, rdlen);
    return o + 10 + rdlen;
}

/* Answer from the zone this test defines. */
static size_t answer(struct server *sv, const uint8_t *q, size_t qlen, uint8_t *out)
{
    char name[300] = {0};
    size_t i = 12, n = 0;
    while (i < qlen && q[i]) {
        if (n)
            name[n++] = '.';
        memcpy(name + n, q + i + 1, q[i]);
        n += q[i];
        i += q[i] + 1u;
    }
    size_t qend = i + 5;
    memcpy(out, q, qend);
    uint16_t flags = 0x8180; /* response, RD, RA */
    unsigned an = 0;
    uint8_t *o = out + qend;
    uint8_t a[4];
    if (sv->servfail) {
        flags |= 2;
    } else if (strcmp(name, "server.example") == 0) {
        ps_put32(a, PS_IP4(198, 51, 100, 80));
        o = put_rr(o, 1, 300, a, 4, true), an++;
        ps_put32(a, PS_IP4(198, 51, 100, 81));
        o = put_rr(o, 1, 60, a, 4, true), an++;
    } else if (strcmp(name, "www.example") == 0) {
        /* www -> web.example -> server.example, out of order. */
        uint8_t tgt[64], *e;
        o = put_name(o, "web.example");
        e = put_name(tgt, "server.example");
        o = put_rr(o, 5, 100, tgt, (uint16_t)(e - tgt), false), an++;
        e = put_name(tgt, "web.example");
        o = put_rr(o, 5, 200, tgt, (uint16_t)(e - tgt), true), an++;
        o = put_name(o, "server.example");
        ps_put32(a, PS_IP4(198, 51, 100, 80));
        o = put_rr(o, 1, 300, a, 4, false), an++;
    } else if (strcmp(name, "big.example") == 0) {
        for (unsigned k = 0; k < BIG_N; k++) {
            ps_put32(a, BIG_ADDR(k));
            o = put_rr(o, 1, 120 + k, a, 4, true), an++;
        }
    } else if (strcmp(name, "loop.example") == 0) {
        uint8_t tgt[64], *e = put_name(tgt, "loop.example");
        o = put_rr(o, 5, 100, tgt, (uint16_t)(e - tgt), true), an++;
    } else {
        flags |= 3; /* NXDOMAIN */
    }
    ps_put16(out + 2, flags);
    ps_put16(out + 6, (uint16_t)an);
    return (size_t)(o - out);
}

static void on_server(void *ctx, int fd, short ev)
{
    struct server *sv = ctx;
    (void)ev;
    struct ps_sockaddr_in from;
    ssize_t n;
    while ((n = ps_recvfrom(sv->s, fd, sv->buf, sizeof(sv->buf), 0, &from)) > 0) {
        if (sv->queries < 64) {
            sv->ports[sv->queries] = from.port;
            sv->ids[sv->queries] = ps_get16(sv->buf);
        }
        sv->queries++;
        uint8_t out[1024];
        size_t len = answer(sv, sv->buf, (size_t)n, out);
        if (len > DNS_MAX_UDP) { /* too long for UDP: truncated, TC set */
            out[2] |= 0x02;
            if (sv->cut_mid_record) {
                len = DNS_MAX_UDP;
            } else { /* whole records only, ANCOUNT saying how many */
                unsigned fit = (unsigned)((DNS_MAX_UDP - (n + 0u)) / 16);
                ps_put16(out + 6, (uint16_t)fit);
                len = (size_t)n + fit * 16u;
            }
        }
        if (sv->spoof_first) { /* a forged answer with the wrong ID first */
            sv->spoof_first = false;
            uint8_t forged[600];
            memcpy(forged, out, len);
            ps_put16(forged, (uint16_t)(ps_get16(out) + 1));
            ps_put32(forged + len - 4, PS_IP4(203, 0, 113, 66));
            ps_sendto(sv->s, fd, forged, len, 0, &from);
        }
        ps_sendto(sv->s, fd, out, len, 0, &from);
    }
}

/* ---- the server's TCP side: length-prefixed queries and answers ---- */

static void tcp_send_all(struct server *sv, int fd, const uint8_t *p, size_t len)
{
    ssize_t n = ps_send(sv->s, fd, p, len, 0);
    REQUIRE(n == (ssize_t)len); /* small: the send buffer takes it whole */
}

static void on_tcp_conn(void *ctx, int fd, short ev)
{
    struct tcp_conn *c = ctx;
    struct server *sv = c->sv;
    (void)ev;
    for (;;) {
        ssize_t n = ps_recv(sv->s, fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n == -EAGAIN)
            return;
        if (n <= 0) {
            ps_socket_set_callback(sv->s, fd, NULL, NULL);
            ps_close(sv->s, fd);
            c->fd = -1;
            return;
        }
        c->len += (size_t)n;
        if (c->len < 2 || c->len < 2u + ps_get16(c->buf))
            continue;
        size_t qlen = ps_get16(c->buf);
        if (sv->tcp_queries < 8)
            sv->tcp_ids[sv->tcp_queries] = ps_get16(c->buf + 2);
        sv->tcp_queries++;
        uint8_t out[2 + 1024];
        size_t len = answer(sv, c->buf + 2, qlen, out + 2);
        c->len = 0;
        ps_put16(out, (uint16_t)len);
        switch (sv->tcp_mode) {
        case TCP_SILENT:
            break;
        case TCP_TOO_BIG: /* claims 60000 bytes */
            ps_put16(out, 60000);
            tcp_send_all(sv, fd, out, 2 + len);
            break;
        case TCP_CLOSE_MIDWAY: /* half the answer, then the end */
            tcp_send_all(sv, fd, out, 2 + len / 2);
            ps_socket_set_callback(sv->s, fd, NULL, NULL);
            ps_close(sv->s, fd);
            c->fd = -1;
            return;
        case TCP_WRONG_ID_FIRST:
        case TCP_SERVE:
            if (sv->tcp_mode == TCP_WRONG_ID_FIRST) { /* a forged message first */
                uint8_t forged[2 + 1024];
                memcpy(forged, out, 2 + len);
                ps_put16(forged + 2, (uint16_t)(ps_get16(out + 2) ^ 0x5555));
                ps_put32(forged + 2 + len - 4, PS_IP4(192, 0, 2, 66));
                tcp_send_all(sv, fd, forged, 2 + len);
            }
            /* The length, then the message in two pieces. */
            tcp_send_all(sv, fd, out, 2);
            tcp_send_all(sv, fd, out + 2, 100);
            tcp_send_all(sv, fd, out + 102, len - 100);
            break;
        }
    }
}

static void on_tcp_listen(void *ctx, int fd, short ev)
{
    struct server *sv = ctx;
    (void)ev;
    struct ps_sockaddr_in peer;
    int cfd;
    while ((cfd = ps_accept(sv->s, fd, &peer)) >= 0) {
        if (sv->tcp_conns < 8)
            sv->tcp_ports[sv->tcp_conns] = peer.port;
        sv->tcp_conns++;
        struct tcp_conn *c = NULL;
        for (unsigned i = 0; i < MAX_TCP_CONNS && !c; i++)
            if (sv->conns[i].fd < 0)
                c = &sv->conns[i];
        REQUIRE(c);
        c->sv = sv;
        c->fd = cfd;
        c->len = 0;
        ps_socket_set_callback(sv->s, cfd, on_tcp_conn, c);
        on_tcp_conn(c, cfd, PS_POLLIN);
    }
}

struct result {
    int calls, err;
    ps_ip4_t addrs[PS_DNS_MAX_ADDRS];
    unsigned n;
    uint32_t ttl;
};

static void on_result(void *ctx, const char *name, int err, const ps_ip4_t *addrs, unsigned n, uint32_t ttl)
{
    struct result *r = ctx;
    (void)name;
    r->calls++;
    r->err = err;
    r->n = n;
    r->ttl = ttl;
    if (n)
        memcpy(r->addrs, addrs, n * sizeof(*addrs));
}

static ps_time_t dns_poll(void *ctx, ps_time_t now)
{
    return ps_dns_poll(ctx, now);
}

struct world {
    struct ps_sim *sim;
    struct ps_stack *c;
    struct server sv[2];
    struct ps_dns *r;
};

static void world_new(struct world *w, bool second_server_up)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(3, 0);
    struct ps_sim_impair imp = {.delay = PS_MS(2)};
    struct ps_sim_link *l = ps_sim_link_new(w->sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 10;
    w->c = ps_stack_new(&cfg, 0);
    struct ps_iface *ci = ps_sim_attach(l, w->c, "eth0", NULL, 1500);
    REQUIRE(ci && ps_iface_add_addr(ci, CLIENT, 24) == 0);
    ps_ip4_t addrs[2] = {NS1, NS2};
    for (int i = 0; i < 2; i++) {
        cfg.seed = 20 + (uint64_t)i;
        w->sv[i].s = ps_stack_new(&cfg, 0);
        struct ps_iface *si = ps_sim_attach(l, w->sv[i].s, "eth0", NULL, 1500);
        REQUIRE(si && ps_iface_add_addr(si, addrs[i], 24) == 0);
        if (i == 1 && !second_server_up)
            continue;
        struct server *sv = &w->sv[i];
        sv->fd = ps_socket(sv->s, PS_SOCK_DGRAM);
        struct ps_sockaddr_in a = {0, 53};
        REQUIRE(ps_bind(sv->s, sv->fd, &a) == 0);
        REQUIRE(ps_socket_set_callback(sv->s, sv->fd, on_server, sv) == 0);
        for (unsigned k = 0; k < MAX_TCP_CONNS; k++)
            sv->conns[k].fd = -1;
        sv->lfd = ps_socket(sv->s, PS_SOCK_STREAM);
        REQUIRE(ps_bind(sv->s, sv->lfd, &a) == 0 && ps_listen(sv->s, sv->lfd, 4) == 0);
        REQUIRE(ps_socket_set_callback(sv->s, sv->lfd, on_tcp_listen, sv) == 0);
    }
    w->r = ps_dns_new(w->c, addrs, 2);
    REQUIRE(w->r);
    REQUIRE(ps_sim_add_poller(w->sim, dns_poll, w->r) == 0);
}

static void world_free(struct world *w)
{
    ps_sim_remove_poller(w->sim, dns_poll, w->r);
    ps_dns_free(w->r);
    ps_sim_run_for(w->sim, PS_SEC(700));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(w->c, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(w->sim);
    ps_stack_free(w->c);
    ps_stack_free(w->sv[0].s);
    ps_stack_free(w->sv[1].s);
}

static struct result resolve(struct world *w, const char *name, ps_time_t wait)
{
    struct result r = {0};
    CHECK_EQ(ps_dns_resolve(w->r, name, on_result, &r), 0);
    ps_sim_run_for(w->sim, wait);
    return r;
}

TEST(a_records_cname_chain_nxdomain_cache)
{
    struct world w;
    world_new(&w, true);
    struct result r = resolve(&w, "Server.Example.", PS_MS(100));
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.err, 0);
    CHECK_EQ(r.n, 2);
    CHECK_EQ(r.addrs[0], PS_IP4(198, 51, 100, 80));
    CHECK_EQ(r.ttl, 60); /* the smallest */
    r = resolve(&w, "www.example", PS_MS(100));
    CHECK_EQ(r.err, 0);
    CHECK_EQ(r.n, 1);
    CHECK_EQ(r.addrs[0], PS_IP4(198, 51, 100, 80));
    CHECK_EQ(r.ttl, 100);
    r = resolve(&w, "nonesuch.example", PS_MS(100));
    CHECK_EQ(r.err, -ENOENT);
    r = resolve(&w, "loop.example", PS_MS(100));
    CHECK_EQ(r.err, -ENOENT);
    unsigned asked = w.sv[0].queries;
    /* From the cache: answered at once, nobody asked. */
    struct result c = {0};
    CHECK_EQ(ps_dns_resolve(w.r, "server.example", on_result, &c), 0);
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(c.n, 2);
    CHECK_EQ(w.sv[0].queries, asked);
    CHECK_EQ(ps_dns_cache_count(w.r), 2);
    /* After the TTL (60 s) the entry is gone and the server is asked. */
    ps_sim_run_for(w.sim, PS_SEC(61));
    r = resolve(&w, "server.example", PS_MS(100));
    CHECK_EQ(r.err, 0);
    CHECK_EQ(w.sv[0].queries, asked + 1);
    /* Every query came from its own port, with its own ID. */
    unsigned q = w.sv[0].queries < 64 ? w.sv[0].queries : 64, same_port = 0, same_id = 0;
    for (unsigned i = 1; i < q; i++) {
        same_port += w.sv[0].ports[i] == w.sv[0].ports[i - 1];
        same_id += w.sv[0].ids[i] == w.sv[0].ids[i - 1];
    }
    CHECK_EQ(same_port, 0);
    CHECK_EQ(same_id, 0);
    CHECK_EQ(ps_dns_resolve(w.r, "bad..name", on_result, &r), -EINVAL);
    CHECK_EQ(ps_dns_resolve(w.r, "", on_result, &r), -EINVAL);
    world_free(&w);
}

/* All BIG_N addresses of big.example, in order. */
static void check_big(const struct result *r)
{
    CHECK_EQ(r->err, 0);
    CHECK_EQ(r->n, BIG_N);
    for (unsigned k = 0; k < r->n && k < BIG_N; k++)
        CHECK_EQ(r->addrs[k], BIG_ADDR(k));
    CHECK(r->ttl <= 120 && r->ttl >= 119); /* the smallest of 120..159 (less what passed, from the cache) */
}

/* A forged message with another ID comes first, over UDP (server.example)
 * and over TCP (big.example): each is ignored, the real answer taken. */
TEST(spoofed_answer_ignored)
{
    struct world w;
    world_new(&w, true);
    w.sv[0].spoof_first = true;
    w.sv[0].tcp_mode = TCP_WRONG_ID_FIRST;
    struct result r = resolve(&w, "server.example", PS_MS(100));
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.err, 0);
    for (unsigned i = 0; i < r.n; i++)
        CHECK(r.addrs[i] != PS_IP4(203, 0, 113, 66));
    r = resolve(&w, "big.example", PS_MS(200));
    CHECK_EQ(r.calls, 1);
    check_big(&r);
    for (unsigned k = 0; k < r.n; k++)
        CHECK(r.addrs[k] != PS_IP4(192, 0, 2, 66));
    CHECK_EQ(ps_dns_stats(w.r)->ignored, 2);
    world_free(&w);
}

TEST(servfail_fails_over)
{
    struct world w;
    world_new(&w, true);
    w.sv[0].servfail = true;
    struct result r = resolve(&w, "server.example", PS_MS(200));
    CHECK_EQ(r.err, 0);
    CHECK_EQ(w.sv[0].queries, 1);
    CHECK_EQ(w.sv[1].queries, 1);
    world_free(&w);
}

TEST(dead_servers_time_out)
{
    struct world w;
    world_new(&w, false);
    /* Server 1 answers nothing (its host has no socket on 53: ICMP port
     * unreachable moves on at once); server 0 is told to be silent by
     * closing its socket too. */
    ps_close(w.sv[0].s, w.sv[0].fd);
    struct result r = resolve(&w, "server.example", PS_SEC(30));
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.err, -ECONNREFUSED);
    world_free(&w);
}

TEST(truncated_answer_asked_again_over_tcp)
{
    for (int cut = 0; cut < 2; cut++) {
        struct world w;
        world_new(&w, true);
        w.sv[0].cut_mid_record = cut;
        struct result r = resolve(&w, "big.example", PS_MS(200));
        CHECK_EQ(r.calls, 1);
        check_big(&r);
        CHECK_EQ(w.sv[0].queries, 1);     /* one UDP query, answered truncated */
        CHECK_EQ(w.sv[0].tcp_conns, 1);   /* then one TCP connection */
        CHECK_EQ(w.sv[0].tcp_queries, 1);
        CHECK_EQ(w.sv[1].queries + w.sv[1].tcp_conns, 0);
        /* From an ephemeral port, with a fresh ID. */
        CHECK(w.sv[0].tcp_ports[0] >= 49152);
        CHECK(w.sv[0].tcp_ids[0] != w.sv[0].ids[0]);
        const struct ps_dns_stats *st = ps_dns_stats(w.r);
        CHECK_EQ(st->udp_queries, 1);
        CHECK_EQ(st->truncated, 1);
        CHECK_EQ(st->tcp_queries, 1);
        CHECK_EQ(st->tcp_answers, 1);
        CHECK_EQ(st->answers, 1);
        CHECK_EQ(st->ignored, 0);
        /* Cached like any answer: nobody is asked again. */
        struct result c = {0};
        CHECK_EQ(ps_dns_resolve(w.r, "BIG.example", on_result, &c), 0);
        CHECK_EQ(c.calls, 1);
        check_big(&c);
        CHECK_EQ(w.sv[0].queries + w.sv[0].tcp_queries, 2);
        CHECK_EQ(st->cache_hits, 1);
        /* A small answer stays on UDP. */
        r = resolve(&w, "server.example", PS_MS(100));
        CHECK_EQ(r.err, 0);
        CHECK_EQ(w.sv[0].tcp_conns, 1);
        world_free(&w);
    }
}

TEST(tcp_failures)
{
    /* A silent TCP server: each TCP try times out; after PS_DNS_TRIES the
     * second server is asked, over UDP first, then over TCP. */
    struct world w;
    world_new(&w, true);
    w.sv[0].tcp_mode = TCP_SILENT;
    struct result r = resolve(&w, "big.example", PS_SEC(PS_DNS_TRIES * PS_DNS_TCP_TIMEOUT_MS / 1000 + 1));
    CHECK_EQ(r.calls, 1);
    check_big(&r);
    CHECK_EQ(w.sv[0].queries, 1);
    CHECK_EQ(w.sv[0].tcp_conns, PS_DNS_TRIES);
    CHECK_EQ(w.sv[1].queries, 1);
    CHECK_EQ(w.sv[1].tcp_conns, 1);
    CHECK_EQ(ps_dns_stats(w.r)->timeouts, PS_DNS_TRIES);
    /* All TCP connection IDs differ. */
    for (unsigned i = 1; i < PS_DNS_TRIES; i++)
        CHECK(w.sv[0].tcp_ids[i] != w.sv[0].tcp_ids[i - 1]);
    world_free(&w);

    /* A connection closed in the middle of the answer: tried again. */
    world_new(&w, true);
    w.sv[0].tcp_mode = TCP_CLOSE_MIDWAY;
    r = resolve(&w, "big.example", PS_SEC(2));
    CHECK_EQ(r.calls, 1);
    check_big(&r); /* from the second server */
    CHECK_EQ(w.sv[0].tcp_conns, PS_DNS_TRIES);
    CHECK_EQ(ps_dns_stats(w.r)->timeouts, 0);
    world_free(&w);

    /* No TCP listener (RST): refused, straight to the next server; with no
     * listener there either, the resolution fails with ECONNREFUSED. */
    world_new(&w, true);
    ps_close(w.sv[0].s, w.sv[0].lfd);
    r = resolve(&w, "big.example", PS_SEC(1));
    CHECK_EQ(r.calls, 1);
    check_big(&r);
    CHECK_EQ(w.sv[1].tcp_conns, 1);
    ps_close(w.sv[1].s, w.sv[1].lfd);
    ps_dns_cache_flush(w.r);
    r = resolve(&w, "big.example", PS_SEC(1));
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.err, -ECONNREFUSED);
    world_free(&w);

    /* An answer longer than PS_DNS_TCP_MAX_ANSWER: refused, not read. */
    world_new(&w, true);
    w.sv[0].tcp_mode = TCP_TOO_BIG;
    r = resolve(&w, "big.example", PS_SEC(1));
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.err, -EMSGSIZE);
    CHECK_EQ(ps_dns_stats(w.r)->too_big, 1);
    CHECK_EQ(ps_dns_cache_count(w.r), 0);
    world_free(&w);
}

TEST(parser_refuses_malformed)
{
    uint8_t q[512], a[600];
    size_t qlen = dns_build_query(q, 0x1234, "server.example");
    REQUIRE(qlen > 0);
    struct server sv = {0};
    size_t len = answer(&sv, q, qlen, a);
    struct dns_answer ans;
    REQUIRE(dns_parse_answer(a, len, q, qlen, &ans) == 0);
    CHECK_EQ(ans.naddrs, 2);
    for (size_t cut = 0; cut < len; cut++)
        CHECK(dns_parse_answer(a, cut, q, qlen, &ans) == -1 || ans.naddrs < 2);
    uint8_t bad[600];
    memcpy(bad, a, len);
    bad[0] ^= 1; /* wrong ID */
    CHECK_EQ(dns_parse_answer(bad, len, q, qlen, &ans), -1);
    memcpy(bad, a, len);
    bad[2] &= 0x7f; /* not a response */
    CHECK_EQ(dns_parse_answer(bad, len, q, qlen, &ans), -1);
    memcpy(bad, a, len);
    bad[13] = 'x'; /* another question */
    CHECK_EQ(dns_parse_answer(bad, len, q, qlen, &ans), -1);
    memcpy(bad, a, len);
    bad[qlen] = 0xc0, bad[qlen + 1] = (uint8_t)qlen; /* a pointer to itself */
    CHECK_EQ(dns_parse_answer(bad, len, q, qlen, &ans), -1);
    memcpy(bad, a, len);
    ps_put16(bad + qlen + 2 + 8, 5); /* an A record of 5 bytes */
    CHECK_EQ(dns_parse_answer(bad, len, q, qlen, &ans), -1);
    /* A truncated answer that ends inside a record: the whole ones count. */
    qlen = dns_build_query(q, 0x4321, "big.example");
    uint8_t big[1024];
    len = answer(&sv, q, qlen, big);
    REQUIRE(len > DNS_MAX_UDP);
    CHECK_EQ(dns_parse_answer(big, DNS_MAX_UDP, q, qlen, &ans), -1); /* without TC: malformed */
    big[2] |= 0x02;
    REQUIRE(dns_parse_answer(big, DNS_MAX_UDP, q, qlen, &ans) == 0);
    CHECK(ans.truncated);
    CHECK_EQ(ans.naddrs, (DNS_MAX_UDP - qlen) / 16);
    REQUIRE(dns_parse_answer(big, len, q, qlen, &ans) == 0);
    CHECK_EQ(ans.naddrs, BIG_N);
    CHECK_EQ(dns_build_query(q, 1, "a..b"), 0);
    char longlabel[80];
    memset(longlabel, 'a', 64);
    longlabel[64] = '\0';
    CHECK_EQ(dns_build_query(q, 1, longlabel), 0);
}

int main(void)
{
    RUN(a_records_cname_chain_nxdomain_cache);
    RUN(spoofed_answer_ignored);
    RUN(servfail_fails_over);
    RUN(dead_servers_time_out);
    RUN(truncated_answer_asked_again_over_tcp);
    RUN(tcp_failures);
    RUN(parser_refuses_malformed);
    TEST_END();
}
