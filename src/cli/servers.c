/*
 * `portstack run --serve dhcp,dns,ntp`: the DHCP, DNS and SNTP servers on
 * a real host, with their options (--dhcp-pool, --dns-record).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <portstack/dhcp_server.h>
#include <portstack/dns_server.h>
#include <portstack/socket.h>
#include <portstack/sntp_server.h>

#include "cli.h"

/* The reference ID a server of the host's own clock gives (chrony's and
 * ntpd's "local clock", 127.127.1.1), and the modest stratum it claims. */
#define CLI_NTP_LOCAL_REFID PS_IP4(127, 127, 1, 1)
#define CLI_NTP_LOCAL_STRATUM 10

bool cli_server_known(const char *name)
{
    return strcmp(name, "dhcp") == 0 || strcmp(name, "dns") == 0 || strcmp(name, "ntp") == 0;
}

bool cli_server_option(const char *opt)
{
    return strcmp(opt, "--dhcp-pool") == 0 || strcmp(opt, "--dns-record") == 0;
}

int cli_server_opt(struct cli_servers *sv, const char *opt, const char *val)
{
    if (strcmp(opt, "--dns-record") == 0) {
        const char *eq = strchr(val, '=');
        if (!eq || eq == val || !eq[1] || sv->nrecords >= CLI_MAX_DNS_RECORDS) {
            fprintf(stderr, "portstack run: --dns-record wants NAME=A.B.C.D or NAME=OTHER.NAME (at most %d), not '%s'\n",
                    CLI_MAX_DNS_RECORDS, val);
            return -1;
        }
        sv->records[sv->nrecords++] = val;
        return 0;
    }
    char a[32], b[32];
    if (sscanf(val, "%31[0-9.]-%31[0-9.]", a, b) != 2 || ps_ip4_aton(a, &sv->pool_first) != 0 ||
        ps_ip4_aton(b, &sv->pool_last) != 0 || sv->pool_first > sv->pool_last) {
        fprintf(stderr, "portstack run: --dhcp-pool wants FIRST-LAST addresses, not '%s'\n", val);
        return -1;
    }
    return 0;
}

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int cli_server_start(struct cli_servers *sv, struct ps_stack *s, const char *name, uint16_t port)
{
    int err = 0;
    if (strcmp(name, "dhcp") == 0) {
        if (sv->dhcpd || !sv->addr || (port && port != PS_DHCP_SERVER_PORT)) {
            fprintf(stderr, "portstack run: dhcp serves once, on port 67, and needs --address\n");
            return -1;
        }
        struct ps_dhcpd_config c = {.server = sv->addr, .prefix = sv->prefix, .router = sv->router,
                                    .pool_first = sv->pool_first, .pool_last = sv->pool_last};
        if (!c.pool_first) { /* the 16 addresses after ours */
            c.pool_first = sv->addr + 1;
            c.pool_last = sv->addr + 16;
        }
        if (sv->dns)
            c.dns[c.ndns++] = sv->dns;
        sv->dhcpd = ps_dhcpd_start(s, &c, &err);
        if (sv->dhcpd) {
            char f[PS_IP4_STRLEN], l[PS_IP4_STRLEN];
            printf("portstack: serving dhcp on udp port 67, pool %s-%s (%u addresses)\n",
                   ps_ip4_ntoa(c.pool_first, f), ps_ip4_ntoa(c.pool_last, l), ps_dhcpd_pool_size(sv->dhcpd));
        }
    } else if (strcmp(name, "dns") == 0) {
        if (sv->dnsd) {
            fprintf(stderr, "portstack run: one dns service at a time\n");
            return -1;
        }
        sv->dnsd = ps_dnsd_start(s, 0, port, &err);
        for (unsigned i = 0; sv->dnsd && i < sv->nrecords; i++) {
            int rc = ps_dnsd_add_spec(sv->dnsd, sv->records[i]);
            if (rc < 0) {
                fprintf(stderr, "portstack run: --dns-record '%s': %s\n", sv->records[i], ps_strerror(rc));
                return -1;
            }
        }
        if (sv->dnsd)
            printf("portstack: serving dns on udp and tcp port %u, %u records\n", ps_dnsd_port(sv->dnsd),
                   ps_dnsd_records(sv->dnsd));
    } else {
        if (sv->sntpd) {
            fprintf(stderr, "portstack run: one ntp service at a time\n");
            return -1;
        }
        /* A real host knows the time: serve its clock, unless an SNTP
         * client set ours already. */
        struct ps_sntpd_config c = {.stratum = CLI_NTP_LOCAL_STRATUM, .upstream = CLI_NTP_LOCAL_REFID};
        if (ps_stack_realtime_offset(s) == 0) /* run.c's stack time is CLOCK_MONOTONIC */
            ps_stack_set_realtime_offset(s, clock_us(CLOCK_REALTIME) - clock_us(CLOCK_MONOTONIC));
        sv->sntpd = ps_sntpd_start(s, 0, port, &c, &err);
        if (sv->sntpd)
            printf("portstack: serving ntp on udp port %u (this host's clock, stratum %d)\n",
                   ps_sntpd_port(sv->sntpd), CLI_NTP_LOCAL_STRATUM);
    }
    if (err) {
        fprintf(stderr, "portstack run: cannot serve %s: %s\n", name, ps_strerror(err));
        return -1;
    }
    return 0;
}

ps_time_t cli_servers_poll(struct cli_servers *sv, ps_time_t now)
{
    ps_time_t next = PS_TIME_NEVER;
    if (sv->dhcpd)
        next = ps_dhcpd_poll(sv->dhcpd, now);
    if (sv->dnsd) {
        ps_time_t d = ps_dnsd_poll(sv->dnsd, now);
        if (d < next)
            next = d;
    }
    return next;
}

void cli_servers_stop(struct cli_servers *sv, FILE *out)
{
    if (sv->dhcpd) {
        const struct ps_dhcpd_stats *st = ps_dhcpd_stats(sv->dhcpd);
        fprintf(out,
                "portstack: dhcp: %llu discovers, %llu offers, %llu requests, %llu acks, %llu naks, %llu releases,"
                " %u leased\n",
                (unsigned long long)st->discovers, (unsigned long long)st->offers,
                (unsigned long long)st->requests, (unsigned long long)st->acks, (unsigned long long)st->naks,
                (unsigned long long)st->releases, ps_dhcpd_leased(sv->dhcpd));
        ps_dhcpd_stop(sv->dhcpd);
    }
    if (sv->dnsd) {
        const struct ps_dnsd_stats *st = ps_dnsd_stats(sv->dnsd);
        fprintf(out, "portstack: dns: %llu udp and %llu tcp queries, %llu answered, %llu nxdomain, %llu truncated\n",
                (unsigned long long)st->udp_queries, (unsigned long long)st->tcp_queries,
                (unsigned long long)st->answers, (unsigned long long)st->nxdomain,
                (unsigned long long)st->truncated);
        ps_dnsd_stop(sv->dnsd);
    }
    if (sv->sntpd) {
        const struct ps_sntpd_stats *st = ps_sntpd_stats(sv->sntpd);
        fprintf(out, "portstack: ntp: %llu requests, %llu answered\n", (unsigned long long)st->requests,
                (unsigned long long)st->replies);
        ps_sntpd_stop(sv->sntpd);
    }
    memset(sv, 0, sizeof(*sv));
}
