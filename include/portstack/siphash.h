/*
 * portstack/siphash.h - SipHash-2-4, the keyed hash behind everything that
 * must be unpredictable to an outsider (ISNs, ephemeral port offsets, IP
 * IDs, hash table keys) and behind the stack's random generator.
 *
 * SipHash (Aumasson and Bernstein, 2012) is a PRF with a 128-bit key and a
 * 64-bit output; this implementation matches the reference test vectors.
 */
#ifndef PORTSTACK_SIPHASH_H
#define PORTSTACK_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct ps_siphash_key {
    uint64_t k0, k1;
};

/* SipHash-2-4 of len bytes at data under key. */
uint64_t ps_siphash(const struct ps_siphash_key *key, const void *data, size_t len);

/* Load a key from 16 bytes, little-endian, as the reference code does. */
void ps_siphash_key_from_bytes(struct ps_siphash_key *key, const uint8_t bytes[16]);

/* Convenience: SipHash of up to four 64-bit words (hashed as 8*n bytes,
 * little-endian), without building a buffer. */
uint64_t ps_siphash_u64x4(const struct ps_siphash_key *key, uint64_t a, uint64_t b, uint64_t c,
                          uint64_t d, unsigned n);

#endif /* PORTSTACK_SIPHASH_H */
