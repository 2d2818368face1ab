#!/usr/bin/python3
"""A UDP client on the kernel's sockets, for test_udp_tap.sh.

usage: udp_client.py ADDR ECHO_PORT ECHO_PORT2 CLOSED_PORT
Sends 200 datagrams of 1..8000 bytes (random contents, fixed seed) to the
two echo ports and checks each comes back byte-exact; then checks that a
connected socket to a closed port reports ECONNREFUSED.
"""
import random
import socket
import sys


def main():
    addr = sys.argv[1]
    ports = [int(sys.argv[2]), int(sys.argv[3])]
    closed = int(sys.argv[4])
    rng = random.Random(1234)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    sizes = [1, 2, 7, 8, 1472, 1473, 2960, 4000, 8000] + [rng.randint(1, 8000) for _ in range(191)]
    for i, size in enumerate(sizes):
        data = bytes(rng.getrandbits(8) for _ in range(size))
        port = ports[i % 2]
        for attempt in range(3):
            s.sendto(data, (addr, port))
            try:
                back, frm = s.recvfrom(65535)
            except socket.timeout:
                continue
            break
        else:
            sys.exit("no echo for datagram %d (%d bytes)" % (i, size))
        if back != data or frm != (addr, port):
            sys.exit("datagram %d (%d bytes) came back wrong from %s" % (i, size, frm))
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(3)
    c.connect((addr, closed))
    c.send(b"anyone?")
    try:
        c.recv(100)
        sys.exit("a closed port answered")
    except ConnectionRefusedError:
        pass
    except socket.timeout:
        sys.exit("no ECONNREFUSED from a closed port")
    print("udp_client: %d datagrams echoed, ECONNREFUSED seen" % len(sizes))


if __name__ == "__main__":
    main()
