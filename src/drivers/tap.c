/*
 * src/drivers/tap.c - a Linux TAP device as a portstack interface (see
 * portstack/tap.h).
 *
 * The device is opened with IFF_TAP | IFF_NO_PI, so each read() returns
 * exactly one Ethernet frame and each write() sends one, with no packet
 * information header in front.  The descriptor is non-blocking: the host
 * waits for it with poll/epoll and ps_tap_poll() drains it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <net/if.h>

#include "portstack/net.h"
#include "portstack/stack.h"
#include "portstack/tap.h"

#define TAP_DEFAULT_MTU 1500
#define TAP_DEFAULT_BUDGET 256
/* Read buffer: the largest frame the kernel could hand us (its side of the
 * device may have a larger MTU than ours).  A frame too long for our MTU is
 * passed on whole so the stack counts it as eth_drop_too_long rather than
 * seeing a silently truncated one. */
#define TAP_RXBUF (65535 + 14 + 4)

struct ps_tap {
    int fd;
    struct ps_iface *ifc;
    uint8_t rx[TAP_RXBUF];
};

static int tap_transmit(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    struct ps_tap *t = ctx;
    if (t->fd < 0)
        return -ENODEV;
    for (;;) {
        ssize_t n = write(t->fd, frame, len);
        if (n >= 0)
            return (size_t)n == len ? 0 : -EIO;
        if (errno != EINTR)
            return -errno; /* -EAGAIN when the kernel queue is full */
    }
}

struct ps_tap *ps_tap_open(struct ps_stack *s, const char *dev, const ps_mac_t *mac, uint16_t mtu)
{
    if (s == NULL) {
        errno = EINVAL;
        return NULL;
    }
    struct ps_tap *t = malloc(sizeof(*t));
    if (t == NULL)
        return NULL;
    t->ifc = NULL;
    t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        int e = errno;
        free(t);
        errno = e;
        return NULL;
    }

    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (dev != NULL) {
        /* An empty name lets the kernel pick one ("tap%d"). */
        size_t n = strlen(dev);
        if (n >= IFNAMSIZ) {
            close(t->fd);
            free(t);
            errno = ENAMETOOLONG;
            return NULL;
        }
        memcpy(ifr.ifr_name, dev, n);
    }
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(t->fd);
        free(t);
        errno = e;
        return NULL;
    }
    ifr.ifr_name[IFNAMSIZ - 1] = '\0';

    ps_mac_t made;
    if (mac == NULL) {
        uint64_t r = ps_stack_random(s);
        for (int i = 0; i < 6; i++)
            made.b[i] = (uint8_t)(r >> (8 * i));
        /* Locally administered (bit 1), unicast (bit 0 clear). */
        made.b[0] = (uint8_t)((made.b[0] & 0xfc) | 0x02);
        mac = &made;
    }
    t->ifc = ps_iface_add(s, ifr.ifr_name, mac, mtu ? mtu : TAP_DEFAULT_MTU, tap_transmit, t);
    if (t->ifc == NULL) {
        close(t->fd);
        free(t);
        errno = ENOSPC;
        return NULL;
    }
    return t;
}

int ps_tap_fd(const struct ps_tap *t)
{
    return t->fd;
}

struct ps_iface *ps_tap_iface(const struct ps_tap *t)
{
    return t->ifc;
}

int ps_tap_poll(struct ps_tap *t, ps_time_t now, unsigned budget)
{
    if (t->fd < 0)
        return -EBADF;
    if (budget == 0)
        budget = TAP_DEFAULT_BUDGET;
    int frames = 0;
    while ((unsigned)frames < budget) {
        ssize_t n = read(t->fd, t->rx, sizeof(t->rx));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -errno;
        }
        if (n == 0)
            break;
        frames++;
        ps_iface_input(t->ifc, t->rx, (size_t)n, now);
    }
    return frames;
}

void ps_tap_close(struct ps_tap *t)
{
    if (t == NULL)
        return;
    /* The interface keeps t as its transmit context; marked down, the
     * stack no longer calls it.  It must not be brought up again. */
    ps_iface_set_up(t->ifc, false);
    close(t->fd);
    free(t);
}
