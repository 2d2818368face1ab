/*
 * portstack/apps.h - small services on well-known ports, built on the
 * socket API only: echo (RFC 862) and discard (RFC 863), each over UDP and
 * TCP on the same port number.  Each runs from socket readiness callbacks,
 * so a host needs no loop of its own beyond feeding the stack.
 *
 * UDP: echo sends each datagram back to its sender; discard drops it.
 * TCP: a listening socket (backlog 16) accepts up to 32 connections at
 * once per service (more wait in the accept queue until one closes); echo
 * writes back every byte it reads, holding at most 4 KiB per connection
 * and reading no more until the peer has taken it, discard reads and
 * drops; a connection is closed when the peer ends its stream (after echo
 * has written everything back) or on an error.
 */
#ifndef PORTSTACK_APPS_H
#define PORTSTACK_APPS_H

#include "types.h"

struct ps_stack;
struct ps_app;

struct ps_app_stats {
    uint64_t datagrams;   /* datagrams (UDP) received */
    uint64_t bytes;       /* payload bytes received (UDP and TCP) */
    uint64_t replies;     /* datagrams sent back (UDP echo) */
    uint64_t errors;      /* send/receive errors (a reset connection too) */
    uint64_t connections; /* TCP connections accepted */
    uint64_t closed;      /* TCP connections closed again */
    uint64_t bytes_sent;  /* bytes written back on TCP (echo) */
};

/* Start `service` ("echo" or "discard") on `port` (0: its well-known port)
 * at local address addr (0: all), over UDP and TCP.  Returns the app, or
 * NULL with *err set to a negative errno (-ENOENT for an unknown service,
 * or what socket(), bind() or listen() said). */
struct ps_app *ps_app_start(struct ps_stack *s, const char *service, ps_ip4_t addr, uint16_t port, int *err);

/* The service's name and the port it listens on. */
const char *ps_app_name(const struct ps_app *a);
uint16_t ps_app_port(const struct ps_app *a);
const struct ps_app_stats *ps_app_stats(const struct ps_app *a);

/* Is `service` one ps_app_start() knows? */
bool ps_app_known(const char *service);

/* Close the app's sockets (its TCP connections close gracefully) and free
 * it. */
void ps_app_stop(struct ps_app *a);

#endif
