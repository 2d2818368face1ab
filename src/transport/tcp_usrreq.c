/*
 * TCP user calls (RFC 9293 3.10.1-3.10.6) as the socket layer makes them:
 * every one returns at once; where BSD would block, -EAGAIN or
 * -EINPROGRESS, and readiness is reported through the event upcall.
 */
#include <errno.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"
#include "transport/tcp_seq.h"

int ps_tcp_take_error(struct ps_tcb *tcb)
{
    int e = tcb->error;
    tcb->error = 0;
    return e;
}

/* The source address toward dst (as UDP's pick_source, less broadcast). */
static int pick_source(struct ps_stack *s, ps_ip4_t laddr, ps_ip4_t dst, ps_ip4_t *src)
{
    /* 127/8 never leaves the host (RFC 1122 3.2.1.3). */
    if (laddr && ps_ip4_is_loopback(laddr) && !ps_ip_is_local(s, dst))
        return -EINVAL;
    if (laddr) {
        *src = laddr;
        return 0;
    }
    if (ps_ip_is_local(s, dst)) {
        *src = dst;
        return 0;
    }
    return ps_route_lookup(s, dst, NULL, NULL, src);
}

int ps_tcp_connect(struct ps_stack *s, struct ps_tcb *tcb, ps_ip4_t addr, uint16_t port)
{
    switch (tcb->state) {
    case PS_TCPS_CLOSED:
        break;
    case PS_TCPS_LISTEN:
        return -EINVAL;
    case PS_TCPS_SYN_SENT:
    case PS_TCPS_SYN_RECEIVED:
        return -EALREADY;
    default:
        tcb->connect_pending = false;
        return -EISCONN;
    }
    if (tcb->connect_pending) {
        /* The previous attempt failed: report it once. */
        tcb->connect_pending = false;
        int e = ps_tcp_take_error(tcb);
        if (e)
            return -e;
    }
    if (addr == 0 || port == 0)
        return -EINVAL;
    if (addr == PS_IP4_BROADCAST || ps_ip4_is_multicast(addr))
        return -ENETUNREACH;
    for (unsigned i = 0; i < s->net.nifaces; i++)
        if (ps_ipv4_is_broadcast(&s->net.ifaces[i], addr))
            return -ENETUNREACH;
    ps_ip4_t src = 0;
    int rc = pick_source(s, (tcb->ep.flags & PS_EP_BOUND) ? tcb->ep.laddr : 0, addr, &src);
    if (rc != 0)
        return rc;
    /* A TIME_WAIT record holding the quadruple gives it up only when
     * timestamps make it safe (tcp_timewait.c); the new connection then
     * goes on above its sequence numbers and timestamps. */
    uint32_t tw_iss = 0, tw_tsoff = 0;
    int reuse = (tcb->ep.flags & PS_EP_BOUND) && !(tcb->ep.flags & PS_EP_CONNECTED)
                    ? ps_tcp_tw_reuse(s, src, tcb->ep.lport, addr, port, &tw_iss, &tw_tsoff)
                    : 0;
    if (reuse < 0)
        return reuse;
    rc = ps_ports_connect(s, &tcb->ep, src, addr, port);
    if (rc == -EADDRNOTAVAIL && !(tcb->ep.flags & PS_EP_BOUND) &&
        (reuse = ps_tcp_tw_reuse(s, src, 0, addr, port, &tw_iss, &tw_tsoff)) > 0)
        rc = ps_ports_connect(s, &tcb->ep, src, addr, port);
    if (rc != 0)
        return rc;
    rc = ps_tcb_start(s, tcb, tcb->ep.laddr, addr);
    if (rc != 0) {
        ps_ports_unbind(s, &tcb->ep);
        return rc;
    }
    tcb->iss = reuse > 0 ? tw_iss : ps_tcp_isn(s, tcb->ep.laddr, tcb->ep.lport, addr, port);
    if (reuse > 0)
        tcb->ts_offset = tw_tsoff;
    tcb->snd_una = tcb->snd_nxt = tcb->snd_max = tcb->iss;
    tcb->sb_seq = tcb->iss + 1;
    tcb->snd_wnd = 0;
    tcb->max_sndwnd = 0;
    tcb->rcv_nxt = tcb->rcv_adv = 0;
    tcb->passive = false;
    tcb->connect_pending = true;
    tcb->state = PS_TCPS_SYN_SENT;
    /* Time the SYN for the first RTT sample (used without timestamps). */
    tcb->rtt_timing = true;
    tcb->rtt_seq = tcb->iss;
    tcb->rtt_start = s->now;
    PS_STAT_INC(s, tcp_conn_active);
    ps_tcp_output(s, tcb);
    return -EINPROGRESS;
}

