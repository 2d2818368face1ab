/*
 * Compact TIME_WAIT records (src/transport/tcp_timewait.c).
 *
 * Host a (192.0.2.1) and host b (192.0.2.2) on a simulated link; b also
 * has a "probe" interface (198.51.100.1/24) whose frames the test writes
 * and reads itself, so a hand-made peer at 198.51.100.50 can send exactly
 * the segments a case needs (retransmitted FINs, old and new SYNs, RSTs)
 * and see b's answers.
 *
 *   - a record is created on an active close (socket entry and buffers
 *     gone at once), listed as TIME-WAIT with fd -1, and expires at 2*MSL;
 *     a socket closed while in TIME_WAIT hands over to a record keeping
 *     its deadline;
 *   - the pool is bounded: the oldest goes first, counted;
 *   - a retransmitted FIN is re-ACKed and restarts 2*MSL;
 *   - reopen: a SYN with a newer timestamp (or, without timestamps, a
 *     higher sequence number) reopens the quadruple, the new ISS above the
 *     old SND.NXT; an older one gets an ACK and the record stays; a RST
 *     exactly at RCV.NXT ends it, another is ignored;
 *   - connect() over a record: refused without timestamps or within 1 s
 *     of the peer's last one, allowed after, continuing above the old
 *     sequence numbers and timestamps;
 *   - 10,000 connections opened and closed leave no socket, buffer, port
 *     or record behind after 2*MSL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "core/stack_impl.h"
#include "socket/sockets.h"
#include "tcp_sim.h"
#include "transport/tcp.h"

#define T0 PS_SEC(100)
#define PORT 7070
#define MSL PS_MS(PS_DEFAULT_TCP_MSL_MS)
#define LWIP_TCP_PCB_BYTES 216 /* lwIP 2.1's struct tcp_pcb on IPv4, 64-bit */

/* a and b (two_hosts.h); what b sends out of its probe interface
 * (tests/tcp_sim.h). */
static struct hand_probe probe;

static const struct ps_sim_impair wire = {.delay = PS_MS(1)};

static bool world_new_cfg(struct two_hosts *w, const struct ps_config *ca, const struct ps_config *cb)
{
    return two_hosts_new_at(w, 99, T0, ca, cb, &wire) && hand_probe_attach(&probe, w, 0);
}

static bool world_new(struct two_hosts *w)
{
    return two_hosts_new_seeded(w, 99, T0, 31, 32, &wire) && hand_probe_attach(&probe, w, 0);
}

static void world_free(struct two_hosts *w)
{
    ps_sim_run_for(w->sim, 2 * MSL + PS_SEC(200));
    CHECK_EQ(ps_tcp_tw_count(w->a), 0);
    CHECK_EQ(ps_tcp_tw_count(w->b), 0);
    CHECK_POOLS_FULL(w->a);
    CHECK_POOLS_FULL(w->b);
    two_hosts_free(w);
}

/* Entries of the socket table in use (hidden ones included). */
static unsigned s_nused(struct ps_stack *s)
{
    return s->sockets->nused;
}

/* ---- the table as ss sees it ------------------------------------------------------------- */

struct census {
    unsigned tw, live, tw_fd_not_minus1;
    struct ps_sockaddr_in local, peer; /* the quadruple to look for, port 0: any */
    unsigned match;
};

static int census_cb(void *ctx, const struct ps_sock_info *i)
{
    struct census *c = ctx;
    if (i->type != PS_SOCK_STREAM)
        return 0;
    if (strcmp(i->state, "TIME-WAIT") == 0) {
        c->tw++;
        if (i->fd != -1)
            c->tw_fd_not_minus1++;
        if (c->local.port && i->local.port == c->local.port && i->local.addr == c->local.addr &&
            i->peer.port == c->peer.port && i->peer.addr == c->peer.addr)
            c->match++;
    } else {
        c->live++;
    }
    return 0;
}

