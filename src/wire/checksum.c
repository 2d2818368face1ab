/*
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 */
#include "portstack/wire.h"

#include <string.h>

/* Words summed between two folds of the block accumulator: each adds less
 * than 2^32, so 2^20 of them stay far below 2^64. */
#define BLOCK_WORDS ((size_t)1 << 20)

static uint32_t fold64(uint64_t s)
{
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

static uint16_t fold16(uint32_t s)
{
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)s;
}

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;

    memcpy(&first, &one, 1);
    return first == 1;
}

/* Sum native-order 32-bit words of p[0 .. 4*n).  memcpy makes the loads
 * safe at any alignment and compiles to plain loads. */
static uint64_t sum_words(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;

    for (; n >= 4; n -= 4, p += 16) {
        uint32_t w[4];
        memcpy(w, p, sizeof w);
        acc += (uint64_t)w[0] + w[1] + w[2] + w[3];
    }
    for (; n > 0; n--, p += 4) {
        uint32_t w;
        memcpy(&w, p, sizeof w);
        acc += w;
    }
    return acc;
}

uint32_t ps_cksum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t acc = 0;

    while (len >= 4) {
        size_t n = len / 4;
        if (n > BLOCK_WORDS)
            n = BLOCK_WORDS;
        acc = fold64(acc + sum_words(p, n));
        p += n * 4;
        len -= n * 4;
    }

    /* The words were added in host order.  One's-complement addition does
     * not care about byte order (RFC 1071 section 2(B)): on a little-endian
     * host the folded sum is the big-endian sum with its bytes swapped. */
    uint32_t s = fold16(fold64(acc));
    if (host_is_little_endian())
        s = ((s & 0xffu) << 8) | (s >> 8);

    if (len >= 2) {
        s += ps_get16(p);
        p += 2;
        len -= 2;
    }
    if (len == 1)
        s += (uint32_t)p[0] << 8; /* an odd last byte is padded with zero */

    return fold64((uint64_t)sum + s);
}

uint16_t ps_cksum_finish(uint32_t sum)
{
    return (uint16_t)~fold16(sum);
}

uint16_t ps_cksum(const void *data, size_t len)
{
    return ps_cksum_finish(ps_cksum_add(0, data, len));
}

uint32_t ps_cksum_pseudo(ps_ip4_t src, ps_ip4_t dst, uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + proto + len;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').  Unlike eqn. 2 it never turns a
 * checksum that should be 0x0000 into 0xffff. */
uint16_t ps_cksum_update16(uint16_t cksum, uint16_t old_word, uint16_t new_word)
{
    uint32_t s = (uint32_t)(uint16_t)~cksum + (uint16_t)~old_word + new_word;
    return (uint16_t)~fold16(s);
}

uint16_t ps_cksum_update32(uint16_t cksum, uint32_t old_val, uint32_t new_val)
{
    uint32_t s = (uint32_t)(uint16_t)~cksum;
    s += (uint16_t)~(old_val >> 16) + (uint16_t)~old_val;
    s += (new_val >> 16) + (new_val & 0xffffu);
    return (uint16_t)~fold16(s);
}
