/*
 * tests/stream_data.h - test data for byte streams: the byte at any
 * position of a stream is a function of (seed, position), so a receiver
 * can check what it got without keeping a copy, and a FNV-1a checksum.
 */
#ifndef PORTSTACK_TEST_STREAM_DATA_H
#define PORTSTACK_TEST_STREAM_DATA_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Bytes [pos, pos + n) of stream `seed`. */
static inline void gen(uint32_t seed, uint64_t pos, uint8_t *buf, size_t n)
{
    uint64_t blk = UINT64_MAX, v = 0;
    for (size_t i = 0; i < n; i++, pos++) {
        if ((pos >> 3) != blk) {
            blk = pos >> 3;
            v = mix64(blk ^ ((uint64_t)seed << 40));
        }
        buf[i] = (uint8_t)(v >> (8 * (pos & 7)));
    }
}

#define FNV_INIT 0xcbf29ce484222325ULL

static inline uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

#endif
