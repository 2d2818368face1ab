/*
 * portstack/ping.h - a ping client on a stack (an application: it uses
 * only the public net.h API).
 *
 * The host (or the simulation) calls ps_pinger_poll() at the deadlines it
 * returns; the pinger sends `count` echo requests `interval` apart, matches
 * replies by id and sequence number, and keeps per-probe results and the
 * usual summary.
 */
#ifndef PORTSTACK_PING_H
#define PORTSTACK_PING_H

#include "net.h"

struct ps_pinger;

struct ps_pinger_cfg {
    ps_ip4_t dst;
    unsigned count;      /* probes to send (>= 1) */
    ps_time_t interval;  /* between probes (us); 0 = 1 s */
    ps_time_t timeout;   /* a probe unanswered this long is lost; 0 = 2 s */
    size_t size;         /* payload bytes (>= 8 carries a timestamp); 0 = 56 */
    uint8_t ttl;         /* 0 = stack default */
    uint16_t id;         /* echo identifier; 0 = random */
};

enum ps_probe_state { PS_PROBE_UNSENT = 0, PS_PROBE_PENDING, PS_PROBE_REPLIED, PS_PROBE_ERROR, PS_PROBE_LOST };

struct ps_probe {
    enum ps_probe_state state;
    ps_time_t sent_at;
    ps_time_t rtt;        /* for REPLIED */
    uint8_t ttl;          /* reply TTL */
    uint8_t err_type, err_code; /* for ERROR */
    ps_ip4_t from;        /* who answered */
    unsigned duplicates;  /* extra replies */
};

struct ps_ping_summary {
    unsigned sent, received, errors, lost, duplicates, corrupt;
    ps_time_t rtt_min, rtt_avg, rtt_max;
};

/* Called for every reply, error or loss as it happens (may be NULL). */
typedef void (*ps_pinger_event_fn)(void *ctx, unsigned seq, const struct ps_probe *probe, size_t size);

/* Create a pinger; it takes the stack's echo hook.  NULL on bad arguments
 * or no memory. */
struct ps_pinger *ps_pinger_new(struct ps_stack *s, const struct ps_pinger_cfg *cfg, ps_pinger_event_fn fn,
                                void *ctx);

/* Send what is due, time out what is overdue; returns the next deadline
 * (PS_TIME_NEVER once finished). */
ps_time_t ps_pinger_poll(struct ps_pinger *p, ps_time_t now);

/* All probes sent and each answered, failed or timed out. */
bool ps_pinger_done(const struct ps_pinger *p);

/* The result of probe seq (0-based) or NULL. */
const struct ps_probe *ps_pinger_probe(const struct ps_pinger *p, unsigned seq);

void ps_pinger_summary(const struct ps_pinger *p, struct ps_ping_summary *out);

/* Release the pinger and the stack's echo hook. */
void ps_pinger_free(struct ps_pinger *p);

#endif /* PORTSTACK_PING_H */
