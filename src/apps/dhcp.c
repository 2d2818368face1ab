/*
 * The DHCPv4 client's state machine (RFC 2131 4.4, figure 5), on the
 * socket API and the public net API.
 */
#include <portstack/dhcp.h>
#include <portstack/net.h>
#include <portstack/socket.h>
#include <portstack/stack.h>
#include <portstack/wire.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apps/dhcp_msg.h"

/* Attempts at a REQUEST before starting over (RFC 2131 3.1.5 leaves it to
 * the client). */
#define DHCP_REQUEST_TRIES 4
/* In RENEWING/REBINDING, retry at half the time left, but not more often
 * than this (RFC 2131 4.4.5 suggests 60 s). */
#define DHCP_RENEW_MIN_RETRY_S 60

struct ps_dhcp {
    struct ps_stack *s;
    struct ps_iface *ifc;
    int fd;
    ps_dhcp_event_fn fn;
    void *ctx;
    enum ps_dhcp_state state;
    uint32_t xid;
    ps_time_t started;   /* of the current exchange, for `secs` */
    ps_time_t next;      /* next deadline */
    unsigned retry_ms, tries;
    ps_ip4_t offered, offer_server;
    bool applied;        /* the lease's address is on the interface */
    struct ps_dhcp_lease lease;
    uint8_t buf[1500];
};

static const char *const state_names[] = {"INIT", "SELECTING", "REQUESTING", "BOUND", "RENEWING", "REBINDING",
                                          "STOPPED"};

const char *ps_dhcp_state_name(enum ps_dhcp_state st)
{
    return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "?";
}

static void set_state(struct ps_dhcp *c, enum ps_dhcp_state st)
{
    c->state = st;
    if (c->fn)
        c->fn(c->ctx, st, ps_dhcp_lease(c));
}

static uint8_t prefix_of(ps_ip4_t mask)
{
    uint8_t n = 0;
    while (n < 32 && (mask & (0x80000000u >> n)))
        n++;
    return n;
}

static void send_msg(struct ps_dhcp *c, uint8_t type, ps_ip4_t ciaddr, ps_ip4_t requested, ps_ip4_t server,
                     ps_ip4_t to)
{
    ps_time_t now = ps_stack_now(c->s);
    struct dhcp_out m = {
        .type = type, .xid = c->xid, .ciaddr = ciaddr, .requested = requested, .server = server,
        .chaddr = *ps_iface_mac(c->ifc),
        /* Without an address we cannot take a unicast reply. */
        .broadcast = ciaddr == 0,
        .secs = (uint16_t)((now - c->started) / PS_SEC(1) > 0xffff ? 0xffff : (now - c->started) / PS_SEC(1)),
    };
    size_t len = dhcp_build(c->buf, &m);
    struct ps_sockaddr_in dst = {.addr = to, .port = PS_DHCP_SERVER_PORT};
    ps_sendto(c->s, c->fd, c->buf, len, 0, &dst);
}

/* RFC 2131 4.1: exponential backoff with +-1 s of randomisation. */
static void arm_retry(struct ps_dhcp *c)
{
    ps_time_t now = ps_stack_now(c->s);
    int64_t jitter = (int64_t)(ps_stack_random(c->s) % 2001) - 1000;
    c->next = now + PS_MS(c->retry_ms) + (ps_time_t)((int64_t)PS_MS(1) * jitter);
    c->retry_ms = c->retry_ms * 2 > PS_DHCP_RETRY_MAX_MS ? PS_DHCP_RETRY_MAX_MS : c->retry_ms * 2;
}

static void unapply(struct ps_dhcp *c)
{
    if (!c->applied)
        return;
    if (c->lease.router)
        ps_route_del(c->s, 0, 0);
    ps_iface_del_addr(c->ifc, c->lease.addr);
    c->applied = false;
}

static void discover(struct ps_dhcp *c);

/* Back to INIT and straight on to a new DISCOVER (the host's next poll
 * may be far off: the deadline it holds is an old one). */
static void restart(struct ps_dhcp *c)
{
    unapply(c);
    memset(&c->lease, 0, sizeof(c->lease));
    set_state(c, PS_DHCP_INIT);
    discover(c);
}

