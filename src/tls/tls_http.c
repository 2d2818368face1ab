/*
 * HTTPS: TLS sessions as the transport (http.h) of the HTTP server and
 * client, so the same HTTP code serves plain and secure connections.
 */
#include <errno.h>

#include <portstack/http.h>
#include <portstack/http_client.h>

#include "tls/tls_impl.h"

static void *tp_open(void *ctx, struct ps_stack *s, int fd, const char *host, int *err)
{
    (void)s; /* the configuration's stack */
    return ps_tls_new(ctx, fd, host, err);
}

static ssize_t tp_send(void *conn, const void *buf, size_t len)
{
    return ps_tls_write(conn, buf, len);
}

static ssize_t tp_recv(void *conn, void *buf, size_t len)
{
    return ps_tls_read(conn, buf, len);
}

static int tp_shutdown(void *conn)
{
    return ps_tls_close_notify(conn);
}

static void tp_close(void *conn)
{
    ps_tls_free(conn);
}

static const struct ps_http_transport tls_transport = {
    .open = tp_open,
    .send = tp_send,
    .recv = tp_recv,
    .shutdown = tp_shutdown,
    .close = tp_close,
};

const struct ps_http_transport *ps_tls_http_transport(void)
{
    return &tls_transport;
}

struct ps_http_server *ps_https_start(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const char *docroot,
                                      struct ps_tls_config *c, int *err)
{
    if (!c || c->role != PS_TLS_SERVER || !c->has_cert || c->s != s) {
        *err = -EINVAL;
        return NULL;
    }
    struct ps_http_server *h = ps_http_start(s, addr, port ? port : 443, docroot, err);
    if (h)
        ps_http_set_transport(h, &tls_transport, c);
    return h;
}

struct ps_http_client *ps_https_client_new(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const char *host,
                                           struct ps_tls_config *c)
{
    if (!c || c->role != PS_TLS_CLIENT || c->s != s)
        return NULL;
    struct ps_http_client *hc = ps_http_client_new(s, addr, port ? port : 443, host);
    if (hc)
        ps_http_client_set_transport(hc, &tls_transport, c);
    return hc;
}
