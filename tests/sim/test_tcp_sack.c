/*
 * SACK (RFC 2018) and SACK-based loss recovery (RFC 6675, with PRR, RFC
 * 6937), and NewReno (RFC 6582) for a peer without SACK.
 *
 * The scripted cases run two stacks over a wire of the test's own (an
 * interface transmit function and a poller of the simulated world), which
 * drops chosen data segments of a's first transmission and can rewrite the
 * SACK blocks of b's ACKs; every frame is parsed with ps_tcp_parse, so the
 * test sees the options negotiated and the blocks sent.  Assertions are on
 * counts (segments retransmitted == segments dropped, no timeout), never on
 * timing.  Then byte-exact transfers over the simulated link at 1, 5 and
 * 10% loss with reordering and duplication, for several seeds, with SACK
 * and with it off on one side.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>
#include <portstack/wire.h>

#include "tcp_sim.h"

#define T0 PS_SEC(100)
#define PORT 5001
#define DELAY PS_US(500) /* one way: RTT 1 ms */
#define TICK PS_US(20)

/* A counter by name; one the stack does not have fails the test. */
static long long stat_named(struct ps_stack *s, const char *name)
{
    long long v = stat_of(s, name);
    if (v < 0)
        T_FAIL("no counter %s", name);
    return v;
}

static uint8_t byte_at(uint64_t pos)
{
    uint64_t x = pos * 0x9e3779b97f4a7c15ULL;
    return (uint8_t)(x >> 56 ^ x >> 29);
}

/* ---- the scripted wire -------------------------------------------------------------- */

struct frame {
    ps_time_t at;
    bool to_b;
    size_t len;
    uint8_t data[1600];
};

enum mangle { M_NONE, M_RENEGE, M_GARBAGE };

struct wire {
    struct ps_sim *sim;
    struct ps_stack *a, *b;
    struct ps_iface *ia, *ib;
    struct frame *q;
    unsigned qn, qcap;
    /* a's data segments: drop the first transmission of these indexes
     * ((seq - ISS - 1) / segment size, counted on the first data segment's
     * size). */
    unsigned drop_idx[64], ndrop;
    unsigned dropped, rexmits; /* seen by the wire */
    uint32_t a_iss, seg, high; /* high: highest end a sent */
    bool a_iss_known;
    bool syn_sack_a, syn_sack_b; /* SACK-permitted in a's SYN, b's SYN-ACK */
    unsigned acks_with_sack, bad_blocks_seen;
    enum mangle mangle;
    unsigned mangled;
};

static struct wire *W;

static bool is_dropped(struct wire *w, unsigned idx)
{
    for (unsigned i = 0; i < w->ndrop; i++)
        if (w->drop_idx[i] == idx)
            return true;
    return false;
}

/* Parse an Ethernet/IPv4/TCP frame; false if it is something else. */
static bool parse(uint8_t *f, size_t len, struct ps_tcp_hdr *h, uint8_t **tcp, size_t *tcplen, size_t *dlen)
{
    if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
        return false;
    uint8_t *ip = f + 14;
    if (ip[9] != 6)
        return false;
    size_t ihl = (size_t)(ip[0] & 15) * 4, tot = ((size_t)ip[2] << 8) | ip[3];
    if (tot > len - 14 || tot < ihl + 20)
        return false;
    ps_ip4_t src = PS_IP4(ip[12], ip[13], ip[14], ip[15]), dst = PS_IP4(ip[16], ip[17], ip[18], ip[19]);
    int rc = ps_tcp_parse(ip + ihl, tot - ihl, src, dst, h);
    if (rc < 0) {
        T_FAIL("a segment on the wire does not parse: %d", rc);
        return false;
    }
    *tcp = ip + ihl;
    *tcplen = tot - ihl;
    *dlen = tot - ihl - (size_t)rc;
    return true;
}

