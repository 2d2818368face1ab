"""Attacks on the HTTP server's connection slots: clients that hold a
response with a zero window, and slow header senders (slowloris)."""
import socket
import struct
import time

from attack_lib import HTTP, TARGET, Fail, attack, delta

HTTP_MAX_CONN = 32          # PS_HTTP_MAX_CONN: connections served at once
HEAD_TIMEOUT = 10.0         # PS_HTTP_HEAD_TIMEOUT_MS: a request head must complete in this (s)


def http_get(path, timeout=10):
    """GET path on a fresh connection; (status, body).  A 503 (every slot
    taken) is tried again twice, half a second apart: slots are freed as
    the attack's connections' resets arrive."""
    for _ in range(3):
        status, body = http_get_once(path, timeout)
        if status != 503:
            break
        time.sleep(0.5)
    return status, body


def http_get_once(path, timeout):
    with socket.create_connection((TARGET, HTTP), timeout=timeout) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: portstack\r\nConnection: close\r\n\r\n" % path.encode())
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
    head, _, body = resp.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, body


def abort(s):
    """Close with RST (SO_LINGER 0): nothing lingers on the kernel's side."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


@attack("zero-window", seconds=20)
def zero_window(t):
    """Zero-window hold-open: HTTP clients ask for a large file and never read."""
    socks = []
    before, _ = t.ps.snapshot()
    try:
        for _ in range(8):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # a window that closes at once
            s.settimeout(10)
            s.connect((TARGET, HTTP))
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: portstack\r\n\r\n")
            socks.append(s)
        # portstack keeps probing the closed windows (RFC 9293 3.8.6.1)
        # with its buffers full and bounded; wait for probes on them all.
        end = time.monotonic() + 15
        while True:
            now, _ = t.ps.snapshot()
            if delta(before, now, "tcp_persist_probes") >= 2 * len(socks):
                break
            if time.monotonic() > end:
                raise Fail("only %d zero-window probes for %d held connections"
                           % (delta(before, now, "tcp_persist_probes"), len(socks)))
            time.sleep(0.5)
        # Meanwhile the server still serves everyone else.
        status, body = http_get("/index.html")
        if status != 200 or body != t.index_html:
            raise Fail("GET /index.html beside the held connections: %d, %d bytes" % (status, len(body)))
    finally:
        for s in socks:
            abort(s)
    return {"tcp_persist_probes": 2 * len(socks)}


@attack("slowloris", seconds=30)
def slowloris(t):
    """Slow header senders: more connections than the server's slots, one header byte each per second."""
    n = HTTP_MAX_CONN + 8
    conns = []
    for _ in range(n):
        s = socket.create_connection((TARGET, HTTP), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: portstack\r\n")
        s.setblocking(False)
        conns.append(s)
    answers = [b""] * n
    closed = [False] * n
    start = time.monotonic()
    # Drip a byte a second into every open connection until the server
    # has answered and closed them all: the ones past its slots at once
    # (503), the others when the head timeout runs out (408).  Bounded:
    # twice the head timeout at most.
    while not all(closed) and time.monotonic() - start < 2 * HEAD_TIMEOUT:
        for i, s in enumerate(conns):
            if closed[i]:
                continue
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        closed[i] = True
                        break
                    answers[i] += chunk
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed[i] = True
            if not closed[i] and not answers[i]:
                try:
                    s.send(b"X")
                except OSError:
                    closed[i] = True
        time.sleep(1.0)
    for s in conns:
        abort(s)
    busy = sum(1 for a in answers if a.startswith(b"HTTP/1.1 503"))
    timed_out = sum(1 for a in answers if a.startswith(b"HTTP/1.1 408"))
    other = [a[:40] for a in answers if not a.startswith((b"HTTP/1.1 503", b"HTTP/1.1 408"))]
    if busy < n - HTTP_MAX_CONN or timed_out < 1 or other or not all(closed):
        raise Fail("slowloris: %d answered 503, %d 408, %d closed of %d; others: %r"
                   % (busy, timed_out, sum(closed), n, other[:3]))
    # The slots are free again.
    status, body = http_get("/index.html")
    if status != 200 or body != t.index_html:
        raise Fail("GET /index.html after slowloris: %d" % status)
    return {"tcp_conn_passive": n}
