/*
 * src/drivers/tap.c - a Linux TAP device as a portstack interface (see
 * portstack/tap.h).
 *
 * The device is opened with IFF_TAP | IFF_NO_PI, so each read() returns
 * exactly one Ethernet frame and each write() sends one, with no packet
 * information header in front.  The descriptor is non-blocking: the host
 * waits for it with poll/epoll and ps_tap_poll() drains it.
 *
 * Offloads (the default): with IFF_VNET_HDR every frame, both ways, is led
 * by a virtio-net header (struct virtio_net_hdr, 10 bytes, host order).
 * TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4) lets the kernel hand us TCP
 * super-packets of up to 64 KiB with the checksum left partial, and we
 * hand it ours (ps_iface_set_tso) the same way; the kernel cuts or
 * delivers them whole.  One system call then moves up to 44 segments,
 * which is what bounds a user-space stack on a TAP device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>

#include "portstack/net.h"
#include "portstack/stack.h"
#include "portstack/tap.h"
#include "portstack/wire.h"

#define TAP_DEFAULT_MTU 1500
#define TAP_DEFAULT_BUDGET 256
#define TAP_VNET_HLEN ((size_t)sizeof(struct virtio_net_hdr))
/* Read buffer: the largest frame the kernel could hand us (its side of the
 * device may have a larger MTU than ours, and a super-packet is up to
 * 64 KiB of IPv4), after the virtio-net header.  A frame too long for our
 * MTU is passed on whole so the stack counts it as eth_drop_too_long
 * rather than seeing a silently truncated one. */
#define TAP_RXBUF (TAP_VNET_HLEN + 65535 + 14 + 4)

struct ps_tap {
    int fd;
    bool vnet; /* frames carry a virtio-net header (offloads on) */
    struct ps_iface *ifc;
    uint8_t rx[TAP_RXBUF];
};

static int tap_writev(struct ps_tap *t, const struct iovec *iov, int n, size_t len)
{
    if (t->fd < 0)
        return -ENODEV;
    for (;;) {
        ssize_t w = writev(t->fd, iov, n);
        if (w >= 0)
            return (size_t)w == len ? 0 : -EIO;
        if (errno != EINTR)
            return -errno; /* -EAGAIN when the kernel queue is full */
    }
}

static int tap_transmit(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len)
{
    (void)ifc;
    struct ps_tap *t = ctx;
    struct virtio_net_hdr vh;
    memset(&vh, 0, sizeof vh); /* a whole frame, its checksums done */
    struct iovec iov[2] = {{&vh, TAP_VNET_HLEN}, {(void *)frame, len}};
    if (!t->vnet)
        return tap_writev(t, iov + 1, 1, len);
    return tap_writev(t, iov, 2, TAP_VNET_HLEN + len);
}

/* A TCP super-segment: the kernel cuts it at gso_size.  Its checksum goes
 * as CHECKSUM_PARTIAL, as the kernel's own TSO does: the field holds the
 * pseudo-header sum only, and each cut segment's sum is finished from it.
 * The stack computed the full sum, so the field is swapped on the way out
 * (the frame itself is read-only here). */
static int tap_transmit_gso(void *ctx, struct ps_iface *ifc, const uint8_t *frame, size_t len,
                            uint16_t gso_size)
{
    struct ps_tap *t = ctx;
    size_t l3 = PS_ETH_HLEN;
    if (len < l3 + PS_IPV4_HLEN + PS_TCP_HLEN || frame[l3 + 9] != PS_IP_PROTO_TCP)
        return tap_transmit(ctx, ifc, frame, len);
    size_t l4 = l3 + (size_t)(frame[l3] & 0x0f) * 4;
    size_t thl = (size_t)(frame[l4 + 12] >> 4) * 4;
    if (l4 + thl > len)
        return -EINVAL;
    uint32_t sum = ps_cksum_pseudo(ps_get32(frame + l3 + 12), ps_get32(frame + l3 + 16), PS_IP_PROTO_TCP,
                                   (uint16_t)(len - l4));
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint8_t partial[2];
    ps_put16(partial, (uint16_t)sum);

    struct virtio_net_hdr vh;
    memset(&vh, 0, sizeof vh);
    vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    vh.gso_size = gso_size;
    vh.hdr_len = (uint16_t)(l4 + thl);
    vh.csum_start = (uint16_t)l4;
    vh.csum_offset = 16; /* the TCP checksum field */
    size_t cpos = l4 + 16;
    struct iovec iov[4] = {
        {&vh, TAP_VNET_HLEN},
        {(void *)frame, cpos},
        {partial, 2},
        {(void *)(frame + cpos + 2), len - cpos - 2},
    };
    return tap_writev(t, iov, 4, TAP_VNET_HLEN + len);
}

/* Turn a received frame's virtio-net header into PS_RX_* flags.  A
 * partial checksum (the kernel's own traffic) is finished here, so the
 * frame is whole should the stack forward or capture it. */
static unsigned rx_flags(const struct virtio_net_hdr *vh, uint8_t *frame, size_t len)
{
    unsigned flags = 0;
    if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        size_t start = vh->csum_start, at = start + vh->csum_offset;
        if (start < len && at + 2 <= len) {
            /* The field holds the pseudo-header sum; fold in the rest. */
            uint32_t sum = ps_cksum_add(0, frame + start, len - start);
            ps_put16(frame + at, ps_cksum_finish(sum));
            flags |= PS_RX_CSUM_OK;
        }
    } else if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
        flags |= PS_RX_CSUM_OK;
    }
    if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE)
        flags |= PS_RX_GSO;
    return flags;
}

struct ps_tap *ps_tap_open(struct ps_stack *s, const char *dev, const ps_mac_t *mac, uint16_t mtu)
{
    return ps_tap_open_ex(s, dev, mac, mtu, 0);
}

struct ps_tap *ps_tap_open_ex(struct ps_stack *s, const char *dev, const ps_mac_t *mac, uint16_t mtu,
                              unsigned flags)
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
    t->vnet = !(flags & PS_TAP_NO_OFFLOAD);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (t->vnet ? IFF_VNET_HDR : 0);
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
    /* The offloads are the device's, not the descriptor's: a persistent
     * device keeps what its last user set, so they are set (or cleared,
     * for plain frames) every time.  Should the kernel refuse them, the
     * header still works: every frame then comes whole, and our own
     * super-segments need nothing more. */
    (void)ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)(t->vnet ? TUN_F_CSUM | TUN_F_TSO4 : 0));

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
    if (t->vnet)
        ps_iface_set_tso(t->ifc, tap_transmit_gso);
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
        if (!t->vnet) {
            ps_iface_input(t->ifc, t->rx, (size_t)n, now);
            continue;
        }
        if ((size_t)n < TAP_VNET_HLEN)
            continue; /* cannot happen: the kernel always writes the header */
        struct virtio_net_hdr vh;
        memcpy(&vh, t->rx, sizeof vh);
        uint8_t *frame = t->rx + TAP_VNET_HLEN;
        size_t len = (size_t)n - TAP_VNET_HLEN;
        ps_iface_input_ex(t->ifc, frame, len, now, rx_flags(&vh, frame, len));
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
