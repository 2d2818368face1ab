/*
 * Long partitions that outlast timers: the simulated link between two
 * stacks goes down (ps_sim_link_set_up) - every frame lost, the hosts
 * told nothing - for longer than the timers that watch a connection, or
 * for less.  Both stacks' invariants are checked after every event.
 *
 *   - data in flight, partition longer than the retransmissions a stack
 *     is configured for (tcp_retries 5): the sender gives up with
 *     ETIMEDOUT; the receiver, idle, knows nothing until the link is back
 *     and its next segment is answered with RST (ECONNRESET).  Meanwhile
 *     both ARP entries expire (the sender's after a refresh that got no
 *     answer); after the partition they are resolved again.  The same
 *     partition with the default tcp_retries (15): the transfer resumes
 *     and completes byte-exact;
 *   - TCP_USER_TIMEOUT (5 s) ends a connection with ETIMEDOUT well before
 *     the retransmission count would;
 *   - keepalive (idle 10 s, every 2 s, 3 probes) ends an idle connection
 *     behind a long partition with ETIMEDOUT; behind a short one the
 *     probes are answered once the link is back and the connection lives.
 * Afterwards every socket is closed, every timer runs out, and nothing is
 * left: buffers, sockets, ports, TIME_WAIT records.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "two_hosts.h"

#define PORT 8000

struct conn {
    struct two_hosts w;
    struct stream_pair t;
    ps_time_t died; /* when the client end saw its error */
};

static bool pumped(struct conn *c)
{
    int err = c->t.cli.err;
    stream_pair_pump(&c->t);
    if (!err && c->t.cli.err)
        c->died = ps_sim_now(c->w.sim);
    return c->t.cli.err || c->t.srv.err || c->t.cli.bad || c->t.srv.bad;
}

static bool until_failed(void *ctx)
{
    return pumped(ctx);
}

static bool until_server_failed(void *ctx)
{
    struct conn *c = ctx;
    pumped(c);
    return c->t.srv.err != 0;
}

static bool until_done(void *ctx)
{
    struct conn *c = ctx;
    return pumped(c) || (c->t.cli.eof && c->t.srv.eof);
}

static bool until_sent_half(void *ctx)
{
    struct conn *c = ctx;
    return pumped(c) || c->t.srv.rcvd >= c->t.cli.tx_total / 2;
}

/* a connected to b's listener, a streaming `bytes` to b (b answers 1000
 * bytes after the end); a retransmits tcp_retries times (0: the default). */
static void conn_open(struct conn *c, unsigned tcp_retries, size_t bytes)
{
    struct ps_config ca, cb;
    two_hosts_config(&ca, 1);
    two_hosts_config(&cb, 2);
    if (tcp_retries)
        ca.tcp_retries = tcp_retries;
    memset(c, 0, sizeof(*c));
    REQUIRE(two_hosts_new(&c->w, 17, &ca, &cb, &(struct ps_sim_impair){.delay = PS_MS(2)}));
    c->t.b = c->w.b;
    c->t.lfd = ps_socket(c->w.b, PS_SOCK_STREAM);
    struct ps_sockaddr_in any = {.port = PORT}, to = {.addr = IP_B, .port = PORT};
    REQUIRE(c->t.lfd >= 0 && ps_bind(c->w.b, c->t.lfd, &any) == 0 && ps_listen(c->w.b, c->t.lfd, 4) == 0);
    c->t.cli = (struct stream_end){.s = c->w.a, .leads = true, .tx_seed = 1, .rx_seed = 2, .tx_total = bytes};
    c->t.srv = (struct stream_end){.s = c->w.b, .fd = -1, .tx_seed = 2, .rx_seed = 1, .tx_total = 1000};
    c->t.cli.fd = ps_socket(c->w.a, PS_SOCK_STREAM);
    REQUIRE(c->t.cli.fd >= 0 && ps_connect(c->w.a, c->t.cli.fd, &to) == -EINPROGRESS);
}

/* Once half the stream is across, the link goes down: when. */
static ps_time_t cut_midway(struct conn *c)
{
    REQUIRE(two_hosts_run(&c->w, until_sent_half, c, ps_sim_now(c->w.sim) + PS_SEC(60)));
    ps_sim_link_set_up(c->w.link, false);
    REQUIRE(!ps_sim_link_is_up(c->w.link));
    return ps_sim_now(c->w.sim);
}

