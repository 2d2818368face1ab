/*
 * The DNS stub resolver against a scripted server on another simulated
 * host: A records, CNAME chains, NXDOMAIN, SERVFAIL failover to a second
 * server, a dead server (timeouts, then the next), a spoofed answer with a
 * wrong ID ignored, the TTL cache, fresh ports and IDs per query; and the
 * parser against malformed answers.
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

struct server {
    struct ps_stack *s;
    int fd;
    unsigned queries;
    uint16_t ports[64], ids[64];
    bool servfail, spoof_first;
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
        uint8_t out[600];
        size_t len = answer(sv, sv->buf, (size_t)n, out);
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
        w->sv[i].fd = ps_socket(w->sv[i].s, PS_SOCK_DGRAM);
        struct ps_sockaddr_in a = {0, 53};
        REQUIRE(ps_bind(w->sv[i].s, w->sv[i].fd, &a) == 0);
        REQUIRE(ps_socket_set_callback(w->sv[i].s, w->sv[i].fd, on_server, &w->sv[i]) == 0);
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

TEST(spoofed_answer_ignored)
{
    struct world w;
    world_new(&w, true);
    w.sv[0].spoof_first = true;
    struct result r = resolve(&w, "server.example", PS_MS(100));
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.err, 0);
    for (unsigned i = 0; i < r.n; i++)
        CHECK(r.addrs[i] != PS_IP4(203, 0, 113, 66));
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
    RUN(parser_refuses_malformed);
    TEST_END();
}
