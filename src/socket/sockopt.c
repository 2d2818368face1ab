/*
 * Socket options.  Values are ints (as POSIX) except SO_LINGER (struct
 * ps_linger) and PS_IP_LOCAL_PORT_RANGE (uint32_t, as Linux).  Buffer
 * sizes are bytes of payload, taken as given (not doubled as Linux does)
 * and clamped to PS_MAX_SOCKBUF.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "socket/sockets.h"

static int int_in(const void *val, size_t len, int *out)
{
    if (!val || len < sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int int_out(void *val, size_t *len, int v)
{
    if (!val || !len || *len < sizeof(int))
        return -EINVAL;
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
}

static unsigned *rcvbuf_of(struct ps_sock *sk)
{
    return sk->type == PS_SOCK_DGRAM ? &sk->u.udp.rcvbuf : &sk->u.stream.tcb.rcvbuf;
}

static uint8_t *ttl_of(struct ps_sock *sk)
{
    return sk->type == PS_SOCK_DGRAM ? &sk->u.udp.ttl : &sk->u.stream.tcb.ttl;
}

static void set_flag(struct ps_endpoint *ep, uint16_t flag, int on)
{
    if (on)
        ep->flags |= flag;
    else
        ep->flags &= (uint16_t)~flag;
}

static int flag_of(int name)
{
    switch (name) {
    case PS_SO_REUSEADDR: return PS_EP_REUSEADDR;
    case PS_SO_REUSEPORT: return PS_EP_REUSEPORT;
    case PS_SO_BROADCAST: return PS_EP_BCAST;
    default: return 0;
    }
}

static int set_socket_level(struct ps_sock *sk, int name, const void *val, size_t len)
{
    int v, rc;
    if (name == PS_SO_LINGER) {
        if (!val || len < sizeof(struct ps_linger))
            return -EINVAL;
        memcpy(&sk->linger, val, sizeof(sk->linger));
        return 0;
    }
    if (name == PS_SO_ERROR || name == PS_SO_TYPE)
        return -ENOPROTOOPT; /* read-only */
    int flag = flag_of(name);
    if (!flag && name != PS_SO_RCVBUF && name != PS_SO_SNDBUF)
        return -ENOPROTOOPT;
    if ((rc = int_in(val, len, &v)) != 0)
        return rc;
    if (flag) {
        /* Read at the next bind/listen (and by later binds of others). */
        set_flag(ps_sock_ep(sk), (uint16_t)flag, v);
        return 0;
    }
    if (v < 0)
        return -EINVAL;
    unsigned size = (unsigned)v > PS_MAX_SOCKBUF ? PS_MAX_SOCKBUF : (unsigned)v;
    /* TCP sizes its rings when a connection is created: a change applies
     * to the next connection (and to those a listener accepts). */
    if (name == PS_SO_RCVBUF) {
        *rcvbuf_of(sk) = size;
    } else {
        sk->sndbuf = size;
        if (sk->type == PS_SOCK_STREAM)
            sk->u.stream.tcb.sndbuf = size;
    }
    return 0;
}

static int set_ip_level(struct ps_sock *sk, int name, const void *val, size_t len)
{
    if (name == PS_IP_TTL) {
        int v;
        int rc = int_in(val, len, &v);
        if (rc != 0)
            return rc;
        if (v == -1)
            v = 0; /* back to the stack default, as Linux */
        else if (v < 1 || v > 255)
            return -EINVAL;
        *ttl_of(sk) = (uint8_t)v;
        return 0;
    }
    if (name == PS_IP_LOCAL_PORT_RANGE) {
        uint32_t v;
        if (!val || len < sizeof(v))
            return -EINVAL;
        memcpy(&v, val, sizeof(v));
        uint16_t lo = (uint16_t)v, hi = (uint16_t)(v >> 16);
        if (lo && hi && lo > hi)
            return -EINVAL;
        struct ps_endpoint *ep = ps_sock_ep(sk);
        ep->range_lo = lo; /* intersected with the stack's at each pick */
        ep->range_hi = hi;
        return 0;
    }
    return -ENOPROTOOPT;
}

int ps_setsockopt(struct ps_stack *s, int fd, int level, int name, const void *val, size_t len)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    switch (level) {
    case PS_SOL_SOCKET:
        return set_socket_level(sk, name, val, len);
    case PS_IPPROTO_IP:
        return set_ip_level(sk, name, val, len);
    case PS_IPPROTO_TCP: {
        int v, rc;
        if (sk->type != PS_SOCK_STREAM || name != PS_TCP_NODELAY)
            return -ENOPROTOOPT;
        if ((rc = int_in(val, len, &v)) != 0)
            return rc;
        sk->nodelay = v != 0;
        sk->u.stream.tcb.nodelay = sk->nodelay; /* Nagle reads it */
        if (sk->nodelay)
            ps_tcp_output(s, &sk->u.stream.tcb); /* what Nagle held goes now */
        ps_tcp_flush_events(s);
        return 0;
    }
    default:
        return -ENOPROTOOPT;
    }
}

static int get_socket_level(struct ps_sock *sk, int name, void *val, size_t *len)
{
    if (name == PS_SO_LINGER) {
        if (!val || !len || *len < sizeof(struct ps_linger))
            return -EINVAL;
        memcpy(val, &sk->linger, sizeof(sk->linger));
        *len = sizeof(struct ps_linger);
        return 0;
    }
    int flag = flag_of(name);
    if (flag)
        return int_out(val, len, (ps_sock_ep(sk)->flags & flag) != 0);
    switch (name) {
    case PS_SO_RCVBUF: return int_out(val, len, (int)*rcvbuf_of(sk));
    case PS_SO_SNDBUF: return int_out(val, len, (int)sk->sndbuf);
    case PS_SO_TYPE: return int_out(val, len, sk->type);
    case PS_SO_ERROR: {
        if (!val || !len || *len < sizeof(int))
            return -EINVAL;
        /* Reading it clears it, as POSIX says. */
        int e = sk->type == PS_SOCK_DGRAM ? ps_udp_take_error(&sk->u.udp) : ps_tcp_take_error(&sk->u.stream.tcb);
        return int_out(val, len, e);
    }
    default: return -ENOPROTOOPT;
    }
}

int ps_getsockopt(struct ps_stack *s, int fd, int level, int name, void *val, size_t *len)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    switch (level) {
    case PS_SOL_SOCKET:
        return get_socket_level(sk, name, val, len);
    case PS_IPPROTO_IP:
        if (name == PS_IP_TTL) {
            uint8_t ttl = *ttl_of(sk);
            return int_out(val, len, ttl ? ttl : s->cfg.default_ttl);
        }
        if (name == PS_IP_LOCAL_PORT_RANGE) {
            const struct ps_endpoint *ep = ps_sock_ep(sk);
            uint32_t v = ((uint32_t)ep->range_hi << 16) | ep->range_lo;
            if (!val || !len || *len < sizeof(v))
                return -EINVAL;
            memcpy(val, &v, sizeof(v));
            *len = sizeof(v);
            return 0;
        }
        return -ENOPROTOOPT;
    case PS_IPPROTO_TCP:
        if (sk->type != PS_SOCK_STREAM || name != PS_TCP_NODELAY)
            return -ENOPROTOOPT;
        return int_out(val, len, sk->nodelay);
    default:
        return -ENOPROTOOPT;
    }
}
