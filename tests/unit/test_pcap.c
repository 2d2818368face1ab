/*
 * tests/unit/test_pcap.c - the pcap writer: file format read back field by
 * field, capture of live interfaces on a simulated link, byte-identical
 * files from identical runs, and (if installed) tshark reading the result.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "portstack/net.h"
#include "portstack/pcap.h"
#include "portstack/sim.h"
#include "portstack/stack.h"
#include "portstack/stats.h"
#include "test.h"

#define TSHARK "/usr/bin/tshark"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* A fresh temporary file name (the file exists, empty). */
static void temp_path(char *buf, size_t size)
{
    snprintf(buf, size, "/tmp/ps_test_pcap_XXXXXX");
    int fd = mkstemp(buf);
    REQUIRE(fd >= 0);
    close(fd);
}

/* The whole file in a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    REQUIRE(buf != NULL);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            REQUIRE(buf != NULL);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

struct rec {
    uint64_t ts; /* sec * 1e6 + usec */
    uint32_t incl, orig;
    const uint8_t *data;
};

/* Check the file header and split the records; returns their number. */
static unsigned parse_pcap(const uint8_t *buf, size_t len, unsigned snaplen, struct rec *out, unsigned max)
{
    REQUIRE(len >= 24);
    CHECK_EQ(le32(buf + 0), 0xa1b2c3d4u);
    CHECK_EQ(le16(buf + 4), 2);
    CHECK_EQ(le16(buf + 6), 4);
    CHECK_EQ(le32(buf + 8), 0);
    CHECK_EQ(le32(buf + 12), 0);
    CHECK_EQ(le32(buf + 16), snaplen);
    CHECK_EQ(le32(buf + 20), 1);
    size_t off = 24;
    unsigned n = 0;
    while (off < len) {
        REQUIRE(off + 16 <= len);
        uint32_t usec = le32(buf + off + 4);
        CHECK(usec < 1000000);
        struct rec r = {
            .ts = (uint64_t)le32(buf + off) * 1000000u + usec,
            .incl = le32(buf + off + 8),
            .orig = le32(buf + off + 12),
            .data = buf + off + 16,
        };
        CHECK(r.incl <= snaplen && r.incl <= r.orig);
        REQUIRE(off + 16 + r.incl <= len);
        if (n < max)
            out[n] = r;
        n++;
        off += 16 + r.incl;
    }
    CHECK_EQ(off, len);
    return n;
}

/* tshark's count of frames in the file, or -1 if it failed; -2 if absent. */
static int tshark_count(const char *path)
{
    if (access(TSHARK, X_OK) != 0)
        return -2;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), TSHARK " -n -r '%s' -T fields -e frame.len 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    int lines = 0;
    char line[256];
    while (fgets(line, sizeof(line), p) != NULL)
        lines++;
    int st = pclose(p);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return lines;
}

TEST(format)
{
    char path[64];
    temp_path(path, sizeof(path));
    struct ps_pcap *pc = ps_pcap_open(path, 64);
    REQUIRE(pc != NULL);
    const uint64_t epoch = 1700000000123456u;
    ps_pcap_set_epoch(pc, epoch);

    uint8_t f1[60], f2[100], f3[14];
    for (size_t i = 0; i < sizeof(f1); i++)
        f1[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(f2); i++)
        f2[i] = (uint8_t)(0xff - i);
    memset(f3, 0xab, sizeof(f3));
    ps_pcap_write(pc, f1, sizeof(f1), 0);
    ps_pcap_write(pc, f2, sizeof(f2), 1999999);
    ps_pcap_write(pc, f3, sizeof(f3), PS_SEC(3600) + 5);
    CHECK_U64(ps_pcap_frames(pc), 3);
    CHECK_EQ(ps_pcap_close(pc), 0);

    size_t len;
    uint8_t *buf = slurp(path, &len);
    CHECK_EQ(len, 24 + 3 * 16 + 60 + 64 + 14);
    struct rec r[4];
    REQUIRE(parse_pcap(buf, len, 64, r, 4) == 3);
    CHECK_U64(r[0].ts, epoch);
    CHECK_U64(r[1].ts, epoch + 1999999);
    CHECK_U64(r[2].ts, epoch + PS_SEC(3600) + 5);
    /* 1700000000.123456 + 1.999999 s = 1700000002.123455 */
    CHECK_EQ(le32(buf + 24 + 16 + 60), 1700000002u);
    CHECK_EQ(le32(buf + 24 + 16 + 60 + 4), 123455u);
    CHECK_EQ(r[0].incl, 60);
    CHECK_EQ(r[0].orig, 60);
    CHECK_MEM(r[0].data, f1, 60);
    CHECK_EQ(r[1].incl, 64); /* cut at snaplen */
    CHECK_EQ(r[1].orig, 100);
    CHECK_MEM(r[1].data, f2, 64);
    CHECK_EQ(r[2].incl, 14);
    CHECK_MEM(r[2].data, f3, 14);
    free(buf);

    int n = tshark_count(path);
    if (n == -2)
        fprintf(stderr, "  (no tshark: skipped)\n");
    else
        CHECK_EQ(n, 3);
    unlink(path);
}

