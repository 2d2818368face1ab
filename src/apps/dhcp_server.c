/*
 * The DHCPv4 server: a fixed table of pool addresses, each free, offered,
 * bound or declined, answered from the socket's readiness callback (RFC
 * 2131 4.3).  The message code is dhcp_msg.c's, shared with the client.
 */
#include <portstack/dhcp_server.h>
#include <portstack/socket.h>
#include <portstack/stack.h>
#include <portstack/stats.h>
#include <portstack/wire.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apps/dhcp_msg.h"

/* A client: its identifier (option 61, or hardware type 1 + MAC). */
struct client_key {
    uint8_t id[DHCP_CLIENT_ID_MAX];
    uint8_t len;
};

struct slot {
    struct ps_dhcpd_lease pub;
    struct client_key owner; /* len 0: nobody's (never leased, or declined) */
    bool ever_used;
    ps_time_t freed_at;      /* when it last became free */
};

struct ps_dhcpd {
    struct ps_stack *s;
    struct ps_dhcpd_config cfg;
    ps_ip4_t netmask;
    int fd;
    ps_dhcpd_event_fn fn;
    void *ctx;
    struct ps_dhcpd_stats stats;
    unsigned nslots;
    struct slot slots[PS_DHCPD_MAX_LEASES];
    uint8_t buf[1500];
};

static const char *const state_names[] = {"FREE", "OFFERED", "BOUND", "DECLINED"};
static const char *const event_names[] = {"OFFER", "ACK", "NAK", "RELEASE", "DECLINE", "EXPIRE"};

const char *ps_dhcpd_state_name(enum ps_dhcpd_lease_state st)
{
    return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "?";
}

const char *ps_dhcpd_event_name(enum ps_dhcpd_event ev)
{
    return (unsigned)ev < sizeof(event_names) / sizeof(event_names[0]) ? event_names[ev] : "?";
}

/* A message dropped: counted here and in the stack's counters. */
static void dropped(struct ps_dhcpd *d)
{
    d->stats.dropped++;
    ps_stack_stats_rw(d->s)->dhcpd_drop++;
}

static void emit(struct ps_dhcpd *d, enum ps_dhcpd_event ev, const struct ps_dhcpd_lease *l)
{
    if (d->fn)
        d->fn(d->ctx, ev, l);
}

static void key_of(const struct dhcp_in *m, struct client_key *k)
{
    if (m->client_id_len) {
        k->len = m->client_id_len;
        memcpy(k->id, m->client_id, k->len);
    } else {
        k->len = 7;
        k->id[0] = 1; /* hardware type Ethernet, as RFC 2132 9.14 suggests */
        memcpy(k->id + 1, m->chaddr.b, 6);
    }
}

static bool is_owner(const struct slot *sl, const struct client_key *k)
{
    return sl->owner.len && sl->owner.len == k->len && memcmp(sl->owner.id, k->id, k->len) == 0;
}

static struct slot *by_client(struct ps_dhcpd *d, const struct client_key *k)
{
    for (unsigned i = 0; i < d->nslots; i++)
        if (is_owner(&d->slots[i], k))
            return &d->slots[i];
    return NULL;
}

static struct slot *by_addr(struct ps_dhcpd *d, ps_ip4_t addr)
{
    for (unsigned i = 0; i < d->nslots; i++)
        if (d->slots[i].pub.addr == addr)
            return &d->slots[i];
    return NULL;
}

static void set_free(struct ps_dhcpd *d, struct slot *sl)
{
    sl->pub.state = PS_DHCPD_FREE;
    sl->pub.expires = 0;
    sl->freed_at = ps_stack_now(d->s);
}

/* Offers, leases and rests that ran out by now. */
static void expire(struct ps_dhcpd *d, ps_time_t now)
{
    for (unsigned i = 0; i < d->nslots; i++) {
        struct slot *sl = &d->slots[i];
        if (sl->pub.state == PS_DHCPD_FREE || sl->pub.expires > now)
            continue;
        bool was_lease = sl->pub.state != PS_DHCPD_DECLINED;
        set_free(d, sl);
        if (was_lease) {
            d->stats.expired++;
            emit(d, PS_DHCPD_EV_EXPIRE, &sl->pub);
        }
    }
}

/* The address to offer a new client (RFC 2131 4.3.1): the one it asks
 * for if free, else a never-used one, else the one free longest. */
