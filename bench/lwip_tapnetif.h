/*
 * bench/lwip_tapnetif.h - the minimal lwIP netif on an existing TAP device
 * that the lwIP contenders of bench/run.sh share (lwip_tap_echo.c,
 * lwip_tap_tcp.c); built with them by run.sh against Debian's liblwip-dev.
 */
#ifndef PORTSTACK_BENCH_LWIP_TAPNETIF_H
#define PORTSTACK_BENCH_LWIP_TAPNETIF_H

#include <stdatomic.h>
#include <stdint.h>

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"

#define MAX_FRAME 65600 /* what the kernel could hand us, with room to spare */
#define RX_BUDGET 256   /* frames read per wake-up before timers run */

/* One TAP-backed interface.  Each counter has one writer - the reader
 * (tap_drain) the rx ones, linkoutput the tx ones - and may be read from
 * another thread (lwip_tap_echo's tcpip mode: the main thread reads
 * frames, the tcpip thread writes them): atomic, updated with a relaxed
 * load and store, which costs what a plain counter does. */
struct tapnet {
    int fd;
    struct netif nif;
    uint8_t mac[6];
    uint8_t txbuf[MAX_FRAME]; /* used by linkoutput only (one thread) */
    uint8_t rxbuf[MAX_FRAME]; /* used by the reader only */
    atomic_ulong rx_frames, rx_bytes, rx_drop_nomem, rx_drop_input;
    atomic_ulong tx_frames, tx_bytes, tx_err;
};

/* The netif_add() init function: nif->state is the struct tapnet, whose
 * mac is set; linkoutput write()s each frame to its fd. */
err_t tap_netif_init(struct netif *nif);

/* Open the existing TAP device `dev`: no packet-information header, so one
 * read() is one Ethernet frame; non-blocking, waited for with poll().
 * Returns the fd, or -1 with errno set. */
int tap_open(const char *dev);

/* Read and hand to t->nif.input every waiting frame (at most RX_BUDGET).
 * Returns the number read, or -1 on a device error. */
int tap_drain(struct tapnet *t);

/* Parse "a.b.c.d/len" into an address and its netmask: 0, or -1. */
int parse_prefix(const char *s, ip4_addr_t *addr, ip4_addr_t *mask);

#endif
