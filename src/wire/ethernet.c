/*
 * Ethernet II header parse and emit.
 */
#include "portstack/wire.h"

#include <string.h>

/* Type/length values below this are 802.3 lengths, not EtherTypes. */
#define ETHERTYPE_MIN 0x0600

int ps_eth_parse(const uint8_t *buf, size_t len, struct ps_eth_hdr *h)
{
    if (len < PS_ETH_HLEN)
        return PS_WIRE_ETRUNC;
    uint16_t type = ps_get16(buf + 12);
    if (type < ETHERTYPE_MIN)
        return PS_WIRE_EFORMAT;
    memcpy(h->dst.b, buf, 6);
    memcpy(h->src.b, buf + 6, 6);
    h->type = type;
    return PS_ETH_HLEN;
}

size_t ps_eth_emit(uint8_t *buf, const struct ps_eth_hdr *h)
{
    memcpy(buf, h->dst.b, 6);
    memcpy(buf + 6, h->src.b, 6);
    ps_put16(buf + 12, h->type);
    return PS_ETH_HLEN;
}
