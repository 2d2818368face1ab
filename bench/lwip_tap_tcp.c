/*
 * bench/lwip_tap_tcp.c - an lwIP TCP discard (RFC 863) and echo (RFC 862)
 * server on an existing TAP device: the lwIP contender of the bulk TCP
 * throughput comparison in bench/run.sh (TCP_ONLY=1 bench/run.sh).
 *
 * It is built against Debian's liblwip-dev (lwIP 2.1.3) by bench/run.sh,
 * with gcc directly, so the portstack build never depends on lwIP:
 *
 *   gcc -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror \
 *       -I/usr/include/lwip bench/lwip_tap_tcp.c bench/lwip_tapnetif.c \
 *       -o build/lwip_tap_tcp \
 *       -llwip -lpthread
 *
 * It runs lwIP the way bench/lwip_tap_echo.c does in its --mode single: one
 * thread, lwip_init() without tcpip_init() (so no tcpip thread and no
 * mailbox), frames read from the TAP fd handed straight to ethernet_input(),
 * sys_check_timeouts() in the poll loop - the NO_SYS style and the same loop
 * shape as `portstack run`.  TCP uses lwIP's raw (callback) API.
 *
 * The netif is lwip_tap_echo.c's (bench/lwip_tapnetif.c), and its receive
 * pbufs are PBUF_RAM, never PBUF_POOL: Debian's 2.1.3 library hands out
 * 616-byte PBUF_POOL blocks but fills each with up to 1536 bytes, so any
 * frame longer than 592 bytes would overrun the heap (see lwip_tapnetif.c
 * and BENCHMARKS.md).  TCP keeps the received PBUF_RAM pbufs as they are
 * until the application frees them; lwIP's own TCP output allocates
 * PBUF_RAM too.
 *
 * Debian's lwipopts.h: TCP_MSS 1460, TCP_WND 0xFFFF with LWIP_WND_SCALE and
 * TCP_RCV_SCALE 1, TCP_SND_BUF = TCP_WND, MEMP_MEM_MALLOC (every pcb and
 * segment is a malloc).  SACK is not compiled in (LWIP_TCP_SACK_OUT 0),
 * timestamps neither (LWIP_TCP_TIMESTAMPS 0).
 *
 *   discard: every segment is acknowledged to the window at once
 *            (tcp_recved) and freed; the connection is closed at EOF.
 *   echo:    received pbufs are queued and written back (tcp_write, copy) as
 *            the send buffer allows; the receive window is reopened
 *            (tcp_recved) only for bytes written back, so a client that
 *            does not read stalls the sender rather than this process's
 *            memory.  Closed once EOF has been seen and everything is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
#include "lwip/tcp.h"
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

/* ---- TCP: discard and echo (raw API) --------------------------------------------------- */

static struct counters {
    unsigned long accepted, closed, aborted, errors;
    unsigned long long discarded, echoed_in, echoed_out;
} cnt;

/* An echo connection: the pbuf chains received and not yet written back,
 * in order (a ring); q_off bytes of the first one are already written. */
#define ECHO_QUEUE 256
struct echo_conn {
    struct tcp_pcb *pcb;
    struct pbuf *q[ECHO_QUEUE];
    unsigned head, n;
    u16_t q_off;
    bool eof;
};

static void conn_close(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    if (tcp_close(pcb) != ERR_OK)
        tcp_abort(pcb); /* no memory for the FIN: give up on a graceful close */
    cnt.closed++;
}

static err_t discard_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    if (p == NULL) {
        conn_close(pcb);
        return ERR_OK;
    }
    if (err != ERR_OK) {
        pbuf_free(p);
        return err;
    }
    cnt.discarded += p->tot_len;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static void echo_free(struct echo_conn *c)
{
    for (; c->n; c->n--, c->head = (c->head + 1) % ECHO_QUEUE)
        pbuf_free(c->q[c->head]);
    free(c);
}

/* Write back as much of the queue as the send buffer takes; reopen the
 * window by as much.  Returns false if the connection was closed. */
