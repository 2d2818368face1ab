/*
 * STREAM sockets before TCP: the TCP hook.
 *
 * Everything the ports module can do already works (bind, listen with its
 * conflict re-check, options, close releasing the port), so the bind
 * matrix can be exercised with real listeners.  What needs TCP itself -
 * connect, accept, send, recv, shutdown - answers -EOPNOTSUPP.  The TCP
 * issue replaces struct ps_stream with its connection block and fills in
 * each function below; the socket layer calls nothing else.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "socket/sockets.h"

void ps_stream_init(struct ps_stack *s, struct ps_stream *st)
{
    memset(st, 0, sizeof(*st));
    st->ep.proto = PS_IP_PROTO_TCP;
    st->rcvbuf = s->cfg.sndbuf; /* TCP issue: its own receive buffer default */
}

int ps_stream_listen(struct ps_stack *s, struct ps_stream *st, int backlog)
{
    if (!(st->ep.flags & PS_EP_BOUND)) {
        int rc = ps_ports_bind(s, &st->ep, 0, 0);
        if (rc != 0)
            return rc;
    }
    int rc = ps_ports_listen(s, &st->ep);
    if (rc != 0)
        return rc;
    /* As Linux: a backlog out of range is clamped, not refused. */
    st->backlog = backlog < 1 ? 1 : backlog > 4096 ? 4096 : backlog;
    return 0;
}

int ps_stream_accept(struct ps_stack *s, struct ps_stream *st, struct ps_sockaddr_in *peer)
{
    (void)s;
    (void)peer;
    if (!(st->ep.flags & PS_EP_LISTEN))
        return -EINVAL; /* as POSIX: accept on a socket not listening */
    return -EOPNOTSUPP; /* TCP hook: the next connection of the accept queue */
}

int ps_stream_connect(struct ps_stack *s, struct ps_stream *st, const struct ps_sockaddr_in *addr)
{
    (void)s;
    (void)st;
    (void)addr;
    return -EOPNOTSUPP; /* TCP hook: route, ps_ports_connect, send the SYN */
}

ssize_t ps_stream_send(struct ps_stack *s, struct ps_stream *st, const void *buf, size_t len, int flags)
{
    (void)s;
    (void)st;
    (void)buf;
    (void)len;
    (void)flags;
    return -EOPNOTSUPP; /* TCP hook */
}

ssize_t ps_stream_recv(struct ps_stack *s, struct ps_stream *st, void *buf, size_t len, int flags)
{
    (void)s;
    (void)st;
    (void)buf;
    (void)len;
    (void)flags;
    return -EOPNOTSUPP; /* TCP hook */
}

int ps_stream_shutdown(struct ps_stack *s, struct ps_stream *st, int how)
{
    (void)s;
    (void)how;
    if (!(st->ep.flags & PS_EP_CONNECTED))
        return -ENOTCONN;
    return -EOPNOTSUPP; /* TCP hook: send FIN */
}

void ps_stream_close(struct ps_stack *s, struct ps_stream *st)
{
    /* TCP hook: a connection starts its close handshake (and may leave a
     * TIME_WAIT record behind) instead of vanishing. */
    ps_ports_unbind(s, &st->ep);
}

short ps_stream_poll(const struct ps_stream *st)
{
    /* A listener is readable when a connection waits (none before TCP);
     * any other stream socket without a connection reports hang-up, as
     * Linux does for a socket in CLOSE. */
    if (st->ep.flags & PS_EP_LISTEN)
        return 0;
    return PS_POLLHUP;
}

const char *ps_stream_state(const struct ps_stream *st)
{
    return (st->ep.flags & PS_EP_LISTEN) ? "LISTEN" : "UNCONN";
}

size_t ps_stream_recv_q(const struct ps_stream *st)
{
    (void)st;
    return 0; /* TCP hook: for a listener, ss shows the accept queue */
}

size_t ps_stream_send_q(const struct ps_stream *st)
{
    (void)st;
    return 0; /* TCP hook: for a listener, ss shows the backlog */
}
