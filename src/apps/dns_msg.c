/*
 * DNS query build and answer parse (RFC 1035 4.1).
 */
#include "apps/dns_msg.h"

#include <portstack/wire.h>

#include <string.h>

/* Answers beyond this many records are not looked at. */
#define DNS_MAX_RRS 24
/* Compression pointers followed for one name (a loop guard). */
#define DNS_MAX_JUMPS 16
/* CNAMEs followed from the question name. */
#define DNS_MAX_CHAIN 8

size_t dns_build_query(uint8_t *buf, uint16_t id, const char *name)
{
    size_t nlen = strlen(name);
    if (nlen && name[nlen - 1] == '.')
        nlen--;
    if (nlen == 0 || nlen > PS_DNS_MAX_NAME)
        return 0;
    memset(buf, 0, DNS_HDR_LEN);
    ps_put16(buf, id);
    ps_put16(buf + 2, 0x0100); /* a standard query, recursion desired */
    ps_put16(buf + 4, 1);
    uint8_t *o = buf + DNS_HDR_LEN;
    const char *p = name, *end = name + nlen;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t l = (size_t)((dot ? dot : end) - p);
        if (l == 0 || l > 63)
            return 0;
        *o++ = (uint8_t)l;
        memcpy(o, p, l);
        o += l;
        p += l + (dot ? 1 : 0);
        if (dot && p == end)
            return 0; /* "a..b" style empty last label */
    }
    *o++ = 0;
    ps_put16(o, DNS_TYPE_A);
    ps_put16(o + 2, DNS_CLASS_IN);
    return (size_t)(o + 4 - buf);
}

/* Read the (possibly compressed) name at *off into out, lower-cased and
 * dotted; advance *off past it in the message.  -1 if malformed. */
static int read_name(const uint8_t *m, size_t len, size_t *off, char *out)
{
    size_t pos = *off, n = 0;
    int jumps = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= len)
            return -1;
        uint8_t l = m[pos];
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= len || ++jumps > DNS_MAX_JUMPS)
                return -1;
            if (!jumped)
                *off = pos + 2;
            jumped = true;
            pos = ((size_t)(l & 0x3f) << 8) | m[pos + 1];
            continue;
        }
        if (l & 0xc0)
            return -1; /* the reserved label types */
        pos++;
        if (l == 0)
            break;
        if (pos + l > len || n + l + 1 > PS_DNS_MAX_NAME + 1)
            return -1;
        if (n)
            out[n++] = '.';
        for (unsigned i = 0; i < l; i++) {
            char c = (char)m[pos + i];
            out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        pos += l;
    }
    out[n] = '\0';
    if (!jumped)
        *off = pos;
    return 0;
}

struct rr {
    char name[PS_DNS_MAX_NAME + 2];
    uint16_t type;
    uint32_t ttl;
    ps_ip4_t addr;                       /* A */
    char target[PS_DNS_MAX_NAME + 2];    /* CNAME */
};

int dns_parse_answer(const uint8_t *buf, size_t len, const uint8_t *q, size_t qlen, struct dns_answer *a)
{
    static const size_t qoff = DNS_HDR_LEN;
    memset(a, 0, sizeof(*a));
    if (len < DNS_HDR_LEN || qlen < DNS_HDR_LEN + 5)
        return -1;
    uint16_t flags = ps_get16(buf + 2);
    if (!(flags & 0x8000) || (flags & 0x7800) || ps_get16(buf) != ps_get16(q) || ps_get16(buf + 4) != 1)
        return -1;
    a->id = ps_get16(buf);
    a->rcode = flags & 0x0f;
    a->truncated = (flags & 0x0200) != 0;
    /* The question must be ours (RFC 5452 4.1: match it, not only the ID). */
    char qname[PS_DNS_MAX_NAME + 2], rname[PS_DNS_MAX_NAME + 2];
    size_t off = qoff, qo = qoff;
    if (read_name(buf, len, &off, rname) || read_name(q, qlen, &qo, qname) || strcmp(qname, rname) != 0 ||
        off + 4 > len || memcmp(buf + off, q + qo, 4) != 0)
        return -1;
    off += 4;
    unsigned an = ps_get16(buf + 6);
    static const unsigned max_rrs = DNS_MAX_RRS;
    struct rr rrs[DNS_MAX_RRS];
    unsigned nrr = 0;
    for (unsigned i = 0; i < an; i++) {
        struct rr tmp, *r = nrr < max_rrs ? &rrs[nrr] : &tmp;
        if (read_name(buf, len, &off, r->name) || off + 10 > len)
            return -1;
        r->type = ps_get16(buf + off);
        uint16_t cls = ps_get16(buf + off + 2);
        r->ttl = ps_get32(buf + off + 4);
        uint16_t rdlen = ps_get16(buf + off + 8);
        off += 10;
        if (off + rdlen > len)
            return -1;
        if (r->ttl & 0x80000000u)
            r->ttl = 0; /* RFC 2181 8: treat as zero */
        bool keep = cls == DNS_CLASS_IN;
        if (r->type == DNS_TYPE_A) {
            if (rdlen != 4)
                return -1;
            r->addr = ps_get32(buf + off);
        } else if (r->type == DNS_TYPE_CNAME) {
            size_t t = off;
            if (read_name(buf, len, &t, r->target) || t > off + rdlen)
                return -1;
        } else {
            keep = false;
        }
        off += rdlen;
        if (keep && r != &tmp)
            nrr++;
    }
    /* Follow the chain from the question name. */
    char cur[PS_DNS_MAX_NAME + 2];
    strcpy(cur, qname);
    uint32_t ttl = UINT32_MAX;
    for (int hop = 0; hop <= DNS_MAX_CHAIN; hop++) {
        for (unsigned i = 0; i < nrr; i++)
            if (rrs[i].type == DNS_TYPE_A && strcmp(rrs[i].name, cur) == 0 && a->naddrs < PS_DNS_MAX_ADDRS) {
                a->addrs[a->naddrs++] = rrs[i].addr;
                if (rrs[i].ttl < ttl)
                    ttl = rrs[i].ttl;
            }
        if (a->naddrs)
            break;
        unsigned i = 0;
        while (i < nrr && !(rrs[i].type == DNS_TYPE_CNAME && strcmp(rrs[i].name, cur) == 0))
            i++;
        if (i == nrr)
            break;
        if (rrs[i].ttl < ttl)
            ttl = rrs[i].ttl;
        strcpy(cur, rrs[i].target);
    }
    a->ttl = a->naddrs ? ttl : 0;
    return 0;
}
