/*
 * A link that corrupts bits: the simulated wire flips one random bit in a
 * fraction of the frames (struct ps_sim_impair.corrupt), after any frame
 * check sequence would have been checked - the corruption that IP, TCP
 * and UDP checksums exist for.  Both stacks' invariants are checked after
 * every event.
 *
 * Oracle: a capture hook on each receiving interface judges every frame
 * before the stack sees it, knowing what an intact one looks like (this
 * link carries only IPv4 between two known MAC addresses: ARP entries are
 * static, as ARP has no checksum of its own).  A frame is damaged if its
 * MAC addresses, EtherType, IPv4 header checksum or TCP/UDP checksum are
 * wrong.  Then:
 *   - every frame the link corrupted is found damaged (one bit flipped is
 *     always visible), and no other;
 *   - every damaged frame is dropped and counted by the stack - by the
 *     IPv4 header checksum or another IPv4 header check, the TCP or UDP
 *     checksum, the MAC address filter or the EtherType - except a flip
 *     in the source MAC address, which IPv4 never reads (the frame's
 *     contents are intact);
 *   - UDP: every datagram delivered is byte-exact, and the datagrams not
 *     delivered are exactly the damaged frames the stack dropped;
 *   - TCP: both streams arrive byte-exact, retransmission making up for
 *     what the checksum dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "two_hosts.h"

#define UDP_PORT 7000
#define TCP_PORT 8000
#define CORRUPT 0.03

/* What the capture hooks saw arrive. */
struct judge {
    const ps_mac_t *own[2], *peer[2];
    unsigned long frames, damaged, src_mac_only;
};

static bool csum_ok(const uint8_t *f, size_t len)
{
    struct ps_eth_hdr eh;
    struct ps_ipv4_hdr ip;
    if (ps_eth_parse(f, len, &eh) < 0 || eh.type != PS_ETHERTYPE_IPV4)
        return false;
    int hl = ps_ipv4_parse(f + PS_ETH_HLEN, len - PS_ETH_HLEN, &ip);
    if (hl < 0)
        return false;
    const uint8_t *l4 = f + PS_ETH_HLEN + hl;
    size_t l4len = ip.total_len - (size_t)hl;
    if (ip.proto == PS_IP_PROTO_TCP) {
        struct ps_tcp_hdr th;
        return ps_tcp_parse(l4, l4len, ip.src, ip.dst, &th) >= 0;
    }
    if (ip.proto == PS_IP_PROTO_UDP) {
        struct ps_udp_hdr uh;
        return ps_udp_parse(l4, l4len, ip.src, ip.dst, &uh) >= 0;
    }
    return false; /* nothing else crosses this link */
}

static void judge_frame(void *ctx, struct ps_iface *ifc, enum ps_dir dir, const uint8_t *f, size_t len,
                        ps_time_t now)
{
    (void)now;
    struct judge *j = ctx;
    if (dir != PS_DIR_IN)
        return;
    int k = ps_iface_mac(ifc) == j->own[0] ? 0 : 1;
    j->frames++;
    bool dst_ok = len >= 12 && memcmp(f, j->own[k]->b, 6) == 0;
    bool src_ok = len >= 12 && memcmp(f + 6, j->peer[k]->b, 6) == 0;
    bool rest_ok = csum_ok(f, len);
    if (dst_ok && src_ok && rest_ok)
        return;
    j->damaged++;
    if (dst_ok && rest_ok)
        j->src_mac_only++;
}

/* Frames a stack dropped for a reason a damaged frame can have. */
static long long caught(struct ps_stack *s)
{
    static const char *const reasons[] = {
        "eth_drop_short",    "eth_drop_other_mac", "eth_drop_type",       "ip_drop_truncated",
        "ip_drop_version",   "ip_drop_hdr_len",    "ip_drop_total_len",   "ip_drop_checksum",
        "ip_drop_options",   "ip_drop_format",     "ip_drop_martian_src", "ip_drop_martian_dst",
        "ip_drop_not_for_us", "ip_drop_multicast", "ip_drop_unknown_proto", "tcp_drop_checksum",
        "tcp_drop_malformed", "udp_drop_checksum", "udp_drop_malformed",
    };
    long long n = 0;
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        n += stat_of(s, reasons[i]);
    return n;
}

