/*
 * Initial sequence numbers, RFC 6528: ISN = M + F(localip, localport,
 * remoteip, remoteport, secretkey), where M is a clock ticking every 4
 * microseconds (RFC 9293 3.4.1) taken from the stack's time, and F is
 * SipHash-2-4 under a per-stack key used for nothing else (so ISNs tell
 * nothing about the port offsets of RFC 6056, which have their own key).
 * Different quadruples get unrelated ISNs; one quadruple's ISNs grow with
 * time, so a new incarnation starts above an old one's sequence space.
 */
#include "transport/tcp.h"

#include "core/stack_impl.h"

uint32_t ps_tcp_isn(struct ps_stack *s, ps_ip4_t laddr, uint16_t lport, ps_ip4_t raddr, uint16_t rport)
{
    uint64_t f = ps_siphash_u64x4(&s->key_isn, ((uint64_t)laddr << 32) | raddr,
                                  ((uint64_t)lport << 16) | rport, 0, 0, 2);
    uint32_t m = (uint32_t)(s->now / 4);
    return m + (uint32_t)f;
}

/* Timestamp offsets (RFC 7323 5.4 asks for a random one; per address pair
 * rather than per connection keeps TIME_WAIT reopening by timestamps,
 * RFC 6191, working - Linux went back to this for that reason). */
#define PS_TCP_TS_OFFSET_LABEL 0x7473u /* "ts": apart from the ISN's input */

uint32_t ps_tcp_ts_offset(struct ps_stack *s, ps_ip4_t laddr, ps_ip4_t raddr)
{
    return (uint32_t)ps_siphash_u64x4(&s->key_isn, ((uint64_t)laddr << 32) | raddr, PS_TCP_TS_OFFSET_LABEL, 0,
                                      0, 2);
}
