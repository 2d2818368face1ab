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

/* ti: room for a connection's figures, pointed to by info->tcp. */
static void sock_info(struct ps_sock *sk, struct ps_sock_info *info, struct ps_tcp_info *ti)
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
        struct ps_tcb *tcb = &sk->u.stream.tcb;
        if (tcb->state != PS_TCPS_LISTEN && (tcb->state != PS_TCPS_CLOSED || tcb->ever_connected)) {
            ps_tcp_info_fill(tcb, ti); /* PS_TCP_INFO's figures (tcp_info.c) */
            info->tcp = ti;
        }
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
        if (!t->tab[i])
            continue;
        struct ps_sock_info info;
        struct ps_tcp_info ti;
        sock_info(t->tab[i], &info, &ti);
        if (fn(ctx, &info))
            return;
    }
    /* Connections without a socket (closed ones finishing, or waiting for
     * accept) are hidden entries of the table, listed above with fd -1;
     * TIME_WAIT records (tcp_timewait.c) follow, fd -1 too. */
    for (const struct ps_endpoint *ep = ps_tcp_tw_next(s, NULL); ep; ep = ps_tcp_tw_next(s, ep)) {
        struct ps_sock_info info;
        memset(&info, 0, sizeof(info));
        info.fd = -1;
        info.type = PS_SOCK_STREAM;
        info.state = ps_tcp_state_name(PS_TCPS_TIME_WAIT);
        info.local.addr = ep->laddr;
        info.local.port = ep->lport;
        info.peer.addr = ep->raddr;
        info.peer.port = ep->rport;
        if (fn(ctx, &info))
            return;
    }
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
    bool info; /* PS_SS_INFO */
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

/* us as ss prints milliseconds: "1.234". */
static void fmt_ms(char *buf, size_t n, uint32_t us)
{
    snprintf(buf, n, "%u.%03u", us / 1000, us % 1000);
}

/* The `ss -ti` line: windows in segments as ss shows them, the rest as
 * struct ps_tcp_info has it. */
static void ss_tcp_info(FILE *out, const struct ps_tcp_info *ti)
{
    char rto[16], rtt[16], var[16];
    fmt_ms(rto, sizeof(rto), ti->rto_us);
    fmt_ms(rtt, sizeof(rtt), ti->srtt_us);
    fmt_ms(var, sizeof(var), ti->rttvar_us);
    uint32_t mss = ti->snd_mss ? ti->snd_mss : 1;
    fprintf(out, "\t %s%s%s", (ti->options & PS_TCPI_OPT_TIMESTAMPS) ? "ts " : "",
            (ti->options & PS_TCPI_OPT_SACK) ? "sack " : "", ti->congestion);
    if (ti->options & PS_TCPI_OPT_WSCALE)
        fprintf(out, " wscale:%u,%u", ti->snd_wscale, ti->rcv_wscale);
    fprintf(out, " rto:%s rtt:%s/%s mss:%u rcvmss:%u cwnd:%u", rto, rtt, var, ti->snd_mss, ti->rcv_mss,
            ti->cwnd / mss);
    if (ti->ssthresh != PS_TCPI_INFINITE_SSTHRESH)
        fprintf(out, " ssthresh:%u", ti->ssthresh / mss);
    fprintf(out,
            " bytes_sent:%llu bytes_acked:%llu bytes_received:%llu segs_out:%llu segs_in:%llu retrans:%u/%llu"
            " snd_wnd:%u rcv_wnd:%u unacked:%u",
            (unsigned long long)ti->bytes_sent, (unsigned long long)ti->bytes_acked,
            (unsigned long long)ti->bytes_received, (unsigned long long)ti->segs_out,
            (unsigned long long)ti->segs_in, ti->backoff, (unsigned long long)ti->retransmits, ti->snd_wnd,
            ti->rcv_wnd, ti->unacked);
    if (ti->keepalive_probes)
        fprintf(out, " probes:%u", ti->keepalive_probes);
    fprintf(out, "\n");
}

static int ss_row(void *ctx, const struct ps_sock_info *info)
{
    struct ss_ctx *c = ctx;
    char l[EP_STRLEN], p[EP_STRLEN];
    fmt_endpoint(l, &info->local, info->type, c->numeric);
    fmt_endpoint(p, &info->peer, info->type, c->numeric);
    fprintf(c->out, "%-5s %-10s %-6zu %-6zu %-*s %s\n", info->type == PS_SOCK_STREAM ? "tcp" : "udp",
            info->state, info->recv_q, info->send_q, c->wlocal, l, p);
    if (c->info && info->tcp)
        ss_tcp_info(c->out, info->tcp);
    return 0;
}

void ps_ss_print(struct ps_stack *s, FILE *out, unsigned flags)
{
    struct ss_ctx c = {.out = out, .numeric = (flags & PS_SS_NUMERIC) != 0, .info = (flags & PS_SS_INFO) != 0,
                       .wlocal = (int)strlen("Local Address:Port"), .wpeer = 0};
    ps_socket_foreach(s, ss_measure, &c);
    fprintf(out, "%-5s %-10s %-6s %-6s %-*s %s\n", "Netid", "State", "Recv-Q", "Send-Q", c.wlocal,
            "Local Address:Port", "Peer Address:Port");
    ps_socket_foreach(s, ss_row, &c);
}
