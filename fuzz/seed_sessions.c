/*
 * fuzz/seed_sessions.c - the captures the fuzz seed corpora start from.
 *
 *   fuzz_sessions DIR     writes DIR/<session>.pcap for each session below
 *
 * Each session is a short, ordinary conversation on the simulated wire
 * between a client (192.0.2.2, MAC 02:00:00:00:00:02) and a host set up as
 * the frame-level fuzz targets' stack is (192.0.2.1, MAC 02:00:00:00:00:01,
 * fh_config(), the same services and listeners), captured at the host.
 * fuzz/pcap2seed.py turns the captures into each target's input format
 * (frames with their TCP numbers made relative, DHCP and DNS messages,
 * HTTP streams).
 *
 *   ping      ARP, pings (one fragmented), UDP to echo, to a socket that
 *             never reads and to a closed port
 *   tcp       TCP echo both ways, discard of more than a window, the
 *             listener that never accepts, a refused connection
 *   http      GET, a pipelined keep-alive GET and a POST to the server
 *   dns       the resolver asks the host's DNS server (A, CNAME, NXDOMAIN)
 *   dhcp      the client takes an address from the host's DHCP server
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <portstack/apps.h>
#include <portstack/dhcp.h>
#include <portstack/dhcp_server.h>
#include <portstack/dns.h>
#include <portstack/dns_server.h>
#include <portstack/http.h>
#include <portstack/http_client.h>
#include <portstack/pcap.h>
#include <portstack/sim.h>

#include "fuzz_host.h"

#define HOST PS_IP4(192, 0, 2, 1)
#define CLIENT PS_IP4(192, 0, 2, 2)

struct world {
    struct ps_sim *sim;
    struct ps_stack *host, *client;
    struct ps_iface *hifc, *cifc;
    struct ps_pcap *pcap;
};

static int fail(const char *what)
{
    fprintf(stderr, "fuzz_sessions: %s\n", what);
    return 1;
}

/* A world of two stacks on one perfect link; the client gets an address
 * unless it is to ask DHCP for one. */
static int world_new(struct world *w, const char *dir, const char *name, bool client_addr)
{
    char path[512];
    struct ps_config hc, cc;
    fh_config(&hc);
    ps_config_default(&cc);
    cc.seed = 2;
    cc.port_rekey_ms = 0;
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(7, PS_SEC(1));
    w->host = ps_stack_new(&hc, PS_SEC(1));
    w->client = ps_stack_new(&cc, PS_SEC(1));
    struct ps_sim_link *l = ps_sim_link_new(w->sim, NULL);
    ps_mac_t hm = {{0x02, 0, 0, 0, 0, 0x01}}, cm = {{0x02, 0, 0, 0, 0, 0x02}};
    if (!w->sim || !w->host || !w->client || !l)
        return fail("cannot create the world");
    w->hifc = ps_sim_attach(l, w->host, "eth0", &hm, 1500);
    w->cifc = ps_sim_attach(l, w->client, "eth0", &cm, 1500);
    if (!w->hifc || !w->cifc || ps_iface_add_addr(w->hifc, HOST, 24) != 0 ||
        (client_addr && ps_iface_add_addr(w->cifc, CLIENT, 24) != 0))
        return fail("cannot set up the interfaces");
    snprintf(path, sizeof(path), "%s/%s.pcap", dir, name);
    w->pcap = ps_pcap_open(path, 0);
    if (!w->pcap)
        return fail("cannot write the capture");
    ps_pcap_attach(w->pcap, w->hifc, false);
    return 0;
}

static void world_free(struct world *w)
{
    ps_pcap_close(w->pcap);
    ps_stack_free(w->client);
    ps_stack_free(w->host);
    ps_sim_free(w->sim);
}

/* ---- sessions ------------------------------------------------------------------------- */

static int session_ping(const char *dir)
{
    struct world w;
    if (world_new(&w, dir, "ping", true))
        return 1;
    int err;
    struct ps_app *echo = ps_app_start(w.host, "echo", 0, 7, &err);
    int quiet = ps_socket(w.host, PS_SOCK_DGRAM), u = ps_socket(w.client, PS_SOCK_DGRAM);
    struct ps_sockaddr_in qa = {0, 5353};
    ps_bind(w.host, quiet, &qa);
    ps_icmp_echo_request(w.client, HOST, 1, 1, 0, NULL, 56);
    ps_sim_run_for(w.sim, PS_MS(100));
    ps_icmp_echo_request(w.client, HOST, 1, 2, 0, NULL, 3000); /* fragmented */
    ps_sim_run_for(w.sim, PS_MS(100));
    static const uint16_t ports[] = {7, 5353, 4444};
    for (unsigned i = 0; i < 3; i++) {
        struct ps_sockaddr_in to = {HOST, ports[i]};
        ps_sendto(w.client, u, "hello, fuzzer", 13, 0, &to);
        ps_sim_run_for(w.sim, PS_MS(100));
    }
    ps_close(w.client, u);
    ps_close(w.host, quiet);
    ps_app_stop(echo);
    world_free(&w);
    return 0;
}

