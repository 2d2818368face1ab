/*
 * portstack/wire.h - pure parse and emit of the headers portstack speaks,
 * and the Internet checksum.
 *
 * Nothing here has side effects or knows about a stack: every function works
 * on a byte buffer and a plain struct.  Parsers validate every length
 * against the buffer they are given and reject what is malformed with a
 * negative enum ps_wire_err; on success they return the header length in
 * bytes.  Emitters write a header into a buffer the caller guarantees is
 * large enough and return the number of bytes written.
 *
 * Multi-byte fields in the structs are in host byte order; addresses are
 * ps_ip4_t (host order).  Buffers may be unaligned.
 */
#ifndef PORTSTACK_WIRE_H
#define PORTSTACK_WIRE_H

#include "types.h"

/* Why a parser refused its input. */
enum ps_wire_err {
    PS_WIRE_ETRUNC = -1,   /* buffer shorter than the header says */
    PS_WIRE_EVERSION = -2, /* wrong version / hardware / protocol type */
    PS_WIRE_EHDRLEN = -3,  /* header length field out of range */
    PS_WIRE_ELEN = -4,     /* total/datagram length field inconsistent */
    PS_WIRE_ECKSUM = -5,   /* checksum does not verify */
    PS_WIRE_EOPTION = -6,  /* malformed option */
    PS_WIRE_EFORMAT = -7,  /* any other field holds an impossible value */
};

/* A short name of an error ("truncated", "bad checksum", ...). */
const char *ps_wire_strerror(int err);

/* ---- Byte order, unaligned ----------------------------------------------- */

static inline uint16_t ps_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t ps_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void ps_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void ps_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- Internet checksum (RFC 1071, RFC 1624) ------------------------------ */

/* Add len bytes to a running 32-bit one's-complement sum (bytes are taken as
 * big-endian 16-bit words).  Only the last chunk of a sum may have an odd
 * length.  Start with sum = 0. */
uint32_t ps_cksum_add(uint32_t sum, const void *data, size_t len);

/* Fold a running sum to 16 bits and complement it: the checksum field. */
uint16_t ps_cksum_finish(uint32_t sum);

/* The checksum of one buffer: ps_cksum_finish(ps_cksum_add(0, data, len)).
 * Over a buffer that includes a correct checksum field, this returns 0. */
uint16_t ps_cksum(const void *data, size_t len);

/* The running sum of the IPv4 pseudo-header (RFC 793/768) for a transport
 * segment of `len` bytes. */
uint32_t ps_cksum_pseudo(ps_ip4_t src, ps_ip4_t dst, uint8_t proto, uint16_t len);

/* Incremental update (RFC 1624 eqn. 3): the new checksum field after a
 * 16-bit word covered by it changes from old_word to new_word. */
uint16_t ps_cksum_update16(uint16_t cksum, uint16_t old_word, uint16_t new_word);

/* The same for a 32-bit value (e.g. an address), as two 16-bit words. */
uint16_t ps_cksum_update32(uint16_t cksum, uint32_t old_val, uint32_t new_val);

/* ---- Ethernet II ------------------------------------------------------- */

#define PS_ETH_HLEN 14
#define PS_ETH_MIN_FRAME 60     /* without FCS; shorter frames are padded */
#define PS_ETHERTYPE_IPV4 0x0800
#define PS_ETHERTYPE_ARP 0x0806
#define PS_ETHERTYPE_VLAN 0x8100

struct ps_eth_hdr {
    ps_mac_t dst, src;
    uint16_t type;
};

/* Parse; returns PS_ETH_HLEN.  A type below 0x0600 (802.3 length) is
 * PS_WIRE_EFORMAT. */
int ps_eth_parse(const uint8_t *buf, size_t len, struct ps_eth_hdr *h);
size_t ps_eth_emit(uint8_t *buf, const struct ps_eth_hdr *h);

static inline bool ps_mac_is_broadcast(const ps_mac_t *m)
{
    return (m->b[0] & m->b[1] & m->b[2] & m->b[3] & m->b[4] & m->b[5]) == 0xff;
}
static inline bool ps_mac_is_multicast(const ps_mac_t *m)
{
    return (m->b[0] & 1) != 0;
}
static inline bool ps_mac_equal(const ps_mac_t *a, const ps_mac_t *b)
{
    for (int i = 0; i < 6; i++)
        if (a->b[i] != b->b[i])
            return false;
    return true;
}

/* ---- ARP for IPv4 over Ethernet (RFC 826) -------------------------------- */

#define PS_ARP_LEN 28
#define PS_ARP_REQUEST 1
#define PS_ARP_REPLY 2

struct ps_arp_pkt {
    uint16_t op;
    ps_mac_t sha; /* sender hardware address */
    ps_ip4_t spa; /* sender protocol address */
    ps_mac_t tha; /* target hardware address */
    ps_ip4_t tpa; /* target protocol address */
};

