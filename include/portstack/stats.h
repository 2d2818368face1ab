/*
 * portstack/stats.h - per-stack counters, one for every event worth seeing
 * and for every reason a packet is dropped.
 *
 * The list is an X-macro so that the struct, the names and the printing
 * code can never disagree.  Every counter is a uint64_t that only grows.
 */
#ifndef PORTSTACK_STATS_H
#define PORTSTACK_STATS_H

#include <stdint.h>
#include <stdio.h>

struct ps_stack;

#define PS_STATS_LIST(X)                                                        \
    /* link layer */                                                            \
    X(eth_rx, "Ethernet frames received")                                       \
    X(eth_tx, "Ethernet frames sent")                                           \
    X(eth_drop_short, "frames shorter than an Ethernet header")                 \
    X(eth_drop_other_mac, "frames for another MAC address")                     \
    X(eth_drop_type, "frames of an unknown EtherType")                          \
    X(eth_drop_too_long, "frames longer than the interface MTU allows")         \
    X(eth_tx_err, "frames the driver failed to send")                           \
    /* buffers */                                                               \
    X(pbuf_alloc_fail, "buffer allocations refused (pool empty)")               \
    X(alloc_injected_fail, "allocations failed on purpose (fault injection)")   \
    /* ARP */                                                                   \
    X(arp_rx, "ARP packets received")                                           \
    X(arp_tx_request, "ARP requests sent")                                      \
    X(arp_tx_reply, "ARP replies sent")                                         \
    X(arp_drop_malformed, "ARP packets malformed")                              \
    X(arp_drop_not_for_us, "ARP requests for another address")                  \
    X(arp_drop_bad_sender, "ARP packets with a martian sender address")         \
    X(arp_resolved, "ARP entries resolved")                                     \
    X(arp_evicted, "ARP entries evicted because the cache was full")            \
    X(arp_timeout, "ARP resolutions given up after all retries")                \
    X(arp_queue_drop, "packets dropped waiting for ARP (queue full or failed)") \
    /* IPv4 */                                                                  \
    X(ip_rx, "IPv4 packets received")                                           \
    X(ip_tx, "IPv4 packets sent")                                               \
    X(ip_delivered, "IPv4 packets delivered to a protocol")                     \
    X(ip_forwarded, "IPv4 packets forwarded")                                   \
    X(ip_drop_truncated, "IPv4 packets truncated")                              \
    X(ip_drop_version, "IPv4 packets with a wrong version")                     \
    X(ip_drop_hdr_len, "IPv4 packets with a bad header length")                 \
    X(ip_drop_total_len, "IPv4 packets with a bad total length")                \
    X(ip_drop_checksum, "IPv4 packets with a bad header checksum")              \
    X(ip_drop_options, "IPv4 packets with malformed or refused options")        \
    X(ip_drop_format, "IPv4 packets with a reserved flag or impossible offset") \
    X(ip_drop_martian_src, "IPv4 packets with an impossible source address")    \
    X(ip_drop_martian_dst, "IPv4 packets to a loopback address from a wire")    \
    X(ip_drop_not_for_us, "IPv4 packets for another host (not forwarding)")     \
    X(ip_drop_no_route, "IPv4 packets with no route to the destination")        \
    X(ip_drop_ttl, "IPv4 packets whose TTL ran out")                            \
    X(ip_drop_df, "IPv4 packets too big with Don't Fragment set")               \
    X(ip_drop_unknown_proto, "IPv4 packets for an unknown protocol")            \
    X(ip_drop_multicast, "IPv4 multicast packets (no group joined)")            \
    X(ip_loopback_drop, "loopback packets dropped (queue full)")                \
    X(ip_frag_tx, "IPv4 fragments sent")                                        \
    X(ip_frag_rx, "IPv4 fragments received")                                    \
    X(ip_reasm_ok, "IPv4 datagrams reassembled")                                \
    X(ip_reasm_timeout, "IPv4 reassemblies timed out")                          \
    X(ip_reasm_overlap, "IPv4 reassemblies dropped for overlapping fragments")  \
    X(ip_reasm_too_big, "IPv4 reassemblies dropped for exceeding 65535 bytes")  \
    X(ip_reasm_evicted, "IPv4 reassemblies evicted at the memory bound")        \
    X(ip_reasm_dup, "IPv4 duplicate fragments ignored")                         \
    X(ip_reasm_bad_frag, "IPv4 fragments inconsistent with their datagram")     \
    /* ICMP */                                                                  \
    X(icmp_rx, "ICMP messages received")                                        \
    X(icmp_tx, "ICMP messages sent")                                            \
    X(icmp_drop_malformed, "ICMP messages malformed or with a bad checksum")    \
    X(icmp_drop_type, "ICMP messages of a type not handled")                    \
    X(icmp_echo_rx, "ICMP echo requests received")                              \
    X(icmp_echo_reply_tx, "ICMP echo replies sent")                             \
    X(icmp_echo_reply_rx, "ICMP echo replies received")                         \
    X(icmp_err_rx, "ICMP errors received and handed to transport")              \
    X(icmp_err_tx, "ICMP errors sent")                                          \
    X(icmp_rate_limited, "ICMP messages not sent because of the rate limit")    \
    X(icmp_err_suppressed, "ICMP errors not sent by the RFC 1122 rules")        \
    /* transport: ports, UDP, sockets */                                        \
    X(tp_icmp_err_unmatched, "ICMP errors that matched no transport endpoint")  \
    X(tp_icmp_err_delivered, "ICMP errors delivered to a socket")               \
    X(ports_bind_conflict, "binds refused with EADDRINUSE")                     \
    X(ports_exhausted, "ephemeral port picks that found no free port")          \
    X(ports_rekey, "times the ephemeral port secret was re-keyed")              \
    X(udp_rx, "UDP datagrams received")                                         \
    X(udp_tx, "UDP datagrams sent")                                             \
    X(udp_delivered, "UDP datagrams queued to a socket")                        \
    X(udp_drop_malformed, "UDP datagrams with a bad length")                    \
    X(udp_drop_checksum, "UDP datagrams with a bad checksum")                   \
    X(udp_drop_no_port, "UDP datagrams for a port no socket holds")             \
    X(udp_drop_rcvbuf, "UDP datagrams dropped on a full receive queue")         \
    X(udp_drop_broadcast, "UDP broadcasts with no socket to take them")         \
    X(sock_table_full, "sockets refused: the socket table is full")             \
    X(sock_nomem, "sockets refused: no memory for the socket")                \
    /* TCP */                                                                   \
    X(tcp_rx, "TCP segments received")                                          \
    X(tcp_tx, "TCP segments sent")                                              \
    X(tcp_tso_tx, "TCP super-segments handed to a TSO driver")                  \
    X(tcp_drop_checksum, "TCP segments with a bad checksum")                    \
    X(tcp_drop_malformed, "TCP segments malformed (header, options, flags)")    \
    X(tcp_drop_broadcast, "TCP segments to a broadcast or multicast address")   \
    X(tcp_drop_no_port, "TCP segments for no connection or listener (RST sent)")\
    X(tcp_drop_out_of_window, "TCP segments outside the receive window")        \
    X(tcp_drop_paws, "TCP segments rejected by PAWS (old timestamp)")           \
    X(tcp_drop_bad_ack, "TCP segments with an unacceptable ACK")                \
    X(tcp_drop_listen, "TCP segments to a listener that were not a SYN")        \
    X(tcp_drop_syn_sent, "TCP segments dropped in SYN-SENT")                    \
    X(tcp_drop_rcvbuf, "TCP payload bytes dropped: no room in the buffer")      \
    X(tcp_drop_after_close, "TCP connections reset: data after close")          \
    X(tcp_rst_tx, "TCP resets sent")                                            \
    X(tcp_rst_rx, "TCP resets accepted")                                        \
    X(tcp_rst_ignored, "TCP resets ignored (not exactly at RCV.NXT)")           \
    X(tcp_challenge_ack, "TCP challenge ACKs sent (RFC 5961)")                  \
    X(tcp_challenge_ack_limited, "TCP challenge ACKs not sent: rate limit")     \
    X(tcp_retransmits, "TCP segments retransmitted")                            \
    X(tcp_rto_timeouts, "TCP retransmission timeouts")                          \
    X(tcp_fast_retransmits, "TCP fast retransmissions (3 duplicate ACKs)")      \
    X(tcp_recovery_episodes, "TCP loss recoveries entered (fast retransmit)")   \
    X(tcp_sack_blocks_rx, "TCP SACK blocks received")                          \
    X(tcp_sack_blocks_bad, "TCP SACK blocks discarded (outside the window)")   \
    X(tcp_sack_blocks_tx, "TCP SACK blocks sent")                              \
    X(tcp_sack_retransmits, "TCP segments retransmitted from the scoreboard")  \
    X(tcp_sack_reneging, "TCP peers found discarding SACKed data (reneging)")  \
    X(tcp_ranges_nomem, "TCP range tables (out-of-order, SACK) not allocated") \
    X(tcp_dsack_rx, "TCP D-SACK blocks received (duplicate delivery)")         \
    X(tcp_dsack_tx, "TCP D-SACK blocks sent")                                  \
    X(tcp_spurious_rto, "TCP retransmission timeouts found spurious (TSecr)")  \
    X(tcp_persist_probes, "TCP zero-window probes sent")                        \
    X(tcp_delayed_acks, "TCP ACKs sent by the delayed-ACK timer")               \
    X(tcp_ooo_segments, "TCP segments received out of order and kept")          \
    X(tcp_ooo_drop, "TCP out-of-order segments dropped (range table full)")     \
    X(tcp_dup_segments, "TCP segments wholly duplicate")                        \
    X(tcp_accept_overflow, "TCP handshakes dropped: accept queue full")         \
    X(tcp_rings_nomem, "TCP handshakes held back: no memory for the buffers")   \
    X(tcp_synq_overflow, "TCP SYNs dropped: half-open queue full")              \
    X(tcp_no_socket, "TCP connections reset: no socket table entry for them")   \
    X(tcp_conn_open, "TCP connections established")                             \
    X(tcp_conn_active, "TCP connections opened actively (connect)")             \
    X(tcp_conn_passive, "TCP connections opened passively (accept)")            \
    X(tcp_conn_reset, "TCP connections reset by the peer")                      \
    X(tcp_conn_refused, "TCP connections refused (RST or ICMP in SYN-SENT)")    \
    X(tcp_conn_timeout, "TCP connections given up after retransmissions")       \
    X(tcp_conn_abort, "TCP connections aborted locally (RST sent)")             \
    X(tcp_timewait, "TCP connections entering TIME-WAIT")                       \
    X(tcp_timewait_overflow, "TCP TIME-WAIT connections dropped early (bound)") \
    X(tcp_timewait_reopen, "TCP TIME-WAIT quadruples reopened by a new SYN")    \
    /* SYN cookies and compact TIME-WAIT records */                             \
    X(tcp_syncookies_sent, "TCP SYN cookies sent (half-open queue full)")       \
    X(tcp_syncookies_ok, "TCP connections made from a valid SYN cookie")        \
    X(tcp_syncookies_failed, "TCP ACKs to a listener with a bad or old cookie") \
    X(tcp_timewait_expired, "TCP TIME-WAIT records ended after 2*MSL")          \
    X(tcp_timewait_acks, "TCP ACKs sent by TIME-WAIT records")                  \
    X(tcp_timewait_drop, "TCP segments to TIME-WAIT records dropped silently")  \
    X(tcp_timewait_rst, "TCP TIME-WAIT records ended by a RST (RFC 9293)")      \
    X(tcp_timewait_reuse, "TCP connects reusing a TIME-WAIT quadruple (TS)")    \
    X(tcp_timewait_reuse_unsafe, "TCP connects refused: TIME-WAIT, no safe TS") \
    X(tcp_fin_wait2_timeout, "TCP FIN-WAIT-2 connections timed out")            \
    X(tcp_icmp_err, "ICMP errors matched to a TCP connection")                  \
    X(tcp_icmp_bad_seq, "ICMP errors quoting a sequence not in flight")         \
    /* keepalive and user timeout (tcp_keepalive.c) */                          \
    X(tcp_keepalive_probes, "TCP keepalive probes sent")                        \
    X(tcp_keepalive_timeout, "TCP connections dropped: keepalive unanswered")   \
    X(tcp_user_timeout, "TCP connections dropped: user timeout (data unacked)") \
    X(tcp_pmtu_lowered, "TCP MSS lowered by fragmentation-needed")              \
    X(tcp_pmtu_clamped, "TCP fragmentation-needed MTUs raised to tcp_pmtu_min") \
    X(tcp_orphan_drop, "TCP closed sockets' connections reset: window shut")    \
    /* TLS (the optional portstack_tls library, tls.h) */                       \
    X(tls_handshakes, "TLS handshakes completed")                               \
    X(tls_handshake_fail, "TLS handshakes failed: protocol, alert or TCP lost") \
    X(tls_verify_fail, "TLS handshakes failed: peer certificate not verified")  \
    X(tls_session_limit, "TLS sessions refused: the configuration's limit")     \
    X(tls_record_fail, "TLS sessions ended by a bad record or a fatal alert")   \
    X(tls_truncated, "TLS sessions whose peer closed TCP without close_notify") \
    /* servers on well-known ports (dhcp_server.h, dns_server.h, sntp_server.h) */ \
    X(dhcpd_drop, "DHCP server: messages dropped (malformed, relayed, a reply)") \
    X(dhcpd_pool_exhausted, "DHCP server: DISCOVERs unanswered, no free address") \
    X(dnsd_drop, "DNS server: messages dropped (responses, runts, too long)") \
    X(dnsd_tcp_closed, "DNS server: TCP connections cut (idle or query too long)") \
    X(sntpd_drop, "SNTP server: messages dropped (not a client request)")

