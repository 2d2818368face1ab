/*
 * The ports module: bind rules, ephemeral port selection (RFC 6056
 * Algorithm 4) and demultiplexing by quadruple, for UDP and TCP alike.
 * See ports.h for the tables and docs/PORTS.md for the rules.
 */
#include "transport/ports.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "transport/port_bitmap.h"

/* Endpoints whose port was chosen by connect(): they share a port with
 * other connected endpoints toward other peers (RFC 6056: uniqueness is
 * per quadruple). */
#define PS_EP_AUTOBIND 0x8000

/* One port in use.  Its number is its first endpoint's: a bucket is on
 * its hash chain only while it has endpoints. */
struct port_bucket {
    struct ps_endpoint *head;
    struct port_bucket *next; /* hash chain, or the free list */
    uint32_t count;        /* endpoints on this port */
    uint32_t explicit_cnt; /* of which bound by bind() (not connect) */
};

struct ps_ports {
    uint8_t proto;
    unsigned capacity;
    /* Port buckets: a fixed pool, hashed by port. */
    struct port_bucket *buckets, *free_buckets;
    struct port_bucket **bucket_hash;
    unsigned bucket_mask;
    /* Bound (unconnected) and connected endpoints, keyed hashes. */
    struct ps_endpoint **bound, **quad;
    unsigned bound_mask, quad_mask;
    unsigned nendpoints;
    uint32_t seq;
    /* Any use of a port; explicit (bind()) use of a port. */
    struct ps_port_bitmap any, explicit_use;
    /* RFC 6056 Algorithm 4 state. */
    uint16_t perturb[PS_PORT_PERTURB_SIZE];
};

static struct ps_ports *table_of(struct ps_stack *s, uint8_t proto)
{
    return proto == PS_IP_PROTO_TCP ? s->ports_tcp : s->ports_udp;
}

/* ---- hashing ---------------------------------------------------------------- */

static unsigned hash_port(const struct ps_ports *t, uint16_t port)
{
    /* Ports are not chosen by outsiders; a multiplicative hash suffices. */
    return (unsigned)((port * 0x9e3779b1u) >> 16) & t->bucket_mask;
}

static unsigned hash_bound(struct ps_stack *s, const struct ps_ports *t, ps_ip4_t laddr, uint16_t lport)
{
    return (unsigned)ps_siphash_u64x4(&s->key_demux, laddr, lport, t->proto, 0, 2) & t->bound_mask;
}

static uint64_t quad_hash64(struct ps_stack *s, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr, uint16_t rport)
{
    return ps_siphash_u64x4(&s->key_demux, ((uint64_t)laddr << 32) | raddr, ((uint64_t)lport << 16) | rport, 0,
                            0, 2);
}

static unsigned pow2_at_least(unsigned n)
{
    unsigned p = 16;
    while (p < n)
        p <<= 1;
    return p;
}

/* ---- set-up ----------------------------------------------------------------- */

static struct ps_ports *table_new(struct ps_stack *s, uint8_t proto)
{
    struct ps_ports *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->proto = proto;
    /* Every socket holds at most one port, and so does a TCP TIME_WAIT
     * record; a bucket is one port in use, so never more than 65536.  The
     * hashes get one head for every two endpoints there can be: chains of
     * two at worst, at a quarter of the memory of one head each rounded
     * up to a power of two (these tables are most of a socket's fixed
     * cost). */
    unsigned endpoints = s->cfg.max_sockets;
    if (proto == PS_IP_PROTO_TCP)
        endpoints += s->cfg.tcp_timewait_max;
    t->capacity = endpoints < 65536 ? endpoints : 65536;
    unsigned nb = pow2_at_least(endpoints / 2);
    t->bucket_mask = nb - 1;
    t->bound_mask = nb - 1;
    t->quad_mask = nb - 1;
    t->buckets = calloc(t->capacity, sizeof(*t->buckets));
    t->bucket_hash = calloc(nb, sizeof(*t->bucket_hash));
    t->bound = calloc(nb, sizeof(*t->bound));
    t->quad = calloc(nb, sizeof(*t->quad));
    if (!t->buckets || !t->bucket_hash || !t->bound || !t->quad)
        return t; /* caller frees */
    for (unsigned i = t->capacity; i-- > 0;) {
        t->buckets[i].next = t->free_buckets;
        t->free_buckets = &t->buckets[i];
    }
    for (unsigned i = 0; i < PS_PORT_PERTURB_SIZE; i++)
        t->perturb[i] = (uint16_t)ps_stack_random(s);
    return t;
}

