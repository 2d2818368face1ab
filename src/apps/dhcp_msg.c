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

/* The BOOTP header and the cookie (RFC 2131 figure 1); returns where the
 * options start.  sname and file stay empty. */
static uint8_t *put_header(uint8_t *buf, uint8_t op, uint32_t xid, uint16_t secs, uint16_t flags, ps_ip4_t ciaddr,
                           ps_ip4_t yiaddr, ps_ip4_t giaddr, const ps_mac_t *chaddr)
{
    memset(buf, 0, DHCP_MAX_MSG);
    buf[0] = op;
    buf[1] = 1; /* Ethernet */
    buf[2] = 6;
    ps_put32(buf + 4, xid);
    ps_put16(buf + 8, secs);
    ps_put16(buf + 10, flags);
    ps_put32(buf + 12, ciaddr);
    ps_put32(buf + 16, yiaddr);
    ps_put32(buf + 24, giaddr);
    memcpy(buf + 28, chaddr->b, 6);
    ps_put32(buf + DHCP_FIXED_LEN, DHCP_MAGIC);
    return buf + DHCP_MIN_LEN;
}

static uint8_t *put_opt32(uint8_t *o, uint8_t code, uint32_t v)
{
    *o++ = code;
    *o++ = 4;
    ps_put32(o, v);
    return o + 4;
}

/* End the options and pad to the BOOTP minimum of 300 bytes some peers
 * still expect. */
static size_t finish(uint8_t *buf, uint8_t *o)
{
    *o++ = OPT_END;
    size_t len = (size_t)(o - buf);
    return len < 300 ? 300 : len;
}

size_t dhcp_build(uint8_t *buf, const struct dhcp_out *m)
{
    uint8_t *o = put_header(buf, 1 /* BOOTREQUEST */, m->xid, m->secs, m->broadcast ? 0x8000 : 0, m->ciaddr, 0, 0,
                            &m->chaddr);
    *o++ = OPT_MSGTYPE;
    *o++ = 1;
    *o++ = m->type;
    /* Client identifier: hardware type + MAC (RFC 2132 9.14). */
    *o++ = OPT_CLIENTID;
    *o++ = 7;
    *o++ = 1;
    memcpy(o, m->chaddr.b, 6);
    o += 6;
    if (m->requested)
        o = put_opt32(o, OPT_REQUESTED, m->requested);
    if (m->server)
        o = put_opt32(o, OPT_SERVER, m->server);
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
    return finish(buf, o);
}

size_t dhcp_build_reply(uint8_t *buf, const struct dhcp_reply *m)
{
    uint8_t *o = put_header(buf, 2 /* BOOTREPLY */, m->xid, 0, m->flags, m->ciaddr, m->yiaddr, m->giaddr, &m->chaddr);
    *o++ = OPT_MSGTYPE;
    *o++ = 1;
    *o++ = m->type;
    o = put_opt32(o, OPT_SERVER, m->server);
    if (m->lease_s)
        o = put_opt32(o, OPT_LEASE, m->lease_s);
    if (m->t1_s)
        o = put_opt32(o, OPT_T1, m->t1_s);
    if (m->t2_s)
        o = put_opt32(o, OPT_T2, m->t2_s);
    if (m->netmask)
        o = put_opt32(o, OPT_SUBNET, m->netmask);
    if (m->router)
        o = put_opt32(o, OPT_ROUTER, m->router);
    unsigned ndns = m->ndns < PS_DHCP_MAX_DNS ? m->ndns : PS_DHCP_MAX_DNS;
    if (ndns) {
        *o++ = OPT_DNS;
        *o++ = (uint8_t)(4 * ndns);
        for (unsigned i = 0; i < ndns; i++, o += 4)
            ps_put32(o, m->dns[i]);
    }
    if (m->client_id_len) {
        uint8_t n = m->client_id_len < DHCP_CLIENT_ID_MAX ? m->client_id_len : DHCP_CLIENT_ID_MAX;
        *o++ = OPT_CLIENTID;
        *o++ = n;
        memcpy(o, m->client_id, n);
        o += n;
    }
    return finish(buf, o);
}

static int want_len(uint8_t code)
{
    switch (code) {
    case OPT_SUBNET:
    case OPT_SERVER:
    case OPT_REQUESTED:
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
    m->flags = ps_get16(buf + 10);
    m->ciaddr = ps_get32(buf + 12);
    m->yiaddr = ps_get32(buf + 16);
    m->giaddr = ps_get32(buf + 24);
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
        case OPT_REQUESTED:
            m->requested = ps_get32(v);
            break;
        case OPT_CLIENTID:
            if (olen < 2) /* a type and at least one byte (RFC 2132 9.14) */
                return -1;
            m->client_id_len = olen < DHCP_CLIENT_ID_MAX ? olen : DHCP_CLIENT_ID_MAX;
            memcpy(m->client_id, v, m->client_id_len);
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
