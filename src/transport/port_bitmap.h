/*
 * A bitmap over the 65536 port numbers with a second level that marks
 * full 64-bit words, so "the first clear bit in [from, to]" costs at most
 * one word, a scan of 16 summary words and one more word, whatever the
 * occupancy: what keeps ephemeral port picking flat as the range fills.
 */
#ifndef PS_TRANSPORT_PORT_BITMAP_H
#define PS_TRANSPORT_PORT_BITMAP_H

#include <stdint.h>

#define PS_PORT_WORDS (65536 / 64)

struct ps_port_bitmap {
    uint64_t bits[PS_PORT_WORDS];
    uint64_t full[PS_PORT_WORDS / 64]; /* bit w: bits[w] is all ones */
};

static inline void ps_port_bitmap_set(struct ps_port_bitmap *b, uint16_t port)
{
    unsigned w = port >> 6;
    b->bits[w] |= (uint64_t)1 << (port & 63);
    if (b->bits[w] == UINT64_MAX)
        b->full[w >> 6] |= (uint64_t)1 << (w & 63);
}

static inline void ps_port_bitmap_clear(struct ps_port_bitmap *b, uint16_t port)
{
    unsigned w = port >> 6;
    b->bits[w] &= ~((uint64_t)1 << (port & 63));
    b->full[w >> 6] &= ~((uint64_t)1 << (w & 63));
}

static inline int ps_port_bitmap_test(const struct ps_port_bitmap *b, uint16_t port)
{
    return (int)((b->bits[port >> 6] >> (port & 63)) & 1);
}

/* The first clear bit in [from, to] (from <= to), or -1. */
int ps_port_bitmap_find_clear(const struct ps_port_bitmap *b, unsigned from, unsigned to);

#endif
