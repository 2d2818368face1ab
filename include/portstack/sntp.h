/*
 * portstack/sntp.h - an SNTP client (RFC 4330) that sets the stack's
 * wall-clock offset (ps_stack_set_realtime_offset) from an NTP server.
 *
 * One request at a time from a fresh socket (a fresh ephemeral port); a
 * reply counts only if it comes from the server asked, is a server-mode
 * reply of our version, is synchronised (LI != 3, stratum 1..15) and
 * echoes our transmit timestamp as its originate timestamp (RFC 4330 5:
 * the defence against off-path replies).  Offset and delay follow RFC 4330
 * section 5.  Host-driven: call ps_sntp_poll() at the deadline it returns.
 */
#ifndef PORTSTACK_SNTP_H
#define PORTSTACK_SNTP_H

#include "types.h"

struct ps_stack;
struct ps_sntp;

#define PS_SNTP_PORT 123
#ifndef PS_SNTP_TIMEOUT_MS
#define PS_SNTP_TIMEOUT_MS 2000   /* per request */
#endif
#ifndef PS_SNTP_TRIES
#define PS_SNTP_TRIES 4           /* before reporting failure */
#endif
#ifndef PS_SNTP_MIN_POLL_S
#define PS_SNTP_MIN_POLL_S 15     /* RFC 4330 10: never more often than this */
#endif

struct ps_sntp_result {
    int err;            /* 0, or -ETIMEDOUT / -ECONNREFUSED / -EPROTO (kiss-o'-death) */
    int64_t offset_us;  /* correction applied to the stack's clock */
    int64_t delay_us;   /* round-trip delay */
    uint8_t stratum;
    ps_time_t when;     /* stack time of the reply */
};

typedef void (*ps_sntp_fn)(void *ctx, const struct ps_sntp_result *r);

/* Query `server` now and then every `interval_s` seconds (0: once).
 * NULL on bad arguments or no memory. */
struct ps_sntp *ps_sntp_start(struct ps_stack *s, ps_ip4_t server, unsigned interval_s, ps_sntp_fn fn,
                              void *ctx);

/* Send or time out what is due; returns the next deadline. */
ps_time_t ps_sntp_poll(struct ps_sntp *c, ps_time_t now);

/* Results so far (successful updates). */
unsigned ps_sntp_updates(const struct ps_sntp *c);

void ps_sntp_stop(struct ps_sntp *c);

#endif
