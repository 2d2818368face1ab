/*
 * Packet buffer pools.  Each pool is one malloc'ed block cut into equal
 * buffers at stack creation; taking and returning a buffer is a free-list
 * pop/push, so the per-packet path never calls the allocator.
 */
#include <portstack/pbuf.h>

#include <stdlib.h>

#include "core/stack_impl.h"

/* Buffers are laid out on 16-byte boundaries. */
size_t ps_pbuf_stride(size_t bufsize)
{
    return (sizeof(struct ps_pbuf) + bufsize + 15u) & ~(size_t)15u;
}

static int pool_init(struct ps_pbuf_pool *pool, unsigned count, size_t bufsize, uint8_t id)
{
    size_t stride = ps_pbuf_stride(bufsize);
    pool->bufsize = bufsize;
    pool->total = pool->nfree = count;
    pool->free = NULL;
    pool->mem = NULL;
    if (count == 0)
        return 0;
    pool->mem = malloc(stride * count);
    if (!pool->mem)
        return -1;
    for (unsigned i = count; i-- > 0;) {
        struct ps_pbuf *p = (struct ps_pbuf *)(void *)(pool->mem + stride * i);
        p->pool = id;
        p->cap = bufsize;
        p->next = pool->free;
        pool->free = p;
    }
    return 0;
}

int ps_pbuf_pools_init(struct ps_stack *s)
{
    if (pool_init(&s->pools[PS_POOL_SMALL], s->cfg.pbuf_small_count, PS_PBUF_SMALL_SIZE, PS_POOL_SMALL) ||
        pool_init(&s->pools[PS_POOL_LARGE], s->cfg.pbuf_large_count, PS_PBUF_LARGE_SIZE, PS_POOL_LARGE))
        return -1;
    return 0;
}

void ps_pbuf_pools_fini(struct ps_stack *s)
{
    for (int i = 0; i < PS_POOL_COUNT; i++) {
        free(s->pools[i].mem);
        s->pools[i].mem = NULL;
    }
}

/* Record a pool's level in its gauge (gauges.h). */
static void pool_gauge(struct ps_stack *s, int pool)
{
    const struct ps_pbuf_pool *p = &s->pools[pool];
    ps_gauge_set(s, pool == PS_POOL_SMALL ? PS_GAUGE_pbuf_small_used : PS_GAUGE_pbuf_large_used, p->total - p->nfree);
}

struct ps_pbuf *ps_pbuf_alloc(struct ps_stack *s, size_t size)
{
    size_t need = size + PS_PBUF_HEADROOM;
    bool ok = ps_alloc_ok(s); /* fault injection: fail as an empty pool would */
    for (int i = 0; ok && i < PS_POOL_COUNT; i++) {
        struct ps_pbuf_pool *pool = &s->pools[i];
        if (need > pool->bufsize || !pool->free)
            continue;
        struct ps_pbuf *p = pool->free;
        pool->free = p->next;
        pool->nfree--;
        pool_gauge(s, i);
        p->next = NULL;
        p->data = p->buf + PS_PBUF_HEADROOM;
        p->len = size;
        p->iface = NULL;
        p->stamp = 0;
        p->tag = 0;
        p->flags = 0;
        p->gso_size = 0;
        return p;
    }
    PS_STAT_INC(s, pbuf_alloc_fail);
    return NULL;
}

void ps_pbuf_free(struct ps_stack *s, struct ps_pbuf *p)
{
    if (!p)
        return;
    struct ps_pbuf_pool *pool = &s->pools[p->pool];
    p->next = pool->free;
    pool->free = p;
    pool->nfree++;
    pool_gauge(s, p->pool);
}

void ps_pbuf_free_list(struct ps_stack *s, struct ps_pbuf *p)
{
    while (p) {
        struct ps_pbuf *n = p->next;
        ps_pbuf_free(s, p);
        p = n;
    }
}

uint8_t *ps_pbuf_push(struct ps_pbuf *p, size_t n)
{
    if (ps_pbuf_headroom(p) < n)
        return NULL;
    p->data -= n;
    p->len += n;
    return p->data;
}

uint8_t *ps_pbuf_pull(struct ps_pbuf *p, size_t n)
{
    if (p->len < n)
        return NULL;
    p->data += n;
    p->len -= n;
    return p->data;
}

void ps_pbuf_trim(struct ps_pbuf *p, size_t len)
{
    if (len < p->len)
        p->len = len;
}

void ps_pbuf_pool_usage(const struct ps_stack *s, unsigned *small_free, unsigned *small_total,
                        unsigned *large_free, unsigned *large_total)
{
    if (small_free)
        *small_free = s->pools[PS_POOL_SMALL].nfree;
    if (small_total)
        *small_total = s->pools[PS_POOL_SMALL].total;
    if (large_free)
        *large_free = s->pools[PS_POOL_LARGE].nfree;
    if (large_total)
        *large_total = s->pools[PS_POOL_LARGE].total;
}
