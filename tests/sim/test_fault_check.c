/*
 * The invariant checker (ps_stack_check, stack.h) itself: it passes on a
 * healthy stack at every step of a connection's life, and it fails, and
 * says why, when an invariant is broken on purpose - a buffer leaked, a
 * buffer freed twice, a connection with data in flight and no
 * retransmission timer, a connection missing from the demultiplexer, a
 * queue whose count disagrees with its contents.  (The breakages reach
 * into the stack's internals, which is why this test includes them.)
 */
#include <errno.h>
#include <string.h>

#include "core/stack_impl.h"
#include "socket/sockets.h"
#include "test.h"
#include "two_hosts.h"

#define PORT 9000

struct pair {
    struct two_hosts w;
    int lfd, cfd, afd;
};

static bool accepted(void *ctx)
{
    struct pair *p = ctx;
    if (p->afd < 0)
        p->afd = ps_accept(p->w.b, p->lfd, NULL);
    return p->afd >= 0;
}

/* a connected to b, both checked after every event on the way. */
static void connect_pair(struct pair *p)
{
    struct ps_config ca, cb;
    two_hosts_config(&ca, 1);
    two_hosts_config(&cb, 2);
    REQUIRE(two_hosts_new(&p->w, 3, &ca, &cb, NULL));
    p->afd = -1;
    p->lfd = ps_socket(p->w.b, PS_SOCK_STREAM);
    struct ps_sockaddr_in any = {.port = PORT}, to = {.addr = IP_B, .port = PORT};
    REQUIRE(ps_bind(p->w.b, p->lfd, &any) == 0 && ps_listen(p->w.b, p->lfd, 4) == 0);
    p->cfd = ps_socket(p->w.a, PS_SOCK_STREAM);
    REQUIRE(ps_connect(p->w.a, p->cfd, &to) == -EINPROGRESS);
    REQUIRE(two_hosts_check(&p->w));
    REQUIRE(two_hosts_run(&p->w, accepted, p, ps_sim_now(p->w.sim) + PS_SEC(5)));
}

/* The checker must find s broken, and say why in words containing
 * `what`; or find that every invariant holds. */
static void expect_broken(struct ps_stack *s, const char *what)
{
    char why[200];
    if (ps_stack_check(s, why, sizeof(why)) == 0)
        T_FAIL("the checker missed it: %s", what);
    else if (!strstr(why, what))
        T_FAIL("the checker said \"%s\", not \"%s\"", why, what);
    else
        fprintf(stderr, "  caught: %s\n", why);
}

static void expect_holds(struct ps_stack *s)
{
    char why[200];
    if (ps_stack_check(s, why, sizeof(why)) != 0)
        T_FAIL("the checker found: %s", why);
}

TEST(healthy_connection_passes_throughout)
{
    struct pair p;
    connect_pair(&p);
    char buf[3000];
    memset(buf, 'x', sizeof(buf));
    REQUIRE(ps_send(p.w.a, p.cfd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
    REQUIRE(ps_close(p.w.a, p.cfd) == 0);
    REQUIRE(two_hosts_run_for(&p.w, PS_MS(50)));
    REQUIRE(ps_recv(p.w.b, p.afd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
    REQUIRE(ps_close(p.w.b, p.afd) == 0);
    REQUIRE(ps_close(p.w.b, p.lfd) == 0);
    REQUIRE(two_hosts_run_for(&p.w, PS_SEC(130)));
    if (p.w.broken)
        T_FAIL("%s", p.w.why);
    CHECK(p.w.checks > 20);
    CHECK_EQ(sockets_listed(p.w.a) + sockets_listed(p.w.b), 0);
    two_hosts_free(&p.w);
}

TEST(catches_a_leaked_buffer)
{
    struct pair p;
    connect_pair(&p);
    struct ps_pbuf *leak = ps_pbuf_alloc(p.w.a, 100);
    REQUIRE(leak);
    expect_broken(p.w.a, "leaked");
    ps_pbuf_free(p.w.a, leak);
    expect_holds(p.w.a);
    two_hosts_free(&p.w);
}

TEST(catches_a_double_free)
{
    struct pair p;
    connect_pair(&p);
    struct ps_pbuf *q = ps_pbuf_alloc(p.w.b, 100);
    REQUIRE(q);
    ps_pbuf_free(p.w.b, q);
    struct ps_pbuf *after = q->next;
    ps_pbuf_free(p.w.b, q); /* on the free list twice: it now points at itself */
    expect_broken(p.w.b, "twice");
    /* Repair what the test broke before the stack goes. */
    q->next = after;
    p.w.b->pools[q->pool].nfree--;
    expect_holds(p.w.b);
    two_hosts_free(&p.w);
}

TEST(catches_data_in_flight_without_a_timer)
{
    struct pair p;
    connect_pair(&p);
    char buf[1000] = {0};
    REQUIRE(ps_send(p.w.a, p.cfd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
    expect_holds(p.w.a);
    struct ps_tcb *tcb = &p.w.a->sockets->tab[p.cfd]->u.stream.tcb;
    REQUIRE(tcb->snd_una != tcb->snd_max && ps_tcp_timer_on(tcb, PS_TCPT_REXMIT));
    ps_tcp_timer_stop(p.w.a, tcb, PS_TCPT_REXMIT);
    expect_broken(p.w.a, "without the retransmission timer");
    ps_tcp_rexmit_arm(p.w.a, tcb);
    expect_holds(p.w.a);
    two_hosts_free(&p.w);
}

TEST(catches_a_connection_missing_from_the_tables)
{
    struct pair p;
    connect_pair(&p);
    struct ps_tcb *tcb = &p.w.b->sockets->tab[p.afd]->u.stream.tcb;
    struct ps_endpoint saved = tcb->ep;
    ps_ports_unbind(p.w.b, &tcb->ep); /* ESTABLISHED, but no longer demultiplexed */
    expect_broken(p.w.b, "demultiplexer");
    CHECK_EQ(ps_ports_attach(p.w.b, &tcb->ep, saved.laddr, saved.lport, saved.raddr, saved.rport), 0);
    expect_holds(p.w.b);
    two_hosts_free(&p.w);
}

TEST(catches_a_queue_count_that_lies)
{
    struct pair p;
    connect_pair(&p);
    struct ps_tcb *lst = &p.w.b->sockets->tab[p.lfd]->u.stream.tcb;
    lst->synq_len++;
    expect_broken(p.w.b, "half-open");
    lst->synq_len--;
    int u = ps_socket(p.w.a, PS_SOCK_DGRAM);
    REQUIRE(u >= 0);
    p.w.a->sockets->tab[u]->u.udp.rq_count = 1; /* says one datagram, holds none */
    expect_broken(p.w.a, "UDP receive queue");
    p.w.a->sockets->tab[u]->u.udp.rq_count = 0;
    expect_holds(p.w.a);
    two_hosts_free(&p.w);
}

int main(void)
{
    RUN(healthy_connection_passes_throughout);
    RUN(catches_a_leaked_buffer);
    RUN(catches_a_double_free);
    RUN(catches_data_in_flight_without_a_timer);
    RUN(catches_a_connection_missing_from_the_tables);
    RUN(catches_a_queue_count_that_lies);
    TEST_END();
}
