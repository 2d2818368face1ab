/*
 * ARP (RFC 826): a bounded cache of neighbours, hashed by IP address under
 * the stack's secret key, with a small queue of packets per unresolved
 * entry, retries, expiry, and answers to requests for our addresses.
 *
 * Entry life: INCOMPLETE (requests every arp_retry_ms, packets queued) ->
 * RESOLVED (for arp_timeout_ms, then forgotten) or, after arp_retries
 * requests, FAILED (packets dropped with ICMP host unreachable, new packets
 * refused for arp_fail_hold_ms so a dead neighbour does not cost a request
 * per packet).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "net/net_impl.h"

static const ps_mac_t mac_broadcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

static unsigned bucket_of(struct ps_stack *s, ps_ip4_t ip)
{
    return (unsigned)ps_siphash_u64x4(&s->key_table, ip, 0x617270, 0, 0, 2) & (s->net.arp.nbuckets - 1);
}

static struct ps_arp_entry *find(struct ps_stack *s, ps_ip4_t ip)
{
    struct ps_arp_cache *c = &s->net.arp;
    for (int32_t i = c->buckets[bucket_of(s, ip)]; i >= 0; i = c->entries[i].chain)
        if (c->entries[i].ip == ip)
            return &c->entries[i];
    return NULL;
}

static void arp_timer(struct ps_stack *s, struct ps_timer *t);

int ps_arp_init(struct ps_stack *s)
{
    struct ps_arp_cache *c = &s->net.arp;
    c->size = s->cfg.arp_cache_size;
    c->nbuckets = 1;
    while (c->nbuckets < 2 * c->size)
        c->nbuckets <<= 1;
    c->entries = calloc(c->size, sizeof(*c->entries));
    c->buckets = malloc(c->nbuckets * sizeof(*c->buckets));
    if (!c->entries || !c->buckets)
        return -ENOMEM;
    for (unsigned i = 0; i < c->nbuckets; i++)
        c->buckets[i] = -1;
    c->free_head = -1;
    for (unsigned i = c->size; i-- > 0;) {
        ps_timer_init(&c->entries[i].timer, arp_timer);
        c->entries[i].chain = c->free_head;
        c->free_head = (int32_t)i;
    }
    return 0;
}

static void drop_queue(struct ps_stack *s, struct ps_arp_entry *e, bool report)
{
    struct ps_pbuf *p = e->q_head;
    e->q_head = e->q_tail = NULL;
    e->qlen = 0;
    while (p) {
        struct ps_pbuf *next = p->next;
        PS_STAT_INC(s, arp_queue_drop);
        /* Tell the sender, as a router must (RFC 1812 4.3.3.1); for our own
         * packets the error loops back and reaches the transport layer. */
        if (report)
            ps_icmp_send_error(s, p->data, p->len, PS_ICMP_DEST_UNREACH, PS_ICMP_UNREACH_HOST, 0, NULL);
        ps_pbuf_free(s, p);
        p = next;
    }
}

static void entry_free(struct ps_stack *s, struct ps_arp_entry *e)
{
    struct ps_arp_cache *c = &s->net.arp;
    int32_t idx = (int32_t)(e - c->entries);
    int32_t *link = &c->buckets[bucket_of(s, e->ip)];
    while (*link != idx)
        link = &c->entries[*link].chain;
    *link = e->chain;
    ps_stack_timer_cancel(s, &e->timer);
    drop_queue(s, e, false);
    e->state = PS_ARP_FREE;
    e->is_static = false;
    e->chain = c->free_head;
    c->free_head = idx;
}

void ps_arp_fini(struct ps_stack *s)
{
    struct ps_arp_cache *c = &s->net.arp;
    if (c->entries)
        for (unsigned i = 0; i < c->size; i++)
            if (c->entries[i].state != PS_ARP_FREE)
                entry_free(s, &c->entries[i]);
    free(c->entries);
    free(c->buckets);
    c->entries = NULL;
    c->buckets = NULL;
}

/* A new entry for ip, evicting the least recently used dynamic one when the
 * cache is full (a scan, but only on that rare path). */
static struct ps_arp_entry *entry_new(struct ps_stack *s, struct ps_iface *ifc, ps_ip4_t ip)
{
    struct ps_arp_cache *c = &s->net.arp;
    if (!ps_alloc_ok(s))
        return NULL; /* fault injection: as if every entry were static */
    if (c->free_head < 0) {
        struct ps_arp_entry *victim = NULL;
        for (unsigned i = 0; i < c->size; i++) {
            struct ps_arp_entry *e = &c->entries[i];
            if (!e->is_static && (!victim || e->last_used < victim->last_used))
                victim = e;
        }
        if (!victim)
            return NULL;
        PS_STAT_INC(s, arp_evicted);
        entry_free(s, victim);
    }
    int32_t idx = c->free_head;
    struct ps_arp_entry *e = &c->entries[idx];
    c->free_head = e->chain;
    memset(&e->mac, 0, sizeof(e->mac));
    e->ip = ip;
    e->ifc = ifc;
    e->state = PS_ARP_INCOMPLETE;
    e->retries = 0;
    e->refreshing = false;
    e->last_used = s->now;
    e->q_head = e->q_tail = NULL;
    e->qlen = 0;
    unsigned b = bucket_of(s, ip);
    e->chain = c->buckets[b];
    c->buckets[b] = idx;
    return e;
}