/* Parse; checks htype 1, ptype 0x0800, hlen 6, plen 4 (PS_WIRE_EVERSION
 * otherwise) and op 1 or 2 (PS_WIRE_EFORMAT).  Returns PS_ARP_LEN. */
int ps_arp_parse(const uint8_t *buf, size_t len, struct ps_arp_pkt *a);
size_t ps_arp_emit(uint8_t *buf, const struct ps_arp_pkt *a);

/* ---- IPv4 (RFC 791) ---------------------------------------------------- */

#define PS_IPV4_HLEN 20
#define PS_IPV4_MAX_HLEN 60
#define PS_IP_PROTO_ICMP 1
#define PS_IP_PROTO_TCP 6
#define PS_IP_PROTO_UDP 17

/* Option types the stack cares about. */
#define PS_IPOPT_EOL 0
#define PS_IPOPT_NOP 1
#define PS_IPOPT_LSRR 131
#define PS_IPOPT_SSRR 137
#define PS_IPOPT_RR 7
#define PS_IPOPT_COPIED(t) (((t) & 0x80) != 0)

struct ps_ipv4_hdr {
    uint8_t hlen;       /* header length in bytes (20..60) */
    uint8_t tos;
    uint16_t total_len; /* whole datagram, header included */
    uint16_t id;
    bool df, mf;        /* Don't Fragment, More Fragments */
    uint16_t frag_off;  /* fragment offset in bytes (multiple of 8) */
    uint8_t ttl;
    uint8_t proto;
    uint16_t cksum;     /* as found on the wire (parse) */
    ps_ip4_t src, dst;
    const uint8_t *options; /* into the parsed buffer; NULL if none */
    uint8_t options_len;    /* hlen - 20 */
    bool has_source_route;  /* an LSRR or SSRR option is present */
};

/* Parse and validate: version 4, 20 <= hlen <= total_len <= len, checksum,
 * reserved flag bit clear, fragment offset + payload <= 65535, options
 * well-formed (each option's length within the header; EOL ends the list).
 * Returns hlen.  Bytes past total_len (link padding) are the caller's to
 * trim. */
int ps_ipv4_parse(const uint8_t *buf, size_t len, struct ps_ipv4_hdr *h);

/* Write the header (20 bytes plus options_len bytes of h->options, which
 * must make a multiple of 4) with h->total_len as given and a freshly
 * computed checksum.  h->hlen is ignored; returns the header length. */
size_t ps_ipv4_emit(uint8_t *buf, const struct ps_ipv4_hdr *h);

static inline bool ps_ip4_is_multicast(ps_ip4_t a)
{
    return (a >> 28) == 0xe;
}
static inline bool ps_ip4_is_loopback(ps_ip4_t a)
{
    return (a >> 24) == 127;
}

/* ---- ICMPv4 (RFC 792) -------------------------------------------------- */

#define PS_ICMP_HLEN 8
#define PS_ICMP_ECHO_REPLY 0
#define PS_ICMP_DEST_UNREACH 3
#define PS_ICMP_SOURCE_QUENCH 4
#define PS_ICMP_REDIRECT 5
#define PS_ICMP_ECHO_REQUEST 8
#define PS_ICMP_TIME_EXCEEDED 11
#define PS_ICMP_PARAM_PROBLEM 12
/* Destination unreachable codes. */
#define PS_ICMP_UNREACH_NET 0
#define PS_ICMP_UNREACH_HOST 1
#define PS_ICMP_UNREACH_PROTO 2
#define PS_ICMP_UNREACH_PORT 3
#define PS_ICMP_UNREACH_NEEDFRAG 4
#define PS_ICMP_UNREACH_ADMIN 13
/* Time exceeded codes. */
#define PS_ICMP_TIMXCEED_TTL 0
#define PS_ICMP_TIMXCEED_REASM 1

struct ps_icmp_hdr {
    uint8_t type, code;
    uint16_t cksum;
    /* The second 32-bit word, read per type: */
    uint16_t id, seq;   /* echo request/reply */
    uint16_t mtu;       /* dest unreachable / fragmentation needed */
    uint8_t pointer;    /* parameter problem */
    uint32_t gateway;   /* redirect */
    uint32_t rest;      /* the raw word, always set */
    const uint8_t *payload; /* bytes after the 8-byte header */
    size_t payload_len;
};

/* Parse an ICMP message of exactly len bytes; verifies its checksum.
 * Returns PS_ICMP_HLEN. */
int ps_icmp_parse(const uint8_t *buf, size_t len, struct ps_icmp_hdr *h);

/* Write the 8-byte header at buf (type, code and the second word taken from
 * id/seq for echo types, from mtu for fragmentation-needed, from rest
 * otherwise) and the checksum over the header plus payload_len bytes that
 * the caller has already placed at buf + 8.  Returns PS_ICMP_HLEN. */