TEST(defaults_and_errors)
{
    char path[64];
    temp_path(path, sizeof(path));
    struct ps_pcap *pc = ps_pcap_open(path, 0);
    REQUIRE(pc != NULL);
    CHECK_U64(ps_pcap_frames(pc), 0);
    CHECK_EQ(ps_pcap_close(pc), 0);
    size_t len;
    uint8_t *buf = slurp(path, &len);
    CHECK_EQ(len, 24);
    struct rec r[1];
    CHECK_EQ(parse_pcap(buf, len, 65535, r, 1), 0); /* snaplen 0 is 65535 */
    free(buf);
    unlink(path);

    errno = 0;
    CHECK(ps_pcap_open("/nonexistent-dir-portstack/x.pcap", 0) == NULL);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(ps_pcap_close(NULL), 0);

    /* A write error (device full) surfaces at close. */
    if (access("/dev/full", W_OK) == 0) {
        pc = ps_pcap_open("/dev/full", 0); /* the header sits in the buffer */
        if (pc != NULL) {
            uint8_t f[1500] = {0};
            for (int i = 0; i < 100; i++)
                ps_pcap_write(pc, f, sizeof(f), (ps_time_t)i);
            CHECK_EQ(ps_pcap_close(pc), -ENOSPC);
        }
    }
}

struct pair {
    struct ps_sim *sim;
    struct ps_stack *a, *b;
    struct ps_iface *ia, *ib;
    ps_time_t reply_time; /* of the last echo reply a received */
};

static void on_echo(void *ctx, const struct ps_echo_event *ev)
{
    *(ps_time_t *)ctx = ev->now;
}

static void pair_new(struct pair *p)
{
    p->sim = ps_sim_new(77, PS_SEC(1));
    REQUIRE(p->sim != NULL);
    struct ps_sim_impair imp = {.delay = 1000, .bandwidth_bps = 100000000};
    struct ps_sim_link *l = ps_sim_link_new(p->sim, &imp);
    REQUIRE(l != NULL);
    p->a = ps_stack_new(NULL, PS_SEC(1));
    p->b = ps_stack_new(NULL, PS_SEC(1));
    REQUIRE(p->a && p->b);
    p->ia = ps_sim_attach(l, p->a, "eth0", NULL, 1500);
    p->ib = ps_sim_attach(l, p->b, "eth0", NULL, 1500);
    REQUIRE(p->ia && p->ib);
    REQUIRE(ps_iface_add_addr(p->ia, PS_IP4(192, 168, 7, 1), 24) == 0);
    REQUIRE(ps_iface_add_addr(p->ib, PS_IP4(192, 168, 7, 2), 24) == 0);
    ps_icmp_set_echo_hook(p->a, on_echo, &p->reply_time);
}

/* Ping twice (ARP first) and let everything settle. */
static void pair_run(struct pair *p)
{
    p->reply_time = 0;
    CHECK_EQ(ps_icmp_echo_request(p->a, PS_IP4(192, 168, 7, 2), 5, 1, 0, NULL, 64), 0);
    ps_sim_run_for(p->sim, PS_MS(500));
    CHECK_EQ(ps_icmp_echo_request(p->a, PS_IP4(192, 168, 7, 2), 5, 2, 0, NULL, 1000), 0);
    ps_sim_run_for(p->sim, PS_MS(500));
    CHECK(p->reply_time > 0);
}

static void pair_free(struct pair *p)
{
    ps_stack_free(p->a);
    ps_stack_free(p->b);
    ps_sim_free(p->sim);
}

