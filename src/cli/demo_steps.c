/*
 * The demo's story, step by step: the servers start, then the camera takes
 * an address (DHCP), a name (DNS) and the time (SNTP), listens on 8000,
 * reports in over HTTPS, and the laptop fetches its pages.  Each step
 * narrates what its applications say and prints the socket tables.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <portstack/dhcp.h>
#include <portstack/dhcp_server.h>
#include <portstack/dns.h>
#include <portstack/dns_server.h>
#include <portstack/http.h>
#include <portstack/http_client.h>
#include <portstack/services.h>
#include <portstack/sim.h>
#include <portstack/sntp.h>
#include <portstack/sntp_server.h>
#include <portstack/socket.h>
#if PS_HAVE_TLS
#include <portstack/tls.h>
#endif

#include "cli.h"
#include "demo.h"

const char *demo_now_ms(struct demo *d, char buf[32])
{
    return cli_fmt_ms(ps_sim_now(d->sim), buf);
}

/* UTC microseconds as "2030-01-01 00:00:00.000123 UTC". */
static const char *fmt_utc(int64_t us, char buf[48])
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    if (us < 0 || !gmtime_r(&secs, &tm)) {
        snprintf(buf, 48, "(unknown)");
        return buf;
    }
    size_t n = strftime(buf, 48, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + n, 48 - n, ".%06lld UTC", (long long)(us % 1000000));
    return buf;
}

/* ---- callbacks: what the applications say -------------------------------------------- */

static void on_dhcpd(void *ctx, enum ps_dhcpd_event ev, const struct ps_dhcpd_lease *l)
{
    struct demo *d = ctx;
    char t[32], a[PS_IP4_STRLEN], m[PS_MAC_STRLEN];
    printf("    %12s  infra  DHCP server: %s %s %s %s\n", demo_now_ms(d, t), ps_dhcpd_event_name(ev),
           ps_ip4_ntoa(l->addr, a), ev == PS_DHCPD_EV_OFFER || ev == PS_DHCPD_EV_ACK ? "to" : "for",
           ps_mac_ntoa(&l->mac, m));
}

static void on_dhcp(void *ctx, enum ps_dhcp_state st, const struct ps_dhcp_lease *l)
{
    struct story *y = ctx;
    char t[32], a[PS_IP4_STRLEN], r[PS_IP4_STRLEN], n[PS_IP4_STRLEN];
    if (st == PS_DHCP_BOUND && l) {
        printf("    %12s  camera DHCP client: BOUND %s/%u, router %s, DNS %s, lease %u s\n", demo_now_ms(y->d, t),
               ps_ip4_ntoa(l->addr, a), l->prefix, ps_ip4_ntoa(l->router, r),
               l->ndns ? ps_ip4_ntoa(l->dns[0], n) : "-", l->lease_s);
        y->camera_addr = l->addr;
    } else {
        printf("    %12s  camera DHCP client: %s\n", demo_now_ms(y->d, t), ps_dhcp_state_name(st));
    }
}

static void on_resolved(void *ctx, const char *name, int err, const ps_ip4_t *addrs, unsigned n, uint32_t ttl)
{
    struct story *y = ctx;
    char a[PS_IP4_STRLEN];
    y->dns_done = true;
    y->dns_err = err;
    if (err) {
        printf("    resolving %s failed: %s\n", name, ps_strerror(err));
        return;
    }
    y->server_addr = addrs[0];
    printf("    %s is %s (%u record%s, ttl %u s)\n", name, ps_ip4_ntoa(addrs[0], a), n, n == 1 ? "" : "s", ttl);
}

static void on_sntp(void *ctx, const struct ps_sntp_result *r)
{
    struct story *y = ctx;
    y->sntp_done = true;
    y->sntp_err = r->err;
    y->sntp = *r;
}

