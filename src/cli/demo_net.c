/*
 * The demo's world: five stacks on two simulated links, every frame they
 * send captured (pcap) and, while a step asks for it, narrated; the
 * socket tables printed as `ss` does and written to the JSON as well, so
 * a test can hold the printout against the stacks and the capture.
 *
 *   camera (DHCP) --+
 *   laptop .20   --+-- LAN 192.0.2.0/24 --.1 router .1-- WAN 198.51.100.0/24 -- .10 server
 *   infra  .2    --+
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <portstack/dhcp.h>
#include <portstack/dhcp_server.h>
#include <portstack/dns.h>
#include <portstack/dns_server.h>
#include <portstack/http.h>
#include <portstack/http_client.h>
#include <portstack/pcap.h>
#include <portstack/services.h>
#include <portstack/sim.h>
#include <portstack/sntp.h>
#include <portstack/socket.h>

#include "cli.h"
#include "demo.h"

static const char *const host_names[DEMO_NHOSTS] = {"camera", "laptop", "infra", "router", "server"};

const char *demo_host_name(enum demo_host h)
{
    return host_names[h];
}

const char *demo_endpoint(ps_ip4_t a, uint16_t port, char buf[32])
{
    char ip[PS_IP4_STRLEN];
    snprintf(buf, 32, "%s:%u", ps_ip4_ntoa(a, ip), port);
    return buf;
}

/* ---- frames ---------------------------------------------------------------------- */

void demo_describe_frame(const uint8_t *frame, size_t len, char *out, size_t outlen)
{
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    struct ps_tcp_hdr th;
    const uint8_t *ip = frame + PS_ETH_HLEN;
    if (ps_eth_parse(frame, len, &eh) < 0 || eh.type != PS_ETHERTYPE_IPV4 ||
        ps_ipv4_parse(ip, len - PS_ETH_HLEN, &ih) < 0 || ih.proto != PS_IP_PROTO_TCP || ih.frag_off || ih.mf ||
        ps_tcp_parse(ip + ih.hlen, (size_t)ih.total_len - ih.hlen, ih.src, ih.dst, &th) < 0) {
        cli_describe_frame(frame, len, out, outlen);
        return;
    }
    /* tcpdump's flag letters: S SYN, F FIN, R RST, P PSH, . ACK */
    char flags[8], *f = flags, a[PS_IP4_STRLEN], b[PS_IP4_STRLEN], sp[32], dp[32];
    if (th.flags & PS_TCP_SYN)
        *f++ = 'S';
    if (th.flags & PS_TCP_FIN)
        *f++ = 'F';
    if (th.flags & PS_TCP_RST)
        *f++ = 'R';
    if (th.flags & PS_TCP_PSH)
        *f++ = 'P';
    if (th.flags & PS_TCP_ACK)
        *f++ = '.';
    *f = '\0';
    snprintf(out, outlen, "%s > %s: TCP %s > %s [%s], %u bytes", ps_ip4_ntoa(ih.src, a), ps_ip4_ntoa(ih.dst, b),
             cli_port_name(th.sport, PS_IP_PROTO_TCP, sp), cli_port_name(th.dport, PS_IP_PROTO_TCP, dp), flags,
             ih.total_len - ih.hlen - th.hlen);
}

/* A frame the router forwards rather than sends on its own account (its
 * IPv4 source is not the router's). */
static bool forwarded(const struct demo *d, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ih;
    return ps_iface_stack(ifc) == d->host[DEMO_ROUTER] && ps_eth_parse(frame, len, &eh) == PS_ETH_HLEN &&
           eh.type == PS_ETHERTYPE_IPV4 && ps_ipv4_parse(frame + PS_ETH_HLEN, len - PS_ETH_HLEN, &ih) > 0 &&
           ih.src != DEMO_LAN_ROUTER && ih.src != DEMO_WAN_ROUTER;
}

/* Every frame as its sender sent it: the router's forwarded copies are
 * left out, so each packet is in the capture once (two copies of every
 * segment would read as retransmissions to a TCP analyser). */
