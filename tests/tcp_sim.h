/*
 * tests/tcp_sim.h - what the TCP tests on the simulated wire share
 * (tests/sim/test_tcp_*.c), on top of the two-stack world of two_hosts.h:
 *
 *  - CHECK_POOLS_FULL: every buffer of a stack back in its pool;
 *  - CHECK_SS_LISTS: ps_ss_print() shows a string (a state);
 *  - RUN_IF: a test's name as the program's argument runs just that one;
 *  - flows: one direction of a connection carrying a test stream
 *    (stream_data.h), sent and checked byte by byte and checksummed;
 *  - a hand-made TCP peer behind a second interface of stack b ("probe",
 *    198.51.100.1/24): the test writes the peer's segments itself and
 *    reads what b sends it.
 */
#ifndef PORTSTACK_TEST_TCP_SIM_H
#define PORTSTACK_TEST_TCP_SIM_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>
#include <portstack/wire.h>

#include "stream_data.h"
#include "test.h"
#include "two_hosts.h"

#define CHECK_POOLS_FULL(s)                                                       \
    do {                                                                          \
        unsigned sf_, st_, lf_, lt_;                                              \
        ps_pbuf_pool_usage((s), &sf_, &st_, &lf_, &lt_);                         \
        if (sf_ != st_ || lf_ != lt_)                                             \
            T_FAIL("%s: buffers held: small %u of %u free, large %u of %u free", \
                   ps_stack_name(s), sf_, st_, lf_, lt_);                         \
    } while (0)

/* What ps_ss_print(s, PS_SS_NUMERIC) prints contains `what`. */
#define CHECK_SS_LISTS(s, what)                               \
    do {                                                      \
        char *text_ = NULL;                                   \
        size_t tlen_ = 0;                                     \
        FILE *mem_ = open_memstream(&text_, &tlen_);          \
        REQUIRE(mem_);                                        \
        ps_ss_print((s), mem_, PS_SS_NUMERIC);                \
        fclose(mem_);                                         \
        CHECK(text_ && strstr(text_, (what)));                \
        free(text_);                                          \
    } while (0)

/* ---- running tests one by one ------------------------------------------------------------ */

/* In main(int argc, char **argv): RUN(name), unless the program's argument
 * names another test (a test's name as the argument runs just that one). */
