/*
 * libFuzzer target: the DHCP message parser (src/apps/dhcp_msg.c), which
 * both the client and the server run on every datagram they receive.
 *
 * Input: the message (a UDP payload).
 *
 * Oracles: the parser stays within its buffer and its bounds (DNS servers,
 * client identifier); and what it accepts survives a round trip: a reply
 * (op 2) rebuilt with dhcp_build_reply, or a request (op 1) rebuilt with
 * dhcp_build, parses back to the same fields.
 */
#include <string.h>

#include "apps/dhcp_msg.h"
#include "fuzz_util.h"

/* Parse what a builder wrote into buf (len bytes). */
static void parse_built(const uint8_t *buf, size_t len, struct dhcp_in *b, const char *what)
{
    FUZZ_MUST(len >= DHCP_MIN_LEN && len <= DHCP_MAX_MSG, what);
    FUZZ_MUST(dhcp_parse(buf, len, b) == 0, what);
}

static void reply_round_trip(const struct dhcp_in *m)
{
    struct dhcp_reply r;
    memset(&r, 0, sizeof(r));
    r.type = m->type;
    r.xid = m->xid;
    r.flags = m->flags;
    r.ciaddr = m->ciaddr;
    r.yiaddr = m->yiaddr;
    r.giaddr = m->giaddr;
    r.chaddr = m->chaddr;
    r.server = m->server;
    r.lease_s = m->lease_s;
    r.t1_s = m->t1_s;
    r.t2_s = m->t2_s;
    r.netmask = m->netmask;
    r.router = m->router;
    r.ndns = m->ndns;
    memcpy(r.dns, m->dns, sizeof(r.dns));
    r.client_id = m->client_id;
    r.client_id_len = m->client_id_len;
    uint8_t buf[DHCP_MAX_MSG];
    struct dhcp_in b;
    parse_built(buf, dhcp_build_reply(buf, &r), &b, "reply: cannot parse what was built");
    FUZZ_MUST(b.op == 2 && b.type == m->type && b.xid == m->xid && b.flags == m->flags && b.ciaddr == m->ciaddr &&
                  b.yiaddr == m->yiaddr && b.giaddr == m->giaddr && !memcmp(&b.chaddr, &m->chaddr, 6) &&
                  b.server == m->server && b.lease_s == m->lease_s && b.t1_s == m->t1_s && b.t2_s == m->t2_s &&
                  b.netmask == m->netmask && b.router == m->router && b.ndns == m->ndns &&
                  !memcmp(b.dns, m->dns, sizeof(b.dns)) && b.client_id_len == m->client_id_len &&
                  !memcmp(b.client_id, m->client_id, m->client_id_len),
              "reply: round trip");
}

static void request_round_trip(const struct dhcp_in *m)
{
    struct dhcp_out o;
    memset(&o, 0, sizeof(o));
    o.type = m->type;
    o.xid = m->xid;
    o.broadcast = m->flags & 0x8000;
    o.ciaddr = m->ciaddr;
    o.requested = m->requested;
    o.server = m->server;
    o.chaddr = m->chaddr;
    uint8_t buf[DHCP_MAX_MSG];
    struct dhcp_in b;
    parse_built(buf, dhcp_build(buf, &o), &b, "request: cannot parse what was built");
    FUZZ_MUST(b.op == 1 && b.type == m->type && b.xid == m->xid && b.flags == (m->flags & 0x8000) &&
                  b.ciaddr == m->ciaddr && b.requested == m->requested && b.server == m->server &&
                  !memcmp(&b.chaddr, &m->chaddr, 6),
              "request: round trip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy the length of the input exactly, so ASan sees any overrun. */
    uint8_t *b = malloc(size ? size : 1);
    FUZZ_MUST(b != NULL, "malloc");
    memcpy(b, data, size);
    struct dhcp_in m;
    if (dhcp_parse(b, size, &m) == 0) {
        FUZZ_MUST(m.type != 0, "accepted a message without a type");
        FUZZ_MUST(m.ndns <= PS_DHCP_MAX_DNS && m.client_id_len <= DHCP_CLIENT_ID_MAX, "bounds");
        if (m.op == 2)
            reply_round_trip(&m);
        else if (m.op == 1)
            request_round_trip(&m);
    }
    free(b);
    return 0;
}
