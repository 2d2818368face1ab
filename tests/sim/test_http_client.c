/*
 * The HTTP client against portstack's own HTTP server on the simulated
 * wire: GET of a file (Content-Length) and of the chunked status page,
 * 404, several requests on one kept connection, POST refused with 405 and
 * the connection closed then reopened, a server that went away.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <portstack/http.h>
#include <portstack/http_client.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>

#include "test.h"

#define SRV PS_IP4(192, 0, 2, 80)

struct got {
    int calls, err, status;
    size_t len;
    bool reused;
    char body[200000];
};

static void on_response(void *ctx, const struct ps_http_response *r)
{
    struct got *g = ctx;
    g->calls++;
    g->err = r->err;
    g->status = r->status;
    g->len = r->body_len;
    g->reused = r->reused;
    if (r->body && r->body_len < sizeof(g->body))
        memcpy(g->body, r->body, r->body_len + 1);
}

static ps_time_t server_poll(void *ctx, ps_time_t now)
{
    ps_time_t n = ps_http_poll(ctx, now);
    return n < now + PS_MS(100) ? n : now + PS_MS(100);
}

static struct got g;

TEST(get_post_keepalive)
{
    struct ps_sim *sim = ps_sim_new(6, 0);
    struct ps_sim_impair imp = {.delay = PS_MS(1)};
    struct ps_sim_link *l = ps_sim_link_new(sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 1;
    struct ps_stack *c = ps_stack_new(&cfg, 0);
    cfg.seed = 2;
    struct ps_stack *s = ps_stack_new(&cfg, 0);
    struct ps_iface *ci = ps_sim_attach(l, c, "eth0", NULL, 1500), *si = ps_sim_attach(l, s, "eth0", NULL, 1500);
    REQUIRE(ci && si && ps_iface_add_addr(ci, PS_IP4(192, 0, 2, 10), 24) == 0 && ps_iface_add_addr(si, SRV, 24) == 0);
    char dir[64], cmd[300];
    snprintf(dir, sizeof(dir), "/tmp/ps-httpc-%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "mkdir -p %s && head -c 150000 /dev/zero | tr '\\0' 'z' > %s/f.txt", dir, dir);
    REQUIRE(system(cmd) == 0);
    int err;
    struct ps_http_server *h = ps_http_start(s, 0, 8080, dir, &err);
    REQUIRE(h);
    ps_sim_add_poller(sim, server_poll, h);
    struct ps_http_client *hc = ps_http_client_new(c, SRV, 8080, "camera.example");
    REQUIRE(hc);

    memset(&g, 0, sizeof(g));
    CHECK_EQ(ps_http_request(hc, "GET", "/f.txt", NULL, 0, on_response, &g), 0);
    CHECK_EQ(ps_http_request(hc, "GET", "/f.txt", NULL, 0, on_response, &g), -EBUSY);
    ps_sim_run_for(sim, PS_MS(500));
    CHECK_EQ(g.calls, 1);
    CHECK_EQ(g.err, 0);
    CHECK_EQ(g.status, 200);
    CHECK_EQ(g.len, 150000);
    CHECK_EQ(strspn(g.body, "z"), 150000);
    CHECK(!g.reused);
    /* Chunked, on the same connection. */
    CHECK_EQ(ps_http_request(hc, "GET", "/status.json", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(sim, PS_MS(300));
    CHECK_EQ(g.calls, 2);
    CHECK_EQ(g.status, 200);
    CHECK(g.reused);
    CHECK(strstr(g.body, "\"sockets\":[") != NULL && g.body[g.len - 2] == '}');
    CHECK(strstr(g.body, "\"local\":\"0.0.0.0:8080\"") != NULL);
    CHECK_EQ(ps_http_request(hc, "GET", "/none", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(sim, PS_MS(300));
    CHECK_EQ(g.status, 404);
    CHECK_EQ(ps_http_client_connections(hc), 1); /* all three on one connection */
    /* POST: this server answers 405 and closes; the next GET reconnects. */
    CHECK_EQ(ps_http_request(hc, "POST", "/upload", "abc", 3, on_response, &g), 0);
    ps_sim_run_for(sim, PS_MS(300));
    CHECK_EQ(g.status, 405);
    CHECK_EQ(ps_http_request(hc, "GET", "/f.txt", NULL, 0, on_response, &g), 0);
    ps_sim_run_for(sim, PS_MS(500));
    CHECK_EQ(g.status, 200);
    CHECK_EQ(ps_http_client_connections(hc), 2);
    /* The server goes away: the next request fails cleanly. */
    ps_sim_remove_poller(sim, server_poll, h);
    ps_http_stop(h);
    ps_sim_run_for(sim, PS_MS(100));
    int calls = g.calls;
    if (ps_http_request(hc, "GET", "/f.txt", NULL, 0, on_response, &g) == 0) {
        ps_sim_run_for(sim, PS_SEC(15));
        for (int i = 0; i < 200 && g.calls == calls; i++) {
            ps_http_client_poll(hc, ps_sim_now(sim));
            ps_sim_run_for(sim, PS_MS(100));
        }
        CHECK_EQ(g.calls, calls + 1);
        CHECK(g.err < 0);
    }
    ps_http_client_free(hc);
    ps_sim_run_for(sim, PS_SEC(700));
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(c, &sf, &st, &lf, &lt);
    CHECK(sf == st && lf == lt);
    ps_sim_free(sim);
    ps_stack_free(c);
    ps_stack_free(s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    RUN(get_post_keepalive);
    TEST_END();
}
