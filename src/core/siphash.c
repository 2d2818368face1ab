/*
 * SipHash-2-4 (Aumasson, Bernstein 2012): two compression rounds per 8-byte
 * word, four finalisation rounds, 128-bit key, 64-bit output.
 */
#include <portstack/siphash.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND               \
    do {                       \
        v0 += v1;              \
        v1 = ROTL(v1, 13);     \
        v1 ^= v0;              \
        v0 = ROTL(v0, 32);     \
        v2 += v3;              \
        v3 = ROTL(v3, 16);     \
        v3 ^= v2;              \
        v0 += v3;              \
        v3 = ROTL(v3, 21);     \
        v3 ^= v0;              \
        v2 += v1;              \
        v1 = ROTL(v1, 17);     \
        v1 ^= v2;              \
        v2 = ROTL(v2, 32);     \
    } while (0)

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void ps_siphash_key_from_bytes(struct ps_siphash_key *key, const uint8_t bytes[16])
{
    key->k0 = load_le64(bytes);
    key->k1 = load_le64(bytes + 8);
}

uint64_t ps_siphash(const struct ps_siphash_key *key, const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ key->k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ key->k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ key->k0;
    uint64_t v3 = 0x7465646279746573ULL ^ key->k1;
    const uint8_t *end = in + (len - (len % 8));

    for (; in != end; in += 8) {
        uint64_t m = load_le64(in);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    /* Last block: the remaining bytes, with the length in the top byte. */
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++)
        b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t ps_siphash_u64x4(const struct ps_siphash_key *key, uint64_t a, uint64_t b, uint64_t c,
                          uint64_t d, unsigned n)
{
    uint8_t buf[32];
    uint64_t w[4] = {a, b, c, d};
    if (n > 4)
        n = 4;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < 8; j++)
            buf[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
    return ps_siphash(key, buf, 8 * (size_t)n);
}
