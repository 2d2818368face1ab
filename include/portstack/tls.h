/*
 * portstack/tls.h - TLS over portstack's TCP sockets (the optional
 * portstack_tls library, on mbedTLS 2.28; CMake option PS_TLS).
 *
 * A configuration (struct ps_tls_config) holds what sessions share: the
 * role, the certificate and key, the CAs to verify the peer with, and a
 * random generator seeded from the host.  A session (struct ps_tls) is one
 * TLS connection over a connected (or connecting) STREAM socket: it reads
 * and writes the socket with ps_send/ps_recv and never blocks.  Where
 * mbedTLS would wait for the socket the calls return -EAGAIN, and the host
 * calls again when the socket's readiness callback or ps_poll says so, as
 * with the socket calls.  Errors are negative errno values as the socket
 * API's (see ps_tls_error below); the mbedTLS code and its text are kept.
 *
 * Entropy: the stack never reads the system.  The host passes an entropy
 * callback (getrandom() on Linux, a hardware generator on a device) to
 * ps_tls_config_new; ps_tls_entropy_from_stack is for simulations only.
 *
 * Memory: mbedTLS 2.28 allocates about 38 KiB per session while the
 * handshake runs and keeps 34 KiB once established (two record buffers of
 * 16 KiB and their headroom), freed with the session; a configuration
 * holds at most PS_TLS_MAX_SESSIONS sessions at a time.
 * Failures and refusals are counted in the stack's counters (tls_*).
 *
 * Certificate validity is checked against the stack's wall clock
 * (ps_stack_realtime, set by SNTP or the host) once it is known; until
 * then against the host's clock, which mbedTLS reads itself.
 *
 * Typical client (the HTTP client does this through ps_https_client_new):
 *
 *     int fd = ps_socket(s, PS_SOCK_STREAM);
 *     ps_connect(s, fd, &server);                      // -EINPROGRESS
 *     struct ps_tls *t = ps_tls_new(cfg, fd, "server.example", &err);
 *     ps_tls_set_callback(t, on_tls, app);             // drives the handshake
 *     // on_tls(app, fd, PS_POLLOUT): established; ps_tls_write/ps_tls_read
 *     // on_tls(app, fd, PS_POLLERR): failed; ps_tls_error(t) says why
 */
#ifndef PORTSTACK_TLS_H
#define PORTSTACK_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "socket.h"
#include "types.h"

struct ps_stack;
struct ps_http_server;
struct ps_http_client;
struct ps_http_transport;
struct ps_tls_config;
struct ps_tls;

#ifndef PS_TLS_MAX_SESSIONS
#define PS_TLS_MAX_SESSIONS 8 /* sessions of one configuration at a time */
#endif
#ifndef PS_TLS_HOSTNAME_MAX
#define PS_TLS_HOSTNAME_MAX 253 /* a DNS name, without its NUL */
#endif

/* Fill buf with len bytes of entropy; 0 on success, non-zero on failure. */
typedef int (*ps_tls_entropy_fn)(void *ctx, uint8_t *buf, size_t len);

/* INSECURE, for simulations and deterministic replay only: entropy drawn
 * from the stack's seeded generator (ctx is the struct ps_stack *), so
 * anyone who knows the seed knows every key.  mbedTLS still writes the
 * host's clock into the hello messages, so the bytes on the wire differ
 * between runs while everything the stack does replays. */
int ps_tls_entropy_from_stack(void *ctx, uint8_t *buf, size_t len);

enum ps_tls_role { PS_TLS_CLIENT, PS_TLS_SERVER };

/* Verification of the peer's certificate: a client requires it by default
 * (with the name given to ps_tls_new), a server asks for none. */
enum ps_tls_verify { PS_TLS_VERIFY_NONE, PS_TLS_VERIFY_OPTIONAL, PS_TLS_VERIFY_REQUIRED };

/* ---- Configuration ----------------------------------------------------------- */

/* A configuration for sessions on stack s in `role`, its random generator
 * (CTR-DRBG) seeded by entropy(entropy_ctx, ...), which it calls again to
 * reseed.  NULL with *err set: -ENOMEM, -EIO (the entropy callback failed),
 * -EINVAL. */
struct ps_tls_config *ps_tls_config_new(struct ps_stack *s, enum ps_tls_role role, ps_tls_entropy_fn entropy,
                                        void *entropy_ctx, int *err);

/* Our certificate (chain, leaf first) and its private key, from PEM files
 * or NUL-terminated PEM text; once per configuration.  A server needs one.
 * 0, -ENOENT (a file cannot be read), -EINVAL (unparsable, or the key does
 * not match the certificate), -EALREADY, -ENOMEM. */
int ps_tls_config_cert_file(struct ps_tls_config *c, const char *cert_path, const char *key_path);
int ps_tls_config_cert_pem(struct ps_tls_config *c, const char *cert_pem, const char *key_pem);

/* Trusted CA certificates to verify the peer with (PEM file or text; may
 * be called again to add more).  0, -ENOENT, -EINVAL, -ENOMEM. */
int ps_tls_config_ca_file(struct ps_tls_config *c, const char *path);
int ps_tls_config_ca_pem(struct ps_tls_config *c, const char *pem);

/* Change how the peer's certificate is verified (for sessions made after). */
void ps_tls_config_set_verify(struct ps_tls_config *c, enum ps_tls_verify mode);

/* Sessions at a time (1..PS_TLS_MAX_SESSIONS; default PS_TLS_MAX_SESSIONS). */
void ps_tls_config_set_max_sessions(struct ps_tls_config *c, unsigned n);

/* Sessions of this configuration alive now. */
unsigned ps_tls_config_sessions(const struct ps_tls_config *c);

