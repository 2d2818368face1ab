/*
 * The stack instance: creation, the host's time, timers and randomness.
 */
#include <portstack/stack.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_impl.h"
#include "transport/tcp.h" /* ps_tcp_cc_find */
#include "transport/transport.h"

void ps_config_default(struct ps_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 0;
    cfg->pbuf_small_count = PS_DEFAULT_PBUF_SMALL_COUNT;
    cfg->pbuf_large_count = PS_DEFAULT_PBUF_LARGE_COUNT;
    cfg->route_max = PS_DEFAULT_ROUTE_MAX;
    cfg->arp_cache_size = PS_DEFAULT_ARP_CACHE_SIZE;
    cfg->arp_timeout_ms = PS_DEFAULT_ARP_TIMEOUT_MS;
    cfg->arp_retry_ms = PS_DEFAULT_ARP_RETRY_MS;
    cfg->arp_retries = PS_DEFAULT_ARP_RETRIES;
    cfg->arp_queue_len = PS_DEFAULT_ARP_QUEUE_LEN;
    cfg->arp_fail_hold_ms = PS_DEFAULT_ARP_FAIL_HOLD_MS;
    cfg->reasm_max_datagrams = PS_DEFAULT_REASM_MAX_DATAGRAMS;
    cfg->reasm_max_pbufs = PS_DEFAULT_REASM_MAX_PBUFS;
    cfg->reasm_max_frags = PS_DEFAULT_REASM_MAX_FRAGS;
    cfg->reasm_timeout_ms = PS_DEFAULT_REASM_TIMEOUT_MS;
    cfg->loopback_queue_len = PS_DEFAULT_LOOPBACK_QUEUE_LEN;
    cfg->icmp_rate = PS_DEFAULT_ICMP_RATE;
    cfg->icmp_burst = PS_DEFAULT_ICMP_BURST;
    cfg->max_sockets = PS_DEFAULT_MAX_SOCKETS;
    cfg->ephemeral_lo = PS_DEFAULT_EPHEMERAL_LO;
    cfg->ephemeral_hi = PS_DEFAULT_EPHEMERAL_HI;
    cfg->port_rekey_ms = PS_DEFAULT_PORT_REKEY_MS;
    cfg->udp_rcvbuf = PS_DEFAULT_UDP_RCVBUF;
    cfg->udp_rcvq_max = PS_DEFAULT_UDP_RCVQ_MAX;
    cfg->sndbuf = PS_DEFAULT_SNDBUF;
    cfg->tcp_rcvbuf = PS_DEFAULT_TCP_RCVBUF;
    cfg->tcp_msl_ms = PS_DEFAULT_TCP_MSL_MS;
    cfg->tcp_rto_initial_ms = PS_DEFAULT_TCP_RTO_INITIAL_MS;
    cfg->tcp_rto_min_ms = PS_DEFAULT_TCP_RTO_MIN_MS;
    cfg->tcp_rto_max_ms = PS_DEFAULT_TCP_RTO_MAX_MS;
    cfg->tcp_delack_ms = PS_DEFAULT_TCP_DELACK_MS;
    cfg->tcp_syn_retries = PS_DEFAULT_TCP_SYN_RETRIES;
    cfg->tcp_retries = PS_DEFAULT_TCP_RETRIES;
    cfg->tcp_fin_wait2_ms = PS_DEFAULT_TCP_FIN_WAIT2_MS;
    cfg->tcp_backlog_max = PS_DEFAULT_TCP_BACKLOG_MAX;
    cfg->tcp_synq_max = PS_DEFAULT_TCP_SYNQ_MAX;
    cfg->tcp_ooo_max = PS_DEFAULT_TCP_OOO_MAX;
    cfg->tcp_timewait_max = PS_DEFAULT_TCP_TIMEWAIT_MAX;
    cfg->tcp_challenge_ack_limit = PS_DEFAULT_TCP_CHALLENGE_ACK_LIMIT;
    cfg->tcp_pmtu_min = PS_DEFAULT_TCP_PMTU_MIN;
    cfg->tcp_half_open_max = PS_DEFAULT_TCP_HALF_OPEN_MAX;
    cfg->tcp_orphan_probes = PS_DEFAULT_TCP_ORPHAN_PROBES;
    /* congestion control, keepalive, user timeout */
    snprintf(cfg->tcp_congestion, sizeof(cfg->tcp_congestion), "%s", PS_DEFAULT_TCP_CONGESTION);
    cfg->tcp_keepidle_s = PS_DEFAULT_TCP_KEEPIDLE_S;
    cfg->tcp_keepintvl_s = PS_DEFAULT_TCP_KEEPINTVL_S;
    cfg->tcp_keepcnt = PS_DEFAULT_TCP_KEEPCNT;
    cfg->tcp_user_timeout_ms = PS_DEFAULT_TCP_USER_TIMEOUT_MS;
    cfg->tcp_syncookies = PS_DEFAULT_TCP_SYNCOOKIES != 0;
    cfg->default_ttl = PS_DEFAULT_TTL;
    cfg->ip_forwarding = false;
    cfg->icmp_echo_reply = true;
}

/* Derive a purpose-specific key from the seed: SipHash under a fixed key of
 * (seed, label).  Deterministic for a seed, independent across labels. */