/* Rewrite b's SACK blocks (same count: the options keep their length). */
static void mangle_ack(struct wire *w, struct ps_tcp_hdr *h, uint8_t *tcp, size_t tcplen)
{
    if (h->opt.sack_count == 0)
        return;
    bool changed = false;
    if (w->mangle == M_RENEGE) {
        /* Segments 30 and 31 are dropped; b SACKs from 32 on.  Claim 31 too:
         * once 30 arrives b ACKs only up to 31, so the sender sees the
         * "SACKed" 31 thrown away. */
        uint32_t s31 = w->a_iss + 1 + 31 * w->seg, s32 = s31 + w->seg;
        for (unsigned i = 0; i < h->opt.sack_count; i++)
            if (h->opt.sack[i].left == s32) {
                h->opt.sack[i].left = s31;
                changed = true;
            }
    } else if (w->mangle == M_GARBAGE) {
        /* Every block replaced by nonsense: beyond anything sent, below
         * the ACK, reversed, straddling the ACK. */
        static const int64_t junk[4][2] = {
            {1 << 30, (1 << 30) + 3000}, {-20000, -10000}, {9000, 3000}, {-3000, 3000}};
        for (unsigned i = 0; i < h->opt.sack_count; i++) {
            unsigned k = (w->mangled + i + 1) % 4;
            h->opt.sack[i].left = h->ack + (uint32_t)junk[k][0];
            h->opt.sack[i].right = h->ack + (uint32_t)junk[k][1];
        }
        changed = true;
    }
    if (!changed)
        return;
    w->mangled++;
    size_t hl = ps_tcp_emit(tcp, h, IP_B, IP_A, 0);
    CHECK_EQ(hl, tcplen);
}

static int wire_tx(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    struct wire *w = ctx;
    bool to_b = ifc == w->ia;
    if (len > sizeof(w->q[0].data))
        return 0;
    if (w->qn == w->qcap) {
        w->qcap = w->qcap ? 2 * w->qcap : 256;
        w->q = realloc(w->q, w->qcap * sizeof(*w->q));
        REQUIRE(w->q);
    }
    struct frame *fr = &w->q[w->qn];
    memcpy(fr->data, frame, len);
    fr->len = len;
    fr->to_b = to_b;
    fr->at = ps_sim_now(w->sim) + DELAY;
    struct ps_tcp_hdr h;
    uint8_t *tcp;
    size_t tcplen, dlen;
    if (parse(fr->data, len, &h, &tcp, &tcplen, &dlen)) {
        if (to_b) {
            if ((h.flags & PS_TCP_SYN) && !(h.flags & PS_TCP_ACK)) {
                w->a_iss = h.seq;
                w->a_iss_known = true;
                w->syn_sack_a = h.opt.sack_permitted;
            }
            if (dlen && w->a_iss_known) {
                if (!w->seg)
                    w->seg = (uint32_t)dlen;
                uint32_t end = h.seq + (uint32_t)dlen;
                bool rexmit = w->high && (int32_t)(end - w->high) <= 0;
                if (rexmit) {
                    w->rexmits++;
                } else {
                    w->high = end;
                    unsigned idx = (h.seq - w->a_iss - 1) / w->seg;
                    if ((h.seq - w->a_iss - 1) % w->seg == 0 && is_dropped(w, idx)) {
                        w->dropped++;
                        return 0; /* lost */
                    }
                }
            }
        } else {
            if ((h.flags & PS_TCP_SYN) && (h.flags & PS_TCP_ACK))
                w->syn_sack_b = h.opt.sack_permitted;
            if (h.opt.sack_count) {
                w->acks_with_sack++;
                for (unsigned i = 0; i < h.opt.sack_count; i++) {
                    /* b's own blocks: above the ACK, not reversed. */
                    uint32_t l = h.opt.sack[i].left, r = h.opt.sack[i].right;
                    bool dsack = i == 0 && (int32_t)(r - h.ack) <= 0;
                    if (!dsack && !((int32_t)(l - h.ack) > 0 && (int32_t)(r - l) > 0))
                        w->bad_blocks_seen++;
                }
            }
            if (w->mangle != M_NONE)
                mangle_ack(w, &h, tcp, tcplen);
        }
    }
    w->qn++;
    return 0;
}

static ps_time_t wire_poll(void *ctx, ps_time_t now)
{
    struct wire *w = ctx;
    /* Deliver in order what is due (the queue is FIFO per direction). */
    unsigned i = 0;
    while (i < w->qn) {
        if (w->q[i].at > now) {
            i++;
            continue;
        }
        struct frame fr = w->q[i];
        memmove(&w->q[i], &w->q[i + 1], (w->qn - i - 1) * sizeof(*w->q));
        w->qn--;
        ps_iface_input(fr.to_b ? w->ib : w->ia, fr.data, fr.len, now);
    }
    return now + TICK;
}

