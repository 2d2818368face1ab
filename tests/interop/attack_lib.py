"""The harness of the attack suite (attack_suite.py): who is where, how to
send raw frames, how to read portstack's counters, the legitimate traffic
that must survive every attack, and the registry of attacks.

Everything runs inside the test's network namespace (test_attack_tap.sh):
the kernel is KERNEL on the TAP device, portstack is TARGET behind it.
Addresses come from the documentation ranges only (RFC 5737).
"""
import os
import random
import re
import selectors
import signal
import socket
import struct
import subprocess
import threading
import time

KERNEL = "192.0.2.1"        # the kernel's side of the TAP device
TARGET = "192.0.2.2"        # portstack
SPOOF_NET = "198.51.100."   # off-link sources of spoofed floods (portstack's gateway is the kernel)
ECHO, DISCARD, HTTP = 7, 9, 80
LISTENERS = (ECHO, DISCARD, HTTP, 1007, 1009)  # every TCP port portstack listens on
CLOSED_TCP, CLOSED_UDP = 4242, 4243

ETH_P_ALL = 0x0003

# Pacing of floods: frames per burst, and the pause after each, so that a
# flood stays bounded in rate (about 25,000 frames/s at most).
BURST = 50
BURST_PAUSE = 0.002


class Fail(Exception):
    """An attack's own check failed."""


# ---- the registry -----------------------------------------------------------------

class Attack:
    def __init__(self, name, fn, seconds):
        self.name = name
        self.fn = fn
        self.seconds = seconds  # its bound (its counts and deadlines keep it; a hang is cut at 3x)
        self.doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""


ATTACKS = []


def attack(name, seconds):
    """Register fn(t) as an attack.  fn sends its packets (bounded in count
    and time), makes its own checks (raising Fail), and returns what must
    have moved: {counter or "a+b": at least n}, n counting the packets
    that each move the counter once; the harness subtracts the frames the
    TAP device dropped on the way (its tx_dropped), and asks for at least 1
    in any case.  "=counter": n asks for exactly n; "peak:gauge": n (or
    "limit") for a high-water mark of at least n (the attack reached the
    bound, and the bound held)."""
    def reg(fn):
        ATTACKS.append(Attack(name, fn, seconds))
        return fn
    return reg


# ---- the wire ----------------------------------------------------------------------

def ip_bytes(a):
    return socket.inet_aton(a)


def ip_str(b):
    return socket.inet_ntoa(b)


