/*
 * fuzz/fuzz_host.c - the stack under fuzz for the frame-level targets:
 * record decoding, checksum and sequence-number fix-ups, the output
 * oracle, and the checks after each record and at the end.
 */
#include <string.h>

#include "fuzz_host.h"

void fh_config(struct ps_config *cfg)
{
    ps_config_default(cfg);
    cfg->seed = 1;
    cfg->port_rekey_ms = 0;
    cfg->pbuf_small_count = 48; /* small pools: exhaustion is reachable */
    cfg->pbuf_large_count = 2;
    cfg->arp_cache_size = 8;
    cfg->reasm_max_datagrams = 4;
    cfg->reasm_max_pbufs = 16;
    cfg->max_sockets = 24;
    cfg->tcp_synq_max = 4;      /* SYN cookies after four half-open */
    cfg->tcp_timewait_max = 4;
    cfg->tcp_rcvbuf = 8192;     /* windows fill after a few segments */
    cfg->sndbuf = 8192;
    cfg->udp_rcvq_max = 4;
}

/* ---- what the stack sends ---------------------------------------------------------- */

static struct fh_flow *flow_find(struct fuzz_host *h, ps_ip4_t raddr, uint16_t rport, uint16_t lport,
                                 bool make)
{
    struct fh_flow *oldest = &h->flow[0];
    for (unsigned i = 0; i < FH_FLOWS; i++) {
        struct fh_flow *f = &h->flow[i];
        if (f->used && f->raddr == raddr && f->rport == rport && f->lport == lport)
            return f;
        if (f->used < oldest->used)
            oldest = f;
    }
    if (!make)
        return NULL;
    memset(oldest, 0, sizeof(*oldest));
    oldest->raddr = raddr;
    oldest->rport = rport;
    oldest->lport = lport;
    return oldest;
}

/* Remember what a segment we sent tells its peer. */
static void track_tcp(struct fuzz_host *h, const struct ps_ipv4_hdr *ih, const struct ps_tcp_hdr *th,
                      size_t dlen)
{
    if (th->flags & PS_TCP_RST)
        return;
    bool fresh = false;
    struct fh_flow *f = flow_find(h, ih->dst, th->dport, th->sport, false);
    if (!f) {
        f = flow_find(h, ih->dst, th->dport, th->sport, true);
        fresh = true;
    }
    uint32_t end = th->seq + (uint32_t)dlen + ((th->flags & PS_TCP_SYN) ? 1u : 0u) + ((th->flags & PS_TCP_FIN) ? 1u : 0u);
    if (fresh || (th->flags & PS_TCP_SYN) || (int32_t)(end - f->snd_max) > 0)
        f->snd_max = end;
    if (th->flags & PS_TCP_ACK)
        f->ack = th->ack;
    f->used = ++h->tick;
}

/* The output oracle: every frame must parse, within the MTU. */
static int fh_transmit(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    struct fuzz_host *h = ctx;
    struct ps_eth_hdr eh;
    FUZZ_MUST(len <= (size_t)ps_iface_mtu(ifc) + PS_ETH_HLEN, "frame longer than the MTU");
    FUZZ_MUST(ps_eth_parse(frame, len, &eh) == PS_ETH_HLEN, "sent an unparsable Ethernet frame");
    const uint8_t *p = frame + PS_ETH_HLEN;
    size_t n = len - PS_ETH_HLEN;
    if (eh.type == PS_ETHERTYPE_ARP) {
        struct ps_arp_pkt a;
        FUZZ_MUST(ps_arp_parse(p, n, &a) == PS_ARP_LEN, "sent a bad ARP packet");
        return 0;
    }
    FUZZ_MUST(eh.type == PS_ETHERTYPE_IPV4, "sent an unknown EtherType");
    struct ps_ipv4_hdr ih;
    FUZZ_MUST(ps_ipv4_parse(p, n, &ih) > 0, "sent a bad IPv4 header");
    /* What we forward as a router is someone else's; what we originate
     * must be whole and right. */
    if (!ps_ip_is_local(h->s, ih.src) || ih.mf || ih.frag_off)
        return 0;
    const uint8_t *l4 = p + ih.hlen;
    size_t l4len = (size_t)ih.total_len - ih.hlen;
    if (ih.proto == PS_IP_PROTO_ICMP) {
        struct ps_icmp_hdr ic;
        FUZZ_MUST(ps_icmp_parse(l4, l4len, &ic) == PS_ICMP_HLEN, "sent a bad ICMP message");
    } else if (ih.proto == PS_IP_PROTO_UDP) {
        struct ps_udp_hdr uh;
        FUZZ_MUST(ps_udp_parse(l4, l4len, ih.src, ih.dst, &uh) == PS_UDP_HLEN, "sent a bad UDP datagram");
    } else if (ih.proto == PS_IP_PROTO_TCP) {
        struct ps_tcp_hdr th;
        int hl = ps_tcp_parse(l4, l4len, ih.src, ih.dst, &th);
        FUZZ_MUST(hl >= PS_TCP_HLEN, "sent a bad TCP segment");
        track_tcp(h, &ih, &th, l4len - (size_t)hl);
    }
    return 0;
}

/* ---- what the fuzzer sends ------------------------------------------------------------ */

