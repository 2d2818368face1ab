/*
 * Certificate validity against the stack's clock.  mbedTLS compares
 * notBefore/notAfter with the host's clock (it calls time() itself); the
 * stack has its own notion of wall-clock time (SNTP, or the host), and
 * once that is known it decides instead, so a device whose clock came from
 * the network, or a simulation at a chosen date, judges certificates by
 * the same time it uses for everything else.
 */
#include <portstack/stack.h>

#include "tls/tls_impl.h"

/* Days from 1970-01-01 to a proleptic Gregorian date (month 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static int64_t x509_seconds(const mbedtls_x509_time *t)
{
    return days_from_civil(t->year, t->mon, t->day) * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
}

/* mbedTLS calls this for each certificate of the chain with the flags it
 * found; the handshake fails if any are left. */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    struct ps_tls_config *c = ctx;
    (void)depth;
    if (ps_stack_realtime_offset(c->s) == 0)
        return 0; /* the stack's clock is unknown: mbedTLS's check stands */
    int64_t now = ps_stack_realtime(c->s) / 1000000;
    *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    if (now > x509_seconds(&crt->valid_to))
        *flags |= MBEDTLS_X509_BADCERT_EXPIRED;
    if (now < x509_seconds(&crt->valid_from))
        *flags |= MBEDTLS_X509_BADCERT_FUTURE;
    return 0;
}

void ps_tls_verify_install(struct ps_tls_config *c)
{
    mbedtls_ssl_conf_verify(&c->conf, verify_cb, c);
}