static void table_free(struct ps_ports *t)
{
    if (!t)
        return;
    free(t->buckets);
    free(t->bucket_hash);
    free(t->bound);
    free(t->quad);
    free(t);
}

static void rekey_ports(struct ps_stack *s, struct ps_timer *tm)
{
    /* Re-keying the offset secret now and then (RFC 6056 3.3.4 suggests
     * it) limits what an observer can learn from a long-lived one. */
    s->key_port.k0 = ps_stack_random(s);
    s->key_port.k1 = ps_stack_random(s);
    PS_STAT_INC(s, ports_rekey);
    ps_stack_timer_arm(s, tm, s->now + PS_MS(s->cfg.port_rekey_ms));
}

int ps_ports_init(struct ps_stack *s)
{
    s->ports_udp = table_new(s, PS_IP_PROTO_UDP);
    s->ports_tcp = table_new(s, PS_IP_PROTO_TCP);
    if (!s->ports_udp || !s->ports_tcp || !s->ports_udp->quad || !s->ports_tcp->quad)
        return -ENOMEM;
    s->ephemeral_lo = s->cfg.ephemeral_lo;
    s->ephemeral_hi = s->cfg.ephemeral_hi;
    ps_timer_init(&s->port_rekey_timer, rekey_ports);
    if (s->cfg.port_rekey_ms)
        ps_stack_timer_arm(s, &s->port_rekey_timer, s->now + PS_MS(s->cfg.port_rekey_ms));
    return 0;
}

void ps_ports_fini(struct ps_stack *s)
{
    ps_stack_timer_cancel(s, &s->port_rekey_timer);
    table_free(s->ports_udp);
    table_free(s->ports_tcp);
    s->ports_udp = s->ports_tcp = NULL;
}

/* ---- port buckets --------------------------------------------------------------- */

static struct port_bucket *bucket_find(struct ps_ports *t, uint16_t port)
{
    for (struct port_bucket *b = t->bucket_hash[hash_port(t, port)]; b; b = b->next)
        if (b->head->lport == port)
            return b;
    return NULL;
}

/* Put ep on its port's bucket; -ENOBUFS when the pool is spent. */
static int bucket_add(struct ps_stack *s, struct ps_ports *t, struct ps_endpoint *ep)
{
    struct port_bucket *b = bucket_find(t, ep->lport);
    if (!b) {
        b = ps_alloc_ok(s) ? t->free_buckets : NULL;
        if (!b)
            return -ENOBUFS;
        t->free_buckets = b->next;
        memset(b, 0, sizeof(*b));
        unsigned h = hash_port(t, ep->lport);
        b->next = t->bucket_hash[h];
        t->bucket_hash[h] = b;
        ps_port_bitmap_set(&t->any, ep->lport);
    }
    ep->port_next = b->head;
    b->head = ep;
    b->count++;
    if (!(ep->flags & PS_EP_AUTOBIND) && b->explicit_cnt++ == 0)
        ps_port_bitmap_set(&t->explicit_use, ep->lport);
    ep->flags |= PS_EP_BOUND;
    ep->seq = ++t->seq;
    t->nendpoints++;
    return 0;
}

static void bucket_remove(struct ps_ports *t, struct ps_endpoint *ep)
{
    struct port_bucket *b = bucket_find(t, ep->lport);
    if (!b)
        return;
    for (struct ps_endpoint **l = &b->head; *l; l = &(*l)->port_next) {
        if (*l == ep) {
            *l = ep->port_next;
            break;
        }
    }
    ep->port_next = NULL;
    ep->flags &= (uint16_t)~PS_EP_BOUND;
    t->nendpoints--;
    if (!(ep->flags & PS_EP_AUTOBIND) && --b->explicit_cnt == 0)
        ps_port_bitmap_clear(&t->explicit_use, ep->lport);
    if (--b->count > 0)
        return;
    ps_port_bitmap_clear(&t->any, ep->lport);
    struct port_bucket **l = &t->bucket_hash[hash_port(t, ep->lport)];
    while (*l != b)
        l = &(*l)->next;
    *l = b->next;
    b->next = t->free_buckets;
    t->free_buckets = b;
}

