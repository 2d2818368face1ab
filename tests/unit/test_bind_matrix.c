/*
 * The bind rules of docs/PORTS.md, exhaustively: every combination of an
 * existing endpoint (protocol, specific or wildcard address, bound /
 * listening / connected / TIME_WAIT, SO_REUSEADDR and SO_REUSEPORT) and a
 * new one (same address, another address, wildcard; each flag pair), for
 * bind() and then for listen().
 */
#include <errno.h>
#include <string.h>

#include <portstack/portstack.h>

#include "test.h"
#include "transport/ports.h"

#define US PS_IP4(192, 0, 2, 1)
#define US2 PS_IP4(192, 0, 2, 2)
#define PEER PS_IP4(198, 51, 100, 7)
#define PORT 7000

enum estate { E_BOUND, E_LISTEN, E_CONNECTED, E_TIMEWAIT };
static const char *const estate_name[] = {"bound", "listening", "connected", "time-wait"};

static int no_tx(void *ctx, struct ps_iface *ifc, const uint8_t *f, size_t n)
{
    (void)ctx, (void)ifc, (void)f, (void)n;
    return 0;
}

/* The table of docs/PORTS.md, written out. */
static bool rule_allows_bind(enum estate st, ps_ip4_t ea, uint16_t ef, ps_ip4_t na, uint16_t nf)
{
    bool overlap = ea == 0 || na == 0 || ea == na;
    if (!overlap)
        return true;
    bool both_ra = (ef & PS_EP_REUSEADDR) && (nf & PS_EP_REUSEADDR);
    bool both_rp = (ef & PS_EP_REUSEPORT) && (nf & PS_EP_REUSEPORT);
    switch (st) {
    case E_TIMEWAIT:
        return (nf & PS_EP_REUSEADDR) != 0;
    case E_LISTEN:
        return both_rp;
    default:
        return both_ra || both_rp;
    }
}

static void matrix(uint8_t proto, unsigned *cases)
{
    static const ps_ip4_t eaddrs[] = {US, 0};
    static const ps_ip4_t naddrs[] = {US, US2, 0};
    static const uint16_t flagsets[] = {0, PS_EP_REUSEADDR, PS_EP_REUSEPORT, PS_EP_REUSEADDR | PS_EP_REUSEPORT};
    unsigned nstates = proto == PS_IP_PROTO_TCP ? 4 : 2;
    static const enum estate udp_states[] = {E_BOUND, E_CONNECTED};

    struct ps_stack *s = ps_stack_new(NULL, 0);
    REQUIRE(s);
    static const ps_mac_t mac = {{2, 0, 0, 0, 0, 1}};
    struct ps_iface *ifc = ps_iface_add(s, "eth0", &mac, 1500, no_tx, NULL);
    REQUIRE(ifc && ps_iface_add_addr(ifc, US, 24) == 0 && ps_iface_add_addr(ifc, US2, 24) == 0);

    for (unsigned si = 0; si < nstates; si++) {
        enum estate st = proto == PS_IP_PROTO_TCP ? (enum estate)si : udp_states[si];
        for (unsigned ea = 0; ea < 2; ea++)
            for (unsigned ef = 0; ef < 4; ef++)
                for (unsigned na = 0; na < 3; na++)
                    for (unsigned nf = 0; nf < 4; nf++) {
                        struct ps_endpoint e = {.proto = proto, .flags = flagsets[ef]};
                        struct ps_endpoint n = {.proto = proto, .flags = flagsets[nf]};
                        REQUIRE(ps_ports_bind(s, &e, eaddrs[ea], PORT) == 0);
                        if (st == E_LISTEN)
                            REQUIRE(ps_ports_listen(s, &e) == 0);
                        if (st == E_CONNECTED)
                            REQUIRE(ps_ports_connect(s, &e, US, PEER, 80) == 0);
                        if (st == E_TIMEWAIT)
                            e.flags |= PS_EP_TIMEWAIT;
                        /* connect() gives a wildcard endpoint the address its
                         * connection uses, as Linux does. */
                        ps_ip4_t eff = st == E_CONNECTED ? US : eaddrs[ea];
                        bool want = rule_allows_bind(st, eff, flagsets[ef], naddrs[na], flagsets[nf]);
                        int rc = ps_ports_bind(s, &n, naddrs[na], PORT);
                        if ((rc == 0) != want || (rc != 0 && rc != -EADDRINUSE))
                            T_FAIL("proto %u: existing %s %s flags %u, new %s flags %u: bind %d, want %s", proto,
                                   estate_name[st], ea ? "wildcard" : "specific", flagsets[ef],
                                   na == 2 ? "wildcard" : na ? "other" : "same", flagsets[nf], rc,
                                   want ? "success" : "EADDRINUSE");
                        /* listen() re-checks: two overlapping listeners need
                         * SO_REUSEPORT on both. */
                        if (rc == 0 && proto == PS_IP_PROTO_TCP && st != E_TIMEWAIT) {
                            bool overlap = eff == 0 || naddrs[na] == 0 || eff == naddrs[na];
                            bool lwant = st != E_LISTEN || !overlap ||
                                         ((flagsets[ef] & PS_EP_REUSEPORT) && (flagsets[nf] & PS_EP_REUSEPORT));
                            int lrc = ps_ports_listen(s, &n);
                            if ((lrc == 0) != lwant)
                                T_FAIL("listen after bind: existing %s %s flags %u, new %s flags %u: %d",
                                       estate_name[st], ea ? "wildcard" : "specific", flagsets[ef],
                                       na == 2 ? "wildcard" : na ? "other" : "same", flagsets[nf], lrc);
                            (*cases)++;
                        }
                        if (rc == 0)
                            ps_ports_unbind(s, &n);
                        e.flags &= (uint16_t)~PS_EP_TIMEWAIT;
                        ps_ports_unbind(s, &e);
                        (*cases)++;
                    }
    }
    CHECK_EQ(ps_ports_in_use(s, proto), 0);
    ps_stack_free(s);
}

