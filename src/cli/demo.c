/*
 * `portstack demo`: the port story of a small network, narrated.
 *
 * A camera boots on a LAN: it gets its address from the DHCP server on the
 * infra host, resolves server.example with the DNS server there, sets its
 * clock from the server's NTP service, opens its configuration page on
 * port 8000 and holds an HTTPS connection (TLS when this build has it) to
 * server.example:443 across the router, while a laptop fetches the
 * camera's pages over two connections of its own.  Between the steps the
 * hosts' socket tables show well-known and ephemeral ports, listening and
 * connected sockets, and that every conversation is its own quadruple.
 *
 * Everything runs in-process on a virtual clock (no root), every frame is
 * written to a pcap file, and the same seed tells the same story.  --json
 * writes the tables and the summary for a test to check against the
 * stacks' capture.  This file: the options, the order of the steps
 * (demo_steps.c), the summary.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/dhcp.h>
#include <portstack/dhcp_server.h>
#include <portstack/dns.h>
#include <portstack/dns_server.h>
#include <portstack/http.h>
#include <portstack/http_client.h>
#include <portstack/sim.h>
#include <portstack/sntp.h>
#include <portstack/sntp_server.h>

#include "cli.h"
#include "demo.h"

/* ---- summary ---------------------------------------------------------------------------------------- */

static void summary(struct demo *d, struct story *y, const bool ok[6], const char *pcap_path)
{
    char t[32], a[PS_IP4_STRLEN], json[1024];
    const struct ps_dhcpd_stats *dh = ps_dhcpd_stats(d->dhcpd);
    const struct ps_dnsd_stats *dn = ps_dnsd_stats(d->dnsd);
    const struct ps_sntpd_stats *nt = ps_sntpd_stats(d->sntpd);
    const struct ps_http_stats *cam = d->cam_http ? ps_http_stats(d->cam_http) : NULL;
    const struct ps_http_stats *srv = ps_http_stats(d->srv_https);
    bool have_pcap = d->pcap != NULL;
    uint64_t frames = demo_capture_stop(d);
    printf("Summary (virtual time %s):\n", demo_now_ms(d, t));
    printf("  infra   DHCP: discover %" PRIu64 ", offer %" PRIu64 ", request %" PRIu64 ", ack %" PRIu64
           "; %u of %u addresses leased\n",
           dh->discovers, dh->offers, dh->requests, dh->acks, ps_dhcpd_leased(d->dhcpd), ps_dhcpd_pool_size(d->dhcpd));
    printf("  infra   DNS:  queries %" PRIu64 ", answered %" PRIu64 ", NXDOMAIN %" PRIu64 "\n",
           dn->udp_queries + dn->tcp_queries, dn->answers, dn->nxdomain);
    printf("  server  NTP:  requests %" PRIu64 ", answered %" PRIu64 "\n", nt->requests, nt->replies);
    printf("  server  %s on 443: connections %" PRIu64 ", requests %" PRIu64 "\n",
           y->tls ? "HTTPS" : "HTTP (plain, no TLS in this build)", srv->connections, srv->requests);
    printf("  camera  HTTP on %u: connections %" PRIu64 ", requests %" PRIu64 "\n", DEMO_CAMERA_PORT,
           cam ? cam->connections : 0, cam ? cam->requests : 0);
    printf("  router  packets forwarded %" PRIu64 "\n", ps_stack_stats(d->host[DEMO_ROUTER])->ip_forwarded);
    static const char *const names[6] = {"DHCP", "DNS", "SNTP", "listen", "uplink", "laptop"};
    printf("  steps:");
    bool all = true;
    for (int i = 0; i < 6; i++) {
        printf(" %s %s%s", names[i], ok[i] ? "ok" : "FAILED", i < 5 ? "," : "\n");
        all = all && ok[i];
    }
    snprintf(json, sizeof(json),
             "{\"ok\":%s,\"camera\":\"%s\",\"uplink\":\"%s\",\"dhcp_acks\":%" PRIu64 ",\"dns_answers\":%" PRIu64
             ",\"ntp_replies\":%" PRIu64 ",\"camera_http_requests\":%" PRIu64 ",\"server_requests\":%" PRIu64
             ",\"forwarded\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"pcap\":\"%s\",\"time_us\":%" PRIu64 "}",
             all ? "true" : "false", ps_ip4_ntoa(y->camera_addr, a), y->tls ? "tls" : "plain", dh->acks, dn->answers,
             nt->replies, cam ? cam->requests : 0, srv->requests, ps_stack_stats(d->host[DEMO_ROUTER])->ip_forwarded,
             frames, have_pcap ? pcap_path : "", (uint64_t)ps_sim_now(d->sim));
    demo_json_end(d, json);
    if (have_pcap)
        printf("Every frame (%" PRIu64 ") is in %s; open it with: tshark -r %s\n", frames, pcap_path, pcap_path);
}