TEST(attach)
{
    char path_a[64], path_b[64];
    temp_path(path_a, sizeof(path_a));
    temp_path(path_b, sizeof(path_b));
    struct pair p;
    pair_new(&p);
    struct ps_pcap *pa = ps_pcap_open(path_a, 0);
    struct ps_pcap *pb = ps_pcap_open(path_b, 0);
    REQUIRE(pa && pb);
    ps_pcap_attach(pa, p.ia, false); /* both directions of a */
    ps_pcap_attach(pb, p.ib, true);  /* what b sends */
    pair_run(&p);

    const struct ps_stats *as = ps_stack_stats(p.a), *bs = ps_stack_stats(p.b);
    CHECK_U64(ps_pcap_frames(pa), as->eth_tx + as->eth_rx);
    CHECK_U64(ps_pcap_frames(pb), bs->eth_tx);
    CHECK(ps_pcap_frames(pa) >= 6); /* ARP both ways, two pings both ways */

    ps_iface_set_capture(p.ia, NULL, NULL);
    ps_iface_set_capture(p.ib, NULL, NULL);
    uint64_t na = ps_pcap_frames(pa), nb = ps_pcap_frames(pb);
    CHECK_EQ(ps_pcap_close(pa), 0);
    CHECK_EQ(ps_pcap_close(pb), 0);

    size_t len;
    uint8_t *buf = slurp(path_a, &len);
    struct rec r[64];
    unsigned n = parse_pcap(buf, len, 65535, r, 64);
    CHECK_U64(n, na);
    REQUIRE(n >= 6 && n <= 64);
    CHECK_U64(r[0].ts, PS_SEC(1)); /* the first ARP request, at the start */
    for (unsigned i = 1; i < n; i++)
        CHECK(r[i].ts >= r[i - 1].ts);
    CHECK_U64(r[n - 1].ts, p.reply_time); /* the last is the second reply */
    CHECK_EQ(r[n - 1].orig, 14 + 20 + 8 + 1000);
    CHECK_EQ(r[n - 1].incl, r[n - 1].orig);
    CHECK(r[0].data[12] == 0x08 && r[0].data[13] == 0x06); /* ARP */
    /* a's first frame is a broadcast from a's own MAC. */
    CHECK_MEM(r[0].data + 6, ps_iface_mac(p.ia)->b, 6);
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK_MEM(r[0].data, bcast, 6);
    free(buf);

    buf = slurp(path_b, &len);
    n = parse_pcap(buf, len, 65535, r, 64);
    CHECK_U64(n, nb);
    for (unsigned i = 0; i < n && i < 64; i++)
        CHECK_MEM(r[i].data + 6, ps_iface_mac(p.ib)->b, 6); /* all sent by b */
    free(buf);

    int tn = tshark_count(path_a);
    if (tn != -2)
        CHECK_EQ(tn, (int)na);
    tn = tshark_count(path_b);
    if (tn != -2)
        CHECK_EQ(tn, (int)nb);

    pair_free(&p);
    unlink(path_a);
    unlink(path_b);
}

/* Two interfaces of one link share a file with out_only: every frame on the
 * link once; and two identical runs give identical files. */
TEST(shared_file_deterministic)
{
    char path[2][64];
    uint8_t *buf[2];
    size_t len[2];
    for (int run = 0; run < 2; run++) {
        temp_path(path[run], sizeof(path[run]));
        struct pair p;
        pair_new(&p);
        struct ps_pcap *pc = ps_pcap_open(path[run], 0);
        REQUIRE(pc != NULL);
        ps_pcap_set_epoch(pc, 1600000000000000u);
        ps_pcap_attach(pc, p.ia, true);
        ps_pcap_attach(pc, p.ib, true);
        pair_run(&p);
        const struct ps_stats *as = ps_stack_stats(p.a), *bs = ps_stack_stats(p.b);
        CHECK_U64(ps_pcap_frames(pc), as->eth_tx + bs->eth_tx);
        CHECK_U64(ps_pcap_frames(pc), as->eth_rx + bs->eth_rx); /* nothing lost */
        pair_free(&p); /* the interfaces are gone: now the file may close */
        CHECK_EQ(ps_pcap_close(pc), 0);
        buf[run] = slurp(path[run], &len[run]);
        int tn = tshark_count(path[run]);
        if (tn != -2)
            CHECK(tn >= 6);
    }
    REQUIRE(len[0] == len[1]);
    CHECK_MEM(buf[0], buf[1], len[0]);
    for (int run = 0; run < 2; run++) {
        free(buf[run]);
        unlink(path[run]);
    }
}

int main(void)
{
    RUN(format);
    RUN(defaults_and_errors);
    RUN(attach);
    RUN(shared_file_deterministic);
    TEST_END();
}
