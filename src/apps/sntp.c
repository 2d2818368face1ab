/*
 * SNTP client (RFC 4330).  NTP time stamps are 64-bit fixed point seconds
 * since 1900 (32.32); the stack's wall clock is microseconds since 1970.
 */
#include <portstack/sntp.h>
#include <portstack/socket.h>
#include <portstack/stack.h>
#include <portstack/wire.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NTP_LEN 48
#define NTP_VERSION 4
#define NTP_MODE_CLIENT 3
#define NTP_MODE_SERVER 4
/* Seconds from 1900-01-01 to 1970-01-01. */
#define NTP_UNIX_DELTA 2208988800ULL

struct ps_sntp {
    struct ps_stack *s;
    ps_ip4_t server;
    unsigned interval_s;
    ps_sntp_fn fn;
    void *ctx;
    int fd;
    uint64_t sent_ts;   /* our transmit time stamp, NTP format */
    ps_time_t sent_at;  /* stack time it left */
    ps_time_t next;
    unsigned tries, updates;
    bool waiting;
    uint8_t buf[NTP_LEN + 16];
};

/* UTC microseconds (since 1970) <-> NTP 32.32 (since 1900). */
static uint64_t to_ntp(int64_t us)
{
    uint64_t secs = (uint64_t)(us / 1000000) + NTP_UNIX_DELTA;
    uint64_t frac = ((uint64_t)(us % 1000000) << 32) / 1000000;
    return (secs << 32) | frac;
}

static int64_t from_ntp(uint64_t t)
{
    int64_t secs = (int64_t)(t >> 32) - (int64_t)NTP_UNIX_DELTA;
    int64_t us = (int64_t)(((t & 0xffffffffu) * 1000000) >> 32);
    return secs * 1000000 + us;
}

static uint64_t get64(const uint8_t *p)
{
    return ((uint64_t)ps_get32(p) << 32) | ps_get32(p + 4);
}

static void close_sock(struct ps_sntp *c)
{
    if (c->fd >= 0)
        ps_close(c->s, c->fd);
    c->fd = -1;
    c->waiting = false;
}

static void report(struct ps_sntp *c, const struct ps_sntp_result *r)
{
    if (c->fn)
        c->fn(c->ctx, r);
}

static void schedule_next(struct ps_sntp *c, ps_time_t now)
{
    unsigned iv = c->interval_s;
    if (iv && iv < PS_SNTP_MIN_POLL_S)
        iv = PS_SNTP_MIN_POLL_S;
    c->next = iv ? now + PS_SEC(iv) : PS_TIME_NEVER;
    c->tries = 0;
}

static void on_readable(void *ctx, int fd, short revents)
{
    struct ps_sntp *c = ctx;
    if (!c->waiting || fd != c->fd || !(revents & (PS_POLLIN | PS_POLLERR)))
        return;
    for (;;) {
        ssize_t n = ps_recv(c->s, fd, c->buf, sizeof(c->buf), 0);
        if (n == -EAGAIN)
            return;
        ps_time_t now = ps_stack_now(c->s);
        if (n < 0) { /* no NTP server there */
            struct ps_sntp_result r = {.err = (int)n, .when = now};
            close_sock(c);
            schedule_next(c, now);
            report(c, &r);
            return;
        }
        const uint8_t *b = c->buf;
        uint8_t li = b[0] >> 6, vn = (b[0] >> 3) & 7, mode = b[0] & 7, stratum = b[1];
        if (n < NTP_LEN || mode != NTP_MODE_SERVER || vn != NTP_VERSION || get64(b + 24) != c->sent_ts ||
            get64(b + 40) == 0)
            continue; /* not the answer to our request: ignore it */
        if (stratum == 0 || li == 3 || stratum > 15) {
            /* Kiss-o'-death or an unsynchronised server (RFC 4330 8). */
            struct ps_sntp_result r = {.err = -EPROTO, .stratum = stratum, .when = now};
            close_sock(c);
            schedule_next(c, now);
            report(c, &r);
            return;
        }
        /* RFC 4330 5: T1 sent, T2 server received, T3 server sent, T4 back.
         * T1 and T4 on our wall clock (the same offset, so their difference
         * is the monotonic one). */
        int64_t t1 = from_ntp(c->sent_ts);
        int64_t t4 = t1 + (int64_t)(now - c->sent_at);
        int64_t t2 = from_ntp(get64(b + 32)), t3 = from_ntp(get64(b + 40));
        struct ps_sntp_result r = {
            .offset_us = ((t2 - t1) + (t3 - t4)) / 2,
            .delay_us = (t4 - t1) - (t3 - t2),
            .stratum = stratum,
            .when = now,
        };
        ps_stack_set_realtime_offset(c->s, ps_stack_realtime_offset(c->s) + r.offset_us);
        c->updates++;
        close_sock(c);
        schedule_next(c, now);
        report(c, &r);
        return;
    }
}

static void send_request(struct ps_sntp *c, ps_time_t now)
{
    close_sock(c);
    c->fd = ps_socket(c->s, PS_SOCK_DGRAM);
    if (c->fd < 0)
        return;
    struct ps_sockaddr_in srv = {.addr = c->server, .port = PS_SNTP_PORT};
    memset(c->buf, 0, NTP_LEN);
    c->buf[0] = (0 << 6) | (NTP_VERSION << 3) | NTP_MODE_CLIENT;
    /* The transmit time stamp: our clock, with random low bits so an
     * off-path forger cannot guess it even when our clock is known
     * (RFC 4330 leaves the low-order bits to the client). */
    c->sent_ts = to_ntp(ps_stack_realtime(c->s)) ^ (ps_stack_random(c->s) & 0x3ff);
    ps_put32(c->buf + 40, (uint32_t)(c->sent_ts >> 32));
    ps_put32(c->buf + 44, (uint32_t)c->sent_ts);
    if (ps_connect(c->s, c->fd, &srv) < 0 || ps_socket_set_callback(c->s, c->fd, on_readable, c) < 0 ||
        ps_send(c->s, c->fd, c->buf, NTP_LEN, 0) < 0) {
        close_sock(c);
        return;
    }
    c->sent_at = now;
    c->waiting = true;
}

struct ps_sntp *ps_sntp_start(struct ps_stack *s, ps_ip4_t server, unsigned interval_s, ps_sntp_fn fn, void *ctx)
{
    if (!server)
        return NULL;
    struct ps_sntp *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->s = s;
    c->server = server;
    c->interval_s = interval_s;
    c->fn = fn;
    c->ctx = ctx;
    c->fd = -1;
    c->next = ps_stack_now(s);
    return c;
}

ps_time_t ps_sntp_poll(struct ps_sntp *c, ps_time_t now)
{
    if (now < c->next)
        return c->next;
    if (c->waiting && ++c->tries >= PS_SNTP_TRIES) {
        struct ps_sntp_result r = {.err = -ETIMEDOUT, .when = now};
        close_sock(c);
        schedule_next(c, now);
        report(c, &r);
        return c->next;
    }
    send_request(c, now);
    c->next = now + PS_MS(PS_SNTP_TIMEOUT_MS);
    return c->next;
}

unsigned ps_sntp_updates(const struct ps_sntp *c)
{
    return c->updates;
}

void ps_sntp_stop(struct ps_sntp *c)
{
    if (!c)
        return;
    close_sock(c);
    free(c);
}
