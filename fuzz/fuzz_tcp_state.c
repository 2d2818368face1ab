/*
 * libFuzzer target: segments into a TCP connection set up in any state,
 * with the application's calls and time steps in between.
 *
 * Input byte 0 sets the scene, built with a scripted peer
 * (tests/tcp_peer.h, peer 192.0.2.2, the stack 192.0.2.1):
 *   bits 0-3  the state, modulo 9: SYN-SENT, SYN-RECEIVED, ESTABLISHED,
 *             FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT
 *   bit 4     the stack opened actively (else the peer did; SYN-SENT is
 *             always active, SYN-RECEIVED active is a simultaneous open)
 *   bit 5     the stack closes its socket to send its FIN (an orphan; in
 *             TIME-WAIT a compact record) rather than shutdown(SHUT_WR)
 *   bit 6     busy: from ESTABLISHED on, 3000 bytes the stack sent are not
 *             acknowledged (where the state allows) and, while the socket
 *             is open, 1000 bytes the peer sent are not read
 *   bit 7     the peer's SYN carries no options (no window scale, SACK or
 *             timestamps)
 *
 * Then records of [ctl:1][flags:1][dseq:2][dack:2][win:2][olen:1][dlen:2]
 * followed by olen option bytes and dlen data bytes (big-endian fields):
 *   ctl bits 0-2  time step before the record (fuzz_step_us)
 *   ctl bits 3-4  0: the peer sends a segment; 1: the application reads
 *                 (and accepts); 2: it writes dlen bytes; 3: it closes
 *                 (flags bit 0; bit 1 abortively) or shuts down (flags
 *                 bits 2-3: read, write, both)
 *   ctl bit 5     prepend a timestamp option: the peer's clock, echoing
 *                 the stack's latest TSval
 *   ctl bit 6     corrupt the checksum
 *   ctl bit 7     from another port of the peer (a stranger)
 *   dseq, dack    signed offsets: seq from the connection's real RCV.NXT,
 *                 ack from its real SND.UNA (read from the connection
 *                 block; from what the peer saw when there is none), so
 *                 that mutations stay near the window and reach deep paths
 *   options       sent as given (at most 40 bytes with the timestamp),
 *                 except that SACK block edges are offsets from SND.UNA
 *   dlen          bits 0-10 the length (at most 1400), bit 15: a pattern
 *                 instead of bytes from the input
 *
 * Oracles, beyond the sanitizers and fuzz_conn.h's: the stack never
 * acknowledges a byte the peer did not send, and its acknowledgment number
 * never goes backwards within one incarnation of the connection.
 */
#include <errno.h>
#include <setjmp.h>

#include "fuzz_conn.h"
#include "transport/tcp_seq.h"

enum { ST_SYN_SENT, ST_SYN_RCVD, ST_ESTAB, ST_FIN_WAIT_1, ST_FIN_WAIT_2, ST_CLOSE_WAIT, ST_CLOSING, ST_LAST_ACK,
       ST_TIME_WAIT, ST_COUNT };
