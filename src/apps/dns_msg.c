/*
 * DNS query build and answer parse (RFC 1035 4.1).
 */
#include "apps/dns_msg.h"

#include <portstack/wire.h>

#include <string.h>

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
        /* At most 253 characters dotted: 255 octets on the wire (RFC
         * 1035 2.3.4), the dot before a label counted. */
        if (pos + l > len || n + (n ? 1u : 0u) + l > PS_DNS_MAX_NAME)
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

/* An answer record worth following (class IN, A or CNAME): where its
 * owner name and its data lie in the message.  Offsets, not copies, so
 * the table stays small (a message is at most 65535 bytes). */
struct rr_ref {
    uint16_t name_off, rdata_off;
    uint16_t type;
    uint32_t ttl;
};

/* Does the (possibly compressed) name at off equal name?  Malformed names
 * were refused by the first pass, so a failure here is just "no". */
static bool name_is(const uint8_t *m, size_t len, size_t off, const char *name)
{
    char here[PS_DNS_MAX_NAME + 2];
    return read_name(m, len, &off, here) == 0 && strcmp(here, name) == 0;
}

int dns_parse_answer(const uint8_t *buf, size_t len, const uint8_t *q, size_t qlen, struct dns_answer *a)
{
    static const size_t qoff = DNS_HDR_LEN;
    memset(a, 0, sizeof(*a));
    if (len < DNS_HDR_LEN || len > DNS_MAX_MSG || qlen < DNS_HDR_LEN + 5)
        return -1;
    uint16_t flags = ps_get16(buf + 2);
    if (!(flags & 0x8000) || (flags & 0x7800) || ps_get16(buf) != ps_get16(q) || ps_get16(buf + 4) != 1)
        return -1;
    a->id = ps_get16(buf);
    a->rcode = flags & 0x0f;
    a->truncated = (flags & 0x0200) != 0;
    /* The question must be ours (RFC 5452 4.1: match it, not only the ID). */
    char qname[PS_DNS_MAX_NAME + 2], cur[PS_DNS_MAX_NAME + 2];
    size_t off = qoff, qo = qoff;
    if (read_name(buf, len, &off, cur) || read_name(q, qlen, &qo, qname) || strcmp(qname, cur) != 0 ||
        off + 4 > len || memcmp(buf + off, q + qo, 4) != 0)
        return -1;
    off += 4;
    /* Pass 1: check every record and note the ones to follow.  A truncated
     * answer (TC) may end in the middle of one: keep what came whole. */
    unsigned an = ps_get16(buf + 6);
    struct rr_ref rrs[DNS_MAX_RRS];
    unsigned nrr = 0;
    for (unsigned i = 0; i < an; i++) {
        size_t name_off = off;
        if (read_name(buf, len, &off, cur) || off + 10 > len) {
            if (a->truncated)
                break;
            return -1;
        }
        uint16_t type = ps_get16(buf + off), cls = ps_get16(buf + off + 2);
        uint32_t ttl = ps_get32(buf + off + 4);
        uint16_t rdlen = ps_get16(buf + off + 8);
        off += 10;
        if (off + rdlen > len) {
            if (a->truncated)
                break;
            return -1;
        }
        if (ttl & 0x80000000u)
            ttl = 0; /* RFC 2181 8: treat as zero */
        bool keep = cls == DNS_CLASS_IN && (type == DNS_TYPE_A || type == DNS_TYPE_CNAME);
        if (type == DNS_TYPE_A && rdlen != 4)
            return -1;
        if (type == DNS_TYPE_CNAME) {
            size_t t = off;
            if (read_name(buf, len, &t, cur) || t > off + rdlen)
                return -1;
        }
        if (keep && nrr < DNS_MAX_RRS) /* records past the table are not looked at */
            rrs[nrr++] = (struct rr_ref){(uint16_t)name_off, (uint16_t)off, type, ttl};
        off += rdlen;
    }
    /* Pass 2: follow the chain from the question name. */
    strcpy(cur, qname);
    uint32_t ttl = UINT32_MAX;
    for (int hop = 0; hop <= DNS_MAX_CHAIN; hop++) {
        for (unsigned i = 0; i < nrr && a->naddrs < PS_DNS_MAX_ADDRS; i++)
            if (rrs[i].type == DNS_TYPE_A && name_is(buf, len, rrs[i].name_off, cur)) {
                a->addrs[a->naddrs++] = ps_get32(buf + rrs[i].rdata_off);
                if (rrs[i].ttl < ttl)
                    ttl = rrs[i].ttl;
            }
        if (a->naddrs)
            break;
        unsigned i = 0;
        while (i < nrr && !(rrs[i].type == DNS_TYPE_CNAME && name_is(buf, len, rrs[i].name_off, cur)))
            i++;
        if (i == nrr)
            break;
        if (rrs[i].ttl < ttl)
            ttl = rrs[i].ttl;
        size_t t = rrs[i].rdata_off;
        read_name(buf, len, &t, cur); /* checked in pass 1 */
    }
    a->ttl = a->naddrs ? ttl : 0;
    return 0;
}

