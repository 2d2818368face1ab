/*
 * `portstack run --send ADDR:PORT:BYTES`: a TCP client that sends BYTES of
 * a known pattern to a server, half-closes, and checks that whatever comes
 * back (an echo server returns it all) is the same pattern.  It gives the
 * kernel-side tests portstack as a TCP *client*, with a byte-exact check
 * both ways and no files.
 *
 * The pattern: byte o of the stream is ((o mod 65536) * 131 + 7) mod 256,
 * XOR (o / 65536) mod 256 - cheap here and in a Python checker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portstack/socket.h>

#include "cli.h"

uint8_t cli_bulk_byte(uint64_t o)
{
    return (uint8_t)((((o & 0xffff) * 131u + 7u) & 0xff) ^ ((o >> 16) & 0xff));
}

static void fill(uint8_t *buf, uint64_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = cli_bulk_byte(off + i);
}

int cli_bulk_start(struct cli_bulk *b, struct ps_stack *s, ps_ip4_t addr, uint16_t port, uint64_t bytes)
{
    memset(b, 0, sizeof(*b));
    b->s = s;
    b->to_send = bytes;
    b->fd = ps_socket(s, PS_SOCK_STREAM);
    if (b->fd < 0)
        return b->fd;
    struct ps_sockaddr_in to = {.addr = addr, .port = port};
    int rc = ps_connect(s, b->fd, &to);
    if (rc < 0 && rc != -EINPROGRESS)
        return rc;
    b->started = ps_stack_now(s);
    return 0;
}

bool cli_bulk_pump(struct cli_bulk *b)
{
    if (b->done)
        return false;
    uint8_t buf[16384];
    bool progress = false;
    while (b->sent < b->to_send) {
        size_t n = b->to_send - b->sent < sizeof(buf) ? (size_t)(b->to_send - b->sent) : sizeof(buf);
        fill(buf, b->sent, n);
        ssize_t w = ps_send(b->s, b->fd, buf, n, 0);
        if (w == -EAGAIN || w == -EINPROGRESS || w == -ENOTCONN)
            break;
        if (w < 0) {
            b->err = (int)w;
            b->done = true;
            return true;
        }
        b->sent += (uint64_t)w;
        progress = true;
    }
    if (b->sent == b->to_send && !b->shut) {
        b->shut = ps_shutdown(b->s, b->fd, PS_SHUT_WR) == 0;
        progress |= b->shut;
    }
    for (;;) {
        ssize_t r = ps_recv(b->s, b->fd, buf, sizeof(buf), 0);
        if (r == -EAGAIN || r == -EINPROGRESS || r == -ENOTCONN)
            break;
        if (r <= 0) {
            if (r < 0)
                b->err = (int)r;
            b->done = true;
            b->finished = ps_stack_now(b->s);
            return true;
        }
        for (ssize_t i = 0; i < r; i++)
            b->mismatches += buf[i] != cli_bulk_byte(b->received + (uint64_t)i);
        b->received += (uint64_t)r;
        progress = true;
    }
    return progress;
}

void cli_bulk_report(const struct cli_bulk *b, FILE *out)
{
    double secs = (double)(b->finished - b->started) / 1e6;
    fprintf(out, "portstack: bulk: sent %llu, received %llu, %s%s%s",
            (unsigned long long)b->sent, (unsigned long long)b->received,
            b->mismatches ? "PATTERN MISMATCH" : "pattern ok", b->err ? ", error " : "",
            b->err ? ps_strerror(b->err) : "");
    if (b->done && secs > 0)
        fprintf(out, ", %.1f Mbit/s each way", (double)b->sent * 8 / secs / 1e6);
    fprintf(out, "\n");
}

void cli_bulk_close(struct cli_bulk *b)
{
    if (b->fd >= 0)
        ps_close(b->s, b->fd);
    b->fd = -1;
}
