#!/usr/bin/python3
"""Turn captures into seed inputs for the fuzz targets.

Usage: pcap2seed.py TARGET OUT_DIR [FILE.pcap...]

  frames, listen   one input per capture: its frames as fuzz_host.h records
                   ([op][len16 LE][frame]).  The frames the captured host
                   (192.0.2.1 or 198.51.100.1) sent are left out; the rest
                   arrive on eth0, or on eth1 when they come from
                   198.51.100.0/24, addressed to the fuzz stack's MAC.  op
                   carries the time step from the timestamps, "fix the
                   checksums", and for TCP segments of a connection the host
                   had answered, "relative": seq and ack become offsets from
                   what the host last sent, so that they stay right against
                   the fuzz stack's own sequence numbers.
  wire             each layer of each frame, with fuzz_wire's selector
  dhcp             the DHCP messages (UDP ports 67 and 68)
  dns              the DNS answers (with the question's name in front, as
                   fuzz_dns reads them) and queries (UDP port 53)
  http_request     each client-to-server stream of port 80, for the parser
                   and for the server
  http_response    each server-to-client stream of port 80
  tcp_state        no capture: a few inputs for each TCP state (fuzz_tcp_state)

Captures come from `portstack demo --pcap` and from `fuzz_sessions DIR`.
"""
import hashlib
import os
import struct
import sys

STEPS_US = [0, 1000, 10000, 100000, 1000000, 10000000, 60000000, 600000000]
OUR_IPS = {bytes([192, 0, 2, 1]): 0, bytes([198, 51, 100, 1]): 1}
OUR_MACS = [bytes([2, 0, 0, 0, 0, 1]), bytes([2, 0, 0, 0, 1, 1])]
OP_FIX_CKSUM, OP_TCP_REL = 0x10, 0x20
ETH_IPV4, ETH_ARP = b"\x08\x00", b"\x08\x06"


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        yield sec * 1000000 + usec, data[off:off + incl]
        off += incl


def ip_parts(fr):
    """(ip header bytes, transport bytes, proto) of an unfragmented IPv4 frame, else None."""
    if len(fr) < 34 or fr[12:14] != ETH_IPV4 or fr[14] >> 4 != 4:
        return None
    hl = (fr[14] & 15) * 4
    tot = struct.unpack(">H", fr[16:18])[0]
    if hl < 20 or tot < hl or 14 + tot > len(fr):
        return None
    if struct.unpack(">H", fr[20:22])[0] & 0x3FFF:
        return None
    return fr[14:14 + hl], fr[14 + hl:14 + tot], fr[23]


def src_ip(fr):
    if fr[12:14] == ETH_IPV4 and len(fr) >= 34:
        return fr[26:30]
    if fr[12:14] == ETH_ARP and len(fr) >= 42:
        return fr[28:32]
    return None


def step_code(dt):
    code = 0
    for i, s in enumerate(STEPS_US):
        if dt >= s:
            code = i
    return code


def write(out_dir, name, data):
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)


# ---- frames and listen ----------------------------------------------------------------


def records(path):
    ours = set()        # MACs of the captured host
    flows = {}          # (remote ip, remote port, local port) -> [ack, snd_max]
    recs = bytearray()
    last = None
    for ts, fr in frames(path):
        if len(fr) < 14:
            continue
        sip = src_ip(fr)
        if sip in OUR_IPS:
            ours.add(fr[6:12])
        if fr[6:12] in ours:
            track(flows, fr)
            continue
        dt = 0 if last is None else ts - last
        last = ts
        iface = 1 if sip is not None and sip[:3] == bytes([198, 51, 100]) else 0
        fr = bytearray(fr)
        if not fr[0] & 1:  # unicast: to the fuzz stack's interface
            fr[0:6] = OUR_MACS[iface]
        op = step_code(dt) << 1 | iface | OP_FIX_CKSUM
        if relative(flows, fr):
            op |= OP_TCP_REL
        recs += bytes([op]) + struct.pack("<H", len(fr)) + fr
    return bytes(recs)


def track(flows, fr):
    """Mirror fuzz_host.c's track_tcp for a segment the host sent."""
    parts = ip_parts(fr)
    if not parts or parts[2] != 6 or len(parts[1]) < 20:
        return
    ip, tcp, _ = parts
    sport, dport, seq, ack = struct.unpack(">HHII", tcp[:12])
    flags = tcp[13]
    if flags & 0x04:
        return
    dlen = len(tcp) - (tcp[12] >> 4) * 4
    end = (seq + dlen + (1 if flags & 0x02 else 0) + (1 if flags & 0x01 else 0)) & 0xFFFFFFFF
    key = (ip[16:20], dport, sport)
    f = flows.get(key)
    if f is None or flags & 0x02 or ((end - f[1]) & 0xFFFFFFFF) < 0x80000000 and end != f[1]:
        f = [f[0] if f else 0, end]
    if flags & 0x10:
        f[0] = ack
    flows[key] = f


def relative(flows, fr):
    """Make a TCP segment's seq and ack offsets from what the host last sent."""
    parts = ip_parts(fr)
    if not parts or parts[2] != 6 or len(parts[1]) < 20:
        return False
    ip = parts[0]
    off = 14 + len(ip)
    sport, dport, seq, ack = struct.unpack(">HHII", fr[off:off + 12])
    f = flows.get((bytes(ip[12:16]), sport, dport))
    if f is None:
        return False
    fr[off + 4:off + 12] = struct.pack(">II", (seq - f[0]) & 0xFFFFFFFF, (ack - f[1]) & 0xFFFFFFFF)
    return True


