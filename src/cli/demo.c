/*
 * `portstack demo`: two hosts and a router on simulated wires, narrated.
 *
 *   hostA 192.0.2.10/24 --[link1]-- 192.0.2.1 router 198.51.100.1 --[link2]-- hostB 198.51.100.20/24
 *
 * Everything runs in-process on a virtual clock, so it needs no root, and
 * the same seed prints the same story and writes the same pcap.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/apps.h>
#include <portstack/pcap.h>
#include <portstack/services.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "cli.h"

struct demo {
    struct ps_sim *sim;
    struct ps_pcap *pcap;
    int narrate;          /* frames left to print */
    struct ps_stack *a, *r, *b;
};

static void capture(void *ctx, struct ps_iface *ifc, enum ps_dir dir, const uint8_t *frame, size_t len,
                    ps_time_t now)
{
    struct demo *d = ctx;
    if (dir != PS_DIR_OUT)
        return;
    if (d->pcap)
        ps_pcap_write(d->pcap, frame, len, now);
    if (d->narrate > 0) {
        char line[200], t[32];
        cli_describe_frame(frame, len, line, sizeof(line));
        printf("    %10s  %-6s %-4s %s\n", cli_fmt_ms(now, t), ps_stack_name(ps_iface_stack(ifc)),
               ps_iface_name(ifc), line);
        d->narrate--;
    }
}

static ps_time_t pinger_poll(void *ctx, ps_time_t now)
{
    return ps_pinger_poll(ctx, now);
}

static void on_probe(void *ctx, unsigned seq, const struct ps_probe *pr, size_t size)
{
    char a[PS_IP4_STRLEN], t[32];
    (void)ctx;
    switch (pr->state) {
    case PS_PROBE_REPLIED:
        printf("    reply from %s: seq=%u size=%zu ttl=%u time=%s\n", ps_ip4_ntoa(pr->from, a), seq, size,
               pr->ttl, cli_fmt_ms(pr->rtt, t));
        break;
    case PS_PROBE_ERROR:
        printf("    from %s: seq=%u ICMP %s\n", ps_ip4_ntoa(pr->from, a), seq,
               pr->err_type == PS_ICMP_TIME_EXCEEDED  ? "time exceeded in transit"
               : pr->err_code == PS_ICMP_UNREACH_NET  ? "network unreachable"
               : pr->err_code == PS_ICMP_UNREACH_HOST ? "host unreachable"
                                                       : "destination unreachable");
        break;
    case PS_PROBE_LOST:
        printf("    seq=%u: no answer\n", seq);
        break;
    default:
        break;
    }
}

/* Ping from stack s, narrating the first `narrate` frames; returns the
 * number of replies. */
static unsigned ping(struct demo *d, struct ps_stack *s, const struct ps_pinger_cfg *cfg, int narrate)
{
    char a[PS_IP4_STRLEN], t[32];
    d->narrate = narrate;
    struct ps_pinger *p = ps_pinger_new(s, cfg, on_probe, NULL);
    if (!p)
        return 0;
    ps_sim_add_poller(d->sim, pinger_poll, p);
    ps_sim_run_while_not(d->sim, (bool (*)(void *))ps_pinger_done, p, ps_sim_now(d->sim) + PS_SEC(120));
    struct ps_ping_summary sum;
    ps_pinger_summary(p, &sum);
    printf("    --- %s: %u sent, %u received, %u errors, %u lost", ps_ip4_ntoa(cfg->dst, a), sum.sent,
           sum.received, sum.errors, sum.lost);
    if (sum.received)
        printf(", rtt min/avg/max %s", cli_fmt_ms(sum.rtt_min, t)), printf("/%s", cli_fmt_ms(sum.rtt_avg, t)),
            printf("/%s", cli_fmt_ms(sum.rtt_max, t));
    printf("\n\n");
    /* The pinger is done; the world keeps only its poller slot, which now
     * returns "never". */
    ps_pinger_free(p);
    ps_sim_remove_poller(d->sim, pinger_poll, p);
    return sum.received;
}

static void print_sockets(struct ps_stack *s)
{
    printf("  [%s] sockets:\n", ps_stack_name(s));
    ps_ss_print(s, stdout, 0);
}

/* Step 5: ports.  hostB serves UDP echo (7) and discard (9); hostA talks
 * to them from ephemeral ports the stack picks; a closed port refuses.
 * Returns how many echoes came back to the socket that sent them; sets
 * *refused when the closed port's refusal reached its socket. */
