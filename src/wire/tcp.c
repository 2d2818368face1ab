/*
 * TCP header and options parse and emit (RFC 9293; options RFC 7323 and
 * RFC 2018).
 */
#include "portstack/wire.h"

#include <string.h>

#define TCP_MAX_OPTS (PS_TCP_MAX_HLEN - PS_TCP_HLEN)
#define TCPOLEN_MSS 4
#define TCPOLEN_WSCALE 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_TIMESTAMP 10
#define TCPOLEN_SACK_BASE 2
#define TCPOLEN_SACK_BLOCK 8

/* Check one option of a known kind and record it in o.  len is the whole
 * option length (kind and length bytes included) and already lies within
 * the header. */
static int parse_option(const uint8_t *p, uint8_t len, struct ps_tcp_opts *o)
{
    switch (p[0]) {
    case PS_TCPOPT_MSS:
        if (len != TCPOLEN_MSS)
            return PS_WIRE_EOPTION;
        o->has_mss = true;
        o->mss = ps_get16(p + 2);
        break;
    case PS_TCPOPT_WSCALE:
        if (len != TCPOLEN_WSCALE)
            return PS_WIRE_EOPTION;
        o->has_wscale = true;
        o->wscale = p[2];
        break;
    case PS_TCPOPT_SACK_PERM:
        if (len != TCPOLEN_SACK_PERM)
            return PS_WIRE_EOPTION;
        o->sack_permitted = true;
        break;
    case PS_TCPOPT_TIMESTAMP:
        if (len != TCPOLEN_TIMESTAMP)
            return PS_WIRE_EOPTION;
        o->has_timestamp = true;
        o->tsval = ps_get32(p + 2);
        o->tsecr = ps_get32(p + 6);
        break;
    case PS_TCPOPT_SACK: {
        if (len < TCPOLEN_SACK_BASE + TCPOLEN_SACK_BLOCK ||
            (len - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_BLOCK != 0)
            return PS_WIRE_EOPTION;
        size_t n = (size_t)(len - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_BLOCK;
        if (n > PS_TCP_MAX_SACK)
            n = PS_TCP_MAX_SACK;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *b = p + TCPOLEN_SACK_BASE + i * TCPOLEN_SACK_BLOCK;
            o->sack[i].left = ps_get32(b);
            o->sack[i].right = ps_get32(b + 4);
        }
        o->sack_count = (uint8_t)n;
        break;
    }
    default:
        break; /* unknown kinds are skipped by their length */
    }
    return 0;
}

static int parse_options(const uint8_t *p, size_t n, struct ps_tcp_opts *o)
{
    size_t i = 0;

    while (i < n) {
        uint8_t kind = p[i];
        if (kind == PS_TCPOPT_EOL)
            break;
        if (kind == PS_TCPOPT_NOP) {
            i++;
            continue;
        }
        if (n - i < 2)
            return PS_WIRE_EOPTION;
        uint8_t len = p[i + 1];
        if (len < 2 || len > n - i)
            return PS_WIRE_EOPTION;
        int err = parse_option(p + i, len, o);
        if (err < 0)
            return err;
        i += len;
    }
    return 0;
}

int ps_tcp_parse(const uint8_t *buf, size_t len, ps_ip4_t src, ps_ip4_t dst,
                 struct ps_tcp_hdr *h)
{
    return ps_tcp_parse_ex(buf, len, src, dst, h, 0);
}

int ps_tcp_parse_ex(const uint8_t *buf, size_t len, ps_ip4_t src, ps_ip4_t dst,
                    struct ps_tcp_hdr *h, unsigned flags)
{
    if (len < PS_TCP_HLEN)
        return PS_WIRE_ETRUNC;
    size_t hlen = (size_t)(buf[12] >> 4) * 4;
    if (hlen < PS_TCP_HLEN)
        return PS_WIRE_EHDRLEN;
    if (hlen > len)
        return PS_WIRE_ETRUNC;
    /* The pseudo-header carries the length in 16 bits. */
    if (len > 0xffff)
        return PS_WIRE_ELEN;
    if (!(flags & PS_WIRE_NO_CKSUM)) {
        uint32_t sum = ps_cksum_pseudo(src, dst, PS_IP_PROTO_TCP, (uint16_t)len);
        if (ps_cksum_finish(ps_cksum_add(sum, buf, len)) != 0)
            return PS_WIRE_ECKSUM;
    }

    struct ps_tcp_opts opt;
    memset(&opt, 0, sizeof opt);
    int err = parse_options(buf + PS_TCP_HLEN, hlen - PS_TCP_HLEN, &opt);
    if (err < 0)
        return err;

    h->sport = ps_get16(buf);
    h->dport = ps_get16(buf + 2);
    h->seq = ps_get32(buf + 4);
    h->ack = ps_get32(buf + 8);
    h->hlen = (uint8_t)hlen;
    h->flags = buf[13];
    h->window = ps_get16(buf + 14);
    h->cksum = ps_get16(buf + 16);
    h->urg = ps_get16(buf + 18);
    h->opt = opt;
    return (int)hlen;
}

/* What emit lays out, in order: the bytes each part takes (0 if absent),
 * and the number of SACK blocks that fit.  ps_tcp_opts_len() and
 * write_options() both follow it so that they cannot disagree. */
struct layout {
    size_t mss, ts_block, sack_perm_alone, wscale;
    size_t sack_blocks;
};

static size_t layout_len(const struct layout *l)
{
    size_t sack = l->sack_blocks ? 4 + l->sack_blocks * TCPOLEN_SACK_BLOCK : 0;
    return l->mss + l->ts_block + l->sack_perm_alone + l->wscale + sack;
}

static struct layout plan(const struct ps_tcp_opts *o)
{
    struct layout l = {0, 0, 0, 0, 0};

    if (o->has_mss)
        l.mss = 4;
    if (o->has_timestamp)
        l.ts_block = 12; /* SACK_PERM or NOP NOP, then TS */
    else if (o->sack_permitted)
        l.sack_perm_alone = 4; /* NOP NOP SACK_PERM */
    if (o->has_wscale)
        l.wscale = 4; /* NOP WSCALE */

    /* SACK: NOP NOP kind len, then as many blocks as the room allows. */
    size_t want = o->sack_count < PS_TCP_MAX_SACK ? o->sack_count : PS_TCP_MAX_SACK;
    size_t room = TCP_MAX_OPTS - layout_len(&l);
    if (want > 0 && room >= 4 + TCPOLEN_SACK_BLOCK) {
        size_t fit = (room - 4) / TCPOLEN_SACK_BLOCK;
        l.sack_blocks = want < fit ? want : fit;
    }
    return l;
}

size_t ps_tcp_opts_len(const struct ps_tcp_opts *o)
{
    struct layout l = plan(o);
    return layout_len(&l);
}

static size_t write_options(uint8_t *p, const struct ps_tcp_opts *o)
{
    struct layout l = plan(o);
    uint8_t *q = p;

    if (l.mss) {
        q[0] = PS_TCPOPT_MSS;
        q[1] = TCPOLEN_MSS;
        ps_put16(q + 2, o->mss);
        q += 4;
    }
    if (l.ts_block) {
        /* Linux packs SACK_PERM into the two bytes that would otherwise be
         * NOP padding in front of the timestamp. */
        if (o->sack_permitted) {
            q[0] = PS_TCPOPT_SACK_PERM;
            q[1] = TCPOLEN_SACK_PERM;
        } else {
            q[0] = q[1] = PS_TCPOPT_NOP;
        }
        q[2] = PS_TCPOPT_TIMESTAMP;
        q[3] = TCPOLEN_TIMESTAMP;
        ps_put32(q + 4, o->tsval);
        ps_put32(q + 8, o->tsecr);
        q += 12;
    }
    if (l.sack_perm_alone) {
        q[0] = q[1] = PS_TCPOPT_NOP;
        q[2] = PS_TCPOPT_SACK_PERM;
        q[3] = TCPOLEN_SACK_PERM;
        q += 4;
    }
    if (l.wscale) {
        q[0] = PS_TCPOPT_NOP;
        q[1] = PS_TCPOPT_WSCALE;
        q[2] = TCPOLEN_WSCALE;
        q[3] = o->wscale;
        q += 4;
    }
    if (l.sack_blocks) {
        q[0] = q[1] = PS_TCPOPT_NOP;
        q[2] = PS_TCPOPT_SACK;
        q[3] = (uint8_t)(TCPOLEN_SACK_BASE + l.sack_blocks * TCPOLEN_SACK_BLOCK);
        q += 4;
        for (size_t i = 0; i < l.sack_blocks; i++, q += TCPOLEN_SACK_BLOCK) {
            ps_put32(q, o->sack[i].left);
            ps_put32(q + 4, o->sack[i].right);
        }
    }
    return (size_t)(q - p);
}

size_t ps_tcp_emit(uint8_t *buf, const struct ps_tcp_hdr *h, ps_ip4_t src, ps_ip4_t dst,
                   size_t payload_len)
{
    size_t hlen = PS_TCP_HLEN + write_options(buf + PS_TCP_HLEN, &h->opt);

    ps_put16(buf, h->sport);
    ps_put16(buf + 2, h->dport);
    ps_put32(buf + 4, h->seq);
    ps_put32(buf + 8, h->ack);
    buf[12] = (uint8_t)((hlen / 4) << 4);
    buf[13] = h->flags;
    ps_put16(buf + 14, h->window);
    ps_put16(buf + 16, 0);
    ps_put16(buf + 18, h->urg);

    size_t seg_len = hlen + payload_len;
    uint32_t sum = ps_cksum_pseudo(src, dst, PS_IP_PROTO_TCP, (uint16_t)seg_len);
    ps_put16(buf + 16, ps_cksum_finish(ps_cksum_add(sum, buf, seg_len)));
    return hlen;
}
