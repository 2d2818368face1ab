/*
 * The socket table and the socket calls: each checks the socket number,
 * then hands over to UDP (DGRAM) or the stream hook (STREAM).  Every call
 * returns at once; errors are negative errno values.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "socket/sockets.h"

/* ---- the table ------------------------------------------------------------------ */

int ps_sockets_init(struct ps_stack *s)
{
    struct ps_sockets *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    s->sockets = t;
    t->max = s->cfg.max_sockets;
    t->nwords = (t->max + 63) / 64;
    t->tab = calloc(t->max, sizeof(*t->tab));
    t->free_map = calloc(t->nwords, sizeof(*t->free_map));
    if (!t->tab || !t->free_map)
        return -ENOMEM; /* ps_sockets_fini frees what was had */
    for (unsigned i = 0; i < t->max; i++)
        t->free_map[i / 64] |= (uint64_t)1 << (i % 64);
    ps_stream_register(s);
    return 0;
}

/* Return entry fd to the free map. */
static void slot_release(struct ps_stack *s, unsigned fd)
{
    struct ps_sockets *t = s->sockets;
    t->tab[fd] = NULL;
    t->free_map[fd / 64] |= (uint64_t)1 << (fd % 64);
    if (fd / 64 < t->hint)
        t->hint = fd / 64;
    t->nused--;
    PS_GAUGE_SET(s, sockets_used, t->nused);
}

/* Free a socket's entry now and its memory at the next reap. */
static void slot_free(struct ps_stack *s, struct ps_sock *sk)
{
    slot_release(s, (unsigned)sk->fd);
    sk->used = false; /* a late event for it does nothing */
    sk->dead_next = s->sockets->dead;
    s->sockets->dead = sk;
}

void ps_sockets_reap(struct ps_stack *s)
{
    struct ps_sockets *t = s->sockets;
    while (t && t->dead) {
        struct ps_sock *sk = t->dead;
        t->dead = sk->dead_next;
        free(sk);
    }
}

static void sock_release(struct ps_stack *s, struct ps_sock *sk)
{
    if (sk->type == PS_SOCK_DGRAM) {
        ps_udp_pcb_close(s, &sk->u.udp);
    } else {
        bool abort = sk->linger.l_onoff && sk->linger.l_linger == 0;
        if (ps_stream_close(s, &sk->u.stream, abort)) {
            /* The connection finishes without its socket: the entry stays,
             * hidden, until TCP's release upcall. */
            sk->hidden = true;
            sk->cb = NULL;
            sk->cb_ctx = NULL;
            return;
        }
    }
    slot_free(s, sk);
}

void ps_sockets_fini(struct ps_stack *s)
{
    struct ps_sockets *t = s->sockets;
    if (!t)
        return;
    if (t->tab && t->free_map) {
        for (unsigned i = 0; i < t->max; i++) {
            struct ps_sock *sk = t->tab[i];
            if (!sk)
                continue;
            if (sk->type == PS_SOCK_DGRAM)
                ps_udp_pcb_close(s, &sk->u.udp);
            else
                ps_tcb_destroy(s, &sk->u.stream.tcb); /* silently: the stack goes */
            slot_free(s, sk);
        }
    }
    ps_sockets_reap(s);
    free(t->tab);
    free(t->free_map);
    free(t);
    s->sockets = NULL;
}

/* The lowest free entry, or -1.  The hint makes a run of creations O(1)
 * each; a search after a close starts at the closed one's word. */
static int slot_take(struct ps_stack *s)
{
    struct ps_sockets *t = s->sockets;
    for (unsigned w = t->hint; w < t->nwords; w++) {
        if (!t->free_map[w])
            continue;
        unsigned b = (unsigned)__builtin_ctzll(t->free_map[w]);
        t->free_map[w] &= ~((uint64_t)1 << b);
        t->hint = w;
        t->nused++;
        PS_GAUGE_SET(s, sockets_used, t->nused);
        return (int)(w * 64 + b);
    }
    t->hint = t->nwords;
    return -1;
}

/* A new socket of `type` in the lowest free entry, zeroed but for used,
 * type and fd; NULL when the table is full or memory short. */
