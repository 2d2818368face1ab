/*
 * TCP sequence-number arithmetic (RFC 9293 3.4): sequence numbers are
 * 32-bit and wrap, so they are compared by the sign of their difference
 * (valid while the two are less than 2^31 apart, which the window
 * guarantees).  The same holds for RFC 7323 timestamps.
 */
#ifndef PS_TRANSPORT_TCP_SEQ_H
#define PS_TRANSPORT_TCP_SEQ_H

#include <stdint.h>

static inline int32_t ps_seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}
static inline int ps_seq_lt(uint32_t a, uint32_t b)
{
    return ps_seq_diff(a, b) < 0;
}
static inline int ps_seq_leq(uint32_t a, uint32_t b)
{
    return ps_seq_diff(a, b) <= 0;
}
static inline int ps_seq_gt(uint32_t a, uint32_t b)
{
    return ps_seq_diff(a, b) > 0;
}
static inline int ps_seq_geq(uint32_t a, uint32_t b)
{
    return ps_seq_diff(a, b) >= 0;
}
/* lo <= x < hi, modulo 2^32. */
static inline int ps_seq_in(uint32_t x, uint32_t lo, uint32_t hi)
{
    return ps_seq_geq(x, lo) && ps_seq_lt(x, hi);
}
static inline uint32_t ps_seq_max(uint32_t a, uint32_t b)
{
    return ps_seq_gt(a, b) ? a : b;
}
static inline uint32_t ps_seq_min(uint32_t a, uint32_t b)
{
    return ps_seq_lt(a, b) ? a : b;
}

#endif
