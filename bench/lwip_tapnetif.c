/*
 * bench/lwip_tapnetif.c - the minimal lwIP netif on an existing TAP device
 * that lwip_tap_echo.c and lwip_tap_tcp.c share (lwip_tapnetif.h), written
 * here rather than taken from lwIP's contrib tapif: linkoutput copies the
 * pbuf chain into one buffer and write()s it; input read()s one frame and
 * copies it into a fresh pbuf.
 *
 * That pbuf is PBUF_RAM, not PBUF_POOL, because PBUF_POOL is broken in the
 * Debian 2.1.3 library: its memp pool hands out 616-byte PBUF_POOL buffers
 * (a pbuf header and 592 bytes, the TCP_MSS 536 default) while its
 * pbuf_alloc() fills each one with up to PBUF_POOL_BUFSIZE = 1536 bytes
 * (from lwipopts.h's TCP_MSS 1460).  Every received frame longer than 592
 * bytes then overruns a heap block - glibc aborts ("malloc(): corrupted top
 * size") on the first fragmented ping, and valgrind shows pbuf_take()
 * writing past a 616-byte block.  That is the heap corruption tapif (which
 * uses PBUF_POOL) shows on bulk receive.  PBUF_RAM is one malloc() of the
 * exact size and unaffected; lwIP allocates nothing from PBUF_POOL itself
 * on the ARP/IPv4/ICMP paths, and its TCP output allocates PBUF_RAM too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <net/if.h>

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#include "lwip_tapnetif.h"

/* A counter's one writer adds n (see struct tapnet). */
static void count(atomic_ulong *c, unsigned long n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static err_t tap_linkoutput(struct netif *nif, struct pbuf *p)
{
    struct tapnet *t = nif->state;
    /* tot_len is a u16_t: the chain always fits txbuf. */
    u16_t len = pbuf_copy_partial(p, t->txbuf, p->tot_len, 0);
    for (;;) {
        ssize_t n = write(t->fd, t->txbuf, len);
        if (n == (ssize_t)len) {
            count(&t->tx_frames, 1);
            count(&t->tx_bytes, len);
            return ERR_OK;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* EAGAIN (kernel queue full) or a short write: the frame is lost,
         * as it would be on a congested wire. */
        count(&t->tx_err, 1);
        return ERR_IF;
    }
}

err_t tap_netif_init(struct netif *nif)
{
    struct tapnet *t = nif->state;
    nif->name[0] = 't';
    nif->name[1] = 'p';
    nif->output = etharp_output;
    nif->linkoutput = tap_linkoutput;
    nif->mtu = 1500;
    nif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(nif->hwaddr, t->mac, ETH_HWADDR_LEN);
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

int tap_open(const char *dev)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    size_t n = strlen(dev);
    if (n == 0 || n >= IFNAMSIZ) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    memcpy(ifr.ifr_name, dev, n);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int tap_drain(struct tapnet *t)
{
    int frames = 0;
    while (frames < RX_BUDGET) {
        ssize_t n = read(t->fd, t->rxbuf, sizeof(t->rxbuf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        if (n == 0)
            break;
        frames++;
        count(&t->rx_frames, 1);
        count(&t->rx_bytes, (unsigned long)n);
        if (n > 0xffff) {
            count(&t->rx_drop_input, 1);
            continue;
        }
        /* PBUF_RAM, not PBUF_POOL: see the top of the file. */
        struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
        if (p == NULL) {
            count(&t->rx_drop_nomem, 1);
            continue;
        }
        pbuf_take(p, t->rxbuf, (u16_t)n);
        /* ethernet_input: processed here and now; tcpip_input (lwip_tap_echo
         * --mode tcpip): queued for the tcpip thread.  Either way lwIP owns
         * p on ERR_OK. */
        if (t->nif.input(p, &t->nif) != ERR_OK) {
            count(&t->rx_drop_input, 1);
            pbuf_free(p);
        }
    }
    return frames;
}

int parse_prefix(const char *s, ip4_addr_t *addr, ip4_addr_t *mask)
{
    unsigned a, b, c, d, p;
    char extra;
    if (sscanf(s, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &p, &extra) != 5 || a > 255 || b > 255 || c > 255 ||
        d > 255 || p > 32)
        return -1;
    IP4_ADDR(addr, a, b, c, d);
    u32_t m = p == 0 ? 0 : 0xffffffffu << (32 - p);
    ip4_addr_set_u32(mask, lwip_htonl(m));
    return 0;
}
