/*
 * Zero-window hold-open against the HTTP server, end to end on the
 * simulated wire, in simulated minutes: clients ask for a large file and
 * never read.  The server keeps serving others; it cuts each stalled
 * response after its idle timeout (no progress for PS_HTTP_IDLE_TIMEOUT_MS);
 * the closed connections, still facing a shut window, are reset after
 * tcp_orphan_probes probes; and everything they held comes back: socket
 * entries, buffers.  (The interop attack suite shows the first part
 * against the kernel; this one has the time for the rest.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <portstack/gauges.h>
#include <portstack/http.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/socket.h>

#include "test.h"

#define SRV PS_IP4(192, 0, 2, 80)
#define CLI PS_IP4(192, 0, 2, 10)
#define HOLDERS 4

struct world {
    struct ps_sim *sim;
    struct ps_stack *c, *s;
    struct ps_http_server *h;
    char docroot[64];
};

/* As a host loop would: the server's deadlines, looked at every 100 ms. */
static ps_time_t http_poll(void *ctx, ps_time_t now)
{
    ps_time_t next = ps_http_poll(ctx, now);
    return next < now + PS_MS(100) ? next : now + PS_MS(100);
}

static uint64_t gauge_now(struct ps_stack *s, enum ps_gauge_id id)
{
    struct ps_gauge g;
    REQUIRE(ps_stack_gauge(s, id, &g));
    return g.now;
}

static int get(struct world *w, const char *path)
{
    int fd = ps_socket(w->c, PS_SOCK_STREAM);
    REQUIRE(fd >= 0);
    struct ps_sockaddr_in to = {SRV, 80};
    CHECK_EQ(ps_connect(w->c, fd, &to), -EINPROGRESS);
    ps_sim_run_for(w->sim, PS_MS(20));
    char req[128];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: camera\r\n\r\n", path);
    CHECK_EQ(ps_send(w->c, fd, req, (size_t)n, 0), n);
    return fd;
}

TEST(zero_window_holders_cut_and_reset)
{
    struct world w;
    memset(&w, 0, sizeof w);
    w.sim = ps_sim_new(6, 0);
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    struct ps_sim_link *l = ps_sim_link_new(w.sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 1;
    cfg.tcp_rcvbuf = 4096; /* the clients' windows close at once */
    w.c = ps_stack_new(&cfg, 0);
    ps_config_default(&cfg);
    cfg.seed = 2;
    w.s = ps_stack_new(&cfg, 0);
    REQUIRE(w.c && w.s);
    struct ps_iface *ci = ps_sim_attach(l, w.c, "eth0", NULL, 1500), *si = ps_sim_attach(l, w.s, "eth0", NULL, 1500);
    REQUIRE(ci && si && ps_iface_add_addr(ci, CLI, 24) == 0 && ps_iface_add_addr(si, SRV, 24) == 0);
    snprintf(w.docroot, sizeof w.docroot, "/tmp/ps-hold-%d", (int)getpid());
    char cmd[320];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && head -c 1000000 /dev/zero > %s/big.bin && echo hi > %s/index.html",
             w.docroot, w.docroot, w.docroot);
    REQUIRE(system(cmd) == 0);
    int err;
    w.h = ps_http_start(w.s, 0, 80, w.docroot, &err);
    REQUIRE(w.h && err == 0);
    REQUIRE(ps_sim_add_poller(w.sim, http_poll, w.h) == 0);
    const struct ps_stats *ss = ps_stack_stats(w.s);
    uint64_t socks0 = gauge_now(w.s, PS_GAUGE_sockets_used);

    int fd[HOLDERS];
    for (int i = 0; i < HOLDERS; i++)
        fd[i] = get(&w, "/big.bin");
    ps_sim_run_for(w.sim, PS_SEC(20));
    /* Held: the server probes the shut windows, and still serves others. */
    CHECK(ss->tcp_persist_probes >= HOLDERS);
    CHECK_EQ(ps_http_stats(w.h)->timeouts, 0);
    CHECK_EQ(gauge_now(w.s, PS_GAUGE_sockets_used), socks0 + HOLDERS);
    int other = get(&w, "/index.html");
    ps_sim_run_for(w.sim, PS_MS(100));
    char buf[512];
    ssize_t n = ps_recv(w.c, other, buf, sizeof buf - 1, 0);
    REQUIRE(n > 0);
    buf[n] = '\0';
    CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    ps_close(w.c, other);

    /* Two idle timeouts without progress: the server cuts the responses.
     * The closed connections face the same shut window, and have probed
     * it tcp_orphan_probes times already: the next probe is a reset. */
    ps_sim_run_for(w.sim, PS_MS(2 * PS_HTTP_IDLE_TIMEOUT_MS) + PS_SEC(70));
    CHECK_EQ(ps_http_stats(w.h)->timeouts, HOLDERS);
    CHECK_EQ(ss->tcp_orphan_drop, HOLDERS);
    CHECK_EQ(gauge_now(w.s, PS_GAUGE_sockets_used), socks0);
    for (int i = 0; i < HOLDERS; i++) {
        /* The clients see their data, then the reset. */
        while ((n = ps_recv(w.c, fd[i], buf, sizeof buf, 0)) > 0)
            ;
        CHECK_EQ(n, -ECONNRESET);
        ps_close(w.c, fd[i]);
    }

    ps_sim_remove_poller(w.sim, http_poll, w.h);
    ps_http_stop(w.h);
    ps_sim_run_for(w.sim, PS_SEC(200));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(w.s, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(w.sim);
    ps_stack_free(w.c);
    ps_stack_free(w.s);
    snprintf(cmd, sizeof cmd, "rm -rf %.64s", w.docroot);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    RUN(zero_window_holders_cut_and_reset);
    TEST_END();
}
