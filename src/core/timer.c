/*
 * Pairing heap of timers (Fredman, Sedgewick, Sleator, Tarjan 1986), with
 * the two-pass merge on delete-min.
 */
#include "timer.h"

#include <stddef.h>

void ps_timer_init(struct ps_timer *t, ps_timer_fn fn)
{
    t->when = 0;
    t->fn = fn;
    t->child = t->next = t->prev = NULL;
    t->armed = false;
}

/* Merge two heap roots; returns the new root. */
static struct ps_timer *meld(struct ps_timer *a, struct ps_timer *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (b->when < a->when) {
        struct ps_timer *tmp = a;
        a = b;
        b = tmp;
    }
    /* b becomes a's first child. */
    b->prev = a;
    b->next = a->child;
    if (a->child)
        a->child->prev = b;
    a->child = b;
    a->next = a->prev = NULL;
    return a;
}

/* Two-pass merge of a sibling list: pair left to right, then fold right to
 * left.  The iterative form keeps the stack depth constant. */
static struct ps_timer *merge_pairs(struct ps_timer *first)
{
    struct ps_timer *paired = NULL; /* list of melded pairs, linked via next, reversed */
    while (first) {
        struct ps_timer *a = first, *b = first->next;
        first = b ? b->next : NULL;
        a->next = a->prev = NULL;
        if (b)
            b->next = b->prev = NULL;
        struct ps_timer *m = meld(a, b);
        m->next = paired;
        paired = m;
    }
    struct ps_timer *root = NULL;
    while (paired) {
        struct ps_timer *n = paired->next;
        paired->next = NULL;
        root = meld(paired, root);
        paired = n;
    }
    return root;
}

/* Unlink t (not the root) and its subtree from its parent/siblings. */
static void detach(struct ps_timer *t)
{
    if (t->prev->child == t)
        t->prev->child = t->next;
    else
        t->prev->next = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

void ps_timer_cancel(struct ps_timer_heap *h, struct ps_timer *t)
{
    if (!t->armed)
        return;
    t->armed = false;
    h->count--;
    if (t == h->root) {
        h->root = merge_pairs(t->child);
    } else {
        detach(t);
        h->root = meld(h->root, merge_pairs(t->child));
    }
    t->child = NULL;
}

void ps_timer_arm(struct ps_timer_heap *h, struct ps_timer *t, ps_time_t when)
{
    ps_timer_cancel(h, t);
    t->when = when;
    t->armed = true;
    t->child = t->next = t->prev = NULL;
    h->count++;
    h->root = meld(h->root, t);
}

ps_time_t ps_timer_next(const struct ps_timer_heap *h)
{
    return h->root ? h->root->when : PS_TIME_NEVER;
}

struct ps_timer *ps_timer_pop_due(struct ps_timer_heap *h, ps_time_t now)
{
    struct ps_timer *t = h->root;
    if (!t || t->when > now)
        return NULL;
    ps_timer_cancel(h, t);
    return t;
}