static struct census census(struct ps_stack *s, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr, uint16_t rport)
{
    struct census c;
    memset(&c, 0, sizeof(c));
    c.local.addr = laddr;
    c.local.port = lport;
    c.peer.addr = raddr;
    c.peer.port = rport;
    ps_socket_foreach(s, census_cb, &c);
    return c;
}

/* ---- real connections between a and b ----------------------------------------------------- */

/* An established pair: cfd on a, afd on b. */
static bool pair(struct two_hosts *w, int lfd, int *cfd, int *afd)
{
    *cfd = ps_socket(w->a, PS_SOCK_STREAM);
    struct ps_sockaddr_in to = {.addr = IP_B, .port = PORT};
    int rc = ps_connect(w->a, *cfd, &to);
    if (rc != -EINPROGRESS && rc != 0)
        return false;
    ps_sim_run_for(w->sim, PS_MS(5));
    *afd = ps_accept(w->b, lfd, NULL);
    return *afd >= 0;
}

TEST(record_replaces_socket_and_expires)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    size_t rec = ps_tcp_tw_record_size();
    fprintf(stderr, "  TIME_WAIT record: %zu bytes (struct ps_tcb: %zu; lwIP tcp_pcb: %d)\n", rec,
            sizeof(struct ps_tcb), LWIP_TCP_PCB_BYTES);
    CHECK(rec <= LWIP_TCP_PCB_BYTES / 2);
    int lfd = stream_listener(w.b, PORT, 8), cfd, afd;
    REQUIRE(lfd >= 0);
    REQUIRE(pair(&w, lfd, &cfd, &afd));
    struct ps_sockaddr_in cl;
    REQUIRE(ps_getsockname(w.a, cfd, &cl) == 0);
    CHECK_EQ(ps_send(w.a, cfd, "abc", 3, 0), 3);
    CHECK_EQ(ps_close(w.a, cfd), 0); /* a closes first: a keeps TIME_WAIT */
    ps_sim_run_for(w.sim, PS_MS(10));
    char buf[8];
    CHECK_EQ(ps_recv(w.b, afd, buf, sizeof(buf), 0), 3);
    CHECK_EQ(ps_recv(w.b, afd, buf, sizeof(buf), 0), 0);
    CHECK_EQ(ps_close(w.b, afd), 0);
    ps_sim_run_for(w.sim, PS_MS(10));
    ps_time_t t_tw = ps_sim_now(w.sim);
    CHECK_EQ(ps_tcp_tw_count(w.a), 1);
    CHECK_EQ(stat_of(w.a, "tcp_timewait"), 1);
    struct census c = census(w.a, cl.addr, cl.port, IP_B, PORT);
    CHECK_EQ(c.tw, 1);
    CHECK_EQ(c.match, 1);
    CHECK_EQ(c.tw_fd_not_minus1, 0);
    CHECK_EQ(c.live, 0);                      /* the socket entry is gone ... */
    CHECK_EQ(s_nused(w.a), 0);                /* ... from the table itself */
    CHECK_EQ(ps_ports_in_use(w.a, PS_IP_PROTO_TCP), 1); /* the record holds the port */
    /* The port stays taken for a plain bind (the bind rules see it). */
    int fd2 = ps_socket(w.a, PS_SOCK_STREAM);
    struct ps_sockaddr_in same = {.addr = 0, .port = cl.port};
    CHECK_EQ(ps_bind(w.a, fd2, &same), -EADDRINUSE);
    ps_close(w.a, fd2);
    CHECK_SS_LISTS(w.a, "TIME-WAIT"); /* the ss printout lists it */
    ps_sim_run_until(w.sim, t_tw + 2 * MSL - PS_SEC(1));
    CHECK_EQ(ps_tcp_tw_count(w.a), 1);
    ps_sim_run_until(w.sim, t_tw + 2 * MSL + PS_SEC(1));
    CHECK_EQ(ps_tcp_tw_count(w.a), 0);
    CHECK_EQ(stat_of(w.a, "tcp_timewait_expired"), 1);
    CHECK_EQ(ps_ports_in_use(w.a, PS_IP_PROTO_TCP), 0);
    CHECK_EQ(census(w.a, 0, 0, 0, 0).tw, 0);

    /* A socket still open in TIME_WAIT keeps its block; closing it hands
     * over to a record that keeps the deadline. */
    REQUIRE(pair(&w, lfd, &cfd, &afd));
    CHECK_EQ(ps_shutdown(w.a, cfd, PS_SHUT_WR), 0);
    ps_sim_run_for(w.sim, PS_MS(10));
    CHECK_EQ(ps_close(w.b, afd), 0);
    ps_sim_run_for(w.sim, PS_MS(10));
    t_tw = ps_sim_now(w.sim);
    CHECK_EQ(ps_tcp_tw_count(w.a), 0);
    CHECK_EQ(census(w.a, 0, 0, 0, 0).tw, 1); /* the socket, in TIME-WAIT */
    ps_sim_run_for(w.sim, PS_SEC(20));
    CHECK_EQ(ps_close(w.a, cfd), 0);
    CHECK_EQ(ps_tcp_tw_count(w.a), 1);
    c = census(w.a, 0, 0, 0, 0);
    CHECK_EQ(c.tw, 1);
    CHECK_EQ(c.tw_fd_not_minus1, 0);
    CHECK_EQ(s_nused(w.a), 0);
    ps_sim_run_until(w.sim, t_tw + 2 * MSL - PS_SEC(1));
    CHECK_EQ(ps_tcp_tw_count(w.a), 1);
    ps_sim_run_until(w.sim, t_tw + 2 * MSL + PS_SEC(1));
    CHECK_EQ(ps_tcp_tw_count(w.a), 0);
    ps_close(w.b, lfd);
    world_free(&w);
}