/* Apply the record's fix-ups to the frame in place (see fuzz_host.h). */
static void fix_frame(struct fuzz_host *h, uint8_t *f, size_t len, uint8_t op)
{
    if (len < PS_ETH_HLEN + PS_IPV4_HLEN || ps_get16(f + 12) != PS_ETHERTYPE_IPV4)
        return;
    uint8_t *ip = f + PS_ETH_HLEN;
    size_t n = len - PS_ETH_HLEN, hl = (size_t)(ip[0] & 15) * 4, tot = ps_get16(ip + 2);
    if ((ip[0] >> 4) != 4 || hl < PS_IPV4_HLEN || hl > n)
        return;
    if (tot < hl || tot > n)
        tot = n;
    uint8_t *l4 = ip + hl;
    size_t l4len = tot - hl;
    ps_ip4_t src = ps_get32(ip + 12), dst = ps_get32(ip + 16);
    bool whole = (ps_get16(ip + 6) & 0x3fff) == 0; /* neither MF nor an offset */
    if ((op & FH_OP_TCP_REL) && whole && ip[9] == PS_IP_PROTO_TCP && l4len >= PS_TCP_HLEN) {
        const struct fh_flow *fl = flow_find(h, src, ps_get16(l4), ps_get16(l4 + 2), false);
        if (fl) {
            uint32_t seq = ps_get32(l4 + 4), ack = ps_get32(l4 + 8);
            uint16_t c = ps_get16(l4 + 16);
            c = ps_cksum_update32(c, seq, fl->ack + seq);
            c = ps_cksum_update32(c, ack, fl->snd_max + ack);
            ps_put32(l4 + 4, fl->ack + seq);
            ps_put32(l4 + 8, fl->snd_max + ack);
            ps_put16(l4 + 16, c);
        }
    }
    if (op & FH_OP_FIX_CKSUM) {
        fuzz_fix_ip_cksum(ip, n);
        if (whole)
            fuzz_fix_l4_cksum(ip[9], l4, l4len, src, dst);
    }
}

/* ---- the stack's life ------------------------------------------------------------------- */

void fh_init(struct fuzz_host *h, const struct ps_config *cfg, bool timed)
{
    memset(h, 0, sizeof(*h));
    h->now = PS_SEC(1);
    h->timed = timed;
    h->s = ps_stack_new(cfg, h->now);
    FUZZ_MUST(h->s != NULL, "ps_stack_new failed");
}

struct ps_iface *fh_add_iface(struct fuzz_host *h, const char *name, uint16_t mtu, ps_ip4_t addr, uint8_t prefix)
{
    FUZZ_MUST(h->nifc < FH_MAX_IFACES, "too many interfaces");
    ps_mac_t mac = {{0x02, 0, 0, 0, (uint8_t)h->nifc, 0x01}};
    struct ps_iface *ifc = ps_iface_add(h->s, name, &mac, mtu, fh_transmit, h);
    FUZZ_MUST(ifc && ps_iface_add_addr(ifc, addr, prefix) == 0, "cannot add an interface");
    h->ifc[h->nifc++] = ifc;
    return ifc;
}

void fuzz_check_stack(struct ps_stack *s)
{
    char why[256];
    if (ps_stack_check(s, why, sizeof(why)) != 0) {
        fprintf(stderr, "stack invariant broken: %s\n", why);
        FUZZ_MUST(0, "ps_stack_check");
    }
}

static int count_socket(void *ctx, const struct ps_sock_info *info)
{
    (void)info;
    ++*(unsigned *)ctx;
    return 0;
}

void fuzz_check_idle(struct ps_stack *s)
{
    fuzz_check_stack(s);
    unsigned sf, st, lf, lt, socks = 0;
    ps_pbuf_pool_usage(s, &sf, &st, &lf, &lt);
    FUZZ_MUST(sf == st && lf == lt, "buffers leaked");
    ps_socket_foreach(s, count_socket, &socks);
    if (socks)
        ps_ss_print(s, stderr, PS_SS_NUMERIC | PS_SS_INFO);
    FUZZ_MUST(socks == 0, "a socket or TIME_WAIT record outlived an hour after every close");
}

void fuzz_advance(struct ps_stack *s, ps_time_t *now, ps_time_t dt, void (*poll)(void *ctx), void *ctx)
{
    ps_time_t end = *now + dt;
    for (int i = 0; i < 64; i++) {
        ps_time_t d = ps_stack_next_deadline(s);
        if (d > end)
            break;
        if (d > *now)
            *now = d;
        ps_stack_poll(s, *now);
        if (poll)
            poll(ctx);
    }
    *now = end;
    ps_stack_poll(s, *now);
    if (poll)
        poll(ctx);
}

static void host_poll(void *ctx)
{
    struct fuzz_host *h = ctx;
    if (h->poll)
        h->poll(h);
}

void fh_run(struct fuzz_host *h, const uint8_t *data, size_t size)
{
    static uint8_t frame[65536];
    while (size >= 3) {
        uint8_t op = data[0];
        size_t len = (size_t)data[1] | (size_t)data[2] << 8;
        data += 3;
        size -= 3;
        if (len > size)
            len = size;
        if (h->timed)
            fuzz_advance(h->s, &h->now, (ps_time_t)fuzz_step_us(op >> 1), host_poll, h);
        if (op >= FH_OP_COMMAND) {
            if (h->command)
                h->command(h, op, data, len);
        } else {
            memcpy(frame, data, len);
            fix_frame(h, frame, len, op);
            ps_iface_input(h->ifc[(op & FH_OP_IFACE) % h->nifc], frame, len, h->now);
        }
        ps_stack_poll(h->s, h->now); /* the loopback path */
        fuzz_check_stack(h->s);
        data += len;
        size -= len;
    }
}

void fh_finish(struct fuzz_host *h)
{
    h->poll = NULL; /* the applications are gone */
    for (int i = 0; i < 120; i++)
        fuzz_advance(h->s, &h->now, PS_SEC(30), host_poll, h);
    fuzz_check_idle(h->s);
    ps_stack_free(h->s);
    h->s = NULL;
}
