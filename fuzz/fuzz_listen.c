/*
 * libFuzzer target: frames into a host with listening TCP and UDP sockets,
 * all at one instant (records as in fuzz_host.h; no time passes between
 * them, only at the end).
 *
 *   eth0 192.0.2.1/24, MTU 1500
 *
 * Listening: echo and discard over UDP and TCP (7, 9), the HTTP server
 * (80), the DNS server (UDP and TCP 53: host.example.test and a CNAME to
 * it), the DHCP server (UDP 67, a pool of 192.0.2.100-109), a TCP listener
 * on 8080 with a backlog of 1 that accepts only when told (its accept
 * queue fills, its half-open queue of 4 overflows into SYN cookies), and a
 * UDP socket on 5353 that never reads.  With op bit 5
 * the fuzzer's segments continue the handshakes the stack answered, so
 * data reaches the services.
 *
 * Commands (op >= 0xf0): accept one connection on 8080, write the record's
 * bytes to it, and close it (op bit 0: abortively, SO_LINGER 0).
 *
 * Oracles: those of fuzz_host.h.
 */
#include <portstack/apps.h>
#include <portstack/dhcp_server.h>
#include <portstack/dns_server.h>
#include <portstack/http.h>

#include "fuzz_host.h"

struct listen_ctx {
    struct ps_http_server *http;
    struct ps_dnsd *dns;
    struct ps_dhcpd *dhcp;
    int lfd;
};

static void listen_command(struct fuzz_host *h, uint8_t op, const uint8_t *arg, size_t len)
{
    struct listen_ctx *c = h->ctx;
    struct ps_sockaddr_in from;
    int fd = ps_accept(h->s, c->lfd, &from);
    if (fd < 0)
        return;
    ps_send(h->s, fd, arg, len, 0);
    if (op & 1) {
        struct ps_linger l = {1, 0};
        ps_setsockopt(h->s, fd, PS_SOL_SOCKET, PS_SO_LINGER, &l, sizeof(l));
    }
    ps_close(h->s, fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ps_config cfg;
    fh_config(&cfg);
    struct fuzz_host h;
    struct listen_ctx c;
    fh_init(&h, &cfg, false);
    h.ctx = &c;
    h.command = listen_command;
    fh_add_iface(&h, "eth0", 1500, PS_IP4(192, 0, 2, 1), 24);

    int err;
    struct ps_app *echo = ps_app_start(h.s, "echo", 0, 7, &err);
    struct ps_app *discard = ps_app_start(h.s, "discard", 0, 9, &err);
    c.http = ps_http_start(h.s, 0, 80, NULL, &err);
    c.dns = ps_dnsd_start(h.s, 0, 53, &err);
    struct ps_dhcpd_config dc = {.server = PS_IP4(192, 0, 2, 1), .prefix = 24, .pool_first = PS_IP4(192, 0, 2, 100),
                                 .pool_last = PS_IP4(192, 0, 2, 109), .router = PS_IP4(192, 0, 2, 1),
                                 .dns = {PS_IP4(192, 0, 2, 1)}, .ndns = 1, .lease_s = 600};
    c.dhcp = ps_dhcpd_start(h.s, &dc, &err);
    FUZZ_MUST(echo && discard && c.http && c.dns && c.dhcp, "cannot start the services");
    ps_dnsd_add_a(c.dns, "host.example.test", PS_IP4(192, 0, 2, 80), 300);
    ps_dnsd_add_cname(c.dns, "www.example.test", "host.example.test", 60);
    c.lfd = ps_socket(h.s, PS_SOCK_STREAM);
    int quiet = ps_socket(h.s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in la = {0, 8080}, qa = {0, 5353};
    FUZZ_MUST(ps_bind(h.s, c.lfd, &la) == 0 && ps_listen(h.s, c.lfd, 1) == 0, "TCP listener");
    FUZZ_MUST(ps_bind(h.s, quiet, &qa) == 0, "UDP socket");

    fh_run(&h, data, size);

    ps_app_stop(echo);
    ps_app_stop(discard);
    ps_http_stop(c.http);
    ps_dnsd_stop(c.dns);
    ps_dhcpd_stop(c.dhcp);
    ps_close(h.s, c.lfd);
    ps_close(h.s, quiet);
    fh_finish(&h);
    return 0;
}
