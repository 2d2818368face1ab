"""Packet builders for the attack suite: exact bytes, including the wrong
ones.  Scapy fixes what it thinks is a mistake (lengths, checksums,
option lengths), so the malformed headers are put together by hand here;
scapy builds the rest (fragments, ICMP errors, fuzzed headers)."""
import struct

from attack_lib import ip_bytes
from synflood import checksum  # the Internet checksum (RFC 1071)


def ip4(src, dst, proto, payload=b"", *, ihl=None, tot=None, ident=1, flags=0, frag=0, ttl=64, opts=b"",
        csum=None, ver=4):
    """An IPv4 packet; every field may be given wrong on purpose.  flags:
    bit 2 reserved, bit 1 DF, bit 0 MF; frag in 8-byte units."""
    hlen = 20 + len(opts)
    ihl = hlen // 4 if ihl is None else ihl
    tot = hlen + len(payload) if tot is None else tot
    h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0, tot, ident, (flags << 13) | frag, ttl, proto, 0,
                    ip_bytes(src), ip_bytes(dst)) + opts
    c = checksum(h) if csum is None else csum
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def l4_sum(src, dst, proto, seg):
    pseudo = struct.pack("!4s4sBBH", ip_bytes(src), ip_bytes(dst), 0, proto, len(seg))
    return checksum(pseudo + seg)


def tcp(src, dst, sport, dport, *, seq=0, ack=0, flags=0x02, win=65535, opts=b"", data=b"", doff=None, csum=None):
    """A TCP segment (no IP header).  flags: FIN 1, SYN 2, RST 4, PSH 8,
    ACK 16, URG 32.  opts are raw bytes, padded to 4 with zeros (EOL)."""
    opts = opts + b"\0" * (-len(opts) % 4)
    doff = (20 + len(opts)) // 4 if doff is None else doff
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, doff << 4, flags, win, 0, 0)
    seg += opts + data
    c = l4_sum(src, dst, 6, seg) if csum is None else csum
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, data=b"", *, ulen=None, csum=None):
    ulen = 8 + len(data) if ulen is None else ulen
    seg = struct.pack("!HHHH", sport, dport, ulen, 0) + data
    if csum is None:
        csum = l4_sum(src, dst, 17, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", csum) + seg[8:]


def ip_tcp(src, dst, sport, dport, **kw):
    """A whole IPv4/TCP packet (DF set, as TCP's are)."""
    return ip4(src, dst, 6, tcp(src, dst, sport, dport, **kw), flags=2)


def ip_udp(src, dst, sport, dport, data=b"", **kw):
    return ip4(src, dst, 17, udp(src, dst, sport, dport, data, **kw))


MSS_1460 = b"\x02\x04\x05\xb4"