TEST(pool_bounded_oldest_first)
{
    struct two_hosts w;
    struct ps_config ca, cb;
    two_hosts_config(&ca, 41);
    two_hosts_config(&cb, 42);
    ca.tcp_timewait_max = 4;
    REQUIRE(world_new_cfg(&w, &ca, &cb));
    int lfd = stream_listener(w.b, PORT, 8);
    REQUIRE(lfd >= 0);
    uint16_t ports[10];
    for (unsigned i = 0; i < 10; i++) {
        int cfd, afd;
        REQUIRE(pair(&w, lfd, &cfd, &afd));
        struct ps_sockaddr_in cl;
        REQUIRE(ps_getsockname(w.a, cfd, &cl) == 0);
        ports[i] = cl.port;
        ps_close(w.a, cfd);
        ps_sim_run_for(w.sim, PS_MS(5));
        ps_close(w.b, afd);
        ps_sim_run_for(w.sim, PS_MS(5));
        CHECK_EQ(ps_tcp_tw_count(w.a), i < 4 ? i + 1 : 4);
    }
    CHECK_EQ(stat_of(w.a, "tcp_timewait"), 10);
    CHECK_EQ(stat_of(w.a, "tcp_timewait_overflow"), 6);
    for (unsigned i = 0; i < 10; i++)
        CHECK_EQ(census(w.a, IP_A, ports[i], IP_B, PORT).match, i >= 6 ? 1 : 0);
    CHECK_EQ(ps_ports_in_use(w.a, PS_IP_PROTO_TCP), 4);
    ps_close(w.b, lfd);
    world_free(&w);
}

/* ---- a hand-made peer on the probe interface --------------------------------------------- */

struct hand {
    struct two_hosts *w;
    uint16_t sport;
    bool ts;
    uint32_t snd_nxt;   /* the hand peer's next sequence number */
    uint32_t rcv_nxt;   /* what it has received from b */
    uint32_t tsval, ts_recent;
};

