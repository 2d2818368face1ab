/*
 * The TLS layer's insides, shared by its files: the configuration and the
 * session as mbedTLS 2.28 objects.  Only the portstack_tls library sees
 * this header (and mbedTLS's); its users see include/portstack/tls.h.
 */
#ifndef PS_TLS_IMPL_H
#define PS_TLS_IMPL_H

#include <portstack/tls.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

/* The session code reads the context's out_left (mbedTLS 2.x has no
 * accessor for it; 3.x made the fields private). */
#if MBEDTLS_VERSION_MAJOR != 2
#error "portstack's TLS layer is written for mbedTLS 2.x (Debian 12: 2.28)"
#endif

struct ps_tls_config {
    struct ps_stack *s;
    enum ps_tls_role role;
    ps_tls_entropy_fn entropy;
    void *entropy_ctx;
    mbedtls_ssl_config conf;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt own_cert, ca;
    mbedtls_pk_context key;
    bool has_cert, has_ca;
    unsigned max_sessions, sessions;
    int last_err;           /* mbedTLS code of the last failure */
    uint32_t last_flags;    /* and its verification flags */
};

struct ps_tls {
    struct ps_tls_config *cfg;
    struct ps_stack *s;
    int fd;
    enum ps_tls_state state;
    int err;                /* negative errno once failed */
    int mbed_err;           /* the mbedTLS code behind it */
    int sock_err;           /* what the socket said, when it was the socket */
    bool notify_sent;       /* our close_notify is written */
    ps_sock_event_fn fn;    /* ps_tls_set_callback */
    void *fn_ctx;
    mbedtls_ssl_context ssl;
};

/* The negative errno for an mbedTLS code (sock_err: the socket's error
 * when the code is a transport failure). */
int ps_tls_map_error(int mbedtls_err, int sock_err);
/* The same for loading a certificate or key: -ENOENT, -EINVAL, -ENOMEM. */
int ps_tls_map_load_error(int mbedtls_err);

/* Check certificate validity against the stack's wall clock (tls_verify.c). */
void ps_tls_verify_install(struct ps_tls_config *c);

/* Remember a failure in the configuration (for ps_tls_config_last_error). */
void ps_tls_config_note_error(struct ps_tls_config *c, int mbedtls_err, uint32_t flags);

#endif