static void capture(void *ctx, struct ps_iface *ifc, enum ps_dir dir, const uint8_t *frame, size_t len,
                    ps_time_t now)
{
    struct demo *d = ctx;
    if (dir != PS_DIR_OUT || forwarded(d, ifc, frame, len))
        return;
    if (d->pcap)
        ps_pcap_write(d->pcap, frame, len, now);
    if (d->narrate > 0) {
        char line[200], t[32];
        demo_describe_frame(frame, len, line, sizeof(line));
        printf("    %12s  %-6s %s\n", cli_fmt_ms(now, t), ps_stack_name(ps_iface_stack(ifc)), line);
        d->narrate--;
    }
}

/* ---- the world -------------------------------------------------------------------- */

static ps_time_t min_t(ps_time_t a, ps_time_t b)
{
    return a < b ? a : b;
}

/* Every application's deadline, as a host loop would poll them; their
 * deadlines move with traffic the poller does not see, so it looks again
 * at least every DEMO_POLL_MAX. */
static ps_time_t apps_poll(void *ctx, ps_time_t now)
{
    struct demo *d = ctx;
    ps_time_t next = now + DEMO_POLL_MAX;
    if (d->dhcpd)
        next = min_t(next, ps_dhcpd_poll(d->dhcpd, now));
    if (d->dnsd)
        next = min_t(next, ps_dnsd_poll(d->dnsd, now));
    if (d->dhcp)
        next = min_t(next, ps_dhcp_poll(d->dhcp, now));
    if (d->dns)
        next = min_t(next, ps_dns_poll(d->dns, now));
    if (d->sntp)
        next = min_t(next, ps_sntp_poll(d->sntp, now));
    if (d->cam_http)
        next = min_t(next, ps_http_poll(d->cam_http, now));
    if (d->srv_https)
        next = min_t(next, ps_http_poll(d->srv_https, now));
    if (d->uplink)
        next = min_t(next, ps_http_client_poll(d->uplink, now));
    for (int i = 0; i < 2; i++)
        if (d->browser[i])
            next = min_t(next, ps_http_client_poll(d->browser[i], now));
    return next;
}

void demo_sync(struct demo *d)
{
    for (int h = 0; h < DEMO_NHOSTS; h++)
        ps_stack_poll(d->host[h], ps_sim_now(d->sim));
}

bool demo_run_until(struct demo *d, bool (*cond)(void *ctx), void *ctx, ps_time_t limit)
{
    return ps_sim_run_while_not(d->sim, cond, ctx, ps_sim_now(d->sim) + limit);
}

static struct ps_iface *attach(struct demo *d, struct ps_sim_link *l, enum demo_host h, const char *name,
                               ps_ip4_t addr)
{
    struct ps_iface *ifc = ps_sim_attach(l, d->host[h], name, NULL, 1500);
    if (!ifc || (addr && ps_iface_add_addr(ifc, addr, 24) != 0))
        return NULL;
    d->ifc[d->nifc++] = ifc;
    return ifc;
}

int demo_world_new(struct demo *d, const char *pcap_path)
{
    d->sim = ps_sim_new(d->seed, 0);
    struct ps_config cfg;
    ps_config_default(&cfg);
    for (int h = 0; h < DEMO_NHOSTS; h++) {
        cfg.seed = d->seed * DEMO_NHOSTS + (uint64_t)h + 1;
        cfg.ip_forwarding = h == DEMO_ROUTER;
        d->host[h] = ps_stack_new(&cfg, 0);
        if (!d->host[h]) {
            fprintf(stderr, "portstack demo: out of memory\n");
            return -1;
        }
        ps_stack_set_name(d->host[h], host_names[h]);
    }
    /* A fast LAN and a slower, longer WAN, both losing --loss of frames. */
    struct ps_sim_impair lan = {.delay = PS_US(200), .bandwidth_bps = 100000000, .loss = d->loss};
    struct ps_sim_impair wan = {.delay = PS_MS(10), .jitter = PS_US(500), .bandwidth_bps = 20000000, .loss = d->loss};
    struct ps_sim_link *l1 = d->sim ? ps_sim_link_new(d->sim, &lan) : NULL;
    struct ps_sim_link *l2 = d->sim ? ps_sim_link_new(d->sim, &wan) : NULL;
    struct ps_iface *cam = l1 ? attach(d, l1, DEMO_CAMERA, "eth0", 0) : NULL; /* DHCP gives it one */
    struct ps_iface *lap = cam ? attach(d, l1, DEMO_LAPTOP, "eth0", DEMO_LAN_LAPTOP) : NULL;
    struct ps_iface *inf = lap ? attach(d, l1, DEMO_INFRA, "eth0", DEMO_LAN_INFRA) : NULL;
    struct ps_iface *r0 = inf ? attach(d, l1, DEMO_ROUTER, "eth0", DEMO_LAN_ROUTER) : NULL;
    struct ps_iface *r1 = r0 && l2 ? attach(d, l2, DEMO_ROUTER, "eth1", DEMO_WAN_ROUTER) : NULL;
    struct ps_iface *srv = r1 ? attach(d, l2, DEMO_SERVER, "eth0", DEMO_WAN_SERVER) : NULL;
    if (!srv || ps_route_add(d->host[DEMO_LAPTOP], 0, 0, DEMO_LAN_ROUTER, lap) != 0 ||
        ps_route_add(d->host[DEMO_INFRA], 0, 0, DEMO_LAN_ROUTER, inf) != 0 ||
        ps_route_add(d->host[DEMO_SERVER], 0, 0, DEMO_WAN_ROUTER, srv) != 0 ||
        ps_sim_add_poller(d->sim, apps_poll, d) != 0) {
        fprintf(stderr, "portstack demo: cannot build the network\n");
        return -1;
    }
    if (pcap_path) {
        d->pcap = ps_pcap_open(pcap_path, 0);
        if (!d->pcap)
            fprintf(stderr, "portstack demo: cannot write %s (continuing without)\n", pcap_path);
    }
    for (unsigned i = 0; i < d->nifc; i++)
        ps_iface_set_capture(d->ifc[i], capture, d);
    return 0;
}