static bool wire_new(struct wire *w, bool sack_a, bool sack_b)
{
    memset(w, 0, sizeof(*w));
    W = w;
    struct ps_config ca, cb;
    ps_config_default(&ca);
    ps_config_default(&cb);
    ca.seed = 11;
    cb.seed = 22;
    ca.tcp_no_sack = !sack_a;
    cb.tcp_no_sack = !sack_b;
    w->sim = ps_sim_new(7, T0);
    w->a = ps_stack_new(&ca, T0);
    w->b = ps_stack_new(&cb, T0);
    if (!w->sim || !w->a || !w->b)
        return false;
    ps_stack_set_name(w->a, "a");
    ps_stack_set_name(w->b, "b");
    ps_mac_t ma = {{2, 0, 0, 0, 0, 1}}, mb = {{2, 0, 0, 0, 0, 2}};
    w->ia = ps_iface_add(w->a, "eth0", &ma, 1500, wire_tx, w);
    w->ib = ps_iface_add(w->b, "eth0", &mb, 1500, wire_tx, w);
    return w->ia && w->ib && ps_iface_add_addr(w->ia, IP_A, 24) == 0 && ps_iface_add_addr(w->ib, IP_B, 24) == 0 &&
           ps_sim_add_stack(w->sim, w->a) == 0 && ps_sim_add_stack(w->sim, w->b) == 0 &&
           ps_sim_add_poller(w->sim, wire_poll, w) == 0;
}

static void wire_free(struct wire *w)
{
    ps_sim_run_for(w->sim, PS_SEC(200)); /* TIME_WAIT and the rest run out */
    ps_stack_free(w->a);
    ps_stack_free(w->b);
    ps_sim_free(w->sim);
    free(w->q);
    W = NULL;
}

/* a sends total bytes to b; b checks every byte.  Returns true when all
 * arrived in order and intact within the time limit. */
static bool send_stream(struct wire *w, uint64_t total)
{
    int lfd = ps_socket(w->b, PS_SOCK_STREAM);
    struct ps_sockaddr_in any = {.addr = 0, .port = PORT}, to = {.addr = IP_B, .port = PORT}, peer;
    REQUIRE(lfd >= 0 && ps_bind(w->b, lfd, &any) == 0 && ps_listen(w->b, lfd, 4) == 0);
    int cfd = ps_socket(w->a, PS_SOCK_STREAM);
    REQUIRE(cfd >= 0);
    int rc = ps_connect(w->a, cfd, &to);
    REQUIRE(rc == 0 || rc == -EINPROGRESS);
    int afd = -1;
    uint64_t sent = 0, rcvd = 0, bad = 0;
    bool shut = false, eof = false;
    uint8_t buf[16384];
    ps_time_t limit = ps_sim_now(w->sim) + PS_SEC(60);
    while (!eof && ps_sim_now(w->sim) < limit) {
        if (afd < 0)
            afd = ps_accept(w->b, lfd, &peer);
        while (sent < total) {
            size_t n = sizeof(buf);
            if (total - sent < n)
                n = (size_t)(total - sent);
            for (size_t i = 0; i < n; i++)
                buf[i] = byte_at(sent + i);
            ssize_t k = ps_send(w->a, cfd, buf, n, 0);
            if (k <= 0)
                break;
            sent += (uint64_t)k;
        }
        if (sent == total && !shut) {
            CHECK_EQ(ps_shutdown(w->a, cfd, PS_SHUT_WR), 0);
            shut = true;
        }
        while (afd >= 0) {
            ssize_t k = ps_recv(w->b, afd, buf, sizeof(buf), 0);
            if (k == 0)
                eof = true;
            if (k <= 0)
                break;
            for (ssize_t i = 0; i < k; i++)
                bad += buf[i] != byte_at(rcvd + (uint64_t)i);
            rcvd += (uint64_t)k;
        }
        ps_sim_run_for(w->sim, PS_US(100));
    }
    CHECK_U64(rcvd, total);
    CHECK_U64(bad, 0);
    CHECK(eof);
    ps_close(w->a, cfd);
    if (afd >= 0)
        ps_close(w->b, afd);
    ps_close(w->b, lfd);
    return eof && rcvd == total && bad == 0;
}

#define KB 1024ull

/* ---- scripted cases ----------------------------------------------------------------- */

