/*
 * portstack/types.h - the few basic types every layer shares.
 */
#ifndef PORTSTACK_TYPES_H
#define PORTSTACK_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Time as the host passes it in: microseconds on a monotonic clock with an
 * arbitrary origin.  The stack never reads a clock itself. */
typedef uint64_t ps_time_t;

/* "No deadline": what ps_stack_poll() returns when no timer is armed. */
#define PS_TIME_NEVER UINT64_MAX

#define PS_US(x) ((ps_time_t)(x))
#define PS_MS(x) ((ps_time_t)(x) * 1000u)
#define PS_SEC(x) ((ps_time_t)(x) * 1000000u)

/* An IPv4 address in host byte order (192.0.2.1 is 0xc0000201). */
typedef uint32_t ps_ip4_t;

#define PS_IP4(a, b, c, d) \
    ((ps_ip4_t)(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d)))
#define PS_IP4_ANY ((ps_ip4_t)0)
#define PS_IP4_BROADCAST ((ps_ip4_t)0xffffffffu)

/* A 48-bit Ethernet (MAC) address. */
typedef struct ps_mac {
    uint8_t b[6];
} ps_mac_t;

/* Opaque handles. */
struct ps_stack;
struct ps_iface;
struct ps_pbuf;

/* Text forms, for printing.  Buffers must hold PS_IP4_STRLEN / PS_MAC_STRLEN. */
#define PS_IP4_STRLEN 16
#define PS_MAC_STRLEN 18

/* Format an address as dotted quad into buf; returns buf. */
char *ps_ip4_ntoa(ps_ip4_t ip, char buf[PS_IP4_STRLEN]);
/* Parse a dotted quad; returns 0 on success, -EINVAL otherwise. */
int ps_ip4_aton(const char *s, ps_ip4_t *out);
/* Parse "A.B.C.D/P"; returns 0 on success, -EINVAL otherwise. */
int ps_ip4_parse_prefix(const char *s, ps_ip4_t *addr, uint8_t *prefix);
/* The netmask of a prefix length (0..32). */
ps_ip4_t ps_ip4_mask(uint8_t prefix);
/* Format a MAC address as aa:bb:cc:dd:ee:ff; returns buf. */
char *ps_mac_ntoa(const ps_mac_t *m, char buf[PS_MAC_STRLEN]);

#endif /* PORTSTACK_TYPES_H */
