/*
 * STREAM sockets on TCP (transport/tcp.h).  Each call hands over to the
 * connection block in the socket's entry, then runs the readiness events
 * TCP deferred, so an application callback never runs inside TCP.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "socket/sockets.h"

void ps_stream_init(struct ps_stack *s, struct ps_stream *st)
{
    ps_tcb_init(s, &st->tcb);
}

int ps_stream_listen(struct ps_stack *s, struct ps_stream *st, int backlog)
{
    struct ps_sock *sk = ps_sock_of_tcb(&st->tcb);
    st->tcb.sndbuf = sk->sndbuf;
    st->tcb.nodelay = sk->nodelay;
    return ps_tcp_listen(s, &st->tcb, backlog);
}

int ps_stream_accept(struct ps_stack *s, struct ps_stream *st, struct ps_sockaddr_in *peer)
{
    if (st->tcb.state != PS_TCPS_LISTEN)
        return -EINVAL; /* as POSIX: accept on a socket not listening */
    struct ps_tcb *c = ps_tcp_accept(s, &st->tcb);
    if (!c)
        return -EAGAIN;
    struct ps_sock *sk = ps_sock_of_tcb(c);
    sk->hidden = false; /* it has its number now */
    if (peer) {
        peer->addr = c->ep.raddr;
        peer->port = c->ep.rport;
    }
    ps_tcp_flush_events(s);
    return sk->fd;
}

int ps_stream_connect(struct ps_stack *s, struct ps_stream *st, const struct ps_sockaddr_in *addr)
{
    struct ps_sock *sk = ps_sock_of_tcb(&st->tcb);
    st->tcb.sndbuf = sk->sndbuf;
    st->tcb.nodelay = sk->nodelay;
    int rc = ps_tcp_connect(s, &st->tcb, addr->addr, addr->port);
    ps_tcp_flush_events(s);
    return rc;
}

ssize_t ps_stream_send(struct ps_stack *s, struct ps_stream *st, const void *buf, size_t len, int flags)
{
    (void)flags;
    ssize_t rc = ps_tcp_send(s, &st->tcb, buf, len);
    ps_tcp_flush_events(s);
    return rc;
}

ssize_t ps_stream_recv(struct ps_stack *s, struct ps_stream *st, void *buf, size_t len, int flags)
{
    ssize_t rc = ps_tcp_recv(s, &st->tcb, buf, len, flags);
    ps_tcp_flush_events(s);
    return rc;
}

int ps_stream_shutdown(struct ps_stack *s, struct ps_stream *st, int how)
{
    int rc = ps_tcp_shutdown(s, &st->tcb, how);
    ps_tcp_flush_events(s);
    return rc;
}

bool ps_stream_close(struct ps_stack *s, struct ps_stream *st, bool abort)
{
    bool keep = ps_tcp_close(s, &st->tcb, abort);
    ps_tcp_flush_events(s);
    return keep;
}

short ps_stream_poll(const struct ps_stream *st)
{
    return ps_tcp_poll(&st->tcb);
}

const char *ps_stream_state(const struct ps_stream *st)
{
    return ps_tcp_state_name(st->tcb.state);
}

size_t ps_stream_recv_q(const struct ps_stream *st)
{
    return ps_tcp_recv_q(&st->tcb);
}

size_t ps_stream_send_q(const struct ps_stream *st)
{
    return ps_tcp_send_q(&st->tcb);
}