class Wire:
    """Raw Ethernet frames onto the TAP device, as if from the kernel's
    side of the link (portstack reads them from its file descriptor)."""

    def __init__(self, iface, mac_kernel, mac_target):
        self.iface = iface
        self.mac_kernel = mac_kernel
        self.mac_target = mac_target
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((iface, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self.sent = 0

    def eth(self, ethertype=0x0800):
        return self.mac_target + self.mac_kernel + struct.pack("!H", ethertype)

    def send(self, frames, deadline=None):
        """Send frames (bytes) paced in bursts; stop at the deadline (a
        time.monotonic() value).  Returns how many went."""
        n = 0
        for f in frames:
            if deadline is not None and time.monotonic() > deadline:
                break
            while True:
                try:
                    self.sock.send(f)
                    break
                except (BlockingIOError, OSError):
                    time.sleep(0.001)
            n += 1
            if n % BURST == 0:
                time.sleep(BURST_PAUSE)
        self.sent += n
        return n

    def send_ip(self, packets, deadline=None):
        """IPv4 packets (bytes, or scapy IP layers) behind an Ethernet header."""
        head = self.eth()
        return self.send((head + bytes(p) for p in packets), deadline)

    def tx_dropped(self):
        with open("/sys/class/net/%s/statistics/tx_dropped" % self.iface) as f:
            return int(f.read())


class Sniffer:
    """Every frame on the TAP device, both ways, while open (raw bytes).
    Used for a few seconds at a time, to learn sequence numbers as an
    on-path observer would."""

    def __init__(self, iface):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.setblocking(False)
        self.frames = []

    def poll(self):
        while True:
            try:
                b = self.sock.recv(70000)
            except BlockingIOError:
                return self.frames
            self.frames.append(b)

    def close(self):
        self.sock.close()


def tcp_fields(frame):
    """(src, dst, sport, dport, seq, ack, flags, window, payload length) of
    an Ethernet/IPv4/TCP frame, or None."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    tot = struct.unpack("!H", frame[16:18])[0]
    t = 14 + ihl
    if len(frame) < t + 20:
        return None
    sport, dport, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", frame[t:t + 16])
    plen = tot - ihl - (off >> 4) * 4
    return ip_str(frame[26:30]), ip_str(frame[30:34]), sport, dport, seq, ack, flags, win, plen


def seq_add(a, b):
    return (a + b) & 0xFFFFFFFF


def seq_lt(a, b):
    return ((a - b) & 0xFFFFFFFF) >= 0x80000000


# ---- portstack: alive, and its counters ---------------------------------------------

COUNTER_RE = re.compile(r"^  ([a-z0-9_]+) +(\d+)  ")
GAUGE_RE = re.compile(r"^  ([a-z0-9_]+) +now +(\d+) +peak +(\d+) +limit +(\d+)  ")
DUMP_END = "portstack: tables end"


class Portstack:
    """The process under attack, seen through its signals and its log."""

    def __init__(self, pid, log):
        self.pid = pid
        self.log = log
        self.mac = None
        with open(log) as f:
            m = re.search(r"on \S+ \(([0-9a-f:]{17})\)", f.read())
        if m:
            self.mac = bytes(int(x, 16) for x in m.group(1).split(":"))

    def alive(self):
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state not in ("Z", "X")

    def memory(self):
        """The process's peak and current resident memory (for the record:
        the gauges are what is checked)."""
        try:
            with open("/proc/%d/status" % self.pid) as f:
                st = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            return "?"
        return "peak resident %s, now %s" % (st.get("VmHWM", "?").strip(), st.get("VmRSS", "?").strip())

    def snapshot(self, timeout=20.0):
        """SIGUSR1: portstack prints its tables, counters and gauges; wait
        for the dump to end and parse it: ({counter: n}, {gauge: (now,
        peak, limit)})."""
        with open(self.log, "rb") as f:
            before = f.read().count(DUMP_END.encode())
        os.kill(self.pid, signal.SIGUSR1)
        end = time.monotonic() + timeout
        while True:
            with open(self.log, "rb") as f:
                text = f.read().decode(errors="replace")
            if text.count(DUMP_END) > before:
                break
            if time.monotonic() > end or not self.alive():
                raise Fail("portstack did not answer SIGUSR1 (alive: %s)" % self.alive())
            time.sleep(0.05)
        dump = text[:text.rindex(DUMP_END)]
        dump = dump[dump.rindex("counters:"):]
        counters, gauges = {}, {}
        for line in dump.splitlines():
            g = GAUGE_RE.match(line)
            if g:
                gauges[g.group(1)] = tuple(int(x) for x in g.groups()[1:])
                continue
            c = COUNTER_RE.match(line)
            if c and not gauges:
                counters[c.group(1)] = int(c.group(2))
        if not gauges:
            raise Fail("the SIGUSR1 dump has no gauges")
        return counters, gauges


def delta(before, after, expr):
    """Movement of a counter, or of a sum "a+b"."""
    return sum(after.get(k, 0) - before.get(k, 0) for k in expr.split("+"))


# ---- legitimate traffic -------------------------------------------------------------

def echo_roundtrip(port, data, timeout=30.0, sock=None):
    """Write data to an echo service while reading it back; return what
    came back (up to len(data) bytes, or less at EOF)."""
    s = sock or socket.create_connection((TARGET, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setblocking(False)
    sent, back = 0, bytearray()
    end = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    try:
        while len(back) < len(data):
            if time.monotonic() > end:
                raise Fail("echo: timed out, %d of %d sent, %d back" % (sent, len(data), len(back)))
            for _, ev in sel.select(timeout=0.5):
                if ev & selectors.EVENT_WRITE and sent < len(data):
                    try:
                        sent += s.send(data[sent:sent + 65536])
                    except BlockingIOError:
                        pass
                    if sent == len(data):
                        sel.modify(s, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    try:
                        chunk = s.recv(262144)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        return bytes(back)
                    back += chunk
    finally:
        sel.close()
        s.setblocking(True)
        s.settimeout(10)
        if sock is None:
            s.close()
    return bytes(back)


class Legit(threading.Thread):
    """The legitimate user beside every attack: echo transfers of NBYTES
    pseudo-random bytes, one connection after another, each checked
    byte-exact, until stopped (the transfer under way always finishes)."""

    NBYTES = 200_000
    PAUSE = 0.02  # between transfers: a user, not a benchmark, beside the attack

    def __init__(self, seed):
        super().__init__(daemon=True)
        self.rng = random.Random(seed)
        self.stop_req = threading.Event()
        self.started_one = threading.Event()
        self.done = 0
        self.errors = []

    def run(self):
        while True:
            data = self.rng.randbytes(self.NBYTES)
            self.started_one.set()
            try:
                back = echo_roundtrip(ECHO, data)
            except (OSError, Fail) as e:
                self.errors.append("transfer %d: %s" % (self.done, e))
                return
            if back != data:
                self.errors.append("transfer %d: %d bytes back of %d, or different" % (self.done, len(back), len(data)))
                return
            self.done += 1
            if self.stop_req.wait(self.PAUSE):
                return

    def finish(self, timeout=60):
        self.stop_req.set()
        self.join(timeout)
        if self.is_alive():
            self.errors.append("the transfer under way did not finish in %d s" % timeout)


def udp_echo_ok(payload=b"still there?", timeout=3.0):
    """One UDP datagram through echo, answered byte-exact (three tries)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout / 3)
    try:
        for _ in range(3):
            s.sendto(payload, (TARGET, ECHO))
            try:
                data, _ = s.recvfrom(2048)
            except socket.timeout:
                continue
            if data == payload:
                return True
        return False
    finally:
        s.close()


