#!/usr/bin/python3
"""Kernel-side TCP server for test_tcp_client_tap.sh.

usage: bulk_server.py ADDR PORT EXPECT_BYTES
Accepts one connection, checks every byte against portstack's test pattern
(src/cli/bulk.c: byte o is ((o % 65536) * 131 + 7) % 256 ^ (o // 65536) % 256),
echoes it all back, and after the client's FIN closes.  Prints what it saw;
exits 1 on a mismatch or a short stream.
"""
import socket
import sys

BASE = bytes(((i * 131) + 7) & 0xFF for i in range(65536))
TABLES = [bytes((x ^ k) for x in range(256)) for k in range(256)]


def expected(off, n):
    out = bytearray()
    while n:
        k, j = divmod(off, 65536)
        take = min(n, 65536 - j)
        out += BASE[j:j + take].translate(TABLES[k & 0xFF])
        off += take
        n -= take
    return bytes(out)


def main():
    addr, port, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(60)
    print("bulk_server: listening", flush=True)
    c, peer = ls.accept()
    c.settimeout(60)
    got = 0
    bad = 0
    while True:
        data = c.recv(1 << 20)
        if not data:
            break
        if data != expected(got, len(data)):
            bad += 1
        got += len(data)
        c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    c.close()
    print("bulk_server: from %s:%d received %d bytes, %s" % (peer[0], peer[1], got, "MISMATCH" if bad else "pattern ok"),
          flush=True)
    sys.exit(0 if got == want and not bad else 1)


if __name__ == "__main__":
    main()
