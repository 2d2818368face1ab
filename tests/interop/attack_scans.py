"""Port scans of every kind nmap offers, against portstack serving TCP
echo (7), discard (9) and http (80) and UDP echo and discard: each must
see exactly what is there (or nothing, where the probe is invalid), and
portstack count every probe by its reason."""
import subprocess
import time
import xml.etree.ElementTree as ET

from attack_lib import TARGET, Fail, attack

PORTS = "1-30,80"
NPORTS = 31
OPEN_TCP = {7, 9, 80}


def nmap(t, args, ports=PORTS, timeout=120):
    """Run one scan; returns ({(proto, port): state}, {state: count of the
    ports nmap folded into "extraports"}, the XML report)."""
    cmd = ["nmap", "-n", "-T4", "--max-retries", "1", "-e", t.iface, "-oX", "-"] + args
    if "-sn" not in args:
        cmd.append("-Pn")  # no host discovery before a port scan
    if ports:
        cmd += ["-p", ports]
    r = subprocess.run(cmd + [TARGET], capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise Fail("nmap %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.decode()[-300:]))
    root = ET.fromstring(r.stdout)
    states = {}
    for p in root.iter("port"):
        states[(p.get("protocol"), int(p.get("portid")))] = p.find("state").get("state")
    extra = {}
    for e in root.iter("extraports"):
        extra[e.get("state")] = extra.get(e.get("state"), 0) + int(e.get("count"))
    t.note = " ".join("%s/%s:%s" % (k[1], k[0], v) for k, v in sorted(states.items()) if v != "closed")
    return states, extra, root


def check(scan, states, extra, want):
    """want: {state: set of ports} for the listed ones, plus {"*": state}
    for every other port of the range."""
    rest = want.get("*")
    got = {}
    for (_, port), st in states.items():
        got.setdefault(st, set()).add(port)
    for st, ports in want.items():
        if st != "*" and got.get(st, set()) != ports:
            raise Fail("nmap %s: %s ports %s, expected %s (all: %s, folded: %s)"
                       % (scan, st, sorted(got.get(st, set())), sorted(ports), states, extra))
    listed = sum(len(p) for st, p in want.items() if st != "*")
    others = NPORTS - listed
    if rest and extra.get(rest, 0) + len(got.get(rest, set())) != others:
        raise Fail("nmap %s: expected %d other ports %s; listed %s, folded %s" % (scan, others, rest, states, extra))


def tcp_scan(name, args, want, expect):
    """Register a TCP scan of PORTS with its expected result and counters."""
    def run(t):
        states, extra, _ = nmap(t, args)
        check(name, states, extra, want)
        return dict(expect)
    run.__doc__ = "nmap %s over ports %s." % (name, PORTS)
    return attack("nmap " + name, seconds=60)(run)


N_CLOSED = NPORTS - len(OPEN_TCP)
tcp_scan("-sS", ["-sS"], {"open": OPEN_TCP, "*": "closed"}, {"tcp_drop_no_port": N_CLOSED})
tcp_scan("-sS -f", ["-sS", "-f"], {"open": OPEN_TCP, "*": "closed"},
         {"tcp_drop_no_port": N_CLOSED, "ip_reasm_ok": NPORTS})
tcp_scan("-sS --badsum", ["-sS", "--badsum"], {"*": "filtered"}, {"tcp_drop_checksum": NPORTS})
tcp_scan("-sT", ["-sT"], {"open": OPEN_TCP, "*": "closed"}, {"tcp_conn_passive": len(OPEN_TCP),
                                                             "tcp_drop_no_port": N_CLOSED})
tcp_scan("-sA", ["-sA"], {"*": "unfiltered"}, {"tcp_drop_listen": len(OPEN_TCP), "tcp_drop_no_port": N_CLOSED})
tcp_scan("-sW", ["-sW"], {"*": "closed"}, {"tcp_drop_listen": len(OPEN_TCP), "tcp_drop_no_port": N_CLOSED})
tcp_scan("-sM", ["-sM"], {"*": "closed"}, {"tcp_drop_listen": len(OPEN_TCP), "tcp_drop_no_port": N_CLOSED})
for flag in ("-sN", "-sF", "-sX"):
    tcp_scan(flag, [flag], {"open|filtered": OPEN_TCP, "*": "closed"},
             {"tcp_drop_listen": len(OPEN_TCP), "tcp_drop_no_port": N_CLOSED})
tcp_scan("--scanflags SYNFIN", ["-sS", "--scanflags", "SYNFIN"], {"*": "filtered"}, {"tcp_drop_malformed": NPORTS})
tcp_scan("-sY", ["-sY"], {"*": "filtered"}, {"ip_drop_unknown_proto": NPORTS})
tcp_scan("-sZ", ["-sZ"], {"*": "filtered"}, {"ip_drop_unknown_proto": NPORTS})


def icmp_bucket_full():
    """The scans that count on ICMP errors start with the token bucket full
    (icmp_burst 50, refilled at icmp_rate 100 a second): the scans before
    may have spent it."""
    time.sleep(1.0)


@attack("nmap -sU", seconds=60)
def udp_scan(t):
    """nmap -sU over the same ports: echo answers, discard is silent, the rest unreachable."""
    icmp_bucket_full()
    states, extra, _ = nmap(t, ["-sU"])
    check("-sU", states, extra, {"open": {7}, "open|filtered": {9}, "*": "closed"})
    return {"udp_drop_no_port": NPORTS - 2, "icmp_err_tx": 1}


@attack("nmap -sO", seconds=60)
def proto_scan(t):
    """nmap -sO: IP protocols 0-40 and 132; ICMP, TCP and UDP there, the rest unreachable."""
    icmp_bucket_full()
    states, extra, _ = nmap(t, ["-sO"], ports="0-40,132")
    got = {p for (proto, p), st in states.items() if st == "open"}
    if got != {1, 6, 17}:
        raise Fail("nmap -sO: open protocols %s, expected 1, 6, 17 (%s, %s)" % (sorted(got), states, extra))
    closed = sum(1 for st in states.values() if st == "closed") + extra.get("closed", 0)
    if closed < 30:
        raise Fail("nmap -sO: only %d protocols closed (%s)" % (closed, extra))
    return {"ip_drop_unknown_proto": closed, "icmp_err_tx": 1}


@attack("nmap -O", seconds=90)
def os_scan(t):
    """nmap -O: OS detection's odd probes (SYN+FIN+URG+PSH, NULL, ECN, odd ICMP, UDP to a closed port)."""
    states, extra, root = nmap(t, ["-O", "--osscan-guess", "--max-os-tries", "1"], ports="1-10,80")
    opened = {p for (_, p), st in states.items() if st == "open"}
    if opened != OPEN_TCP:
        raise Fail("nmap -O: open ports %s" % sorted(opened))
    guess = [m.get("name") for m in root.iter("osmatch")][:1]
    tcpseq = root.find(".//tcpsequence")
    ipid = root.find(".//ipidsequence")
    t.note = "guess: %s; TCP ISN difficulty %s; IP ID %s" % (
        guess[0] if guess else "none", tcpseq.get("index") if tcpseq is not None else "?",
        ipid.get("class") if ipid is not None else "?")
    return {"tcp_drop_malformed": 1, "icmp_echo_rx": 2}


def hosts_up(t, pings):
    _, _, root = nmap(t, ["-sn", "--disable-arp-ping"] + pings, ports=None)
    return sum(1 for h in root.iter("host") if h.find("status").get("state") == "up")


@attack("nmap host discovery", seconds=60)
def ping_scan(t):
    """nmap -sn with each kind of ping: ICMP echo, timestamp and netmask requests, TCP SYN and ACK, UDP."""
    for pings in (["-PE"], ["-PS80"], ["-PA80"], ["-PU40125"]):
        if hosts_up(t, pings) != 1:
            raise Fail("nmap -sn %s did not find portstack up" % pings[0])
    # Timestamp and netmask requests are not answered (they tell a clock
    # and a netmask to anyone; RFC 6918 retired the latter).
    if hosts_up(t, ["-PP", "-PM"]) != 0:
        raise Fail("portstack answered an ICMP timestamp or netmask request")
    return {"icmp_echo_rx": 1, "icmp_drop_type": 2, "udp_drop_no_port": 1}
