/*
 * libFuzzer target: the wire parsers on their own (include/portstack/wire.h):
 * Ethernet, ARP, IPv4 with options, ICMP, UDP, TCP with options, and the
 * Internet checksum.
 *
 * Input: [sel:1] then the bytes to parse.
 *   sel % 7  0 Ethernet, 1 ARP, 2 IPv4, 3 ICMP, 4 UDP, 5 TCP, 6 checksum
 *   sel & 8  fix the checksum first (IPv4 header, ICMP, UDP, TCP), so
 *            mutations reach the fields behind it
 * UDP and TCP inputs start with the pseudo-header's source and destination
 * addresses (4 bytes each).
 *
 * Oracles: a parser that accepts stays within its buffer and its header
 * within the length it reports; and what it accepted survives a round
 * trip: emitting the parsed struct and parsing that again gives the same
 * fields (the emitters and parsers agree).  For the checksum: a buffer
 * holding its own checksum sums to zero, and RFC 1624's incremental
 * update agrees with recomputing.
 */
#include <string.h>

#include <portstack/wire.h>

#include "fuzz_util.h"

#define BUF_MAX 65600

static uint8_t out_buf[BUF_MAX];

static void fuzz_eth(const uint8_t *b, size_t n)
{
    struct ps_eth_hdr h;
    if (ps_eth_parse(b, n, &h) != PS_ETH_HLEN)
        return;
    FUZZ_MUST(n >= PS_ETH_HLEN && h.type >= 0x0600, "Ethernet: accepted a short frame or an 802.3 length");
    FUZZ_MUST(ps_eth_emit(out_buf, &h) == PS_ETH_HLEN && !memcmp(out_buf, b, PS_ETH_HLEN), "Ethernet: round trip");
}

static void fuzz_arp(const uint8_t *b, size_t n)
{
    struct ps_arp_pkt a;
    if (ps_arp_parse(b, n, &a) != PS_ARP_LEN)
        return;
    FUZZ_MUST(n >= PS_ARP_LEN && (a.op == PS_ARP_REQUEST || a.op == PS_ARP_REPLY), "ARP: accepted a bad packet");
    FUZZ_MUST(ps_arp_emit(out_buf, &a) == PS_ARP_LEN && !memcmp(out_buf, b, PS_ARP_LEN), "ARP: round trip");
}

static bool same_ipv4(const struct ps_ipv4_hdr *x, const struct ps_ipv4_hdr *y)
{
    return x->hlen == y->hlen && x->tos == y->tos && x->total_len == y->total_len && x->id == y->id &&
           x->df == y->df && x->mf == y->mf && x->frag_off == y->frag_off && x->ttl == y->ttl &&
           x->proto == y->proto && x->src == y->src && x->dst == y->dst && x->options_len == y->options_len &&
           x->has_source_route == y->has_source_route &&
           (!x->options_len || !memcmp(x->options, y->options, x->options_len));
}

static void fuzz_ipv4(const uint8_t *b, size_t n)
{
    struct ps_ipv4_hdr h, h2;
    int hl = ps_ipv4_parse(b, n, &h);
    if (hl < 0)
        return;
    FUZZ_MUST(hl == h.hlen && hl >= PS_IPV4_HLEN && hl <= PS_IPV4_MAX_HLEN, "IPv4: header length");
    FUZZ_MUST(h.hlen <= h.total_len && h.total_len <= n, "IPv4: lengths outside the buffer");
    FUZZ_MUST(h.frag_off % 8 == 0 && (size_t)h.frag_off + h.total_len - h.hlen <= 65535, "IPv4: fragment beyond 64 KiB");
    FUZZ_MUST(h.options_len == h.hlen - PS_IPV4_HLEN, "IPv4: options length");
    FUZZ_MUST(!h.options_len || (h.options >= b + PS_IPV4_HLEN && h.options + h.options_len <= b + h.hlen),
              "IPv4: options outside the header");
    size_t k = ps_ipv4_emit(out_buf, &h);
    FUZZ_MUST(k == h.hlen, "IPv4: emitted a different header length");
    memcpy(out_buf + k, b + k, (size_t)h.total_len - k);
    FUZZ_MUST(ps_ipv4_parse(out_buf, h.total_len, &h2) == hl && same_ipv4(&h, &h2), "IPv4: round trip");
}