static int send_arp(struct ps_stack *s, struct ps_iface *ifc, uint16_t op, const ps_mac_t *dst_mac,
                    ps_ip4_t spa, const ps_mac_t *tha, ps_ip4_t tpa)
{
    struct ps_pbuf *p = ps_pbuf_alloc(s, PS_ARP_LEN);
    if (!p)
        return -ENOBUFS;
    struct ps_arp_pkt a = {.op = op, .sha = ifc->mac, .spa = spa, .tha = *tha, .tpa = tpa};
    ps_arp_emit(p->data, &a);
    if (op == PS_ARP_REQUEST)
        PS_STAT_INC(s, arp_tx_request);
    else
        PS_STAT_INC(s, arp_tx_reply);
    return ps_eth_output(s, ifc, dst_mac, PS_ETHERTYPE_ARP, p);
}

/* Our address on ifc to speak from when asking for ip. */
static ps_ip4_t source_for(const struct ps_iface *ifc, ps_ip4_t ip)
{
    for (unsigned i = 0; i < ifc->naddr; i++) {
        ps_ip4_t m = ps_ip4_mask(ifc->addr[i].prefix);
        if ((ifc->addr[i].addr & m) == (ip & m))
            return ifc->addr[i].addr;
    }
    return ifc->naddr ? ifc->addr[0].addr : 0;
}

static void send_request(struct ps_stack *s, struct ps_arp_entry *e)
{
    static const ps_mac_t zero = {{0}};
    e->retries++;
    send_arp(s, e->ifc, PS_ARP_REQUEST, &mac_broadcast, source_for(e->ifc, e->ip), &zero, e->ip);
    ps_stack_timer_arm(s, &e->timer, s->now + PS_MS(s->cfg.arp_retry_ms));
}

static void arp_timer(struct ps_stack *s, struct ps_timer *t)
{
    struct ps_arp_entry *e = (struct ps_arp_entry *)(void *)((uint8_t *)t - offsetof(struct ps_arp_entry, timer));
    switch (e->state) {
    case PS_ARP_INCOMPLETE:
        if (e->retries < s->cfg.arp_retries) {
            send_request(s, e);
            return;
        }
        PS_STAT_INC(s, arp_timeout);
        e->state = PS_ARP_FAILED;
        drop_queue(s, e, true);
        ps_stack_timer_arm(s, &e->timer, s->now + PS_MS(s->cfg.arp_fail_hold_ms));
        return;
    case PS_ARP_RESOLVED:
        /* An entry still in use is re-validated while it keeps working
         * (like Linux's PROBE state), so traffic never stalls on expiry. */
        if (!e->is_static && s->now - e->last_used < PS_MS(s->cfg.arp_timeout_ms) &&
            e->retries < s->cfg.arp_retries) {
            e->refreshing = true;
            send_request(s, e);
            return;
        }
        entry_free(s, e);
        return;
    case PS_ARP_FAILED:
        entry_free(s, e);
        return;
    case PS_ARP_FREE:
        return;
    }
}

/* Send what waited for e's address. */
static void flush_queue(struct ps_stack *s, struct ps_arp_entry *e)
{
    struct ps_pbuf *p = e->q_head;
    e->q_head = e->q_tail = NULL;
    e->qlen = 0;
    while (p) {
        struct ps_pbuf *next = p->next;
        p->next = NULL;
        ps_ipv4_link_send(s, e->ifc, &e->mac, p);
        p = next;
    }
}

static void resolve(struct ps_stack *s, struct ps_arp_entry *e, const ps_mac_t *mac)
{
    if (e->state != PS_ARP_RESOLVED)
        PS_STAT_INC(s, arp_resolved);
    e->mac = *mac;
    e->state = PS_ARP_RESOLVED;
    e->refreshing = false;
    e->retries = 0;
    if (!e->is_static)
        ps_stack_timer_arm(s, &e->timer, s->now + PS_MS(s->cfg.arp_timeout_ms));
    flush_queue(s, e);
}

