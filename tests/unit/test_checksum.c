/*
 * Tests of the Internet checksum and its incremental update.
 */
#include "portstack/wire.h"
#include "test.h"

/* A small deterministic generator (xorshift32); the state is the caller's. */
static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* The plain RFC 1071 definition, a byte pair at a time, as the reference. */
static uint16_t ref_cksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if (len & 1) {
        sum += (uint32_t)p[len - 1] << 8;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

/* Fold a running sum to 16 bits without complementing it. */
static uint16_t folded(uint32_t sum)
{
    return (uint16_t)~ps_cksum_finish(sum);
}

/* RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2. */
TEST(rfc1071_example)
{
    static const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

    CHECK_U64(folded(ps_cksum_add(0, b, 8)), 0xddf2);
    CHECK_U64(ps_cksum(b, 8), 0x220d);
    /* The same sum in pieces, each but the last of even length. */
    CHECK_U64(ps_cksum_finish(ps_cksum_add(ps_cksum_add(0, b, 2), b + 2, 6)), 0x220d);
    CHECK_U64(ps_cksum_finish(ps_cksum_add(ps_cksum_add(0, b, 4), b + 4, 4)), 0x220d);
    CHECK_U64(ps_cksum_finish(ps_cksum_add(ps_cksum_add(0, b, 6), b + 6, 2)), 0x220d);

    /* With the checksum appended the whole verifies to 0. */
    uint8_t c[10];
    memcpy(c, b, 8);
    ps_put16(c + 8, 0x220d);
    CHECK_U64(ps_cksum(c, 10), 0);
}

TEST(small_and_odd_lengths)
{
    static const uint8_t b[] = {0x12, 0x34, 0x56, 0x78, 0x9a};

    CHECK_U64(ps_cksum(b, 0), 0xffff);
    CHECK_U64(ps_cksum(b, 1), (uint16_t)~0x1200);
    CHECK_U64(ps_cksum(b, 2), (uint16_t)~0x1234);
    CHECK_U64(ps_cksum(b, 3), (uint16_t)~(0x1234 + 0x5600));
    /* 1234 + 5678 + 9a00 = 1_02ac, and the carry wraps round: 02ad. */
    CHECK_U64(ps_cksum(b, 5), (uint16_t)~0x02ad);
    /* An odd last chunk after even ones. */
    CHECK_U64(ps_cksum_finish(ps_cksum_add(ps_cksum_add(0, b, 4), b + 4, 1)),
              ps_cksum(b, 5));
    /* A carry out of the top is wrapped around: ffff + 0001 = 0001. */
    static const uint8_t w[] = {0xff, 0xff, 0x00, 0x01};
    CHECK_U64(folded(ps_cksum_add(0, w, 4)), 0x0001);
    /* All zeros sum to +0, so the checksum is ffff. */
    static const uint8_t z[6] = {0};
    CHECK_U64(ps_cksum(z, 6), 0xffff);
}

/* Every length up to a few hundred bytes at every start offset mod 8,
 * against the byte-pair reference. */
TEST(matches_reference_any_alignment)
{
    static uint8_t buf[520];
    uint32_t s = 12345;

    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)rnd(&s);
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len <= 512; len++) {
            uint16_t want = ref_cksum(buf + off, len);
            uint16_t got = ps_cksum(buf + off, len);
            if (got != want) {
                T_FAIL("off %zu len %zu: got %04x want %04x", off, len, got, want);
                return;
            }
        }
    }
}

/* Many big words: the deferred carries must not be lost. */
TEST(large_buffers)
{
    size_t n = (size_t)3 << 20;
    uint8_t *big = malloc(n + 1);
    REQUIRE(big != NULL);

    memset(big, 0xff, n + 1);
    CHECK_U64(ps_cksum(big, n), 0x0000);       /* a sum of -0s stays -0 */
    CHECK_U64(ps_cksum(big + 1, n), 0x0000);   /* unaligned */
    CHECK_U64(ps_cksum(big, n - 1), 0x00ff);   /* ffff... + ff00 */

    uint32_t s = 99;
    for (size_t i = 0; i < n + 1; i++)
        big[i] = (uint8_t)rnd(&s);
    CHECK_U64(ps_cksum(big, n), ref_cksum(big, n));
    CHECK_U64(ps_cksum(big + 1, n), ref_cksum(big + 1, n));
    CHECK_U64(ps_cksum(big + 3, n - 3), ref_cksum(big + 3, n - 3));
    free(big);
}