static void derive_key(struct ps_siphash_key *out, uint64_t seed, uint64_t label)
{
    static const struct ps_siphash_key master = {0x706f727473746163ULL, 0x6b2d6b65792d3031ULL};
    out->k0 = ps_siphash_u64x4(&master, seed, label, 0, 0, 3);
    out->k1 = ps_siphash_u64x4(&master, seed, label, 1, 0, 3);
}

static bool config_valid(const struct ps_config *c)
{
    return c->pbuf_small_count > 0 && c->route_max > 0 && c->arp_cache_size > 0 &&
           c->arp_queue_len > 0 && c->reasm_max_frags > 0 && c->default_ttl > 0 && c->max_sockets > 0 &&
           c->ephemeral_lo > 0 && c->ephemeral_lo <= c->ephemeral_hi &&
           c->tcp_rto_min_ms > 0 && c->tcp_rto_min_ms <= c->tcp_rto_max_ms && c->tcp_rto_initial_ms > 0 &&
           c->tcp_rto_max_ms <= PS_TCP_RTO_LIMIT_MS && c->tcp_rto_initial_ms <= PS_TCP_RTO_LIMIT_MS &&
           c->tcp_delack_ms <= 500 && c->tcp_keepidle_s >= 1 && c->tcp_keepidle_s <= PS_TCP_KEEPIDLE_MAX_S &&
           c->tcp_keepintvl_s >= 1 && c->tcp_keepintvl_s <= PS_TCP_KEEPINTVL_MAX_S && c->tcp_keepcnt >= 1 &&
           c->tcp_keepcnt <= PS_TCP_KEEPCNT_MAX && c->tcp_user_timeout_ms <= PS_TCP_USER_TIMEOUT_MAX_MS &&
           memchr(c->tcp_congestion, '\0', sizeof(c->tcp_congestion)) && ps_tcp_cc_find(c->tcp_congestion);
}

struct ps_stack *ps_stack_new(const struct ps_config *cfg, ps_time_t now)
{
    struct ps_stack *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (cfg)
        s->cfg = *cfg;
    else
        ps_config_default(&s->cfg);
    if (!config_valid(&s->cfg)) {
        free(s);
        return NULL;
    }
    s->now = now;
    strcpy(s->name, "stack");
    derive_key(&s->rng_key, s->cfg.seed, 1);
    derive_key(&s->key_table, s->cfg.seed, 2);
    derive_key(&s->key_ipid, s->cfg.seed, 3);
    derive_key(&s->key_demux, s->cfg.seed, 4);
    derive_key(&s->key_port, s->cfg.seed, 5);
    derive_key(&s->key_isn, s->cfg.seed, 6);
    if (ps_pbuf_pools_init(s) != 0 || ps_net_init(s) != 0 || ps_transport_init(s) != 0) {
        ps_stack_free(s);
        return NULL;
    }
    return s;
}

void ps_stack_free(struct ps_stack *s)
{
    if (!s)
        return;
    ps_transport_fini(s);
    ps_net_fini(s);
    ps_pbuf_pools_fini(s);
    free(s);
}

const struct ps_config *ps_stack_config(const struct ps_stack *s)
{
    return &s->cfg;
}

ps_time_t ps_stack_poll(struct ps_stack *s, ps_time_t now)
{
    ps_stack_set_now(s, now);
    ps_transport_reap(s);
    /* Loopback first: a timer may send, and what it sends is looped on the
     * next poll, which the returned deadline (now) asks for. */
    ps_net_poll(s);
    struct ps_timer *t;
    while ((t = ps_timer_pop_due(&s->timers, s->now)) != NULL)
        t->fn(s, t);
    return ps_stack_next_deadline(s);
}

ps_time_t ps_stack_next_deadline(const struct ps_stack *s)
{
    if (s->net.loop_head)
        return s->now;
    return ps_timer_next(&s->timers);
}

ps_time_t ps_stack_now(const struct ps_stack *s)
{
    return s->now;
}

uint64_t ps_stack_random(struct ps_stack *s)
{
    /* SipHash as a PRF in counter mode: unpredictable without the key,
     * reproducible with it. */
    return ps_siphash_u64x4(&s->rng_key, s->rng_counter++, 0, 0, 0, 1);
}

void ps_stack_fail_alloc(struct ps_stack *s, uint64_t n)
{
    s->alloc_fail_at = n;
}

uint64_t ps_stack_alloc_count(const struct ps_stack *s)
{
    return s->alloc_count;
}

void ps_stack_set_name(struct ps_stack *s, const char *name)
{
    size_t n = strlen(name);
    if (n >= sizeof(s->name))
        n = sizeof(s->name) - 1;
    memcpy(s->name, name, n);
    s->name[n] = '\0';
}

const char *ps_stack_name(const struct ps_stack *s)
{
    return s->name;
}

void ps_stack_set_realtime_offset(struct ps_stack *s, int64_t offset_us)
{
    s->realtime_offset = offset_us;
}

int64_t ps_stack_realtime_offset(const struct ps_stack *s)
{
    return s->realtime_offset;
}

int64_t ps_stack_realtime(const struct ps_stack *s)
{
    return (int64_t)s->now + s->realtime_offset;
}
