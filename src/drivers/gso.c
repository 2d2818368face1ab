/*
 * src/drivers/gso.c - software segmentation of TCP super-segments (see
 * portstack/gso.h).
 */
#include <errno.h>
#include <string.h>

#include "portstack/gso.h"
#include "portstack/wire.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

int ps_gso_segment(const uint8_t *frame, size_t len, uint16_t gso_size, uint8_t *scratch,
                   ps_gso_emit_fn emit, void *ctx)
{
    const size_t l3 = PS_ETH_HLEN;
    if (gso_size == 0 || len < l3 + PS_IPV4_HLEN || ps_get16(frame + 12) != PS_ETHERTYPE_IPV4)
        return -EINVAL;
    size_t ihl = (size_t)(frame[l3] & 0x0f) * 4;
    size_t l4 = l3 + ihl;
    if (frame[l3 + 9] != PS_IP_PROTO_TCP || ihl < PS_IPV4_HLEN || l4 + PS_TCP_HLEN > len)
        return -EINVAL;
    size_t thl = (size_t)(frame[l4 + 12] >> 4) * 4;
    size_t hdr = l4 + thl;
    if (thl < PS_TCP_HLEN || hdr > len || l3 + ps_get16(frame + l3 + 2) != len ||
        hdr + gso_size > PS_GSO_SCRATCH)
        return -EINVAL;

    ps_ip4_t src = ps_get32(frame + l3 + 12), dst = ps_get32(frame + l3 + 16);
    uint16_t id = ps_get16(frame + l3 + 4);
    uint32_t seq = ps_get32(frame + l4 + 4);
    uint8_t flags = frame[l4 + 13];
    size_t payload = len - hdr;
    int pieces = 0;
    for (size_t off = 0; off < payload || (payload == 0 && pieces == 0); off += gso_size) {
        size_t n = payload - off < gso_size ? payload - off : gso_size;
        bool last = off + n >= payload;
        memcpy(scratch, frame, hdr);
        memcpy(scratch + hdr, frame + hdr + off, n);
        uint8_t *ip = scratch + l3, *tcp = scratch + l4;
        ps_put16(ip + 2, (uint16_t)(ihl + thl + n));
        ps_put16(ip + 4, (uint16_t)(id + pieces));
        ps_put16(ip + 10, 0);
        ps_put16(ip + 10, ps_cksum(ip, ihl));
        ps_put32(tcp + 4, seq + (uint32_t)off);
        uint8_t f = flags;
        if (!last)
            f &= (uint8_t)~(TCP_FIN | TCP_PSH);
        if (off > 0)
            f &= (uint8_t)~TCP_CWR;
        tcp[13] = f;
        ps_put16(tcp + 16, 0);
        uint32_t sum = ps_cksum_pseudo(src, dst, PS_IP_PROTO_TCP, (uint16_t)(thl + n));
        ps_put16(tcp + 16, ps_cksum_finish(ps_cksum_add(sum, tcp, thl + n)));
        int rc = emit(ctx, scratch, hdr + n);
        if (rc < 0)
            return rc;
        pieces++;
        if (payload == 0)
            break;
    }
    return pieces;
}
