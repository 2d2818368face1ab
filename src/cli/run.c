/*
 * `portstack run`: a real host on a TAP device.  The device must exist
 * (the caller creates it, normally inside a network namespace); portstack
 * answers ARP and ping on it until SIGINT/SIGTERM or --duration, then
 * prints its counters.  SIGUSR1 prints the stack's tables.
 *
 * This command line is a contract later issues extend (--serve ...).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <portstack/apps.h>
#include <portstack/dhcp.h>
#include <portstack/dns.h>
#include <portstack/http.h>
#include <portstack/http_client.h>
#include <portstack/sntp.h>
#include <portstack/pcap.h>
#include <portstack/socket.h>
#include <portstack/tap.h>
#ifdef PS_HAVE_TLS
#include <portstack/tls.h>
#include <sys/random.h>
#endif

#include "cli.h"

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t show_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static void on_show(int sig)
{
    (void)sig;
    show_signal = 1;
}

static void on_probe(void *ctx, unsigned seq, const struct ps_probe *pr, size_t size)
{
    char a[PS_IP4_STRLEN], t[32];
    (void)ctx;
    if (pr->state == PS_PROBE_REPLIED)
        printf("portstack: ping reply from %s: seq=%u size=%zu ttl=%u time=%s\n", ps_ip4_ntoa(pr->from, a), seq,
               size, pr->ttl, cli_fmt_ms(pr->rtt, t));
    else if (pr->state == PS_PROBE_ERROR)
        printf("portstack: ping seq=%u: ICMP error type %u code %u from %s\n", seq, pr->err_type, pr->err_code,
               ps_ip4_ntoa(pr->from, a));
    else
        printf("portstack: ping seq=%u: no answer\n", seq);
    fflush(stdout);
}

#define MAX_SERVE 16

struct serve_spec {
    char name[16];
    uint16_t port;
};

/* "echo:7,discard:9" (or "echo" for its well-known port). */
static int parse_serve(const char *arg, struct serve_spec *out, unsigned *n)
{
    char buf[256];
    if (strlen(arg) >= sizeof(buf)) {
        fprintf(stderr, "portstack run: --serve list too long\n");
        return -1;
    }
    strcpy(buf, arg);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(item, ':');
        if (colon)
            *colon = '\0';
        if (!ps_app_known(item) && strcmp(item, "http") != 0 && strcmp(item, "https") != 0 &&
            !cli_server_known(item)) {
            fprintf(stderr,
                    "portstack run: unknown service '%s' (known: echo, discard, http, https, dhcp, dns, ntp)\n",
                    item);
            return -1;
        }
        unsigned long port = 0;
        if (colon) {
            char *end;
            port = strtoul(colon + 1, &end, 10);
            if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
                fprintf(stderr, "portstack run: bad port '%s' for %s (1..65535)\n", colon + 1, item);
                return -1;
            }
        }
        if (*n >= MAX_SERVE) {
            fprintf(stderr, "portstack run: at most %d services\n", MAX_SERVE);
            return -1;
        }
        snprintf(out[*n].name, sizeof(out[*n].name), "%s", item);
        out[*n].port = (uint16_t)port;
        (*n)++;
    }
    if (*n == 0) {
        fprintf(stderr, "portstack run: --serve needs SERVICE:PORT[,...]\n");
        return -1;
    }
    return 0;
}

int cli_entropy(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
#ifdef PS_HAVE_TLS
    while (len) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
#else
    (void)buf, (void)len;
    return -1;
#endif
}

/* --serve https: the HTTP server over TLS with --cert and --key. */
static struct ps_http_server *start_https(struct ps_stack *s, uint16_t port, const char *docroot, const char *cert,
                                          const char *key, struct ps_tls_config **tls)
{
#ifdef PS_HAVE_TLS
    int err;
    char why[256];
    *tls = ps_tls_config_new(s, PS_TLS_SERVER, cli_entropy, NULL, &err);
    if (*tls && (err = ps_tls_config_cert_file(*tls, cert, key)) < 0) {
        fprintf(stderr, "portstack run: cannot load --cert %s and --key %s: %s (%s)\n", cert, key, ps_strerror(err),
                ps_tls_config_last_error(*tls, why, sizeof(why)));
        return NULL;
    }
    struct ps_http_server *h = *tls ? ps_https_start(s, 0, port, docroot, *tls, &err) : NULL;
    if (!h)
        fprintf(stderr, "portstack run: cannot serve https on port %u: %s\n", port ? port : 443, ps_strerror(err));
    else
        printf("portstack: serving https on tcp port %u%s%s\n", ps_http_port(h), docroot ? " from " : "",
               docroot ? docroot : "");
    return h;
#else
    (void)s, (void)port, (void)docroot, (void)cert, (void)key, (void)tls;
    return NULL; /* refused with the arguments */
#endif
}

