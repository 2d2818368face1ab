/*
 * DHCP message build and parse.  The parser trusts nothing: every option
 * length is checked against the message, fixed-size options must have
 * their exact size, and a message without a type is refused.
 */
#include "apps/dhcp_msg.h"

#include <portstack/wire.h>

#include <string.h>

/* Options (RFC 2132). */
enum {
    OPT_PAD = 0, OPT_SUBNET = 1, OPT_ROUTER = 3, OPT_DNS = 6, OPT_HOSTNAME = 12, OPT_REQUESTED = 50,
    OPT_LEASE = 51, OPT_MSGTYPE = 53, OPT_SERVER = 54, OPT_PARAMS = 55, OPT_MAXSIZE = 57, OPT_T1 = 58,
    OPT_T2 = 59, OPT_CLIENTID = 61, OPT_END = 255,
};

size_t dhcp_build(uint8_t *buf, const struct dhcp_out *m)
{
    memset(buf, 0, DHCP_MAX_MSG);
    buf[0] = 1; /* BOOTREQUEST */
    buf[1] = 1; /* Ethernet */
    buf[2] = 6;
    ps_put32(buf + 4, m->xid);
    ps_put16(buf + 8, m->secs);
    ps_put16(buf + 10, m->broadcast ? 0x8000 : 0);
    ps_put32(buf + 12, m->ciaddr);
    memcpy(buf + 28, m->chaddr.b, 6);
    ps_put32(buf + DHCP_FIXED_LEN, DHCP_MAGIC);
    uint8_t *o = buf + DHCP_MIN_LEN;
    *o++ = OPT_MSGTYPE;
    *o++ = 1;
    *o++ = m->type;
    /* Client identifier: hardware type + MAC (RFC 2132 9.14). */
    *o++ = OPT_CLIENTID;
    *o++ = 7;
    *o++ = 1;
    memcpy(o, m->chaddr.b, 6);
    o += 6;
    if (m->requested) {
        *o++ = OPT_REQUESTED;
        *o++ = 4;
        ps_put32(o, m->requested);
        o += 4;
    }
    if (m->server) {
        *o++ = OPT_SERVER;
        *o++ = 4;
        ps_put32(o, m->server);
        o += 4;
    }
    if (m->type != DHCPRELEASE) {
        static const uint8_t params[] = {OPT_SUBNET, OPT_ROUTER, OPT_DNS, OPT_LEASE, OPT_T1, OPT_T2};
        *o++ = OPT_PARAMS;
        *o++ = sizeof(params);
        memcpy(o, params, sizeof(params));
        o += sizeof(params);
        *o++ = OPT_MAXSIZE;
        *o++ = 2;
        ps_put16(o, DHCP_MAX_MSG);
        o += 2;
    }
    *o++ = OPT_END;
    /* Pad to the BOOTP minimum of 300 bytes some servers still expect. */
    size_t len = (size_t)(o - buf);
    return len < 300 ? 300 : len;
}

static int want_len(uint8_t code)
{
    switch (code) {
    case OPT_SUBNET:
    case OPT_SERVER:
    case OPT_LEASE:
    case OPT_T1:
    case OPT_T2:
        return 4;
    case OPT_MSGTYPE:
        return 1;
    default:
        return -1; /* any length */
    }
}

int dhcp_parse(const uint8_t *buf, size_t len, struct dhcp_in *m)
{
    memset(m, 0, sizeof(*m));
    if (len < DHCP_MIN_LEN || buf[1] != 1 || buf[2] != 6 || ps_get32(buf + DHCP_FIXED_LEN) != DHCP_MAGIC)
        return -1;
    m->op = buf[0];
    m->xid = ps_get32(buf + 4);
    m->yiaddr = ps_get32(buf + 16);
    memcpy(m->chaddr.b, buf + 28, 6);
    for (size_t i = DHCP_MIN_LEN; i < len;) {
        uint8_t code = buf[i++];
        if (code == OPT_PAD)
            continue;
        if (code == OPT_END)
            break;
        if (i >= len)
            return -1;
        uint8_t olen = buf[i++];
        if (olen > len - i)
            return -1;
        const uint8_t *v = buf + i;
        i += olen;
        int want = want_len(code);
        if (want >= 0 && olen != want)
            return -1;
        switch (code) {
        case OPT_MSGTYPE:
            m->type = v[0];
            break;
        case OPT_SUBNET:
            m->netmask = ps_get32(v);
            break;
        case OPT_SERVER:
            m->server = ps_get32(v);
            break;
        case OPT_LEASE:
            m->lease_s = ps_get32(v);
            break;
        case OPT_T1:
            m->t1_s = ps_get32(v);
            break;
        case OPT_T2:
            m->t2_s = ps_get32(v);
            break;
        case OPT_ROUTER:
            if (olen < 4 || olen % 4)
                return -1;
            m->router = ps_get32(v);
            break;
        case OPT_DNS:
            if (olen < 4 || olen % 4)
                return -1;
            for (unsigned k = 0; k < olen / 4u && m->ndns < PS_DHCP_MAX_DNS; k++)
                m->dns[m->ndns++] = ps_get32(v + 4 * k);
            break;
        default:
            break; /* options we did not ask for are skipped */
        }
    }
    return m->type ? 0 : -1;
}
