"""Attacks made of single hostile packets: malformed and truncated IPv4,
UDP and TCP headers, fuzzed headers, fragments that overlap or are tiny,
fragment floods against the reassembly bound, and the land attack."""
import random
import socket
import time

from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.packet import Raw, fuzz

from attack_craft import MSS_1460, ip4, ip_tcp, ip_udp, tcp, udp
from attack_lib import CLOSED_TCP, CLOSED_UDP, ECHO, KERNEL, LISTENERS, SPOOF_NET, TARGET, Fail, attack

COPIES = 20  # of each malformed kind


def send_kinds(t, kinds):
    """Send COPIES of each packet of {counter: [packets]}; what each
    counter must then have moved by."""
    for frames in kinds.values():
        t.wire.send_ip(f for f in frames for _ in range(COPIES))
    return {counter: len(frames) * COPIES for counter, frames in kinds.items()}


@attack("ip-malformed", seconds=5)
def ip_malformed(t):
    """Malformed and truncated IPv4 headers, martian addresses, refused options."""
    ok_tcp = tcp(KERNEL, TARGET, 40000, ECHO, flags=0x02, opts=MSS_1460)
    kinds = {
        "ip_drop_version": [ip4(KERNEL, TARGET, 6, ok_tcp, ver=6), ip4(KERNEL, TARGET, 6, ok_tcp, ver=0)],
        "ip_drop_hdr_len": [ip4(KERNEL, TARGET, 6, ok_tcp, ihl=4), ip4(KERNEL, TARGET, 6, ok_tcp, ihl=0)],
        "ip_drop_truncated": [
            ip4(KERNEL, TARGET, 6, b"", ihl=15),                 # header longer than the packet
            ip4(KERNEL, TARGET, 6, ok_tcp, tot=1400),            # total length past the frame
            ip4(KERNEL, TARGET, 6, ok_tcp)[:12],                 # 12 bytes of header
            ip4(KERNEL, TARGET, 6, ok_tcp)[:1]],                 # 1 byte
        "ip_drop_total_len": [ip4(KERNEL, TARGET, 6, ok_tcp, tot=12)],
        "ip_drop_checksum": [ip4(KERNEL, TARGET, 6, ok_tcp, csum=0x1234)],
        "ip_drop_options": [
            ip4(KERNEL, TARGET, 6, ok_tcp, opts=b"\x07\x00\x04\x00"),          # option length 0
            ip4(KERNEL, TARGET, 6, ok_tcp, opts=b"\x44\x28\x05\x00"),          # length past the header
            ip4(KERNEL, TARGET, 6, ok_tcp, opts=b"\x83\x07\x04" + bytes(4) + b"\x00"),  # LSRR: source routed
            ip4(KERNEL, TARGET, 6, ok_tcp, opts=b"\x89\x07\x04" + bytes(4) + b"\x00"),  # SSRR
            ip4(KERNEL, TARGET, 6, ok_tcp, opts=b"\x07\x07\x02" + bytes(4) + b"\x00")],  # RR, pointer < 4
        "ip_drop_format": [
            ip4(KERNEL, TARGET, 6, ok_tcp, flags=4),                              # the reserved ("evil") bit
            ip4(KERNEL, TARGET, 17, bytes(100), flags=0, frag=8189)],            # ping of death: past 65535
        "ip_drop_martian_src": [
            ip4("127.0.0.1", TARGET, 6, tcp("127.0.0.1", TARGET, 40000, ECHO, opts=MSS_1460)),
            ip4("255.255.255.255", TARGET, 17, udp("255.255.255.255", TARGET, 53, ECHO, b"x")),
            ip4("224.0.0.1", TARGET, 17, udp("224.0.0.1", TARGET, 53, ECHO, b"x")),
            ip4("192.0.2.255", TARGET, 17, udp("192.0.2.255", TARGET, 53, ECHO, b"x"))],
        "ip_drop_martian_dst": [ip4(KERNEL, "127.0.0.1", 17, udp(KERNEL, "127.0.0.1", 53, ECHO, b"x"))],
        "ip_drop_multicast": [ip4(KERNEL, "224.0.0.9", 17, udp(KERNEL, "224.0.0.9", 520, 520, b"x"))],
        "ip_drop_unknown_proto": [ip4(KERNEL, TARGET, 253, b"experimental"), ip4(KERNEL, TARGET, 132, bytes(32))],
        "ip_drop_not_for_us": [ip4(KERNEL, "203.0.113.9", 17, udp(KERNEL, "203.0.113.9", 53, ECHO, b"x"))],
    }
    expect = send_kinds(t, kinds)
    expect["icmp_err_tx"] = 1  # protocol unreachable (rate-limited)
    return expect