static struct slot *pick_free(struct ps_dhcpd *d, ps_ip4_t requested)
{
    struct slot *sl = requested ? by_addr(d, requested) : NULL;
    if (sl && sl->pub.state == PS_DHCPD_FREE)
        return sl;
    struct slot *oldest = NULL;
    for (unsigned i = 0; i < d->nslots; i++) {
        sl = &d->slots[i];
        if (sl->pub.state != PS_DHCPD_FREE)
            continue;
        if (!sl->ever_used)
            return sl;
        if (!oldest || sl->freed_at < oldest->freed_at)
            oldest = sl;
    }
    return oldest;
}

/* Make sl the client's only address: whatever else it held is freed and
 * forgotten. */
static void assign(struct ps_dhcpd *d, struct slot *sl, const struct client_key *k, const ps_mac_t *mac)
{
    for (unsigned i = 0; i < d->nslots; i++) {
        struct slot *o = &d->slots[i];
        if (o != sl && is_owner(o, k)) {
            if (o->pub.state == PS_DHCPD_OFFERED || o->pub.state == PS_DHCPD_BOUND)
                set_free(d, o);
            o->owner.len = 0;
        }
    }
    sl->owner = *k;
    sl->pub.mac = *mac;
    sl->ever_used = true;
}

static bool in_subnet(const struct ps_dhcpd *d, ps_ip4_t a)
{
    return (a & d->netmask) == (d->cfg.server & d->netmask);
}

/* ---- replies ------------------------------------------------------------------ */

static void send_reply(struct ps_dhcpd *d, const struct dhcp_in *m, uint8_t type, ps_ip4_t yiaddr, bool lease)
{
    struct dhcp_reply r = {
        .type = type,
        .xid = m->xid,
        .flags = m->flags,
        .ciaddr = type == DHCPNAK ? 0 : m->ciaddr,
        .yiaddr = yiaddr,
        .chaddr = m->chaddr,
        .server = d->cfg.server,
        .client_id = m->client_id,
        .client_id_len = m->client_id_len,
    };
    if (type != DHCPNAK) {
        r.netmask = d->netmask;
        r.router = d->cfg.router;
        r.ndns = d->cfg.ndns;
        memcpy(r.dns, d->cfg.dns, sizeof(r.dns));
    }
    if (lease) {
        r.lease_s = d->cfg.lease_s;
        r.t1_s = d->cfg.lease_s / 2;
        r.t2_s = d->cfg.lease_s / 8 * 7;
    }
    uint8_t out[DHCP_MAX_MSG];
    size_t len = dhcp_build_reply(out, &r);
    /* RFC 2131 4.1: to a client with an address, to it; NAKs and replies to
     * clients without one, to everyone on the link. */
    struct ps_sockaddr_in to = {.addr = PS_IP4_BROADCAST, .port = PS_DHCP_CLIENT_PORT};
    if (type != DHCPNAK && m->ciaddr)
        to.addr = m->ciaddr;
    if (ps_sendto(d->s, d->fd, out, len, 0, &to) < 0) {
        dropped(d);
        return;
    }
    if (type == DHCPOFFER)
        d->stats.offers++;
    else if (type == DHCPACK)
        d->stats.acks++;
    else
        d->stats.naks++;
}

static void ack(struct ps_dhcpd *d, const struct dhcp_in *m, struct slot *sl, const struct client_key *k)
{
    assign(d, sl, k, &m->chaddr);
    sl->pub.state = PS_DHCPD_BOUND;
    sl->pub.expires = ps_stack_now(d->s) + PS_SEC(d->cfg.lease_s);
    send_reply(d, m, DHCPACK, sl->pub.addr, true);
    emit(d, PS_DHCPD_EV_ACK, &sl->pub);
}

static void nak(struct ps_dhcpd *d, const struct dhcp_in *m, ps_ip4_t asked)
{
    send_reply(d, m, DHCPNAK, 0, false);
    struct ps_dhcpd_lease l = {.addr = asked, .mac = m->chaddr};
    emit(d, PS_DHCPD_EV_NAK, &l);
}

/* ---- requests ------------------------------------------------------------------- */