static void discover(struct ps_dhcp *c)
{
    c->xid = (uint32_t)ps_stack_random(c->s);
    c->started = ps_stack_now(c->s);
    c->retry_ms = PS_DHCP_RETRY_MIN_MS;
    send_msg(c, DHCPDISCOVER, 0, 0, 0, PS_IP4_BROADCAST);
    arm_retry(c);
    set_state(c, PS_DHCP_SELECTING);
}

static void request(struct ps_dhcp *c)
{
    send_msg(c, DHCPREQUEST, 0, c->offered, c->offer_server, PS_IP4_BROADCAST);
    arm_retry(c);
}

/* Times of the lease, from the ACK. */
static ps_time_t at(const struct ps_dhcp *c, uint32_t seconds)
{
    return c->lease.acquired + PS_SEC(seconds);
}

/* Next try while renewing or rebinding: half the time to `until`, at
 * least DHCP_RENEW_MIN_RETRY_S, never past it. */
static void arm_renew(struct ps_dhcp *c, ps_time_t until)
{
    ps_time_t now = ps_stack_now(c->s);
    ps_time_t half = until > now ? (until - now) / 2 : 0;
    if (half < PS_SEC(DHCP_RENEW_MIN_RETRY_S))
        half = PS_SEC(DHCP_RENEW_MIN_RETRY_S);
    c->next = now + half < until ? now + half : until;
}

static void apply(struct ps_dhcp *c, const struct dhcp_in *m)
{
    bool same = c->applied && c->lease.addr == m->yiaddr;
    if (!same)
        unapply(c);
    struct ps_dhcp_lease *l = &c->lease;
    ps_ip4_t old_router = same ? l->router : 0;
    l->addr = m->yiaddr;
    l->prefix = m->netmask ? prefix_of(m->netmask) : 24;
    l->router = m->router;
    l->server = m->server ? m->server : c->offer_server;
    l->ndns = m->ndns;
    memcpy(l->dns, m->dns, sizeof(l->dns));
    l->lease_s = m->lease_s ? m->lease_s : 3600;
    l->t1_s = m->t1_s ? m->t1_s : l->lease_s / 2;
    l->t2_s = m->t2_s ? m->t2_s : l->lease_s / 8 * 7;
    l->acquired = ps_stack_now(c->s);
    if (!same) {
        ps_iface_add_addr(c->ifc, l->addr, l->prefix);
        c->applied = true;
    }
    if (old_router != l->router) {
        if (old_router)
            ps_route_del(c->s, 0, 0);
        if (l->router)
            ps_route_add(c->s, 0, 0, l->router, c->ifc);
    }
    c->next = at(c, l->t1_s);
    set_state(c, PS_DHCP_BOUND);
}

static void on_reply(struct ps_dhcp *c, const struct dhcp_in *m)
{
    if (m->op != 2 || m->xid != c->xid || !ps_mac_equal(&m->chaddr, ps_iface_mac(c->ifc)))
        return;
    switch (c->state) {
    case PS_DHCP_SELECTING:
        if (m->type != DHCPOFFER || !m->yiaddr || !m->server)
            return;
        c->offered = m->yiaddr;
        c->offer_server = m->server;
        c->retry_ms = PS_DHCP_RETRY_MIN_MS;
        c->tries = 1;
        request(c);
        set_state(c, PS_DHCP_REQUESTING);
        return;
    case PS_DHCP_REQUESTING:
    case PS_DHCP_RENEWING:
    case PS_DHCP_REBINDING:
        if (m->type == DHCPACK && m->yiaddr)
            apply(c, m);
        else if (m->type == DHCPNAK)
            restart(c);
        return;
    default:
        return;
    }
}

static void on_readable(void *ctx, int fd, short revents)
{
    struct ps_dhcp *c = ctx;
    if (!(revents & PS_POLLIN))
        return;
    ssize_t n;
    while ((n = ps_recv(c->s, fd, c->buf, sizeof(c->buf), 0)) != -EAGAIN) {
        struct dhcp_in m;
        if (n > 0 && dhcp_parse(c->buf, (size_t)n, &m) == 0)
            on_reply(c, &m);
    }
}