/* ---- the two hashes ------------------------------------------------------------ */

static void chain_remove(struct ps_endpoint **head, struct ps_endpoint *ep)
{
    for (struct ps_endpoint **l = head; *l; l = &(*l)->hash_next) {
        if (*l == ep) {
            *l = ep->hash_next;
            break;
        }
    }
    ep->hash_next = NULL;
}

static void bound_insert(struct ps_stack *s, struct ps_ports *t, struct ps_endpoint *ep)
{
    unsigned h = hash_bound(s, t, ep->laddr, ep->lport);
    ep->hash_next = t->bound[h];
    t->bound[h] = ep;
}

static void bound_remove(struct ps_stack *s, struct ps_ports *t, struct ps_endpoint *ep)
{
    chain_remove(&t->bound[hash_bound(s, t, ep->laddr, ep->lport)], ep);
}

static struct ps_endpoint **quad_head(struct ps_stack *s, struct ps_ports *t, ps_ip4_t laddr, uint16_t lport,
                                      ps_ip4_t raddr, uint16_t rport)
{
    return &t->quad[quad_hash64(s, laddr, lport, raddr, rport) & t->quad_mask];
}

static struct ps_endpoint *quad_find(struct ps_stack *s, struct ps_ports *t, ps_ip4_t laddr, uint16_t lport,
                                     ps_ip4_t raddr, uint16_t rport)
{
    for (struct ps_endpoint *e = *quad_head(s, t, laddr, lport, raddr, rport); e; e = e->hash_next)
        if (e->lport == lport && e->rport == rport && e->laddr == laddr && e->raddr == raddr)
            return e;
    return NULL;
}

/* ---- bind rules (docs/PORTS.md) -------------------------------------------------- */

/* May `ep` hold addr:port alongside `other`?  Linux semantics. */
static bool may_share(const struct ps_endpoint *ep, ps_ip4_t addr, const struct ps_endpoint *other)
{
    if (other->laddr != 0 && addr != 0 && other->laddr != addr)
        return true; /* different specific addresses never overlap */
    if (other->flags & PS_EP_TIMEWAIT)
        return (ep->flags & PS_EP_REUSEADDR) != 0; /* the TCP issue's hook */
    if ((ep->flags & PS_EP_REUSEPORT) && (other->flags & PS_EP_REUSEPORT))
        return true; /* a SO_REUSEPORT group */
    if ((ep->flags & PS_EP_REUSEADDR) && (other->flags & PS_EP_REUSEADDR) && !(other->flags & PS_EP_LISTEN))
        return true; /* SO_REUSEADDR never admits a second listener */
    return false;
}

static bool bind_conflict(struct ps_ports *t, const struct ps_endpoint *ep, ps_ip4_t addr, uint16_t port)
{
    struct port_bucket *b = bucket_find(t, port);
    if (!b)
        return false;
    for (const struct ps_endpoint *o = b->head; o; o = o->port_next)
        if (o != ep && !may_share(ep, addr, o))
            return true;
    return false;
}

static bool address_ok(struct ps_stack *s, uint8_t proto, ps_ip4_t addr)
{
    return addr == 0 || ps_ip_is_local(s, addr) || (proto == PS_IP_PROTO_UDP && addr == PS_IP4_BROADCAST);
}

/* ---- ephemeral ports (RFC 6056) ---------------------------------------------------- */

static void ep_range(struct ps_stack *s, const struct ps_endpoint *ep, unsigned *lo, unsigned *hi)
{
    *lo = s->ephemeral_lo;
    *hi = s->ephemeral_hi;
    /* A per-socket range (IP_LOCAL_PORT_RANGE) narrows the stack's. */
    if (ep->range_lo && ep->range_lo > *lo && ep->range_lo <= *hi)
        *lo = ep->range_lo;
    if (ep->range_hi && ep->range_hi < *hi && ep->range_hi >= *lo)
        *hi = ep->range_hi;
}

