/*
 * A ping client built on the stack's public ICMP echo API.
 */
#include <portstack/ping.h>
#include <portstack/stack.h>

#include <stdlib.h>
#include <string.h>

struct ps_pinger {
    struct ps_stack *stack;
    struct ps_pinger_cfg cfg;
    ps_pinger_event_fn fn;
    void *ctx;
    unsigned next_seq;     /* next probe to send */
    ps_time_t next_send;
    unsigned oldest_pending; /* probes below are settled */
    unsigned corrupt;      /* replies whose payload did not match */
    uint8_t *payload;      /* the pattern each probe carries */
    struct ps_probe probes[];
};

static void settle(struct ps_pinger *p, unsigned seq)
{
    if (p->fn)
        p->fn(p->ctx, seq, &p->probes[seq], p->cfg.size);
}

static void on_echo(void *ctx, const struct ps_echo_event *ev)
{
    struct ps_pinger *p = ctx;
    if (ev->id != p->cfg.id || ev->seq >= p->next_seq)
        return;
    struct ps_probe *pr = &p->probes[ev->seq];
    if (ev->is_reply && (ev->len != p->cfg.size || memcmp(ev->data, p->payload, ev->len) != 0)) {
        p->corrupt++;
        return;
    }
    if (pr->state != PS_PROBE_PENDING) {
        if (pr->state == PS_PROBE_REPLIED && ev->is_reply)
            pr->duplicates++;
        return;
    }
    pr->from = ev->from;
    if (ev->is_reply) {
        pr->state = PS_PROBE_REPLIED;
        pr->rtt = ev->now - pr->sent_at;
        pr->ttl = ev->ttl;
    } else {
        pr->state = PS_PROBE_ERROR;
        pr->err_type = ev->err_type;
        pr->err_code = ev->err_code;
    }
    settle(p, ev->seq);
}

struct ps_pinger *ps_pinger_new(struct ps_stack *s, const struct ps_pinger_cfg *cfg, ps_pinger_event_fn fn,
                                void *ctx)
{
    if (!cfg || cfg->count == 0 || cfg->count > 65536)
        return NULL;
    struct ps_pinger *p = calloc(1, sizeof(*p) + cfg->count * sizeof(struct ps_probe));
    if (!p)
        return NULL;
    p->stack = s;
    p->cfg = *cfg;
    if (!p->cfg.interval)
        p->cfg.interval = PS_SEC(1);
    if (!p->cfg.timeout)
        p->cfg.timeout = PS_SEC(2);
    if (!p->cfg.size)
        p->cfg.size = 56;
    if (!p->cfg.id)
        p->cfg.id = (uint16_t)(ps_stack_random(s) | 1);
    p->payload = malloc(p->cfg.size);
    if (!p->payload) {
        free(p);
        return NULL;
    }
    for (size_t i = 0; i < p->cfg.size; i++)
        p->payload[i] = (uint8_t)(0x10 + i);
    p->fn = fn;
    p->ctx = ctx;
    p->next_send = ps_stack_now(s);
    ps_icmp_set_echo_hook(s, on_echo, p);
    return p;
}

ps_time_t ps_pinger_poll(struct ps_pinger *p, ps_time_t now)
{
    while (p->next_seq < p->cfg.count && now >= p->next_send) {
        unsigned seq = p->next_seq++;
        p->probes[seq].state = PS_PROBE_PENDING;
        p->probes[seq].sent_at = now;
        ps_icmp_echo_request(p->stack, p->cfg.dst ? p->cfg.dst : 0, p->cfg.id, (uint16_t)seq, p->cfg.ttl,
                             p->payload, p->cfg.size);
        p->next_send += p->cfg.interval;
    }
    /* Time out, in order, what has waited too long. */
    while (p->oldest_pending < p->next_seq) {
        struct ps_probe *pr = &p->probes[p->oldest_pending];
        if (pr->state == PS_PROBE_PENDING) {
            if (now < pr->sent_at + p->cfg.timeout)
                break;
            pr->state = PS_PROBE_LOST;
            settle(p, p->oldest_pending);
        }
        p->oldest_pending++;
    }
    ps_time_t next = PS_TIME_NEVER;
    if (p->next_seq < p->cfg.count)
        next = p->next_send;
    if (p->oldest_pending < p->next_seq) {
        ps_time_t t = p->probes[p->oldest_pending].sent_at + p->cfg.timeout;
        if (t < next)
            next = t;
    }
    return next;
}

bool ps_pinger_done(const struct ps_pinger *p)
{
    return p->next_seq == p->cfg.count && p->oldest_pending == p->next_seq;
}

const struct ps_probe *ps_pinger_probe(const struct ps_pinger *p, unsigned seq)
{
    return seq < p->cfg.count ? &p->probes[seq] : NULL;
}

void ps_pinger_summary(const struct ps_pinger *p, struct ps_ping_summary *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t total = 0;
    for (unsigned i = 0; i < p->next_seq; i++) {
        const struct ps_probe *pr = &p->probes[i];
        out->sent++;
        out->duplicates += pr->duplicates;
        if (pr->state == PS_PROBE_REPLIED) {
            out->received++;
            total += pr->rtt;
            if (out->received == 1 || pr->rtt < out->rtt_min)
                out->rtt_min = pr->rtt;
            if (pr->rtt > out->rtt_max)
                out->rtt_max = pr->rtt;
        } else if (pr->state == PS_PROBE_ERROR) {
            out->errors++;
        } else if (pr->state == PS_PROBE_LOST) {
            out->lost++;
        }
    }
    out->corrupt = p->corrupt;
    if (out->received)
        out->rtt_avg = total / out->received;
}

void ps_pinger_free(struct ps_pinger *p)
{
    if (!p)
        return;
    ps_icmp_set_echo_hook(p->stack, NULL, NULL);
    free(p->payload);
    free(p);
}