/* Send a segment from the hand peer (seq given), capture b's answers. */
static void hand_send(struct hand *h, uint32_t seq, uint8_t flags, uint32_t tsval)
{
    struct ps_tcp_hdr th = {.sport = h->sport, .dport = PORT, .seq = seq, .flags = flags, .window = 8192};
    if (flags & PS_TCP_ACK)
        th.ack = h->rcv_nxt;
    if (h->ts) {
        th.opt.has_timestamp = true;
        th.opt.tsval = tsval;
        th.opt.tsecr = (flags & PS_TCP_ACK) ? h->ts_recent : 0;
    }
    if ((flags & PS_TCP_SYN) && !(flags & PS_TCP_ACK)) {
        th.opt.has_mss = true;
        th.opt.mss = 1460;
    }
    hand_exchange(&probe, &th, NULL, 0);
}

/* A connection from the hand peer to b's listener; b closes first, so b
 * keeps TIME_WAIT.  Returns false if any step failed. */
static bool hand_to_timewait(struct hand *h, int lfd, uint32_t isn)
{
    struct two_hosts *w = h->w;
    unsigned records = ps_tcp_tw_count(w->b);
    h->snd_nxt = isn;
    h->tsval += 10;
    hand_send(h, h->snd_nxt, PS_TCP_SYN, h->tsval);
    const struct hand_seg *sa = hand_last_with(&probe, PS_TCP_SYN | PS_TCP_ACK);
    if (!sa)
        return false;
    h->snd_nxt++;
    h->rcv_nxt = sa->th.seq + 1;
    h->ts_recent = sa->th.opt.tsval;
    h->tsval += 10;
    hand_send(h, h->snd_nxt, PS_TCP_ACK, h->tsval);
    int afd = ps_accept(w->b, lfd, NULL);
    if (afd < 0)
        return false;
    probe.ncap = 0;
    ps_close(w->b, afd); /* b's FIN */
    ps_sim_run_for(w->sim, PS_MS(1));
    const struct hand_seg *fin = hand_last_with(&probe, PS_TCP_FIN);
    if (!fin)
        return false;
    h->rcv_nxt = fin->th.seq + 1;
    h->ts_recent = fin->th.opt.tsval;
    h->tsval += 10;
    hand_send(h, h->snd_nxt, PS_TCP_ACK | PS_TCP_FIN, h->tsval); /* ACK b's FIN, and ours */
    h->snd_nxt++;
    const struct hand_seg *ack = hand_last_with(&probe, PS_TCP_ACK);
    return ack && ack->th.ack == h->snd_nxt && ps_tcp_tw_count(w->b) == records + 1;
}

TEST(fin_retransmission_reacked)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int lfd = stream_listener(w.b, PORT, 8);
    REQUIRE(lfd >= 0);
    struct hand h = {.w = &w, .sport = 41000, .ts = true, .tsval = 1000};
    REQUIRE(hand_to_timewait(&h, lfd, 100000));
    ps_time_t t_tw = ps_sim_now(w.sim);
    long long acks = stat_of(w.b, "tcp_timewait_acks");
    /* Our ACK was "lost": the FIN comes again 50 s later. */
    ps_sim_run_for(w.sim, PS_SEC(50));
    h.tsval += 50000;
    hand_send(&h, h.snd_nxt - 1, PS_TCP_ACK | PS_TCP_FIN, h.tsval);
    const struct hand_seg *a = hand_last_with(&probe, PS_TCP_ACK);
    REQUIRE(a);
    CHECK_EQ(a->th.ack, h.snd_nxt);
    CHECK_EQ(a->th.seq, h.rcv_nxt);
    CHECK(a->th.opt.has_timestamp);
    CHECK_EQ(a->th.opt.tsecr, h.tsval);
    CHECK_EQ(stat_of(w.b, "tcp_timewait_acks"), acks + 1);
    /* 2*MSL restarted: still there past the first deadline. */
    ps_sim_run_until(w.sim, t_tw + 2 * MSL + PS_SEC(10));
    CHECK_EQ(ps_tcp_tw_count(w.b), 1);
    ps_sim_run_until(w.sim, t_tw + PS_SEC(50) + 2 * MSL + PS_SEC(1));
    CHECK_EQ(ps_tcp_tw_count(w.b), 0);
    /* A bare ACK in order is dropped silently; data earns an ACK. */
    struct hand h2 = {.w = &w, .sport = 41001, .ts = true, .tsval = 5000};
    REQUIRE(hand_to_timewait(&h2, lfd, 300000));
    h2.tsval += 10;
    hand_send(&h2, h2.snd_nxt, PS_TCP_ACK, h2.tsval);
    CHECK_EQ(probe.ncap, 0);
    CHECK_EQ(stat_of(w.b, "tcp_timewait_drop"), 1);
    ps_close(w.b, lfd);
    world_free(&w);
}