static void keep_response(struct story *y, int which, const struct ps_http_response *r)
{
    struct seen *k = which < 0 ? &y->uplink : &y->page[which];
    k->done = true;
    k->err = r->err;
    k->status = r->status;
    k->len = r->body_len;
    snprintf(k->body, sizeof(k->body), "%.*s", (int)(r->body_len < 120 ? r->body_len : 120), r->err ? "" : r->body);
    for (char *c = k->body; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    for (size_t n = strlen(k->body); n && k->body[n - 1] == ' ';)
        k->body[--n] = '\0';
    if (which >= 0 && !r->err) {
        char me[32], needle[64];
        snprintf(needle, sizeof(needle), "\"peer\":\"%s\"",
                 demo_endpoint(y->page_local[which].addr, y->page_local[which].port, me));
        k->lists_itself = strstr(r->body, needle) != NULL;
    }
}

static void on_uplink(void *ctx, const struct ps_http_response *r)
{
    keep_response(ctx, -1, r);
}

static void on_page0(void *ctx, const struct ps_http_response *r)
{
    keep_response(ctx, 0, r);
}

static void on_page1(void *ctx, const struct ps_http_response *r)
{
    keep_response(ctx, 1, r);
}

/* ---- conditions to run until ---------------------------------------------------------------- */

static bool dhcp_bound(void *ctx)
{
    return ps_dhcp_state(((struct demo *)ctx)->dhcp) == PS_DHCP_BOUND;
}

static bool dns_done(void *ctx)
{
    return ((struct story *)ctx)->dns_done;
}

static bool sntp_done(void *ctx)
{
    return ((struct story *)ctx)->sntp_done;
}

static bool uplink_done(void *ctx)
{
    return ((struct story *)ctx)->uplink.done;
}

static bool pages_done(void *ctx)
{
    struct story *y = ctx;
    return y->page[0].done && y->page[1].done;
}

/* ---- sockets, as the story tells them ------------------------------------------------------------ */

struct find_conn {
    ps_ip4_t peer;
    uint16_t peer_port;
    unsigned skip;
    struct ps_sockaddr_in local;
    bool found;
};

static int find_conn(void *ctx, const struct ps_sock_info *si)
{
    struct find_conn *f = ctx;
    if (si->type != PS_SOCK_STREAM || strcmp(si->state, "ESTAB") != 0 || si->peer.addr != f->peer ||
        si->peer.port != f->peer_port)
        return 0;
    if (f->skip) {
        f->skip--;
        return 0;
    }
    f->local = si->local;
    f->found = true;
    return 1;
}

/* The (skip+1)th connection of stack s to peer:port; false if none. */
static bool conn_to(struct ps_stack *s, ps_ip4_t peer, uint16_t port, unsigned skip, struct ps_sockaddr_in *local)
{
    struct find_conn f = {.peer = peer, .peer_port = port, .skip = skip};
    ps_socket_foreach(s, find_conn, &f);
    *local = f.local;
    return f.found;
}

/* "192.0.2.100:49731 (ephemeral)" or "198.51.100.10:443 (well-known: https)":
 * the port's class (RFC 6335), dynamic ports being the ephemeral ones. */
static const char *fmt_port(const struct ps_sockaddr_in *a, char buf[80])
{
    char ip[PS_IP4_STRLEN];
    const char *svc = ps_service_name(a->port, PS_IP_PROTO_TCP), *cls = ps_port_class(a->port);
    snprintf(buf, 80, "%s:%u (%s%s%s)", ps_ip4_ntoa(a->addr, ip), a->port,
             strcmp(cls, "dynamic") == 0 ? "ephemeral" : cls, svc ? ": " : "", svc ? svc : "");
    return buf;
}

static void print_quad(const char *who, const struct ps_sockaddr_in *local, const struct ps_sockaddr_in *peer)
{
    char l[80], p[80];
    printf("    %-7s %s  <->  %s\n", who, fmt_port(local, l), fmt_port(peer, p));
}

/* ---- the steps ------------------------------------------------------------------------------------ */

void demo_start_servers(struct demo *d, struct story *y)
{
    int err;
    struct ps_dhcpd_config dc = {
        .server = DEMO_LAN_INFRA, .prefix = 24, .pool_first = DEMO_POOL_FIRST, .pool_last = DEMO_POOL_LAST,
        .router = DEMO_LAN_ROUTER, .dns = {DEMO_LAN_INFRA}, .ndns = 1,
    };
    d->dhcpd = ps_dhcpd_start(d->host[DEMO_INFRA], &dc, &err);
    if (d->dhcpd)
        ps_dhcpd_set_callback(d->dhcpd, on_dhcpd, d);
    d->dnsd = ps_dnsd_start(d->host[DEMO_INFRA], 0, 0, &err);
    if (d->dnsd) {
        ps_dnsd_add_a(d->dnsd, DEMO_SERVER_NAME, DEMO_WAN_SERVER, 0);
        ps_dnsd_add_cname(d->dnsd, "time.example", DEMO_SERVER_NAME, 0);
    }
    /* The server's clock is right (it has a GPS receiver); the camera's
     * starts at 1970, knowing nothing. */
    ps_stack_set_realtime_offset(d->host[DEMO_SERVER], DEMO_SERVER_EPOCH_S * 1000000);
    struct ps_sntpd_config nc = {.stratum = 1, .refid = "GPS"};
    d->sntpd = ps_sntpd_start(d->host[DEMO_SERVER], 0, 0, &nc, &err);
#if PS_HAVE_TLS
    if (y->tls)
        d->srv_https = ps_https_start(d->host[DEMO_SERVER], 0, 443, NULL, d->tls_server, &err);
#endif
    if (!y->tls)
        d->srv_https = ps_http_start(d->host[DEMO_SERVER], 0, 443, NULL, &err);
}

bool demo_step_dhcp(struct demo *d, struct story *y)
{
    printf("1. DHCP.  The camera has no address yet.  Its DHCP client broadcasts from\n"
           "   port 68 (bootpc) to port 67 (bootps), and infra's server answers the same way:\n");
    int err;
    demo_sync(d);
    d->dhcp = ps_dhcp_start(d->host[DEMO_CAMERA], d->ifc[0], on_dhcp, y, &err);
    if (!d->dhcp) {
        printf("    cannot start the DHCP client: %s\n", ps_strerror(err));
        return false;
    }
    d->narrate = 8;
    bool ok = demo_run_until(d, dhcp_bound, d, PS_SEC(300));
    d->narrate = 0;
    printf("\n   DHCP is the one protocol here whose client has a well-known port too: the\n"
           "   camera cannot be answered at an address it does not have yet.  Both ends are\n"
           "   unconnected (UNCONN) sockets bound to every address (*):\n");
    demo_tables(d, "after DHCP", DEMO_HOST(DEMO_CAMERA) | DEMO_HOST(DEMO_INFRA));
    return ok;
}

bool demo_step_dns(struct demo *d, struct story *y)
{
    const struct ps_dhcp_lease *l = ps_dhcp_lease(d->dhcp);
    char ns[PS_IP4_STRLEN];
    printf("2. DNS.  The camera asks infra (the lease's DNS server) for %s.  The query\n"
           "   leaves from a fresh socket, connected to %s:53 from an ephemeral port its\n"
           "   stack picked at random (RFC 6056, RFC 5452).  It waits for ARP to find infra's\n"
           "   MAC address; the tables while it is on its way:\n",
           DEMO_SERVER_NAME, ps_ip4_ntoa(l->dns[0], ns));
    demo_sync(d);
    d->narrate = 6;
    d->dns = ps_dns_new(d->host[DEMO_CAMERA], l->dns, l->ndns);
    int rc = d->dns ? ps_dns_resolve(d->dns, DEMO_SERVER_NAME, on_resolved, y) : -1;
    if (rc < 0) {
        printf("    cannot resolve: %s\n", ps_strerror(rc));
        return false;
    }
    demo_tables(d, "DNS query in flight", DEMO_HOST(DEMO_CAMERA) | DEMO_HOST(DEMO_INFRA));
    demo_run_until(d, dns_done, y, PS_SEC(30));
    d->narrate = 0;
    printf("   The answer came back to the port the query left from; that socket is closed\n"
           "   now and its port free again.\n\n");
    return y->dns_done && y->dns_err == 0;
}

bool demo_step_sntp(struct demo *d, struct story *y)
{
    char was[48], is[48], t[32], rt[32];
    printf("3. SNTP.  The camera's clock says %s: it must learn the time\n"
           "   before it can check a certificate's dates.  It asks the NTP service of\n"
           "   %s (port 123), again from an ephemeral port; the tables meanwhile:\n",
           fmt_utc(ps_stack_realtime(d->host[DEMO_CAMERA]), was), DEMO_SERVER_NAME);
    demo_sync(d);
    d->narrate = 6;
    d->sntp = ps_sntp_start(d->host[DEMO_CAMERA], y->server_addr, 0, on_sntp, y);
    if (!d->sntp)
        return false;
    ps_sntp_poll(d->sntp, ps_sim_now(d->sim)); /* the request leaves now */
    demo_tables(d, "SNTP request in flight", DEMO_HOST(DEMO_CAMERA) | DEMO_HOST(DEMO_SERVER));
    demo_run_until(d, sntp_done, y, PS_SEC(30));
    d->narrate = 0;
    if (!y->sntp_done || y->sntp_err) {
        printf("    no time: %s\n\n", ps_strerror(y->sntp_err ? y->sntp_err : -ETIMEDOUT));
        return false;
    }
    int64_t off = y->sntp.offset_us < 0 ? -y->sntp.offset_us : y->sntp.offset_us;
    printf("    %12s  camera clock set to %s\n"
           "                  (moved %s%" PRId64 ".%06" PRId64 " s; round trip %s; server stratum %u)\n\n",
           demo_now_ms(d, t), fmt_utc(ps_stack_realtime(d->host[DEMO_CAMERA]), is), y->sntp.offset_us < 0 ? "-" : "+",
           off / 1000000, off % 1000000, cli_fmt_ms((ps_time_t)y->sntp.delay_us, rt), y->sntp.stratum);
    return true;
}

bool demo_step_listen(struct demo *d)
{
    int err;
    demo_sync(d);
    d->cam_http = ps_http_start(d->host[DEMO_CAMERA], 0, DEMO_CAMERA_PORT, NULL, &err);
    if (!d->cam_http) {
        printf("    cannot listen on %u: %s\n", DEMO_CAMERA_PORT, ps_strerror(err));
        return false;
    }
    printf("4. The camera opens its configuration page: portstack's HTTP server listens on\n"
           "   port %u (a registered port, not a well-known one: no root needed on a real\n"
           "   host).  A LISTEN socket has no peer; it waits for connections to any address:\n",
           DEMO_CAMERA_PORT);
    demo_tables(d, "camera listening", DEMO_HOST(DEMO_CAMERA));
    return true;
}

bool demo_step_uplink(struct demo *d, struct story *y)
{
    char body[128], addr[PS_IP4_STRLEN];
    if (y->tls)
        printf("5. HTTPS.  The camera reports in to %s:443 over TLS, checking the\n"
               "   server's certificate against the CA in its firmware and its clock, and keeps\n"
               "   the connection open:\n",
               DEMO_SERVER_NAME);
    else
        printf("5. The uplink to %s:443 -- PLAIN TCP, NOT TLS: this portstack was built\n"
               "   without TLS (PS_TLS=OFF), so the camera speaks plain HTTP to port 443.  It\n"
               "   reports in and keeps the connection open:\n",
               DEMO_SERVER_NAME);
    demo_sync(d);
#if PS_HAVE_TLS
    if (y->tls)
        d->uplink = ps_https_client_new(d->host[DEMO_CAMERA], y->server_addr, 443, DEMO_SERVER_NAME, d->tls_client);
#endif
    if (!y->tls)
        d->uplink = ps_http_client_new(d->host[DEMO_CAMERA], y->server_addr, 443, DEMO_SERVER_NAME);
    int n = snprintf(body, sizeof(body), "camera %s online", ps_ip4_ntoa(y->camera_addr, addr));
    d->narrate = 10;
    if (!d->uplink || ps_http_request(d->uplink, "POST", "/echo", body, (size_t)n, on_uplink, y) != 0)
        return false;
    demo_run_until(d, uplink_done, y, PS_SEC(60));
    d->narrate = 0;
    if (!y->uplink.done || y->uplink.err || y->uplink.status != 200) {
        printf("    the report failed: %s (status %d)\n\n", ps_strerror(y->uplink.err), y->uplink.status);
        return false;
    }
    printf("    ...\n    server.example took the report: %d, \"%s\"\n    %s\n\n", y->uplink.status, y->uplink.body,
           y->tls ? "(over TLS: its certificate verified for server.example, dates checked by the SNTP clock)"
                  : "(in the clear: anyone on the path could read or change it)");
    printf("   The same connection seen from both ends: the camera's ephemeral port against\n"
           "   the server's well-known one, and on the server the listener beside it:\n");
    demo_tables(d, "uplink established", DEMO_HOST(DEMO_CAMERA) | DEMO_HOST(DEMO_SERVER));
    return true;
}

bool demo_step_laptop(struct demo *d, struct story *y)
{
    printf("6. The laptop opens the camera's pages, / and /status.json, over two\n"
           "   connections at once, as a browser does; each from its own ephemeral port:\n");
    demo_sync(d);
    d->narrate = 8;
    for (int i = 0; i < 2; i++)
        d->browser[i] = ps_http_client_new(d->host[DEMO_LAPTOP], y->camera_addr, DEMO_CAMERA_PORT, "camera");
    if (!d->browser[0] || !d->browser[1] ||
        ps_http_request(d->browser[0], "GET", "/", NULL, 0, on_page0, y) != 0 ||
        ps_http_request(d->browser[1], "GET", "/status.json", NULL, 0, on_page1, y) != 0)
        return false;
    /* Each request's connect() has picked its port by now. */
    for (unsigned i = 0; i < 2; i++)
        conn_to(d->host[DEMO_LAPTOP], y->camera_addr, DEMO_CAMERA_PORT, i, &y->page_local[i]);
    demo_run_until(d, pages_done, y, PS_SEC(60));
    d->narrate = 0;
    /* The ports as the sockets have them, now that both are connected. */
    for (unsigned i = 0; i < 2; i++)
        conn_to(d->host[DEMO_LAPTOP], y->camera_addr, DEMO_CAMERA_PORT, i, &y->page_local[i]);
    bool ok = true;
    const char *what[2] = {"/", "/status.json"};
    for (int i = 0; i < 2; i++) {
        if (!y->page[i].done || y->page[i].err || y->page[i].status != 200) {
            printf("    GET %s failed: %s (status %d)\n", what[i], ps_strerror(y->page[i].err), y->page[i].status);
            ok = false;
            continue;
        }
        printf("    ...\n    GET %-12s -> %d, %zu bytes\n", what[i], y->page[i].status, y->page[i].len);
    }
    if (ok && y->page[1].lists_itself)
        printf("    The camera's /status.json lists the very connection that fetched it.\n");
    printf("\n   Now the camera holds three conversations, each its own quadruple (source\n"
           "   address and port, destination address and port).  Two share the camera's\n"
           "   port %u and differ only in the laptop's port; TCP tells them apart by the\n"
           "   whole quadruple, never by the port alone:\n",
           DEMO_CAMERA_PORT);
    demo_tables(d, "three conversations", DEMO_HOST(DEMO_CAMERA) | DEMO_HOST(DEMO_LAPTOP));
    struct ps_sockaddr_in cam = {y->camera_addr, DEMO_CAMERA_PORT}, srv = {y->server_addr, 443}, up;
    for (int i = 0; i < 2; i++)
        print_quad("laptop", &y->page_local[i], &cam);
    if (conn_to(d->host[DEMO_CAMERA], y->server_addr, 443, 0, &up))
        print_quad("camera", &up, &srv);
    printf("\n");
    return ok;
}
