/*
 * libFuzzer target: HTTP/1.1 requests (src/apps/http_parse.c), parsed on
 * their own and served by the HTTP server over a TCP connection.
 *
 * Input: [sel:1] then the bytes a client sends.
 *   sel bit 0 clear  the request-head parser alone, with the head bound
 *                    PS_HTTP_MAX_HEAD, or 4 + (sel >> 2) bytes when sel
 *                    bit 1 is set
 *   sel bit 0 set    a scripted client (tests/tcp_peer.h) connects to the
 *                    server on port 80 and sends the bytes in segments of
 *                    1 + (sel >> 2) * 23 bytes, 1 ms apart, acknowledging
 *                    what comes back; then it closes its side.
 *
 * Oracles.  The parser: a head it accepts lies within the buffer and the
 * bound and ends in CRLFCRLF; its result does not depend on the bytes
 * after the head; every shorter prefix of the head needs more; the
 * resumable search for the head's end, fed a byte at a time, finds the
 * same end (or none) and never moves back or past it.  The server: what
 * it sends is an HTTP/1.1 response stream (it starts with "HTTP/1.1 ");
 * beyond that, fuzz_conn.h's checks.
 */
#include <string.h>

#include <portstack/http.h>

#include "apps/http_parse.h"
#include "fuzz_conn.h"

/* The head's end as the server finds it: searched as the bytes come, a
 * byte at a time; 0 if it has not ended within the bound. */
static size_t resumed_end(const char *b, size_t n, size_t max)
{
    size_t next = 0, end = 0;
    for (size_t len = 0; len <= n && !end; len++) {
        size_t before = next;
        end = http_head_end(b, len, max, &next);
        FUZZ_MUST(next >= before && next <= len && (!end || next + 4 == end),
                  "the search moved back or past the end");
    }
    return end;
}

static void fuzz_parser(const char *b, size_t n, size_t max)
{
    static struct http_request r, r2;
    int rc = http_parse_request(b, n, max, &r);
    size_t end = resumed_end(b, n, max);
    FUZZ_MUST(rc == HTTP_PARSE_NEED_MORE || rc == HTTP_PARSE_TOO_LONG ? end == 0 : end == r.head_len,
              "the resumed search disagrees with the parser");
    if (rc == HTTP_PARSE_NEED_MORE) {
        FUZZ_MUST(n < max, "needs more beyond its bound");
        return;
    }
    if (rc != HTTP_PARSE_OK)
        return;
    FUZZ_MUST(r.head_len >= 4 && r.head_len <= n && r.head_len <= max, "head outside the buffer or the bound");
    FUZZ_MUST(!memcmp(b + r.head_len - 4, "\r\n\r\n", 4), "head does not end in CRLFCRLF");
    FUZZ_MUST(memchr(r.target, 0, sizeof(r.target)) != NULL && r.minor >= 0 && r.minor <= 9, "fields");
    FUZZ_MUST(http_parse_request(b, r.head_len, max, &r2) == HTTP_PARSE_OK && !memcmp(&r, &r2, sizeof(r)),
              "the result depends on bytes after the head");
    FUZZ_MUST(http_parse_request(b, r.head_len - 1, max, &r2) == HTTP_PARSE_NEED_MORE,
              "a prefix of a head does not need more");
}

struct server {
    struct net *net;
    struct ps_http_server *h;
};

static void server_poll(void *ctx)
{
    struct server *sv = ctx;
    ps_http_poll(sv->h, sv->net->now);
}

static void fuzz_server(const uint8_t *d, size_t n, size_t seg)
{
    struct ps_config cfg;
    fc_config(&cfg);
    cfg.max_sockets = 4;
    struct net *net = fc_net(&cfg);
    int err;
    struct server sv = {net, ps_http_start(net->s, 0, LPORT, NULL, &err)};
    FUZZ_MUST(sv.h != NULL, "cannot start the server");
    const struct fc_app app = {server_poll, &sv};
    static struct tcp_peer p;
    static uint8_t sink[4 << 20]; /* the response stream (never filled beyond) */
    peer_init(&p, net, LPORT, PPORT, PISS);
    if (setjmp(t_jmp))
        abort();
    peer_send(&p, PS_TCP_SYN, NULL, 0);
    fc_step(&p, 0, &app);
    peer_send(&p, PS_TCP_ACK, NULL, 0);
    fc_step(&p, 0, &app);
    fc_setup_ok();
    p.sink = sink; /* the first bytes of the response stream */
    p.sink_cap = sizeof(sink);
    fc_peer_stream(&p, d, n, seg, &app);
    peer_send(&p, PS_TCP_FIN | PS_TCP_ACK, NULL, 0);
    for (int i = 0; i < 20; i++)
        fc_step(&p, PS_MS(100), &app);
    FUZZ_MUST(p.sink_len == 0 || !memcmp(sink, "HTTP/1.1 ", p.sink_len < 9 ? p.sink_len : 9),
              "the server sent something other than an HTTP/1.1 response");
    p.sink = NULL;
    ps_http_stop(sv.h);
    fc_finish(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    size_t n = size - 1;
    if (sel & 1) {
        fuzz_server(data + 1, n, 1 + (size_t)(sel >> 2) * 23);
        return 0;
    }
    char *b = malloc(n ? n : 1); /* exactly the input's size, for ASan */
    FUZZ_MUST(b != NULL, "malloc");
    memcpy(b, data + 1, n);
    fuzz_parser(b, n, (sel & 2) ? 4 + (size_t)(sel >> 2) : PS_HTTP_MAX_HEAD);
    free(b);
    return 0;
}