static void on_discover(struct ps_dhcpd *d, const struct dhcp_in *m, const struct client_key *k)
{
    d->stats.discovers++;
    /* Its current address, or its last one (kept while nobody took it);
     * declined addresses have no owner. */
    struct slot *sl = by_client(d, k);
    if (!sl)
        sl = pick_free(d, m->requested);
    if (!sl) {
        d->stats.pool_exhausted++;
        ps_stack_stats_rw(d->s)->dhcpd_pool_exhausted++;
        return;
    }
    assign(d, sl, k, &m->chaddr);
    if (sl->pub.state != PS_DHCPD_BOUND) { /* a bound client asking again keeps its lease */
        sl->pub.state = PS_DHCPD_OFFERED;
        sl->pub.expires = ps_stack_now(d->s) + PS_SEC(PS_DHCPD_OFFER_HOLD_S);
    }
    send_reply(d, m, DHCPOFFER, sl->pub.addr, true);
    emit(d, PS_DHCPD_EV_OFFER, &sl->pub);
}

static void on_request(struct ps_dhcpd *d, const struct dhcp_in *m, const struct client_key *k)
{
    d->stats.requests++;
    struct slot *mine = by_client(d, k);
    if (m->server) { /* SELECTING */
        if (m->server != d->cfg.server) {
            /* The client took another server's offer: withdraw ours. */
            if (mine && mine->pub.state == PS_DHCPD_OFFERED)
                set_free(d, mine);
            d->stats.ignored++;
        } else if (mine && mine->pub.addr == m->requested) {
            ack(d, m, mine, k); /* our offer (or, if it ran out, the same address, still the client's) */
        } else {
            nak(d, m, m->requested);
        }
        return;
    }
    /* INIT-REBOOT asks for an address in option 50; RENEWING and REBINDING
     * name theirs in ciaddr. */
    ps_ip4_t asked = m->ciaddr ? m->ciaddr : m->requested;
    if (!asked) {
        dropped(d);
        return;
    }
    struct slot *sl = by_addr(d, asked);
    if (sl && is_owner(sl, k) && sl->pub.state != PS_DHCPD_DECLINED)
        ack(d, m, sl, k); /* its own lease, or its last one still free */
    else if ((!m->ciaddr && !in_subnet(d, asked)) || (sl && (sl->pub.state != PS_DHCPD_FREE || sl->owner.len)))
        nak(d, m, asked); /* the wrong network, or someone else's address */
    else
        d->stats.ignored++; /* no record of this client: stay silent */
}

static void on_decline(struct ps_dhcpd *d, const struct dhcp_in *m, const struct client_key *k)
{
    d->stats.declines++;
    struct slot *sl = by_addr(d, m->requested);
    if (m->server != d->cfg.server || !sl || !is_owner(sl, k)) {
        d->stats.ignored++;
        return;
    }
    sl->pub.state = PS_DHCPD_DECLINED;
    sl->pub.expires = ps_stack_now(d->s) + PS_SEC(PS_DHCPD_DECLINE_HOLD_S);
    sl->owner.len = 0;
    emit(d, PS_DHCPD_EV_DECLINE, &sl->pub);
}

static void on_release(struct ps_dhcpd *d, const struct dhcp_in *m, const struct client_key *k)
{
    d->stats.releases++;
    struct slot *sl = by_addr(d, m->ciaddr);
    if (!sl || !is_owner(sl, k) || sl->pub.state != PS_DHCPD_BOUND) {
        d->stats.ignored++;
        return;
    }
    set_free(d, sl); /* the owner is kept: its first choice next time */
    emit(d, PS_DHCPD_EV_RELEASE, &sl->pub);
}

static void on_message(struct ps_dhcpd *d, const struct dhcp_in *m)
{
    if (m->op != 1 || m->giaddr) {
        dropped(d);
        return;
    }
    expire(d, ps_stack_now(d->s));
    struct client_key k;
    key_of(m, &k);
    switch (m->type) {
    case DHCPDISCOVER:
        on_discover(d, m, &k);
        break;
    case DHCPREQUEST:
        on_request(d, m, &k);
        break;
    case DHCPDECLINE:
        on_decline(d, m, &k);
        break;
    case DHCPRELEASE:
        on_release(d, m, &k);
        break;
    case DHCPINFORM:
        d->stats.informs++;
        send_reply(d, m, DHCPACK, 0, false); /* configuration only (RFC 2131 3.4) */
        break;
    default:
        dropped(d);
    }
}

