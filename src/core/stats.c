/*
 * Counter names and printing, generated from the one list in stats.h.
 */
#include <portstack/stats.h>

#include <inttypes.h>

#include "core/stack_impl.h"

static const char *const names[] = {
#define PS_STATS_NAME(name, desc) #name,
    PS_STATS_LIST(PS_STATS_NAME)
#undef PS_STATS_NAME
};

static const char *const descs[] = {
#define PS_STATS_DESC(name, desc) desc,
    PS_STATS_LIST(PS_STATS_DESC)
#undef PS_STATS_DESC
};

#define NSTATS (sizeof(names) / sizeof(names[0]))

const struct ps_stats *ps_stack_stats(const struct ps_stack *s)
{
    return &s->stats;
}

unsigned ps_stats_count(void)
{
    return (unsigned)NSTATS;
}

const char *ps_stats_name(unsigned i)
{
    return i < NSTATS ? names[i] : NULL;
}

const char *ps_stats_desc(unsigned i)
{
    return i < NSTATS ? descs[i] : NULL;
}

uint64_t ps_stats_get(const struct ps_stats *st, unsigned i)
{
    static const size_t offsets[] = {
#define PS_STATS_OFF(name, desc) offsetof(struct ps_stats, name),
        PS_STATS_LIST(PS_STATS_OFF)
#undef PS_STATS_OFF
    };
    if (i >= NSTATS)
        return 0;
    return *(const uint64_t *)(const void *)((const uint8_t *)st + offsets[i]);
}

void ps_stats_print(const struct ps_stats *st, FILE *out, int all)
{
    for (unsigned i = 0; i < NSTATS; i++) {
        uint64_t v = ps_stats_get(st, i);
        if (v || all)
            fprintf(out, "  %-24s %10" PRIu64 "  %s\n", names[i], v, descs[i]);
    }
}
