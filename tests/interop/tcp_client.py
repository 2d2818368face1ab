#!/usr/bin/python3
"""A TCP client on the kernel's sockets, for test_tcp_tap.sh.

usage: tcp_client.py ADDR ECHO_PORT DISCARD_PORT CLOSED_PORT MBYTES [CONNS]

 - echo: MBYTES of pseudo-random bytes (fixed seed) written while reading
   what comes back; the reply must be byte-exact (length and SHA-256), then
   shutdown(SHUT_WR) must be answered by the server's own close (EOF);
 - discard: MBYTES written, shutdown(SHUT_WR), and the server closes after
   reading it all (EOF, not a reset), nothing ever comes back;
 - CONNS connections (default 100) opened and closed in a row, each
   echoing a few hundred bytes byte-exact;
 - a connect to CLOSED_PORT is refused (portstack answers RST).
Everything has a timeout; the first failure exits non-zero with a reason.
"""
import hashlib
import random
import selectors
import socket
import sys
import time

TIMEOUT = 60.0  # seconds, for any one transfer


def payload(nbytes, seed):
    rng = random.Random(seed)
    return rng.randbytes(nbytes)


def connect(addr, port):
    s = socket.create_connection((addr, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def echo_transfer(addr, port, data):
    """Write data while reading the echo; return (received bytes, seconds)."""
    s = connect(addr, port)
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    sent, back, shut = 0, bytearray(), False
    start = time.monotonic()
    eof = False
    while not eof:
        if time.monotonic() - start > TIMEOUT:
            sys.exit("echo: timed out with %d of %d bytes sent, %d back" % (sent, len(data), len(back)))
        for key, ev in sel.select(timeout=1.0):
            if ev & selectors.EVENT_WRITE and sent < len(data):
                try:
                    sent += s.send(data[sent:sent + 65536])
                except BlockingIOError:
                    pass
            if ev & selectors.EVENT_READ:
                try:
                    chunk = s.recv(262144)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    sys.exit("echo: connection reset after %d bytes back" % len(back))
                if not chunk:
                    eof = True
                    break
                back += chunk
                if len(back) > len(data):
                    sys.exit("echo: more came back (%d) than was sent (%d)" % (len(back), len(data)))
        if sent == len(data) and not shut:
            # Everything written: half-close; the echo server writes the
            # rest back and closes its side.
            s.shutdown(socket.SHUT_WR)
            shut = True
            sel.modify(s, selectors.EVENT_READ)
    secs = time.monotonic() - start
    sel.close()
    s.close()
    return bytes(back), secs


def check_echo(addr, port, nbytes):
    data = payload(nbytes, 862)
    back, secs = echo_transfer(addr, port, data)
    if len(back) != len(data):
        sys.exit("echo: %d bytes sent, %d came back before EOF" % (len(data), len(back)))
    if hashlib.sha256(back).digest() != hashlib.sha256(data).digest():
        first = next(i for i in range(len(data)) if back[i] != data[i])
        sys.exit("echo: the reply differs from what was sent, first at byte %d" % first)
    print("tcp_client: echo %d bytes byte-exact in %.2f s (%.1f Mbit/s each way)"
          % (nbytes, secs, nbytes * 8 / secs / 1e6 if secs > 0 else 0))


def check_discard(addr, port, nbytes):
    data = payload(nbytes, 863)
    s = connect(addr, port)
    s.settimeout(TIMEOUT)
    start = time.monotonic()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    try:
        rest = s.recv(65536)
    except ConnectionResetError:
        sys.exit("discard: connection reset instead of a close")
    except socket.timeout:
        sys.exit("discard: no close from the server")
    if rest:
        sys.exit("discard: the server sent %d bytes" % len(rest))
    secs = time.monotonic() - start
    s.close()
    print("tcp_client: discard took %d bytes and closed in %.2f s" % (nbytes, secs))


def check_many(addr, port, count):
    ports = set()
    for i in range(count):
        msg = payload(100 + i, 1000 + i)
        s = connect(addr, port)
        s.settimeout(10)
        ports.add(s.getsockname()[1])
        s.sendall(msg)
        back = b""
        while len(back) < len(msg):
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                sys.exit("connection %d: echo timed out with %d of %d bytes" % (i, len(back), len(msg)))
            if not chunk:
                break
            back += chunk
        if back != msg:
            sys.exit("connection %d: %d bytes sent, %d came back (or different)" % (i, len(msg), len(back)))
        s.shutdown(socket.SHUT_WR)
        try:
            if s.recv(100):
                sys.exit("connection %d: data after the echo" % i)
        except socket.timeout:
            sys.exit("connection %d: the server did not close" % i)
        s.close()
    print("tcp_client: %d connections in a row, each echoed byte-exact (%d client ports)" % (count, len(ports)))


def check_refused(addr, port):
    try:
        s = socket.create_connection((addr, port), timeout=5)
    except ConnectionRefusedError:
        print("tcp_client: port %d refused" % port)
        return
    except socket.timeout:
        sys.exit("closed port %d: no RST (timed out)" % port)
    s.close()
    sys.exit("closed port %d accepted a connection" % port)


def main():
    addr = sys.argv[1]
    echo, discard, closed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    nbytes = int(float(sys.argv[5]) * 1000000)
    conns = int(sys.argv[6]) if len(sys.argv) > 6 else 100
    check_echo(addr, echo, 1000)
    check_echo(addr, echo, nbytes)
    check_discard(addr, discard, nbytes)
    check_many(addr, echo, conns)
    check_refused(addr, closed)


if __name__ == "__main__":
    main()
