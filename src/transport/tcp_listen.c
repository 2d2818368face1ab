/*
 * Listening sockets (RFC 9293 3.10.7.2): a SYN for a listener makes a
 * child connection in SYN-RECEIVED, held on the listener's bounded
 * half-open queue; when the handshake completes the child moves to the
 * bounded accept queue, where ps_tcp_accept() finds it.  Each overflow is
 * counted.  The child takes a hidden entry of the socket table at once
 * (through the spawn upcall), so every connection is bounded by the table;
 * half-open children of all listeners together are bounded well below it
 * (tcp_half_open_max), beyond which SYN cookies answer.
 */
#include <errno.h>

#include "core/stack_impl.h"
#include "transport/tcp.h"

int ps_tcp_listen(struct ps_stack *s, struct ps_tcb *tcb, int backlog)
{
    if (tcb->state != PS_TCPS_CLOSED && tcb->state != PS_TCPS_LISTEN)
        return -EINVAL; /* as Linux: a connection cannot start listening */
    if (tcb->state == PS_TCPS_CLOSED) {
        if (!(tcb->ep.flags & PS_EP_BOUND)) {
            int rc = ps_ports_bind(s, &tcb->ep, 0, 0);
            if (rc != 0)
                return rc;
        }
        int rc = ps_ports_listen(s, &tcb->ep);
        if (rc != 0)
            return rc;
        tcb->state = PS_TCPS_LISTEN;
        tcb->error = 0;
        /* The queues share their place with CUBIC's state (tcp.h), which
         * a connection that failed before may have left. */
        tcb->synq = tcb->acceptq = tcb->acceptq_tail = NULL;
        tcb->synq_len = tcb->acceptq_len = 0;
        tcb->synq_overflow_at = 0;
    }
    /* As Linux: a backlog out of range is clamped, not refused. */
    unsigned max = s->cfg.tcp_backlog_max ? s->cfg.tcp_backlog_max : 1;
    tcb->backlog = backlog < 1 ? 1 : (unsigned)backlog > max ? max : (unsigned)backlog;
    return 0;
}

static void list_remove(struct ps_tcb **head, struct ps_tcb *c)
{
    for (struct ps_tcb **l = head; *l; l = &(*l)->lq_next) {
        if (*l == c) {
            *l = c->lq_next;
            break;
        }
    }
    c->lq_next = NULL;
}

void ps_tcp_child_unlink(struct ps_stack *s, struct ps_tcb *child)
{
    struct ps_tcb *lst = child->parent;
    if (!lst)
        return;
    if (child->in_acceptq) {
        list_remove(&lst->acceptq, child);
        lst->acceptq_tail = NULL;
        for (struct ps_tcb *c = lst->acceptq; c; c = c->lq_next)
            lst->acceptq_tail = c;
        lst->acceptq_len--;
    } else {
        list_remove(&lst->synq, child);
        lst->synq_len--;
        PS_GAUGE_ADD(s, tcp_half_open, -1);
    }
    child->in_acceptq = false;
    child->parent = NULL;
}

bool ps_tcp_child_established(struct ps_stack *s, struct ps_tcb *child)
{
    struct ps_tcb *lst = child->parent;
    if (!lst)
        return true;
    if (lst->acceptq_len >= lst->backlog) {
        /* As Linux without tcp_abort_on_overflow: drop the final ACK;
         * the SYN-ACK is resent and the client's ACK comes again. */
        PS_STAT_INC(s, tcp_accept_overflow);
        return false;
    }
    if (ps_tcb_rings(s, child) != 0) {
        /* No memory for the buffers: the same, until there is. */
        PS_STAT_INC(s, tcp_rings_nomem);
        return false;
    }
    list_remove(&lst->synq, child);
    lst->synq_len--;
    PS_GAUGE_ADD(s, tcp_half_open, -1);
    child->lq_next = NULL;
    if (lst->acceptq_tail)
        lst->acceptq_tail->lq_next = child;
    else
        lst->acceptq = child;
    lst->acceptq_tail = child;
    lst->acceptq_len++;
    child->in_acceptq = true;
    PS_STAT_INC(s, tcp_conn_passive);
    ps_tcp_notify(s, lst);
    return true;
}

struct ps_tcb *ps_tcp_accept(struct ps_stack *s, struct ps_tcb *lst)
{
    struct ps_tcb *c = lst->acceptq;
    if (!c)
        return NULL;
    lst->acceptq = c->lq_next;
    if (!lst->acceptq)
        lst->acceptq_tail = NULL;
    lst->acceptq_len--;
    c->lq_next = NULL;
    c->parent = NULL;
    c->in_acceptq = false;
    c->orphan = false; /* it has a socket now */
    /* Room was made: complete one handshake that found the queue full. */
    for (struct ps_tcb *h = lst->synq; h; h = h->lq_next) {
        if (h->acked_early) {
            ps_tcp_passive_complete(s, h);
            break;
        }
    }
    return c;
}

