/*
 * src/drivers/pcap.c - classic pcap writer (see portstack/pcap.h).
 *
 * Format (the original libpcap one, which every reader understands):
 *   file header: magic 0xa1b2c3d4 (microsecond timestamps), version 2.4,
 *                thiszone 0, sigfigs 0, snaplen, linktype 1 (Ethernet);
 *   per record:  ts_sec, ts_usec, incl_len, orig_len, then incl_len bytes.
 * Every field is written little-endian whatever the host, so a simulated
 * run produces the same file byte for byte on any machine; readers detect
 * the byte order from the magic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "portstack/net.h"
#include "portstack/pcap.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_DEFAULT_SNAPLEN 65535u
/* stdio buffer: a few dozen full frames between writes to the kernel. */
#define PCAP_BUFSIZE (64 * 1024)

struct ps_pcap {
    FILE *f;
    unsigned snaplen;
    uint64_t epoch_us;
    uint64_t frames;
    int err; /* first write error (positive errno), 0 if none */
    char buf[PCAP_BUFSIZE];
};

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void pc_write(struct ps_pcap *pc, const void *data, size_t len)
{
    if (pc->err != 0 || len == 0)
        return;
    errno = 0;
    if (fwrite(data, 1, len, pc->f) != len)
        pc->err = errno ? errno : EIO;
}

struct ps_pcap *ps_pcap_open(const char *path, unsigned snaplen)
{
    struct ps_pcap *pc = calloc(1, sizeof(*pc));
    if (pc == NULL)
        return NULL;
    pc->snaplen = snaplen ? snaplen : PCAP_DEFAULT_SNAPLEN;
    pc->f = fopen(path, "wb");
    if (pc->f == NULL) {
        int e = errno;
        free(pc);
        errno = e;
        return NULL;
    }
    setvbuf(pc->f, pc->buf, _IOFBF, sizeof(pc->buf));

    uint8_t h[24];
    put_le32(h + 0, PCAP_MAGIC_US);
    put_le16(h + 4, PCAP_VERSION_MAJOR);
    put_le16(h + 6, PCAP_VERSION_MINOR);
    put_le32(h + 8, 0);  /* thiszone: timestamps are UTC */
    put_le32(h + 12, 0); /* sigfigs */
    put_le32(h + 16, pc->snaplen);
    put_le32(h + 20, PCAP_LINKTYPE_ETHERNET);
    pc_write(pc, h, sizeof(h));
    if (pc->err != 0) {
        int e = pc->err;
        fclose(pc->f);
        free(pc);
        errno = e;
        return NULL;
    }
    return pc;
}

void ps_pcap_set_epoch(struct ps_pcap *pc, uint64_t epoch_us)
{
    pc->epoch_us = epoch_us;
}

void ps_pcap_write(struct ps_pcap *pc, const uint8_t *frame, size_t len, ps_time_t ts)
{
    uint64_t t = ts + pc->epoch_us;
    size_t incl = len < pc->snaplen ? len : pc->snaplen;
    uint8_t h[16];
    /* ts_sec is 32 bits in this format (it wraps in 2106). */
    put_le32(h + 0, (uint32_t)(t / 1000000u));
    put_le32(h + 4, (uint32_t)(t % 1000000u));
    put_le32(h + 8, (uint32_t)incl);
    put_le32(h + 12, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    pc_write(pc, h, sizeof(h));
    pc_write(pc, frame, incl);
    pc->frames++;
}

uint64_t ps_pcap_frames(const struct ps_pcap *pc)
{
    return pc->frames;
}

static void capture_all(void *ctx, struct ps_iface *ifc, enum ps_dir dir, const uint8_t *frame, size_t len,
                        ps_time_t now)
{
    ps_pcap_write(ctx, frame, len, now);
}

static void capture_out(void *ctx, struct ps_iface *ifc, enum ps_dir dir, const uint8_t *frame, size_t len,
                        ps_time_t now)
{
    if (dir == PS_DIR_OUT)
        ps_pcap_write(ctx, frame, len, now);
}

void ps_pcap_attach(struct ps_pcap *pc, struct ps_iface *ifc, bool out_only)
{
    /* Two hooks rather than a per-attachment context: nothing to allocate
     * or to free when the interface is detached. */
    ps_iface_set_capture(ifc, out_only ? capture_out : capture_all, pc);
}

int ps_pcap_close(struct ps_pcap *pc)
{
    if (pc == NULL)
        return 0;
    int err = pc->err;
    errno = 0;
    if (fflush(pc->f) != 0 && err == 0)
        err = errno ? errno : EIO;
    errno = 0;
    if (fclose(pc->f) != 0 && err == 0)
        err = errno ? errno : EIO;
    free(pc);
    return -err;
}