#define RUN_IF(name)                                    \
    do {                                                \
        if (argc < 2 || strcmp(argv[1], #name) == 0)    \
            RUN(name);                                  \
    } while (0)

/* ---- flows: one direction of a connection ------------------------------------------------ */

/* What ends a flow's sending side after its last byte. */
enum flow_end { FLOW_KEEP, FLOW_SHUT, FLOW_CLOSE };

/* Stream `seed` from socket tx_fd of tx_s to rx_fd of rx_s (an fd may be
 * set later, once the socket is there). */
struct flow {
    struct ps_stack *tx_s, *rx_s;
    int tx_fd, rx_fd;
    uint32_t seed;
    uint64_t total;      /* bytes to send */
    uint64_t sent, rcvd; /* bytes taken by send / returned by recv */
    uint64_t h_tx, h_rx; /* checksums of them */
    uint64_t bad;        /* received bytes that differ from the stream */
    enum flow_end end;   /* after the last byte */
    int end_rc;          /* what that shutdown() or close() returned */
    bool done_tx, eof;
    int tx_err, rx_err;  /* the first error each side saw (negative errno) */
};

static inline void flow_init(struct flow *f, struct ps_stack *tx_s, int tx_fd, struct ps_stack *rx_s, int rx_fd,
                             uint64_t total, uint32_t seed)
{
    *f = (struct flow){.tx_s = tx_s, .rx_s = rx_s, .tx_fd = tx_fd, .rx_fd = rx_fd, .seed = seed, .total = total,
                       .h_tx = FNV_INIT, .h_rx = FNV_INIT};
}

/* Send what the socket takes now; after the last byte, end the sending
 * side as f->end says (a failure there is a send error too).  The buffer
 * is not static: a readiness callback may run inside ps_send. */
static inline void flow_send(struct flow *f)
{
    uint8_t buf[32768];
    while (!f->done_tx && f->sent < f->total && !f->tx_err) {
        size_t n = sizeof(buf);
        if (f->total - f->sent < n)
            n = (size_t)(f->total - f->sent);
        gen(f->seed, f->sent, buf, n);
        ssize_t k = ps_send(f->tx_s, f->tx_fd, buf, n, 0);
        if (k == -EAGAIN)
            return;
        if (k <= 0) {
            f->tx_err = k < 0 ? (int)k : -EIO;
            return;
        }
        if ((size_t)k > n) {
            f->tx_err = -E2BIG;
            return;
        }
        f->h_tx = fnv1a(f->h_tx, buf, (size_t)k);
        f->sent += (uint64_t)k;
    }
    if (f->sent == f->total && !f->done_tx && !f->tx_err) {
        f->done_tx = true;
        if (f->end == FLOW_SHUT)
            f->end_rc = ps_shutdown(f->tx_s, f->tx_fd, PS_SHUT_WR);
        else if (f->end == FLOW_CLOSE)
            f->end_rc = ps_close(f->tx_s, f->tx_fd);
        f->tx_err = f->end_rc;
    }
}

/* Read what the receiving socket has, checking every byte against the
 * stream, up to EOF. */
static inline void flow_recv(struct flow *f)
{
    uint8_t buf[32768], want[32768];
    while (!f->eof && !f->rx_err) {
        ssize_t k = ps_recv(f->rx_s, f->rx_fd, buf, sizeof(buf), 0);
        if (k == -EAGAIN)
            return;
        if (k < 0) {
            f->rx_err = (int)k;
            return;
        }
        if (k == 0) {
            f->eof = true;
            return;
        }
        gen(f->seed, f->rcvd, want, (size_t)k);
        if (memcmp(buf, want, (size_t)k) != 0)
            for (ssize_t i = 0; i < k; i++)
                f->bad += buf[i] != want[i];
        f->h_rx = fnv1a(f->h_rx, buf, (size_t)k);
        f->rcvd += (uint64_t)k;
    }
}

/* Everything sent and received, byte-exact, without an error. */
#define CHECK_FLOW(f)                           \
    do {                                        \
        CHECK_EQ((f).tx_err, 0);                \
        CHECK_EQ((f).rx_err, 0);                \
        CHECK_EQ((f).sent, (f).total);          \
        CHECK_EQ((f).rcvd, (f).total);          \
        CHECK_EQ((f).bad, 0);                   \
        CHECK_U64((f).h_rx, (f).h_tx);          \
    } while (0)

/* ---- a hand-made peer behind b's probe interface ---------------------------------------- */

#define IP_PROBE_B PS_IP4(198, 51, 100, 1) /* b's probe interface */
#define IP_HAND PS_IP4(198, 51, 100, 50)   /* the hand-made peer */
#define HAND_CAP_MAX 64

/* One TCP segment b sent out of the probe interface. */
struct hand_seg {
    struct ps_ipv4_hdr ip;
    struct ps_tcp_hdr th;
    uint8_t data[1500];
    size_t dlen;
};

struct hand_probe {
    struct ps_iface *ifc;
    struct ps_sim *sim;
    ps_mac_t mac;             /* the hand peer's */
    ps_ip4_t only_dst;        /* keep only segments to this address (0: any) */
    struct hand_seg cap[HAND_CAP_MAX];
    unsigned ncap;            /* segments kept since the last clear */
};

static inline int hand_probe_tx(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    (void)ifc;
    struct hand_probe *p = ctx;
    struct ps_eth_hdr eh;
    if (len < 14 || ps_eth_parse(frame, len, &eh) < 0 || eh.type != PS_ETHERTYPE_IPV4)
        return 0; /* ARP for addresses nobody has: nobody answers */
    struct hand_seg sg;
    memset(&sg, 0, sizeof(sg));
    int ih = ps_ipv4_parse(frame + 14, len - 14, &sg.ip);
    if (ih < 0 || sg.ip.proto != PS_IP_PROTO_TCP || (p->only_dst && sg.ip.dst != p->only_dst))
        return 0;
    int th = ps_tcp_parse(frame + 14 + ih, sg.ip.total_len - (size_t)ih, sg.ip.src, sg.ip.dst, &sg.th);
    if (th < 0)
        return 0;
    sg.dlen = sg.ip.total_len - (size_t)ih - (size_t)th;
    memcpy(sg.data, frame + 14 + ih + th, sg.dlen < sizeof(sg.data) ? sg.dlen : sizeof(sg.data));
    if (p->ncap < HAND_CAP_MAX)
        p->cap[p->ncap++] = sg;
    return 0;
}

/* Give b of world w the probe interface at IP_PROBE_B/24, with the hand
 * peer IP_HAND in its ARP table; keep what b sends to only_dst (0: all
 * TCP out of that interface). */
static inline bool hand_probe_attach(struct hand_probe *p, struct two_hosts *w, ps_ip4_t only_dst)
{
    static const ps_mac_t mac_probe = {{0x02, 0, 0, 0, 0x51, 0x01}};
    static const ps_mac_t mac_hand = {{0x02, 0, 0, 0, 0x51, 0x50}};
    memset(p, 0, sizeof(*p));
    p->sim = w->sim;
    p->mac = mac_hand;
    p->only_dst = only_dst;
    p->ifc = ps_iface_add(w->b, "probe", &mac_probe, 1500, hand_probe_tx, p);
    return p->ifc && ps_iface_add_addr(p->ifc, IP_PROBE_B, 24) == 0 &&
           ps_arp_add_static(w->b, p->ifc, IP_HAND, &p->mac) == 0;
}

/* Hand a segment from src (with dlen bytes of data) to b's probe interface. */
static inline void hand_inject(struct hand_probe *p, ps_ip4_t src, struct ps_tcp_hdr *th, const void *data,
                               size_t dlen)
{
    uint8_t frame[1600];
    struct ps_eth_hdr eh = {.dst = *ps_iface_mac(p->ifc), .src = p->mac, .type = PS_ETHERTYPE_IPV4};
    size_t off = ps_eth_emit(frame, &eh);
    size_t tl = PS_TCP_HLEN + ps_tcp_opts_len(&th->opt) + dlen;
    struct ps_ipv4_hdr ih = {.total_len = (uint16_t)(20 + tl), .id = 1, .df = true, .ttl = 64,
                             .proto = PS_IP_PROTO_TCP, .src = src, .dst = IP_PROBE_B};
    size_t hl = ps_ipv4_emit(frame + off, &ih);
    if (dlen)
        memcpy(frame + off + hl + tl - dlen, data, dlen);
    ps_tcp_emit(frame + off + hl, th, src, IP_PROBE_B, dlen);
    ps_iface_input(p->ifc, frame, off + hl + tl, ps_sim_now(p->sim));
}

/* The hand peer sends a segment; what b answers within 1 ms is kept (and
 * only that). */
static inline void hand_exchange(struct hand_probe *p, struct ps_tcp_hdr *th, const void *data, size_t dlen)
{
    p->ncap = 0;
    hand_inject(p, IP_HAND, th, data, dlen);
    ps_sim_run_for(p->sim, PS_MS(1));
}

/* The last kept segment with all of `flags` set, or NULL. */
static inline const struct hand_seg *hand_last_with(const struct hand_probe *p, uint8_t flags)
{
    for (unsigned i = p->ncap; i-- > 0;)
        if ((p->cap[i].th.flags & flags) == flags)
            return &p->cap[i];
    return NULL;
}

#endif
