/* Packet buffer pools: headroom, push/pull, bounded pools, counted
 * failures, and both pools returning every buffer. */
#include <portstack/pbuf.h>
#include <portstack/stack.h>

#include "test.h"

TEST(push_pull_trim)
{
    struct ps_stack *s = ps_stack_new(NULL, 0);
    REQUIRE(s);
    struct ps_pbuf *p = ps_pbuf_alloc(s, 100);
    REQUIRE(p);
    CHECK_EQ(p->len, 100);
    CHECK_EQ(ps_pbuf_headroom(p), PS_PBUF_HEADROOM);
    uint8_t *d = p->data;
    CHECK(ps_pbuf_push(p, 20) == d - 20);
    CHECK_EQ(p->len, 120);
    CHECK(ps_pbuf_push(p, PS_PBUF_HEADROOM) == NULL); /* too much */
    CHECK(ps_pbuf_pull(p, 20) == d);
    CHECK(ps_pbuf_pull(p, 101) == NULL);
    ps_pbuf_trim(p, 60);
    CHECK_EQ(p->len, 60);
    ps_pbuf_trim(p, 80);
    CHECK_EQ(p->len, 60);
    ps_pbuf_free(s, p);
    ps_stack_free(s);
}

TEST(pools_are_bounded_and_counted)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.pbuf_small_count = 8;
    cfg.pbuf_large_count = 2;
    struct ps_stack *s = ps_stack_new(&cfg, 0);
    REQUIRE(s);
    /* The loopback address setup takes no buffer. */
    unsigned sf, st, lf, lt;
    ps_pbuf_pool_usage(s, &sf, &st, &lf, &lt);
    CHECK_EQ(sf, 8);
    CHECK_EQ(lt, 2);
    struct ps_pbuf *held[12];
    int n = 0;
    while (n < 12 && (held[n] = ps_pbuf_alloc(s, 1000)) != NULL)
        n++;
    /* Small ones first, then the large pool serves small requests too. */
    CHECK_EQ(n, 10);
    CHECK_EQ(ps_stack_stats(s)->pbuf_alloc_fail, 1);
    CHECK(ps_pbuf_alloc(s, 60000) == NULL);
    CHECK_EQ(ps_stack_stats(s)->pbuf_alloc_fail, 2);
    for (int i = 0; i < n; i++)
        ps_pbuf_free(s, held[i]);
    ps_pbuf_pool_usage(s, &sf, &st, &lf, &lt);
    CHECK_EQ(sf, 8);
    CHECK_EQ(lf, 2);
    struct ps_pbuf *big = ps_pbuf_alloc(s, 65535);
    REQUIRE(big);
    CHECK(big->cap >= 65535 + PS_PBUF_HEADROOM);
    CHECK(ps_pbuf_alloc(s, 65536 + 1) == NULL);
    ps_pbuf_free(s, big);
    ps_stack_free(s);
}

int main(void)
{
    RUN(push_pull_trim);
    RUN(pools_are_bounded_and_counted);
    TEST_END();
}