TEST(reopen_rules)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int lfd = stream_listener(w.b, PORT, 8);
    REQUIRE(lfd >= 0);

    /* With timestamps: an older TSval is refused (ACK), a newer one reopens. */
    struct hand h = {.w = &w, .sport = 42000, .ts = true, .tsval = 1000};
    REQUIRE(hand_to_timewait(&h, lfd, 500000));
    uint32_t b_old_nxt = h.rcv_nxt; /* b's SND.NXT */
    hand_send(&h, h.snd_nxt + 1000, PS_TCP_SYN, h.tsval - 100); /* higher seq, older TS */
    const struct hand_seg *r = hand_last_with(&probe, PS_TCP_ACK);
    REQUIRE(r);
    CHECK(!(r->th.flags & PS_TCP_SYN));
    CHECK_EQ(r->th.ack, h.snd_nxt);
    CHECK_EQ(ps_tcp_tw_count(w.b), 1);
    h.tsval += 10;
    hand_send(&h, h.snd_nxt - 5000, PS_TCP_SYN, h.tsval); /* lower seq, newer TS */
    r = hand_last_with(&probe, PS_TCP_SYN | PS_TCP_ACK);
    REQUIRE(r);
    CHECK_EQ(r->th.ack, h.snd_nxt - 5000 + 1);
    CHECK_EQ(r->th.seq, b_old_nxt + 65535 + 2); /* above the old sequence space */
    CHECK_EQ(ps_tcp_tw_count(w.b), 0);
    CHECK_EQ(stat_of(w.b, "tcp_timewait_reopen"), 1);
    /* Complete it: the new connection is accepted. */
    h.snd_nxt = h.snd_nxt - 5000 + 1;
    h.rcv_nxt = r->th.seq + 1;
    h.ts_recent = r->th.opt.tsval;
    h.tsval += 10;
    hand_send(&h, h.snd_nxt, PS_TCP_ACK, h.tsval);
    int afd = ps_accept(w.b, lfd, NULL);
    CHECK(afd >= 0);
    ps_close(w.b, afd);
    ps_sim_run_for(w.sim, PS_MS(10));

    /* Without timestamps: only a higher sequence number reopens. */
    struct hand n = {.w = &w, .sport = 42001, .ts = false};
    REQUIRE(hand_to_timewait(&n, lfd, 700000));
    hand_send(&n, n.snd_nxt - 10, PS_TCP_SYN, 0);
    r = hand_last_with(&probe, PS_TCP_ACK);
    REQUIRE(r);
    CHECK(!(r->th.flags & PS_TCP_SYN));
    CHECK_EQ(ps_tcp_tw_count(w.b), 1);
    hand_send(&n, n.snd_nxt + 100000, PS_TCP_SYN, 0);
    r = hand_last_with(&probe, PS_TCP_SYN | PS_TCP_ACK);
    CHECK(r != NULL);
    CHECK_EQ(ps_tcp_tw_count(w.b), 0);
    CHECK_EQ(stat_of(w.b, "tcp_timewait_reopen"), 2);
    /* (That half-open child times out by itself.) */

    /* RST: ignored unless exactly at RCV.NXT, which ends the record. */
    struct hand q = {.w = &w, .sport = 42002, .ts = true, .tsval = 9000};
    REQUIRE(hand_to_timewait(&q, lfd, 900000));
    hand_send(&q, q.snd_nxt + 1, PS_TCP_RST, 0);
    CHECK_EQ(ps_tcp_tw_count(w.b), 1);
    CHECK_EQ(stat_of(w.b, "tcp_timewait_rst"), 0);
    hand_send(&q, q.snd_nxt, PS_TCP_RST, 0);
    CHECK_EQ(ps_tcp_tw_count(w.b), 0);
    CHECK_EQ(stat_of(w.b, "tcp_timewait_rst"), 1);
    ps_close(w.b, lfd);
    world_free(&w);
}

