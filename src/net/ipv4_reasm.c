/*
 * IPv4 reassembly with bounded memory (RFC 791 3.2, RFC 815).
 *
 * Each datagram under reassembly keeps its fragments as the buffers they
 * arrived in, sorted by offset.  Bounds: reasm_max_datagrams at once (the
 * oldest is evicted for a new one), reasm_max_pbufs buffers in total (so a
 * flood of tiny fragments cannot drain the pools), reasm_max_frags per
 * datagram, and reasm_timeout_ms from the first fragment.
 *
 * Overlaps are hostile (teardrop, and the ambiguity attacks of RFC 5722 /
 * RFC 3128): an exact duplicate is ignored, any other overlap discards the
 * whole datagram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"

static void reasm_timer(struct ps_stack *s, struct ps_timer *t);

int ps_reasm_init(struct ps_stack *s)
{
    unsigned n = s->cfg.reasm_max_datagrams;
    s->net.reasm = calloc(n ? n : 1, sizeof(*s->net.reasm));
    if (!s->net.reasm)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++)
        ps_timer_init(&s->net.reasm[i].timer, reasm_timer);
    return 0;
}

static void ctx_free(struct ps_stack *s, struct ps_reasm *r)
{
    struct ps_pbuf *f = r->frags;
    while (f) {
        struct ps_pbuf *n = f->next;
        ps_pbuf_free(s, f);
        s->net.reasm_pbufs--;
        f = n;
    }
    PS_GAUGE_SET(s, reasm_pbufs_held, s->net.reasm_pbufs);
    PS_GAUGE_ADD(s, reasm_datagrams, -1);
    ps_stack_timer_cancel(s, &r->timer);
    r->frags = NULL;
    r->used = false;
}

void ps_reasm_fini(struct ps_stack *s)
{
    if (!s->net.reasm)
        return;
    for (unsigned i = 0; i < s->cfg.reasm_max_datagrams; i++)
        if (s->net.reasm[i].used)
            ctx_free(s, &s->net.reasm[i]);
    free(s->net.reasm);
    s->net.reasm = NULL;
}

static void reasm_timer(struct ps_stack *s, struct ps_timer *t)
{
    struct ps_reasm *r = (struct ps_reasm *)(void *)((uint8_t *)t - offsetof(struct ps_reasm, timer));
    PS_STAT_INC(s, ip_reasm_timeout);
    /* RFC 792: time exceeded (reassembly) only if the first fragment came,
     * since it carries the header to quote; and never about a link-level
     * broadcast (RFC 1122 3.2.2).  The quote is the whole first fragment,
     * whose header is still in its buffer just before the payload: the
     * header with only 8 bytes of data would not do, as its total length
     * would exceed the quote and ps_icmp_send_error() would refuse it as
     * truncated. */
    struct ps_pbuf *first = r->frags;
    if (r->hlen && first && first->tag == 0 && !(first->flags & PS_PBUF_F_LINK_BCAST))
        ps_icmp_send_error(s, first->data - r->hlen, r->hlen + first->len, PS_ICMP_TIME_EXCEEDED,
                           PS_ICMP_TIMXCEED_REASM, 0, r->ifc);
    ctx_free(s, r);
}

/* The oldest datagram other than `keep`, for eviction. */
static struct ps_reasm *oldest(struct ps_stack *s, const struct ps_reasm *keep)
{
    struct ps_reasm *o = NULL;
    for (unsigned i = 0; i < s->cfg.reasm_max_datagrams; i++) {
        struct ps_reasm *r = &s->net.reasm[i];
        if (r->used && r != keep && (!o || r->born < o->born))
            o = r;
    }
    return o;
}

/* One past the newest datagram held.  Creation order, not time: a burst
 * of frames handed in at one `now` (a driver's batch, a flood) must still
 * evict its oldest first, not whichever slot comes first in the table. */
static uint64_t next_born(const struct ps_stack *s)
{
    uint64_t newest = 0;
    for (unsigned i = 0; i < s->cfg.reasm_max_datagrams; i++)
        if (s->net.reasm[i].used && s->net.reasm[i].born > newest)
            newest = s->net.reasm[i].born;
    return newest + 1;
}

static struct ps_reasm *lookup(struct ps_stack *s, const struct ps_ipv4_hdr *h, struct ps_iface *ifc)
{
    struct ps_reasm *free_slot = NULL;
    for (unsigned i = 0; i < s->cfg.reasm_max_datagrams; i++) {
        struct ps_reasm *r = &s->net.reasm[i];
        if (!r->used) {
            if (!free_slot)
                free_slot = r;
            continue;
        }
        if (r->src == h->src && r->dst == h->dst && r->id == h->id && r->proto == h->proto)
            return r;
    }
    if (!ps_alloc_ok(s))
        return NULL; /* fault injection: as if no context could be had */
    if (!free_slot) {
        free_slot = oldest(s, NULL);
        if (!free_slot)
            return NULL;
        PS_STAT_INC(s, ip_reasm_evicted);
        ctx_free(s, free_slot);
    }
    struct ps_reasm *r = free_slot;
    r->used = true;
    PS_GAUGE_ADD(s, reasm_datagrams, 1);
    r->src = h->src;
    r->dst = h->dst;
    r->id = h->id;
    r->proto = h->proto;
    r->ifc = ifc;
    r->frags = NULL;
    r->nfrags = 0;
    r->total = 0;
    r->have = 0;
    r->hlen = 0;
    r->born = next_born(s);
    ps_stack_timer_arm(s, &r->timer, s->now + PS_MS(s->cfg.reasm_timeout_ms));
    return r;
}