size_t ps_icmp_emit(uint8_t *buf, const struct ps_icmp_hdr *h, size_t payload_len);

/* Is this type an error (dest unreachable, source quench, redirect, time
 * exceeded, parameter problem)? */
bool ps_icmp_is_error(uint8_t type);

/* ---- UDP (RFC 768) ----------------------------------------------------- */

#define PS_UDP_HLEN 8

struct ps_udp_hdr {
    uint16_t sport, dport;
    uint16_t len;   /* header plus payload */
    uint16_t cksum; /* as found on the wire */
};

/* Parse a datagram in buf[0..len) (len = the IP payload length): checks
 * 8 <= h.len <= len and, unless the checksum field is 0, the checksum over
 * the pseudo-header.  Returns PS_UDP_HLEN; h.len tells the datagram size. */
int ps_udp_parse(const uint8_t *buf, size_t len, ps_ip4_t src, ps_ip4_t dst,
                 struct ps_udp_hdr *h);

/* Flags for the _ex parsers. */
#define PS_WIRE_NO_CKSUM 0x01 /* the checksum was verified by the driver */

/* ps_udp_parse with PS_WIRE_* flags. */
int ps_udp_parse_ex(const uint8_t *buf, size_t len, ps_ip4_t src, ps_ip4_t dst,
                    struct ps_udp_hdr *h, unsigned flags);

/* Write the header for payload_len bytes already at buf + 8 and compute the
 * checksum (a computed 0 is sent as 0xffff).  Returns PS_UDP_HLEN. */
size_t ps_udp_emit(uint8_t *buf, const struct ps_udp_hdr *h, ps_ip4_t src, ps_ip4_t dst,
                   size_t payload_len);

/* ---- TCP (RFC 9293, options RFC 7323 / RFC 2018) ------------------------- */

#define PS_TCP_HLEN 20
#define PS_TCP_MAX_HLEN 60
#define PS_TCP_FIN 0x01
#define PS_TCP_SYN 0x02
#define PS_TCP_RST 0x04
#define PS_TCP_PSH 0x08
#define PS_TCP_ACK 0x10
#define PS_TCP_URG 0x20
#define PS_TCP_ECE 0x40
#define PS_TCP_CWR 0x80
#define PS_TCP_MAX_SACK 4

#define PS_TCPOPT_EOL 0
#define PS_TCPOPT_NOP 1
#define PS_TCPOPT_MSS 2
#define PS_TCPOPT_WSCALE 3
#define PS_TCPOPT_SACK_PERM 4
#define PS_TCPOPT_SACK 5
#define PS_TCPOPT_TIMESTAMP 8

struct ps_tcp_sack_block {
    uint32_t left, right;
};

struct ps_tcp_opts {
    bool has_mss, has_wscale, sack_permitted, has_timestamp;
    uint16_t mss;
    uint8_t wscale;         /* as sent; the caller clamps to 14 */
    uint32_t tsval, tsecr;
    uint8_t sack_count;     /* blocks in sack[] */
    struct ps_tcp_sack_block sack[PS_TCP_MAX_SACK];
};

struct ps_tcp_hdr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t hlen;   /* header length in bytes (parse) */
    uint8_t flags;  /* PS_TCP_* */
    uint16_t window;
    uint16_t cksum; /* as found on the wire */
    uint16_t urg;
    struct ps_tcp_opts opt;
};

/* Parse a segment in buf[0..len) (len = the IP payload length): checks the
 * data offset (20..60, within len), the checksum over the pseudo-header,
 * and the options (unknown kinds skipped by their length; a known option
 * with a wrong length, or a length running past the header, is
 * PS_WIRE_EOPTION).  Returns the header length; the payload is
 * buf[hlen..len). */
int ps_tcp_parse(const uint8_t *buf, size_t len, ps_ip4_t src, ps_ip4_t dst,
                 struct ps_tcp_hdr *h);

/* ps_tcp_parse with PS_WIRE_* flags (see ps_udp_parse_ex). */
int ps_tcp_parse_ex(const uint8_t *buf, size_t len, ps_ip4_t src, ps_ip4_t dst,
                    struct ps_tcp_hdr *h, unsigned flags);

/* Bytes the options in o take on the wire, padded to a multiple of 4
 * (at most 40; SACK blocks beyond the room are left out). */
size_t ps_tcp_opts_len(const struct ps_tcp_opts *o);

/* Write header and options (NOP-aligned as Linux does) for payload_len
 * bytes already placed at buf + ps_tcp_opts_len(&h->opt) + 20, and the
 * checksum.  h->hlen is ignored; returns the header length. */
size_t ps_tcp_emit(uint8_t *buf, const struct ps_tcp_hdr *h, ps_ip4_t src, ps_ip4_t dst,
                   size_t payload_len);

#endif /* PORTSTACK_WIRE_H */