/* Print an HTTP server's counters and stop it. */
static void stop_http(const char *name, struct ps_http_server *h)
{
    if (!h)
        return;
    const struct ps_http_stats *hs = ps_http_stats(h);
    printf("portstack: %s: %llu connections, %llu requests, %llu 2xx, %llu 4xx, %llu 5xx, %llu refused, "
           "%llu timed out\n",
           name, (unsigned long long)hs->connections, (unsigned long long)hs->requests,
           (unsigned long long)hs->responses_2xx, (unsigned long long)hs->responses_4xx,
           (unsigned long long)hs->responses_5xx, (unsigned long long)hs->refused, (unsigned long long)hs->timeouts);
    ps_http_stop(h);
}

static void on_sntp(void *ctx, const struct ps_sntp_result *r)
{
    struct ps_stack *s = ctx;
    if (r->err) {
        printf("portstack: sntp: no time: %s\n", ps_strerror(r->err));
    } else {
        int64_t now = ps_stack_realtime(s);
        printf("portstack: sntp: clock set to %lld.%06lld (offset %+lld us, delay %lld us, stratum %u)\n",
               (long long)(now / 1000000), (long long)(now % 1000000), (long long)r->offset_us,
               (long long)r->delay_us, r->stratum);
    }
    fflush(stdout);
}

/* --resolve: one lookup once the host has an address. */
struct run_names {
    struct ps_stack *s;
    const char *name;
    ps_ip4_t server;       /* --dns, else the lease's */
    struct ps_dns *dns;
    bool asked;
};

static void on_resolved(void *ctx, const char *name, int err, const ps_ip4_t *addrs, unsigned n, uint32_t ttl)
{
    char a[PS_IP4_STRLEN];
    (void)ctx;
    if (err) {
        printf("portstack: resolving %s failed: %s\n", name, ps_strerror(err));
    } else {
        printf("portstack: resolved %s:", name);
        for (unsigned i = 0; i < n; i++)
            printf(" %s", ps_ip4_ntoa(addrs[i], a));
        printf(" (ttl %u s)\n", ttl);
    }
    fflush(stdout);
}

static void start_resolver(struct ps_stack *s, struct run_names *rn, const ps_ip4_t *servers, unsigned n)
{
    if (!rn->name || rn->asked || n == 0)
        return;
    rn->asked = true;
    rn->dns = ps_dns_new(s, servers, n);
    int rc = rn->dns ? ps_dns_resolve(rn->dns, rn->name, on_resolved, NULL) : -ENOMEM;
    if (rc < 0)
        printf("portstack: cannot resolve %s: %s\n", rn->name, ps_strerror(rc));
}

static void on_dhcp(void *ctx, enum ps_dhcp_state st, const struct ps_dhcp_lease *l)
{
    struct run_names *rn = ctx;
    char a[PS_IP4_STRLEN], r[PS_IP4_STRLEN], d[PS_IP4_STRLEN];
    if (st == PS_DHCP_BOUND && l) {
        printf("portstack: dhcp: BOUND %s/%u router %s dns %s lease %u s\n", ps_ip4_ntoa(l->addr, a), l->prefix,
               ps_ip4_ntoa(l->router, r), l->ndns ? ps_ip4_ntoa(l->dns[0], d) : "-", l->lease_s);
        if (rn->server)
            start_resolver(rn->s, rn, &rn->server, 1);
        else
            start_resolver(rn->s, rn, l->dns, l->ndns);
    } else {
        printf("portstack: dhcp: %s\n", ps_dhcp_state_name(st));
    }
    fflush(stdout);
}

