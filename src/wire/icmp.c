/*
 * ICMPv4 message header parse and emit (RFC 792).
 */
#include "portstack/wire.h"

static bool is_echo(uint8_t type)
{
    return type == PS_ICMP_ECHO_REQUEST || type == PS_ICMP_ECHO_REPLY;
}

int ps_icmp_parse(const uint8_t *buf, size_t len, struct ps_icmp_hdr *h)
{
    if (len < PS_ICMP_HLEN)
        return PS_WIRE_ETRUNC;
    if (ps_cksum(buf, len) != 0)
        return PS_WIRE_ECKSUM;

    uint32_t rest = ps_get32(buf + 4);
    h->type = buf[0];
    h->code = buf[1];
    h->cksum = ps_get16(buf + 2);
    h->rest = rest;
    h->id = h->seq = h->mtu = 0;
    h->pointer = 0;
    h->gateway = 0;
    if (is_echo(h->type)) {
        h->id = (uint16_t)(rest >> 16);
        h->seq = (uint16_t)rest;
    } else if (h->type == PS_ICMP_DEST_UNREACH) {
        h->mtu = (uint16_t)rest; /* next-hop MTU (RFC 1191); 0 if unused */
    } else if (h->type == PS_ICMP_PARAM_PROBLEM) {
        h->pointer = (uint8_t)(rest >> 24);
    } else if (h->type == PS_ICMP_REDIRECT) {
        h->gateway = rest;
    }
    h->payload = buf + PS_ICMP_HLEN;
    h->payload_len = len - PS_ICMP_HLEN;
    return PS_ICMP_HLEN;
}

size_t ps_icmp_emit(uint8_t *buf, const struct ps_icmp_hdr *h, size_t payload_len)
{
    uint32_t rest = h->rest;
    if (is_echo(h->type))
        rest = ((uint32_t)h->id << 16) | h->seq;
    else if (h->type == PS_ICMP_DEST_UNREACH && h->code == PS_ICMP_UNREACH_NEEDFRAG)
        rest = h->mtu;

    buf[0] = h->type;
    buf[1] = h->code;
    ps_put16(buf + 2, 0);
    ps_put32(buf + 4, rest);
    ps_put16(buf + 2, ps_cksum(buf, PS_ICMP_HLEN + payload_len));
    return PS_ICMP_HLEN;
}

bool ps_icmp_is_error(uint8_t type)
{
    switch (type) {
    case PS_ICMP_DEST_UNREACH:
    case PS_ICMP_SOURCE_QUENCH:
    case PS_ICMP_REDIRECT:
    case PS_ICMP_TIME_EXCEEDED:
    case PS_ICMP_PARAM_PROBLEM:
        return true;
    default:
        return false;
    }
}
