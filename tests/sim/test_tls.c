/*
 * TLS between two simulated stacks: portstack's HTTPS client against its
 * HTTPS server (byte-exact bodies, keep-alive, through loss), a raw session
 * driven by readiness callbacks as an application holds it open, refused
 * verification (wrong CA, wrong name, expired and not yet valid by the
 * stack's clock), the session limit, and certificate loading errors.
 * Certificates: tests/data/tls (README there).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/x509.h>

#include <portstack/http.h>
#include <portstack/http_client.h>
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <portstack/tls.h>

#include "stream_data.h"
#include "test.h"

#define CLI PS_IP4(192, 0, 2, 10)
#define SRV PS_IP4(192, 0, 2, 80)
#define DATA PS_SOURCE_DIR "/tests/data/tls/"
#define BLOB_LEN 300000

/* Wall-clock dates (s since 1970) against the certificates' 2026..2126. */
#define T_2020 1577836800LL
#define T_2030 1893456000LL
#define T_2130 5049216000LL

struct world {
    struct ps_sim *sim;
    struct ps_stack *c, *s;
    struct ps_tls_config *ccfg, *scfg;
    struct ps_http_server *h;
    char dir[64];
    uint8_t blob[BLOB_LEN];
};

static ps_time_t server_poll(void *ctx, ps_time_t now)
{
    ps_time_t n = ps_http_poll(ctx, now);
    return n < now + PS_MS(100) ? n : now + PS_MS(100);
}

static void set_clock(struct ps_stack *st, long long unix_s)
{
    ps_stack_set_realtime_offset(st, unix_s * 1000000 - (int64_t)ps_stack_now(st));
}

/* Two stacks on one link, an HTTPS server with a docroot holding
 * blob.bin, and a client configuration trusting `ca`. */
static void world_up(struct world *w, double loss, const char *ca)
{
    memset(w, 0, sizeof(*w));
    w->sim = ps_sim_new(9, 0);
    struct ps_sim_impair imp = {.delay = PS_MS(1), .loss = loss};
    struct ps_sim_link *l = ps_sim_link_new(w->sim, &imp);
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 11;
    w->c = ps_stack_new(&cfg, 0);
    cfg.seed = 12;
    w->s = ps_stack_new(&cfg, 0);
    struct ps_iface *ci = ps_sim_attach(l, w->c, "eth0", NULL, 1500), *si = ps_sim_attach(l, w->s, "eth0", NULL, 1500);
    REQUIRE(ci && si && ps_iface_add_addr(ci, CLI, 24) == 0 && ps_iface_add_addr(si, SRV, 24) == 0);
    set_clock(w->c, T_2030);
    set_clock(w->s, T_2030);

    snprintf(w->dir, sizeof(w->dir), "/tmp/ps-tls-%d", (int)getpid());
    char path[128];
    snprintf(path, sizeof(path), "mkdir -p %s", w->dir);
    REQUIRE(system(path) == 0);
    gen(7, 0, w->blob, sizeof(w->blob));
    snprintf(path, sizeof(path), "%s/blob.bin", w->dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(w->blob, 1, sizeof(w->blob), f) == sizeof(w->blob));
    fclose(f);

    int err;
    w->scfg = ps_tls_config_new(w->s, PS_TLS_SERVER, ps_tls_entropy_from_stack, w->s, &err);
    REQUIRE(w->scfg && ps_tls_config_cert_file(w->scfg, DATA "server.crt", DATA "server.key") == 0);
    w->h = ps_https_start(w->s, 0, 0, w->dir, w->scfg, &err);
    REQUIRE(w->h && ps_http_port(w->h) == 443);
    ps_sim_add_poller(w->sim, server_poll, w->h);
    w->ccfg = ps_tls_config_new(w->c, PS_TLS_CLIENT, ps_tls_entropy_from_stack, w->c, &err);
    REQUIRE(w->ccfg && ps_tls_config_ca_file(w->ccfg, ca) == 0);
}