static ps_time_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ps_time_t)ts.tv_sec * 1000000u + (ps_time_t)ts.tv_nsec / 1000u;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: portstack run --tap DEV (--address A.B.C.D/P | --dhcp) [OPTIONS]\n"
            "\n"
            "Runs a portstack host on the existing TAP device DEV (create it first, inside a\n"
            "network namespace: EXAMPLES in portstack(1)).  The host answers ARP and ping and\n"
            "does what the options ask until SIGINT or SIGTERM, --duration, or the end of a\n"
            "--send, --get or --post job; then it prints its counters and its socket table\n"
            "(as `ss -tuna`).  SIGUSR1 prints the interfaces, routes, ARP cache, counters,\n"
            "gauges (buffers, reassembly, sockets: held, peak, limit) and sockets, with each\n"
            "TCP connection's figures (rtt, cwnd, bytes, ...) as `ss -tunai` does.\n"
            "\n"
            "the host:\n"
            "  --tap DEV              the TAP device to run on (required; it must exist)\n"
            "  --address A.B.C.D/P    the host's address and prefix length, e.g. 192.0.2.2/24\n"
            "  --dhcp                 take the address, prefix, router and DNS servers from a\n"
            "                         DHCP server instead (RFC 2131); released at exit\n"
            "  --gateway ADDR         a default route through the router ADDR\n"
            "  --mtu N                the interface's MTU, 576..1500 (default 1500)\n"
            "  --no-offload           no virtio-net header offloads on the TAP device (checksum\n"
            "                         and TCP segmentation, 64 KiB super-packets both ways): one\n"
            "                         frame per system call\n"
            "  --rcvbuf BYTES         every TCP socket's receive buffer, 2048..%u\n"
            "  --sndbuf BYTES         every socket's send buffer, 2048..%u\n"
            "  --seed N               seed the random generator (ephemeral ports, initial\n"
            "                         sequence numbers, IDs) so a run can be replayed; default:\n"
            "                         64 bits from /dev/urandom\n"
            "  --duration SEC         stop after SEC seconds (default: at a signal)\n"
            "  --pcap FILE            write every frame sent and received to FILE (pcap)\n"
            "\n"
            "services (--serve SERVICE[:PORT],...; a service alone takes its well-known port):\n"
            "  --serve LIST           echo (RFC 862, port 7) and discard (RFC 863, port 9) over\n"
            "                         UDP and TCP; http (port 80) over TCP; dhcp (a DHCP server,\n"
            "                         port 67 only, needs --address: leases from --dhcp-pool\n"
            "                         with --gateway as router, and this host as DNS server when\n"
            "                         it serves dns); dns (an authoritative DNS server over UDP\n"
            "                         and TCP, port 53, for the --dns-record names); ntp (an\n"
            "                         SNTP server of this host's clock, port 123); at most %d,\n"
            "                         e.g. --serve echo:7,discard,http:8000\n"
            "  --docroot DIR          the directory http serves files from (GET and HEAD); http\n"
            "                         also serves /status and /status.json (the live socket table\n"
            "                         and counters) and POST /echo (the body's length and FNV-1a\n"
            "                         checksum)\n"
            "  --cert FILE            serve https (port 443: http over TLS, the same pages) with\n"
            "                         this certificate (PEM; a chain: the server's first), e.g.\n"
            "                         --serve https --cert server.crt --key server.key\n"
            "  --key FILE             the private key of --cert (PEM)\n"
            "  --dhcp-pool FIRST-LAST the addresses dhcp leases (default: the 16 after ours)\n"
            "  --dns-record NAME=ADDR|NAME=NAME\n"
            "                         a record dns serves: an A record, or a CNAME (repeatable,\n"
            "                         at most %d)\n"
            "\n"
            "clients:\n"
            "  --ping ADDR            ping ADDR, one probe a second, then print a summary\n"
            "  --ping-count N         probes to send, 1..65536 (default 5)\n"
            "  --ping-size BYTES      payload of each probe, 1..65507 (default 56)\n"
            "  --resolve NAME         look NAME up (A records, CNAME chains followed, TCP when\n"
            "                         the UDP answer comes truncated) once the host has an\n"
            "                         address, and print the addresses\n"
            "  --dns ADDR             the DNS server --resolve asks (with --dhcp: instead of\n"
            "                         the lease's); --resolve needs one or --dhcp\n"
            "  --sntp ADDR            set the stack's wall clock from the NTP server ADDR (SNTP,\n"
            "                         RFC 4330), then every 64 s\n"
            "  --send ADDR:PORT:BYTES connect by TCP to ADDR:PORT, send BYTES of a test pattern,\n"
            "                         half-close, check the echo is the same pattern, print the\n"
            "                         result and exit\n"
            "  --get URL              GET URL (http://A.B.C.D[:PORT]/PATH, or https:// over TLS\n"
            "                         verified with --cacert) with the HTTP/1.1 client; print the\n"
            "                         status, size and FNV-1a 64 checksum of the response body\n"
            "  --post URL             POST to URL, the body from the --data after it\n"
            "  --data STRING|@FILE    the body of the --post before it: STRING as it is, or the\n"
            "                         bytes of FILE (at most %u bytes); none: an empty body\n"
            "                         --get and --post (up to %d in all) go in order, on one\n"
            "                         kept-alive connection per server; the program exits after\n"
            "                         the last\n"
            "  --cacert FILE          the CA certificates (PEM) https:// servers are verified\n"
            "                         with (required for https://)\n"
            "  --servername NAME      the name an https:// server's certificate must carry, also\n"
            "                         sent as SNI (default: the URL's address, as text)\n"
            "  -h, --help             this text\n"
            "\n"
            "Exit status: 0 on success; 1 if the host could not start or a --send, --get or\n"
            "--post job failed (a 4xx or 5xx status too); 2 for bad arguments.\n",
            (unsigned)PS_MAX_SOCKBUF, (unsigned)PS_MAX_SOCKBUF, MAX_SERVE, CLI_MAX_DNS_RECORDS,
            (unsigned)PS_HTTP_CLIENT_MAX_REQUEST_BODY, CLI_FETCH_MAX);
}

