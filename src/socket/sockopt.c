/*
 * Socket options.  Values are ints (as POSIX) except SO_LINGER (struct
 * ps_linger), PS_IP_LOCAL_PORT_RANGE (uint32_t, as Linux),
 * PS_TCP_CONGESTION (a name) and PS_TCP_INFO (struct ps_tcp_info).  Buffer
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

/* ---- keepalive, user timeout, congestion control, TCP_INFO --------------------------- */

/* SO_KEEPALIVE (at PS_SOL_SOCKET) and the PS_IPPROTO_TCP options but
 * TCP_NODELAY (STREAM); the callers keep the levels apart. */
static int set_tcp_ext(struct ps_stack *s, struct ps_sock *sk, int name, const void *val, size_t len)
{
    if (sk->type != PS_SOCK_STREAM)
        return -ENOPROTOOPT;
    struct ps_tcb *tcb = &sk->u.stream.tcb;
    if (name == PS_TCP_CONGESTION) {
        char cc_name[PS_TCP_CC_NAME_MAX];
        if (!val || len == 0)
            return -EINVAL;
        size_t n = len < sizeof(cc_name) - 1 ? len : sizeof(cc_name) - 1;
        memcpy(cc_name, val, n);
        cc_name[n] = '\0';
        const struct ps_tcp_cc_ops *cc = ps_tcp_cc_find(cc_name);
        if (!cc)
            return -ENOENT; /* as Linux for an algorithm it does not have */
        ps_tcp_cc_set(tcb, cc);
        return 0;
    }
    if (name == PS_TCP_INFO)
        return -ENOPROTOOPT; /* read-only */
    int v, rc;
    if ((rc = int_in(val, len, &v)) != 0)
        return rc;
    switch (name) {
    case PS_SO_KEEPALIVE:
        tcb->keepalive = v != 0;
        break;
    case PS_TCP_KEEPIDLE:
        if (v < 1 || v > PS_TCP_KEEPIDLE_MAX_S)
            return -EINVAL;
        tcb->keep_idle_s = (uint16_t)v;
        break;
    case PS_TCP_KEEPINTVL:
        if (v < 1 || v > PS_TCP_KEEPINTVL_MAX_S)
            return -EINVAL;
        tcb->keep_intvl_s = (uint16_t)v;
        break;
    case PS_TCP_KEEPCNT:
        if (v < 1 || v > PS_TCP_KEEPCNT_MAX)
            return -EINVAL;
        tcb->keep_cnt = (uint8_t)v;
        return 0;
    case PS_TCP_USER_TIMEOUT:
        if (v < 0 || (unsigned)v > PS_TCP_USER_TIMEOUT_MAX_MS)
            return -EINVAL;
        tcb->user_timeout_ms = (uint32_t)v;
        return 0; /* the retransmission timer reads it when next armed */
    default:
        return -ENOPROTOOPT;
    }
    ps_tcp_keep_arm(s, tcb); /* a new idle time counts from the last segment received */
    return 0;
}

static int get_tcp_ext(struct ps_sock *sk, int name, void *val, size_t *len)
{
    if (sk->type != PS_SOCK_STREAM)
        return -ENOPROTOOPT;
    struct ps_tcb *tcb = &sk->u.stream.tcb;
    switch (name) {
    case PS_SO_KEEPALIVE: return int_out(val, len, tcb->keepalive);
    case PS_TCP_KEEPIDLE: return int_out(val, len, tcb->keep_idle_s);
    case PS_TCP_KEEPINTVL: return int_out(val, len, tcb->keep_intvl_s);
    case PS_TCP_KEEPCNT: return int_out(val, len, tcb->keep_cnt);
    case PS_TCP_USER_TIMEOUT: return int_out(val, len, (int)tcb->user_timeout_ms);
    case PS_TCP_CONGESTION: {
        if (!val || !len || *len == 0)
            return -EINVAL;
        /* As Linux: up to *len bytes of the name, NUL-padded. */
        char name_buf[PS_TCP_CC_NAME_MAX] = {0};
        size_t n = strlen(tcb->cc->name);
        memcpy(name_buf, tcb->cc->name, n < sizeof(name_buf) - 1 ? n : sizeof(name_buf) - 1);
        size_t k = *len < sizeof(name_buf) ? *len : sizeof(name_buf);
        memcpy(val, name_buf, k);
        *len = k;
        return 0;
    }
    case PS_TCP_INFO: {
        if (!val || !len)
            return -EINVAL;
        struct ps_tcp_info ti;
        ps_tcp_info_fill(tcb, &ti);
        size_t k = *len < sizeof(ti) ? *len : sizeof(ti);
        memcpy(val, &ti, k);
        *len = k;
        return 0;
    }
    default:
        return -ENOPROTOOPT;
    }
}

int ps_setsockopt(struct ps_stack *s, int fd, int level, int name, const void *val, size_t len)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    switch (level) {
    case PS_SOL_SOCKET:
        if (name == PS_SO_KEEPALIVE) {
            int rc = set_tcp_ext(s, sk, name, val, len);
            ps_tcp_flush_events(s);
            return rc;
        }
        return set_socket_level(sk, name, val, len);
    case PS_IPPROTO_IP:
        return set_ip_level(sk, name, val, len);
    case PS_IPPROTO_TCP: {
        int v, rc;
        if (sk->type == PS_SOCK_STREAM && name != PS_TCP_NODELAY && name != PS_SO_KEEPALIVE) {
            rc = set_tcp_ext(s, sk, name, val, len);
            ps_tcp_flush_events(s);
            return rc;
        }
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
        if (name == PS_SO_KEEPALIVE)
            return get_tcp_ext(sk, name, val, len);
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
        if (sk->type == PS_SOCK_STREAM && name != PS_TCP_NODELAY && name != PS_SO_KEEPALIVE)
            return get_tcp_ext(sk, name, val, len);
        if (sk->type != PS_SOCK_STREAM || name != PS_TCP_NODELAY)
            return -ENOPROTOOPT;
        return int_out(val, len, sk->nodelay);
    default:
        return -ENOPROTOOPT;
    }
}