/* The last failure of any session (or of a load) of this configuration as
 * text, e.g. "X509 - Certificate verification failed (The certificate is
 * not correctly signed by the trusted CA)"; "" if none.  Returns buf. */
const char *ps_tls_config_last_error(const struct ps_tls_config *c, char *buf, size_t len);

/* Free the configuration; its sessions must be freed before. */
void ps_tls_config_free(struct ps_tls_config *c);

/* ---- Sessions ------------------------------------------------------------------ */

enum ps_tls_state {
    PS_TLS_HANDSHAKE, /* the handshake is under way */
    PS_TLS_OPEN,      /* established: data flows */
    PS_TLS_CLOSED,    /* the peer sent close_notify: reads return 0 */
    PS_TLS_FAILED     /* failed; ps_tls_error says why */
};

/* A session over STREAM socket fd (connected, or connecting: the handshake
 * starts when the connection is up).  A client verifies the server's
 * certificate against `hostname` and sends it as SNI (RFC 6066); NULL
 * skips the name check.  The session does not own fd: the host closes it
 * after ps_tls_free.  NULL with *err set: -ENOBUFS (the configuration has
 * its maximum of sessions; counted in tls_session_limit), -ENOMEM,
 * -EINVAL. */
struct ps_tls *ps_tls_new(struct ps_tls_config *c, int fd, const char *hostname, int *err);

/* Let the session take fd's readiness callback and drive the handshake
 * itself.  fn(ctx, fd, revents) then hears of the session, not of the
 * socket: PS_POLLOUT (with PS_POLLIN) once when the handshake completes,
 * PS_POLLERR if it fails, and afterwards the socket's events, with
 * PS_POLLIN also whenever decrypted data waits.  A PS_POLLIN may find
 * nothing to read (-EAGAIN).  fn may free the session.  NULL fn gives the
 * callback back to the host (which must then drive the session).  The
 * first handshake step is taken at once (an accepted socket's ClientHello
 * raises no new event): returns 0, or the error the session failed with
 * right away (fn does not hear of that one), or -EBADF. */
int ps_tls_set_callback(struct ps_tls *t, ps_sock_event_fn fn, void *ctx);

/* Advance the handshake: 0 once established, -EAGAIN while it waits for
 * the socket, or the error it failed with (every later call returns it).
 * ps_tls_read and ps_tls_write advance it too. */
int ps_tls_handshake(struct ps_tls *t);

/* Read decrypted data: bytes read, 0 after the peer's close_notify,
 * -EAGAIN, or an error (-ECONNRESET if TCP ended without close_notify,
 * which may be a truncation attack). */
ssize_t ps_tls_read(struct ps_tls *t, void *buf, size_t len);

/* Write data: the bytes taken (at most one record, 16 KiB, per call; a
 * record the socket does not take at once is sent on later calls and
 * events), or -EAGAIN having taken nothing, or an error. */
ssize_t ps_tls_write(struct ps_tls *t, const void *buf, size_t len);

/* Send close_notify after what was written (TLS's end of data; TCP's FIN
 * is the host's ps_shutdown/ps_close after it): 0 when it is out (or
 * there is no session to close), -EAGAIN to call again when writable. */
int ps_tls_close_notify(struct ps_tls *t);

/* Decrypted bytes waiting in the session (readable without the socket). */
size_t ps_tls_pending(const struct ps_tls *t);

enum ps_tls_state ps_tls_state(const struct ps_tls *t);
int ps_tls_fd(const struct ps_tls *t);

/* Why the session failed, as a negative errno (0 if it has not):
 *   -EACCES        the peer's certificate did not verify (untrusted,
 *                  wrong name, expired; ps_tls_verify_flags)
 *   -ECONNABORTED  the peer sent a fatal alert
 *   -ECONNRESET    TCP ended without close_notify
 *   -EPROTO        a protocol error (bad record, no common cipher, ...)
 *   -ENOMEM        out of memory
 *   or the socket's own error (-ECONNREFUSED, -ETIMEDOUT, ...). */
int ps_tls_error(const struct ps_tls *t);

/* The mbedTLS error code behind ps_tls_error (negative; 0 if none). */
int ps_tls_mbedtls_error(const struct ps_tls *t);

/* The certificate verification result: mbedTLS's MBEDTLS_X509_BADCERT_*
 * flags, 0 when the peer verified (or was not asked to). */
uint32_t ps_tls_verify_flags(const struct ps_tls *t);

/* An mbedTLS error code (and verification flags, 0 if none) as text.
 * Returns buf. */
const char *ps_tls_strerror(int mbedtls_err, uint32_t verify_flags, char *buf, size_t len);

/* One line about an established session, e.g. "TLSv1.2
 * TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384, peer verified as
 * server.example"; or the failure.  Returns buf. */
const char *ps_tls_describe(const struct ps_tls *t, char *buf, size_t len);

/* Free the session (without sending anything; see ps_tls_close_notify),
 * giving fd's callback back if the session had taken it. */
void ps_tls_free(struct ps_tls *t);

/* ---- HTTPS: the HTTP server and client over TLS ---------------------------------- */

/* The transport (http.h) that puts TLS under the HTTP server or client;
 * its ctx is a struct ps_tls_config. */
const struct ps_http_transport *ps_tls_http_transport(void);

/* ps_http_start over TLS with server configuration c (port 0: 443).  A
 * connection beyond c's session limit is closed at once (counted as
 * refused by the server and in tls_session_limit). */
struct ps_http_server *ps_https_start(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const char *docroot,
                                      struct ps_tls_config *c, int *err);

/* ps_http_client_new over TLS with client configuration c: `host` is the
 * Host header, the SNI and the name the certificate must carry. */
struct ps_http_client *ps_https_client_new(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const char *host,
                                           struct ps_tls_config *c);

#endif /* PORTSTACK_TLS_H */
