/*
 * UDP header parse and emit (RFC 768).
 */
#include "portstack/wire.h"

int ps_udp_parse(const uint8_t *buf, size_t len, ps_ip4_t src, ps_ip4_t dst,
                 struct ps_udp_hdr *h)
{
    return ps_udp_parse_ex(buf, len, src, dst, h, 0);
}

int ps_udp_parse_ex(const uint8_t *buf, size_t len, ps_ip4_t src, ps_ip4_t dst,
                    struct ps_udp_hdr *h, unsigned flags)
{
    if (len < PS_UDP_HLEN)
        return PS_WIRE_ETRUNC;
    uint16_t ulen = ps_get16(buf + 4);
    if (ulen < PS_UDP_HLEN)
        return PS_WIRE_ELEN;
    if (ulen > len)
        return PS_WIRE_ETRUNC;
    uint16_t cksum = ps_get16(buf + 6);
    /* A zero checksum field means the sender computed none. */
    if (cksum != 0 && !(flags & PS_WIRE_NO_CKSUM)) {
        uint32_t sum = ps_cksum_pseudo(src, dst, PS_IP_PROTO_UDP, ulen);
        if (ps_cksum_finish(ps_cksum_add(sum, buf, ulen)) != 0)
            return PS_WIRE_ECKSUM;
    }
    h->sport = ps_get16(buf);
    h->dport = ps_get16(buf + 2);
    h->len = ulen;
    h->cksum = cksum;
    return PS_UDP_HLEN;
}

size_t ps_udp_emit(uint8_t *buf, const struct ps_udp_hdr *h, ps_ip4_t src, ps_ip4_t dst,
                   size_t payload_len)
{
    uint16_t ulen = (uint16_t)(PS_UDP_HLEN + payload_len);

    ps_put16(buf, h->sport);
    ps_put16(buf + 2, h->dport);
    ps_put16(buf + 4, ulen);
    ps_put16(buf + 6, 0);
    uint32_t sum = ps_cksum_pseudo(src, dst, PS_IP_PROTO_UDP, ulen);
    uint16_t cksum = ps_cksum_finish(ps_cksum_add(sum, buf, ulen));
    /* 0 on the wire means "no checksum"; its one's-complement twin is sent. */
    ps_put16(buf + 6, cksum ? cksum : 0xffff);
    return PS_UDP_HLEN;
}
