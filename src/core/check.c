/*
 * ps_stack_check(): the stack's invariants, checked from outside the
 * per-packet path (check.h).  This file: the entry point, the buffer
 * pools and every queue that holds buffers in the network layer, and the
 * timer heap.  The socket and TCP side is check_transport.c.
 *
 * Buffer accounting: every buffer is either on its pool's free list or
 * held by exactly one queue (ARP, loopback, reassembly, a UDP socket), so
 * free + held must equal the pool size; a bitmap per pool catches a buffer
 * found twice.  Timer accounting: the heap must be a well-formed pairing
 * heap whose node count equals the number of armed timers the objects
 * hold.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"

bool ps_check_fail(struct ps_check *c, const char *fmt, ...)
{
    if (c->failed)
        return false;
    c->failed = true;
    if (c->why && c->len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->len, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* ---- buffers ----------------------------------------------------------------------- */

static unsigned pool_total(const struct ps_stack *s)
{
    unsigned n = 0;
    for (int i = 0; i < PS_POOL_COUNT; i++)
        n += s->pools[i].total;
    return n;
}

/* Mark p as seen: it must be the start of a buffer of one of the pools,
 * returning to that pool, and not seen before.  *pool is set. */
static bool mark_pbuf(struct ps_check *c, const struct ps_pbuf *p, int *pool, const char *what)
{
    const uint8_t *b = (const uint8_t *)p;
    for (int i = 0; i < PS_POOL_COUNT; i++) {
        const struct ps_pbuf_pool *pl = &c->s->pools[i];
        size_t stride = ps_pbuf_stride(pl->bufsize);
        if (!pl->mem || b < pl->mem || b >= pl->mem + stride * pl->total)
            continue;
        size_t off = (size_t)(b - pl->mem);
        if (off % stride || p->pool != i)
            return ps_check_fail(c, "%s: %p is not a buffer of pool %d", what, (const void *)p, i);
        size_t k = off / stride;
        if (c->seen[i][k / 8] & (1u << (k % 8)))
            return ps_check_fail(c, "%s: buffer %zu of pool %d is held twice (or free and held)", what, k, i);
        c->seen[i][k / 8] |= (uint8_t)(1u << (k % 8));
        *pool = i;
        return true;
    }
    return ps_check_fail(c, "%s: %p is not in any buffer pool", what, (const void *)p);
}

unsigned ps_check_pbuf_queue(struct ps_check *c, const struct ps_pbuf *head, unsigned expect, unsigned max,
                             const char *what)
{
    unsigned n = 0, limit = pool_total(c->s);
    for (const struct ps_pbuf *p = head; p && !c->failed; p = p->next) {
        int pool = 0; /* set by mark_pbuf (gcc -O2 cannot tell) */
        if (n >= limit) {
            ps_check_fail(c, "%s: more buffers than the pools hold (a cycle)", what);
            break;
        }
        if (!mark_pbuf(c, p, &pool, what))
            break;
        c->held[pool]++;
        n++;
    }
    if (!c->failed && n != expect)
        ps_check_fail(c, "%s: %u buffers queued, its count says %u", what, n, expect);
    if (!c->failed && n > max)
        ps_check_fail(c, "%s: %u buffers queued, over its bound %u", what, n, max);
    return n;
}

static void check_free_lists(struct ps_check *c)
{
    for (int i = 0; i < PS_POOL_COUNT && !c->failed; i++) {
        const struct ps_pbuf_pool *pl = &c->s->pools[i];
        unsigned n = 0;
        for (const struct ps_pbuf *p = pl->free; p && !c->failed; p = p->next) {
            int pool = 0;
            if (n > pl->total) {
                ps_check_fail(c, "pool %d: free list longer than the pool (a cycle)", i);
                break;
            }
            if (mark_pbuf(c, p, &pool, "free list") && pool != i)
                ps_check_fail(c, "pool %d: free list holds a buffer of pool %d", i, pool);
            n++;
        }
        if (!c->failed && (n != pl->nfree || pl->nfree > pl->total))
            ps_check_fail(c, "pool %d: %u buffers on the free list, nfree %u, total %u", i, n, pl->nfree,
                          pl->total);
    }
}

/* Called last: every buffer not free is held by a queue found above. */
static void check_no_leak(struct ps_check *c)
{
    for (int i = 0; i < PS_POOL_COUNT && !c->failed; i++) {
        const struct ps_pbuf_pool *pl = &c->s->pools[i];
        unsigned in_use = pl->total - pl->nfree;
        if (in_use != c->held[i])
            ps_check_fail(c, "pool %d: %u buffers in use but queues hold %u (%s)", i, in_use, c->held[i],
                          in_use > c->held[i] ? "leaked" : "held but counted free");
    }
}