static const char *const state_names[ST_COUNT] = {"SYN-SENT",   "SYN-RECV",   "ESTAB",
                                                  "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                                  "CLOSING",    "LAST-ACK",   "TIME-WAIT"};

#define REC_HDR 11
#define MAX_DATA 1400

struct scene {
    bool trace; /* FUZZ_TRACE set: print every segment both ways (triage) */
    struct net *n;
    struct tcp_peer p;
    int lfd, fd;
    uint32_t p_ack;   /* what the peer's set-up segments acknowledge */
    uint32_t peer_hi; /* the highest sequence number the peer sent, plus one */
    bool have_ack;    /* last_ack holds the stack's latest ACK number */
    uint32_t last_ack;
};

/* ---- oracles ---------------------------------------------------------------------------- */

static void check_seg(void *ctx, const struct tcp_seg *g)
{
    struct scene *sc = ctx;
    if (sc->trace) {
        char b[128];
        fprintf(stderr, "  %8llu ms  stack: %s\n", (unsigned long long)(sc->n->now / 1000), tcp_seg_str(g, b, sizeof(b)));
    }
    if (g->h.flags & PS_TCP_RST)
        return;
    if (g->h.flags & PS_TCP_SYN)
        sc->have_ack = false; /* a new incarnation starts over */
    if (!(g->h.flags & PS_TCP_ACK))
        return;
    FUZZ_MUST(ps_seq_leq(g->h.ack, sc->peer_hi), "acknowledged bytes the peer never sent");
    FUZZ_MUST(!sc->have_ack || ps_seq_geq(g->h.ack, sc->last_ack), "the ACK number went backwards");
    sc->have_ack = true;
    sc->last_ack = g->h.ack;
}

static void sent_upto(struct scene *sc, uint32_t end)
{
    if (ps_seq_gt(end, sc->peer_hi))
        sc->peer_hi = end;
}

static void settle(struct scene *sc)
{
    net_poll(sc->n, sc->n->now);
    fc_read(&sc->p, check_seg, sc);
}

/* ---- the scene ---------------------------------------------------------------------------- */

/* A set-up segment from the peer at its SND.NXT acknowledging p_ack. */
static void peer_setup(struct scene *sc, uint8_t flags, const void *data, size_t len)
{
    struct tcp_peer *p = &sc->p;
    struct ps_tcp_opts o = peer_opts(p, flags);
    uint32_t seq = (flags & PS_TCP_SYN) ? p->iss : p->snd_nxt;
    peer_xmit(p, flags, seq, (flags & PS_TCP_ACK) ? sc->p_ack : 0, p->win, &o, data, len);
    uint32_t end = seq + (uint32_t)len + ((flags & (PS_TCP_SYN | PS_TCP_FIN)) ? 1u : 0u);
    if (ps_seq_gt(end, p->snd_nxt))
        p->snd_nxt = end;
    sent_upto(sc, end);
    p->tsval++;
    settle(sc);
}

static void app_read_all(struct scene *sc)
{
    uint8_t buf[4096];
    for (int i = 0; i < 64 && sc->fd >= 0; i++)
        if (ps_recv(sc->n->s, sc->fd, buf, sizeof(buf), 0) <= 0)
            break;
}

/* The stack sends its FIN: close (an orphan) or shutdown(SHUT_WR). */
static void stack_fin(struct scene *sc, bool orphan)
{
    if (orphan) {
        app_read_all(sc); /* unread data would make close() a reset */
        ps_close(sc->n->s, sc->fd);
        sc->fd = -1;
    } else {
        ps_shutdown(sc->n->s, sc->fd, PS_SHUT_WR);
    }
    settle(sc);
}

static void open_connection(struct scene *sc, int st, bool active)
{
    struct tcp_peer *p = &sc->p;
    struct ps_stack *s = sc->n->s;
    if (!active) {
        sc->lfd = tcp_listener(sc->n, LPORT);
        peer_setup(sc, PS_TCP_SYN, NULL, 0);
        sc->p_ack = p->rcv_nxt;
        if (st == ST_SYN_RCVD)
            return;
        peer_setup(sc, PS_TCP_ACK, NULL, 0);
        struct ps_sockaddr_in from;
        sc->fd = ps_accept(s, sc->lfd, &from);
        REQUIRE(sc->fd >= 0);
        return;
    }
    sc->fd = ps_socket(s, PS_SOCK_STREAM);
    struct ps_sockaddr_in to = {.addr = IP_PEER, .port = RPORT}, me;
    REQUIRE(ps_connect(s, sc->fd, &to) == -EINPROGRESS);
    REQUIRE(ps_getsockname(s, sc->fd, &me) == 0);
    p->us_port = me.port;
    settle(sc);
    REQUIRE(p->irs_known);
    sc->p_ack = p->rcv_nxt;
    if (st == ST_SYN_SENT)
        return;
    /* SYN-RECEIVED from the active side: a simultaneous open, their SYN
     * crossing ours. */
    peer_setup(sc, st == ST_SYN_RCVD ? PS_TCP_SYN : PS_TCP_SYN | PS_TCP_ACK, NULL, 0);
}

static void set_scene(struct scene *sc, uint8_t b0)
{
    int st = (b0 & 15) % ST_COUNT;
    bool active = (b0 & 0x10) || st == ST_SYN_SENT, orphan = b0 & 0x20, busy = b0 & 0x40;
    struct tcp_peer *p = &sc->p;
    if (active)
        peer_init(p, sc->n, 0, RPORT, PISS);
    else
        peer_init(p, sc->n, LPORT, PPORT, PISS);
    if (b0 & 0x80) {
        memset(&p->syn_opt, 0, sizeof(p->syn_opt));
        p->syn_opt.has_mss = true;
        p->syn_opt.mss = 1460;
    }
    sc->peer_hi = PISS;
    open_connection(sc, st, active);
    if (st > ST_SYN_RCVD && busy) {
        uint8_t d[3000];
        tcp_pattern(d, sizeof(d), 1);
        REQUIRE(ps_send(sc->n->s, sc->fd, d, sizeof(d), 0) == (ssize_t)sizeof(d));
        settle(sc); /* sent; the peer does not acknowledge it */
        if (!orphan)
            peer_setup(sc, PS_TCP_PSH | PS_TCP_ACK, d, 1000);
    }
    switch (st) {
    case ST_FIN_WAIT_1:
    case ST_FIN_WAIT_2:
    case ST_CLOSING:
    case ST_TIME_WAIT:
        stack_fin(sc, orphan);
        if (st == ST_FIN_WAIT_1)
            break;
        if (st == ST_CLOSING) { /* their FIN crosses ours */
            peer_setup(sc, PS_TCP_FIN | PS_TCP_ACK, NULL, 0);
            break;
        }
        sc->p_ack = p->rcv_nxt; /* everything, our FIN too */
        peer_setup(sc, PS_TCP_ACK, NULL, 0);
        if (st == ST_TIME_WAIT)
            peer_setup(sc, PS_TCP_FIN | PS_TCP_ACK, NULL, 0);
        break;
    case ST_CLOSE_WAIT:
    case ST_LAST_ACK:
        peer_setup(sc, PS_TCP_FIN | PS_TCP_ACK, NULL, 0);
        if (st == ST_LAST_ACK)
            stack_fin(sc, orphan);
        break;
    default:
        break;
    }
    const char *now = peer_state(p);
    if (!now || strcmp(now, state_names[st]) != 0) {
        fprintf(stderr, "set-up of %s (byte 0x%02x) reached %s\n", state_names[st], b0, now ? now : "nothing");
        abort();
    }
    fc_setup_ok();
}

/* ---- the records ------------------------------------------------------------------------------ */

/* The options of a record: [timestamp] + the given bytes with SACK edges
 * made absolute; EOL-padded to a multiple of 4.  Returns their length. */
static size_t build_options(struct scene *sc, uint8_t *o, bool ts, const uint8_t *raw, size_t rlen,
                            uint32_t una)
{
    size_t k = 0;
    if (ts) {
        o[k++] = PS_TCPOPT_NOP;
        o[k++] = PS_TCPOPT_NOP;
        o[k++] = PS_TCPOPT_TIMESTAMP;
        o[k++] = 10;
        ps_put32(o + k, sc->p.tsval++);
        ps_put32(o + k + 4, sc->p.ts_recent);
        k += 8;
    }
    if (rlen > PS_TCP_MAX_HLEN - PS_TCP_HLEN - k)
        rlen = PS_TCP_MAX_HLEN - PS_TCP_HLEN - k;
    memcpy(o + k, raw, rlen);
    for (size_t i = k; i + 1 < k + rlen;) { /* walk the options to find SACK blocks */
        uint8_t kind = o[i], len = o[i + 1];
        if (kind == PS_TCPOPT_EOL)
            break;
        if (kind == PS_TCPOPT_NOP) {
            i++;
            continue;
        }
        if (len < 2)
            break;
        if (kind == PS_TCPOPT_SACK)
            for (size_t e = i + 2; e + 4 <= i + len && e + 4 <= k + rlen; e += 4)
                ps_put32(o + e, una + ps_get32(o + e));
        i += len;
    }
    k += rlen;
    while (k % 4)
        o[k++] = PS_TCPOPT_EOL;
    return k;
}

static void send_record(struct scene *sc, uint8_t ctl, uint8_t flags, uint16_t dseq, uint16_t dack, uint16_t win,
                        const uint8_t *raw, size_t rlen, const uint8_t *data, size_t dlen)
{
    struct tcp_peer *p = &sc->p;
    const struct ps_tcb *tcb = fc_tcb(p);
    uint32_t rcv = p->una, una = p->rcv_nxt; /* what the peer saw, without a block */
    if (tcb) {
        rcv = tcb->state == PS_TCPS_SYN_SENT ? p->snd_nxt : tcb->rcv_nxt;
        una = tcb->snd_una;
    }
    uint32_t seq = rcv + (uint32_t)(int32_t)(int16_t)dseq, ack = una + (uint32_t)(int32_t)(int16_t)dack;
    static uint8_t seg[PS_TCP_MAX_HLEN + MAX_DATA], f[FRAME_MAX];
    size_t olen = build_options(sc, seg + PS_TCP_HLEN, ctl & 0x20, raw, rlen, una);
    size_t hlen = PS_TCP_HLEN + olen;
    uint16_t sport = (ctl & 0x80) ? (uint16_t)(p->port + 1) : p->port;
    ps_put16(seg, sport);
    ps_put16(seg + 2, p->us_port);
    ps_put32(seg + 4, seq);
    ps_put32(seg + 8, ack);
    seg[12] = (uint8_t)(hlen / 4 << 4);
    seg[13] = flags;
    ps_put16(seg + 14, win);
    ps_put16(seg + 16, 0);
    ps_put16(seg + 18, 0);
    memcpy(seg + hlen, data, dlen);
    uint16_t c = ps_cksum_finish(ps_cksum_add(ps_cksum_pseudo(p->ip, p->us, PS_IP_PROTO_TCP, (uint16_t)(hlen + dlen)),
                                              seg, hlen + dlen));
    ps_put16(seg + 16, (ctl & 0x40) ? (uint16_t)(c ^ 0x0100) : c);
    struct ps_ipv4_hdr ih = ip_hdr(p->ip, p->us, PS_IP_PROTO_TCP);
    ih.df = true;
    if (sc->trace) {
        char fl[12];
        fprintf(stderr, "  %8llu ms  peer:  %s seq=%08x ack=%08x win=%u len=%zu opts=%zu%s%s (RCV.NXT %08x, SND.UNA %08x)\n",
                (unsigned long long)(sc->n->now / 1000), tcp_flags_str(flags, fl), seq, ack, win, dlen, olen,
                (ctl & 0x40) ? " bad-cksum" : "", (ctl & 0x80) ? " stranger" : "", rcv, una);
    }
    net_input(sc->n, sc->n->eth0, f, frame_ip(f, MAC_US, MAC_PEER, &ih, seg, hlen + dlen));
    if (!(ctl & 0xc0))
        sent_upto(sc, seq + (uint32_t)dlen + ((flags & PS_TCP_SYN) ? 1u : 0u) + ((flags & PS_TCP_FIN) ? 1u : 0u));
}

static void app_call(struct scene *sc, unsigned what, uint8_t flags, size_t dlen)
{
    struct ps_stack *s = sc->n->s;
    if (what == 1) {
        if (sc->fd < 0 && sc->lfd >= 0) {
            struct ps_sockaddr_in from;
            int fd = ps_accept(s, sc->lfd, &from);
            if (fd >= 0)
                sc->fd = fd;
        }
        app_read_all(sc);
    } else if (sc->fd < 0) {
        return;
    } else if (what == 2) {
        static uint8_t d[MAX_DATA];
        tcp_pattern(d, dlen, (uint32_t)sc->n->now);
        ps_send(s, sc->fd, d, dlen, 0);
    } else if (flags & 1) {
        if (flags & 2) {
            struct ps_linger l = {1, 0};
            ps_setsockopt(s, sc->fd, PS_SOL_SOCKET, PS_SO_LINGER, &l, sizeof(l));
        }
        ps_close(s, sc->fd);
        sc->fd = -1;
    } else {
        ps_shutdown(s, sc->fd, (flags >> 2 & 3) % 3);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct ps_config cfg;
    fc_config(&cfg);
    static struct scene sc;
    memset(&sc, 0, sizeof(sc));
    sc.trace = getenv("FUZZ_TRACE") != NULL;
    sc.lfd = sc.fd = -1;
    sc.n = fc_net(&cfg);
    if (setjmp(t_jmp)) {
        fprintf(stderr, "fuzz set-up failed (scene byte 0x%02x)\n", data[0]);
        abort();
    }
    set_scene(&sc, data[0]);

    struct fuzz_in in = {data + 1, size - 1};
    while (in.n >= REC_HDR) {
        uint8_t ctl = fuzz_u8(&in), flags = fuzz_u8(&in);
        uint16_t dseq = fuzz_u16(&in), dack = fuzz_u16(&in), win = fuzz_u16(&in);
        size_t olen = fuzz_u8(&in), rlen, dgot;
        uint16_t dl = fuzz_u16(&in);
        size_t dlen = dl & 0x7ff;
        if (dlen > MAX_DATA)
            dlen = MAX_DATA;
        const uint8_t *raw = fuzz_bytes(&in, olen, &rlen);
        static uint8_t pattern[MAX_DATA];
        const uint8_t *d = pattern;
        if (dl & 0x8000) {
            tcp_pattern(pattern, dlen, dseq);
        } else {
            d = fuzz_bytes(&in, dlen, &dgot);
            dlen = dgot;
        }
        fc_advance(sc.n, (ps_time_t)fuzz_step_us(ctl));
        unsigned what = ctl >> 3 & 3;
        if (sc.trace && what)
            fprintf(stderr, "  %8llu ms  app:   %s (flags %02x, %zu bytes)\n", (unsigned long long)(sc.n->now / 1000),
                    what == 1 ? "read" : what == 2 ? "write" : "close/shutdown", flags, dlen);
        if (what == 0)
            send_record(&sc, ctl, flags, dseq, dack, win, raw, rlen, d, dlen);
        else
            app_call(&sc, what, flags, dlen);
        settle(&sc);
        fuzz_check_stack(sc.n->s);
    }

    if (sc.fd >= 0)
        ps_close(sc.n->s, sc.fd);
    if (sc.lfd >= 0)
        ps_close(sc.n->s, sc.lfd);
    fc_finish(sc.n);
    return 0;
}
