/*
 * portstack/sntp_server.h - an SNTP server (RFC 4330 section 6, NTP's
 * on-wire format of RFC 5905) on the socket API, serving the stack's own
 * wall clock (ps_stack_realtime).
 *
 * Each client request (mode 3, versions 1 to 4, at least 48 bytes) gets
 * one server reply (mode 4) of the same version and poll interval, its
 * originate time stamp the request's transmit time stamp, receive and
 * transmit time stamps from the stack's clock.  While the stack's clock
 * has never been set (its real-time offset is 0) the server says so: leap
 * indicator 3 (alarm), stratum 0 with the kiss code "INIT", which every
 * client refuses to take time from.  Anything else (other modes, runts,
 * control messages) is dropped without an answer.  No per-client state:
 * the server is bounded by construction.
 */
#ifndef PORTSTACK_SNTP_SERVER_H
#define PORTSTACK_SNTP_SERVER_H

#include "sntp.h"
#include "types.h"

struct ps_stack;
struct ps_sntpd;

#ifndef PS_SNTPD_STRATUM
#define PS_SNTPD_STRATUM 1            /* default: a primary server (its own reference clock) */
#endif
#ifndef PS_SNTPD_PRECISION
#define PS_SNTPD_PRECISION (-20)      /* log2 seconds: about a microsecond, the stack's tick */
#endif
#ifndef PS_SNTPD_ROOT_DISPERSION_US
#define PS_SNTPD_ROOT_DISPERSION_US 1000 /* the error claimed to the reference */
#endif

struct ps_sntpd_config {
    uint8_t stratum;     /* 1..15; 0 = PS_SNTPD_STRATUM */
    char refid[5];       /* stratum 1: the reference's code ("GPS", ...); "" = "LOCL" */
    ps_ip4_t upstream;   /* stratum 2 and above: the server we follow (the reference ID) */
};

struct ps_sntpd_stats {
    uint64_t requests;       /* client requests received */
    uint64_t replies;        /* answered with the time */
    uint64_t unsynchronised; /* answered "no time yet" (LI 3, INIT) */
    uint64_t dropped;        /* not a client request, or unsendable */
};

/* Serve on port (0: 123) at addr (0: all); cfg NULL for the defaults.
 * NULL with *err set (-EINVAL for a stratum over 15, -ENOMEM, or what
 * socket() and bind() said). */
struct ps_sntpd *ps_sntpd_start(struct ps_stack *s, ps_ip4_t addr, uint16_t port, const struct ps_sntpd_config *cfg,
                                int *err);

uint16_t ps_sntpd_port(const struct ps_sntpd *d);
const struct ps_sntpd_stats *ps_sntpd_stats(const struct ps_sntpd *d);

/* Close the socket and free the server. */
void ps_sntpd_stop(struct ps_sntpd *d);

#endif