void ps_tcp_listen_close(struct ps_stack *s, struct ps_tcb *lst)
{
    /* Every child, half-open or waiting for accept, is reset (as Linux's
     * inet_csk_listen_stop). */
    struct ps_tcb *lists[2] = {lst->synq, lst->acceptq};
    lst->synq = lst->acceptq = lst->acceptq_tail = NULL;
    PS_GAUGE_ADD(s, tcp_half_open, -(int64_t)lst->synq_len);
    lst->synq_len = lst->acceptq_len = 0;
    for (int i = 0; i < 2; i++) {
        for (struct ps_tcb *c = lists[i], *next; c; c = next) {
            next = c->lq_next;
            c->lq_next = NULL;
            c->parent = NULL;
            c->in_acceptq = false;
            ps_tcp_abort(s, c, ECONNABORTED);
        }
    }
}

void ps_tcp_listen_input(struct ps_stack *s, struct ps_tcb *lst, const struct ps_ipv4_hdr *ip,
                         const struct ps_tcp_hdr *th, uint32_t dlen)
{
    uint8_t f = th->flags;
    if (f & PS_TCP_RST) {
        PS_STAT_INC(s, tcp_drop_listen);
        return;
    }
    if (f & PS_TCP_ACK) {
        /* Not a valid SYN cookie (tcp_syncookie.c checked first): an ACK
         * to a listener is answered with RST. */
        PS_STAT_INC(s, tcp_drop_listen);
        ps_tcp_reset_reply(s, ip, th, dlen + ((f & PS_TCP_FIN) ? 1 : 0));
        return;
    }
    if (!(f & PS_TCP_SYN)) {
        PS_STAT_INC(s, tcp_drop_listen);
        return;
    }
    if (lst->synq_len >= s->cfg.tcp_synq_max || PS_GAUGE_NOW(s, tcp_half_open) + 1 >= s->cfg.tcp_half_open_max) {
        /* SYN cookies answer statelessly (tcp_syncookie.c); when they are
         * off the SYN is dropped.  The bound on all listeners together
         * keeps a flood on many of them from filling the socket table,
         * which would refuse every connection until the half-open ones
         * time out.  Its last place is kept for the connection a cookie
         * completes, which passes through the half-open queue. */
        if (lst->acceptq_len < lst->backlog && ps_tcp_syncookie_send(s, lst, ip, th))
            return;
        PS_STAT_INC(s, tcp_synq_overflow);
        return;
    }
    if (lst->acceptq_len >= lst->backlog) {
        PS_STAT_INC(s, tcp_accept_overflow);
        return;
    }
    struct ps_tcb *c = s->tcp->up.spawn ? s->tcp->up.spawn(s, lst) : NULL;
    if (!c) {
        PS_STAT_INC(s, tcp_no_socket);
        ps_tcp_reset_reply(s, ip, th, dlen + 1);
        return;
    }
    c->passive = true;
    c->orphan = true; /* no socket number until accepted */
    c->rings_later = true;
    if (ps_ports_attach(s, &c->ep, ip->dst, th->dport, ip->src, th->sport) != 0 ||
        ps_tcb_start(s, c, ip->dst, ip->src) != 0) {
        ps_tcp_closed(s, c, 0); /* unbinds and releases the entry */
        return;
    }
    c->irs = th->seq;
    c->rcv_nxt = th->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    c->last_ack_sent = c->rcv_nxt;
    ps_tcp_syn_options(s, c, &th->opt);
    /* A SYN reopening a TIME_WAIT record starts above its old sequence
     * space (tcp_timewait.c). */
    c->iss = s->tcp->tw_isn_set ? s->tcp->tw_isn : ps_tcp_isn(s, ip->dst, th->dport, ip->src, th->sport);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->sb_seq = c->iss + 1;
    c->snd_wnd = th->window;
    c->max_sndwnd = c->snd_wnd;
    c->snd_wl1 = th->seq;
    c->snd_wl2 = c->iss;
    c->state = PS_TCPS_SYN_RECEIVED;
    c->parent = lst;
    c->lq_next = lst->synq;
    lst->synq = c;
    lst->synq_len++;
    PS_GAUGE_ADD(s, tcp_half_open, 1);
    /* Data on the SYN is not kept; the peer sends it again once the
     * handshake is done. */
    ps_tcp_output(s, c); /* SYN-ACK */
}