uint64_t demo_capture_stop(struct demo *d)
{
    for (unsigned i = 0; i < d->nifc; i++)
        ps_iface_set_capture(d->ifc[i], NULL, NULL);
    uint64_t n = d->pcap ? ps_pcap_frames(d->pcap) : 0;
    if (d->pcap)
        ps_pcap_close(d->pcap);
    d->pcap = NULL;
    return n;
}

void demo_world_free(struct demo *d)
{
    demo_capture_stop(d);
    if (d->sim)
        ps_sim_free(d->sim);
    for (int h = 0; h < DEMO_NHOSTS; h++)
        if (d->host[h])
            ps_stack_free(d->host[h]);
}

/* ---- tables ------------------------------------------------------------------------ */

struct json_rows {
    FILE *out;
    unsigned n;
};

static int json_socket(void *ctx, const struct ps_sock_info *si)
{
    struct json_rows *r = ctx;
    char l[32], p[32];
    fprintf(r->out, "%s\n        {\"proto\":\"%s\",\"state\":\"%s\",\"local\":\"%s\",\"peer\":\"%s\",\"fd\":%d}",
            r->n++ ? "," : "", si->type == PS_SOCK_STREAM ? "tcp" : "udp", si->state,
            demo_endpoint(si->local.addr, si->local.port, l), demo_endpoint(si->peer.addr, si->peer.port, p),
            si->fd);
    return 0;
}

void demo_tables(struct demo *d, const char *title, unsigned hosts)
{
    if (d->json)
        fprintf(d->json, "%s\n    {\"title\":\"%s\",\"time_us\":%" PRIu64 ",\"hosts\":{", d->snapshots++ ? "," : "",
                title, (uint64_t)ps_sim_now(d->sim));
    bool first = true;
    for (int h = 0; h < DEMO_NHOSTS; h++) {
        if (!(hosts & (1u << h)))
            continue;
        printf("  [%s] sockets:\n", host_names[h]);
        ps_ss_print(d->host[h], stdout, 0);
        if (d->json) {
            struct json_rows r = {d->json, 0};
            fprintf(d->json, "%s\n      \"%s\":[", first ? "" : ",", host_names[h]);
            ps_socket_foreach(d->host[h], json_socket, &r);
            fprintf(d->json, "]");
        }
        first = false;
    }
    if (d->json)
        fprintf(d->json, "}}");
    printf("\n");
}

void demo_json_begin(struct demo *d, bool tls)
{
    if (d->json)
        fprintf(d->json, "{\n  \"seed\":%" PRIu64 ",\n  \"tls\":%s,\n  \"snapshots\":[", d->seed,
                tls ? "true" : "false");
}

void demo_json_end(struct demo *d, const char *summary)
{
    if (d->json)
        fprintf(d->json, "\n  ],\n  \"summary\":%s\n}\n", summary);
}