static bool echo_push(struct echo_conn *c)
{
    struct tcp_pcb *pcb = c->pcb;
    u32_t written = 0;
    while (c->n) {
        struct pbuf *h = c->q[c->head];
        u16_t in = 0;
        struct pbuf *seg = pbuf_skip(h, c->q_off, &in);
        u16_t room = tcp_sndbuf(pcb);
        if (!seg || room == 0)
            break;
        u16_t avail = (u16_t)(seg->len - in);
        u16_t k = avail < room ? avail : room;
        err_t e = tcp_write(pcb, (const u8_t *)seg->payload + in, k, TCP_WRITE_FLAG_COPY);
        if (e == ERR_MEM)
            break; /* the segment queue is full: wait for tcp_sent */
        if (e != ERR_OK) {
            cnt.errors++;
            break;
        }
        written += k;
        c->q_off = (u16_t)(c->q_off + k);
        if (c->q_off == h->tot_len) {
            pbuf_free(h);
            c->head = (c->head + 1) % ECHO_QUEUE;
            c->n--;
            c->q_off = 0;
        }
    }
    if (written) {
        cnt.echoed_out += written;
        while (written) { /* tcp_recved takes a u16_t */
            u16_t k = written > 0xffff ? 0xffff : (u16_t)written;
            tcp_recved(pcb, k);
            written -= k;
        }
        tcp_output(pcb);
    }
    if (c->eof && !c->n) {
        conn_close(pcb);
        echo_free(c);
        return false;
    }
    return true;
}

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct echo_conn *c = arg;
    (void)pcb;
    if (p == NULL) {
        c->eof = true;
        echo_push(c);
        return ERR_OK;
    }
    if (err != ERR_OK) {
        pbuf_free(p);
        return err;
    }
    if (c->n == ECHO_QUEUE)
        return ERR_MEM; /* lwIP keeps p (refused data) and offers it again later */
    cnt.echoed_in += p->tot_len;
    c->q[(c->head + c->n) % ECHO_QUEUE] = p;
    c->n++;
    echo_push(c);
    return ERR_OK;
}

static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb;
    (void)len;
    echo_push(arg);
    return ERR_OK;
}

static void echo_err(void *arg, err_t err)
{
    (void)err;
    cnt.aborted++;
    if (arg)
        echo_free(arg); /* the pcb is already gone */
}

static void discard_err(void *arg, err_t err)
{
    (void)arg;
    (void)err;
    cnt.aborted++;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    bool echo = arg != NULL;
    if (err != ERR_OK || pcb == NULL)
        return ERR_VAL;
    cnt.accepted++;
    if (!echo) {
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, discard_recv);
        tcp_err(pcb, discard_err);
        return ERR_OK;
    }
    struct echo_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    c->pcb = pcb;
    tcp_arg(pcb, c);
    tcp_recv(pcb, echo_recv);
    tcp_sent(pcb, echo_sent);
    tcp_err(pcb, echo_err);
    return ERR_OK;
}

static int tcp_serve(u16_t port, bool echo)
{
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (!pcb)
        return -1;
    if (tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
        tcp_close(pcb);
        return -1;
    }
    struct tcp_pcb *l = tcp_listen_with_backlog(pcb, 16);
    if (!l)
        return -1;
    /* Any non-NULL arg marks echo. */
    tcp_arg(l, echo ? (void *)l : NULL);
    tcp_accept(l, on_accept);
    return 0;
}