/* ---- the command --------------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out, "usage: portstack demo [--pcap FILE] [--seed N] [--loss PERCENT] [--json FILE]\n"
                 "  A simulated network in one process, narrated step by step: a camera gets its\n"
                 "  address by DHCP, resolves server.example by DNS, sets its clock by SNTP, serves\n"
                 "  its page on port 8000 and holds an HTTPS connection to server.example:443 (plain\n"
                 "  TCP, labelled so, in a build without TLS) while a laptop fetches its pages; the\n"
                 "  hosts' socket tables between the steps, a summary at the end.  Needs no root.\n"
                 "  --pcap FILE    write every frame there (default portstack-demo.pcap)\n"
                 "  --seed N       the random seed: the same seed tells the same story (default 1)\n"
                 "  --loss PERCENT drop that share of frames on both links (the protocols retry)\n"
                 "  --json FILE    also write the socket tables and the summary as JSON\n");
}

static void free_apps(struct demo *d)
{
    for (int i = 0; i < 2; i++)
        if (d->browser[i])
            ps_http_client_free(d->browser[i]);
    if (d->uplink)
        ps_http_client_free(d->uplink);
    if (d->cam_http)
        ps_http_stop(d->cam_http);
    if (d->srv_https)
        ps_http_stop(d->srv_https);
    ps_sntp_stop(d->sntp);
    ps_dns_free(d->dns);
    if (d->dhcp)
        ps_dhcp_stop(d->dhcp);
    ps_sntpd_stop(d->sntpd);
    ps_dnsd_stop(d->dnsd);
    ps_dhcpd_stop(d->dhcpd);
    demo_tls_free(d);
}

int cli_demo(int argc, char **argv)
{
    const char *pcap_path = "portstack-demo.pcap", *json_path = NULL;
    struct demo d;
    memset(&d, 0, sizeof(d));
    d.seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        bool known = strcmp(o, "--pcap") == 0 || strcmp(o, "--seed") == 0 || strcmp(o, "--loss") == 0 ||
                     strcmp(o, "--json") == 0;
        if (!known) {
            fprintf(stderr, "portstack demo: unknown option '%s'\n", o);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "portstack demo: %s needs a value\n", o);
            return 2;
        }
        i++;
        char *end;
        if (strcmp(o, "--pcap") == 0) {
            pcap_path = v;
        } else if (strcmp(o, "--json") == 0) {
            json_path = v;
        } else if (strcmp(o, "--seed") == 0) {
            d.seed = strtoull(v, &end, 0);
            if (*end || !*v) {
                fprintf(stderr, "portstack demo: --seed wants a number, not '%s'\n", v);
                return 2;
            }
        } else {
            d.loss = strtod(v, &end) / 100.0;
            if (*end || !*v || d.loss < 0 || d.loss > 1) {
                fprintf(stderr, "portstack demo: --loss takes a percentage 0..100, not '%s'\n", v);
                return 2;
            }
        }
    }
    if (json_path && !(d.json = fopen(json_path, "w"))) {
        fprintf(stderr, "portstack demo: cannot write %s\n", json_path);
        return 1;
    }
    struct story y = {.d = &d};
    if (demo_world_new(&d, pcap_path) != 0) {
        demo_world_free(&d);
        return 1;
    }
    y.tls = demo_tls_setup(&d);
    demo_json_begin(&d, y.tls);
    demo_start_servers(&d, &y);
    bool ok[6] = {false};
    if (!d.dhcpd || !d.dnsd || !d.sntpd || !d.srv_https) {
        fprintf(stderr, "portstack demo: cannot start the servers\n");
        demo_json_end(&d, "null");
    } else {
        printf("portstack demo: a camera comes online (seed %" PRIu64 "%s)\n\n"
               "  camera (DHCP)  --+\n"
               "  laptop .20     --+-- LAN 192.0.2.0/24 -- .1 router .1 -- WAN 198.51.100.0/24 -- .10 server\n"
               "  infra  .2      --+     (0.2 ms, 100 Mbit/s)               (10 ms, 20 Mbit/s)\n\n"
               "  infra serves DHCP (port 67) and DNS (53); server.example serves NTP (123) and\n"
               "  %s on 443.  Before anything happens, the servers listen on their\n"
               "  well-known ports, on every address (*), with no peer (*:*):\n",
               d.seed, d.loss > 0 ? ", with loss" : "", y.tls ? "HTTPS" : "plain HTTP (this build has no TLS)");
        demo_tables(&d, "servers listening", DEMO_HOST(DEMO_INFRA) | DEMO_HOST(DEMO_SERVER));
        ok[0] = demo_step_dhcp(&d, &y);
        ok[1] = ok[0] && demo_step_dns(&d, &y);
        ok[2] = ok[1] && demo_step_sntp(&d, &y);
        ok[3] = ok[0] && demo_step_listen(&d);
        ok[4] = ok[2] && demo_step_uplink(&d, &y);
        ok[5] = ok[3] && demo_step_laptop(&d, &y);
        summary(&d, &y, ok, pcap_path);
    }
    bool all = ok[0] && ok[1] && ok[2] && ok[3] && ok[4] && ok[5];
    free_apps(&d);
    demo_world_free(&d);
    if (d.json)
        fclose(d.json);
    return all || d.loss > 0 ? 0 : 1;
}
