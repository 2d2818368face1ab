/*
 * libFuzzer target: the HTTP client's response parser
 * (src/apps/http_client.c), fed over a real TCP connection.
 *
 * The client asks 192.0.2.2:80 for a page; a scripted server
 * (tests/tcp_peer.h) accepts, reads the request and answers with the
 * input's bytes: [sel:1] then the response stream.
 *   sel bits 0-5  segment size: 1 + sel * 29 bytes, 1 ms apart
 *   sel bit 6     the server closes its side after the bytes
 *   sel bit 7     the request is a POST with a body
 * When a response completes and the connection stays open, the client
 * asks again on it (at most 4 requests), so what follows the first
 * response is read as the next.
 *
 * Oracles: a response the client accepts has a status of three digits,
 * a body within PS_HTTP_CLIENT_MAX_BODY and NUL-terminated, and the
 * callback comes once per request; what the client sent is a request line
 * ("GET /" or "POST /"); beyond that, fuzz_conn.h's checks.
 */
#include <string.h>

#include <portstack/http_client.h>

#include "fuzz_conn.h"

#define MAX_REQUESTS 4

struct client {
    struct net *net;
    struct ps_http_client *c;
    bool post;
    unsigned asked, answered;
};

static void ask(struct client *cl);

static void on_response(void *ctx, const struct ps_http_response *r)
{
    struct client *cl = ctx;
    cl->answered++;
    FUZZ_MUST(cl->answered == cl->asked, "a response callback without a request");
    if (r->err)
        return;
    FUZZ_MUST(r->status >= 100 && r->status <= 999, "status is not three digits");
    FUZZ_MUST(r->body && r->body_len <= PS_HTTP_CLIENT_MAX_BODY && r->body[r->body_len] == '\0', "body");
    ask(cl);
}

static void ask(struct client *cl)
{
    if (cl->asked >= MAX_REQUESTS)
        return;
    static const char body[] = "name=value";
    /* It may refuse (no socket free while old connections finish). */
    if (ps_http_request(cl->c, cl->post ? "POST" : "GET", "/index.html", body, sizeof(body) - 1, on_response, cl) == 0)
        cl->asked++;
}

static void client_poll(void *ctx)
{
    struct client *cl = ctx;
    ps_http_client_poll(cl->c, cl->net->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    struct ps_config cfg;
    fc_config(&cfg);
    cfg.max_sockets = 4;
    struct client cl = {.net = fc_net(&cfg), .post = sel & 0x80};
    cl.c = ps_http_client_new(cl.net->s, IP_PEER, 80, "example.test");
    FUZZ_MUST(cl.c != NULL, "cannot create the client");
    const struct fc_app app = {client_poll, &cl};
    static struct tcp_peer p;
    static uint8_t request[4096];
    peer_init(&p, cl.net, 0, 80, PISS);
    if (setjmp(t_jmp))
        abort();
    ask(&cl);
    /* The handshake, the client's way round: its SYN (from a port it
     * picked), our SYN-ACK, its ACK and request. */
    net_poll(cl.net, cl.net->now);
    struct tcp_seg g;
    for (unsigned i = p.seen; i < cl.net->n && !p.us_port; i++)
        if (tcp_seg_at(cl.net, i, &g) && (g.h.flags & PS_TCP_SYN) && g.h.dport == 80)
            p.us_port = g.h.sport;
    FUZZ_MUST(p.us_port != 0, "the client sent no SYN");
    fc_read(&p, NULL, NULL);
    peer_send(&p, PS_TCP_SYN | PS_TCP_ACK, NULL, 0);
    p.sink = request;
    p.sink_cap = sizeof(request);
    fc_step(&p, PS_MS(1), &app);
    fc_setup_ok();
    const char *line = cl.post ? "POST /" : "GET /";
    FUZZ_MUST(p.sink_len > strlen(line) && !memcmp(request, line, strlen(line)), "the request line");
    p.sink = NULL;

    fc_peer_stream(&p, data + 1, size - 1, 1 + (size_t)(sel & 63) * 29, &app);
    if (sel & 0x40)
        peer_send(&p, PS_TCP_FIN | PS_TCP_ACK, NULL, 0);
    for (int i = 0; i < 20; i++)
        fc_step(&p, PS_MS(100), &app);
    /* Whatever is still asked times out: every request gets its one
     * answer. */
    for (int i = 0; i <= MAX_REQUESTS; i++)
        fc_step(&p, PS_MS(PS_HTTP_CLIENT_TIMEOUT_MS + 1000), &app);
    FUZZ_MUST(cl.answered == cl.asked, "a request never got its callback");
    ps_http_client_free(cl.c);
    fc_finish(cl.net);
    return 0;
}
