/*
 * portstack/pcap.h - write every frame of one or more interfaces to a
 * classic pcap file (LINKTYPE_ETHERNET, microsecond timestamps) that
 * tshark, tcpdump and Wireshark open.
 *
 * Timestamps are the stack's time (the virtual clock in a simulation), plus
 * an optional epoch offset, so a simulated run gives the same file byte for
 * byte every time.
 */
#ifndef PORTSTACK_PCAP_H
#define PORTSTACK_PCAP_H

#include <stdio.h>

#include "net.h"

struct ps_pcap;

/* Open (truncate) a file and write the pcap header.  snaplen 0 = 65535.
 * NULL on error (errno set). */
struct ps_pcap *ps_pcap_open(const char *path, unsigned snaplen);

/* Add `epoch_us` to every timestamp (e.g. wall-clock time at start). */
void ps_pcap_set_epoch(struct ps_pcap *pc, uint64_t epoch_us);

/* Capture an interface's frames into this file (both directions; with
 * out_only, only what the interface sends - useful when two interfaces of
 * one simulated link share a file).  Sets the interface's capture hook. */
void ps_pcap_attach(struct ps_pcap *pc, struct ps_iface *ifc, bool out_only);

/* Write one frame record. */
void ps_pcap_write(struct ps_pcap *pc, const uint8_t *frame, size_t len, ps_time_t ts);

/* Frames written so far. */
uint64_t ps_pcap_frames(const struct ps_pcap *pc);

/* Flush and close; the interfaces it was attached to must be detached or
 * gone first (ps_iface_set_capture(ifc, NULL, NULL)).  Returns 0 or -errno. */
int ps_pcap_close(struct ps_pcap *pc);

#endif /* PORTSTACK_PCAP_H */
