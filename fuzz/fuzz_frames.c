/*
 * libFuzzer target: sequences of frames with time steps between them, into
 * a stack acting as a router between two Ethernet interfaces, with timers
 * firing in between (records as in fuzz_host.h; op bits 1-3 are the step).
 *
 *   eth0 192.0.2.1/24 (MTU 1500)   eth1 198.51.100.1/24 (MTU 576)
 *   route 203.0.113.0/24 via 198.51.100.2
 *
 * Sockets: echo (UDP and TCP, port 7), a UDP socket on 5353 that never
 * reads (its queue fills), one connected to 198.51.100.2:53 (ICMP errors
 * aimed at it), and two TCP connections the stack opens itself, to
 * 192.0.2.2:5000 and through the router to 203.0.113.9:80 (SYN
 * retransmissions, ARP, ICMP errors).  fuzz_listen has the other services.
 *
 * Commands (op >= 0xf0):
 *   0xf0-0xf7  the stack pings the address in the record's first 4 bytes
 *              with (len % 5000) bytes
 *   0xf8-0xfb  connection (op & 1) sends the record's bytes
 *   0xfc-0xff  connection (op & 1) shuts down its sending side
 *
 * Oracles: those of fuzz_host.h.
 */
#include <errno.h>
#include <string.h>

#include <portstack/apps.h>

#include "fuzz_host.h"

struct frames_ctx {
    int conn[2];
};

static void frames_command(struct fuzz_host *h, uint8_t op, const uint8_t *arg, size_t len)
{
    struct frames_ctx *c = h->ctx;
    if (op < 0xf8) {
        if (len >= 4)
            ps_icmp_echo_request(h->s, ps_get32(arg), 7, op, 0, NULL, len % 5000);
    } else if (op < 0xfc) {
        ps_send(h->s, c->conn[op & 1], arg, len, 0);
    } else {
        ps_shutdown(h->s, c->conn[op & 1], PS_SHUT_WR);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ps_config cfg;
    fh_config(&cfg);
    cfg.ip_forwarding = true;
    struct fuzz_host h;
    struct frames_ctx c;
    fh_init(&h, &cfg, true);
    h.ctx = &c;
    h.command = frames_command;
    struct ps_iface *eth1;
    fh_add_iface(&h, "eth0", 1500, PS_IP4(192, 0, 2, 1), 24);
    eth1 = fh_add_iface(&h, "eth1", 576, PS_IP4(198, 51, 100, 1), 24);
    FUZZ_MUST(ps_route_add(h.s, PS_IP4(203, 0, 113, 0), 24, PS_IP4(198, 51, 100, 2), eth1) == 0, "route");

    int err;
    struct ps_app *echo = ps_app_start(h.s, "echo", 0, 7, &err);
    FUZZ_MUST(echo != NULL, "cannot start echo");
    int quiet = ps_socket(h.s, PS_SOCK_DGRAM), conn = ps_socket(h.s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in qa = {0, 5353}, ca = {PS_IP4(198, 51, 100, 2), 53};
    FUZZ_MUST(ps_bind(h.s, quiet, &qa) == 0 && ps_connect(h.s, conn, &ca) == 0, "UDP sockets");
    const struct ps_sockaddr_in to[2] = {{PS_IP4(192, 0, 2, 2), 5000}, {PS_IP4(203, 0, 113, 9), 80}};
    for (int i = 0; i < 2; i++) {
        c.conn[i] = ps_socket(h.s, PS_SOCK_STREAM);
        FUZZ_MUST(ps_connect(h.s, c.conn[i], &to[i]) == -EINPROGRESS, "TCP connect");
    }

    fh_run(&h, data, size);

    /* Everything closes; fh_finish lets an hour pass and checks that
     * every buffer and socket came back. */
    ps_app_stop(echo);
    ps_close(h.s, quiet);
    ps_close(h.s, conn);
    ps_close(h.s, c.conn[0]);
    ps_close(h.s, c.conn[1]);
    fh_finish(&h);
    return 0;
}