static long long checksum_caught(struct ps_stack *s)
{
    return stat_of(s, "ip_drop_checksum") + stat_of(s, "tcp_drop_checksum") + stat_of(s, "udp_drop_checksum");
}

struct world {
    struct two_hosts w;
    struct judge j;
};

static void world_new(struct world *x, uint64_t seed)
{
    static const struct ps_sim_impair imp = {.delay = PS_MS(1), .corrupt = CORRUPT};
    struct ps_config ca, cb;
    two_hosts_config(&ca, seed + 1);
    two_hosts_config(&cb, seed + 2);
    memset(x, 0, sizeof(*x));
    REQUIRE(two_hosts_new(&x->w, seed, &ca, &cb, &imp));
    x->j.own[0] = ps_iface_mac(x->w.ia);
    x->j.peer[0] = ps_iface_mac(x->w.ib);
    x->j.own[1] = ps_iface_mac(x->w.ib);
    x->j.peer[1] = ps_iface_mac(x->w.ia);
    REQUIRE(ps_arp_add_static(x->w.a, x->w.ia, IP_B, ps_iface_mac(x->w.ib)) == 0);
    REQUIRE(ps_arp_add_static(x->w.b, x->w.ib, IP_A, ps_iface_mac(x->w.ia)) == 0);
    ps_iface_set_capture(x->w.ia, judge_frame, &x->j);
    ps_iface_set_capture(x->w.ib, judge_frame, &x->j);
}

static void world_end(struct world *x)
{
    if (!two_hosts_settled(&x->w, PS_SEC(150)))
        T_FAIL("%s", x->w.why);
    two_hosts_free(&x->w);
}

/* ---- UDP ------------------------------------------------------------------------------ */

struct udp_rx {
    struct ps_stack *s;
    int fd;
    unsigned long delivered, bad;
};

static bool drain(void *ctx)
{
    struct udp_rx *u = ctx;
    uint8_t buf[2048], exp[2048];
    ssize_t n;
    while ((n = ps_recv(u->s, u->fd, buf, sizeof(buf), 0)) >= 0) {
        uint32_t id = n >= 4 ? ps_get32(buf) : 0;
        gen(id, 0, exp, (size_t)n);
        ps_put32(exp, id);
        /* Its length is a function of its number too. */
        if (n < 4 || (size_t)n != 18 + id % 1400 || memcmp(buf, exp, (size_t)n) != 0)
            u->bad++;
        u->delivered++;
    }
    return false;
}

TEST(udp_no_corrupted_datagram_delivered)
{
    struct world x;
    world_new(&x, 41);
    enum { COUNT = 4000, BURST = 20 };
    struct udp_rx u = {.s = x.w.b};
    u.fd = ps_socket(x.w.b, PS_SOCK_DGRAM);
    int cfd = ps_socket(x.w.a, PS_SOCK_DGRAM);
    struct ps_sockaddr_in any = {.port = UDP_PORT}, to = {.addr = IP_B, .port = UDP_PORT};
    REQUIRE(u.fd >= 0 && cfd >= 0 && ps_bind(x.w.b, u.fd, &any) == 0);
    for (uint32_t id = 0; id < COUNT;) {
        for (unsigned i = 0; i < BURST && id < COUNT; i++, id++) {
            uint8_t msg[2048];
            size_t len = 18 + id % 1400; /* no Ethernet padding: every bit is a datagram's */
            gen(id, 0, msg, len);
            ps_put32(msg, id);
            REQUIRE(ps_sendto(x.w.a, cfd, msg, len, 0, &to) == (ssize_t)len);
        }
        two_hosts_run(&x.w, drain, &u, ps_sim_now(x.w.sim) + PS_MS(5));
        drain(&u);
    }
    REQUIRE(two_hosts_run(&x.w, drain, &u, ps_sim_now(x.w.sim) + PS_MS(50)) == false && !x.w.broken);
    const struct ps_sim_link_stats *ls = ps_sim_link_stats(x.w.link);
    long long dropped = caught(x.w.b);
    fprintf(stderr,
            "  %d datagrams sent, %lu delivered (%lu bad); link corrupted %llu frames; judged damaged %lu "
            "(%lu only in the source MAC); dropped by b %lld (checksums %lld)\n",
            COUNT, u.delivered, u.bad, (unsigned long long)ls->frames_corrupted, x.j.damaged, x.j.src_mac_only,
            dropped, checksum_caught(x.w.b));
    CHECK(ls->frames_corrupted > 50);
    CHECK_EQ(u.bad, 0);
    CHECK_EQ(x.j.frames, COUNT);
    CHECK_EQ(x.j.damaged, ls->frames_corrupted);
    CHECK_EQ(dropped, (long long)(x.j.damaged - x.j.src_mac_only));
    CHECK_EQ(u.delivered + (unsigned long)dropped, COUNT);
    CHECK_EQ(stat_of(x.w.b, "udp_drop_rcvbuf"), 0);
    CHECK(checksum_caught(x.w.b) > 0);
    ps_close(x.w.a, cfd);
    ps_close(x.w.b, u.fd);
    world_end(&x);
}