TEST(udp_matrix)
{
    unsigned cases = 0;
    matrix(PS_IP_PROTO_UDP, &cases);
    CHECK_EQ(cases, 2 * 2 * 4 * 3 * 4);
}

TEST(tcp_matrix)
{
    unsigned cases = 0;
    matrix(PS_IP_PROTO_TCP, &cases);
    fprintf(stderr, "  %u TCP cases (bind, and listen where bind succeeded)\n", cases);
    CHECK(cases > 4 * 2 * 4 * 3 * 4);
}

/* The classic server restart: two SO_REUSEADDR sockets may both bind, but
 * only one may listen; SO_REUSEPORT lets both listen. */
TEST(reuseaddr_one_listener_reuseport_many)
{
    struct ps_stack *s = ps_stack_new(NULL, 0);
    REQUIRE(s);
    struct ps_endpoint a = {.proto = PS_IP_PROTO_TCP, .flags = PS_EP_REUSEADDR};
    struct ps_endpoint b = {.proto = PS_IP_PROTO_TCP, .flags = PS_EP_REUSEADDR};
    CHECK_EQ(ps_ports_bind(s, &a, 0, 80), 0);
    CHECK_EQ(ps_ports_bind(s, &b, 0, 80), 0);
    CHECK_EQ(ps_ports_listen(s, &a), 0);
    CHECK_EQ(ps_ports_listen(s, &b), -EADDRINUSE);
    ps_ports_unbind(s, &a);
    CHECK_EQ(ps_ports_listen(s, &b), 0);
    ps_ports_unbind(s, &b);
    struct ps_endpoint c = {.proto = PS_IP_PROTO_TCP, .flags = PS_EP_REUSEPORT};
    struct ps_endpoint d = {.proto = PS_IP_PROTO_TCP, .flags = PS_EP_REUSEPORT};
    CHECK_EQ(ps_ports_bind(s, &c, 0, 80), 0);
    CHECK_EQ(ps_ports_listen(s, &c), 0);
    CHECK_EQ(ps_ports_bind(s, &d, 0, 80), 0);
    CHECK_EQ(ps_ports_listen(s, &d), 0);
    ps_ports_unbind(s, &c);
    ps_ports_unbind(s, &d);
    ps_stack_free(s);
}

int main(void)
{
    RUN(udp_matrix);
    RUN(tcp_matrix);
    RUN(reuseaddr_one_listener_reuseport_many);
    TEST_END();
}
