/*
 * IPv4 header parse and emit (RFC 791).
 */
#include "portstack/wire.h"

#include <string.h>

#define IP_FLAG_RESERVED 0x8000
#define IP_FLAG_DF 0x4000
#define IP_FLAG_MF 0x2000
#define IP_FRAG_MASK 0x1fff
#define IP_MAX_LEN 65535u

/* Route options (RR, LSRR, SSRR): type, length, pointer, then addresses.
 * The pointer is 1-based within the option and at least 4 (RFC 791). */
static bool route_option_ok(const uint8_t *opt, uint8_t olen)
{
    return olen >= 3 && (olen - 3) % 4 == 0 && opt[2] >= 4;
}

/* Walk the options: every option but EOL and NOP carries a length byte
 * (at least 2, covering type and length) that must keep it inside the
 * header.  EOL ends the list; what follows it is padding. */
static int parse_options(const uint8_t *opt, size_t n, bool *source_route)
{
    size_t i = 0;

    while (i < n) {
        uint8_t type = opt[i];
        if (type == PS_IPOPT_EOL)
            break;
        if (type == PS_IPOPT_NOP) {
            i++;
            continue;
        }
        if (n - i < 2)
            return PS_WIRE_EOPTION;
        uint8_t olen = opt[i + 1];
        if (olen < 2 || olen > n - i)
            return PS_WIRE_EOPTION;
        if (type == PS_IPOPT_LSRR || type == PS_IPOPT_SSRR || type == PS_IPOPT_RR) {
            if (!route_option_ok(opt + i, olen))
                return PS_WIRE_EOPTION;
            if (type != PS_IPOPT_RR)
                *source_route = true;
        }
        i += olen;
    }
    return 0;
}

int ps_ipv4_parse(const uint8_t *buf, size_t len, struct ps_ipv4_hdr *h)
{
    if (len < PS_IPV4_HLEN)
        return PS_WIRE_ETRUNC;
    if (buf[0] >> 4 != 4)
        return PS_WIRE_EVERSION;
    size_t hlen = (size_t)(buf[0] & 0x0f) * 4;
    if (hlen < PS_IPV4_HLEN)
        return PS_WIRE_EHDRLEN;
    if (hlen > len)
        return PS_WIRE_ETRUNC;
    uint16_t total_len = ps_get16(buf + 2);
    if (total_len < hlen)
        return PS_WIRE_ELEN;
    if (total_len > len)
        return PS_WIRE_ETRUNC;
    if (ps_cksum(buf, hlen) != 0)
        return PS_WIRE_ECKSUM;

    uint16_t frag = ps_get16(buf + 6);
    if (frag & IP_FLAG_RESERVED)
        return PS_WIRE_EFORMAT;
    uint32_t frag_off = (uint32_t)(frag & IP_FRAG_MASK) * 8;
    /* A fragment must not reach past the largest possible datagram
     * ("ping of death"). */
    if (frag_off + (total_len - hlen) > IP_MAX_LEN)
        return PS_WIRE_EFORMAT;

    bool source_route = false;
    int err = parse_options(buf + PS_IPV4_HLEN, hlen - PS_IPV4_HLEN, &source_route);
    if (err < 0)
        return err;

    h->hlen = (uint8_t)hlen;
    h->tos = buf[1];
    h->total_len = total_len;
    h->id = ps_get16(buf + 4);
    h->df = (frag & IP_FLAG_DF) != 0;
    h->mf = (frag & IP_FLAG_MF) != 0;
    h->frag_off = (uint16_t)frag_off;
    h->ttl = buf[8];
    h->proto = buf[9];
    h->cksum = ps_get16(buf + 10);
    h->src = ps_get32(buf + 12);
    h->dst = ps_get32(buf + 16);
    h->options_len = (uint8_t)(hlen - PS_IPV4_HLEN);
    h->options = h->options_len ? buf + PS_IPV4_HLEN : NULL;
    h->has_source_route = source_route;
    return (int)hlen;
}

size_t ps_ipv4_emit(uint8_t *buf, const struct ps_ipv4_hdr *h)
{
    size_t optlen = h->options ? h->options_len : 0;
    /* Options are padded with EOL to a 32-bit boundary should the caller
     * hand over a length that is not a multiple of 4. */
    size_t hlen = PS_IPV4_HLEN + ((optlen + 3) & ~(size_t)3);

    uint16_t frag = (uint16_t)((h->frag_off / 8) & IP_FRAG_MASK);
    if (h->df)
        frag |= IP_FLAG_DF;
    if (h->mf)
        frag |= IP_FLAG_MF;

    buf[0] = (uint8_t)(0x40 | (hlen / 4));
    buf[1] = h->tos;
    ps_put16(buf + 2, h->total_len);
    ps_put16(buf + 4, h->id);
    ps_put16(buf + 6, frag);
    buf[8] = h->ttl;
    buf[9] = h->proto;
    ps_put16(buf + 10, 0);
    ps_put32(buf + 12, h->src);
    ps_put32(buf + 16, h->dst);
    if (optlen)
        memcpy(buf + PS_IPV4_HLEN, h->options, optlen);
    memset(buf + PS_IPV4_HLEN + optlen, PS_IPOPT_EOL, hlen - PS_IPV4_HLEN - optlen);
    ps_put16(buf + 10, ps_cksum(buf, hlen));
    return hlen;
}