@attack("udp-malformed", seconds=5)
def udp_malformed(t):
    """Truncated UDP, lengths that lie, bad checksums, closed ports, broadcasts."""
    kinds = {
        "udp_drop_malformed": [
            ip_udp(KERNEL, TARGET, 5000, ECHO, b"abc", ulen=4),          # shorter than its header
            ip_udp(KERNEL, TARGET, 5000, ECHO, b"abc", ulen=600),        # longer than the datagram
            ip4(KERNEL, TARGET, 17, b"\x13\x88\x00")],                    # 3 bytes: no header
        "udp_drop_checksum": [ip_udp(KERNEL, TARGET, 5000, ECHO, b"abcd", csum=0x4242)],
        "udp_drop_no_port": [ip_udp(KERNEL, TARGET, 5000, CLOSED_UDP, b"anyone?")],
        "udp_drop_broadcast": [ip_udp(KERNEL, "192.0.2.255", 5000, CLOSED_UDP, b"all?")],
    }
    expect = send_kinds(t, kinds)
    expect["icmp_err_tx"] = 1  # port unreachable for the closed port, rate-limited
    return expect


@attack("tcp-malformed", seconds=5)
def tcp_malformed(t):
    """Truncated TCP, data offsets that lie, bad checksums, every malformed option, SYN+FIN/RST."""
    def syn(**kw):
        kw.setdefault("flags", 0x02)
        return ip_tcp(KERNEL, TARGET, 40001, ECHO, seq=1000, **kw)
    bad_opts = [
        b"\x02\x03\x05",                 # MSS, length 3
        b"\x02\x05\x05\xb4\x00",         # MSS, length 5
        b"\x03\x04\x07\x00",             # window scale, length 4
        b"\x04\x03\x00\x00",             # SACK-permitted, length 3
        b"\x08\x09" + bytes(7),          # timestamps, length 9
        b"\x05\x0b" + bytes(9),          # SACK, length 11 (not 2 + 8n)
        b"\x05\x02\x00\x00",             # SACK with no block
        b"\x01\x01\x1e\x00",             # length 0 after NOPs
        b"\x02\x28\x05\xb4",             # MSS claiming 40 bytes: past the header
        b"\x01\x01\x01\x02",             # NOPs, then a kind with no length byte
    ]
    kinds = {
        "tcp_drop_malformed": [syn(opts=o) for o in bad_opts] + [
            syn(doff=4),                                          # offset below the header
            syn(doff=15),                                         # offset past the segment
            ip4(KERNEL, TARGET, 6, tcp(KERNEL, TARGET, 40001, ECHO)[:12], flags=2),  # 12 bytes of header
            syn(flags=0x03),                                      # SYN+FIN
            syn(flags=0x06),                                      # SYN+RST
            syn(flags=0x3F)],                                     # everything at once
        "tcp_drop_checksum": [syn(csum=0xBEEF), ip_tcp(KERNEL, TARGET, 40001, ECHO, flags=0x18, seq=5, ack=5,
                                                       data=b"x" * 100, csum=0)],
        "tcp_drop_broadcast": [ip_tcp(KERNEL, "192.0.2.255", 40001, ECHO, flags=0x02)],
        "tcp_drop_no_port": [ip_tcp(KERNEL, TARGET, 40001, CLOSED_TCP, flags=0x02)],
    }
    expect = send_kinds(t, kinds)
    expect["tcp_rst_tx"] = COPIES  # the closed port answers RST
    return expect


@attack("fuzzed-headers", seconds=10)
def fuzzed_headers(t):
    """Scapy's fuzz(): IPv4/TCP, IPv4/UDP and IPv4/ICMP with every unset field random."""
    random.seed(5961)  # scapy draws from the random module: replayable
    frames = []
    for i in range(1500):
        base = IP(src=KERNEL, dst=TARGET)
        layer = (TCP(dport=LISTENERS[i % len(LISTENERS)]), UDP(dport=ECHO), ICMP())[i % 3]
        frames.append(bytes(fuzz(base / layer)))
    n = t.wire.send_ip(frames)
    # Each is received (and then dropped for its reason, or answered).
    return {"ip_rx": n}


def frag_udp(ident, data, fragsize, sport=5001):
    """A UDP datagram to echo from the kernel's address, cut into fragments."""
    pkt = IP(src=KERNEL, dst=TARGET, id=ident) / UDP(sport=sport, dport=ECHO) / Raw(data)
    return fragment(pkt, fragsize=fragsize)