static unsigned udp_step(struct demo *d, bool *refused)
{
    char a[PS_IP4_STRLEN];
    int err;
    const ps_ip4_t b_addr = PS_IP4(198, 51, 100, 20);
    printf("5. Ports.  hostB serves UDP echo on its well-known port 7 and discard on 9;\n"
           "   hostA opens three client sockets, and its stack picks an ephemeral port for\n"
           "   each (RFC 6056: unpredictable, unique per conversation):\n");
    struct ps_app *echo = ps_app_start(d->b, "echo", 0, 0, &err);
    struct ps_app *discard = ps_app_start(d->b, "discard", 0, 0, &err);
    int fds[4];
    struct ps_sockaddr_in to[4] = {
        {b_addr, 7}, {b_addr, 7}, {b_addr, 9}, {b_addr, 4242},
    };
    for (int i = 0; i < 4; i++) {
        fds[i] = ps_socket(d->a, PS_SOCK_DGRAM);
        ps_connect(d->a, fds[i], &to[i]);
    }
    print_sockets(d->b);
    print_sockets(d->a);
    d->narrate = 12;
    printf("   hostA sends one datagram on each; the frames as they leave each interface:\n");
    for (int i = 0; i < 3; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "hello from socket %d", i);
        ps_send(d->a, fds[i], msg, (size_t)n, 0);
    }
    ps_sim_run_for(d->sim, PS_MS(200));
    unsigned ok = 0;
    for (int i = 0; i < 3; i++) {
        char buf[64];
        struct ps_sockaddr_in me;
        ps_getsockname(d->a, fds[i], &me);
        ssize_t n = ps_recv(d->a, fds[i], buf, sizeof(buf) - 1, 0);
        const char *svc = ps_service_name(to[i].port, PS_IP_PROTO_UDP);
        if (n > 0) {
            buf[n] = '\0';
            printf("    %s:%u <- %s:%s  \"%s\"\n", ps_ip4_ntoa(me.addr, a), me.port, "198.51.100.20", svc, buf);
            ok++;
        } else {
            printf("    %s:%u <- nothing from %s (%s)\n", ps_ip4_ntoa(me.addr, a), me.port, svc,
                   n == -EAGAIN ? "discard never answers" : ps_strerror((int)n));
        }
    }
    printf("   Port 4242 on hostB is closed: hostB answers ICMP port unreachable, and the\n"
           "   connected socket on hostA reports it on its next call:\n");
    d->narrate = 4;
    ps_send(d->a, fds[3], "anyone?", 7, 0);
    ps_sim_run_for(d->sim, PS_MS(200));
    char buf[8];
    ssize_t n = ps_recv(d->a, fds[3], buf, sizeof(buf), 0);
    printf("    recv() on that socket: %s\n", n < 0 ? ps_strerror((int)n) : "data?");
    *refused = n == -ECONNREFUSED;
    printf("   hostB's echo answered %" PRIu64 " datagrams, discard swallowed %" PRIu64 ".\n\n",
           echo ? ps_app_stats(echo)->replies : 0, discard ? ps_app_stats(discard)->datagrams : 0);
    for (int i = 0; i < 4; i++)
        ps_close(d->a, fds[i]);
    ps_app_stop(echo);
    ps_app_stop(discard);
    return ok;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: portstack demo [--pcap FILE] [--seed N] [--loss PERCENT]\n"
                 "  Simulates hostA -- router -- hostB in-process and narrates ARP, ping,\n"
                 "  fragmentation and ICMP errors; writes every frame to FILE\n"
                 "  (default portstack-demo.pcap).  --loss drops that share of frames on both\n"
                 "  links.  Needs no root.\n");
}