/* ---- timers ------------------------------------------------------------------------- */

void ps_check_timer(struct ps_check *c, const struct ps_timer *t, const char *what)
{
    if (!t->armed)
        return;
    c->armed++;
    if (t != c->s->timers.root && !t->prev)
        ps_check_fail(c, "%s: armed but not linked into the timer heap", what);
}

struct heap_item {
    const struct ps_timer *t;
    ps_time_t floor; /* the parent's deadline: heap order */
};

static void check_heap(struct ps_check *c)
{
    const struct ps_timer_heap *h = &c->s->timers;
    if (!h->root) {
        if (h->count)
            ps_check_fail(c, "timer heap: empty but its count is %zu", h->count);
        else if (c->armed)
            ps_check_fail(c, "timer heap: empty but %zu timers are armed", c->armed);
        return;
    }
    if (h->root->prev || h->root->next) {
        ps_check_fail(c, "timer heap: the root has a parent or a sibling");
        return;
    }
    size_t cap = 2 * h->count + 2, n = 0, visited = 0;
    struct heap_item *st = malloc(cap * sizeof(*st));
    if (!st) {
        ps_check_fail(c, "timer heap: no memory to walk it");
        return;
    }
    st[n++] = (struct heap_item){h->root, 0};
    while (n && !c->failed) {
        struct heap_item it = st[--n];
        const struct ps_timer *t = it.t;
        if (++visited > h->count) {
            ps_check_fail(c, "timer heap: more nodes than its count %zu (a cycle?)", h->count);
            break;
        }
        if (!t->armed)
            ps_check_fail(c, "timer heap: a node is not armed");
        else if (t->when < it.floor)
            ps_check_fail(c, "timer heap: a deadline is earlier than its parent's");
        else if (!t->fn)
            ps_check_fail(c, "timer heap: a node has no function");
        else if (t->child && t->child->prev != t)
            ps_check_fail(c, "timer heap: a first child does not point back to its parent");
        else if (t->next && t->next->prev != t)
            ps_check_fail(c, "timer heap: a sibling does not point back to its left sibling");
        else if (n + 2 > cap)
            ps_check_fail(c, "timer heap: too many nodes to walk");
        if (c->failed)
            break;
        if (t->child)
            st[n++] = (struct heap_item){t->child, t->when};
        if (t->next)
            st[n++] = (struct heap_item){t->next, it.floor};
    }
    free(st);
    if (!c->failed && visited != h->count)
        ps_check_fail(c, "timer heap: %zu nodes, its count says %zu", visited, h->count);
    if (!c->failed && visited != c->armed)
        ps_check_fail(c, "timer heap: %zu timers in the heap, %zu armed in the stack's objects", visited,
                      c->armed);
}

/* ---- network layer ------------------------------------------------------------------ */

static void check_arp_entry(struct ps_check *c, const struct ps_arp_cache *ac, unsigned i)
{
    const struct ps_stack *s = c->s;
    const struct ps_arp_entry *e = &ac->entries[i];
    ps_check_timer(c, &e->timer, "ARP entry");
    if (e->state == PS_ARP_FREE) {
        if (e->timer.armed || e->q_head)
            ps_check_fail(c, "ARP: free entry %u has a timer or a queue", i);
        return;
    }
    /* It must be what a lookup finds (its hash chain; the lookup reads
     * only, whatever its prototype says). */
    struct ps_arp_entry_info info;
    if (!ps_arp_lookup((struct ps_stack *)(uintptr_t)s, e->ip, &info) || info.state != e->state ||
        info.iface != e->ifc || info.queued != e->qlen) {
        ps_check_fail(c, "ARP: entry %u (%08x) is not what a lookup finds", i, (unsigned)e->ip);
        return;
    }
    if (e->ifc < &s->net.ifaces[0] || e->ifc >= &s->net.ifaces[s->net.nifaces]) {
        ps_check_fail(c, "ARP: entry %u names no interface of the stack", i);
        return;
    }
    /* Every dynamic entry has a timer (retry, expiry or failure hold);
     * only an unresolved one holds packets. */
    if (!e->is_static && !e->timer.armed)
        ps_check_fail(c, "ARP: entry %u (state %d) has no timer", i, (int)e->state);
    else if (e->state != PS_ARP_INCOMPLETE && e->qlen)
        ps_check_fail(c, "ARP: entry %u (state %d) holds %u packets", i, (int)e->state, e->qlen);
    if (c->failed)
        return;
    ps_check_pbuf_queue(c, e->q_head, e->qlen, s->cfg.arp_queue_len, "ARP queue");
    const struct ps_pbuf *last = e->q_head;
    while (last && last->next)
        last = last->next;
    if (!c->failed && e->q_tail != last)
        ps_check_fail(c, "ARP: entry %u's queue tail is not its last packet", i);
}