/* The first port >= start in [lo, hi], wrapping, whose bit is clear. */
static int find_clear_wrapping(const struct ps_port_bitmap *bm, unsigned start, unsigned lo, unsigned hi)
{
    int p = ps_port_bitmap_find_clear(bm, start, hi);
    if (p < 0 && start > lo)
        p = ps_port_bitmap_find_clear(bm, lo, start - 1);
    return p;
}

/* Algorithm 4: a keyed offset per (local, remote, remote port) plus a
 * perturbation entry that moves on after each pick. */
static unsigned pick_start(struct ps_stack *s, struct ps_ports *t, ps_ip4_t laddr, ps_ip4_t raddr,
                           uint16_t rport, unsigned lo, unsigned hi, uint16_t **perturb)
{
    uint64_t f = ps_siphash_u64x4(&s->key_port, laddr, raddr, ((uint64_t)t->proto << 16) | rport, 0, 3);
    *perturb = &t->perturb[(f >> 32) % PS_PORT_PERTURB_SIZE];
    unsigned num = hi - lo + 1;
    return lo + (unsigned)((f + **perturb) % num);
}

static void advance_perturb(struct ps_stack *s, uint16_t *perturb)
{
    /* A random step (1..8) rather than Algorithm 4's +1: the next pick
     * toward the same peer is not the predictable neighbour. */
    *perturb = (uint16_t)(*perturb + 1 + (ps_stack_random(s) & 7));
}

/* A port no endpoint of the protocol uses, for bind(port 0).  With no
 * peer to key an offset by, each pick starts at a fresh random point
 * (RFC 6056 Algorithm 1's spirit): a listener's port tells nothing about
 * the next one. */
static int pick_unused(struct ps_stack *s, struct ps_ports *t, const struct ps_endpoint *ep)
{
    unsigned lo, hi;
    ep_range(s, ep, &lo, &hi);
    unsigned start = lo + (unsigned)(ps_stack_random(s) % (hi - lo + 1));
    return find_clear_wrapping(&t->any, start, lo, hi);
}

/* A port for connect(): first one nobody uses; failing that, one shared
 * only with connected endpoints and free for this quadruple. */
static int pick_for_peer(struct ps_stack *s, struct ps_ports *t, const struct ps_endpoint *ep, ps_ip4_t laddr,
                         ps_ip4_t raddr, uint16_t rport)
{
    unsigned lo, hi;
    uint16_t *perturb;
    ep_range(s, ep, &lo, &hi);
    unsigned start = pick_start(s, t, laddr, raddr, rport, lo, hi, &perturb);
    int port = find_clear_wrapping(&t->any, start, lo, hi);
    if (port < 0) {
        /* Every port of the range has a user: walk the ones held only by
         * connect()ed endpoints from the offset; each costs one hash probe
         * (no socket is walked), and the explicit-use bitmap skips the
         * rest a word at a time. */
        unsigned num = hi - lo + 1, cur = start;
        for (unsigned tried = 0; tried < num;) {
            int p = find_clear_wrapping(&t->explicit_use, cur, lo, hi);
            if (p < 0)
                break;
            unsigned step = (unsigned)p >= cur ? (unsigned)p - cur : (unsigned)p + num - cur;
            tried += step + 1;
            if (tried > num)
                break;
            if (!quad_find(s, t, laddr, (uint16_t)p, raddr, rport)) {
                port = p;
                break;
            }
            cur = (unsigned)p == hi ? lo : (unsigned)p + 1;
        }
        if (port < 0)
            return -1;
    }
    advance_perturb(s, perturb);
    return port;
}

/* ---- the API ------------------------------------------------------------------------ */

/* Put ep on addr:port as an explicitly chosen port (bind, or a connection
 * accepted on a listener's port); on failure ep is left unbound. */
static int take_port(struct ps_stack *s, struct ps_ports *t, struct ps_endpoint *ep, ps_ip4_t addr,
                     uint16_t port)
{
    ep->laddr = addr;
    ep->lport = port;
    ep->flags &= (uint16_t)~PS_EP_AUTOBIND;
    int rc = bucket_add(s, t, ep);
    if (rc != 0) {
        ep->laddr = 0;
        ep->lport = 0;
    }
    return rc;
}