/* connect() from b's port PORT to the hand peer, over b's record. */
static int connect_over(struct two_hosts *w, uint16_t rport)
{
    int fd = ps_socket(w->b, PS_SOCK_STREAM);
    int one = 1;
    ps_setsockopt(w->b, fd, PS_SOL_SOCKET, PS_SO_REUSEADDR, &one, sizeof(one));
    struct ps_sockaddr_in me = {.addr = IP_PROBE_B, .port = PORT};
    struct ps_sockaddr_in to = {.addr = IP_HAND, .port = rport};
    int rc = ps_bind(w->b, fd, &me);
    if (rc != 0) {
        ps_close(w->b, fd);
        return rc;
    }
    probe.ncap = 0;
    rc = ps_connect(w->b, fd, &to);
    ps_sim_run_for(w->sim, PS_MS(1));
    ps_close(w->b, fd);
    return rc;
}

TEST(connect_reuse_only_when_safe)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int lfd = stream_listener(w.b, PORT, 8);
    REQUIRE(lfd >= 0);
    struct hand h = {.w = &w, .sport = 43000, .ts = true, .tsval = 1000};
    REQUIRE(hand_to_timewait(&h, lfd, 1000000));
    struct hand n = {.w = &w, .sport = 43001, .ts = false};
    REQUIRE(hand_to_timewait(&n, lfd, 2000000));
    ps_close(w.b, lfd); /* so PORT holds only the two records */
    uint32_t b_old_nxt = h.rcv_nxt;
    uint32_t b_old_ts = h.ts_recent;

    /* Too soon after the peer's last timestamp. */
    CHECK_EQ(connect_over(&w, 43000), -EADDRINUSE);
    CHECK_EQ(stat_of(w.b, "tcp_timewait_reuse_unsafe"), 1);
    /* Without timestamps, never. */
    ps_sim_run_for(w.sim, PS_SEC(2));
    CHECK_EQ(connect_over(&w, 43001), -EADDRINUSE);
    CHECK_EQ(stat_of(w.b, "tcp_timewait_reuse_unsafe"), 2);
    CHECK_EQ(ps_tcp_tw_count(w.b), 2);
    /* With timestamps, a second later: the SYN goes out above the old
     * sequence numbers and timestamps. */
    CHECK_EQ(connect_over(&w, 43000), -EINPROGRESS);
    CHECK_EQ(stat_of(w.b, "tcp_timewait_reuse"), 1);
    CHECK_EQ(ps_tcp_tw_count(w.b), 1);
    const struct hand_seg *syn = hand_last_with(&probe, PS_TCP_SYN);
    REQUIRE(syn);
    CHECK_EQ(syn->th.seq, b_old_nxt + 65535 + 2);
    CHECK(syn->th.opt.has_timestamp);
    CHECK((int32_t)(syn->th.opt.tsval - b_old_ts) > 0);
    world_free(&w);
}

struct accept_all {
    struct ps_stack *s;
    int lfd, *fd;
    unsigned n, got;
};

static bool all_accepted(void *ctx)
{
    struct accept_all *a = ctx;
    while (a->got < a->n) {
        int fd = ps_accept(a->s, a->lfd, NULL);
        if (fd < 0)
            break;
        a->fd[a->got++] = fd;
    }
    return a->got == a->n;
}

