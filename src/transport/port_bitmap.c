/*
 * The two-level port bitmap's search.
 */
#include "transport/port_bitmap.h"

/* Count of trailing zeros of a non-zero word. */
static unsigned ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* Ones below bit n (n < 64), and ones above bit n. */
static uint64_t ones_below(unsigned n)
{
    return ((uint64_t)1 << n) - 1;
}
static uint64_t ones_above(unsigned n)
{
    return n == 63 ? 0 : ~(((uint64_t)1 << (n + 1)) - 1);
}

/* The first clear bit in words[] between bit from and bit to inclusive,
 * by plain word scan (used on the 16-word summary). */
static int scan_clear(const uint64_t *words, unsigned from, unsigned to)
{
    for (unsigned w = from >> 6; w <= to >> 6; w++) {
        uint64_t x = words[w];
        if (w == from >> 6)
            x |= ones_below(from & 63);
        if (w == to >> 6)
            x |= ones_above(to & 63);
        if (~x)
            return (int)(w * 64 + ctz64(~x));
    }
    return -1;
}

int ps_port_bitmap_find_clear(const struct ps_port_bitmap *b, unsigned from, unsigned to)
{
    unsigned w = from >> 6, wend = to >> 6;
    uint64_t x = b->bits[w] | ones_below(from & 63);
    if (w == wend)
        x |= ones_above(to & 63);
    if (~x)
        return (int)(w * 64 + ctz64(~x));
    if (w == wend)
        return -1;
    /* The next word that is not full, from the summary. */
    int nw = scan_clear(b->full, w + 1, wend);
    if (nw < 0)
        return -1;
    x = b->bits[nw];
    if ((unsigned)nw == wend)
        x |= ones_above(to & 63);
    if (~x)
        return (int)((unsigned)nw * 64 + ctz64(~x));
    return -1; /* the clear bits of the last word lie beyond `to` */
}