struct ps_stats {
#define PS_STATS_FIELD(name, desc) uint64_t name;
    PS_STATS_LIST(PS_STATS_FIELD)
#undef PS_STATS_FIELD
};

/* The live counters of a stack (never NULL for a valid stack). */
const struct ps_stats *ps_stack_stats(const struct ps_stack *s);

/* The same counters for writing, for a layer built as its own library on
 * the public API (the TLS layer) that counts its events here too.  The
 * counters are the stack's own, never const: the cast only undoes the
 * read-only view above. */
static inline struct ps_stats *ps_stack_stats_rw(struct ps_stack *s)
{
    return (struct ps_stats *)(uintptr_t)ps_stack_stats(s);
}

/* Number of counters, and the name/description of counter i (0-based);
 * NULL past the end.  The value of counter i is ((uint64_t*)stats)[i]. */
unsigned ps_stats_count(void);
const char *ps_stats_name(unsigned i);
const char *ps_stats_desc(unsigned i);
uint64_t ps_stats_get(const struct ps_stats *st, unsigned i);

/* Print every non-zero counter as "  name  value  description" lines; with
 * all != 0, print the zero ones too. */
void ps_stats_print(const struct ps_stats *st, FILE *out, int all);

#endif /* PORTSTACK_STATS_H */