int ps_ports_bind(struct ps_stack *s, struct ps_endpoint *ep, ps_ip4_t addr, uint16_t port)
{
    struct ps_ports *t = table_of(s, ep->proto);
    if (ep->flags & PS_EP_BOUND)
        return -EINVAL;
    if (!address_ok(s, ep->proto, addr))
        return -EADDRNOTAVAIL;
    if (port == 0) {
        int p = pick_unused(s, t, ep);
        if (p < 0) {
            PS_STAT_INC(s, ports_exhausted);
            return -EADDRNOTAVAIL;
        }
        port = (uint16_t)p;
    } else if (bind_conflict(t, ep, addr, port)) {
        PS_STAT_INC(s, ports_bind_conflict);
        return -EADDRINUSE;
    }
    int rc = take_port(s, t, ep, addr, port);
    if (rc == 0)
        bound_insert(s, t, ep);
    return rc;
}

int ps_ports_listen(struct ps_stack *s, struct ps_endpoint *ep)
{
    struct ps_ports *t = table_of(s, ep->proto);
    struct port_bucket *b = bucket_find(t, ep->lport);
    if (!(ep->flags & PS_EP_BOUND) || !b)
        return -EINVAL;
    for (const struct ps_endpoint *o = b->head; o; o = o->port_next) {
        if (o == ep || !(o->flags & PS_EP_LISTEN))
            continue;
        bool overlap = o->laddr == 0 || ep->laddr == 0 || o->laddr == ep->laddr;
        if (overlap && !((ep->flags & PS_EP_REUSEPORT) && (o->flags & PS_EP_REUSEPORT))) {
            PS_STAT_INC(s, ports_bind_conflict);
            return -EADDRINUSE;
        }
    }
    ep->flags |= PS_EP_LISTEN;
    return 0;
}

int ps_ports_connect(struct ps_stack *s, struct ps_endpoint *ep, ps_ip4_t laddr, ps_ip4_t raddr, uint16_t rport)
{
    struct ps_ports *t = table_of(s, ep->proto);
    if (ep->flags & PS_EP_CONNECTED) {
        /* A new peer for a connected endpoint: same port; the old peer is
         * kept if the new quadruple is taken. */
        if (ep->bound_laddr != 0 && ep->bound_laddr != PS_IP4_BROADCAST)
            laddr = ep->bound_laddr;
        struct ps_endpoint *o = quad_find(s, t, laddr, ep->lport, raddr, rport);
        if (o && o != ep)
            return -EADDRINUSE;
        chain_remove(quad_head(s, t, ep->laddr, ep->lport, ep->raddr, ep->rport), ep);
    } else if (ep->flags & PS_EP_BOUND) {
        if (ep->laddr != 0 && ep->laddr != PS_IP4_BROADCAST)
            laddr = ep->laddr;
        if (quad_find(s, t, laddr, ep->lport, raddr, rport))
            return -EADDRINUSE;
        bound_remove(s, t, ep);
        ep->bound_laddr = ep->laddr;
    } else {
        int p = pick_for_peer(s, t, ep, laddr, raddr, rport);
        if (p < 0) {
            PS_STAT_INC(s, ports_exhausted);
            return -EADDRNOTAVAIL;
        }
        ep->lport = (uint16_t)p;
        ep->laddr = laddr;
        ep->flags |= PS_EP_AUTOBIND;
        int rc = bucket_add(s, t, ep);
        if (rc != 0) {
            ep->lport = 0;
            ep->laddr = 0;
            ep->flags &= (uint16_t)~PS_EP_AUTOBIND;
            return rc;
        }
        ep->bound_laddr = 0;
    }
    /* A connected endpoint lives in the quad hash only; bound_laddr keeps
     * what bind() gave, to go back to on disconnect. */
    ep->laddr = laddr;
    ep->raddr = raddr;
    ep->rport = rport;
    ep->flags |= PS_EP_CONNECTED;
    struct ps_endpoint **h = quad_head(s, t, laddr, ep->lport, raddr, rport);
    ep->hash_next = *h;
    *h = ep;
    return 0;
}