TEST(sack_negotiated_single_loss)
{
    struct wire w;
    REQUIRE(wire_new(&w, true, true));
    w.drop_idx[w.ndrop++] = 40;
    CHECK(send_stream(&w, 400 * KB));
    fprintf(stderr, "  dropped %u, wire saw %u retransmissions, %u ACKs with SACK\n", w.dropped, w.rexmits,
            w.acks_with_sack);
    CHECK(w.syn_sack_a);
    CHECK(w.syn_sack_b);
    CHECK_EQ(w.dropped, 1);
    CHECK(w.acks_with_sack >= 3);
    CHECK_EQ(w.bad_blocks_seen, 0);
    CHECK_EQ(w.rexmits, w.dropped);
    CHECK_EQ(stat_named(w.a, "tcp_retransmits"), 1);
    CHECK_EQ(stat_named(w.a, "tcp_sack_retransmits"), 1);
    CHECK_EQ(stat_named(w.a, "tcp_rto_timeouts"), 0);
    CHECK_EQ(stat_named(w.a, "tcp_recovery_episodes"), 1);
    CHECK(stat_named(w.a, "tcp_sack_blocks_rx") >= 3);
    CHECK(stat_named(w.b, "tcp_sack_blocks_tx") >= 3);
    CHECK_EQ(stat_named(w.a, "tcp_sack_blocks_bad"), 0);
    wire_free(&w);
}

TEST(multiple_losses_one_window)
{
    struct wire w;
    REQUIRE(wire_new(&w, true, true));
    /* Five holes in one flight (slow start sends 0-9, 10-29, 30-69, 70-149). */
    unsigned idx[] = {80, 83, 84, 90, 97}; /* all in the flight of segments 70..149 */
    for (unsigned i = 0; i < 5; i++)
        w.drop_idx[w.ndrop++] = idx[i];
    CHECK(send_stream(&w, 600 * KB));
    fprintf(stderr, "  dropped %u, wire saw %u retransmissions, recovery episodes %lld\n", w.dropped, w.rexmits,
            stat_named(w.a, "tcp_recovery_episodes"));
    CHECK_EQ(w.dropped, 5);
    CHECK_EQ(w.rexmits, w.dropped);
    CHECK_EQ(stat_named(w.a, "tcp_retransmits"), 5);
    CHECK_EQ(stat_named(w.a, "tcp_rto_timeouts"), 0);
    CHECK_EQ(stat_named(w.a, "tcp_recovery_episodes"), 1); /* one episode for the window */
    wire_free(&w);
}

/* Twenty holes in one flight, every other segment: more than a small
 * out-of-order table or scoreboard holds.  Every segment the receiver got
 * is kept and reported, so each hole is resent once, and nothing else. */
TEST(many_holes_one_window)
{
    struct wire w;
    REQUIRE(wire_new(&w, true, true));
    for (unsigned i = 30; i < 70; i += 2) /* the flight of segments 30..69 */
        w.drop_idx[w.ndrop++] = i;
    CHECK(send_stream(&w, 600 * KB));
    fprintf(stderr, "  dropped %u, wire saw %u retransmissions, out-of-order drops %lld, D-SACKs %lld\n", w.dropped,
            w.rexmits, stat_named(w.b, "tcp_ooo_drop"), stat_named(w.b, "tcp_dsack_tx"));
    CHECK_EQ(w.dropped, 20);
    CHECK_EQ(w.rexmits, w.dropped);
    CHECK_EQ(stat_named(w.b, "tcp_ooo_drop"), 0);
    CHECK_EQ(stat_named(w.b, "tcp_dsack_tx"), 0); /* nothing arrived twice */
    CHECK_EQ(stat_named(w.a, "tcp_rto_timeouts"), 0);
    CHECK_EQ(stat_named(w.a, "tcp_ranges_nomem") + stat_named(w.b, "tcp_ranges_nomem"), 0);
    wire_free(&w);
}

static void newreno_case(bool sack_a, bool sack_b)
{
    struct wire w;
    REQUIRE(wire_new(&w, sack_a, sack_b));
    w.drop_idx[w.ndrop++] = 40;
    w.drop_idx[w.ndrop++] = 44;
    CHECK(send_stream(&w, 400 * KB));
    fprintf(stderr, "  SACK %s/%s: dropped %u, retransmissions %u, ACKs with SACK %u\n", sack_a ? "on" : "off",
            sack_b ? "on" : "off", w.dropped, w.rexmits, w.acks_with_sack);
    CHECK_EQ(w.syn_sack_a, sack_a);
    CHECK(!w.syn_sack_b); /* b answers SACK-permitted only when both do */
    CHECK_EQ(w.acks_with_sack, 0);
    CHECK_EQ(w.dropped, 2);
    CHECK_EQ(w.rexmits, w.dropped); /* NewReno: the second hole on the partial ACK */
    CHECK_EQ(stat_named(w.a, "tcp_rto_timeouts"), 0);
    CHECK_EQ(stat_named(w.a, "tcp_sack_retransmits"), 0);
    CHECK_EQ(stat_named(w.a, "tcp_recovery_episodes"), 1);
    wire_free(&w);
}