/* ---- the server side ------------------------------------------------------------- */

int dns_read_name(const uint8_t *m, size_t len, size_t *off, char *out)
{
    return read_name(m, len, off, out);
}

size_t dns_put_name(uint8_t *o, size_t room, const char *name)
{
    size_t nlen = strlen(name), w = 0;
    if (nlen && name[nlen - 1] == '.')
        nlen--;
    if (nlen > PS_DNS_MAX_NAME)
        return 0;
    for (const char *p = name, *end = name + nlen; p < end;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t l = (size_t)((dot ? dot : end) - p);
        if (l == 0 || l > 63 || w + 1 + l >= room || (dot && dot + 1 == end))
            return 0;
        o[w++] = (uint8_t)l;
        memcpy(o + w, p, l);
        w += l;
        p += l + (dot ? 1 : 0);
    }
    if (w >= room)
        return 0;
    o[w++] = 0;
    return w;
}

/* Skip one resource record at *off; its type, class and TTL fields are
 * returned when the caller wants them.  -1 if it runs off the message. */
static int skip_rr(const uint8_t *m, size_t len, size_t *off, uint16_t *type, uint16_t *cls, uint32_t *ttl)
{
    char name[PS_DNS_MAX_NAME + 2];
    if (read_name(m, len, off, name) || *off + 10 > len)
        return -1;
    *type = ps_get16(m + *off);
    *cls = ps_get16(m + *off + 2);
    *ttl = ps_get32(m + *off + 4);
    size_t rdlen = ps_get16(m + *off + 8);
    if (*off + 10 + rdlen > len)
        return -1;
    *off += 10 + rdlen;
    return 0;
}

int dns_parse_query(const uint8_t *buf, size_t len, struct dns_query_in *q)
{
    memset(q, 0, sizeof(*q));
    if (len < DNS_HDR_LEN || len > DNS_MAX_MSG)
        return -1;
    q->id = ps_get16(buf);
    q->flags = ps_get16(buf + 2);
    if (q->flags & 0x8000)
        return -1; /* a response: answering it could start a loop */
    if (q->flags & 0x7800)
        return DNS_RCODE_NOTIMP; /* only QUERY (opcode 0) */
    if (ps_get16(buf + 4) != 1)
        return DNS_RCODE_FORMERR;
    /* The question name: plain labels (nothing before it to point at),
     * no byte that would change its meaning once dotted. */
    size_t off = DNS_HDR_LEN;
    while (off < len && buf[off] != 0) {
        uint8_t l = buf[off];
        if (l > 63 || off + 1 + l > len || memchr(buf + off + 1, '.', l) || memchr(buf + off + 1, 0, l))
            return DNS_RCODE_FORMERR;
        off += 1u + l;
    }
    size_t noff = DNS_HDR_LEN;
    if (off >= len || read_name(buf, len, &noff, q->name) || noff + 4 > len)
        return DNS_RCODE_FORMERR;
    q->qtype = ps_get16(buf + noff);
    q->qclass = ps_get16(buf + noff + 2);
    q->qend = noff + 4;
    /* Answer and authority records (none in a normal query) are skipped;
     * an OPT record in the additional section says the asker speaks EDNS. */
    off = q->qend;
    unsigned before = (unsigned)ps_get16(buf + 6) + ps_get16(buf + 8), extra = ps_get16(buf + 10);
    for (unsigned i = 0; i < before + extra; i++) {
        uint16_t type, cls;
        uint32_t ttl;
        if (skip_rr(buf, len, &off, &type, &cls, &ttl))
            return DNS_RCODE_FORMERR;
        if (i >= before && type == DNS_TYPE_OPT) {
            if (q->edns)
                return DNS_RCODE_FORMERR; /* RFC 6891 6.1.1: at most one */
            q->edns = true;
            q->edns_size = cls < DNS_MAX_UDP ? DNS_MAX_UDP : cls; /* below 512 means 512 */
            q->edns_version = (uint8_t)(ttl >> 16);
        }
    }
    return 0;
}
