/*
 * bench/lwip_tap_echo.c - a minimal lwIP host on an existing TAP device,
 * the lwIP contender of bench/run.sh.  It answers ARP and ping (lwIP's own
 * ICMP echo, with its IPv4 reassembly and fragmentation) at one address
 * until SIGINT/SIGTERM or --duration, then prints its frame counters.
 *
 * It is built against Debian's liblwip-dev (lwIP 2.1.3) by bench/run.sh,
 * with gcc directly, so the portstack build never depends on lwIP:
 *
 *   gcc -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror \
 *       -I/usr/include/lwip bench/lwip_tap_echo.c bench/lwip_tapnetif.c \
 *       -o build/lwip_tap_echo \
 *       -llwip -lpthread
 *
 * (_DEFAULT_SOURCE is needed: without it lwIP's arch.h sees no ssize_t
 * from the system headers and typedefs its own `int` one, which then
 * conflicts with <unistd.h>; -std=gnu11 implies it.)
 *
 * Debian builds liblwip with NO_SYS=0 (its lwipopts.h: an OS is present,
 * pthreads sys_arch, LWIP_TCPIP_CORE_LOCKING=1, MEM_LIBC_MALLOC and
 * MEMP_MEM_MALLOC, IP_REASSEMBLY and IP_FRAG at their default 1).  The
 * library can still be driven from one thread: lwip_init() without
 * tcpip_init() starts no thread, and its core-lock check is inert while no
 * tcpip thread exists.  Hence two modes:
 *
 *   --mode single  (default) lwip_init(); one thread polls the TAP fd, hands
 *                  frames straight to ethernet_input() and runs
 *                  sys_check_timeouts() - the NO_SYS style, and the same
 *                  loop shape as `portstack run`.
 *   --mode tcpip   tcpip_init(); the main thread reads frames and passes
 *                  them with tcpip_input() to lwIP's tcpip thread (a mailbox
 *                  hand-off per frame), which answers and writes the
 *                  replies - the way an OS-mode lwIP application runs.
 *
 * The netif (bench/lwip_tapnetif.c, shared with lwip_tap_tcp.c) is written
 * there, not lwIP's contrib tapif, and its receive pbufs are PBUF_RAM,
 * never PBUF_POOL, which Debian's 2.1.3 library gets wrong (see that file).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <net/if.h>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include "lwip_tapnetif.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* struct tapnet, tap_open, tap_drain, parse_prefix: lwip_tapnetif.c */

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lwip_tap_echo --tap DEV --address A.B.C.D/P [--duration SEC]\n"
            "                     [--mode single|tcpip] [--mac AA:BB:CC:DD:EE:FF]\n"
            "  An lwIP %s host on the existing TAP device DEV answering ARP and ping\n"
            "  until SIGINT/SIGTERM (or SEC seconds), then printing its frame counters.\n"
            "  --mode single (default): one thread, lwip_init + ethernet_input +\n"
            "  sys_check_timeouts; --mode tcpip: tcpip_init + tcpip_input.\n",
            LWIP_VERSION_STRING);
}

