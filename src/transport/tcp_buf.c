/*
 * Byte rings (tcp_buf.h).
 */
#include "transport/tcp_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ps_ring_alloc(struct ps_ring *r, uint32_t cap)
{
    r->head = r->len = 0;
    r->cap = 0;
    r->buf = NULL;
    if (cap == 0)
        return 0;
    r->buf = malloc(cap);
    if (!r->buf)
        return -ENOMEM;
    r->cap = cap;
    return 0;
}

void ps_ring_free(struct ps_ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = r->head = r->len = 0;
}

/* Copy n bytes into the ring at absolute position pos (mod cap). */
static void put(struct ps_ring *r, uint32_t pos, const uint8_t *src, uint32_t n)
{
    pos %= r->cap;
    uint32_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(r->buf + pos, src, first);
    if (n > first)
        memcpy(r->buf, src + first, n - first);
}

uint32_t ps_ring_write(struct ps_ring *r, const void *data, uint32_t n)
{
    uint32_t room = ps_ring_space(r);
    if (n > room)
        n = room;
    if (n == 0)
        return 0;
    put(r, r->head + r->len, data, n);
    r->len += n;
    return n;
}

void ps_ring_write_at(struct ps_ring *r, uint32_t off, const void *data, uint32_t n)
{
    if (n == 0 || r->cap == 0)
        return;
    put(r, (uint32_t)(((uint64_t)r->head + r->len + off) % r->cap), data, n);
}

void ps_ring_peek(const struct ps_ring *r, uint32_t off, void *dst, uint32_t n)
{
    if (n == 0)
        return;
    uint32_t pos = (uint32_t)(((uint64_t)r->head + off) % r->cap);
    uint32_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(dst, r->buf + pos, first);
    if (n > first)
        memcpy((uint8_t *)dst + first, r->buf, n - first);
}

void ps_ring_drop(struct ps_ring *r, uint32_t n)
{
    if (n > r->len)
        n = r->len;
    if (n == 0)
        return;
    /* head is never reset when the ring empties: out-of-order data may
     * sit beyond the contiguous part, placed relative to head. */
    r->len -= n;
    r->head = (uint32_t)(((uint64_t)r->head + n) % r->cap);
}

uint32_t ps_ring_read(struct ps_ring *r, void *dst, uint32_t n)
{
    if (n > r->len)
        n = r->len;
    ps_ring_peek(r, 0, dst, n);
    ps_ring_drop(r, n);
    return n;
}
