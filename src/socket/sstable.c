/*
 * The socket table seen from outside: an iterator, and a printer in the
 * layout of `ss -tuna` (service names unless PS_SS_NUMERIC, `*` for the
 * wildcard address and for "no port", as ss does).
 */
#include <stdio.h>
#include <string.h>

#include <portstack/services.h>

#include "core/stack_impl.h"
#include "socket/sockets.h"

const char *ps_sock_state(struct ps_sock *sk)
{
    if (sk->type == PS_SOCK_STREAM)
        return ps_stream_state(&sk->u.stream);
    return (sk->u.udp.ep.flags & PS_EP_CONNECTED) ? "ESTAB" : "UNCONN";
}

static void sock_info(struct ps_sock *sk, struct ps_sock_info *info)
{
    const struct ps_endpoint *ep = ps_sock_ep(sk);
    memset(info, 0, sizeof(*info));
    info->fd = sk->hidden ? -1 : sk->fd;
    info->type = sk->type;
    info->state = ps_sock_state(sk);
    if (sk->type == PS_SOCK_DGRAM) {
        info->recv_q = sk->u.udp.rq_bytes;
        info->send_q = 0; /* datagrams leave at once */
    } else {
        info->recv_q = ps_stream_recv_q(&sk->u.stream);
        info->send_q = ps_stream_send_q(&sk->u.stream);
    }
    info->local.addr = ep->laddr;
    info->local.port = ep->lport;
    if (ep->flags & PS_EP_CONNECTED) {
        info->peer.addr = ep->raddr;
        info->peer.port = ep->rport;
    }
}

void ps_socket_foreach(struct ps_stack *s, int (*fn)(void *ctx, const struct ps_sock_info *info), void *ctx)
{
    struct ps_sockets *t = s->sockets;
    for (unsigned i = 0; i < t->max; i++) {
        if (!t->tab[i].used)
            continue;
        struct ps_sock_info info;
        sock_info(&t->tab[i], &info);
        if (fn(ctx, &info))
            return;
    }
    /* Connections without a socket (closed ones finishing, TIME_WAIT, or
     * waiting for accept) are hidden entries of the table, listed above
     * with fd -1. */
}

/* ---- ss ------------------------------------------------------------------------ */

#define EP_STRLEN (PS_IP4_STRLEN + 24)

static void fmt_endpoint(char *buf, const struct ps_sockaddr_in *a, int type, bool numeric)
{
    char ip[PS_IP4_STRLEN];
    const char *host = a->addr ? ps_ip4_ntoa(a->addr, ip) : "*";
    uint8_t proto = type == PS_SOCK_STREAM ? PS_IP_PROTO_TCP : PS_IP_PROTO_UDP;
    const char *svc = numeric || !a->port ? NULL : ps_service_name(a->port, proto);
    if (!a->port)
        snprintf(buf, EP_STRLEN, "%s:*", host);
    else if (svc)
        snprintf(buf, EP_STRLEN, "%s:%s", host, svc);
    else
        snprintf(buf, EP_STRLEN, "%s:%u", host, (unsigned)a->port);
}

struct ss_ctx {
    FILE *out;
    bool numeric;
    int wlocal, wpeer; /* column widths, from the first pass */
};

static int ss_measure(void *ctx, const struct ps_sock_info *info)
{
    struct ss_ctx *c = ctx;
    char l[EP_STRLEN], p[EP_STRLEN];
    fmt_endpoint(l, &info->local, info->type, c->numeric);
    fmt_endpoint(p, &info->peer, info->type, c->numeric);
    if ((int)strlen(l) > c->wlocal)
        c->wlocal = (int)strlen(l);
    if ((int)strlen(p) > c->wpeer)
        c->wpeer = (int)strlen(p);
    return 0;
}

static int ss_row(void *ctx, const struct ps_sock_info *info)
{
    struct ss_ctx *c = ctx;
    char l[EP_STRLEN], p[EP_STRLEN];
    fmt_endpoint(l, &info->local, info->type, c->numeric);
    fmt_endpoint(p, &info->peer, info->type, c->numeric);
    fprintf(c->out, "%-5s %-10s %-6zu %-6zu %-*s %s\n", info->type == PS_SOCK_STREAM ? "tcp" : "udp",
            info->state, info->recv_q, info->send_q, c->wlocal, l, p);
    return 0;
}

void ps_ss_print(struct ps_stack *s, FILE *out, unsigned flags)
{
    struct ss_ctx c = {.out = out, .numeric = (flags & PS_SS_NUMERIC) != 0,
                       .wlocal = (int)strlen("Local Address:Port"), .wpeer = 0};
    ps_socket_foreach(s, ss_measure, &c);
    fprintf(out, "%-5s %-10s %-6s %-6s %-*s %s\n", "Netid", "State", "Recv-Q", "Send-Q", c.wlocal,
            "Local Address:Port", "Peer Address:Port");
    ps_socket_foreach(s, ss_row, &c);
}