/* ---- main -------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lwip_tap_tcp --tap DEV --address A.B.C.D/P [--duration SEC]\n"
            "                    [--discard PORT] [--echo PORT] [--mac AA:BB:CC:DD:EE:FF]\n"
            "  An lwIP %s host on the existing TAP device DEV (one thread, raw API) serving\n"
            "  TCP discard (default port 9) and echo (default port 7), and answering ARP and\n"
            "  ping, until SIGINT/SIGTERM (or SEC seconds); then it prints its counters.\n",
            LWIP_VERSION_STRING);
}

int main(int argc, char **argv)
{
    const char *dev = NULL, *addr_arg = NULL;
    double duration = 0;
    unsigned discard_port = 9, echo_port = 7;
    static struct tapnet t;
    memcpy(t.mac, (const uint8_t[6]){0x02, 0x4c, 0x57, 0x00, 0x00, 0x03}, 6);

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            fprintf(stderr, "lwip_tap_tcp: %s needs a value\n", o);
            return 2;
        }
        if (strcmp(o, "--tap") == 0) {
            dev = v;
        } else if (strcmp(o, "--address") == 0) {
            addr_arg = v;
        } else if (strcmp(o, "--duration") == 0) {
            duration = atof(v);
        } else if (strcmp(o, "--discard") == 0) {
            discard_port = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(o, "--echo") == 0) {
            echo_port = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(o, "--mac") == 0) {
            unsigned m[6];
            if (sscanf(v, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
                fprintf(stderr, "lwip_tap_tcp: bad --mac '%s'\n", v);
                return 2;
            }
            for (int k = 0; k < 6; k++)
                t.mac[k] = (uint8_t)m[k];
        } else {
            fprintf(stderr, "lwip_tap_tcp: unknown option '%s'\n", o);
            usage(stderr);
            return 2;
        }
    }
    ip4_addr_t ip, mask, gw;
    if (!dev || !addr_arg || parse_prefix(addr_arg, &ip, &mask) != 0 || discard_port < 1 ||
        discard_port > 65535 || echo_port < 1 || echo_port > 65535 || echo_port == discard_port) {
        fprintf(stderr, "lwip_tap_tcp: --tap DEV and --address A.B.C.D/P are required (two distinct ports)\n");
        usage(stderr);
        return 2;
    }
    ip4_addr_set_zero(&gw); /* no gateway: on-link only */

    t.fd = tap_open(dev);
    if (t.fd < 0) {
        fprintf(stderr, "lwip_tap_tcp: cannot open TAP device %s: %s\n", dev, strerror(errno));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    lwip_init();
    if (!netif_add(&t.nif, &ip, &mask, &gw, &t, tap_netif_init, ethernet_input)) {
        fprintf(stderr, "lwip_tap_tcp: netif_add failed\n");
        return 1;
    }
    netif_set_default(&t.nif);
    netif_set_up(&t.nif);
    netif_set_link_up(&t.nif);
    if (tcp_serve((u16_t)discard_port, false) != 0 || tcp_serve((u16_t)echo_port, true) != 0) {
        fprintf(stderr, "lwip_tap_tcp: cannot listen on TCP ports %u and %u\n", discard_port, echo_port);
        return 1;
    }

    printf("lwip_tap_tcp: lwIP %s, %s/%u on %s, TCP discard on %u, echo on %u (TCP_MSS %d, TCP_WND %d, "
           "TCP_SND_BUF %d, sizeof(struct tcp_pcb) %zu); SIGINT/SIGTERM to stop\n",
           LWIP_VERSION_STRING, ip4addr_ntoa(&ip), (unsigned)__builtin_popcount(ip4_addr_get_u32(&mask)), dev,
           discard_port, echo_port, TCP_MSS, TCP_WND, TCP_SND_BUF, sizeof(struct tcp_pcb));
    fflush(stdout);

    double start = monotonic_s();
    double end = duration > 0 ? start + duration : 0;
    int status = 0;
    while (!stop_signal) {
        double now = monotonic_s();
        if (end > 0 && now >= end)
            break;
        int timeout = 100;
        sys_check_timeouts();
        u32_t sleep = sys_timeouts_sleeptime();
        if (sleep != SYS_TIMEOUTS_SLEEPTIME_INFINITE && sleep < (u32_t)timeout)
            timeout = (int)sleep;
        if (end > 0 && (end - now) * 1000 < timeout)
            timeout = (int)((end - now) * 1000) + 1;
        struct pollfd pfd = {.fd = t.fd, .events = POLLIN};
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno != EINTR) {
            perror("lwip_tap_tcp: poll");
            status = 1;
            break;
        }
        if (n > 0 && tap_drain(&t) < 0) {
            fprintf(stderr, "lwip_tap_tcp: TAP device error: %s\n", strerror(errno));
            status = 1;
            break;
        }
    }

    printf("lwip_tap_tcp: stopping%s after %.1f s; counters:\n", stop_signal ? " on signal" : "",
           monotonic_s() - start);
    printf("  rx_frames      %lu\n  rx_bytes       %lu\n  rx_drop_nomem  %lu\n  rx_drop_input  %lu\n"
           "  tx_frames      %lu\n  tx_bytes       %lu\n  tx_err         %lu\n",
           atomic_load(&t.rx_frames), atomic_load(&t.rx_bytes), atomic_load(&t.rx_drop_nomem),
           atomic_load(&t.rx_drop_input), atomic_load(&t.tx_frames), atomic_load(&t.tx_bytes),
           atomic_load(&t.tx_err));
    printf("  tcp_accepted   %lu\n  tcp_closed     %lu\n  tcp_aborted    %lu\n  tcp_errors     %lu\n"
           "  discarded      %llu\n  echo_in        %llu\n  echo_out       %llu\n",
           cnt.accepted, cnt.closed, cnt.aborted, cnt.errors, cnt.discarded, cnt.echoed_in, cnt.echoed_out);
    fflush(stdout);
    close(t.fd);
    return status;
}
