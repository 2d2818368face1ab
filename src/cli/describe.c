/*
 * Human-readable one-line descriptions of frames and stack state, for the
 * demo's narration and `run`'s listings.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <portstack/gauges.h>
#include <portstack/services.h>

#include "cli.h"

const char *cli_fmt_ms(ps_time_t us, char buf[32])
{
    snprintf(buf, 32, "%" PRIu64 ".%03u ms", us / 1000, (unsigned)(us % 1000));
    return buf;
}

static void describe_icmp(const uint8_t *b, size_t len, char *out, size_t n)
{
    struct ps_icmp_hdr ih;
    if (ps_icmp_parse(b, len, &ih) < 0) {
        snprintf(out, n, "ICMP (malformed)");
        return;
    }
    switch (ih.type) {
    case PS_ICMP_ECHO_REQUEST:
    case PS_ICMP_ECHO_REPLY:
        snprintf(out, n, "ICMP echo %s id %u seq %u, %zu bytes",
                 ih.type == PS_ICMP_ECHO_REQUEST ? "request" : "reply", ih.id, ih.seq, ih.payload_len);
        break;
    case PS_ICMP_DEST_UNREACH:
        snprintf(out, n, "ICMP destination unreachable (code %u)", ih.code);
        break;
    case PS_ICMP_TIME_EXCEEDED:
        snprintf(out, n, "ICMP time exceeded (code %u)", ih.code);
        break;
    default:
        snprintf(out, n, "ICMP type %u code %u", ih.type, ih.code);
    }
}

const char *cli_port_name(uint16_t port, uint8_t proto, char buf[32])
{
    const char *svc = ps_service_name(port, proto);
    if (svc)
        snprintf(buf, 32, "%u (%s)", port, svc);
    else
        snprintf(buf, 32, "%u", port);
    return buf;
}

static void describe_udp(const uint8_t *b, size_t len, const struct ps_ipv4_hdr *ih, char *out, size_t n)
{
    struct ps_udp_hdr uh;
    char sp[32], dp[32];
    if (ps_udp_parse(b, len, ih->src, ih->dst, &uh) < 0)
        snprintf(out, n, "UDP (malformed)");
    else
        snprintf(out, n, "UDP %s > %s, %u bytes", cli_port_name(uh.sport, PS_IP_PROTO_UDP, sp),
                 cli_port_name(uh.dport, PS_IP_PROTO_UDP, dp), uh.len - PS_UDP_HLEN);
}

void cli_describe_frame(const uint8_t *frame, size_t len, char *out, size_t outlen)
{
    struct ps_eth_hdr eh;
    char a[PS_IP4_STRLEN], b[PS_IP4_STRLEN], m[PS_MAC_STRLEN];
    if (ps_eth_parse(frame, len, &eh) < 0) {
        snprintf(out, outlen, "runt frame, %zu bytes", len);
        return;
    }
    const uint8_t *p = frame + PS_ETH_HLEN;
    size_t plen = len - PS_ETH_HLEN;
    if (eh.type == PS_ETHERTYPE_ARP) {
        struct ps_arp_pkt ap;
        if (ps_arp_parse(p, plen, &ap) < 0)
            snprintf(out, outlen, "ARP (malformed)");
        else if (ap.op == PS_ARP_REQUEST)
            snprintf(out, outlen, "ARP who-has %s tell %s", ps_ip4_ntoa(ap.tpa, a), ps_ip4_ntoa(ap.spa, b));
        else
            snprintf(out, outlen, "ARP reply %s is-at %s", ps_ip4_ntoa(ap.spa, a), ps_mac_ntoa(&ap.sha, m));
        return;
    }
    if (eh.type != PS_ETHERTYPE_IPV4) {
        snprintf(out, outlen, "ethertype 0x%04x, %zu bytes", eh.type, len);
        return;
    }
    struct ps_ipv4_hdr ih;
    if (ps_ipv4_parse(p, plen, &ih) < 0) {
        snprintf(out, outlen, "IPv4 (malformed)");
        return;
    }
    char what[128];
    if (ih.frag_off != 0)
        snprintf(what, sizeof(what), "fragment id %u offset %u, %u bytes%s", ih.id, ih.frag_off,
                 ih.total_len - ih.hlen, ih.mf ? "" : " (last)");
    else if (ih.proto == PS_IP_PROTO_ICMP && !ih.mf)
        describe_icmp(p + ih.hlen, (size_t)ih.total_len - ih.hlen, what, sizeof(what));
    else if (ih.proto == PS_IP_PROTO_ICMP)
        snprintf(what, sizeof(what), "ICMP first fragment id %u, %u bytes", ih.id, ih.total_len - ih.hlen);
    else if (ih.proto == PS_IP_PROTO_UDP && !ih.mf)
        describe_udp(p + ih.hlen, (size_t)ih.total_len - ih.hlen, &ih, what, sizeof(what));
    else
        snprintf(what, sizeof(what), "protocol %u, %u bytes%s", ih.proto, ih.total_len - ih.hlen,
                 ih.mf ? " (first fragment)" : "");
    snprintf(out, outlen, "%s > %s: %s", ps_ip4_ntoa(ih.src, a), ps_ip4_ntoa(ih.dst, b), what);
}

static int print_arp(void *ctx, const struct ps_arp_entry_info *e)
{
    static const char *const states[] = {"free", "incomplete", "resolved", "failed"};
    char a[PS_IP4_STRLEN], m[PS_MAC_STRLEN];
    fprintf((FILE *)ctx, "    %-15s %s  %-10s %s\n", ps_ip4_ntoa(e->ip, a), ps_mac_ntoa(&e->mac, m),
            states[e->state], ps_iface_name(e->iface));
    return 0;
}

void cli_print_stack(struct ps_stack *s, FILE *out, bool counters)
{
    char a[PS_IP4_STRLEN], m[PS_MAC_STRLEN];
    fprintf(out, "  [%s] interfaces:\n", ps_stack_name(s));
    for (unsigned i = 0; i < ps_iface_count(s); i++) {
        struct ps_iface *ifc = ps_iface_get(s, i);
        fprintf(out, "    %-6s mtu %-5u", ps_iface_name(ifc), ps_iface_mtu(ifc));
        if (ps_iface_kind(ifc) == PS_IFACE_ETHERNET)
            fprintf(out, " %s", ps_mac_ntoa(ps_iface_mac(ifc), m));
        ps_ip4_t addr;
        uint8_t pfx;
        for (unsigned j = 0; ps_iface_addr(ifc, j, &addr, &pfx); j++)
            fprintf(out, " %s/%u", ps_ip4_ntoa(addr, a), pfx);
        fprintf(out, "\n");
    }
    fprintf(out, "  [%s] routes:\n", ps_stack_name(s));
    ps_route_print(s, out);
    fprintf(out, "  [%s] ARP cache:\n", ps_stack_name(s));
    ps_arp_foreach(s, print_arp, out);
    if (counters) {
        fprintf(out, "  [%s] counters:\n", ps_stack_name(s));
        ps_stats_print(ps_stack_stats(s), out, 0);
        fprintf(out, "  [%s] gauges (held now, the most held, the configured limit):\n", ps_stack_name(s));
        ps_gauges_print(s, out);
    }
}
