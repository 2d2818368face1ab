/*
 * TCP internals: sequence arithmetic across the 2^32 wrap, the byte rings
 * (wrap-around, out-of-order writes), and RFC 6528 ISNs (distinct per
 * quadruple, growing with time for one quadruple).
 */
#include <string.h>

#include <portstack/portstack.h>

#include "core/stack_impl.h"
#include "test.h"
#include "transport/tcp.h"
#include "transport/tcp_buf.h"
#include "transport/tcp_seq.h"

TEST(seq_compare_across_wrap)
{
    CHECK(ps_seq_lt(1, 2));
    CHECK(ps_seq_lt(0xfffffff0u, 0x10u)); /* across the wrap */
    CHECK(ps_seq_gt(0x10u, 0xfffffff0u));
    CHECK(ps_seq_leq(5, 5) && ps_seq_geq(5, 5));
    CHECK(!ps_seq_lt(5, 5));
    CHECK(ps_seq_in(0xffffffffu, 0xfffffff0u, 0x20u));
    CHECK(ps_seq_in(0x0u, 0xfffffff0u, 0x20u));
    CHECK(!ps_seq_in(0x20u, 0xfffffff0u, 0x20u)); /* hi is exclusive */
    CHECK_EQ(ps_seq_max(0xfffffff0u, 0x10u), 0x10u);
    CHECK_EQ(ps_seq_min(0xfffffff0u, 0x10u), 0xfffffff0u);
    CHECK_EQ(ps_seq_diff(0x5u, 0xfffffffbu), 10);
    /* Half the space apart is the limit of meaningful comparison. */
    CHECK(ps_seq_lt(0, 0x7fffffffu));
    CHECK(ps_seq_gt(0, 0x80000001u));
}

TEST(ring_wraps)
{
    struct ps_ring r;
    REQUIRE(ps_ring_alloc(&r, 10) == 0);
    uint8_t out[16];
    CHECK_EQ(ps_ring_write(&r, "abcdefgh", 8), 8);
    CHECK_EQ(ps_ring_read(&r, out, 6), 6);
    CHECK(memcmp(out, "abcdef", 6) == 0);
    CHECK_EQ(ps_ring_write(&r, "ijklmnopqr", 10), 8); /* 2 held: room for 8, wrapping */
    CHECK_EQ(r.len, 10u);
    CHECK_EQ(ps_ring_space(&r), 0u);
    ps_ring_peek(&r, 1, out, 6);
    CHECK(memcmp(out, "hijklm", 6) == 0);
    CHECK_EQ(ps_ring_read(&r, out, 16), 10);
    CHECK(memcmp(out, "ghijklmnop", 10) == 0);
    CHECK_EQ(ps_ring_read(&r, out, 4), 0);
    /* Out of order: bytes placed past the end, then the gap filled. */
    ps_ring_write_at(&r, 3, "XYZ", 3);
    CHECK_EQ(ps_ring_write(&r, "uvw", 3), 3);
    r.len += 3; /* what tcp_input does when the hole closes */
    CHECK_EQ(ps_ring_read(&r, out, 6), 6);
    CHECK(memcmp(out, "uvwXYZ", 6) == 0);
    ps_ring_free(&r);
    CHECK(r.buf == NULL && r.cap == 0);
}

TEST(isn_per_quadruple_and_clock)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 99;
    struct ps_stack *s = ps_stack_new(&cfg, PS_SEC(10));
    REQUIRE(s);
    ps_ip4_t a = PS_IP4(192, 0, 2, 1), b = PS_IP4(192, 0, 2, 2);
    uint32_t i1 = ps_tcp_isn(s, a, 1000, b, 80);
    uint32_t i2 = ps_tcp_isn(s, a, 1001, b, 80);
    uint32_t i3 = ps_tcp_isn(s, b, 80, a, 1000);
    CHECK(i1 != i2 && i1 != i3 && i2 != i3);
    CHECK_EQ(ps_tcp_isn(s, a, 1000, b, 80), i1); /* same time, same quadruple */
    /* Later, the same quadruple starts further on (4 us ticks). */
    ps_stack_poll(s, PS_SEC(10) + PS_MS(1));
    uint32_t later = ps_tcp_isn(s, a, 1000, b, 80);
    CHECK_EQ(later - i1, 250u);
    ps_stack_poll(s, PS_SEC(20));
    CHECK(ps_seq_gt(ps_tcp_isn(s, a, 1000, b, 80), later));
    /* Another seed: unrelated numbers. */
    cfg.seed = 100;
    struct ps_stack *s2 = ps_stack_new(&cfg, PS_SEC(10));
    REQUIRE(s2);
    CHECK(ps_tcp_isn(s2, a, 1000, b, 80) != i1);
    ps_stack_free(s);
    ps_stack_free(s2);
}

int main(void)
{
    RUN(seq_compare_across_wrap);
    RUN(ring_wraps);
    RUN(isn_per_quadruple_and_clock);
    TEST_END();
}