/* Summing in even chunks, then an odd last one, equals one pass; and a
 * starting sum carries over. */
TEST(chunked_equals_whole)
{
    uint8_t buf[300];
    uint32_t s = 7;

    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)rnd(&s);
    for (int iter = 0; iter < 500; iter++) {
        size_t len = rnd(&s) % sizeof buf;
        uint32_t sum = rnd(&s) & 0xffff;
        uint32_t expect = ps_cksum_add(sum, buf, len);
        uint32_t acc = sum;
        size_t pos = 0;
        while (pos < len) {
            size_t step = (rnd(&s) % 40) & ~(size_t)1;
            if (step > len - pos)
                step = len - pos;
            acc = ps_cksum_add(acc, buf + pos, step);
            pos += step;
        }
        CHECK_U64(ps_cksum_finish(acc), ps_cksum_finish(expect));
    }
}

/* A Linux-made IPv4 header (ping 10.0.0.2) verifies to 0, and recomputing
 * its checksum field gives the original. */
TEST(real_ipv4_header)
{
    uint8_t ip[20] = {0x45, 0x00, 0x00, 0x54, 0x29, 0xfe, 0x40, 0x00, 0x40, 0x01,
                      0xfc, 0xa8, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02};

    CHECK_U64(ps_cksum(ip, 20), 0);
    ps_put16(ip + 10, 0);
    CHECK_U64(ps_cksum(ip, 20), 0xfca8);
}

TEST(pseudo_header)
{
    /* The UDP datagram Linux sent from 10.0.0.1:59454 to 10.0.0.2:5353
     * carrying "hello portstack\n", checksum 87db. */
    static const uint8_t udp[24] = {0xe8, 0x3e, 0x14, 0xe9, 0x00, 0x18, 0x87, 0xdb,
                                    'h', 'e', 'l', 'l', 'o', ' ', 'p', 'o',
                                    'r', 't', 's', 't', 'a', 'c', 'k', '\n'};
    uint32_t ph = ps_cksum_pseudo(PS_IP4(10, 0, 0, 1), PS_IP4(10, 0, 0, 2), 17, 24);

    CHECK_U64(folded(ph), 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 24);
    CHECK_U64(ps_cksum_finish(ps_cksum_add(ph, udp, 24)), 0);
    /* The pseudo-header as bytes sums the same. */
    static const uint8_t phb[12] = {10, 0, 0, 1, 10, 0, 0, 2, 0, 17, 0, 24};
    CHECK_U64(folded(ps_cksum_add(0, phb, 12)), folded(ph));
    /* Large addresses make carries. */
    uint32_t big = ps_cksum_pseudo(0xffffffffu, 0xfffefffdu, 255, 0xffff);
    static const uint8_t bigb[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
                                     0xff, 0xfd, 0, 255, 0xff, 0xff};
    CHECK_U64(folded(big), folded(ps_cksum_add(0, bigb, 12)));
}

/* RFC 1624 section 4: a word changes 5555 -> 3285 in a header whose other
 * words sum to cd7a, so the new checksum is 0000; eqn. 2 would give ffff. */
