/*
 * fuzz/fuzz_host.h - a stack under fuzz, fed Ethernet frames as records.
 *
 * The frame-level targets (fuzz_frames, fuzz_listen) share this input
 * format, which fuzz/pcap2seed.py writes from captures:
 *
 *   records of [op:1][len:2, little-endian][frame:len]
 *     op bit 0     which interface the frame arrives on (modulo their count)
 *     op bits 1-3  time step before it (fuzz_step_us), when the target is timed
 *     op bit 4     fix the checksums: IPv4 header, and ICMP, UDP or TCP of an
 *                  unfragmented packet, so mutations reach past the checks
 *     op bit 5     the TCP sequence and acknowledgment numbers are offsets:
 *                  seq from the last ACK the stack sent on that connection
 *                  (its RCV.NXT), ack from the highest sequence number it
 *                  sent (its SND.MAX); 0 is "in sync".  Without this the
 *                  fuzzer would have to guess 32-bit ISNs.
 *     op >= 0xf0   not a frame: a command the target interprets (the
 *                  record's bytes are its argument)
 *
 * Oracles, beyond the sanitizers: every frame the stack sends parses
 * (Ethernet, ARP, or IPv4 with a valid header checksum, and a valid ICMP,
 * UDP or TCP checksum when unfragmented) and fits the interface's MTU; the
 * stack's own invariant check holds after every record; and once the
 * target has closed its sockets and an hour has passed, every buffer is
 * back in its pool and the socket table is empty.
 */
#ifndef PS_FUZZ_HOST_H
#define PS_FUZZ_HOST_H

#include <portstack/portstack.h>
#include <portstack/socket.h>

#include "fuzz_util.h"

#define FH_OP_IFACE 0x01
#define FH_OP_FIX_CKSUM 0x10
#define FH_OP_TCP_REL 0x20
#define FH_OP_COMMAND 0xf0
#define FH_MAX_IFACES 2
#define FH_FLOWS 16 /* TCP connections whose numbers are tracked */

/* What the stack last told one remote TCP endpoint. */
struct fh_flow {
    ps_ip4_t raddr;
    uint16_t rport, lport;
    uint32_t ack;     /* the last acknowledgment number it sent */
    uint32_t snd_max; /* the highest sequence number it sent, plus one */
    uint32_t used;    /* tick of the last update, 0 = free */
};

struct fuzz_host {
    struct ps_stack *s;
    struct ps_iface *ifc[FH_MAX_IFACES];
    unsigned nifc;
    ps_time_t now;
    bool timed; /* honour the records' time steps */
    struct fh_flow flow[FH_FLOWS];
    uint32_t tick;
    /* The target's hooks (either may be NULL): a command record, and the
     * applications' poll whenever time moves. */
    void (*command)(struct fuzz_host *h, uint8_t op, const uint8_t *arg, size_t len);
    void (*poll)(struct fuzz_host *h);
    void *ctx;
};

/* ---- for every stack-level target ---------------------------------------------------- */

/* The stack's invariants hold now (ps_stack_check), else abort with why. */
void fuzz_check_stack(struct ps_stack *s);

/* After the final quiet hour: every buffer back in its pool, no socket or
 * TIME_WAIT record left, the invariants whole; else abort. */
void fuzz_check_idle(struct ps_stack *s);

/* Move *now forward by dt, stopping at each of the stack's deadlines on
 * the way (a bounded number of them) so that timers run at their own
 * times; poll(ctx), when not NULL, runs after the stack at each stop. */
void fuzz_advance(struct ps_stack *s, ps_time_t *now, ps_time_t dt, void (*poll)(void *ctx), void *ctx);

/* ---- the frame-level host -------------------------------------------------------------- */

/* The defaults made small, so that every bound is reachable from a short
 * input: pools, tables, queues.  Seed 1, no port re-keying. */
void fh_config(struct ps_config *cfg);

/* Create the stack (h is zeroed first).  Aborts if it cannot. */
void fh_init(struct fuzz_host *h, const struct ps_config *cfg, bool timed);

/* Add Ethernet interface number h->nifc: MAC 02:00:00:00:<n>:01, the
 * address and prefix given. */
struct ps_iface *fh_add_iface(struct fuzz_host *h, const char *name, uint16_t mtu, ps_ip4_t addr,
                              uint8_t prefix);

/* Feed the records of one input; the stack is polled after each one. */
void fh_run(struct fuzz_host *h, const uint8_t *data, size_t size);

/* Call once the target has closed every socket and application: an hour
 * of quiet, then no buffer missing and no socket left; frees the stack. */
void fh_finish(struct fuzz_host *h);

#endif /* PS_FUZZ_HOST_H */