/* Is o one of run's options?  The help text is the list (and the tests
 * hold the help, the man page and this parser to one another). */
static bool documented(const char *o)
{
    static char text[16384];
    FILE *f = fmemopen(text, sizeof(text) - 1, "w");
    if (!f)
        return false;
    usage(f);
    long n = ftell(f);
    fclose(f);
    text[n > 0 ? n : 0] = '\0';
    size_t ol = strlen(o);
    for (const char *p = strstr(text, o); p; p = strstr(p + 1, o))
        if ((p == text || !strchr("abcdefghijklmnopqrstuvwxyz-", p[-1])) &&
            !strchr("abcdefghijklmnopqrstuvwxyz-", p[ol] ? p[ol] : ' '))
            return true;
    return false;
}

/* An unsigned number lo..hi (decimal, or 0x hex); false, with the error
 * printed, if v is not one. */
static bool number(const char *o, const char *v, unsigned long long lo, unsigned long long hi,
                   unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 0);
    if (v[0] == '-' || end == v || *end || errno || n < lo || n > hi) {
        fprintf(stderr, "portstack run: %s wants a number %llu..%llu, not '%s'\n", o, lo, hi, v);
        return false;
    }
    *out = n;
    return true;
}

int cli_run(int argc, char **argv)
{
    const char *dev = NULL, *pcap_path = NULL;
    ps_ip4_t addr = 0, gw = 0;
    uint8_t prefix = 0;
    bool have_addr = false, use_dhcp = false;
    const char *resolve_name = NULL;
    ps_ip4_t dns_server = 0;
    ps_ip4_t send_addr = 0, sntp_server = 0;
    const char *docroot = NULL;
    const char *cert = NULL, *key = NULL; /* --serve https */
    static struct cli_fetch fetch; /* static: the --data bodies stay reachable on an early exit */
    memset(&fetch, 0, sizeof(fetch));
    unsigned send_port = 0;
    unsigned long long send_bytes = 0;
    unsigned mtu = 1500;
    unsigned tap_flags = 0, rcvbuf = 0, sndbuf = 0;
    double duration = 0;
    uint64_t seed = 0;
    bool seeded = false;
    struct ps_pinger_cfg pcfg = {.count = 5, .interval = PS_SEC(1), .size = 56};
    struct serve_spec serve[MAX_SERVE];
    unsigned nserve = 0;
    struct cli_servers servers;
    memset(&servers, 0, sizeof(servers));

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(o, "--dhcp") == 0) { /* the options without a value */
            use_dhcp = true;
            continue;
        }
        if (strcmp(o, "--no-offload") == 0) {
            tap_flags |= PS_TAP_NO_OFFLOAD;
            continue;
        }
        /* A value that is another option means this one's is missing
         * (only a --data body may start with "--"). */
        if (!v || (strncmp(v, "--", 2) == 0 && strcmp(o, "--data") != 0)) {
            if (documented(o))
                fprintf(stderr, "portstack run: %s needs a value\n", o);
            else
                fprintf(stderr, "portstack run: unknown option '%s' (portstack run --help lists them)\n", o);
            return 2;
        }
        i++;
        unsigned long long num;
        if (strcmp(o, "--tap") == 0) {
            dev = v;
            if (!*v || strlen(v) > 15 || strchr(v, '/')) {
                fprintf(stderr, "portstack run: --tap wants a device name (1..15 characters), not '%s'\n", v);
                return 2;
            }
        } else if (strcmp(o, "--address") == 0) {
            if (ps_ip4_parse_prefix(v, &addr, &prefix) != 0) {
                fprintf(stderr, "portstack run: --address wants A.B.C.D/P (with a prefix length), not '%s'\n", v);
                return 2;
            }
            have_addr = true;
        } else if (strcmp(o, "--send") == 0) {
            char a[32];
            if (sscanf(v, "%31[0-9.]:%u:%llu", a, &send_port, &send_bytes) != 3 || ps_ip4_aton(a, &send_addr) != 0 ||
                send_port < 1 || send_port > 65535) {
                fprintf(stderr, "portstack run: --send wants ADDR:PORT:BYTES, not '%s'\n", v);
                return 2;
            }
        } else if (strcmp(o, "--get") == 0 || strcmp(o, "--post") == 0) {
            struct cli_fetch_item *it = &fetch.items[fetch.n];
            if (fetch.n >= CLI_FETCH_MAX ||
                cli_fetch_parse(v, &it->addr, &it->port, it->path, sizeof(it->path)) != 0) {
                fprintf(stderr,
                        "portstack run: %s wants http[s]://A.B.C.D[:PORT]/PATH (at most %d requests), not '%s'\n", o,
                        CLI_FETCH_MAX, v);
                return 2;
            }
            it->post = o[2] == 'p';
            it->https = strncmp(v, "https:", 6) == 0;
            fetch.n++;
        } else if (strcmp(o, "--data") == 0) {
            struct cli_fetch_item *it = fetch.n ? &fetch.items[fetch.n - 1] : NULL;
            if (!it || !it->post || it->body) {
                fprintf(stderr, "portstack run: --data must follow a --post URL (one each)\n");
                return 2;
            }
            if (cli_fetch_set_body(it, v) != 0)
                return 2;
        } else if (cli_server_option(o)) { /* --dhcp-pool, --dns-record (servers.c) */
            if (cli_server_opt(&servers, o, v) != 0)
                return 2;
        } else if (strcmp(o, "--docroot") == 0) {
            docroot = v;
        } else if (strcmp(o, "--cert") == 0) {
            cert = v;
        } else if (strcmp(o, "--key") == 0) {
            key = v;
        } else if (strcmp(o, "--cacert") == 0) {
            fetch.cacert = v;
        } else if (strcmp(o, "--servername") == 0) {
            fetch.servername = v;
        } else if (strcmp(o, "--sntp") == 0) {
            if (ps_ip4_aton(v, &sntp_server) != 0) {
                fprintf(stderr, "portstack run: --sntp wants an address, not '%s'\n", v);
                return 2;
            }
        } else if (strcmp(o, "--resolve") == 0) {
            resolve_name = v;
        } else if (strcmp(o, "--dns") == 0) {
            if (ps_ip4_aton(v, &dns_server) != 0) {
                fprintf(stderr, "portstack run: --dns wants an address, not '%s'\n", v);
                return 2;
            }
        } else if (strcmp(o, "--gateway") == 0) {
            if (ps_ip4_aton(v, &gw) != 0) {
                fprintf(stderr, "portstack run: --gateway wants an address, not '%s'\n", v);
                return 2;
            }
        } else if (strcmp(o, "--pcap") == 0) {
            pcap_path = v;
        } else if (strcmp(o, "--mtu") == 0) {
            if (!number(o, v, 576, 1500, &num))
                return 2;
            mtu = (unsigned)num;
        } else if (strcmp(o, "--rcvbuf") == 0 || strcmp(o, "--sndbuf") == 0) {
            char *end;
            unsigned long n = strtoul(v, &end, 0);
            if (*end || n < 2048 || n > PS_MAX_SOCKBUF) {
                fprintf(stderr, "portstack run: %s must be 2048..%u bytes\n", o, (unsigned)PS_MAX_SOCKBUF);
                return 2;
            }
            *(o[2] == 'r' ? &rcvbuf : &sndbuf) = (unsigned)n;
        } else if (strcmp(o, "--seed") == 0) {
            if (!number(o, v, 0, UINT64_MAX, &num))
                return 2;
            seed = num;
            seeded = true;
        } else if (strcmp(o, "--duration") == 0) {
            char *end;
            duration = strtod(v, &end);
            if (end == v || *end || !(duration > 0 && duration < 1e9)) {
                fprintf(stderr, "portstack run: --duration wants seconds (a number above 0), not '%s'\n", v);
                return 2;
            }
        } else if (strcmp(o, "--serve") == 0) {
            if (parse_serve(v, serve, &nserve) != 0)
                return 2;
        } else if (strcmp(o, "--ping") == 0) {
            if (ps_ip4_aton(v, &pcfg.dst) != 0) {
                fprintf(stderr, "portstack run: --ping wants an address, not '%s'\n", v);
                return 2;
            }
        } else if (strcmp(o, "--ping-count") == 0) {
            if (!number(o, v, 1, 65536, &num))
                return 2;
            pcfg.count = (unsigned)num;
        } else if (strcmp(o, "--ping-size") == 0) {
            if (!number(o, v, 1, 65507, &num))
                return 2;
            pcfg.size = (size_t)num;
        } else {
            fprintf(stderr, "portstack run: unknown option '%s' (portstack run --help lists them)\n", o);
            return 2;
        }
    }
    bool tls_wanted = false, serve_https = false;
    for (unsigned i = 0; i < nserve; i++)
        serve_https |= strcmp(serve[i].name, "https") == 0;
    for (unsigned i = 0; i < fetch.n; i++)
        tls_wanted |= fetch.items[i].https;