class Victim:
    """A live connection of the kernel's to echo, whose quadruple attacks
    aim at; it must carry data byte-exact afterwards."""

    def __init__(self, seed):
        self.sock = socket.create_connection((TARGET, ECHO), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.sock.getsockname()[1]
        self.rng = random.Random(seed)

    def exchange(self, nbytes):
        data = self.rng.randbytes(nbytes)
        back = echo_roundtrip(ECHO, data, sock=self.sock)
        if back != data:
            raise Fail("the victim connection got %d bytes back of %d, or different" % (len(back), len(data)))

    def close(self):
        self.sock.close()


def learn_seq(t, victim, nbytes=3000):
    """As an on-path observer: exchange data on the victim connection while
    sniffing, and return (portstack's SND.NXT, its RCV.NXT, its window in
    bytes as last advertised, unscaled field) for that connection."""
    sn = Sniffer(t.iface)
    try:
        victim.exchange(nbytes)
        time.sleep(0.2)  # the last ACKs
        frames = sn.poll()
    finally:
        sn.close()
    last = None
    for f in frames:
        tf = tcp_fields(f)
        if tf and tf[0] == TARGET and tf[2] == ECHO and tf[3] == victim.port:
            last = tf
    if not last:
        raise Fail("saw no segment of the victim connection")
    _, _, _, _, seq, ack, _, win, plen = last
    return seq_add(seq, plen), ack, win


# ---- nftables inside the namespace --------------------------------------------------

def nft(script):
    subprocess.run(["nft", "-f", "-"], input=script.encode(), check=True)
