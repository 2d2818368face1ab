/*
 * Text forms of IPv4 and MAC addresses.
 */
#include "portstack/types.h"

#include <errno.h>
#include <stdio.h>

char *ps_ip4_ntoa(ps_ip4_t ip, char buf[PS_IP4_STRLEN])
{
    snprintf(buf, PS_IP4_STRLEN, "%u.%u.%u.%u", (unsigned)(ip >> 24), (unsigned)(ip >> 16) & 0xffu,
             (unsigned)(ip >> 8) & 0xffu, (unsigned)ip & 0xffu);
    return buf;
}

/* Read a decimal number of at most max_digits digits from *sp, advancing
 * it.  A leading zero is allowed only as the number 0 itself: "010" is
 * octal to inet_aton(), so it is refused rather than guessed at. */
static int read_decimal(const char **sp, int max_digits, unsigned *out)
{
    const char *s = *sp;
    unsigned v = 0;
    int n = 0;

    while (s[n] >= '0' && s[n] <= '9') {
        if (n == max_digits)
            return -EINVAL;
        v = v * 10 + (unsigned)(s[n] - '0');
        n++;
    }
    if (n == 0 || (n > 1 && s[0] == '0'))
        return -EINVAL;
    *sp = s + n;
    *out = v;
    return 0;
}

/* Parse a dotted quad at *sp, advancing it past the last digit. */
static int read_quad(const char **sp, ps_ip4_t *out)
{
    const char *s = *sp;
    ps_ip4_t ip = 0;

    for (int i = 0; i < 4; i++) {
        unsigned part;
        if (i > 0 && *s++ != '.')
            return -EINVAL;
        if (read_decimal(&s, 3, &part) < 0 || part > 255)
            return -EINVAL;
        ip = (ip << 8) | part;
    }
    *sp = s;
    *out = ip;
    return 0;
}

int ps_ip4_aton(const char *s, ps_ip4_t *out)
{
    ps_ip4_t ip;

    if (read_quad(&s, &ip) < 0 || *s != '\0')
        return -EINVAL;
    *out = ip;
    return 0;
}

int ps_ip4_parse_prefix(const char *s, ps_ip4_t *addr, uint8_t *prefix)
{
    ps_ip4_t ip;
    unsigned p;

    if (read_quad(&s, &ip) < 0 || *s++ != '/')
        return -EINVAL;
    if (read_decimal(&s, 2, &p) < 0 || p > 32 || *s != '\0')
        return -EINVAL;
    *addr = ip;
    *prefix = (uint8_t)p;
    return 0;
}

ps_ip4_t ps_ip4_mask(uint8_t prefix)
{
    if (prefix == 0)
        return 0;
    if (prefix >= 32)
        return 0xffffffffu;
    return (ps_ip4_t)(0xffffffffu << (32 - prefix));
}

char *ps_mac_ntoa(const ps_mac_t *m, char buf[PS_MAC_STRLEN])
{
    snprintf(buf, PS_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2],
             m->b[3], m->b[4], m->b[5]);
    return buf;
}