static void world_down(struct world *w)
{
    ps_sim_remove_poller(w->sim, server_poll, w->h);
    ps_http_stop(w->h);
    ps_sim_run_for(w->sim, PS_SEC(300)); /* every TIME_WAIT ends */
    CHECK_EQ(ps_tls_config_sessions(w->scfg), 0);
    CHECK_EQ(ps_tls_config_sessions(w->ccfg), 0);
    ps_tls_config_free(w->scfg);
    ps_tls_config_free(w->ccfg);
    struct ps_stack *st[2] = {w->c, w->s};
    for (int i = 0; i < 2; i++) {
        unsigned sf, stt, lf, lt;
        ps_pbuf_pool_usage(st[i], &sf, &stt, &lf, &lt);
        CHECK(sf == stt && lf == lt);
    }
    ps_sim_free(w->sim);
    ps_stack_free(w->c);
    ps_stack_free(w->s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
    CHECK(system(cmd) == 0);
}

static const struct ps_stats *stats(struct ps_stack *st)
{
    return ps_stack_stats(st);
}

/* ---- the HTTP client over TLS ----------------------------------------------- */

struct got {
    int calls, err, status;
    size_t len;
    bool reused;
    char *body; /* NUL-terminated */
};

static void on_response(void *ctx, const struct ps_http_response *r)
{
    struct got *g = ctx;
    g->calls++;
    g->err = r->err;
    g->status = r->status;
    g->len = r->body_len;
    g->reused = r->reused;
    free(g->body);
    g->body = calloc(1, r->body_len + 1);
    if (g->body && r->body)
        memcpy(g->body, r->body, r->body_len);
}

static struct world w;

/* GET `path` and run until the answer (or 20 s). */
static void get(struct ps_http_client *hc, const char *path, struct got *g)
{
    int calls = g->calls;
    CHECK_EQ(ps_http_request(hc, "GET", path, NULL, 0, on_response, g), 0);
    for (int i = 0; i < 200 && g->calls == calls; i++) {
        ps_sim_run_for(w.sim, PS_MS(100));
        ps_http_client_poll(hc, ps_sim_now(w.sim));
    }
    CHECK_EQ(g->calls, calls + 1);
}

static void https_keepalive(double loss)
{
    world_up(&w, loss, DATA "ca.crt");
    struct ps_http_client *hc = ps_https_client_new(w.c, SRV, 0, "server.example", w.ccfg);
    REQUIRE(hc);
    struct got g = {0};
    get(hc, "/blob.bin", &g);
    CHECK_EQ(g.err, 0);
    CHECK_EQ(g.status, 200);
    CHECK_EQ(g.len, BLOB_LEN);
    CHECK(g.body && memcmp(g.body, w.blob, BLOB_LEN) == 0);
    CHECK(!g.reused);
    /* The chunked status page, on the same TLS session. */
    get(hc, "/status.json", &g);
    CHECK_EQ(g.status, 200);
    CHECK(g.reused);
    CHECK(g.body && g.len > 2 && strstr(g.body, "\"local\":\"0.0.0.0:443\"") != NULL);
    get(hc, "/blob.bin", &g);
    CHECK_EQ(g.len, BLOB_LEN);
    CHECK(g.body && memcmp(g.body, w.blob, BLOB_LEN) == 0);
    CHECK_EQ(ps_http_client_connections(hc), 1);
    CHECK_EQ(stats(w.c)->tls_handshakes, 1);
    CHECK_EQ(stats(w.s)->tls_handshakes, 1);
    CHECK_EQ(ps_tls_config_sessions(w.scfg), 1);
    /* Closing sends close_notify: the server sees a clean end, no truncation. */
    ps_http_client_free(hc);
    ps_sim_run_for(w.sim, PS_SEC(1));
    CHECK_EQ(ps_tls_config_sessions(w.scfg), 0);
    CHECK_EQ(stats(w.s)->tls_truncated, 0);
    CHECK_EQ(stats(w.s)->tls_handshake_fail + stats(w.s)->tls_record_fail, 0);
    CHECK_EQ(ps_http_stats(w.h)->responses_2xx, 3);
    free(g.body);
    world_down(&w);
}

TEST(https_get_keepalive)
{
    https_keepalive(0);
}

TEST(https_through_loss)
{
    https_keepalive(0.02);
}

/* An untrusted server: the request never leaves, the server hears the
 * client's alert. */
TEST(https_wrong_ca)
{
    world_up(&w, 0, DATA "other-ca.crt");
    struct ps_http_client *hc = ps_https_client_new(w.c, SRV, 443, "server.example", w.ccfg);
    REQUIRE(hc);
    struct got g = {0};
    get(hc, "/blob.bin", &g);
    CHECK_EQ(g.err, -EACCES);
    CHECK_EQ(stats(w.c)->tls_verify_fail, 1);
    CHECK_EQ(stats(w.c)->tls_handshakes, 0);
    char why[256];
    ps_tls_config_last_error(w.ccfg, why, sizeof(why));
    CHECK(strstr(why, "not correctly signed by the trusted CA") != NULL);
    ps_sim_run_for(w.sim, PS_SEC(1));
    CHECK_EQ(stats(w.s)->tls_handshake_fail, 1);
    CHECK_EQ(stats(w.s)->tls_handshakes, 0);
    CHECK_EQ(ps_http_stats(w.h)->requests, 0);
    CHECK_EQ(ps_tls_config_sessions(w.scfg), 0);
    ps_http_client_free(hc);
    free(g.body);
    world_down(&w);
}

/* ---- a raw session, driven by its callback --------------------------------- */

struct app {
    struct ps_tls *t;
    int established, err, events;
    char in[4096];
    size_t in_len;
};

static void on_tls(void *ctx, int fd, short revents)
{
    struct app *a = ctx;
    (void)fd;
    a->events++;
    if ((revents & PS_POLLOUT) && ps_tls_state(a->t) == PS_TLS_OPEN)
        a->established = 1;
    ssize_t n;
    while (!(revents & PS_POLLERR) && a->in_len < sizeof(a->in) - 1 &&
           (n = ps_tls_read(a->t, a->in + a->in_len, sizeof(a->in) - 1 - a->in_len)) > 0)
        a->in_len += (size_t)n;
    a->in[a->in_len] = '\0';
    a->err = ps_tls_error(a->t);
}

static int raw_connect(struct app *a, const char *host, int *fd)
{
    memset(a, 0, sizeof(*a));
    *fd = ps_socket(w.c, PS_SOCK_STREAM);
    struct ps_sockaddr_in to = {SRV, 443};
    if (*fd < 0 || ps_connect(w.c, *fd, &to) != -EINPROGRESS)
        return -1;
    int err;
    a->t = ps_tls_new(w.ccfg, *fd, host, &err);
    if (!a->t)
        return err;
    return ps_tls_set_callback(a->t, on_tls, a);
}

static uint8_t tcp_state(struct ps_stack *st, int fd)
{
    struct ps_tcp_info ti;
    size_t len = sizeof(ti);
    return ps_getsockopt(st, fd, PS_IPPROTO_TCP, PS_TCP_INFO, &ti, &len) == 0 ? ti.state : 0xff;
}

/* As the demo's camera does: connect to server.example:443, complete the
 * handshake, ask once, and hold the session open. */
TEST(raw_session_held_open)
{
    world_up(&w, 0, DATA "ca.crt");
    struct app a;
    int fd;
    REQUIRE(raw_connect(&a, "server.example", &fd) == 0);
    CHECK_EQ(ps_tls_state(a.t), PS_TLS_HANDSHAKE);
    ps_sim_run_for(w.sim, PS_MS(200));
    CHECK_EQ(a.established, 1);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(ps_tls_state(a.t), PS_TLS_OPEN);
    char line[256];
    ps_tls_describe(a.t, line, sizeof(line));
    CHECK(strncmp(line, "TLSv1.2 TLS-ECDHE-ECDSA-", 24) == 0);
    CHECK(strstr(line, "peer verified as server.example") != NULL);
    CHECK_EQ(ps_tls_verify_flags(a.t), 0);
    static const char req[] = "GET /status.json HTTP/1.1\r\nHost: server.example\r\n\r\n";
    CHECK_EQ(ps_tls_write(a.t, req, sizeof(req) - 1), (long long)sizeof(req) - 1);
    ps_sim_run_for(w.sim, PS_MS(200));
    CHECK(strncmp(a.in, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(a.in, "\"tls_handshakes\":1") != NULL); /* the server's own counter, live */
    /* Held open: idle for 20 s of simulated time, still established. */
    ps_sim_run_for(w.sim, PS_SEC(20));
    CHECK_EQ(tcp_state(w.c, fd), PS_TCPI_ESTABLISHED);
    CHECK_EQ(ps_tls_state(a.t), PS_TLS_OPEN);
    CHECK_EQ(ps_http_stats(w.h)->timeouts, 0);
    /* The server's idle timeout (30 s) ends it cleanly: close_notify, FIN. */
    ps_sim_run_for(w.sim, PS_SEC(15));
    CHECK_EQ(ps_http_stats(w.h)->timeouts, 1);
    CHECK_EQ(ps_tls_state(a.t), PS_TLS_CLOSED);
    CHECK_EQ(ps_tls_read(a.t, a.in, sizeof(a.in)), 0);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(stats(w.c)->tls_truncated, 0);
    ps_tls_free(a.t);
    ps_close(w.c, fd);
    world_down(&w);
}

/* A clean end from the client: close_notify, then FIN. */
TEST(raw_session_close_notify)
{
    world_up(&w, 0, DATA "ca.crt");
    struct app a;
    int fd;
    REQUIRE(raw_connect(&a, "server.example", &fd) == 0);
    ps_sim_run_for(w.sim, PS_MS(200));
    REQUIRE(a.established);
    CHECK_EQ(ps_tls_close_notify(a.t), 0);
    CHECK_EQ(ps_tls_write(a.t, "x", 1), -EPIPE);
    ps_sim_run_for(w.sim, PS_MS(200));
    CHECK_EQ(ps_tls_config_sessions(w.scfg), 0); /* the server read it and closed */
    CHECK_EQ(stats(w.s)->tls_truncated + stats(w.s)->tls_record_fail, 0);
    CHECK_EQ(ps_tls_state(a.t), PS_TLS_CLOSED); /* the server answered with its own */
    CHECK_EQ(ps_tls_read(a.t, a.in, sizeof(a.in)), 0);
    ps_tls_free(a.t);
    ps_close(w.c, fd);
    world_down(&w);
}

/* Each way a certificate is refused, with the flag that says why. */
TEST(verification_refused)
{
    static const struct {
        const char *host, *ca;
        long long clock;
        uint32_t flag;
    } cases[] = {
        {"server.example", "ca.crt", T_2030, 0},
        {"other.example", "ca.crt", T_2030, MBEDTLS_X509_BADCERT_CN_MISMATCH},
        {"server.example", "other-ca.crt", T_2030, MBEDTLS_X509_BADCERT_NOT_TRUSTED},
        {"server.example", "ca.crt", T_2130, MBEDTLS_X509_BADCERT_EXPIRED},
        {"server.example", "ca.crt", T_2020, MBEDTLS_X509_BADCERT_FUTURE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char ca[256];
        snprintf(ca, sizeof(ca), DATA "%s", cases[i].ca);
        world_up(&w, 0, ca);
        set_clock(w.c, cases[i].clock);
        struct app a;
        int fd;
        REQUIRE(raw_connect(&a, cases[i].host, &fd) == 0);
        ps_sim_run_for(w.sim, PS_MS(300));
        if (cases[i].flag == 0) {
            CHECK_EQ(a.established, 1);
            CHECK_EQ(ps_tls_error(a.t), 0);
        } else {
            CHECK_EQ(a.established, 0);
            CHECK_EQ(a.err, -EACCES);
            CHECK_EQ(ps_tls_error(a.t), -EACCES);
            CHECK(ps_tls_verify_flags(a.t) & cases[i].flag);
            CHECK_EQ(stats(w.c)->tls_verify_fail, 1);
            char line[256];
            ps_tls_describe(a.t, line, sizeof(line));
            CHECK(strncmp(line, "failed: X509 - Certificate verification failed", 46) == 0);
        }
        ps_tls_free(a.t);
        ps_close(w.c, fd);
        world_down(&w);
    }
}

/* A server configuration allowing one session: the second connection is
 * closed at once and counted. */
TEST(session_limit)
{
    world_up(&w, 0, DATA "ca.crt");
    ps_tls_config_set_max_sessions(w.scfg, 1);
    struct app a1, a2;
    int fd1, fd2;
    REQUIRE(raw_connect(&a1, "server.example", &fd1) == 0);
    ps_sim_run_for(w.sim, PS_MS(200));
    REQUIRE(raw_connect(&a2, "server.example", &fd2) == 0);
    ps_sim_run_for(w.sim, PS_MS(200));
    CHECK_EQ(a1.established, 1);
    CHECK_EQ(a2.established, 0);
    CHECK_EQ(a2.err, -ECONNRESET);
    CHECK_EQ(stats(w.s)->tls_session_limit, 1);
    CHECK_EQ(ps_http_stats(w.h)->refused, 1);
    CHECK_EQ(ps_tls_config_sessions(w.scfg), 1);
    ps_tls_free(a1.t);
    ps_tls_free(a2.t);
    ps_close(w.c, fd1);
    ps_close(w.c, fd2);
    /* The client side's own limit. */
    ps_tls_config_set_max_sessions(w.ccfg, 1);
    int err, fd = ps_socket(w.c, PS_SOCK_STREAM);
    struct ps_tls *t1 = ps_tls_new(w.ccfg, fd, "server.example", &err);
    CHECK(t1 != NULL);
    CHECK(ps_tls_new(w.ccfg, fd, "server.example", &err) == NULL);
    CHECK_EQ(err, -ENOBUFS);
    CHECK_EQ(stats(w.c)->tls_session_limit, 1);
    ps_tls_free(t1);
    ps_close(w.c, fd);
    world_down(&w);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 8192);
    if (buf && fread(buf, 1, 8191, f) == 0) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

TEST(config_errors)
{
    struct ps_stack *s = ps_stack_new(NULL, 0);
    REQUIRE(s);
    int err;
    CHECK(ps_tls_config_new(s, PS_TLS_SERVER, NULL, NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    struct ps_tls_config *c = ps_tls_config_new(s, PS_TLS_SERVER, ps_tls_entropy_from_stack, s, &err);
    REQUIRE(c);
    int fd = ps_socket(s, PS_SOCK_STREAM);
    CHECK(ps_tls_new(c, fd, NULL, &err) == NULL); /* a server without a certificate */
    CHECK_EQ(err, -EINVAL);
    CHECK_EQ(ps_tls_config_cert_file(c, DATA "missing.crt", DATA "server.key"), -ENOENT);
    CHECK_EQ(ps_tls_config_cert_file(c, DATA "server.crt", DATA "ca.key"), -EINVAL); /* not its key */
    char why[256];
    CHECK(ps_tls_config_last_error(c, why, sizeof(why))[0] != '\0');
    CHECK_EQ(ps_tls_config_ca_pem(c, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), -EINVAL);
    char *crt = slurp(DATA "server.crt"), *key = slurp(DATA "server.key");
    REQUIRE(crt && key);
    CHECK_EQ(ps_tls_config_cert_pem(c, crt, key), 0);
    CHECK_EQ(ps_tls_config_cert_pem(c, crt, key), -EALREADY);
    struct ps_tls *t = ps_tls_new(c, fd, NULL, &err);
    CHECK(t != NULL);
    ps_tls_free(t);
    CHECK_EQ(ps_tls_config_sessions(c), 0);
    free(crt);
    free(key);
    ps_close(s, fd);
    ps_tls_config_free(c);
    ps_stack_free(s);
}

static int failing_entropy(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return -1;
}

TEST(entropy_failure)
{
    struct ps_stack *s = ps_stack_new(NULL, 0);
    REQUIRE(s);
    int err;
    CHECK(ps_tls_config_new(s, PS_TLS_CLIENT, failing_entropy, NULL, &err) == NULL);
    CHECK_EQ(err, -EIO);
    ps_stack_free(s);
}

int main(void)
{
    RUN(https_get_keepalive);
    RUN(https_through_loss);
    RUN(https_wrong_ca);
    RUN(raw_session_held_open);
    RUN(raw_session_close_notify);
    RUN(verification_refused);
    RUN(session_limit);
    RUN(config_errors);
    RUN(entropy_failure);
    TEST_END();
}