static void fuzz_icmp(uint8_t *b, size_t n, bool fix)
{
    if (fix)
        fuzz_fix_l4_cksum(PS_IP_PROTO_ICMP, b, n, 0, 0);
    struct ps_icmp_hdr h, h2;
    if (ps_icmp_parse(b, n, &h) != PS_ICMP_HLEN)
        return;
    FUZZ_MUST(h.payload == b + PS_ICMP_HLEN && h.payload_len == n - PS_ICMP_HLEN, "ICMP: payload");
    memcpy(out_buf + PS_ICMP_HLEN, h.payload, h.payload_len);
    ps_icmp_emit(out_buf, &h, h.payload_len);
    FUZZ_MUST(ps_icmp_parse(out_buf, n, &h2) == PS_ICMP_HLEN && h2.type == h.type && h2.code == h.code,
              "ICMP: round trip");
    bool echo = h.type == PS_ICMP_ECHO_REQUEST || h.type == PS_ICMP_ECHO_REPLY;
    bool needfrag = h.type == PS_ICMP_DEST_UNREACH && h.code == PS_ICMP_UNREACH_NEEDFRAG;
    FUZZ_MUST(echo ? h2.id == h.id && h2.seq == h.seq : needfrag ? h2.mtu == h.mtu : h2.rest == h.rest,
              "ICMP: round trip of the second word");
}

/* UDP and TCP inputs start with the pseudo-header's addresses. */
static bool take_addrs(uint8_t **b, size_t *n, ps_ip4_t *src, ps_ip4_t *dst)
{
    if (*n < 8)
        return false;
    *src = ps_get32(*b);
    *dst = ps_get32(*b + 4);
    *b += 8;
    *n -= 8;
    return true;
}

static void fuzz_udp(uint8_t *b, size_t n, bool fix)
{
    ps_ip4_t src, dst;
    if (!take_addrs(&b, &n, &src, &dst))
        return;
    if (fix)
        fuzz_fix_l4_cksum(PS_IP_PROTO_UDP, b, n, src, dst);
    struct ps_udp_hdr h, h2;
    if (ps_udp_parse(b, n, src, dst, &h) != PS_UDP_HLEN)
        return;
    FUZZ_MUST(h.len >= PS_UDP_HLEN && h.len <= n, "UDP: length outside the buffer");
    memcpy(out_buf + PS_UDP_HLEN, b + PS_UDP_HLEN, h.len - PS_UDP_HLEN);
    ps_udp_emit(out_buf, &h, src, dst, h.len - PS_UDP_HLEN);
    FUZZ_MUST(ps_udp_parse(out_buf, h.len, src, dst, &h2) == PS_UDP_HLEN && h2.sport == h.sport &&
                  h2.dport == h.dport && h2.len == h.len && h2.cksum != 0,
              "UDP: round trip");
}

static bool same_tcp_opts(const struct ps_tcp_opts *x, const struct ps_tcp_opts *y)
{
    if (x->has_mss != y->has_mss || (x->has_mss && x->mss != y->mss) || x->has_wscale != y->has_wscale ||
        (x->has_wscale && x->wscale != y->wscale) || x->sack_permitted != y->sack_permitted ||
        x->has_timestamp != y->has_timestamp ||
        (x->has_timestamp && (x->tsval != y->tsval || x->tsecr != y->tsecr)))
        return false;
    /* Emit leaves out the SACK blocks that do not fit beside the rest. */
    if (y->sack_count > x->sack_count)
        return false;
    for (unsigned i = 0; i < y->sack_count; i++)
        if (x->sack[i].left != y->sack[i].left || x->sack[i].right != y->sack[i].right)
            return false;
    return true;
}