/* Connect from the client to port, send len bytes, read what comes back,
 * close; the world runs 1 ms between steps, at most 30 s. */
static void tcp_exchange(struct world *w, uint16_t port, size_t len)
{
    static uint8_t out[20000], in[4096];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (uint8_t)(i * 7 + 3);
    int fd = ps_socket(w->client, PS_SOCK_STREAM);
    struct ps_sockaddr_in to = {HOST, port};
    ps_connect(w->client, fd, &to);
    size_t sent = 0;
    bool closed = false;
    for (int i = 0; i < 30000; i++) {
        ps_sim_run_for(w->sim, PS_MS(1));
        if (sent < len) {
            ssize_t n = ps_send(w->client, fd, out + sent, len - sent, 0);
            if (n > 0)
                sent += (size_t)n;
            else if (n != -EAGAIN && n != -ENOTCONN)
                break;
        } else if (!closed) {
            ps_shutdown(w->client, fd, PS_SHUT_WR);
            closed = true;
        }
        ssize_t r = ps_recv(w->client, fd, in, sizeof(in), 0);
        if (r == 0 || (r < 0 && r != -EAGAIN && r != -ENOTCONN))
            break;
    }
    ps_close(w->client, fd);
    ps_sim_run_for(w->sim, PS_SEC(1));
}

static int session_tcp(const char *dir)
{
    struct world w;
    if (world_new(&w, dir, "tcp", true))
        return 1;
    int err;
    struct ps_app *echo = ps_app_start(w.host, "echo", 0, 7, &err);
    struct ps_app *discard = ps_app_start(w.host, "discard", 0, 9, &err);
    int lfd = ps_socket(w.host, PS_SOCK_STREAM);
    struct ps_sockaddr_in la = {0, 8080};
    ps_bind(w.host, lfd, &la);
    ps_listen(w.host, lfd, 1);
    tcp_exchange(&w, 7, 3000);
    tcp_exchange(&w, 9, 20000);
    tcp_exchange(&w, 8080, 500);
    tcp_exchange(&w, 81, 10);
    ps_close(w.host, lfd);
    ps_app_stop(echo);
    ps_app_stop(discard);
    ps_sim_run_for(w.sim, PS_SEC(5));
    world_free(&w);
    return 0;
}

/* Two applications polled as one (the world takes one poller each). */
struct apps {
    ps_sim_poll_fn poll[2];
    void *ctx[2];
    unsigned done; /* callbacks seen */
};

static ps_time_t apps_poll(void *ctx, ps_time_t now)
{
    struct apps *a = ctx;
    ps_time_t x = a->poll[0](a->ctx[0], now), y = a->poll[1](a->ctx[1], now);
    return x < y ? x : y;
}

static bool apps_done(void *ctx)
{
    return ((struct apps *)ctx)->done > 0;
}

static ps_time_t http_srv_poll(void *ctx, ps_time_t now)
{
    return ps_http_poll(ctx, now);
}

static ps_time_t http_cli_poll(void *ctx, ps_time_t now)
{
    return ps_http_client_poll(ctx, now);
}

static void http_done(void *ctx, const struct ps_http_response *resp)
{
    (void)resp;
    ((struct apps *)ctx)->done++;
}

static int session_http(const char *dir)
{
    struct world w;
    if (world_new(&w, dir, "http", true))
        return 1;
    int err;
    struct ps_http_server *srv = ps_http_start(w.host, 0, 80, NULL, &err);
    struct ps_http_client *cli = ps_http_client_new(w.client, HOST, 80, "host");
    if (!srv || !cli)
        return fail("cannot start HTTP");
    struct apps a = {{http_srv_poll, http_cli_poll}, {srv, cli}, 0};
    ps_sim_add_poller(w.sim, apps_poll, &a);
    static const char *const paths[] = {"/status.json", "/status", "/missing", "/echo"};
    for (unsigned i = 0; i < 4; i++) {
        bool post = i == 3;
        a.done = 0;
        ps_http_request(cli, post ? "POST" : "GET", paths[i], "a=1&b=2", post ? 7 : 0, http_done, &a);
        ps_sim_run_while_not(w.sim, apps_done, &a, ps_sim_now(w.sim) + PS_SEC(5));
    }
    ps_http_client_free(cli);
    ps_sim_run_for(w.sim, PS_SEC(1));
    ps_sim_remove_poller(w.sim, apps_poll, &a);
    ps_http_stop(srv);
    ps_sim_run_for(w.sim, PS_SEC(5));
    world_free(&w);
    return 0;
}