/* Close what is open, let every timer run out, and find nothing left. */
static void conn_close(struct conn *c)
{
    if (c->t.cli.fd >= 0)
        ps_close(c->w.a, c->t.cli.fd);
    if (c->t.srv.fd >= 0)
        ps_close(c->w.b, c->t.srv.fd);
    ps_close(c->w.b, c->t.lfd);
    if (!two_hosts_settled(&c->w, PS_SEC(300)))
        T_FAIL("%s", c->w.why);
    two_hosts_free(&c->w);
}

static bool arp_resolved(struct ps_stack *s, ps_ip4_t ip)
{
    struct ps_arp_entry_info e;
    return ps_arp_lookup(s, ip, &e) && e.state == PS_ARP_RESOLVED;
}

/* ---- retransmission ---------------------------------------------------------------------- */

TEST(retransmissions_give_up_with_etimedout)
{
    struct conn c;
    conn_open(&c, 5, 4000000);
    ps_time_t cut = cut_midway(&c), partition = PS_SEC(600);
    /* The client gives up while the link is still down. */
    REQUIRE(two_hosts_run(&c.w, until_failed, &c, cut + partition));
    CHECK_EQ(c.t.cli.err, ETIMEDOUT);
    CHECK_EQ(stat_of(c.w.a, "tcp_conn_timeout"), 1);
    CHECK_EQ(stat_of(c.w.a, "tcp_rto_timeouts"), 5);
    fprintf(stderr, "  gave up %.1f s into the partition\n", (double)(c.died - cut) / 1e6);
    CHECK(c.died > cut + PS_SEC(1) && c.died < cut + partition);
    CHECK_EQ(c.t.srv.err, 0);
    /* The ARP entries expire behind the partition. */
    REQUIRE(two_hosts_run(&c.w, NULL, NULL, cut + partition));
    CHECK(!arp_resolved(c.w.a, IP_B));
    CHECK(!arp_resolved(c.w.b, IP_A));
    long long resolved = stat_of(c.w.a, "arp_resolved") + stat_of(c.w.b, "arp_resolved");
    CHECK(ps_sim_link_stats(c.w.link)->frames_partitioned > 0);
    /* The link is back: b's next segment finds no connection at a. */
    ps_sim_link_set_up(c.w.link, true);
    REQUIRE(ps_send(c.w.b, c.t.srv.fd, "hello?", 6, 0) == 6);
    REQUIRE(two_hosts_run(&c.w, until_server_failed, &c, ps_sim_now(c.w.sim) + PS_SEC(10)));
    CHECK_EQ(c.t.srv.err, ECONNRESET);
    CHECK(arp_resolved(c.w.a, IP_B) && arp_resolved(c.w.b, IP_A));
    CHECK(stat_of(c.w.a, "arp_resolved") + stat_of(c.w.b, "arp_resolved") > resolved);
    CHECK(!c.t.cli.bad && !c.t.srv.bad);
    conn_close(&c);
}

TEST(same_partition_resumes_with_more_retries)
{
    struct conn c;
    conn_open(&c, 0, 4000000);
    ps_time_t cut = cut_midway(&c);
    /* As long as it took the client above to give up (five timeouts). */
    CHECK(!two_hosts_run(&c.w, until_failed, &c, cut + PS_SEC(30)));
    ps_sim_link_set_up(c.w.link, true);
    REQUIRE(two_hosts_run(&c.w, until_done, &c, ps_sim_now(c.w.sim) + PS_SEC(600)));
    CHECK(!c.t.cli.err && !c.t.srv.err && !c.t.cli.bad && !c.t.srv.bad);
    CHECK_EQ(c.t.srv.rcvd, c.t.cli.tx_total);
    CHECK_EQ(c.t.cli.rcvd, c.t.srv.tx_total);
    CHECK(stat_of(c.w.a, "tcp_rto_timeouts") >= 5);
    CHECK_EQ(stat_of(c.w.a, "tcp_conn_timeout"), 0);
    conn_close(&c);
}

/* ---- user timeout -------------------------------------------------------------------------- */

