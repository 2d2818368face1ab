/*
 * TLS sessions over portstack STREAM sockets.  mbedTLS reads and writes
 * the socket through two callbacks over ps_recv/ps_send; -EAGAIN becomes
 * WANT_READ/WANT_WRITE, so mbedTLS never waits and the host calls again
 * on the socket's next readiness event.
 *
 * mbedTLS's write has a catch: once it has sealed a record it must send
 * that record before any other, and after WANT_WRITE it expects to be
 * called again with the same data.  ps_tls_write instead counts a sealed
 * record as taken (as a socket counts bytes in its send buffer) and
 * flushes what is left of it before anything new, on every call into the
 * session and on the socket's events; so -EAGAIN always means nothing
 * was taken.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/net_sockets.h>

#include <portstack/stack.h>
#include <portstack/stats.h>

#include "tls/tls_impl.h"

static bool is_want(int rc)
{
    return rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE ||
           rc == MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS || rc == MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS;
}

/* ---- mbedTLS's transport: the socket --------------------------------------- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct ps_tls *t = ctx;
    ssize_t n = ps_send(t->s, t->fd, buf, len > INT_MAX ? INT_MAX : len, 0);
    if (n > 0)
        return (int)n;
    if (n == 0 || n == -EAGAIN)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    t->sock_err = (int)n;
    return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct ps_tls *t = ctx;
    ssize_t n = ps_recv(t->s, t->fd, buf, len > INT_MAX ? INT_MAX : len, 0);
    if (n >= 0)
        return (int)n; /* 0: TCP's end of stream, which mbedTLS reports itself */
    if (n == -EAGAIN)
        return MBEDTLS_ERR_SSL_WANT_READ;
    t->sock_err = (int)n;
    return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* ---- life ------------------------------------------------------------------ */

struct ps_tls *ps_tls_new(struct ps_tls_config *c, int fd, const char *hostname, int *err)
{
    if (!c || fd < 0 || (hostname && strlen(hostname) > PS_TLS_HOSTNAME_MAX) ||
        (c->role == PS_TLS_SERVER && !c->has_cert)) {
        *err = -EINVAL;
        return NULL;
    }
    if (c->sessions >= c->max_sessions) {
        ps_stack_stats_rw(c->s)->tls_session_limit++;
        *err = -ENOBUFS;
        return NULL;
    }
    struct ps_tls *t = calloc(1, sizeof(*t));
    if (!t) {
        *err = -ENOMEM;
        return NULL;
    }
    t->cfg = c;
    t->s = c->s;
    t->fd = fd;
    t->state = PS_TLS_HANDSHAKE;
    mbedtls_ssl_init(&t->ssl);
    int rc = mbedtls_ssl_setup(&t->ssl, &c->conf); /* the record buffers */
    if (rc == 0 && c->role == PS_TLS_CLIENT && hostname)
        rc = mbedtls_ssl_set_hostname(&t->ssl, hostname);
    if (rc != 0) {
        mbedtls_ssl_free(&t->ssl);
        free(t);
        *err = ps_tls_map_error(rc, 0);
        return NULL;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    c->sessions++;
    *err = 0;
    return t;
}

void ps_tls_free(struct ps_tls *t)
{
    if (!t)
        return;
    if (t->fn)
        ps_socket_set_callback(t->s, t->fd, NULL, NULL);
    t->cfg->sessions--;
    mbedtls_ssl_free(&t->ssl);
    free(t);
}

/* The session failed with mbedTLS code e: remember and count it once. */
static int fail(struct ps_tls *t, int e)
{
    if (t->state == PS_TLS_FAILED)
        return t->err;
    struct ps_stats *st = ps_stack_stats_rw(t->s);
    int err = ps_tls_map_error(e, t->sock_err);
    uint32_t flags = 0;
    if (err == -EACCES) {
        flags = mbedtls_ssl_get_verify_result(&t->ssl);
        if (flags == (uint32_t)-1) /* no result: nothing was verified */
            flags = 0;
    }
    if (t->state == PS_TLS_HANDSHAKE && err == -EACCES)
        st->tls_verify_fail++;
    else if (t->state == PS_TLS_HANDSHAKE)
        st->tls_handshake_fail++;
    else if (e == MBEDTLS_ERR_SSL_CONN_EOF)
        st->tls_truncated++;
    else if (e != MBEDTLS_ERR_NET_SEND_FAILED && e != MBEDTLS_ERR_NET_RECV_FAILED)
        st->tls_record_fail++; /* TCP's own failures are TCP's to count */
    t->state = PS_TLS_FAILED;
    t->err = err;
    t->mbed_err = e;
    ps_tls_config_note_error(t->cfg, e, flags);
    return err;
}

/* Send what is left of a sealed record: 0 when nothing is, else an
 * mbedTLS code.  A zero-length write only flushes while something is left
 * (with nothing left it would seal an empty record). */
static int flush(struct ps_tls *t)
{
    if (t->ssl.out_left == 0)
        return 0;
    int rc = mbedtls_ssl_write(&t->ssl, (const unsigned char *)"", 0);
    return rc > 0 ? 0 : rc;
}

/* ---- data ------------------------------------------------------------------ */

int ps_tls_handshake(struct ps_tls *t)
{
    if (t->state == PS_TLS_FAILED)
        return t->err;
    if (t->state != PS_TLS_HANDSHAKE)
        return 0;
    int rc = mbedtls_ssl_handshake(&t->ssl);
    if (rc == 0) {
        t->state = PS_TLS_OPEN;
        ps_stack_stats_rw(t->s)->tls_handshakes++;
        return 0;
    }
    return is_want(rc) ? -EAGAIN : fail(t, rc);
}

ssize_t ps_tls_read(struct ps_tls *t, void *buf, size_t len)
{
    int rc = ps_tls_handshake(t);
    if (rc)
        return rc;
    if (t->state == PS_TLS_CLOSED || len == 0)
        return 0;
    rc = flush(t); /* a record still going out need not hold reading up */
    if (rc && !is_want(rc))
        return fail(t, rc);
    int n = mbedtls_ssl_read(&t->ssl, buf, len > INT_MAX ? INT_MAX : len);
    if (n > 0)
        return n;
    if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
        t->state = PS_TLS_CLOSED;
        return 0;
    }
    if (is_want(n))
        return -EAGAIN;
    return fail(t, n == 0 ? MBEDTLS_ERR_SSL_CONN_EOF : n);
}