int main(int argc, char **argv)
{
    const char *dev = NULL, *addr_arg = NULL, *mode = "single";
    double duration = 0;
    static struct tapnet t; /* large buffers: not on the stack */
    memcpy(t.mac, (const uint8_t[6]){0x02, 0x4c, 0x57, 0x00, 0x00, 0x02}, 6);

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            fprintf(stderr, "lwip_tap_echo: %s needs a value\n", o);
            return 2;
        }
        if (strcmp(o, "--tap") == 0) {
            dev = v;
        } else if (strcmp(o, "--address") == 0) {
            addr_arg = v;
        } else if (strcmp(o, "--duration") == 0) {
            duration = atof(v);
        } else if (strcmp(o, "--mode") == 0) {
            mode = v;
        } else if (strcmp(o, "--mac") == 0) {
            unsigned m[6];
            if (sscanf(v, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
                fprintf(stderr, "lwip_tap_echo: bad --mac '%s'\n", v);
                return 2;
            }
            for (int k = 0; k < 6; k++)
                t.mac[k] = (uint8_t)m[k];
        } else {
            fprintf(stderr, "lwip_tap_echo: unknown option '%s'\n", o);
            usage(stderr);
            return 2;
        }
    }
    bool threaded;
    if (strcmp(mode, "single") == 0) {
        threaded = false;
    } else if (strcmp(mode, "tcpip") == 0) {
        threaded = true;
    } else {
        fprintf(stderr, "lwip_tap_echo: --mode is single or tcpip, not '%s'\n", mode);
        return 2;
    }
    ip4_addr_t ip, mask, gw;
    if (!dev || !addr_arg || parse_prefix(addr_arg, &ip, &mask) != 0) {
        fprintf(stderr, "lwip_tap_echo: --tap DEV and --address A.B.C.D/P are required\n");
        usage(stderr);
        return 2;
    }
    ip4_addr_set_zero(&gw); /* no gateway: on-link only */

    t.fd = tap_open(dev);
    if (t.fd < 0) {
        fprintf(stderr, "lwip_tap_echo: cannot open TAP device %s: %s\n", dev, strerror(errno));
        return 1;
    }

    /* Signals go to the main thread only: block them while lwIP starts
     * its thread (which inherits the mask), then unblock here. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (threaded) {
        tcpip_init(NULL, NULL);
        LOCK_TCPIP_CORE();
    } else {
        lwip_init();
    }
    if (!netif_add(&t.nif, &ip, &mask, &gw, &t, tap_netif_init, threaded ? tcpip_input : ethernet_input)) {
        fprintf(stderr, "lwip_tap_echo: netif_add failed\n");
        return 1;
    }
    netif_set_default(&t.nif);
    netif_set_up(&t.nif);
    netif_set_link_up(&t.nif);
    if (threaded)
        UNLOCK_TCPIP_CORE();
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    printf("lwip_tap_echo: lwIP %s, %s/%u on %s (%02x:%02x:%02x:%02x:%02x:%02x), mode %s; SIGINT/SIGTERM to stop\n",
           LWIP_VERSION_STRING, ip4addr_ntoa(&ip), (unsigned)__builtin_popcount(ip4_addr_get_u32(&mask)), dev,
           t.mac[0], t.mac[1], t.mac[2], t.mac[3], t.mac[4], t.mac[5], mode);
    fflush(stdout);

    double start = monotonic_s();
    double end = duration > 0 ? start + duration : 0;
    int status = 0;
    while (!stop_signal) {
        double now = monotonic_s();
        if (end > 0 && now >= end)
            break;
        int timeout = 100; /* ms; bounds how late a signal or the end is seen */
        if (!threaded) {
            sys_check_timeouts();
            u32_t sleep = sys_timeouts_sleeptime();
            if (sleep != SYS_TIMEOUTS_SLEEPTIME_INFINITE && sleep < (u32_t)timeout)
                timeout = (int)sleep;
        }
        if (end > 0 && (end - now) * 1000 < timeout)
            timeout = (int)((end - now) * 1000) + 1;
        struct pollfd pfd = {.fd = t.fd, .events = POLLIN};
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno != EINTR) {
            perror("lwip_tap_echo: poll");
            status = 1;
            break;
        }
        if (n > 0 && tap_drain(&t) < 0) {
            fprintf(stderr, "lwip_tap_echo: TAP device error: %s\n", strerror(errno));
            status = 1;
            break;
        }
    }

    printf("lwip_tap_echo: stopping%s after %.1f s; counters:\n", stop_signal ? " on signal" : "",
           monotonic_s() - start);
    printf("  rx_frames      %lu\n  rx_bytes       %lu\n  rx_drop_nomem  %lu\n  rx_drop_input  %lu\n"
           "  tx_frames      %lu\n  tx_bytes       %lu\n  tx_err         %lu\n",
           atomic_load(&t.rx_frames), atomic_load(&t.rx_bytes), atomic_load(&t.rx_drop_nomem),
           atomic_load(&t.rx_drop_input), atomic_load(&t.tx_frames), atomic_load(&t.tx_bytes),
           atomic_load(&t.tx_err));
    fflush(stdout);
    /* The tcpip thread has no stop call in lwIP 2.1; exiting ends it. */
    close(t.fd);
    return status;
}
