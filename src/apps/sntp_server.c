/*
 * The SNTP server: one reply per client request, from the socket's
 * readiness callback.  NTP time stamps are 32.32 fixed point seconds since
 * 1900; the stack's wall clock is microseconds since 1970.
 */
#include <portstack/sntp_server.h>
#include <portstack/socket.h>
#include <portstack/stack.h>
#include <portstack/stats.h>
#include <portstack/wire.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NTP_LEN 48
#define NTP_MODE_CLIENT 3
#define NTP_MODE_SERVER 4
#define NTP_LI_ALARM 3
/* Seconds from 1900-01-01 to 1970-01-01. */
#define NTP_UNIX_DELTA 2208988800ULL
/* What a request may carry beyond the header (extension fields, a MAC)
 * and still be read whole; the rest is ignored. */
#define NTP_RECV_MAX 128

struct ps_sntpd {
    struct ps_stack *s;
    uint16_t port;
    int fd;
    uint8_t stratum;
    uint8_t refid[4];
    int64_t seen_offset;  /* the clock's offset when last looked at ... */
    int64_t ref_time_us;  /* ... and when it last changed: the reference time */
    struct ps_sntpd_stats stats;
    uint8_t buf[NTP_RECV_MAX];
};

static void put_ntp(uint8_t *p, int64_t us)
{
    uint64_t secs = (uint64_t)(us / 1000000) + NTP_UNIX_DELTA;
    uint64_t frac = ((uint64_t)(us % 1000000) << 32) / 1000000;
    ps_put32(p, (uint32_t)secs); /* wraps in 2036, as NTP era 0 does */
    ps_put32(p + 4, (uint32_t)frac);
}

/* NTP short format (16.16 seconds) of a duration in microseconds. */
static uint32_t ntp_short(uint32_t us)
{
    return (uint32_t)(((uint64_t)us << 16) / 1000000);
}

/* Fill the reply to request q at r (NTP_LEN bytes).  Returns whether the
 * time in it is usable. */
static bool build_reply(struct ps_sntpd *d, const uint8_t *q, uint8_t *r)
{
    int64_t offset = ps_stack_realtime_offset(d->s);
    int64_t now = ps_stack_realtime(d->s);
    bool synced = offset != 0;
    if (offset != d->seen_offset) { /* someone set the clock: that is our reference time */
        d->seen_offset = offset;
        d->ref_time_us = now;
    }
    uint8_t version = (q[0] >> 3) & 7;
    memset(r, 0, NTP_LEN);
    r[0] = (uint8_t)((synced ? 0 : NTP_LI_ALARM) << 6 | version << 3 | NTP_MODE_SERVER);
    r[1] = synced ? d->stratum : 0;
    r[2] = q[2]; /* poll: the client's */
    r[3] = (uint8_t)(int8_t)PS_SNTPD_PRECISION;
    ps_put32(r + 8, ntp_short(PS_SNTPD_ROOT_DISPERSION_US));
    if (synced) {
        memcpy(r + 12, d->refid, 4);
        put_ntp(r + 16, d->ref_time_us);
    } else {
        memcpy(r + 12, "INIT", 4); /* kiss code: not synchronised yet (RFC 4330 8) */
    }
    memcpy(r + 24, q + 40, 8); /* originate: the request's transmit */
    put_ntp(r + 32, now);      /* received (the stack's time stands still in a callback) */
    put_ntp(r + 40, now);      /* transmitted */
    return synced;
}

/* A message dropped: counted here and in the stack's counters. */
static void dropped(struct ps_sntpd *d)
{
    d->stats.dropped++;
    ps_stack_stats_rw(d->s)->sntpd_drop++;
}

static void on_readable(void *ctx, int fd, short revents)
{
    struct ps_sntpd *d = ctx;
    if (!(revents & (PS_POLLIN | PS_POLLERR)))
        return;
    for (;;) {
        struct ps_sockaddr_in from;
        ssize_t n = ps_recvfrom(d->s, fd, d->buf, sizeof(d->buf), 0, &from);
        if (n == -EAGAIN)
            return;
        uint8_t version = n > 0 ? (d->buf[0] >> 3) & 7 : 0;
        if (n < NTP_LEN || (d->buf[0] & 7) != NTP_MODE_CLIENT || version < 1 || version > 4 || from.port == 0) {
            dropped(d); /* not a client request (or an error about an earlier reply) */
            continue;
        }
        d->stats.requests++;
        uint8_t r[NTP_LEN];
        bool synced = build_reply(d, d->buf, r);
        if (ps_sendto(d->s, fd, r, NTP_LEN, 0, &from) < 0)
            dropped(d);
        else if (synced)
            d->stats.replies++;
        else
            d->stats.unsynchronised++;
    }
}

struct ps_sntpd *ps_sntpd_start(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const struct ps_sntpd_config *cfg,
                                int *err)
{
    struct ps_sntpd_config def = {0};
    if (!cfg)
        cfg = &def;
    if (cfg->stratum > 15) {
        *err = -EINVAL;
        return NULL;
    }
    struct ps_sntpd *d = calloc(1, sizeof(*d));
    if (!d) {
        *err = -ENOMEM;
        return NULL;
    }
    d->s = s;
    d->port = port ? port : PS_SNTP_PORT;
    d->stratum = cfg->stratum ? cfg->stratum : PS_SNTPD_STRATUM;
    if (d->stratum == 1) { /* a code of up to four characters, NUL-padded */
        const char *code = cfg->refid[0] ? cfg->refid : "LOCL";
        memcpy(d->refid, code, strnlen(code, sizeof(d->refid)));
    } else {
        ps_put32(d->refid, cfg->upstream);
    }
    d->seen_offset = ps_stack_realtime_offset(s);
    d->ref_time_us = ps_stack_realtime(s);
    struct ps_sockaddr_in me = {.addr = addr, .port = d->port};
    int rc = d->fd = ps_socket(s, PS_SOCK_DGRAM);
    if (rc >= 0)
        rc = ps_bind(s, d->fd, &me);
    if (rc >= 0)
        rc = ps_socket_set_callback(s, d->fd, on_readable, d);
    if (rc < 0) {
        *err = rc;
        ps_sntpd_stop(d);
        return NULL;
    }
    *err = 0;
    return d;
}

uint16_t ps_sntpd_port(const struct ps_sntpd *d)
{
    return d->port;
}

const struct ps_sntpd_stats *ps_sntpd_stats(const struct ps_sntpd *d)
{
    return &d->stats;
}

void ps_sntpd_stop(struct ps_sntpd *d)
{
    if (!d)
        return;
    if (d->fd >= 0)
        ps_close(d->s, d->fd);
    free(d);
}