ssize_t ps_tcp_send(struct ps_stack *s, struct ps_tcb *tcb, const void *buf, size_t len)
{
    int e = ps_tcp_take_error(tcb);
    if (e)
        return -e;
    if (tcb->fin_queued)
        return -EPIPE;
    switch (tcb->state) {
    case PS_TCPS_ESTABLISHED:
    case PS_TCPS_CLOSE_WAIT:
        break;
    case PS_TCPS_SYN_SENT:
    case PS_TCPS_SYN_RECEIVED:
        return -EAGAIN; /* as Linux, non-blocking: not connected yet */
    case PS_TCPS_LISTEN:
        return -ENOTCONN;
    case PS_TCPS_CLOSED:
        return tcb->ever_connected ? -EPIPE : -ENOTCONN;
    default:
        return -EPIPE;
    }
    if (len == 0)
        return 0;
    if (!buf)
        return -EINVAL;
    uint32_t n = ps_ring_write(&tcb->snd, buf, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    if (n == 0)
        return -EAGAIN;
    ps_tcp_output_later(s, tcb); /* the caller's flush sends it */
    return (ssize_t)n;
}

ssize_t ps_tcp_recv(struct ps_stack *s, struct ps_tcb *tcb, void *buf, size_t len, int flags)
{
    if (tcb->rcv.len && len) {
        uint32_t n = len > tcb->rcv.len ? tcb->rcv.len : (uint32_t)len;
        if (flags & PS_MSG_PEEK) {
            ps_ring_peek(&tcb->rcv, 0, buf, n);
        } else {
            ps_ring_read(&tcb->rcv, buf, n);
            ps_tcp_rcvd(s, tcb);
        }
        return (ssize_t)n;
    }
    int e = ps_tcp_take_error(tcb);
    if (e)
        return -e;
    if (tcb->state == PS_TCPS_LISTEN || (tcb->state == PS_TCPS_CLOSED && !tcb->ever_connected))
        return -ENOTCONN;
    if (tcb->fin_rcvd || tcb->shut_rd || tcb->state == PS_TCPS_CLOSED)
        return 0;
    if (len == 0)
        return 0;
    return -EAGAIN;
}

/* Queue our FIN after the data (RFC 9293 3.10.4 CLOSE). */
static void queue_fin(struct ps_stack *s, struct ps_tcb *tcb)
{
    if (tcb->fin_queued)
        return;
    switch (tcb->state) {
    case PS_TCPS_SYN_RECEIVED:
        /* The FIN waits for ESTABLISHED (RFC 9293 3.10.4; tcp_input.c
         * enters FIN-WAIT-1 then): sent now, with our SYN not yet
         * acknowledged, nothing would ever send the SYN again, and an
         * orphan would wait forever on a peer that keeps its window shut. */
        break;
    case PS_TCPS_ESTABLISHED:
        ps_tcp_set_state(s, tcb, PS_TCPS_FIN_WAIT_1);
        break;
    case PS_TCPS_CLOSE_WAIT:
        ps_tcp_set_state(s, tcb, PS_TCPS_LAST_ACK);
        break;
    default:
        return;
    }
    tcb->fin_queued = true;
    tcb->fin_seq = tcb->sb_seq + tcb->snd.len;
    ps_tcp_output(s, tcb);
}

int ps_tcp_shutdown(struct ps_stack *s, struct ps_tcb *tcb, int how)
{
    switch (tcb->state) {
    case PS_TCPS_CLOSED:
    case PS_TCPS_LISTEN:
        return -ENOTCONN;
    case PS_TCPS_SYN_SENT:
        /* As Linux: shutting down a connection still opening ends it. */
        ps_tcp_closed(s, tcb, 0);
        return 0;
    default:
        break;
    }
    if (how != PS_SHUT_WR) {
        tcb->shut_rd = true;
        ps_tcp_notify(s, tcb);
    }
    if (how != PS_SHUT_RD)
        queue_fin(s, tcb);
    return 0;
}

bool ps_tcp_close(struct ps_stack *s, struct ps_tcb *tcb, bool abort)
{
    /* What send() took before the close (from a callback, so still
     * deferred) leaves first, as if sent at once: even a RST then ends a
     * stream the peer has in full. */
    ps_tcp_output_pending(s, tcb);
    switch (tcb->state) {
    case PS_TCPS_LISTEN:
        ps_tcp_listen_close(s, tcb); /* its children are reset */
        ps_tcb_destroy(s, tcb);
        return false;
    case PS_TCPS_CLOSED:
    case PS_TCPS_SYN_SENT:
        ps_tcb_destroy(s, tcb);
        return false;
    case PS_TCPS_TIME_WAIT:
        /* The quadruple stays owned until 2*MSL by a compact record
         * (tcp_timewait.c); the block and its socket entry go now. */
        if (!abort)
            ps_tcp_tw_create(s, tcb, ps_tcp_timer_on(tcb, PS_TCPT_CONN) ? tcb->due[PS_TCPT_CONN] : s->now);
        ps_tcb_destroy(s, tcb);
        return false;
    default:
        break;
    }
    /* SO_LINGER 0, or data the application never read (RFC 2525 2.17):
     * abort with RST, and the block is free at once. */
    if (abort || tcb->rcv.len > 0 || tcb->state == PS_TCPS_SYN_RECEIVED) {
        ps_tcp_abort(s, tcb, 0);
        ps_tcb_destroy(s, tcb);
        return false;
    }
    tcb->orphan = true;
    tcb->shut_rd = true;
    queue_fin(s, tcb);
    ps_tcp_finwait2_arm(s, tcb);
    return true;
}

short ps_tcp_poll(const struct ps_tcb *tcb)
{
    short ev = 0;
    if (tcb->error)
        ev |= PS_POLLERR;
    switch (tcb->state) {
    case PS_TCPS_LISTEN:
        if (tcb->acceptq)
            ev |= PS_POLLIN;
        return ev;
    case PS_TCPS_CLOSED:
        /* Never connected: hang-up only (as Linux); after a connection
         * or a failed connect, reads and writes answer at once too. */
        ev |= PS_POLLHUP;
        if (tcb->ever_connected || tcb->error || tcb->connect_pending)
            ev |= PS_POLLIN | PS_POLLOUT;
        return ev;
    case PS_TCPS_SYN_SENT:
    case PS_TCPS_SYN_RECEIVED:
        return ev;
    default:
        break;
    }
    if (tcb->rcv.len || tcb->fin_rcvd || tcb->shut_rd)
        ev |= PS_POLLIN;
    if (tcb->fin_queued)
        ev |= PS_POLLOUT; /* send answers EPIPE at once */
    else if ((tcb->state == PS_TCPS_ESTABLISHED || tcb->state == PS_TCPS_CLOSE_WAIT) && ps_ring_space(&tcb->snd))
        ev |= PS_POLLOUT;
    if (tcb->fin_rcvd && tcb->fin_queued)
        ev |= PS_POLLHUP;
    return ev;
}

size_t ps_tcp_recv_q(const struct ps_tcb *tcb)
{
    /* For a listener ss shows the accept queue and the backlog. */
    return tcb->state == PS_TCPS_LISTEN ? tcb->acceptq_len : tcb->rcv.len;
}

size_t ps_tcp_send_q(const struct ps_tcb *tcb)
{
    return tcb->state == PS_TCPS_LISTEN ? tcb->backlog : tcb->snd.len;
}