static struct ps_sock *slot_new(struct ps_stack *s, int type)
{
    int fd = ps_alloc_ok(s) ? slot_take(s) : -1;
    if (fd < 0) {
        PS_STAT_INC(s, sock_table_full);
        return NULL;
    }
    size_t size = type == PS_SOCK_DGRAM ? offsetof(struct ps_sock, u) + sizeof(struct ps_udp_pcb)
                                        : sizeof(struct ps_sock);
    struct ps_sock *sk = ps_alloc_ok(s) ? calloc(1, size) : NULL;
    if (!sk) {
        slot_release(s, (unsigned)fd);
        PS_STAT_INC(s, sock_nomem);
        return NULL;
    }
    sk->used = true;
    sk->type = type;
    sk->fd = fd;
    s->sockets->tab[fd] = sk;
    return sk;
}

struct ps_sock *ps_sock_get(struct ps_stack *s, int fd)
{
    if (!s || !s->sockets || fd < 0 || (unsigned)fd >= s->sockets->max)
        return NULL;
    struct ps_sock *sk = s->sockets->tab[fd];
    return sk && !sk->hidden ? sk : NULL;
}

struct ps_endpoint *ps_sock_ep(struct ps_sock *sk)
{
    return sk->type == PS_SOCK_DGRAM ? &sk->u.udp.ep : &sk->u.stream.tcb.ep;
}

/* UDP's event hook: readiness may have changed. */
static void udp_event(struct ps_stack *s, void *ctx)
{
    (void)s;
    ps_sock_notify(ctx);
}

/* ---- TCP's upcalls ------------------------------------------------------------------ */

struct ps_sock *ps_sock_of_tcb(struct ps_tcb *tcb)
{
    return (struct ps_sock *)(void *)((char *)tcb - offsetof(struct ps_sock, u.stream.tcb));
}

static void tcp_event(struct ps_stack *s, struct ps_tcb *tcb)
{
    (void)s;
    struct ps_sock *sk = ps_sock_of_tcb(tcb);
    if (sk->used && !sk->hidden)
        ps_sock_notify(sk);
}

/* A hidden entry for a new connection of a listener, with the listener's
 * options. */
static struct ps_tcb *tcp_spawn(struct ps_stack *s, struct ps_tcb *lst)
{
    struct ps_sock *sk = slot_new(s, PS_SOCK_STREAM);
    if (!sk)
        return NULL;
    struct ps_sock *parent = ps_sock_of_tcb(lst);
    sk->hidden = true;
    sk->sndbuf = parent->sndbuf;
    sk->linger = parent->linger;
    sk->nodelay = parent->nodelay;
    struct ps_tcb *c = &sk->u.stream.tcb;
    ps_tcb_init(s, c);
    c->rcvbuf = lst->rcvbuf;
    c->sndbuf = lst->sndbuf;
    c->ttl = lst->ttl;
    c->nodelay = lst->nodelay;
    ps_tcp_opts_inherit(c, lst); /* congestion control, keepalive, user timeout */
    c->ep.flags = lst->ep.flags & (PS_EP_REUSEADDR | PS_EP_REUSEPORT);
    return c;
}

static void tcp_release(struct ps_stack *s, struct ps_tcb *tcb)
{
    struct ps_sock *sk = ps_sock_of_tcb(tcb);
    if (sk->used && sk->hidden)
        slot_free(s, sk);
}

void ps_stream_register(struct ps_stack *s)
{
    struct ps_tcp_upcalls up = {.event = tcp_event, .spawn = tcp_spawn, .release = tcp_release};
    ps_tcp_set_upcalls(s, &up);
}

/* ---- the calls ---------------------------------------------------------------------- */

int ps_socket(struct ps_stack *s, int type)
{
    if (!s || !s->sockets)
        return -EINVAL;
    if (type == 3 || type == 4 || type == 5) /* SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET */
        return -EPROTONOSUPPORT;
    if (type != PS_SOCK_STREAM && type != PS_SOCK_DGRAM)
        return -EINVAL;
    struct ps_sock *sk = slot_new(s, type);
    if (!sk)
        return s->sockets->nused >= s->sockets->max ? -EMFILE : -ENOMEM;
    int fd = sk->fd;
    sk->sndbuf = s->cfg.sndbuf;
    if (type == PS_SOCK_DGRAM) {
        ps_udp_pcb_init(s, &sk->u.udp);
        sk->u.udp.event = udp_event;
        sk->u.udp.event_ctx = sk;
    } else {
        ps_stream_init(s, &sk->u.stream);
    }
    return fd;
}