int ps_ports_attach(struct ps_stack *s, struct ps_endpoint *ep, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr,
                    uint16_t rport)
{
    struct ps_ports *t = table_of(s, ep->proto);
    if (ep->flags & PS_EP_BOUND)
        return -EINVAL;
    if (quad_find(s, t, laddr, lport, raddr, rport))
        return -EADDRINUSE;
    int rc = take_port(s, t, ep, laddr, lport);
    if (rc != 0)
        return rc;
    ep->bound_laddr = laddr;
    ep->raddr = raddr;
    ep->rport = rport;
    ep->flags |= PS_EP_CONNECTED;
    struct ps_endpoint **h = quad_head(s, t, laddr, lport, raddr, rport);
    ep->hash_next = *h;
    *h = ep;
    return 0;
}

void ps_ports_disconnect(struct ps_stack *s, struct ps_endpoint *ep)
{
    struct ps_ports *t = table_of(s, ep->proto);
    if (!(ep->flags & PS_EP_CONNECTED))
        return;
    chain_remove(quad_head(s, t, ep->laddr, ep->lport, ep->raddr, ep->rport), ep);
    ep->flags &= (uint16_t)~PS_EP_CONNECTED;
    ep->raddr = 0;
    ep->rport = 0;
    if (ep->flags & PS_EP_AUTOBIND) {
        /* The port was only lent for that peer (Linux does the same for
         * UDP: disconnect of an autobound socket unbinds it). */
        bucket_remove(t, ep);
        ep->flags &= (uint16_t)~PS_EP_AUTOBIND;
        ep->laddr = 0;
        ep->lport = 0;
        return;
    }
    ep->laddr = ep->bound_laddr;
    bound_insert(s, t, ep);
}

void ps_ports_unbind(struct ps_stack *s, struct ps_endpoint *ep)
{
    struct ps_ports *t = table_of(s, ep->proto);
    if (ep->flags & PS_EP_CONNECTED) {
        chain_remove(quad_head(s, t, ep->laddr, ep->lport, ep->raddr, ep->rport), ep);
        ep->flags &= (uint16_t)~PS_EP_CONNECTED;
    } else if (ep->flags & PS_EP_BOUND) {
        bound_remove(s, t, ep);
    }
    if (ep->flags & PS_EP_BOUND)
        bucket_remove(t, ep);
    ep->flags &= (uint16_t)~(PS_EP_AUTOBIND | PS_EP_LISTEN);
}

/* Swap old for repl in a chain (port bucket, or a hash chain). */
static void chain_swap(struct ps_endpoint **head, struct ps_endpoint *old, struct ps_endpoint *repl, bool port_chain)
{
    for (struct ps_endpoint **l = head; *l; l = port_chain ? &(*l)->port_next : &(*l)->hash_next) {
        if (*l == old) {
            *l = repl;
            return;
        }
    }
}

void ps_ports_replace(struct ps_stack *s, struct ps_endpoint *old, struct ps_endpoint *repl)
{
    struct ps_ports *t = table_of(s, old->proto);
    *repl = *old; /* addresses, ports, flags (AUTOBIND too), links, seq */
    if (old->flags & PS_EP_BOUND) {
        struct port_bucket *b = bucket_find(t, old->lport);
        if (b)
            chain_swap(&b->head, old, repl, true);
    }
    if (old->flags & PS_EP_CONNECTED)
        chain_swap(quad_head(s, t, old->laddr, old->lport, old->raddr, old->rport), old, repl, false);
    else if (old->flags & PS_EP_BOUND)
        chain_swap(&t->bound[hash_bound(s, t, old->laddr, old->lport)], old, repl, false);
    old->port_next = old->hash_next = NULL;
    old->flags &= (uint16_t)~(PS_EP_BOUND | PS_EP_CONNECTED | PS_EP_AUTOBIND | PS_EP_LISTEN | PS_EP_TIMEWAIT);
}

/* Among the bound endpoints on (laddr, lport): one, honouring SO_REUSEPORT
 * groups (keyed hash of the quadruple) and otherwise the latest bound. */
