/*
 * portstack/gso.h - software segmentation of TCP super-segments, for a
 * driver whose device has no TCP segmentation offload of its own but that
 * wants the stack to hand it super-segments (ps_iface_set_tso): the
 * simulated wire uses it to behave like a TSO network card.
 */
#ifndef PORTSTACK_GSO_H
#define PORTSTACK_GSO_H

#include <stddef.h>
#include <stdint.h>

/* Called once per cut frame; the frame is valid only during the call. */
typedef int (*ps_gso_emit_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Cut the Ethernet + IPv4 + TCP frame[0..len) into frames carrying at most
 * gso_size payload bytes each, as a TSO card does: the same headers and
 * options on every piece, the sequence number advanced, the IPv4 ID
 * counted up, FIN and PSH only on the last piece, CWR only on the first,
 * both checksums recomputed.  scratch (at least PS_GSO_SCRATCH bytes)
 * holds each piece while emit runs.  Returns the number of frames emitted,
 * or a negative errno: -EINVAL for a frame that is not IPv4/TCP or whose
 * lengths do not add up, or the first error emit returned. */
int ps_gso_segment(const uint8_t *frame, size_t len, uint16_t gso_size, uint8_t *scratch,
                   ps_gso_emit_fn emit, void *ctx);

/* Scratch a piece needs: the largest headers plus a 1500-byte MTU's worth. */
#define PS_GSO_SCRATCH (14 + 60 + 60 + 1500)

#endif /* PORTSTACK_GSO_H */
