#!/usr/bin/python3
"""SYN flood and a well-behaved client, for test_tcp_synflood.sh.

  synflood.py flood DST PORT COUNT SECONDS
      COUNT SYNs (at most, and for at most SECONDS) to DST:PORT through a raw
      socket, each from a random source in 198.51.100.0/24 (a documentation
      range) and a random port, with an MSS option; nothing is ever answered.
  synflood.py client DST PORT CONNS BYTES
      CONNS connections in a row to an echo service, each sending BYTES of
      pseudo-random data and reading them back byte-exact.

Standard library only (no scapy).  Exit status 0 on success.
"""
import os
import random
import socket
import struct
import sys
import time

SPOOF_NET = (198, 51, 100)  # 198.51.100.0/24, RFC 5737


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    mss = struct.pack("!BBH", 2, 4, 1460)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (5 + 1) << 4, 0x02, 64240, 0, 0) + mss
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    total = 20 + len(tcp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, random.getrandbits(16), 0x4000, 64, socket.IPPROTO_TCP, 0,
                     src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def flood(dst, port, count, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IP_HDRINCL implied
    d = socket.inet_aton(dst)
    end = time.monotonic() + seconds
    sent = 0
    while sent < count and time.monotonic() < end:
        src = bytes(SPOOF_NET + (random.randint(1, 254),))
        pkt = syn(src, d, random.randint(1024, 65535), port, random.getrandbits(32))
        try:
            s.sendto(pkt, (dst, 0))
            sent += 1
        except (BlockingIOError, OSError):
            time.sleep(0.001)  # the TAP's queue is full: let portstack read
        if sent % 500 == 0:
            time.sleep(0.01)  # bounded rate: ~50,000 SYNs/s at most
    print("flood: %d SYNs sent" % sent)
    return 0 if sent == count else 1


def client(dst, port, conns, nbytes):
    for i in range(conns):
        data = os.urandom(nbytes)
        with socket.create_connection((dst, port), timeout=20) as c:
            c.settimeout(20)
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            back = bytearray()
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                back += chunk
        if bytes(back) != data:
            print("client: connection %d: %d bytes back, differ" % (i, len(back)))
            return 1
    print("client: %d connections, %d bytes each, byte-exact" % (conns, nbytes))
    return 0


def main(argv):
    if len(argv) == 6 and argv[1] == "flood":
        return flood(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    if len(argv) == 6 and argv[1] == "client":
        return client(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
