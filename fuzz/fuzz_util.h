/*
 * fuzz/fuzz_util.h - what every fuzz target shares: the entry point's
 * prototype, the oracle macro, and a cursor that takes bytes off the
 * fuzzer's input (zeros once it runs out, so every input means something).
 */
#ifndef PS_FUZZ_UTIL_H
#define PS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <portstack/wire.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An oracle: a false condition is a finding, reported as a crash. */
#define FUZZ_MUST(cond, what)                                                            \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz oracle failed at %s:%d: %s\n", __FILE__, __LINE__, (what)); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* Big-endian, as the fields it usually becomes. */
static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
    uint16_t hi = fuzz_u8(in);
    return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* Up to n bytes: a pointer into the input and how many there were. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t n, size_t *got)
{
    const uint8_t *p = in->p;
    *got = n < in->n ? n : in->n;
    in->p += *got;
    in->n -= *got;
    return p;
}

/* The time steps a record's 3-bit code picks: 0 to ten minutes, so that
 * every timer (delayed ACK, RTO, persist, reassembly, ARP, TIME_WAIT,
 * FIN_WAIT_2, keepalive at its shortest) can fire between two inputs. */
static inline int64_t fuzz_step_us(unsigned code)
{
    static const int64_t steps[8] = {0, 1000, 10000, 100000, 1000000, 10000000, 60000000, 600000000};
    return steps[code & 7];
}

/* Checksum fix-ups, so that mutated packets still pass the checks and the
 * fuzzer reaches the fields behind them.  The IPv4 header of n bytes at ip
 * (its IHL within n; else left alone): */
static inline void fuzz_fix_ip_cksum(uint8_t *ip, size_t n)
{
    size_t hl = (size_t)(ip[0] & 15) * 4;
    if (n < PS_IPV4_HLEN || hl < PS_IPV4_HLEN || hl > n)
        return;
    ps_put16(ip + 10, 0);
    ps_put16(ip + 10, ps_cksum(ip, hl));
}

/* The ICMP message, UDP datagram or TCP segment of len bytes at l4,
 * between src and dst (shorter than its header: left alone). */
static inline void fuzz_fix_l4_cksum(uint8_t proto, uint8_t *l4, size_t len, ps_ip4_t src, ps_ip4_t dst)
{
    if (proto == PS_IP_PROTO_ICMP && len >= PS_ICMP_HLEN) {
        ps_put16(l4 + 2, 0);
        ps_put16(l4 + 2, ps_cksum(l4, len));
    } else if (proto == PS_IP_PROTO_UDP && len >= PS_UDP_HLEN) {
        size_t ulen = ps_get16(l4 + 4);
        if (ulen < PS_UDP_HLEN || ulen > len)
            ulen = len;
        ps_put16(l4 + 6, 0);
        uint16_t c = ps_cksum_finish(ps_cksum_add(ps_cksum_pseudo(src, dst, PS_IP_PROTO_UDP, (uint16_t)ulen), l4, ulen));
        ps_put16(l4 + 6, c ? c : 0xffff); /* 0 would mean "no checksum" */
    } else if (proto == PS_IP_PROTO_TCP && len >= PS_TCP_HLEN && len <= 0xffff) {
        ps_put16(l4 + 16, 0);
        ps_put16(l4 + 16, ps_cksum_finish(ps_cksum_add(ps_cksum_pseudo(src, dst, PS_IP_PROTO_TCP, (uint16_t)len), l4, len)));
    }
}

#endif /* PS_FUZZ_UTIL_H */
