/* SipHash-2-4 against the reference implementation's published vectors
 * (key 00..0f, message 00..n-1), and the stack's generator built on it. */
#include <portstack/siphash.h>
#include <portstack/stack.h>

#include "test.h"

static const uint64_t vectors[48] = {
    0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
    0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
    0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
    0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL, 0xa129ca6149be45e5ULL,
    0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL, 0x4bc1b3f0968dd39cULL, 0xbb6dc91da77961bdULL,
    0xbed65cf21aa2ee98ULL, 0xd0f2cbb02e3b67c7ULL, 0x93536795e3a33e88ULL, 0xa80c038ccd5ccec8ULL,
    0xb8ad50c6f649af94ULL, 0xbce192de8a85b8eaULL, 0x17d835b85bbb15f3ULL, 0x2f2e6163076bcfadULL,
    0xde4daaaca71dc9a5ULL, 0xa6a2506687956571ULL, 0xad87a3535c49ef28ULL, 0x32d892fad841c342ULL,
    0x7127512f72f27cceULL, 0xa7f32346f95978e3ULL, 0x12e0b01abb051238ULL, 0x15e034d40fa197aeULL,
    0x314dffbe0815a3b4ULL, 0x027990f029623981ULL, 0xcadcd4e59ef40c4dULL, 0x9abfd8766a33735cULL,
    0x0e3ea96b5304a7d0ULL, 0xad0c42d6fc585992ULL, 0x187306c89bc215a9ULL, 0xd4a60abcf3792b95ULL,
    0xf935451de4f21df2ULL, 0xa9538f0419755787ULL, 0xdb9acddff56ca510ULL, 0xd06c98cd5c0975ebULL,
};

TEST(reference_vectors)
{
    uint8_t keyb[16], msg[64];
    struct ps_siphash_key key;
    for (int i = 0; i < 16; i++)
        keyb[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    ps_siphash_key_from_bytes(&key, keyb);
    CHECK_U64(key.k0, 0x0706050403020100ULL);
    CHECK_U64(key.k1, 0x0f0e0d0c0b0a0908ULL);
    for (size_t n = 0; n < 48; n++)
        CHECK_U64(ps_siphash(&key, msg, n), vectors[n]);
}

TEST(words_match_bytes)
{
    struct ps_siphash_key key = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    /* Message 00..0f is the words 0x0706050403020100, 0x0f0e0d0c0b0a0908. */
    CHECK_U64(ps_siphash_u64x4(&key, 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, 0, 0, 2), vectors[16]);
    CHECK_U64(ps_siphash_u64x4(&key, 0x0706050403020100ULL, 0, 0, 0, 1), vectors[8]);
    CHECK_U64(ps_siphash_u64x4(&key, 0, 0, 0, 0, 0), vectors[0]);
}

TEST(stack_random_replays_by_seed)
{
    struct ps_config cfg;
    ps_config_default(&cfg);
    cfg.seed = 42;
    struct ps_stack *a = ps_stack_new(&cfg, 0), *b = ps_stack_new(&cfg, 0);
    cfg.seed = 43;
    struct ps_stack *c = ps_stack_new(&cfg, 0);
    REQUIRE(a && b && c);
    int same = 0, differ = 0;
    uint64_t ones = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = ps_stack_random(a), y = ps_stack_random(b), z = ps_stack_random(c);
        same += x == y;
        differ += x != z;
        ones += (uint64_t)__builtin_popcountll(x);
    }
    CHECK_EQ(same, 1000);
    CHECK_EQ(differ, 1000);
    /* 64000 bits, about half set: a broken generator is far off. */
    CHECK(ones > 31000 && ones < 33000);
    ps_stack_free(a);
    ps_stack_free(b);
    ps_stack_free(c);
}

int main(void)
{
    RUN(reference_vectors);
    RUN(words_match_bytes);
    RUN(stack_random_replays_by_seed);
    TEST_END();
}