TEST(sack_off_newreno_recovers)
{
    newreno_case(true, false); /* the receiver does not do SACK */
    newreno_case(false, true); /* the sender does not */
}

TEST(reneging_detected)
{
    struct wire w;
    REQUIRE(wire_new(&w, true, true));
    w.drop_idx[w.ndrop++] = 30;
    w.drop_idx[w.ndrop++] = 31;
    w.mangle = M_RENEGE;
    CHECK(send_stream(&w, 400 * KB));
    fprintf(stderr, "  dropped %u, retransmissions %u, ACKs rewritten %u, reneging %lld, RTOs %lld\n", w.dropped,
            w.rexmits, w.mangled, stat_named(w.a, "tcp_sack_reneging"), stat_named(w.a, "tcp_rto_timeouts"));
    CHECK(w.mangled > 0);
    CHECK_EQ(w.dropped, 2);
    CHECK(stat_named(w.a, "tcp_sack_reneging") >= 1);
    CHECK_EQ(w.rexmits, 2); /* 30 from the scoreboard, 31 once the renege shows */
    CHECK_EQ(stat_named(w.a, "tcp_rto_timeouts"), 0);
    wire_free(&w);
}

TEST(garbage_sack_blocks_ignored)
{
    struct wire w;
    REQUIRE(wire_new(&w, true, true));
    w.drop_idx[w.ndrop++] = 40;
    w.drop_idx[w.ndrop++] = 47;
    w.mangle = M_GARBAGE;
    CHECK(send_stream(&w, 400 * KB));
    long long bad = stat_named(w.a, "tcp_sack_blocks_bad"), rx = stat_named(w.a, "tcp_sack_blocks_rx");
    fprintf(stderr, "  dropped %u, retransmissions %u, blocks received %lld, discarded %lld, D-SACK %lld\n",
            w.dropped, w.rexmits, rx, bad, stat_named(w.a, "tcp_dsack_rx"));
    CHECK(w.mangled > 0);
    CHECK(bad > 0);
    /* Each block is either discarded or looked like a D-SACK; none fed
     * the scoreboard, so recovery ran on duplicate ACKs alone and resent
     * exactly the two holes. */
    CHECK_EQ(bad + stat_named(w.a, "tcp_dsack_rx"), rx);
    CHECK_EQ(w.rexmits, w.dropped);
    wire_free(&w);
}

/* ---- lossy transfers on the simulated link -------------------------------------------- */

struct lossy_run {
    struct ps_stack *a, *b;
    int cfd, afd, lfd;
    uint64_t total, sent, rcvd, bad;
    bool shut, eof;
};

static ps_time_t lossy_poll(void *ctx, ps_time_t now)
{
    struct lossy_run *r = ctx;
    uint8_t buf[16384];
    struct ps_sockaddr_in peer;
    if (r->afd < 0)
        r->afd = ps_accept(r->b, r->lfd, &peer);
    while (r->sent < r->total) {
        size_t n = sizeof(buf);
        if (r->total - r->sent < n)
            n = (size_t)(r->total - r->sent);
        for (size_t i = 0; i < n; i++)
            buf[i] = byte_at(r->sent + i);
        ssize_t k = ps_send(r->a, r->cfd, buf, n, 0);
        if (k <= 0)
            break;
        r->sent += (uint64_t)k;
    }
    if (r->sent == r->total && !r->shut) {
        ps_shutdown(r->a, r->cfd, PS_SHUT_WR);
        r->shut = true;
    }
    while (r->afd >= 0 && !r->eof) {
        ssize_t k = ps_recv(r->b, r->afd, buf, sizeof(buf), 0);
        if (k == 0)
            r->eof = true;
        if (k <= 0)
            break;
        for (ssize_t i = 0; i < k; i++)
            r->bad += buf[i] != byte_at(r->rcvd + (uint64_t)i);
        r->rcvd += (uint64_t)k;
    }
    return now + PS_MS(1);
}

static bool lossy_done(void *ctx)
{
    return ((struct lossy_run *)ctx)->eof;
}