static ps_time_t dnsd_poll(void *ctx, ps_time_t now)
{
    return ps_dnsd_poll(ctx, now);
}

static ps_time_t dns_poll(void *ctx, ps_time_t now)
{
    return ps_dns_poll(ctx, now);
}

static void dns_done(void *ctx, const char *name, int err, const ps_ip4_t *addrs, unsigned naddrs, uint32_t ttl)
{
    (void)name, (void)err, (void)addrs, (void)naddrs, (void)ttl;
    ((struct apps *)ctx)->done++;
}

static bool dns_all_done(void *ctx)
{
    return ((struct apps *)ctx)->done >= 3;
}

static int session_dns(const char *dir)
{
    struct world w;
    if (world_new(&w, dir, "dns", true))
        return 1;
    int err;
    ps_ip4_t server = HOST;
    struct ps_dnsd *srv = ps_dnsd_start(w.host, 0, 53, &err);
    struct ps_dns *res = ps_dns_new(w.client, &server, 1);
    if (!srv || !res)
        return fail("cannot start DNS");
    ps_dnsd_add_a(srv, "host.example.test", PS_IP4(192, 0, 2, 80), 300);
    ps_dnsd_add_a(srv, "host.example.test", PS_IP4(192, 0, 2, 81), 300);
    ps_dnsd_add_cname(srv, "www.example.test", "host.example.test", 60);
    struct apps a = {{dnsd_poll, dns_poll}, {srv, res}, 0};
    ps_sim_add_poller(w.sim, apps_poll, &a);
    ps_dns_resolve(res, "www.example.test", dns_done, &a);
    ps_dns_resolve(res, "host.example.test", dns_done, &a);
    ps_dns_resolve(res, "nowhere.example.test", dns_done, &a);
    ps_sim_run_while_not(w.sim, dns_all_done, &a, ps_sim_now(w.sim) + PS_SEC(10));
    ps_sim_remove_poller(w.sim, apps_poll, &a);
    ps_dns_free(res);
    ps_dnsd_stop(srv);
    world_free(&w);
    return 0;
}

static ps_time_t dhcpd_poll(void *ctx, ps_time_t now)
{
    return ps_dhcpd_poll(ctx, now);
}

static ps_time_t dhcp_poll(void *ctx, ps_time_t now)
{
    return ps_dhcp_poll(ctx, now);
}

static bool dhcp_bound(void *ctx)
{
    return ps_dhcp_state(((struct apps *)ctx)->ctx[1]) == PS_DHCP_BOUND;
}

static int session_dhcp(const char *dir)
{
    struct world w;
    if (world_new(&w, dir, "dhcp", false))
        return 1;
    int err;
    struct ps_dhcpd_config dc = {.server = HOST, .prefix = 24, .pool_first = PS_IP4(192, 0, 2, 100),
                                 .pool_last = PS_IP4(192, 0, 2, 109), .router = HOST, .dns = {HOST}, .ndns = 1,
                                 .lease_s = 600};
    struct ps_dhcpd *srv = ps_dhcpd_start(w.host, &dc, &err);
    struct ps_dhcp *cli = ps_dhcp_start(w.client, w.cifc, NULL, NULL, &err);
    if (!srv || !cli)
        return fail("cannot start DHCP");
    struct apps a = {{dhcpd_poll, dhcp_poll}, {srv, cli}, 0};
    ps_sim_add_poller(w.sim, apps_poll, &a);
    ps_sim_run_while_not(w.sim, dhcp_bound, &a, ps_sim_now(w.sim) + PS_SEC(30));
    ps_sim_remove_poller(w.sim, apps_poll, &a);
    ps_dhcp_stop(cli); /* a RELEASE */
    ps_sim_run_for(w.sim, PS_SEC(1));
    ps_dhcpd_stop(srv);
    world_free(&w);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_sessions DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    return session_ping(dir) | session_tcp(dir) | session_http(dir) | session_dns(dir) | session_dhcp(dir);
}