struct ps_dhcp *ps_dhcp_start(struct ps_stack *s, struct ps_iface *ifc, ps_dhcp_event_fn fn, void *ctx, int *err)
{
    struct ps_dhcp *c = calloc(1, sizeof(*c));
    if (!c) {
        *err = -ENOMEM;
        return NULL;
    }
    c->s = s;
    c->ifc = ifc;
    c->fn = fn;
    c->ctx = ctx;
    c->fd = ps_socket(s, PS_SOCK_DGRAM);
    int one = 1;
    struct ps_sockaddr_in me = {.addr = 0, .port = PS_DHCP_CLIENT_PORT};
    int rc = c->fd;
    if (rc >= 0)
        rc = ps_setsockopt(s, c->fd, PS_SOL_SOCKET, PS_SO_BROADCAST, &one, sizeof(one));
    if (rc >= 0)
        rc = ps_bind(s, c->fd, &me);
    if (rc >= 0)
        rc = ps_socket_set_callback(s, c->fd, on_readable, c);
    if (rc < 0) {
        if (c->fd >= 0)
            ps_close(s, c->fd);
        free(c);
        *err = rc;
        return NULL;
    }
    c->state = PS_DHCP_INIT;
    c->next = ps_stack_now(s);
    *err = 0;
    return c;
}

ps_time_t ps_dhcp_poll(struct ps_dhcp *c, ps_time_t now)
{
    if (c->state == PS_DHCP_STOPPED || now < c->next)
        return c->state == PS_DHCP_STOPPED ? PS_TIME_NEVER : c->next;
    switch (c->state) {
    case PS_DHCP_INIT:
    case PS_DHCP_SELECTING: /* no offer yet: ask again */
        if (c->state == PS_DHCP_INIT) {
            discover(c);
        } else {
            send_msg(c, DHCPDISCOVER, 0, 0, 0, PS_IP4_BROADCAST);
            arm_retry(c);
        }
        break;
    case PS_DHCP_REQUESTING:
        if (++c->tries > DHCP_REQUEST_TRIES)
            restart(c);
        else
            request(c);
        break;
    case PS_DHCP_BOUND:
        /* T1: renew with the server that leased, unicast (4.4.5). */
        c->xid = (uint32_t)ps_stack_random(c->s);
        c->started = now;
        send_msg(c, DHCPREQUEST, c->lease.addr, 0, 0, c->lease.server);
        arm_renew(c, at(c, c->lease.t2_s));
        set_state(c, PS_DHCP_RENEWING);
        break;
    case PS_DHCP_RENEWING:
        if (now >= at(c, c->lease.t2_s)) {
            send_msg(c, DHCPREQUEST, c->lease.addr, 0, 0, PS_IP4_BROADCAST);
            arm_renew(c, at(c, c->lease.lease_s));
            set_state(c, PS_DHCP_REBINDING);
        } else {
            send_msg(c, DHCPREQUEST, c->lease.addr, 0, 0, c->lease.server);
            arm_renew(c, at(c, c->lease.t2_s));
        }
        break;
    case PS_DHCP_REBINDING:
        if (now >= at(c, c->lease.lease_s)) {
            restart(c); /* the lease ran out: the address must go */
        } else {
            send_msg(c, DHCPREQUEST, c->lease.addr, 0, 0, PS_IP4_BROADCAST);
            arm_renew(c, at(c, c->lease.lease_s));
        }
        break;
    default:
        break;
    }
    return c->next;
}

enum ps_dhcp_state ps_dhcp_state(const struct ps_dhcp *c)
{
    return c->state;
}

const struct ps_dhcp_lease *ps_dhcp_lease(const struct ps_dhcp *c)
{
    return c->state == PS_DHCP_BOUND || c->state == PS_DHCP_RENEWING || c->state == PS_DHCP_REBINDING ? &c->lease
                                                                                                        : NULL;
}

void ps_dhcp_stop(struct ps_dhcp *c)
{
    if (!c)
        return;
    if (c->applied) {
        c->xid = (uint32_t)ps_stack_random(c->s);
        send_msg(c, DHCPRELEASE, c->lease.addr, 0, c->lease.server, c->lease.server);
        unapply(c);
    }
    ps_close(c->s, c->fd);
    free(c);
}