static void on_readable(void *ctx, int fd, short revents)
{
    struct ps_dhcpd *d = ctx;
    if (!(revents & (PS_POLLIN | PS_POLLERR)))
        return;
    for (;;) {
        ssize_t n = ps_recv(d->s, fd, d->buf, sizeof(d->buf), 0);
        if (n == -EAGAIN)
            return;
        struct dhcp_in m;
        if (n < 0 || dhcp_parse(d->buf, (size_t)n, &m) != 0) {
            dropped(d); /* malformed, or an error about an earlier reply */
            continue;
        }
        on_message(d, &m);
    }
}

/* ---- the server --------------------------------------------------------------------- */

static int fill_pool(struct ps_dhcpd *d)
{
    const struct ps_dhcpd_config *c = &d->cfg;
    if (!c->server || c->prefix < 1 || c->prefix > 30 || !c->pool_first || c->pool_first > c->pool_last ||
        c->ndns > PS_DHCP_MAX_DNS)
        return -EINVAL;
    d->netmask = 0xffffffffu << (32 - c->prefix);
    if (!in_subnet(d, c->pool_first) || !in_subnet(d, c->pool_last))
        return -EINVAL;
    ps_ip4_t net = c->server & d->netmask, bcast = net | ~d->netmask;
    for (ps_ip4_t a = c->pool_first; a <= c->pool_last && d->nslots < PS_DHCPD_MAX_LEASES; a++) {
        if (a != c->server && a != net && a != bcast)
            d->slots[d->nslots++].pub.addr = a;
        if (a == 0xffffffffu)
            break;
    }
    return d->nslots ? 0 : -EINVAL;
}

struct ps_dhcpd *ps_dhcpd_start(struct ps_stack *s, const struct ps_dhcpd_config *cfg, int *err)
{
    struct ps_dhcpd *d = calloc(1, sizeof(*d));
    if (!d) {
        *err = -ENOMEM;
        return NULL;
    }
    d->s = s;
    d->cfg = *cfg;
    if (!d->cfg.lease_s)
        d->cfg.lease_s = PS_DHCPD_LEASE_S;
    d->fd = -1;
    int rc = fill_pool(d);
    if (rc == 0)
        rc = d->fd = ps_socket(s, PS_SOCK_DGRAM);
    int one = 1;
    struct ps_sockaddr_in me = {.addr = 0, .port = PS_DHCP_SERVER_PORT};
    if (rc >= 0)
        rc = ps_setsockopt(s, d->fd, PS_SOL_SOCKET, PS_SO_BROADCAST, &one, sizeof(one));
    if (rc >= 0)
        rc = ps_bind(s, d->fd, &me);
    if (rc >= 0)
        rc = ps_socket_set_callback(s, d->fd, on_readable, d);
    if (rc < 0) {
        *err = rc;
        ps_dhcpd_stop(d);
        return NULL;
    }
    *err = 0;
    return d;
}

void ps_dhcpd_set_callback(struct ps_dhcpd *d, ps_dhcpd_event_fn fn, void *ctx)
{
    d->fn = fn;
    d->ctx = ctx;
}

ps_time_t ps_dhcpd_poll(struct ps_dhcpd *d, ps_time_t now)
{
    expire(d, now);
    ps_time_t next = PS_TIME_NEVER;
    for (unsigned i = 0; i < d->nslots; i++)
        if (d->slots[i].pub.state != PS_DHCPD_FREE && d->slots[i].pub.expires < next)
            next = d->slots[i].pub.expires;
    return next;
}

void ps_dhcpd_foreach(const struct ps_dhcpd *d, int (*fn)(void *ctx, const struct ps_dhcpd_lease *l), void *ctx)
{
    for (unsigned i = 0; i < d->nslots; i++)
        if (fn(ctx, &d->slots[i].pub))
            return;
}

unsigned ps_dhcpd_pool_size(const struct ps_dhcpd *d)
{
    return d->nslots;
}

unsigned ps_dhcpd_leased(const struct ps_dhcpd *d)
{
    unsigned n = 0;
    for (unsigned i = 0; i < d->nslots; i++)
        n += d->slots[i].pub.state == PS_DHCPD_BOUND;
    return n;
}

const struct ps_dhcpd_stats *ps_dhcpd_stats(const struct ps_dhcpd *d)
{
    return &d->stats;
}

void ps_dhcpd_stop(struct ps_dhcpd *d)
{
    if (!d)
        return;
    if (d->fd >= 0)
        ps_close(d->s, d->fd);
    free(d);
}