static void lossy(double loss, uint64_t seed, bool sack_b, long long *dsack_tx)
{
    struct ps_sim_impair imp = {.delay = PS_MS(2), .jitter = PS_US(200), .bandwidth_bps = 100000000ull,
                                .loss = loss, .duplicate = 0.01, .reorder = 0.02, .reorder_delay = PS_MS(1)};
    struct ps_config ca, cb;
    two_hosts_config(&ca, seed * 2 + 1);
    two_hosts_config(&cb, seed * 2 + 2);
    cb.tcp_no_sack = !sack_b;
    struct two_hosts w;
    REQUIRE(two_hosts_new_at(&w, seed, T0, &ca, &cb, &imp));
    struct ps_sim *sim = w.sim;
    struct lossy_run r = {.a = w.a, .b = w.b, .afd = -1, .total = 1000000};
    r.lfd = ps_socket(r.b, PS_SOCK_STREAM);
    struct ps_sockaddr_in any = {.addr = 0, .port = PORT}, to = {.addr = IP_B, .port = PORT};
    REQUIRE(r.lfd >= 0 && ps_bind(r.b, r.lfd, &any) == 0 && ps_listen(r.b, r.lfd, 4) == 0);
    r.cfd = ps_socket(r.a, PS_SOCK_STREAM);
    REQUIRE(r.cfd >= 0);
    int rc = ps_connect(r.a, r.cfd, &to);
    REQUIRE(rc == 0 || rc == -EINPROGRESS);
    ps_time_t t0 = ps_sim_now(sim);
    REQUIRE(ps_sim_add_poller(sim, lossy_poll, &r) == 0);
    bool done = ps_sim_run_while_not(sim, lossy_done, &r, t0 + PS_SEC(600));
    ps_sim_remove_poller(sim, lossy_poll, &r);
    const struct ps_sim_link_stats *ls = ps_sim_link_stats(w.link);
    fprintf(stderr,
            "  %.0f%% loss seed %llu SACK %s: %.3f s virtual, lost %llu, retransmits %lld (SACK %lld), RTOs %lld, "
            "recoveries %lld, D-SACK sent %lld\n",
            loss * 100, (unsigned long long)seed, sack_b ? "on" : "off", (double)(ps_sim_now(sim) - t0) / 1e6,
            (unsigned long long)ls->frames_lost, stat_named(r.a, "tcp_retransmits"),
            stat_named(r.a, "tcp_sack_retransmits"), stat_named(r.a, "tcp_rto_timeouts"),
            stat_named(r.a, "tcp_recovery_episodes"), stat_named(r.b, "tcp_dsack_tx"));
    CHECK(done);
    CHECK_U64(r.rcvd, r.total);
    CHECK_U64(r.bad, 0);
    if (sack_b)
        CHECK(stat_named(r.a, "tcp_sack_retransmits") > 0);
    else
        CHECK_EQ(stat_named(r.a, "tcp_sack_retransmits"), 0);
    *dsack_tx += stat_named(r.b, "tcp_dsack_tx");
    ps_close(r.a, r.cfd);
    if (r.afd >= 0)
        ps_close(r.b, r.afd);
    ps_close(r.b, r.lfd);
    ps_sim_run_for(sim, PS_SEC(200));
    two_hosts_free(&w);
}

TEST(lossy_byte_exact)
{
    static const double losses[] = {0.01, 0.05, 0.10};
    long long dsack = 0;
    for (unsigned i = 0; i < 3; i++)
        for (uint64_t seed = 1; seed <= 3; seed++)
            lossy(losses[i], 100 * (i + 1) + seed, true, &dsack);
    CHECK(dsack > 0); /* duplicated frames were reported (RFC 2883) */
}

TEST(lossy_byte_exact_sack_off)
{
    long long dsack = 0;
    lossy(0.05, 501, false, &dsack);
    lossy(0.10, 502, false, &dsack);
    CHECK_EQ(dsack, 0);
}

int main(int argc, char **argv)
{
    /* A test name as argument runs just that one (RUN_IF: tests/tcp_sim.h). */
    RUN_IF(sack_negotiated_single_loss);
    RUN_IF(multiple_losses_one_window);
    RUN_IF(many_holes_one_window);
    RUN_IF(sack_off_newreno_recovers);
    RUN_IF(reneging_detected);
    RUN_IF(garbage_sack_blocks_ignored);
    RUN_IF(lossy_byte_exact);
    RUN_IF(lossy_byte_exact_sack_off);
    TEST_END();
}