static struct ps_endpoint *bound_pick(struct ps_stack *s, struct ps_ports *t, ps_ip4_t laddr, uint16_t lport,
                                      ps_ip4_t src, uint16_t sport, ps_ip4_t dst)
{
    struct ps_endpoint *chain = t->bound[hash_bound(s, t, laddr, lport)];
    struct ps_endpoint *best = NULL;
    unsigned group = 0;
    for (struct ps_endpoint *e = chain; e; e = e->hash_next) {
        if (e->lport != lport || e->laddr != laddr || (t->proto == PS_IP_PROTO_TCP && !(e->flags & PS_EP_LISTEN)))
            continue;
        if (e->flags & PS_EP_REUSEPORT)
            group++;
        if (!best || e->seq > best->seq)
            best = e;
    }
    if (group < 2 || !(best->flags & PS_EP_REUSEPORT))
        return best;
    /* Spread the group's traffic by a hash of the quadruple: the same flow
     * always reaches the same member. */
    unsigned k = (unsigned)(quad_hash64(s, dst, lport, src, sport) % group);
    for (struct ps_endpoint *e = chain; e; e = e->hash_next) {
        if (e->lport != lport || e->laddr != laddr || !(e->flags & PS_EP_REUSEPORT) ||
            (t->proto == PS_IP_PROTO_TCP && !(e->flags & PS_EP_LISTEN)))
            continue;
        if (k-- == 0)
            return e;
    }
    return best;
}

struct ps_endpoint *ps_ports_lookup(struct ps_stack *s, uint8_t proto, ps_ip4_t src, uint16_t sport, ps_ip4_t dst,
                                    uint16_t dport)
{
    struct ps_ports *t = table_of(s, proto);
    /* A port nobody holds (a scan, a stray datagram) is known from the
     * bitmap alone, without hashing anything. */
    if (!ps_port_bitmap_test(&t->any, dport))
        return NULL;
    struct ps_endpoint *e = quad_find(s, t, dst, dport, src, sport);
    if (e)
        return e;
    e = bound_pick(s, t, dst, dport, src, sport, dst);
    if (e)
        return e;
    return bound_pick(s, t, 0, dport, src, sport, dst);
}

void ps_ports_foreach_match(struct ps_stack *s, uint8_t proto, ps_ip4_t src, uint16_t sport, ps_ip4_t dst,
                            uint16_t dport, int (*fn)(void *ctx, struct ps_endpoint *ep), void *ctx)
{
    struct ps_ports *t = table_of(s, proto);
    struct port_bucket *b = bucket_find(t, dport);
    if (!b)
        return;
    for (struct ps_endpoint *e = b->head, *next; e; e = next) {
        next = e->port_next; /* fn may not unbind, but be safe */
        bool match;
        if (e->flags & PS_EP_CONNECTED) /* its local address is unicast: never a broadcast */
            match = e->raddr == src && e->rport == sport && e->laddr == dst;
        else
            match = e->laddr == 0 || e->laddr == dst;
        if (match && fn(ctx, e))
            return;
    }
}

void ps_ports_foreach(struct ps_stack *s, uint8_t proto, int (*fn)(void *ctx, struct ps_endpoint *ep), void *ctx)
{
    struct ps_ports *t = table_of(s, proto);
    for (unsigned i = 0; i <= t->bucket_mask; i++)
        for (struct port_bucket *b = t->bucket_hash[i]; b; b = b->next)
            for (struct ps_endpoint *e = b->head; e; e = e->port_next)
                if (fn(ctx, e))
                    return;
}

unsigned ps_ports_in_use(struct ps_stack *s, uint8_t proto)
{
    return table_of(s, proto)->nendpoints;
}

int ps_ports_set_range(struct ps_stack *s, uint16_t lo, uint16_t hi)
{
    if (lo == 0 || lo > hi)
        return -EINVAL;
    s->ephemeral_lo = lo;
    s->ephemeral_hi = hi;
    return 0;
}

void ps_ports_get_range(struct ps_stack *s, uint16_t *lo, uint16_t *hi)
{
    *lo = s->ephemeral_lo;
    *hi = s->ephemeral_hi;
}
