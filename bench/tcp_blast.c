/*
 * bench/tcp_blast.c - the kernel side of the bulk TCP throughput comparison
 * in bench/run.sh (an iperf-like tool with an exact byte count and a check
 * of the echoed data).  It uses the Linux kernel's own TCP through ordinary
 * sockets.  Built by bench/run.sh with gcc; no dependency on portstack.
 *
 *   tcp_blast discard ADDR PORT MB [TIMEOUT]
 *       connect, send MB megabytes (10^6 bytes) as fast as the connection
 *       takes them, shut down the sending half, and wait for the server to
 *       close (a discard server closes once it has read the end of the
 *       stream, so every byte has been received by then).  Prints the rate
 *       from the connect to that close.
 *   tcp_blast echo ADDR PORT MB [TIMEOUT]
 *       connect and, at the same time (poll, non-blocking), send MB
 *       megabytes and read back what the echo server returns, checking
 *       every byte against what was sent; shut down the sending half after
 *       the last byte, and wait for the server's close.  Prints the rate of
 *       the echoed stream (MB / time to get all of it back).
 *   tcp_blast serve DISCARD_PORT ECHO_PORT [DURATION]
 *       the Linux contender: a discard and an echo server, one connection
 *       at a time, in the kernel of the namespace it runs in; stops after
 *       DURATION seconds (default 600).
 *
 * Output of a client run, one line:
 *   tcp_blast: MODE BYTES bytes in SEC s = MBPS MB/s, client CPU CPU s, ok
 * ("FAILED: ..." instead of "ok", and exit status 1, if the connection
 * failed, timed out or the echoed data differed).  MB is 10^6 bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
#define PAT 65536

static uint8_t pattern[2 * PAT];
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(const char *addr, int port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "tcp_blast: bad address %s\n", addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("tcp_blast: connect");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int client(bool echo, const char *addr, int port, double mb, double timeout)
{
    uint64_t total = (uint64_t)(mb * 1e6);
    static uint8_t rbuf[CHUNK];
    double c0 = cpu_s(), t0 = now_s();
    int fd = connect_to(addr, port);
    if (fd < 0)
        return 1;
    uint64_t sent = 0, rcvd = 0, bad = 0;
    bool shut = false, eof = false;
    const char *why = NULL;
    double t_all_back = 0;
    while (!eof) {
        if (now_s() - t0 > timeout) {
            why = "timeout";
            break;
        }
        if (sent == total && !shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0)};
        int n = poll(&p, 1, 1000);
        if (n < 0 && errno != EINTR) {
            why = "poll";
            break;
        }
        if (n <= 0)
            continue;
        if ((p.revents & POLLOUT) && sent < total) {
            size_t off = (size_t)(sent % PAT), len = CHUNK;
            if (total - sent < len)
                len = (size_t)(total - sent);
            ssize_t k = send(fd, pattern + off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (k > 0)
                sent += (uint64_t)k;
            else if (k < 0 && errno != EAGAIN && errno != EINTR) {
                why = strerror(errno);
                break;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
            if (k == 0) {
                eof = true;
            } else if (k > 0) {
                if (!echo) {
                    why = "data from a discard server";
                    break;
                }
                if (rcvd + (uint64_t)k > total || memcmp(rbuf, pattern + rcvd % PAT, (size_t)k) != 0)
                    bad++;
                rcvd += (uint64_t)k;
                if (rcvd == total)
                    t_all_back = now_s();
            } else if (errno != EAGAIN && errno != EINTR) {
                why = strerror(errno);
                break;
            }
        }
    }
    double t1 = now_s(), c1 = cpu_s();
    close(fd);
    if (!why && sent != total)
        why = "not everything sent";
    if (!why && echo && rcvd != total)
        why = "not everything echoed";
    if (!why && bad)
        why = "echoed data differs";
    /* discard: until the server's close; echo: until the last byte is back. */
    double secs = echo && t_all_back > 0 ? t_all_back - t0 : t1 - t0;
    uint64_t bytes = echo ? rcvd : sent;
    printf("tcp_blast: %s %llu bytes in %.4f s = %.2f MB/s, client CPU %.3f s, %s%s\n", echo ? "echo" : "discard",
           (unsigned long long)bytes, secs, secs > 0 ? (double)bytes / secs / 1e6 : 0.0, c1 - c0,
           why ? "FAILED: " : "ok", why ? why : "");
    return why ? 1 : 0;
}

static int listen_on(int port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int serve(int dport, int eport, double duration)
{
    int ld = listen_on(dport), le = listen_on(eport);
    if (ld < 0 || le < 0) {
        perror("tcp_blast: listen");
        return 1;
    }
    static uint8_t buf[CHUNK];
    /* run.sh stops the server with SIGINT, which a background job of a
     * script would otherwise ignore; no SA_RESTART, so a blocked call
     * returns EINTR. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("tcp_blast: serving discard on %d, echo on %d\n", dport, eport);
    fflush(stdout);
    double end = now_s() + duration;
    while (now_s() < end && !stop_signal) {
        struct pollfd p[2] = {{.fd = ld, .events = POLLIN}, {.fd = le, .events = POLLIN}};
        if (poll(p, 2, 500) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            int c = accept(p[i].fd, NULL, NULL);
            if (c < 0)
                continue;
            /* Blocking, one connection at a time; a receive timeout bounds
             * a client that disappears. */
            struct timeval tv = {.tv_sec = 30};
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
            for (;;) {
                ssize_t k = recv(c, buf, sizeof(buf), 0);
                if (k <= 0 || stop_signal)
                    break;
                if (i == 1) {
                    ssize_t off = 0;
                    while (off < k) {
                        ssize_t w = send(c, buf + off, (size_t)(k - off), MSG_NOSIGNAL);
                        if (w <= 0)
                            break;
                        off += w;
                    }
                    if (off < k)
                        break;
                }
            }
            close(c);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)((i % PAT) * 131 + (i % PAT) / 251);
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 5 && (strcmp(argv[1], "discard") == 0 || strcmp(argv[1], "echo") == 0))
        return client(strcmp(argv[1], "echo") == 0, argv[2], atoi(argv[3]), atof(argv[4]),
                      argc > 5 ? atof(argv[5]) : 120);
    if (argc >= 4 && strcmp(argv[1], "serve") == 0)
        return serve(atoi(argv[2]), atoi(argv[3]), argc > 4 ? atof(argv[4]) : 600);
    fprintf(stderr, "usage: tcp_blast discard|echo ADDR PORT MB [TIMEOUT]\n"
                    "       tcp_blast serve DISCARD_PORT ECHO_PORT [DURATION]\n");
    return 2;
}