TEST(ten_thousand_connections_leave_nothing)
{
    struct two_hosts w;
    REQUIRE(world_new(&w));
    int lfd = stream_listener(w.b, PORT, 128);
    REQUIRE(lfd >= 0);
    enum { TOTAL = 10000, BATCH = 50 };
    unsigned opened = 0, closed = 0;
    int cfd[BATCH], afd[BATCH];
    while (opened < TOTAL) {
        unsigned n = 0;
        for (; n < BATCH && opened < TOTAL; n++, opened++) {
            cfd[n] = ps_socket(w.a, PS_SOCK_STREAM);
            REQUIRE(cfd[n] >= 0);
            struct ps_sockaddr_in to = {.addr = IP_B, .port = PORT};
            int rc = ps_connect(w.a, cfd[n], &to);
            REQUIRE(rc == -EINPROGRESS || rc == 0);
        }
        /* (The first batch waits for ARP: a few SYNs are held, the rest
         * come again after the RTO.) */
        struct accept_all aa = {.s = w.b, .lfd = lfd, .fd = afd, .n = n};
        REQUIRE(ps_sim_run_while_not(w.sim, all_accepted, &aa, ps_sim_now(w.sim) + PS_SEC(10)));
        /* Alternate which side closes first, so both keep records. */
        bool a_first = (opened / BATCH) % 2 == 0;
        for (unsigned i = 0; i < n; i++)
            ps_close(a_first ? w.a : w.b, a_first ? cfd[i] : afd[i]);
        ps_sim_run_for(w.sim, PS_MS(5));
        for (unsigned i = 0; i < n; i++, closed++)
            ps_close(a_first ? w.b : w.a, a_first ? afd[i] : cfd[i]);
        ps_sim_run_for(w.sim, PS_MS(5));
    }
    CHECK_EQ(closed, TOTAL);
    CHECK_EQ(stat_of(w.a, "tcp_conn_active"), TOTAL);
    CHECK_EQ(stat_of(w.b, "tcp_conn_passive"), TOTAL);
    CHECK_EQ(stat_of(w.a, "tcp_timewait") + stat_of(w.b, "tcp_timewait"), TOTAL);
    fprintf(stderr, "  records: a %u, b %u; dropped early a %lld, b %lld\n", ps_tcp_tw_count(w.a),
            ps_tcp_tw_count(w.b), stat_of(w.a, "tcp_timewait_overflow"),
            stat_of(w.b, "tcp_timewait_overflow"));
    CHECK(ps_tcp_tw_count(w.a) <= PS_DEFAULT_TCP_TIMEWAIT_MAX);
    CHECK(ps_tcp_tw_count(w.b) <= PS_DEFAULT_TCP_TIMEWAIT_MAX);
    CHECK_EQ(s_nused(w.a), 0);
    CHECK_EQ(s_nused(w.b), 1); /* the listener */
    ps_sim_run_for(w.sim, 2 * MSL + PS_SEC(5));
    CHECK_EQ(ps_tcp_tw_count(w.a), 0);
    CHECK_EQ(ps_tcp_tw_count(w.b), 0);
    CHECK_EQ(ps_ports_in_use(w.a, PS_IP_PROTO_TCP), 0);
    CHECK_EQ(ps_ports_in_use(w.b, PS_IP_PROTO_TCP), 1);
    CHECK_EQ(census(w.a, 0, 0, 0, 0).tw + census(w.a, 0, 0, 0, 0).live, 0);
    CHECK_EQ(census(w.b, 0, 0, 0, 0).live, 1);
    CHECK_POOLS_FULL(w.a);
    CHECK_POOLS_FULL(w.b);
    ps_close(w.b, lfd);
    CHECK_EQ(s_nused(w.b), 0);
    world_free(&w);
}

int main(void)
{
    RUN(record_replaces_socket_and_expires);
    RUN(pool_bounded_oldest_first);
    RUN(fin_retransmission_reacked);
    RUN(reopen_rules);
    RUN(connect_reuse_only_when_safe);
    RUN(ten_thousand_connections_leave_nothing);
    TEST_END();
}
