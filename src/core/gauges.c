/*
 * Gauges (gauges.h): the levels are kept by the modules that own each
 * resource (ps_gauge_set in stack_impl.h); names, limits and printing are
 * generated here from the one list.
 */
#include <portstack/gauges.h>

#include <inttypes.h>

#include "core/stack_impl.h"

static const char *const names[] = {
#define PS_GAUGE_NAME(name, limit, desc) #name,
    PS_GAUGES_LIST(PS_GAUGE_NAME)
#undef PS_GAUGE_NAME
};

static const char *const descs[] = {
#define PS_GAUGE_DESC(name, limit, desc) desc,
    PS_GAUGES_LIST(PS_GAUGE_DESC)
#undef PS_GAUGE_DESC
};

static uint64_t limit_of(const struct ps_stack *s, unsigned i)
{
    switch (i) {
#define PS_GAUGE_LIMIT(name, limit, desc) \
    case PS_GAUGE_##name:                 \
        return s->cfg.limit;
        PS_GAUGES_LIST(PS_GAUGE_LIMIT)
#undef PS_GAUGE_LIMIT
    default:
        return 0;
    }
}

bool ps_stack_gauge(const struct ps_stack *s, unsigned i, struct ps_gauge *out)
{
    if (i >= PS_GAUGE_COUNT)
        return false;
    out->name = names[i];
    out->desc = descs[i];
    out->now = s->gauges[i].now;
    out->peak = s->gauges[i].peak;
    out->limit = limit_of(s, i);
    return true;
}

void ps_gauges_print(const struct ps_stack *s, FILE *out)
{
    struct ps_gauge g;
    for (unsigned i = 0; ps_stack_gauge(s, i, &g); i++)
        fprintf(out, "  %-24s now %8" PRIu64 "  peak %8" PRIu64 "  limit %8" PRIu64 "  %s\n", g.name, g.now, g.peak,
                g.limit, g.desc);
}