ssize_t ps_tls_write(struct ps_tls *t, const void *buf, size_t len)
{
    int rc = ps_tls_handshake(t);
    if (rc)
        return rc;
    if (t->state == PS_TLS_CLOSED || t->notify_sent)
        return -EPIPE;
    rc = flush(t);
    if (rc)
        return is_want(rc) ? -EAGAIN : fail(t, rc);
    if (len == 0)
        return 0;
    int n = mbedtls_ssl_write(&t->ssl, buf, len);
    if (n > 0)
        return n;
    if (!is_want(n))
        return fail(t, n);
    if (t->ssl.out_left == 0)
        return -EAGAIN;
    /* Sealed but not all sent: taken; flush() sends the rest later. */
    int max = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
    return max > 0 && (size_t)max < len ? max : (ssize_t)len;
}

int ps_tls_close_notify(struct ps_tls *t)
{
    if (t->state != PS_TLS_OPEN && t->state != PS_TLS_CLOSED)
        return 0; /* no session to close (or it failed) */
    int rc = flush(t);
    if (rc == 0 && !t->notify_sent) {
        rc = mbedtls_ssl_close_notify(&t->ssl);
        if (rc == 0 || t->ssl.out_left) /* written, or sealed and going out */
            t->notify_sent = true;
    }
    if (rc == 0)
        return 0;
    return is_want(rc) ? -EAGAIN : fail(t, rc);
}

/* ---- the session as the socket's callback --------------------------------- */

static void on_socket(void *ctx, int fd, short revents)
{
    struct ps_tls *t = ctx;
    if (t->state == PS_TLS_HANDSHAKE) {
        int rc = ps_tls_handshake(t);
        if (rc != -EAGAIN)
            t->fn(t->fn_ctx, fd, rc ? PS_POLLERR : PS_POLLOUT | PS_POLLIN);
        return;
    }
    if (t->state == PS_TLS_OPEN) {
        int rc = flush(t);
        if (rc && !is_want(rc))
            fail(t, rc);
    }
    if (t->state == PS_TLS_FAILED)
        revents |= PS_POLLERR;
    if (ps_tls_pending(t))
        revents |= PS_POLLIN;
    t->fn(t->fn_ctx, fd, revents);
}

int ps_tls_set_callback(struct ps_tls *t, ps_sock_event_fn fn, void *ctx)
{
    t->fn = fn;
    t->fn_ctx = ctx;
    int rc = ps_socket_set_callback(t->s, t->fd, fn ? on_socket : NULL, fn ? t : NULL);
    if (rc < 0 || !fn)
        return rc;
    /* What arrived before (an accepted socket's ClientHello) raises no
     * new event: take the first step now. */
    rc = ps_tls_handshake(t);
    return rc == -EAGAIN ? 0 : rc;
}

/* ---- about the session ------------------------------------------------------ */

size_t ps_tls_pending(const struct ps_tls *t)
{
    return t->state == PS_TLS_OPEN ? mbedtls_ssl_get_bytes_avail(&t->ssl) : 0;
}

enum ps_tls_state ps_tls_state(const struct ps_tls *t)
{
    return t->state;
}

int ps_tls_fd(const struct ps_tls *t)
{
    return t->fd;
}

int ps_tls_error(const struct ps_tls *t)
{
    return t->state == PS_TLS_FAILED ? t->err : 0;
}

int ps_tls_mbedtls_error(const struct ps_tls *t)
{
    return t->state == PS_TLS_FAILED ? t->mbed_err : 0;
}

uint32_t ps_tls_verify_flags(const struct ps_tls *t)
{
    uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
    return flags == (uint32_t)-1 ? 0 : flags;
}

const char *ps_tls_describe(const struct ps_tls *t, char *buf, size_t len)
{
    if (t->state == PS_TLS_FAILED) {
        char why[256];
        snprintf(buf, len, "failed: %s", ps_tls_strerror(t->mbed_err, ps_tls_verify_flags(t), why, sizeof(why)));
    } else if (t->state == PS_TLS_HANDSHAKE) {
        snprintf(buf, len, "handshake in progress");
    } else {
        const char *host = t->cfg->role == PS_TLS_CLIENT ? t->ssl.hostname : NULL;
        const char *peer = !mbedtls_ssl_get_peer_cert(&t->ssl) ? "peer not authenticated"
                           : ps_tls_verify_flags(t)            ? "peer NOT verified"
                                                               : "peer verified";
        snprintf(buf, len, "%s %s, %s%s%s", mbedtls_ssl_get_version(&t->ssl), mbedtls_ssl_get_ciphersuite(&t->ssl),
                 peer, host ? " as " : "", host ? host : "");
    }
    return buf;
}