int ps_arp_output(struct ps_stack *s, struct ps_iface *ifc, ps_ip4_t next_hop, struct ps_pbuf *p)
{
    struct ps_arp_entry *e = find(s, next_hop);
    if (e && e->ifc != ifc) {
        /* The neighbour moved to another interface (a route change). */
        if (e->is_static) {
            ps_pbuf_free(s, p);
            return -EHOSTUNREACH;
        }
        entry_free(s, e);
        e = NULL;
    }
    if (!e) {
        e = entry_new(s, ifc, next_hop);
        if (!e) {
            PS_STAT_INC(s, arp_queue_drop);
            ps_pbuf_free(s, p);
            return -ENOBUFS;
        }
        send_request(s, e);
    }
    e->last_used = s->now;
    switch (e->state) {
    case PS_ARP_RESOLVED:
        return ps_ipv4_link_send(s, ifc, &e->mac, p);
    case PS_ARP_INCOMPLETE:
        if (e->qlen >= s->cfg.arp_queue_len) {
            /* Keep the newest: the oldest is the most likely to be stale. */
            struct ps_pbuf *old = e->q_head;
            e->q_head = old->next;
            if (!e->q_head)
                e->q_tail = NULL;
            e->qlen--;
            ps_pbuf_free(s, old);
            PS_STAT_INC(s, arp_queue_drop);
        }
        p->next = NULL;
        if (e->q_tail)
            e->q_tail->next = p;
        else
            e->q_head = p;
        e->q_tail = p;
        e->qlen++;
        return 0;
    default:
        PS_STAT_INC(s, arp_queue_drop);
        ps_pbuf_free(s, p);
        return -EHOSTUNREACH;
    }
}

void ps_arp_input(struct ps_stack *s, struct ps_iface *ifc, struct ps_pbuf *p)
{
    struct ps_arp_pkt a;
    PS_STAT_INC(s, arp_rx);
    if (ps_arp_parse(p->data, p->len, &a) < 0) {
        PS_STAT_INC(s, arp_drop_malformed);
        goto out;
    }
    bool on_subnet = false;
    for (unsigned i = 0; i < ifc->naddr; i++) {
        ps_ip4_t m = ps_ip4_mask(ifc->addr[i].prefix);
        if ((ifc->addr[i].addr & m) == (a.spa & m))
            on_subnet = true;
    }
    /* A sender claiming a broadcast/multicast MAC, our own address, or an
     * address that is not on this link is not believed (cache poisoning
     * from afar, address conflicts). */
    if (ps_mac_is_multicast(&a.sha) || a.spa == PS_IP4_BROADCAST || ps_ip4_is_multicast(a.spa) ||
        (a.spa != 0 && (!on_subnet || ps_ipv4_is_broadcast(ifc, a.spa) || ps_ip_is_local(s, a.spa)))) {
        PS_STAT_INC(s, arp_drop_bad_sender);
        goto out;
    }
    bool for_us = false;
    for (unsigned i = 0; i < ifc->naddr; i++)
        if (ifc->addr[i].addr == a.tpa)
            for_us = true;

    /* RFC 826 merge: update a known sender; learn a new one only if it
     * talks to us (spa 0 is an RFC 5227 probe and is never learnt). */
    if (a.spa != 0) {
        struct ps_arp_entry *e = find(s, a.spa);
        if (e && !e->is_static && e->ifc == ifc)
            resolve(s, e, &a.sha);
        else if (!e && for_us && (e = entry_new(s, ifc, a.spa)) != NULL)
            resolve(s, e, &a.sha);
    }
    if (!for_us) {
        if (a.op == PS_ARP_REQUEST)
            PS_STAT_INC(s, arp_drop_not_for_us);
        goto out;
    }
    if (a.op == PS_ARP_REQUEST)
        send_arp(s, ifc, PS_ARP_REPLY, &a.sha, a.tpa, &a.sha, a.spa);
out:
    ps_pbuf_free(s, p);
}

bool ps_arp_lookup(struct ps_stack *s, ps_ip4_t ip, struct ps_arp_entry_info *out)
{
    struct ps_arp_entry *e = find(s, ip);
    if (!e)
        return false;
    if (out) {
        out->ip = e->ip;
        out->mac = e->mac;
        out->state = e->state;
        out->iface = e->ifc;
        out->expires = e->timer.armed ? e->timer.when : PS_TIME_NEVER;
        out->queued = e->qlen;
    }
    return true;
}

void ps_arp_foreach(struct ps_stack *s, int (*fn)(void *ctx, const struct ps_arp_entry_info *e), void *ctx)
{
    struct ps_arp_cache *c = &s->net.arp;
    for (unsigned i = 0; i < c->size; i++) {
        struct ps_arp_entry_info info;
        if (c->entries[i].state == PS_ARP_FREE)
            continue;
        ps_arp_lookup(s, c->entries[i].ip, &info);
        if (fn(ctx, &info))
            return;
    }
}

int ps_arp_add_static(struct ps_stack *s, struct ps_iface *ifc, ps_ip4_t ip, const ps_mac_t *mac)
{
    struct ps_arp_entry *e = find(s, ip);
    if (e)
        entry_free(s, e);
    e = entry_new(s, ifc, ip);
    if (!e)
        return -ENOSPC;
    e->is_static = true;
    resolve(s, e, mac);
    return 0;
}