#ifndef PS_HAVE_TLS
    if (serve_https || tls_wanted) {
        fprintf(stderr, "portstack run: https needs TLS, and this portstack was built without it (PS_TLS=OFF: "
                        "no mbedTLS)\n");
        return 2;
    }
#endif
    if (serve_https && (!cert || !key)) {
        fprintf(stderr, "portstack run: --serve https needs --cert FILE and --key FILE\n");
        return 2;
    }
    if (tls_wanted && !fetch.cacert) {
        fprintf(stderr, "portstack run: an https:// URL needs --cacert FILE (the CAs to verify the server with)\n");
        return 2;
    }
    if (resolve_name && !use_dhcp && !dns_server) {
        fprintf(stderr, "portstack run: --resolve needs --dns ADDR or --dhcp\n");
        return 2;
    }
    if (!dev || have_addr == use_dhcp) {
        fprintf(stderr, "portstack run: --tap and one of --address or --dhcp are required (portstack run --help)\n");
        return 2;
    }

    struct ps_config cfg;
    ps_config_default(&cfg);
    if (rcvbuf)
        cfg.tcp_rcvbuf = rcvbuf;
    if (sndbuf)
        cfg.sndbuf = sndbuf;
    if (seeded) {
        cfg.seed = seed;
    } else {
        /* A real host: seed from the kernel's entropy. */
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(&cfg.seed, sizeof(cfg.seed), 1, f) != 1) {
            fprintf(stderr, "portstack run: cannot read /dev/urandom\n");
            return 1;
        }
        fclose(f);
    }
    ps_time_t start = monotonic_us();
    struct ps_stack *s = ps_stack_new(&cfg, start);
    if (!s) {
        fprintf(stderr, "portstack run: out of memory\n");
        return 1;
    }
    ps_stack_set_name(s, dev);
    struct ps_tap *tap = ps_tap_open_ex(s, dev, NULL, (uint16_t)mtu, tap_flags);
    if (!tap) {
        fprintf(stderr, "portstack run: cannot open TAP device %s: %s\n", dev, strerror(errno));
        ps_stack_free(s);
        return 1;
    }
    struct ps_iface *ifc = ps_tap_iface(tap);
    int rc = use_dhcp ? 0 : ps_iface_add_addr(ifc, addr, prefix);
    if (rc == 0 && gw)
        rc = ps_route_add(s, 0, 0, gw, ifc);
    if (rc != 0) {
        fprintf(stderr, "portstack run: cannot configure %s: %s\n", dev, strerror(-rc));
        return 1;
    }
    struct ps_pcap *pc = NULL;
    if (pcap_path) {
        pc = ps_pcap_open(pcap_path, 0);
        if (!pc) {
            fprintf(stderr, "portstack run: cannot write %s: %s\n", pcap_path, strerror(errno));
            return 1;
        }
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        ps_pcap_set_epoch(pc, (uint64_t)wall.tv_sec * 1000000u + (uint64_t)wall.tv_nsec / 1000u - start);
        ps_pcap_attach(pc, ifc, false);
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_show;
    sigaction(SIGUSR1, &sa, NULL);

    char a[PS_IP4_STRLEN], m[PS_MAC_STRLEN];
    printf("portstack: %s/%u on %s (%s), mtu %u; SIGINT/SIGTERM to stop, SIGUSR1 for tables\n",
           ps_ip4_ntoa(addr, a), prefix, dev, ps_mac_ntoa(ps_iface_mac(ifc), m), mtu);
    fflush(stdout);

    struct ps_app *apps[MAX_SERVE] = {0};
    struct ps_http_server *http = NULL, *https = NULL;
    struct ps_tls_config *tls_server = NULL;
    for (unsigned i = 0; i < nserve; i++) {
        int err;
        if (strcmp(serve[i].name, "https") == 0) {
            if (https) {
                fprintf(stderr, "portstack run: one https service at a time\n");
                return 2;
            }
            if (!(https = start_https(s, serve[i].port, docroot, cert, key, &tls_server)))
                return 1;
            continue;
        }
        if (strcmp(serve[i].name, "http") == 0) {
            if (http) {
                fprintf(stderr, "portstack run: one http service at a time\n");
                return 2;
            }
            http = ps_http_start(s, 0, serve[i].port, docroot, &err);
            if (!http) {
                fprintf(stderr, "portstack run: cannot serve http on port %u: %s\n", serve[i].port,
                        ps_strerror(err));
                return 1;
            }
            printf("portstack: serving http on tcp port %u%s%s\n", ps_http_port(http), docroot ? " from " : "",
                   docroot ? docroot : "");
            continue;
        }
        if (cli_server_known(serve[i].name)) { /* dhcp, dns, ntp (servers.c) */
            servers.addr = addr, servers.prefix = prefix, servers.router = gw;
            servers.dns = dns_server;
            for (unsigned k = 0; k < nserve; k++)
                if (strcmp(serve[k].name, "dns") == 0)
                    servers.dns = addr; /* the clients' DNS server is this host */
            if (cli_server_start(&servers, s, serve[i].name, serve[i].port) != 0)
                return 1;
            continue;
        }
        apps[i] = ps_app_start(s, serve[i].name, 0, serve[i].port, &err);
        if (!apps[i]) {
            fprintf(stderr, "portstack run: cannot serve %s on port %u: %s\n", serve[i].name, serve[i].port,
                    ps_strerror(err));
            return 1;
        }
        printf("portstack: serving %s on udp port %u\n", ps_app_name(apps[i]), ps_app_port(apps[i]));
        printf("portstack: serving %s on tcp port %u\n", ps_app_name(apps[i]), ps_app_port(apps[i]));
    }
    fflush(stdout);

    struct run_names names = {.s = s, .name = resolve_name, .server = dns_server};
    struct ps_dhcp *dhcp = NULL;
    if (use_dhcp) {
        int err;
        dhcp = ps_dhcp_start(s, ifc, on_dhcp, &names, &err);
        if (!dhcp) {
            fprintf(stderr, "portstack run: cannot start DHCP: %s\n", ps_strerror(err));
            return 1;
        }
    } else if (resolve_name) {
        start_resolver(s, &names, dns_server ? &dns_server : NULL, dns_server ? 1 : 0);
    }

    struct ps_sntp *sntp = sntp_server ? ps_sntp_start(s, sntp_server, 64, on_sntp, s) : NULL;
    struct cli_bulk bulk = {.fd = -1};
    bool bulk_started = false;

    struct ps_pinger *pinger = NULL;
    if (pcfg.dst) {
        pinger = ps_pinger_new(s, &pcfg, on_probe, NULL);
        if (!pinger) {
            fprintf(stderr, "portstack run: cannot start the pinger\n");
            return 1;
        }
    }

    ps_time_t end = duration > 0 ? start + (ps_time_t)(duration * 1e6) : PS_TIME_NEVER;
    int status = 0;
    while (!stop_signal) {
        ps_time_t now = monotonic_us();
        if (now >= end)
            break;
        ps_time_t next = ps_stack_poll(s, now);
        if (pinger) {
            ps_time_t pn = ps_pinger_poll(pinger, now);
            if (pn < next)
                next = pn;
        }
        if (sntp && ps_iface_addr(ifc, 0, NULL, NULL)) {
            ps_time_t sn = ps_sntp_poll(sntp, now);
            if (sn < next)
                next = sn;
        }
        if (fetch.client) {
            ps_time_t fn = cli_fetch_poll(&fetch, now);
            if (fn < next)
                next = fn;
        }
        ps_time_t svn = cli_servers_poll(&servers, now);
        if (svn < next)
            next = svn;
        if (http) {
            ps_time_t hn = ps_http_poll(http, now);
            if (hn < next)
                next = hn;
        }
        if (https) {
            ps_time_t hn = ps_http_poll(https, now);
            if (hn < next)
                next = hn;
        }
        if (dhcp) {
            ps_time_t dn = ps_dhcp_poll(dhcp, now);
            if (dn < next)
                next = dn;
        }
        if (names.dns) {
            ps_time_t rn = ps_dns_poll(names.dns, now);
            if (rn < next)
                next = rn;
        }
        if (end < next)
            next = end;
        int timeout = next == PS_TIME_NEVER ? 1000 : (int)((next > now ? next - now : 0) / 1000 + 1);
        if (timeout > 1000)
            timeout = 1000;
        struct pollfd pfd = {.fd = ps_tap_fd(tap), .events = POLLIN};
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno != EINTR) {
            perror("portstack run: poll");
            status = 1;
            break;
        }
        if (n > 0 && ps_tap_poll(tap, monotonic_us(), 0) < 0) {
            fprintf(stderr, "portstack run: TAP device error: %s\n", strerror(errno));
            status = 1;
            break;
        }
        if (send_addr && !bulk_started && ps_iface_addr(ifc, 0, NULL, NULL)) {
            bulk_started = true;
            int brc = cli_bulk_start(&bulk, s, send_addr, (uint16_t)send_port, send_bytes);
            if (brc < 0) {
                fprintf(stderr, "portstack run: --send cannot connect: %s\n", ps_strerror(brc));
                status = 1;
                break;
            }
        }
        if (fetch.n && ps_iface_addr(ifc, 0, NULL, NULL)) {
            cli_fetch_pump(&fetch, s);
            if (cli_fetch_done(&fetch)) {
                if (fetch.failed)
                    status = 1;
                break;
            }
        }
        if (bulk_started && !bulk.done) {
            /* Keep the pipe full: pump until the socket takes no more. */
            while (cli_bulk_pump(&bulk))
                ps_stack_poll(s, monotonic_us());
            if (bulk.done) {
                cli_bulk_report(&bulk, stdout);
                fflush(stdout);
                if (bulk.err || bulk.mismatches || bulk.received != bulk.sent)
                    status = 1;
                break;
            }
        }
        if (show_signal) {
            show_signal = 0;
            cli_print_stack(s, stdout, true);
            ps_ss_print(s, stdout, PS_SS_INFO); /* with each TCP connection's figures, as ss -ti */
            printf("portstack: tables end\n"); /* a reader waiting for the dump knows it is whole */
            fflush(stdout);
        }
    }
    if (pinger) {
        struct ps_ping_summary sum;
        char t1[32], t2[32], t3[32];
        ps_pinger_summary(pinger, &sum);
        printf("portstack: ping %s: %u sent, %u received, %u errors, %u lost, rtt min/avg/max %s/%s/%s\n",
               ps_ip4_ntoa(pcfg.dst, a), sum.sent, sum.received, sum.errors, sum.lost, cli_fmt_ms(sum.rtt_min, t1),
               cli_fmt_ms(sum.rtt_avg, t2), cli_fmt_ms(sum.rtt_max, t3));
        ps_pinger_free(pinger);
    }
    if (bulk_started) {
        if (!bulk.done) {
            cli_bulk_report(&bulk, stdout);
            status = 1;
        }
        cli_bulk_close(&bulk);
    }
    if (fetch.n && !cli_fetch_done(&fetch))
        status = 1;
    cli_fetch_free(&fetch);
    ps_sntp_stop(sntp);
    if (names.dns) {
        const struct ps_dns_stats *ds = ps_dns_stats(names.dns);
        printf("portstack: resolver: %llu udp queries, %llu truncated, %llu tcp queries, %llu answers (%llu over tcp), "
               "%llu ignored, %llu timed out, %llu from cache\n",
               (unsigned long long)ds->udp_queries, (unsigned long long)ds->truncated,
               (unsigned long long)ds->tcp_queries, (unsigned long long)ds->answers,
               (unsigned long long)ds->tcp_answers, (unsigned long long)ds->ignored,
               (unsigned long long)ds->timeouts, (unsigned long long)ds->cache_hits);
    }
    ps_dns_free(names.dns);
    if (dhcp)
        ps_dhcp_stop(dhcp); /* DHCPRELEASE */
    printf("portstack: stopping%s; counters:\n", stop_signal ? " on signal" : "");
    cli_print_stack(s, stdout, true);
    printf("  [%s] sockets:\n", dev);
    ps_ss_print(s, stdout, 0);
    for (unsigned i = 0; i < nserve; i++)
        ps_app_stop(apps[i]);
    cli_servers_stop(&servers, stdout);
    stop_http("http", http);
    stop_http("https", https);
#ifdef PS_HAVE_TLS
    ps_tls_config_free(tls_server);
#endif
    if (pc) {
        ps_iface_set_capture(ifc, NULL, NULL);
        ps_pcap_close(pc);
    }
    ps_tap_close(tap);
    ps_stack_free(s);
    return status;
}