static void fuzz_tcp(uint8_t *b, size_t n, bool fix)
{
    ps_ip4_t src, dst;
    if (!take_addrs(&b, &n, &src, &dst))
        return;
    if (fix)
        fuzz_fix_l4_cksum(PS_IP_PROTO_TCP, b, n, src, dst);
    struct ps_tcp_hdr h, h2;
    int hl = ps_tcp_parse(b, n, src, dst, &h);
    if (hl < 0)
        return;
    FUZZ_MUST(hl == h.hlen && hl >= PS_TCP_HLEN && hl <= PS_TCP_MAX_HLEN && (size_t)hl <= n, "TCP: header length");
    FUZZ_MUST(h.opt.sack_count <= PS_TCP_MAX_SACK, "TCP: SACK blocks");
    size_t olen = ps_tcp_opts_len(&h.opt), plen = n - (size_t)hl;
    FUZZ_MUST(olen <= PS_TCP_MAX_HLEN - PS_TCP_HLEN && olen % 4 == 0, "TCP: options length to emit");
    memcpy(out_buf + PS_TCP_HLEN + olen, b + hl, plen);
    size_t k = ps_tcp_emit(out_buf, &h, src, dst, plen);
    FUZZ_MUST(k == PS_TCP_HLEN + olen, "TCP: emitted a different header length");
    FUZZ_MUST(ps_tcp_parse(out_buf, k + plen, src, dst, &h2) == (int)k, "TCP: cannot parse what was emitted");
    FUZZ_MUST(h2.sport == h.sport && h2.dport == h.dport && h2.seq == h.seq && h2.ack == h.ack &&
                  h2.flags == h.flags && h2.window == h.window && h2.urg == h.urg && same_tcp_opts(&h.opt, &h2.opt),
              "TCP: round trip");
}

/* The ones'-complement sum has two zeros; the checksum field may hold
 * either and still verify. */
static bool same_cksum(uint16_t a, uint16_t b)
{
    return a == b || ((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff));
}

static void fuzz_cksum(uint8_t *b, size_t n)
{
    if (n < 4)
        return;
    size_t at = (b[0] % (n / 2)) * 2; /* an even offset: where the field goes */
    ps_put16(b + at, 0);
    uint16_t c = ps_cksum(b, n);
    ps_put16(b + at, c);
    FUZZ_MUST(ps_cksum(b, n) == 0, "checksum: a buffer with its own checksum does not sum to zero");
    /* Split sums agree with one sum (only the last chunk may be odd). */
    size_t half = (n / 2) & ~(size_t)1;
    FUZZ_MUST(ps_cksum_finish(ps_cksum_add(ps_cksum_add(0, b, half), b + half, n - half)) == 0, "checksum: split sum");
    /* Change a word elsewhere; update incrementally, and compare. */
    size_t w = ((size_t)b[1] % (n / 2)) * 2;
    if (w == at)
        return;
    uint16_t old = ps_get16(b + w), new_word = (uint16_t)(old * 31u + 7u);
    ps_put16(b + w, new_word);
    ps_put16(b + at, 0);
    uint16_t full = ps_cksum(b, n);
    FUZZ_MUST(same_cksum(ps_cksum_update16(c, old, new_word), full), "checksum: RFC 1624 update disagrees");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 > BUF_MAX)
        return 0;
    unsigned sel = data[0];
    size_t n = size - 1;
    /* A copy the length of the input exactly, so ASan sees any overrun. */
    uint8_t *b = malloc(n ? n : 1);
    FUZZ_MUST(b != NULL, "malloc");
    memcpy(b, data + 1, n);
    bool fix = sel & 8;
    switch (sel % 7) {
    case 0:
        fuzz_eth(b, n);
        break;
    case 1:
        fuzz_arp(b, n);
        break;
    case 2:
        if (fix)
            fuzz_fix_ip_cksum(b, n);
        fuzz_ipv4(b, n);
        break;
    case 3:
        fuzz_icmp(b, n, fix);
        break;
    case 4:
        fuzz_udp(b, n, fix);
        break;
    case 5:
        fuzz_tcp(b, n, fix);
        break;
    default:
        fuzz_cksum(b, n);
        break;
    }
    free(b);
    return 0;
}
