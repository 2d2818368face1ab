/*
 * libFuzzer target: arbitrary frames, with arbitrary time steps between
 * them, into a stack acting as a router between two Ethernet interfaces.
 *
 * Input: records of [op:1][len:2, little-endian][frame:len].
 *   op bit 0     which interface the frame arrives on
 *   op bits 1-3  time step before it: 0, 1 ms, 10 ms, 100 ms, 1 s, 10 s, 60 s, 10 min
 *   op >= 0xf0   instead of a frame, the stack itself pings the address in
 *                the record's first 4 bytes with (len % 5000) bytes
 *
 * UDP sockets listen too: echo on 7 (answering from its callback), a
 * socket bound to 5353 that never reads (its queue fills to its bound), and
 * one connected to 198.51.100.2:53 (ICMP errors aimed at it).
 *
 * Oracles, beyond the sanitizers: every frame the stack sends must parse
 * (Ethernet, ARP or an IPv4 header with a valid checksum, a whole ICMP
 * message with a valid checksum); and after an hour of quiet every buffer
 * must be back in its pool (no leak through any queue or timer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/apps.h>
#include <portstack/portstack.h>
#include <portstack/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz oracle failed: %s\n", what);
        abort();
    }
}

static int check_output(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    struct ps_eth_hdr eh;
    (void)ctx;
    must(len <= (size_t)ps_iface_mtu(ifc) + PS_ETH_HLEN, "frame longer than the MTU");
    must(ps_eth_parse(frame, len, &eh) == PS_ETH_HLEN, "sent an unparsable Ethernet frame");
    const uint8_t *p = frame + PS_ETH_HLEN;
    size_t n = len - PS_ETH_HLEN;
    if (eh.type == PS_ETHERTYPE_ARP) {
        struct ps_arp_pkt a;
        must(ps_arp_parse(p, n, &a) == PS_ARP_LEN, "sent a bad ARP packet");
        return 0;
    }
    must(eh.type == PS_ETHERTYPE_IPV4, "sent an unknown EtherType");
    struct ps_ipv4_hdr ih;
    must(ps_ipv4_parse(p, n, &ih) > 0, "sent a bad IPv4 header");
    if (ih.proto == PS_IP_PROTO_ICMP && !ih.mf && ih.frag_off == 0) {
        struct ps_icmp_hdr ic;
        must(ps_icmp_parse(p + ih.hlen, (size_t)ih.total_len - ih.hlen, &ic) == PS_ICMP_HLEN,
             "sent a bad ICMP message");
    }
    return 0;
}

static const ps_time_t steps[8] = {0, PS_MS(1), PS_MS(10), PS_MS(100), PS_SEC(1), PS_SEC(10), PS_SEC(60), PS_SEC(600)};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 1;
    cfg.pbuf_small_count = 48; /* small pools: exhaustion is reachable */
    cfg.pbuf_large_count = 2;
    cfg.arp_cache_size = 8;
    cfg.reasm_max_datagrams = 4;
    cfg.reasm_max_pbufs = 16;
    cfg.max_sockets = 16;
    cfg.ip_forwarding = true;
    ps_time_t now = PS_SEC(1);
    struct ps_stack *s = ps_stack_new(&cfg, now);
    if (!s)
        return 0;
    ps_mac_t m0 = {{0x02, 0, 0, 0, 0, 1}}, m1 = {{0x02, 0, 0, 0, 0, 2}};
    struct ps_iface *ifc[2];
    ifc[0] = ps_iface_add(s, "eth0", &m0, 1500, check_output, NULL);
    ifc[1] = ps_iface_add(s, "eth1", &m1, 576, check_output, NULL);
    ps_iface_add_addr(ifc[0], PS_IP4(192, 0, 2, 1), 24);
    ps_iface_add_addr(ifc[1], PS_IP4(198, 51, 100, 1), 24);
    ps_route_add(s, PS_IP4(203, 0, 113, 0), 24, PS_IP4(198, 51, 100, 2), ifc[1]);
    int err;
    struct ps_app *echo = ps_app_start(s, "echo", 0, 7, &err);
    int quiet = ps_socket(s, PS_SOCK_DGRAM), conn = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in qa = {0, 5353}, ca = {PS_IP4(198, 51, 100, 2), 53};
    ps_bind(s, quiet, &qa);
    ps_connect(s, conn, &ca);

    while (size >= 3) {
        uint8_t op = data[0];
        size_t len = (size_t)data[1] | (size_t)data[2] << 8;
        data += 3;
        size -= 3;
        if (len > size)
            len = size;
        now += steps[(op >> 1) & 7];
        ps_stack_poll(s, now);
        if (op >= 0xf0) {
            if (len >= 4)
                ps_icmp_echo_request(s, ps_get32(data), 7, op, 0, NULL, len % 5000);
        } else {
            ps_iface_input(ifc[op & 1], data, len, now);
        }
        data += len;
        size -= len;
    }
    /* Sockets release what they queued; then an hour of quiet: every timer
     * runs out, every queue drains. */
    ps_app_stop(echo);
    ps_close(s, quiet);
    ps_close(s, conn);
    for (int i = 0; i < 120; i++) {
        now += PS_SEC(30);
        ps_stack_poll(s, now);
    }
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(s, &sf, &st, &lf, &lt);
    must(sf == st && lf == lt, "buffers leaked");
    ps_stack_free(s);
    return 0;
}