/* Build the whole datagram once every byte is there. */
static struct ps_pbuf *complete(struct ps_stack *s, struct ps_reasm *r)
{
    size_t len = (size_t)r->hlen + r->total;
    /* Each fragment was checked against its own header length; options in
     * the first one can still take the whole past 65535. */
    if (len > 65535) {
        PS_STAT_INC(s, ip_reasm_too_big);
        ctx_free(s, r);
        return NULL;
    }
    struct ps_pbuf *out = ps_pbuf_alloc(s, len);
    if (!out) {
        ctx_free(s, r);
        return NULL;
    }
    memcpy(out->data, r->hdr, r->hlen);
    for (struct ps_pbuf *f = r->frags; f; f = f->next)
        memcpy(out->data + r->hlen + f->tag, f->data, f->len);
    /* Clear MF and the offset, set the length, and re-checksum. */
    ps_put16(out->data + 2, (uint16_t)len);
    ps_put16(out->data + 6, (uint16_t)(ps_get16(out->data + 6) & 0x4000));
    ps_put16(out->data + 10, 0);
    ps_put16(out->data + 10, ps_cksum(out->data, r->hlen));
    out->iface = r->ifc;
    out->flags = r->frags->flags;
    ctx_free(s, r);
    PS_STAT_INC(s, ip_reasm_ok);
    return out;
}

struct ps_pbuf *ps_reasm_input(struct ps_stack *s, struct ps_pbuf *p, const struct ps_ipv4_hdr *h)
{
    size_t off = h->frag_off;
    size_t len = (size_t)h->total_len - h->hlen;
    struct ps_reasm *r = NULL;

    if (s->cfg.reasm_max_datagrams == 0 || len == 0 || (h->mf && len % 8)) {
        PS_STAT_INC(s, ip_reasm_bad_frag);
        goto drop;
    }
    if (off + len > 65535 - (size_t)h->hlen) {
        PS_STAT_INC(s, ip_reasm_too_big);
        goto drop;
    }
    r = lookup(s, h, p->iface);
    if (!r)
        goto drop;
    /* Consistency with what is known of the datagram's end. */
    size_t held_end = 0;
    for (struct ps_pbuf *f = r->frags; f; f = f->next)
        held_end = f->tag + f->len;
    if ((r->total && off + len > r->total) || (!h->mf && r->total && off + len != r->total) ||
        (!h->mf && held_end > off + len)) {
        PS_STAT_INC(s, ip_reasm_bad_frag);
        goto drop_all;
    }
    /* Find the place in the sorted list, and check both neighbours. */
    struct ps_pbuf **link = &r->frags, *prev = NULL;
    while (*link && (*link)->tag < off) {
        prev = *link;
        link = &(*link)->next;
    }
    struct ps_pbuf *next = *link;
    if (next && next->tag == off && next->len == len) {
        /* A duplicate: identical copies are harmless; different ones are an
         * overlap attack. */
        if (memcmp(next->data, p->data + h->hlen, len) == 0) {
            PS_STAT_INC(s, ip_reasm_dup);
            ps_pbuf_free(s, p);
            return NULL;
        }
        PS_STAT_INC(s, ip_reasm_overlap);
        goto drop_all;
    }
    if ((prev && prev->tag + prev->len > off) || (next && off + len > next->tag)) {
        PS_STAT_INC(s, ip_reasm_overlap);
        goto drop_all;
    }
    if (r->nfrags >= s->cfg.reasm_max_frags) {
        PS_STAT_INC(s, ip_reasm_bad_frag);
        goto drop_all;
    }
    /* The global buffer bound: make room by evicting the oldest others. */
    while (s->net.reasm_pbufs >= s->cfg.reasm_max_pbufs) {
        struct ps_reasm *o = oldest(s, r);
        if (!o) {
            PS_STAT_INC(s, ip_reasm_evicted);
            goto drop_all;
        }
        PS_STAT_INC(s, ip_reasm_evicted);
        ctx_free(s, o);
    }
    if (off == 0) {
        memcpy(r->hdr, p->data, h->hlen);
        r->hlen = h->hlen;
    }
    if (!h->mf)
        r->total = (uint32_t)(off + len);
    ps_pbuf_pull(p, h->hlen);
    p->tag = (uint32_t)off;
    p->next = next;
    *link = p;
    r->nfrags++;
    r->have += (uint32_t)len;
    s->net.reasm_pbufs++;
    PS_GAUGE_SET(s, reasm_pbufs_held, s->net.reasm_pbufs);
    if (r->total && r->hlen && r->have == r->total)
        return complete(s, r);
    return NULL;

drop_all:
    ctx_free(s, r);
drop:
    ps_pbuf_free(s, p);
    return NULL;
}
