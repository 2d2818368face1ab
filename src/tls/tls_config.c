/*
 * TLS configurations: the mbedTLS configuration, a CTR-DRBG seeded from
 * the host's entropy callback (never from the system: mbedTLS's own
 * entropy collector, which would read /dev/urandom, is not used), our
 * certificate and key, and the CAs to verify peers with.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/stack.h>

#include "tls/tls_impl.h"

int ps_tls_entropy_from_stack(void *ctx, uint8_t *buf, size_t len)
{
    struct ps_stack *s = ctx;
    while (len) {
        uint64_t r = ps_stack_random(s);
        size_t n = len < sizeof(r) ? len : sizeof(r);
        memcpy(buf, &r, n);
        buf += n;
        len -= n;
    }
    return 0;
}

/* mbedTLS's entropy callback shape over the host's. */
static int drbg_entropy(void *ctx, unsigned char *buf, size_t len)
{
    struct ps_tls_config *c = ctx;
    return c->entropy(c->entropy_ctx, buf, len) ? MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED : 0;
}

void ps_tls_config_note_error(struct ps_tls_config *c, int mbedtls_err, uint32_t flags)
{
    c->last_err = mbedtls_err;
    c->last_flags = flags;
}

struct ps_tls_config *ps_tls_config_new(struct ps_stack *s, enum ps_tls_role role, ps_tls_entropy_fn entropy,
                                        void *entropy_ctx, int *err)
{
    if (!s || !entropy || (role != PS_TLS_CLIENT && role != PS_TLS_SERVER)) {
        *err = -EINVAL;
        return NULL;
    }
    struct ps_tls_config *c = calloc(1, sizeof(*c));
    if (!c) {
        *err = -ENOMEM;
        return NULL;
    }
    c->s = s;
    c->role = role;
    c->entropy = entropy;
    c->entropy_ctx = entropy_ctx;
    c->max_sessions = PS_TLS_MAX_SESSIONS;
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->own_cert);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_pk_init(&c->key);
    static const unsigned char pers[] = "portstack tls";
    int rc = mbedtls_ctr_drbg_seed(&c->drbg, drbg_entropy, c, pers, sizeof(pers) - 1);
    if (rc == 0)
        rc = mbedtls_ssl_config_defaults(&c->conf, role == PS_TLS_SERVER ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                         MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) {
        *err = ps_tls_map_error(rc, 0);
        ps_tls_config_free(c);
        return NULL;
    }
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    ps_tls_config_set_verify(c, role == PS_TLS_CLIENT ? PS_TLS_VERIFY_REQUIRED : PS_TLS_VERIFY_NONE);
    ps_tls_verify_install(c);
    *err = 0;
    return c;
}

/* A load's result: the mbedTLS code remembered, the errno returned.  The
 * file parsers return a positive count of certificates they skipped. */
static int load_result(struct ps_tls_config *c, int rc)
{
    if (rc > 0)
        rc = MBEDTLS_ERR_X509_INVALID_FORMAT;
    if (rc < 0)
        ps_tls_config_note_error(c, rc, 0);
    return rc < 0 ? ps_tls_map_load_error(rc) : 0;
}

/* Accept the certificate and key just parsed, or forget them. */
static int own_cert_done(struct ps_tls_config *c, int rc)
{
    if (rc == 0)
        rc = mbedtls_pk_check_pair(&c->own_cert.pk, &c->key);
    if (rc == 0)
        rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->own_cert, &c->key);
    if (rc != 0) {
        mbedtls_x509_crt_free(&c->own_cert);
        mbedtls_x509_crt_init(&c->own_cert);
        mbedtls_pk_free(&c->key);
        mbedtls_pk_init(&c->key);
        return load_result(c, rc);
    }
    c->has_cert = true;
    return 0;
}

int ps_tls_config_cert_file(struct ps_tls_config *c, const char *cert_path, const char *key_path)
{
    if (c->has_cert)
        return -EALREADY;
    int rc = mbedtls_x509_crt_parse_file(&c->own_cert, cert_path);
    if (rc > 0)
        rc = MBEDTLS_ERR_X509_INVALID_FORMAT;
    if (rc == 0)
        rc = mbedtls_pk_parse_keyfile(&c->key, key_path, NULL);
    return own_cert_done(c, rc);
}

int ps_tls_config_cert_pem(struct ps_tls_config *c, const char *cert_pem, const char *key_pem)
{
    if (c->has_cert)
        return -EALREADY;
    /* mbedTLS recognises PEM by the terminating NUL counted in the length. */
    int rc = mbedtls_x509_crt_parse(&c->own_cert, (const unsigned char *)cert_pem, strlen(cert_pem) + 1);
    if (rc > 0)
        rc = MBEDTLS_ERR_X509_INVALID_FORMAT;
    if (rc == 0)
        rc = mbedtls_pk_parse_key(&c->key, (const unsigned char *)key_pem, strlen(key_pem) + 1, NULL, 0);
    return own_cert_done(c, rc);
}

static int ca_done(struct ps_tls_config *c, int rc)
{
    rc = load_result(c, rc);
    if (rc == 0 && !c->has_ca) {
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
        c->has_ca = true;
    }
    return rc;
}

int ps_tls_config_ca_file(struct ps_tls_config *c, const char *path)
{
    return ca_done(c, mbedtls_x509_crt_parse_file(&c->ca, path));
}

int ps_tls_config_ca_pem(struct ps_tls_config *c, const char *pem)
{
    return ca_done(c, mbedtls_x509_crt_parse(&c->ca, (const unsigned char *)pem, strlen(pem) + 1));
}

void ps_tls_config_set_verify(struct ps_tls_config *c, enum ps_tls_verify mode)
{
    int m = mode == PS_TLS_VERIFY_REQUIRED ? MBEDTLS_SSL_VERIFY_REQUIRED
            : mode == PS_TLS_VERIFY_OPTIONAL ? MBEDTLS_SSL_VERIFY_OPTIONAL
                                             : MBEDTLS_SSL_VERIFY_NONE;
    mbedtls_ssl_conf_authmode(&c->conf, m);
}

void ps_tls_config_set_max_sessions(struct ps_tls_config *c, unsigned n)
{
    c->max_sessions = n < 1 ? 1 : n > PS_TLS_MAX_SESSIONS ? PS_TLS_MAX_SESSIONS : n;
}

unsigned ps_tls_config_sessions(const struct ps_tls_config *c)
{
    return c->sessions;
}

const char *ps_tls_config_last_error(const struct ps_tls_config *c, char *buf, size_t len)
{
    return ps_tls_strerror(c->last_err, c->last_flags, buf, len);
}

void ps_tls_config_free(struct ps_tls_config *c)
{
    if (!c)
        return;
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_x509_crt_free(&c->own_cert);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_pk_free(&c->key);
    free(c);
}
