/*
 * portstack/gauges.h - how much of each bounded resource a stack holds:
 * now, the most it ever held (its high-water mark) and its configured
 * limit.  The counters (stats.h) say what was dropped; the gauges show that
 * what was kept stayed within its bound, for instance through a flood.
 *
 * The list is an X-macro, as the counters are: name, the struct ps_config
 * field that is the gauge's limit, and a description.
 */
#ifndef PORTSTACK_GAUGES_H
#define PORTSTACK_GAUGES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ps_stack;

#define PS_GAUGES_LIST(X)                                                                  \
    X(pbuf_small_used, pbuf_small_count, "small packet buffers in use")                    \
    X(pbuf_large_used, pbuf_large_count, "large packet buffers in use")                    \
    X(reasm_pbufs_held, reasm_max_pbufs, "buffers held by IPv4 reassembly")                \
    X(reasm_datagrams, reasm_max_datagrams, "IPv4 datagrams under reassembly")             \
    X(sockets_used, max_sockets, "socket table entries in use (closing ones too)")         \
    X(tcp_half_open, tcp_half_open_max, "TCP half-open connections, all listeners")        \
    X(tcp_timewait_records, tcp_timewait_max, "TCP TIME-WAIT records")

enum ps_gauge_id {
#define PS_GAUGE_ID(name, limit, desc) PS_GAUGE_##name,
    PS_GAUGES_LIST(PS_GAUGE_ID)
#undef PS_GAUGE_ID
    PS_GAUGE_COUNT
};

struct ps_gauge {
    const char *name, *desc;
    uint64_t now;   /* held now */
    uint64_t peak;  /* the most ever held at once */
    uint64_t limit; /* the configured bound */
};

/* Gauge i (an enum ps_gauge_id) of stack s; false when i is past the end. */
bool ps_stack_gauge(const struct ps_stack *s, unsigned i, struct ps_gauge *out);

/* Print every gauge as "  name  now N  peak P  limit L  description". */
void ps_gauges_print(const struct ps_stack *s, FILE *out);

#endif /* PORTSTACK_GAUGES_H */
