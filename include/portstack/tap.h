/*
 * portstack/tap.h - a Linux TAP device as a portstack interface.
 *
 * Opens /dev/net/tun with IFF_TAP | IFF_NO_PI (and IFF_VNET_HDR with
 * checksum and TCP segmentation offloads, unless PS_TAP_NO_OFFLOAD),
 * non-blocking.  The host's
 * loop waits on ps_tap_fd() (poll/epoll) with a timeout up to the stack's
 * next deadline, then calls ps_tap_poll().  The device itself (its creation
 * in a network namespace, its kernel-side address) is the host's business.
 */
#ifndef PORTSTACK_TAP_H
#define PORTSTACK_TAP_H

#include "net.h"

struct ps_tap;

/* Open the TAP device `dev` (created if it does not exist and the caller
 * may) and add an Ethernet interface for it to stack s.  mac NULL: a
 * locally administered address made from the stack's random generator.
 * mtu 0: 1500.  Returns the tap, or NULL with errno set. */
struct ps_tap *ps_tap_open(struct ps_stack *s, const char *dev, const ps_mac_t *mac, uint16_t mtu);

/* Flags for ps_tap_open_ex. */
#define PS_TAP_NO_OFFLOAD 0x01 /* plain frames: no virtio-net header, no TSO */

/* ps_tap_open with flags.  Without PS_TAP_NO_OFFLOAD (and so with
 * ps_tap_open) the device carries virtio-net headers: the kernel may send
 * TCP super-packets of up to 64 KiB, and the interface takes TCP
 * super-segments from the stack (ps_iface_set_tso), one system call each. */
struct ps_tap *ps_tap_open_ex(struct ps_stack *s, const char *dev, const ps_mac_t *mac, uint16_t mtu,
                              unsigned flags);

/* The file descriptor to wait on for input. */
int ps_tap_fd(const struct ps_tap *t);

/* The interface it feeds. */
struct ps_iface *ps_tap_iface(const struct ps_tap *t);

/* Read and process every frame waiting (at most `budget`, 0 = 256).
 * Returns the number of frames read, or -errno on a device error. */
int ps_tap_poll(struct ps_tap *t, ps_time_t now, unsigned budget);

/* Close the device (the interface stays, marked down; it must not be
 * brought up again, as its transmit context is gone). */
void ps_tap_close(struct ps_tap *t);

#endif /* PORTSTACK_TAP_H */