TEST(user_timeout_gives_up_first)
{
    struct conn c;
    conn_open(&c, 0, 4000000);
    unsigned ut = 5000;
    REQUIRE(ps_setsockopt(c.w.a, c.t.cli.fd, PS_IPPROTO_TCP, PS_TCP_USER_TIMEOUT, &ut, sizeof(ut)) == 0);
    ps_time_t cut = cut_midway(&c);
    REQUIRE(two_hosts_run(&c.w, until_failed, &c, cut + PS_SEC(120)));
    CHECK_EQ(c.t.cli.err, ETIMEDOUT);
    CHECK_EQ(stat_of(c.w.a, "tcp_user_timeout"), 1);
    fprintf(stderr, "  gave up %.1f s into the partition (user timeout 5 s)\n", (double)(c.died - cut) / 1e6);
    CHECK(c.died >= cut + PS_MS(ut) - PS_SEC(1) && c.died <= cut + PS_MS(ut) + PS_SEC(1));
    ps_sim_link_set_up(c.w.link, true);
    conn_close(&c);
}

/* ---- keepalive ------------------------------------------------------------------------------- */

static bool established(void *ctx)
{
    struct conn *c = ctx;
    pumped(c);
    return c->t.srv.fd >= 0 && c->t.cli.sent == c->t.cli.tx_total;
}

/* An idle connection with keepalive on a; the link down for `down`. */
static void keepalive_case(ps_time_t down, bool survives)
{
    struct conn c;
    conn_open(&c, 0, 100);
    c.t.cli.leads = false; /* nothing is sent: the connection is idle */
    c.t.cli.tx_total = 0;
    int on = 1, idle = 10, intvl = 2, cnt = 3;
    REQUIRE(ps_setsockopt(c.w.a, c.t.cli.fd, PS_SOL_SOCKET, PS_SO_KEEPALIVE, &on, sizeof(on)) == 0);
    REQUIRE(ps_setsockopt(c.w.a, c.t.cli.fd, PS_IPPROTO_TCP, PS_TCP_KEEPIDLE, &idle, sizeof(idle)) == 0);
    REQUIRE(ps_setsockopt(c.w.a, c.t.cli.fd, PS_IPPROTO_TCP, PS_TCP_KEEPINTVL, &intvl, sizeof(intvl)) == 0);
    REQUIRE(ps_setsockopt(c.w.a, c.t.cli.fd, PS_IPPROTO_TCP, PS_TCP_KEEPCNT, &cnt, sizeof(cnt)) == 0);
    REQUIRE(two_hosts_run(&c.w, established, &c, ps_sim_now(c.w.sim) + PS_SEC(5)));
    ps_time_t cut = ps_sim_now(c.w.sim);
    ps_sim_link_set_up(c.w.link, false);
    bool failed = two_hosts_run(&c.w, until_failed, &c, cut + down);
    ps_sim_link_set_up(c.w.link, true);
    if (!failed)
        failed = two_hosts_run(&c.w, until_failed, &c, ps_sim_now(c.w.sim) + PS_SEC(60));
    CHECK(stat_of(c.w.a, "tcp_keepalive_probes") >= 1);
    if (survives) {
        CHECK(!failed && !c.t.cli.err);
        CHECK_EQ(stat_of(c.w.a, "tcp_keepalive_timeout"), 0);
        /* Still a connection: b's stream reaches a. */
        c.t.srv.leads = true;
        REQUIRE(two_hosts_run(&c.w, until_done, &c, ps_sim_now(c.w.sim) + PS_SEC(10)));
        CHECK_EQ(c.t.cli.rcvd, 1000);
        CHECK(!c.t.cli.bad);
    } else {
        CHECK_EQ(c.t.cli.err, ETIMEDOUT);
        CHECK_EQ(stat_of(c.w.a, "tcp_keepalive_timeout"), 1);
        fprintf(stderr, "  keepalive gave up %.1f s into the partition\n", (double)(c.died - cut) / 1e6);
        CHECK(c.died > cut + PS_SEC(idle) && c.died < cut + down);
    }
    conn_close(&c);
}

TEST(keepalive_ends_a_connection_behind_a_long_partition)
{
    keepalive_case(PS_SEC(120), false);
}

TEST(keepalive_probes_answered_after_a_short_partition)
{
    keepalive_case(PS_SEC(13), true);
}

int main(void)
{
    RUN(retransmissions_give_up_with_etimedout);
    RUN(same_partition_resumes_with_more_retries);
    RUN(user_timeout_gives_up_first);
    RUN(keepalive_ends_a_connection_behind_a_long_partition);
    RUN(keepalive_probes_answered_after_a_short_partition);
    TEST_END();
}