# ---- the parsers' targets ---------------------------------------------------------------


def wire_seeds(path):
    """At most 16 inputs per selector from one capture."""
    count = {}
    for s in wire_layers(path):
        count[s[0]] = count.get(s[0], 0) + 1
        if count[s[0]] <= 16:
            yield s


def wire_layers(path):
    for _, fr in frames(path):
        yield bytes([0]) + fr
        if fr[12:14] == ETH_ARP:
            yield bytes([1]) + fr[14:]
        if fr[12:14] != ETH_IPV4:
            continue
        yield bytes([2]) + fr[14:]
        parts = ip_parts(fr)
        if not parts:
            continue
        ip, t, proto = parts
        if proto == 1:
            yield bytes([3]) + t
        elif proto in (17, 6):
            yield bytes([4 if proto == 17 else 5]) + ip[12:20] + t
        yield bytes([6]) + ip


def udp_payloads(path, ports):
    for _, fr in frames(path):
        parts = ip_parts(fr)
        if parts and parts[2] == 17 and len(parts[1]) >= 8:
            sport, dport = struct.unpack(">HH", parts[1][:4])
            if sport in ports or dport in ports:
                yield sport, dport, parts[1][8:]


def question_name(msg):
    """The uncompressed question name of a DNS message, dotted."""
    labels, i = [], 12
    while i < len(msg) and msg[i]:
        n = msg[i]
        if n & 0xC0:
            return None
        labels.append(msg[i + 1:i + 1 + n])
        i += 1 + n
    return b".".join(labels)


def dns_seeds(path):
    for sport, dport, msg in udp_payloads(path, {53}):
        if dport == 53:
            yield bytes([1]) + msg
        else:
            name = question_name(msg)
            if name:
                yield bytes([0, len(name)]) + name + msg


def tcp_streams(path, port, to_server):
    """The payload of each TCP connection to or from port, in one direction, in order."""
    streams = {}
    for _, fr in frames(path):
        parts = ip_parts(fr)
        if not parts or parts[2] != 6 or len(parts[1]) < 20:
            continue
        ip, t, _ = parts
        sport, dport, seq = struct.unpack(">HHI", t[:8])
        if (dport if to_server else sport) != port:
            continue
        key = (ip[12:16], sport, ip[16:20], dport)
        data = t[(t[12] >> 4) * 4:]
        s = streams.setdefault(key, {})
        if data:
            s.setdefault(seq, data)
    for segs in streams.values():
        out = b"".join(segs[k] for k in sorted(segs))
        if out:
            yield out


# ---- tcp_state: no capture ---------------------------------------------------------------


def tcp_state_seeds():
    def rec(ctl, flags, dseq=0, dack=0, win=65535, opts=b"", dlen=0, pattern=True, data=b""):
        dl = (dlen & 0x7FF) | (0x8000 if pattern else 0)
        return struct.pack(">BBhhHBH", ctl, flags, dseq, dack, win, len(opts), dl) + opts + data

    ACK, PSH, FIN, SYN, RST, TS = 0x10, 0x08, 0x01, 0x02, 0x04, 0x20
    sack = bytes([1, 1, 5, 10]) + struct.pack(">ii", 1000, 2000)
    for st in range(9):
        for scene in (st, st | 0x10, st | 0x40, st | 0x60, st | 0x80):
            yield bytes([scene]) + b"".join([
                rec(TS, ACK | PSH, dlen=300),                  # in-order data
                rec(1 << 3, 0),                                # the application reads
                rec(2 << 3, 0, dlen=500),                      # and writes
                rec(TS | 3, ACK, dack=500),                    # 100 ms later, its data acknowledged
                rec(TS, ACK | PSH, dseq=600, dlen=200),        # out of order
                rec(TS, ACK, dack=100, opts=sack),             # a SACK
                rec(TS | 4, ACK | PSH | FIN, dlen=100),        # 1 s later: data and FIN
                rec(5, RST, dseq=1),                           # a RST in the window
                rec(3 << 3, 1),                                # close
            ])
        yield bytes([st]) + rec(0, SYN) + rec(TS, ACK, win=0) + rec(6, 0)


TARGETS = ("frames", "listen", "wire", "dhcp", "dns", "http_request", "http_response", "tcp_state")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in TARGETS:
        sys.exit(__doc__)
    target, out_dir, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    seeds = []
    if target in ("frames", "listen"):
        seeds = [records(p) for p in paths]
    elif target == "wire":
        seeds = [s for p in paths for s in wire_seeds(p)]
    elif target == "dhcp":
        seeds = [m for p in paths for _, _, m in udp_payloads(p, {67, 68})]
    elif target == "dns":
        seeds = [s for p in paths for s in dns_seeds(p)]
    elif target == "http_request":
        for p in paths:
            for s in tcp_streams(p, 80, True):
                seeds += [bytes([0]) + s, bytes([1 | 20 << 2]) + s]
    elif target == "http_response":
        seeds = [bytes([0x32]) + s for p in paths for s in tcp_streams(p, 80, False)]
    else:
        seeds = list(tcp_state_seeds())
    for s in seeds:
        if s:
            write(out_dir, "seed-" + hashlib.sha1(s).hexdigest()[:16], s)


if __name__ == "__main__":
    main()
