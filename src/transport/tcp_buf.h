/*
 * Byte rings for TCP's send and receive buffers.  One is allocated when a
 * connection is created, sized by SO_SNDBUF / SO_RCVBUF, and freed when it
 * dies: the memory of a connection is bounded and nothing is allocated per
 * segment.  The receive ring also holds out-of-order data beyond its
 * contiguous part (written with ps_ring_write_at), so reassembly needs no
 * extra buffers.
 */
#ifndef PS_TRANSPORT_TCP_BUF_H
#define PS_TRANSPORT_TCP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct ps_ring {
    uint8_t *buf;
    uint32_t cap;  /* bytes of storage */
    uint32_t head; /* index of the first byte */
    uint32_t len;  /* contiguous bytes held from head */
};

/* Allocate cap bytes (0 or -ENOMEM).  A ring of capacity 0 is valid. */
int ps_ring_alloc(struct ps_ring *r, uint32_t cap);
void ps_ring_free(struct ps_ring *r);

static inline uint32_t ps_ring_space(const struct ps_ring *r)
{
    return r->cap - r->len;
}

/* Append up to n bytes; returns how many fitted. */
uint32_t ps_ring_write(struct ps_ring *r, const void *data, uint32_t n);
/* Write n bytes at offset off past the contiguous end (out-of-order data)
 * without changing len; the caller guarantees len + off + n <= cap. */
void ps_ring_write_at(struct ps_ring *r, uint32_t off, const void *data, uint32_t n);
/* Copy n bytes starting off bytes from head (n + off <= len). */
void ps_ring_peek(const struct ps_ring *r, uint32_t off, void *dst, uint32_t n);
/* Remove n bytes from the front (n <= len). */
void ps_ring_drop(struct ps_ring *r, uint32_t n);
/* Copy out and remove up to n bytes; returns how many. */
uint32_t ps_ring_read(struct ps_ring *r, void *dst, uint32_t n);

#endif