static void check_arp(struct ps_check *c)
{
    const struct ps_arp_cache *ac = &c->s->net.arp;
    unsigned used = 0, nfree = 0;
    for (unsigned i = 0; i < ac->size && !c->failed; i++) {
        check_arp_entry(c, ac, i);
        used += ac->entries[i].state != PS_ARP_FREE;
    }
    for (int32_t k = ac->free_head; k >= 0 && !c->failed; k = ac->entries[k].chain) {
        if ((unsigned)k >= ac->size || ++nfree > ac->size || ac->entries[k].state != PS_ARP_FREE)
            ps_check_fail(c, "ARP: the free list is broken at entry %d", (int)k);
    }
    if (!c->failed && used + nfree != ac->size)
        ps_check_fail(c, "ARP: %u entries used and %u free of %u", used, nfree, ac->size);
}

static void check_reasm(struct ps_check *c)
{
    const struct ps_stack *s = c->s;
    unsigned held = 0;
    for (unsigned i = 0; i < s->cfg.reasm_max_datagrams && !c->failed; i++) {
        const struct ps_reasm *r = &s->net.reasm[i];
        ps_check_timer(c, &r->timer, "reassembly");
        if (!r->used) {
            if (r->frags || r->timer.armed)
                ps_check_fail(c, "reassembly: free context %u holds fragments or a timer", i);
            continue;
        }
        if (!r->timer.armed) {
            ps_check_fail(c, "reassembly: context %u has no timeout", i);
            break;
        }
        unsigned n = ps_check_pbuf_queue(c, r->frags, r->nfrags, s->cfg.reasm_max_frags, "reassembly");
        uint32_t have = 0, end = 0;
        for (const struct ps_pbuf *f = r->frags; f && !c->failed; f = f->next) {
            if (f->tag < end)
                ps_check_fail(c, "reassembly: context %u has overlapping or unsorted fragments", i);
            end = f->tag + (uint32_t)f->len;
            have += (uint32_t)f->len;
        }
        if (!c->failed && (have != r->have || (r->total && end > r->total)))
            ps_check_fail(c, "reassembly: context %u holds %u bytes to %u, says %u of %u", i, have, end, r->have,
                          r->total);
        if (!c->failed && r->total && r->hlen && r->have == r->total)
            ps_check_fail(c, "reassembly: context %u is complete but still held", i);
        held += n;
    }
    if (!c->failed && (held != s->net.reasm_pbufs || held > s->cfg.reasm_max_pbufs))
        ps_check_fail(c, "reassembly: %u buffers held, counted %u, bound %u", held, s->net.reasm_pbufs,
                      s->cfg.reasm_max_pbufs);
}

static void check_net(struct ps_check *c)
{
    const struct ps_net *n = &c->s->net;
    if (n->nroutes > c->s->cfg.route_max)
        ps_check_fail(c, "routes: %u over the bound %u", n->nroutes, c->s->cfg.route_max);
    check_arp(c);
    check_reasm(c);
    if (c->failed)
        return;
    ps_check_pbuf_queue(c, n->loop_head, n->loop_len, c->s->cfg.loopback_queue_len, "loopback queue");
    const struct ps_pbuf *last = n->loop_head;
    while (!c->failed && last && last->next)
        last = last->next;
    if (!c->failed && n->loop_tail != last)
        ps_check_fail(c, "loopback queue: the tail is not the last packet");
}

/* ---- the entry point ----------------------------------------------------------------- */

int ps_stack_check(const struct ps_stack *s, char *why, size_t len)
{
    struct ps_check c = {.s = s, .why = why, .len = len};
    if (why && len)
        why[0] = '\0';
    for (int i = 0; i < PS_POOL_COUNT; i++) {
        c.seen[i] = calloc(s->pools[i].total / 8 + 1, 1);
        if (!c.seen[i])
            ps_check_fail(&c, "no memory for the check");
    }
    if (!c.failed)
        check_free_lists(&c);
    if (!c.failed)
        check_net(&c);
    if (!c.failed)
        ps_check_transport(&c);
    if (!c.failed)
        check_no_leak(&c);
    if (!c.failed)
        check_heap(&c);
    for (int i = 0; i < PS_POOL_COUNT; i++)
        free(c.seen[i]);
    return c.failed ? -1 : 0;
}
