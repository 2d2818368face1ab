/*
 * Echo (RFC 862) and discard (RFC 863) over UDP, on the socket API.
 * A readiness callback drains the socket; echo answers each datagram to
 * its sender from the port it arrived on.
 */
#include <portstack/apps.h>
#include <portstack/services.h>
#include <portstack/socket.h>
#include <portstack/wire.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The largest datagram either service handles whole (bigger ones are cut,
 * as RFC 862 leaves open). */
#define APP_DGRAM_MAX 65507

enum app_kind { APP_ECHO, APP_DISCARD };

static const struct {
    const char *name;
    enum app_kind kind;
} known[] = {
    {"echo", APP_ECHO},
    {"discard", APP_DISCARD},
};

struct ps_app {
    struct ps_stack *stack;
    enum app_kind kind;
    const char *name;
    uint16_t port;
    int udp_fd;
    struct ps_app_stats stats;
    uint8_t buf[APP_DGRAM_MAX];
};

static void on_udp(void *ctx, int fd, short revents)
{
    struct ps_app *a = ctx;
    if (!(revents & PS_POLLIN))
        return;
    for (;;) {
        struct ps_sockaddr_in from;
        ssize_t n = ps_recvfrom(a->stack, fd, a->buf, sizeof(a->buf), 0, &from);
        if (n == -EAGAIN)
            return;
        if (n < 0) {
            /* A pending error (an ICMP message about an earlier reply) is
             * reported once; carry on with the next datagram. */
            a->stats.errors++;
            continue;
        }
        a->stats.datagrams++;
        a->stats.bytes += (uint64_t)n;
        if (a->kind == APP_ECHO) {
            if (ps_sendto(a->stack, fd, a->buf, (size_t)n, 0, &from) >= 0)
                a->stats.replies++;
            else
                a->stats.errors++;
        }
    }
}

bool ps_app_known(const char *service)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(known[i].name, service) == 0)
            return true;
    return false;
}

struct ps_app *ps_app_start(struct ps_stack *s, const char *service, ps_ip4_t addr, uint16_t port, int *err)
{
    size_t i = 0;
    while (i < sizeof(known) / sizeof(known[0]) && strcmp(known[i].name, service) != 0)
        i++;
    if (i == sizeof(known) / sizeof(known[0])) {
        *err = -ENOENT;
        return NULL;
    }
    if (port == 0)
        port = ps_service_port(service, PS_IP_PROTO_UDP);
    struct ps_app *a = calloc(1, sizeof(*a));
    if (!a) {
        *err = -ENOMEM;
        return NULL;
    }
    a->stack = s;
    a->kind = known[i].kind;
    a->name = known[i].name;
    a->port = port;
    a->udp_fd = ps_socket(s, PS_SOCK_DGRAM);
    struct ps_sockaddr_in sa = {.addr = addr, .port = port};
    int rc = a->udp_fd < 0 ? a->udp_fd : ps_bind(s, a->udp_fd, &sa);
    if (rc == 0)
        rc = ps_socket_set_callback(s, a->udp_fd, on_udp, a);
    if (rc < 0) {
        *err = rc;
        ps_app_stop(a);
        return NULL;
    }
    *err = 0;
    return a;
}

const char *ps_app_name(const struct ps_app *a)
{
    return a->name;
}

uint16_t ps_app_port(const struct ps_app *a)
{
    return a->port;
}

const struct ps_app_stats *ps_app_stats(const struct ps_app *a)
{
    return &a->stats;
}

void ps_app_stop(struct ps_app *a)
{
    if (!a)
        return;
    if (a->udp_fd >= 0)
        ps_close(a->stack, a->udp_fd);
    free(a);
}