/* ---- TCP ------------------------------------------------------------------------------ */

static bool transferred(void *ctx)
{
    stream_pair_pump(ctx);
    return stream_pair_over(ctx);
}

TEST(tcp_byte_exact_through_corruption)
{
    struct world x;
    world_new(&x, 42);
    struct stream_pair t = {.b = x.w.b};
    t.lfd = ps_socket(x.w.b, PS_SOCK_STREAM);
    struct ps_sockaddr_in any = {.port = TCP_PORT}, to = {.addr = IP_B, .port = TCP_PORT};
    REQUIRE(t.lfd >= 0 && ps_bind(x.w.b, t.lfd, &any) == 0 && ps_listen(x.w.b, t.lfd, 4) == 0);
    t.cli = (struct stream_end){.s = x.w.a, .leads = true, .tx_seed = 5, .rx_seed = 6, .tx_total = 2000000};
    t.srv = (struct stream_end){.s = x.w.b, .fd = -1, .leads = true, .tx_seed = 6, .rx_seed = 5,
                                .tx_total = 1500000};
    t.cli.fd = ps_socket(x.w.a, PS_SOCK_STREAM);
    REQUIRE(t.cli.fd >= 0 && ps_connect(x.w.a, t.cli.fd, &to) == -EINPROGRESS);
    x.w.check_every = 4; /* a long run: every fourth event */
    REQUIRE(two_hosts_run(&x.w, transferred, &t, ps_sim_now(x.w.sim) + PS_SEC(600)));
    const struct ps_sim_link_stats *ls = ps_sim_link_stats(x.w.link);
    long long dropped = caught(x.w.a) + caught(x.w.b);
    fprintf(stderr,
            "  2 MB + 1.5 MB: link corrupted %llu of %lu frames; judged damaged %lu (%lu only in the source MAC); "
            "dropped %lld (checksums: IP %lld, TCP %lld); retransmitted %lld\n",
            (unsigned long long)ls->frames_corrupted, x.j.frames, x.j.damaged, x.j.src_mac_only, dropped,
            stat_of(x.w.a, "ip_drop_checksum") + stat_of(x.w.b, "ip_drop_checksum"),
            stat_of(x.w.a, "tcp_drop_checksum") + stat_of(x.w.b, "tcp_drop_checksum"),
            stat_of(x.w.a, "tcp_retransmits") + stat_of(x.w.b, "tcp_retransmits"));
    CHECK(!t.cli.err && !t.srv.err && !t.cli.bad && !t.srv.bad);
    CHECK_EQ(t.cli.rcvd, t.srv.tx_total);
    CHECK_EQ(t.srv.rcvd, t.cli.tx_total);
    CHECK(ls->frames_corrupted > 100);
    CHECK_EQ(x.j.damaged, ls->frames_corrupted);
    CHECK_EQ(dropped, (long long)(x.j.damaged - x.j.src_mac_only));
    CHECK(stat_of(x.w.a, "tcp_drop_checksum") + stat_of(x.w.b, "tcp_drop_checksum") > 0);
    ps_close(x.w.a, t.cli.fd);
    ps_close(x.w.b, t.srv.fd);
    ps_close(x.w.b, t.lfd);
    world_end(&x);
}

int main(void)
{
    RUN(udp_no_corrupted_datagram_delivered);
    RUN(tcp_byte_exact_through_corruption);
    TEST_END();
}