TEST(rfc1624_corner_case)
{
    CHECK_U64(ps_cksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    /* And back again. */
    CHECK_U64(ps_cksum_update16(0x0000, 0x3285, 0x5555), 0xdd2f);
    /* No change, no difference. */
    CHECK_U64(ps_cksum_update16(0x1234, 0xabcd, 0xabcd), 0x1234);

    /* The same with real bytes: words summing to cd7a plus the field. */
    uint8_t b[6];
    ps_put16(b, 0xcd7a);
    ps_put16(b + 2, 0x5555);
    ps_put16(b + 4, 0);
    CHECK_U64(ps_cksum(b, 6), 0xdd2f);
    ps_put16(b + 2, 0x3285);
    CHECK_U64(ps_cksum(b, 6), 0x0000);
}

/* A random 20-byte header with a valid checksum field at offset 10. */
static void random_header(uint8_t h[20], uint32_t *s)
{
    for (int i = 0; i < 20; i++)
        h[i] = (uint8_t)rnd(s);
    h[0] |= 0x40; /* never all zero */
    ps_put16(h + 10, 0);
    ps_put16(h + 10, ps_cksum(h, 20));
}

TEST(update16_matches_recompute)
{
    uint32_t s = 2024;
    int zero_results = 0;

    for (int iter = 0; iter < 20000; iter++) {
        uint8_t h[20];
        random_header(h, &s);
        int w = (int)(rnd(&s) % 10);
        if (w == 5)
            continue; /* the checksum field itself */
        uint16_t old = ps_get16(h + 2 * w);
        uint16_t nw = (uint16_t)rnd(&s);
        if (iter % 4 == 0) {
            /* Force the corner case: choose the new word so that the
             * recomputed checksum is 0000. */
            uint8_t t[20];
            memcpy(t, h, 20);
            ps_put16(t + 10, 0);
            ps_put16(t + 2 * w, 0);
            nw = (uint16_t)~folded(ps_cksum_add(0, t, 20));
        }
        uint16_t upd = ps_cksum_update16(ps_get16(h + 10), old, nw);
        ps_put16(h + 2 * w, nw);
        ps_put16(h + 10, 0);
        uint16_t full = ps_cksum(h, 20);
        if (upd != full) {
            T_FAIL("word %d %04x->%04x: update %04x, recomputed %04x", w, old, nw, upd, full);
            return;
        }
        zero_results += full == 0;
    }
    CHECK(zero_results >= 4000);
}

TEST(update32_matches_recompute)
{
    uint32_t s = 77;

    for (int iter = 0; iter < 20000; iter++) {
        uint8_t h[20];
        random_header(h, &s);
        int at = 12 + 4 * (int)(rnd(&s) % 2); /* source or destination */
        uint32_t old = ps_get32(h + at);
        uint32_t nv = rnd(&s);
        if (iter % 4 == 0)
            nv = old ^ 0xffff0000u; /* half the address changes */
        uint16_t upd = ps_cksum_update32(ps_get16(h + 10), old, nv);
        ps_put32(h + at, nv);
        ps_put16(h + 10, 0);
        uint16_t full = ps_cksum(h, 20);
        if (upd != full) {
            T_FAIL("%08x->%08x: update %04x, recomputed %04x", old, nv, upd, full);
            return;
        }
    }
}

/* Rewriting an address that only the pseudo-header covers (as NAT does to
 * a UDP or TCP checksum) works the same way. */
TEST(update32_pseudo_header)
{
    uint8_t seg[64];
    uint32_t s = 5;

    for (int iter = 0; iter < 2000; iter++) {
        for (size_t i = 0; i < sizeof seg; i++)
            seg[i] = (uint8_t)rnd(&s);
        ps_ip4_t src = rnd(&s), dst = rnd(&s), nsrc = rnd(&s);
        ps_put16(seg + 16, 0);
        uint16_t c = ps_cksum_finish(ps_cksum_add(ps_cksum_pseudo(src, dst, 6, 64), seg, 64));
        uint16_t want = ps_cksum_finish(ps_cksum_add(ps_cksum_pseudo(nsrc, dst, 6, 64), seg, 64));
        CHECK_U64(ps_cksum_update32(c, src, nsrc), want);
    }
}

int main(void)
{
    RUN(rfc1071_example);
    RUN(small_and_odd_lengths);
    RUN(matches_reference_any_alignment);
    RUN(large_buffers);
    RUN(chunked_equals_whole);
    RUN(real_ipv4_header);
    RUN(pseudo_header);
    RUN(rfc1624_corner_case);
    RUN(update16_matches_recompute);
    RUN(update32_matches_recompute);
    RUN(update32_pseudo_header);
    TEST_END();
}
