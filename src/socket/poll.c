/*
 * Readiness: ps_poll over many sockets, and the per-socket callback for
 * event-loop hosts.  Nothing waits: the host sleeps until the stack's next
 * deadline or new input, then polls (or is called back).
 */
#include <errno.h>

#include "core/stack_impl.h"
#include "socket/sockets.h"

short ps_sock_revents(struct ps_sock *sk)
{
    if (sk->type == PS_SOCK_DGRAM)
        return ps_udp_poll(&sk->u.udp);
    return ps_stream_poll(&sk->u.stream);
}

void ps_sock_notify(struct ps_sock *sk)
{
    /* Raised by the protocol when a datagram is queued or an error
     * arrives; the callback may call anything, ps_close included. */
    if (sk->cb)
        sk->cb(sk->cb_ctx, sk->fd, ps_sock_revents(sk));
}

int ps_poll(struct ps_stack *s, struct ps_pollfd *fds, unsigned n)
{
    if (n && !fds)
        return -EINVAL;
    int ready = 0;
    for (unsigned i = 0; i < n; i++) {
        fds[i].revents = 0;
        if (fds[i].fd < 0)
            continue; /* POSIX: a negative fd is ignored */
        struct ps_sock *sk = ps_sock_get(s, fds[i].fd);
        if (!sk) {
            fds[i].revents = PS_POLLNVAL;
        } else {
            /* Errors and hang-ups are reported whether asked for or not. */
            short mask = (short)(fds[i].events | PS_POLLERR | PS_POLLHUP);
            fds[i].revents = (short)(ps_sock_revents(sk) & mask);
        }
        if (fds[i].revents)
            ready++;
    }
    return ready;
}

int ps_socket_set_callback(struct ps_stack *s, int fd, ps_sock_event_fn fn, void *ctx)
{
    struct ps_sock *sk = ps_sock_get(s, fd);
    if (!sk)
        return -EBADF;
    sk->cb = fn;
    sk->cb_ctx = fn ? ctx : NULL;
    return 0;
}
