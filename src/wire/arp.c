/*
 * ARP packets for IPv4 over Ethernet (RFC 826).
 */
#include "portstack/wire.h"

#include <string.h>

#define ARP_HTYPE_ETHER 1

int ps_arp_parse(const uint8_t *buf, size_t len, struct ps_arp_pkt *a)
{
    if (len < PS_ARP_LEN)
        return PS_WIRE_ETRUNC;
    if (ps_get16(buf) != ARP_HTYPE_ETHER || ps_get16(buf + 2) != PS_ETHERTYPE_IPV4 ||
        buf[4] != 6 || buf[5] != 4)
        return PS_WIRE_EVERSION;
    uint16_t op = ps_get16(buf + 6);
    if (op != PS_ARP_REQUEST && op != PS_ARP_REPLY)
        return PS_WIRE_EFORMAT;
    a->op = op;
    memcpy(a->sha.b, buf + 8, 6);
    a->spa = ps_get32(buf + 14);
    memcpy(a->tha.b, buf + 18, 6);
    a->tpa = ps_get32(buf + 24);
    return PS_ARP_LEN;
}

size_t ps_arp_emit(uint8_t *buf, const struct ps_arp_pkt *a)
{
    ps_put16(buf, ARP_HTYPE_ETHER);
    ps_put16(buf + 2, PS_ETHERTYPE_IPV4);
    buf[4] = 6;
    buf[5] = 4;
    ps_put16(buf + 6, a->op);
    memcpy(buf + 8, a->sha.b, 6);
    ps_put32(buf + 14, a->spa);
    memcpy(buf + 18, a->tha.b, 6);
    ps_put32(buf + 24, a->tpa);
    return PS_ARP_LEN;
}