int cli_demo(int argc, char **argv)
{
    const char *pcap_path = "portstack-demo.pcap";
    uint64_t seed = 1;
    double loss = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--pcap") == 0 && i + 1 < argc) {
            pcap_path = argv[++i];
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--loss") == 0 && i + 1 < argc) {
            loss = atof(argv[++i]) / 100.0;
            if (loss < 0 || loss > 1) {
                fprintf(stderr, "portstack demo: --loss takes a percentage 0..100\n");
                return 2;
            }
        } else {
            fprintf(stderr, "portstack demo: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    struct demo d = {0};
    d.sim = ps_sim_new(seed, 0);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = seed * 3 + 1;
    d.a = ps_stack_new(&cfg, 0);
    cfg.seed = seed * 3 + 2;
    cfg.ip_forwarding = true;
    d.r = ps_stack_new(&cfg, 0);
    cfg.seed = seed * 3 + 3;
    cfg.ip_forwarding = false;
    d.b = ps_stack_new(&cfg, 0);
    if (!d.sim || !d.a || !d.r || !d.b) {
        fprintf(stderr, "portstack demo: out of memory\n");
        return 1;
    }
    ps_stack_set_name(d.a, "hostA");
    ps_stack_set_name(d.r, "router");
    ps_stack_set_name(d.b, "hostB");
    struct ps_sim_impair l1 = {.delay = PS_US(500), .bandwidth_bps = 100000000, .loss = loss};
    struct ps_sim_impair l2 = {.delay = PS_MS(5), .jitter = PS_US(200), .bandwidth_bps = 10000000, .loss = loss};
    struct ps_sim_link *link1 = ps_sim_link_new(d.sim, &l1), *link2 = ps_sim_link_new(d.sim, &l2);
    struct ps_iface *a0 = ps_sim_attach(link1, d.a, "eth0", NULL, 1500);
    struct ps_iface *r0 = ps_sim_attach(link1, d.r, "eth0", NULL, 1500);
    struct ps_iface *r1 = ps_sim_attach(link2, d.r, "eth1", NULL, 1500);
    struct ps_iface *b0 = ps_sim_attach(link2, d.b, "eth0", NULL, 1500);
    if (!a0 || !r0 || !r1 || !b0) {
        fprintf(stderr, "portstack demo: cannot build the network\n");
        return 1;
    }
    ps_iface_add_addr(a0, PS_IP4(192, 0, 2, 10), 24);
    ps_iface_add_addr(r0, PS_IP4(192, 0, 2, 1), 24);
    ps_iface_add_addr(r1, PS_IP4(198, 51, 100, 1), 24);
    ps_iface_add_addr(b0, PS_IP4(198, 51, 100, 20), 24);
    ps_route_add(d.a, 0, 0, PS_IP4(192, 0, 2, 1), a0);
    ps_route_add(d.b, 0, 0, PS_IP4(198, 51, 100, 1), b0);

    d.pcap = ps_pcap_open(pcap_path, 0);
    if (!d.pcap)
        fprintf(stderr, "portstack demo: cannot write %s: %s (continuing without)\n", pcap_path, strerror(errno));
    struct ps_iface *all[] = {a0, r0, r1, b0};
    for (int i = 0; i < 4; i++)
        ps_iface_set_capture(all[i], capture, &d);

    printf("portstack demo: a simulated network, seed %" PRIu64 "\n\n"
           "  hostA 192.0.2.10/24 --link1 (0.5 ms, 100 Mbit/s)-- 192.0.2.1 router 198.51.100.1\n"
           "        --link2 (5 ms, 10 Mbit/s)-- 198.51.100.20/24 hostB\n\n",
           seed);
    cli_print_stack(d.a, stdout, false);
    printf("\n");

    printf("1. hostA pings hostB (198.51.100.20) across the router.  The first probe\n"
           "   needs two ARP resolutions, one on each link; every frame as it is sent:\n");
    struct ps_pinger_cfg pc = {.dst = PS_IP4(198, 51, 100, 20), .count = 5, .interval = PS_SEC(1), .id = 1};
    unsigned got = ping(&d, d.a, &pc, 8);

    printf("2. A 4000-byte ping: more than the 1500-byte MTU, so hostA fragments it,\n"
           "   hostB reassembles, and the reply comes back in fragments too:\n");
    struct ps_pinger_cfg big = {.dst = PS_IP4(198, 51, 100, 20), .count = 1, .size = 4000, .id = 2};
    got += ping(&d, d.a, &big, 12);

    printf("3. A ping with TTL 1 dies at the router, which says so (ICMP time exceeded):\n");
    struct ps_pinger_cfg ttl = {.dst = PS_IP4(198, 51, 100, 20), .count = 1, .ttl = 1, .id = 3};
    ping(&d, d.a, &ttl, 2);

    printf("4. A ping to 203.0.113.7, for which the router has no route (ICMP network\n"
           "   unreachable):\n");
    struct ps_pinger_cfg nr = {.dst = PS_IP4(203, 0, 113, 7), .count = 1, .id = 4};
    ping(&d, d.a, &nr, 2);

    bool refused = false;
    unsigned udp_ok = udp_step(&d, &refused);

    printf("6. What the stacks know now:\n");
    cli_print_stack(d.a, stdout, true);
    printf("\n");
    cli_print_stack(d.r, stdout, false);
    printf("  [router] packets forwarded: %" PRIu64 "\n\n", ps_stack_stats(d.r)->ip_forwarded);

    for (int i = 0; i < 4; i++)
        ps_iface_set_capture(all[i], NULL, NULL);
    if (d.pcap) {
        printf("Every frame (%" PRIu64 ") is in %s; open it with: tshark -r %s\n", ps_pcap_frames(d.pcap),
               pcap_path, pcap_path);
        ps_pcap_close(d.pcap);
    }
    printf("Summary: %u of 6 pings answered across the router; %u of 2 UDP echoes came back to the\n"
           "ephemeral port that sent them; the closed port %s; virtual time %s.\n",
           got, udp_ok, refused ? "refused (ECONNREFUSED)" : "did NOT refuse",
           cli_fmt_ms(ps_sim_now(d.sim), (char[32]){0}));
    ps_sim_free(d.sim);
    ps_stack_free(d.a);
    ps_stack_free(d.r);
    ps_stack_free(d.b);
    return (got == 6 && udp_ok == 2 && refused) || loss > 0 ? 0 : 1;
}
