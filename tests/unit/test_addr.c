/*
 * Tests of the text forms of addresses.
 */
#include "portstack/types.h"
#include "test.h"

#include <errno.h>

TEST(ip4_aton_valid)
{
    static const struct {
        const char *s;
        ps_ip4_t ip;
    } ok[] = {
        {"0.0.0.0", 0},
        {"255.255.255.255", 0xffffffffu},
        {"192.0.2.1", 0xc0000201u},
        {"10.0.0.1", PS_IP4(10, 0, 0, 1)},
        {"1.22.133.244", PS_IP4(1, 22, 133, 244)},
        {"127.0.0.1", PS_IP4(127, 0, 0, 1)},
        {"0.10.100.200", PS_IP4(0, 10, 100, 200)},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ps_ip4_t ip = 0x12345678;
        CHECK_EQ(ps_ip4_aton(ok[i].s, &ip), 0);
        CHECK_U64(ip, ok[i].ip);
    }
}

TEST(ip4_aton_invalid)
{
    static const char *const bad[] = {
        "", "1", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "1.2.3.4.",
        "256.1.1.1", "1.256.1.1", "1.1.1.256", "999.1.1.1", "1.2.3.1000", "1.2.3.0004",
        " 1.2.3.4", "1.2.3.4 ", "+1.2.3.4", "1.+2.3.4", "-1.2.3.4", "1.2.3.-4",
        "1.2.3.4x", "1.2.3.4\n", "0x1.2.3.4", "1.2.3.0x4", "a.b.c.d", "1,2,3,4",
        "01.2.3.4", "1.2.3.04", "00.0.0.0", "1.2.3.4/24", "4294967295",
        "...", "1.2. 3.4",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ps_ip4_t ip = 0x12345678;
        int r = ps_ip4_aton(bad[i], &ip);
        if (r != -EINVAL)
            T_FAIL("\"%s\": got %d, want -EINVAL", bad[i], r);
        CHECK_U64(ip, 0x12345678); /* left alone on error */
    }
}

TEST(ip4_ntoa)
{
    char buf[PS_IP4_STRLEN];

    CHECK(ps_ip4_ntoa(0, buf) == buf);
    CHECK(strcmp(buf, "0.0.0.0") == 0);
    ps_ip4_ntoa(0xffffffffu, buf); /* the longest form fills the buffer */
    CHECK(strcmp(buf, "255.255.255.255") == 0);
    ps_ip4_ntoa(PS_IP4(192, 0, 2, 1), buf);
    CHECK(strcmp(buf, "192.0.2.1") == 0);
    ps_ip4_ntoa(PS_IP4(10, 0, 100, 7), buf);
    CHECK(strcmp(buf, "10.0.100.7") == 0);

    /* Round trip through the text form. */
    uint32_t x = 0x9e3779b9;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ps_ip4_t back = 0;
        ps_ip4_ntoa(x, buf);
        CHECK_EQ(ps_ip4_aton(buf, &back), 0);
        CHECK_U64(back, x);
        if (t_cur_failed)
            return;
    }
}

TEST(ip4_parse_prefix)
{
    ps_ip4_t a = 0;
    uint8_t p = 99;

    CHECK_EQ(ps_ip4_parse_prefix("10.0.0.0/8", &a, &p), 0);
    CHECK_U64(a, PS_IP4(10, 0, 0, 0));
    CHECK_EQ(p, 8);
    CHECK_EQ(ps_ip4_parse_prefix("192.0.2.77/24", &a, &p), 0);
    CHECK_U64(a, PS_IP4(192, 0, 2, 77)); /* host bits are kept */
    CHECK_EQ(p, 24);
    CHECK_EQ(ps_ip4_parse_prefix("0.0.0.0/0", &a, &p), 0);
    CHECK_U64(a, 0);
    CHECK_EQ(p, 0);
    CHECK_EQ(ps_ip4_parse_prefix("1.2.3.4/32", &a, &p), 0);
    CHECK_EQ(p, 32);

    static const char *const bad[] = {
        "1.2.3.4", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/100", "1.2.3.4/-1", "1.2.3.4/+8",
        "1.2.3.4/ 8", "1.2.3.4/8 ", "1.2.3.4/08", "1.2.3.4//8", "1.2.3.4/8/8", "/8",
        "1.2.3/8", "1.2.3.4.5/8", "256.2.3.4/8", "1.2.3.4 /8", "1.2.3.4/x", "",
        "1.2.3.4/8x", "1.2.3.4/999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = 0x12345678;
        p = 99;
        int r = ps_ip4_parse_prefix(bad[i], &a, &p);
        if (r != -EINVAL)
            T_FAIL("\"%s\": got %d, want -EINVAL", bad[i], r);
        CHECK_U64(a, 0x12345678);
        CHECK_EQ(p, 99);
    }
}

TEST(ip4_mask)
{
    CHECK_U64(ps_ip4_mask(0), 0);
    CHECK_U64(ps_ip4_mask(1), 0x80000000u);
    CHECK_U64(ps_ip4_mask(8), 0xff000000u);
    CHECK_U64(ps_ip4_mask(20), 0xfffff000u);
    CHECK_U64(ps_ip4_mask(24), 0xffffff00u);
    CHECK_U64(ps_ip4_mask(31), 0xfffffffeu);
    CHECK_U64(ps_ip4_mask(32), 0xffffffffu);
    /* Each mask is the previous one with one more bit set. */
    for (uint8_t n = 1; n <= 32; n++)
        CHECK_U64(ps_ip4_mask(n), ps_ip4_mask((uint8_t)(n - 1)) | (1u << (32 - n)));
}

TEST(mac_ntoa)
{
    char buf[PS_MAC_STRLEN];
    const ps_mac_t m = {{0x86, 0xbe, 0xcd, 0x49, 0x8a, 0x04}};
    const ps_mac_t z = {{0}};
    const ps_mac_t b = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    const ps_mac_t l = {{0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a}};

    CHECK(ps_mac_ntoa(&m, buf) == buf);
    CHECK(strcmp(buf, "86:be:cd:49:8a:04") == 0);
    ps_mac_ntoa(&z, buf);
    CHECK(strcmp(buf, "00:00:00:00:00:00") == 0);
    ps_mac_ntoa(&b, buf);
    CHECK(strcmp(buf, "ff:ff:ff:ff:ff:ff") == 0);
    ps_mac_ntoa(&l, buf);
    CHECK(strcmp(buf, "02:00:5e:10:00:0a") == 0);
}

int main(void)
{
    RUN(ip4_aton_valid);
    RUN(ip4_aton_invalid);
    RUN(ip4_ntoa);
    RUN(ip4_parse_prefix);
    RUN(ip4_mask);
    RUN(mac_ntoa);
    TEST_END();
}