int ps_bind(struct ps_stack *s, int fd, const struct ps_sockaddr_in *addr)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    if (!addr)
        return -EINVAL;
    return ps_ports_bind(s, ps_sock_ep(sk), addr->addr, addr->port);
}

int ps_listen(struct ps_stack *s, int fd, int backlog)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    if (sk->type != PS_SOCK_STREAM)
        return -EOPNOTSUPP;
    return ps_stream_listen(s, &sk->u.stream, backlog);
}

int ps_accept(struct ps_stack *s, int fd, struct ps_sockaddr_in *peer)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    if (sk->type != PS_SOCK_STREAM)
        return -EOPNOTSUPP;
    return ps_stream_accept(s, &sk->u.stream, peer);
}

int ps_connect(struct ps_stack *s, int fd, const struct ps_sockaddr_in *addr)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    if (!addr)
        return -EINVAL;
    if (sk->type == PS_SOCK_DGRAM)
        return ps_udp_connect(s, &sk->u.udp, addr->addr, addr->port);
    return ps_stream_connect(s, &sk->u.stream, addr);
}

ssize_t ps_send(struct ps_stack *s, int fd, const void *buf, size_t len, int flags)
{
    return ps_sendto(s, fd, buf, len, flags, NULL);
}

ssize_t ps_sendto(struct ps_stack *s, int fd, const void *buf, size_t len, int flags,
                  const struct ps_sockaddr_in *to)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    if (flags & ~PS_MSG_DONTWAIT)
        return -EOPNOTSUPP;
    if (sk->type == PS_SOCK_DGRAM)
        return ps_udp_sendto(s, &sk->u.udp, buf, len, to);
    return ps_stream_send(s, &sk->u.stream, buf, len, flags);
}

ssize_t ps_recv(struct ps_stack *s, int fd, void *buf, size_t len, int flags)
{
    return ps_recvfrom(s, fd, buf, len, flags, NULL);
}

ssize_t ps_recvfrom(struct ps_stack *s, int fd, void *buf, size_t len, int flags, struct ps_sockaddr_in *from)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    if (flags & ~(PS_MSG_PEEK | PS_MSG_TRUNC | PS_MSG_DONTWAIT))
        return -EOPNOTSUPP;
    if (len && !buf)
        return -EINVAL;
    if (sk->type == PS_SOCK_DGRAM)
        return ps_udp_recvfrom(s, &sk->u.udp, buf, len, flags, from);
    return ps_stream_recv(s, &sk->u.stream, buf, len, flags);
}

int ps_shutdown(struct ps_stack *s, int fd, int how)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    if (how != PS_SHUT_RD && how != PS_SHUT_WR && how != PS_SHUT_RDWR)
        return -EINVAL;
    if (sk->type != PS_SOCK_DGRAM)
        return ps_stream_shutdown(s, &sk->u.stream, how);
    struct ps_udp_pcb *pcb = &sk->u.udp;
    if (!(pcb->ep.flags & PS_EP_CONNECTED))
        return -ENOTCONN;
    /* Reading: what is queued stays readable, then recv returns 0 and new
     * datagrams are dropped.  Writing: send fails with EPIPE. */
    if (how != PS_SHUT_WR)
        pcb->shut_rd = true;
    if (how != PS_SHUT_RD)
        pcb->shut_wr = true;
    return 0;
}

int ps_close(struct ps_stack *s, int fd)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    sock_release(s, sk);
    return 0;
}

int ps_getsockname(struct ps_stack *s, int fd, struct ps_sockaddr_in *addr)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    if (!addr)
        return -EINVAL;
    const struct ps_endpoint *ep = ps_sock_ep(sk);
    addr->addr = ep->laddr;
    addr->port = ep->lport;
    return 0;
}

int ps_getpeername(struct ps_stack *s, int fd, struct ps_sockaddr_in *addr)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    if (!addr)
        return -EINVAL;
    const struct ps_endpoint *ep = ps_sock_ep(sk);
    if (!(ep->flags & PS_EP_CONNECTED))
        return -ENOTCONN;
    addr->addr = ep->raddr;
    addr->port = ep->rport;
    return 0;
}
