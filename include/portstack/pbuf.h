/*
 * portstack/pbuf.h - packet buffers.
 *
 * One buffer design serves every layer.  A pbuf is a contiguous block with
 * PS_PBUF_HEADROOM bytes reserved in front, so an outgoing packet is built
 * from the payload outwards: each layer calls ps_pbuf_push() to claim room
 * for its header just before the current data, without copying.  On input
 * each layer calls ps_pbuf_pull() to step over the header it has parsed.
 *
 * Buffers come from two preallocated pools per stack (small: one frame;
 * large: one whole 64 KiB datagram, for reassembly and big UDP datagrams).
 * Taking a buffer never calls malloc; an empty pool makes the allocation
 * fail, and the failure is counted (stats pbuf_alloc_fail).
 */
#ifndef PORTSTACK_PBUF_H
#define PORTSTACK_PBUF_H

#include "config.h"
#include "types.h"

struct ps_pbuf {
    struct ps_pbuf *next; /* link for whichever queue owns the buffer */
    uint8_t *data;        /* first valid byte */
    size_t len;           /* valid bytes from data */
    size_t cap;           /* bytes of storage in buf[] */
    struct ps_iface *iface; /* interface a received packet came in on */
    ps_time_t stamp;      /* when it was queued (owner's use) */
    uint32_t tag;         /* owner's use (e.g. a fragment's offset) */
    uint8_t pool;         /* which pool it returns to */
    uint8_t flags;        /* PS_PBUF_F_* */
    uint16_t gso_size;    /* a TCP super-segment to be cut at this size by
                           * the driver (TSO, see ps_iface_set_tso); 0 = a
                           * normal packet */
    uint8_t buf[];        /* storage; data points inside it */
};

/* The frame arrived as a link-layer broadcast. */
#define PS_PBUF_F_LINK_BCAST 0x01
/* The packet came back through the loopback path. */
#define PS_PBUF_F_LOOPED 0x02
/* The driver vouches for the TCP/UDP checksum (PS_RX_CSUM_OK). */
#define PS_PBUF_F_CSUM_OK 0x04
/* A received super-packet (PS_RX_GSO): it may exceed the MTU. */
#define PS_PBUF_F_GSO 0x08

/* Take a buffer able to hold `size` bytes after PS_PBUF_HEADROOM bytes of
 * headroom; data points just after the headroom and len is `size`.
 * Returns NULL (and counts it) when no pool can serve it. */
struct ps_pbuf *ps_pbuf_alloc(struct ps_stack *s, size_t size);

/* Return a buffer to its pool.  NULL is allowed. */
void ps_pbuf_free(struct ps_stack *s, struct ps_pbuf *p);

/* Free a whole list linked through ->next. */
void ps_pbuf_free_list(struct ps_stack *s, struct ps_pbuf *p);

/* Bytes free in front of data. */
static inline size_t ps_pbuf_headroom(const struct ps_pbuf *p)
{
    return (size_t)(p->data - p->buf);
}

/* Bytes free after data + len. */
static inline size_t ps_pbuf_tailroom(const struct ps_pbuf *p)
{
    return p->cap - ps_pbuf_headroom(p) - p->len;
}

/* Grow the packet at the front by n bytes (for a header) and return the new
 * data pointer, or NULL if the headroom is too small. */
uint8_t *ps_pbuf_push(struct ps_pbuf *p, size_t n);

/* Remove n bytes from the front (a parsed header); returns the new data
 * pointer, or NULL if the packet is shorter than n. */
uint8_t *ps_pbuf_pull(struct ps_pbuf *p, size_t n);

/* Cut the packet to len bytes (e.g. Ethernet padding); no-op if shorter. */
void ps_pbuf_trim(struct ps_pbuf *p, size_t len);

/* Free buffers in each pool, and the pool sizes. */
void ps_pbuf_pool_usage(const struct ps_stack *s, unsigned *small_free, unsigned *small_total,
                        unsigned *large_free, unsigned *large_total);

#endif /* PORTSTACK_PBUF_H */