@attack("fragments", seconds=10)
def fragments(t):
    """Teardrop, overlaps, tiny fragments, fragments past 64 KiB or their datagram's end."""
    frames = []
    ident = 0x7000
    # Teardrop (1997): the second fragment starts inside the first and ends
    # before it.  As the last fragment it contradicts the end already held
    # (a bad fragment); with more to come it is an overlap.
    head = udp(KERNEL, TARGET, 5001, ECHO, bytes(40))
    for i in range(COPIES):
        ident += 1
        frames.append(ip4(KERNEL, TARGET, 17, head, ident=ident, flags=1))
        frames.append(ip4(KERNEL, TARGET, 17, bytes(8), ident=ident, frag=3))
        ident += 1
        frames.append(ip4(KERNEL, TARGET, 17, head, ident=ident, flags=1))
        frames.append(ip4(KERNEL, TARGET, 17, bytes(8), ident=ident, flags=1, frag=3))
    # The same offset twice with different bytes (the IDS-evasion overlap),
    # and a fragment wholly inside another.
    for i in range(COPIES):
        ident += 1
        frames.append(ip4(KERNEL, TARGET, 17, bytes(16), ident=ident, flags=1, frag=2))
        frames.append(ip4(KERNEL, TARGET, 17, b"\xff" * 16, ident=ident, flags=1, frag=2))
        ident += 1
        frames.append(ip4(KERNEL, TARGET, 17, bytes(64), ident=ident, flags=1, frag=4))
        frames.append(ip4(KERNEL, TARGET, 17, bytes(16), ident=ident, flags=1, frag=6))
    n_overlap = 3 * COPIES
    # Inconsistent fragments: a middle one not a multiple of 8, an empty
    # one, one past the end the last fragment set, two different ends.
    for i in range(COPIES):
        ident += 1
        frames.append(ip4(KERNEL, TARGET, 17, bytes(13), ident=ident, flags=1, frag=1))
        ident += 1
        frames.append(ip4(KERNEL, TARGET, 17, b"", ident=ident, flags=1, frag=1))
        ident += 1
        frames.append(ip4(KERNEL, TARGET, 17, bytes(16), ident=ident, frag=2))        # the end: 32
        frames.append(ip4(KERNEL, TARGET, 17, bytes(16), ident=ident, flags=1, frag=4))  # beyond it
        ident += 1
        frames.append(ip4(KERNEL, TARGET, 17, bytes(16), ident=ident, frag=2))
        frames.append(ip4(KERNEL, TARGET, 17, bytes(24), ident=ident, frag=2))
    n_bad = 5 * COPIES
    # More than reasm_max_frags (160) fragments for one datagram: 8-byte
    # pieces of 2,000 bytes.
    for i in range(2):
        ident += 1
        frames += [bytes(f) for f in frag_udp(ident, bytes(2000), 8)]
    n_bad += 2
    # Ping of death through reassembly: a fragment reaching past 65535.
    for i in range(COPIES):
        ident += 1
        frames.append(ip4(KERNEL, TARGET, 17, bytes(24), ident=ident, flags=1, frag=8188))
    t.wire.send_ip(frames)

    # Tiny but honest fragments still make a datagram: a UDP echo request
    # in 8-byte pieces is answered, byte-exact (the kernel's socket at the
    # fragments' source port gets the reply).
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((KERNEL, 5002))
    s.settimeout(1.0)
    payload = bytes(range(64))
    got = None
    try:
        for attempt in range(3):
            ident += 1
            t.wire.send_ip(bytes(f) for f in frag_udp(ident, payload, 8, sport=5002))
            try:
                got = s.recv(2048)
                break
            except socket.timeout:
                continue
    finally:
        s.close()
    if got != payload:
        raise Fail("a datagram in 8-byte fragments was not echoed (got %r)" % got)
    return {"ip_reasm_overlap": n_overlap, "ip_reasm_bad_frag": n_bad, "ip_reasm_ok": 1,
            "ip_drop_format+ip_reasm_too_big": COPIES}


@attack("fragment-flood", seconds=15)
def fragment_flood(t):
    """First fragments of datagrams that never complete, from many sources, against the reassembly bound."""
    rng = random.Random(815)
    frames = []
    # 8,000 datagrams' first 1,480 bytes: at most reasm_max_datagrams are
    # kept, the oldest evicted for each new one.
    for i in range(8000):
        src = SPOOF_NET + str(rng.randint(1, 254))
        frames.append(ip4(src, TARGET, 17, udp(src, TARGET, 53, ECHO, bytes(1472))[:1480], ident=i, flags=1))
    # Then many fragments each for a few datagrams (disjoint, never the
    # last): the bound on buffers held (reasm_max_pbufs) evicts.
    for k in range(8):
        for off in range(40):
            frames.append(ip4(KERNEL, TARGET, 17, bytes(1480), ident=0x9000 + k, flags=1, frag=1 + off * 185))
    n = t.wire.send_ip(frames, deadline=time.monotonic() + 12)
    return {"ip_frag_rx": n, "ip_reasm_evicted": n // 2, "peak:reasm_datagrams": "limit",
            "peak:reasm_pbufs_held": "limit"}


@attack("land", seconds=5)
def land(t):
    """The land attack: packets from portstack's own address and port to itself."""
    frames = []
    for i in range(100):
        frames.append(ip_tcp(TARGET, TARGET, ECHO, ECHO, seq=i, flags=0x02, opts=MSS_1460))
        frames.append(ip_tcp(TARGET, TARGET, 80, 80, seq=i, flags=0x02))
        frames.append(ip_udp(TARGET, TARGET, ECHO, ECHO, b"land"))
    n = t.wire.send_ip(frames)
    return {"ip_drop_martian_src": n}
