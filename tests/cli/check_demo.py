#!/usr/bin/python3
"""Hold `portstack demo`'s output against the stacks and the capture.

Usage: check_demo.py OUT.txt DEMO.json FRAMES.tsv

OUT.txt    what the demo printed
DEMO.json  its --json twin: every socket table as the stacks listed them
           (ps_socket_foreach), with the virtual time, and the summary
FRAMES.tsv the capture as tshark fields (test_demo.sh makes it)

Checks, each against something the demo did not print itself:
 1. every table printed is the stacks' table at that moment (the JSON),
    row for row, service names turned back into ports;
 2. the story's claims hold in those tables: servers on well-known ports,
    clients on ephemeral ones (49152-65535), listening sockets without a
    peer, connected ones as mirror images on both hosts, every
    conversation its own quadruple;
 3. the capture agrees: each connected quadruple in a table had its
    handshake (or its datagrams) on the wire before the table was taken,
    no listening port ever opened a connection, the capture holds exactly
    the TCP conversations the last tables list, DHCP/DNS/NTP/HTTP (and
    TLS when the build has it) are there with the values the demo
    narrated, and the summary's counters are the capture's counts.
"""
import ipaddress
import json
import re
import sys

# The service names ss-style tables print for the ports this demo uses.
SERVICES = {"bootps": 67, "bootpc": 68, "domain": 53, "ntp": 123, "https": 443, "http": 80}
EPHEMERAL = range(49152, 65536)
LAN = ipaddress.ip_network("192.0.2.0/24")
WAN = ipaddress.ip_network("198.51.100.0/24")
INFRA, SERVER, LAPTOP = "192.0.2.2", "198.51.100.10", "192.0.2.20"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def endpoint(text):
    """'*:bootps' -> ('0.0.0.0', 67); '192.0.2.2:53' -> ('192.0.2.2', 53)."""
    host, _, port = text.rpartition(":")
    addr = "0.0.0.0" if host == "*" else host
    if port == "*":
        return addr, 0
    if port.isdigit():
        return addr, int(port)
    if port not in SERVICES:
        failures.append(f"unknown service name in a table: {text}")
        return addr, -1
    return addr, SERVICES[port]


def parse_tables(lines):
    """The printed tables in order: [(host, [(proto, state, local, peer)])]."""
    tables, i = [], 0
    row = re.compile(r"^(tcp|udp)\s+(\S+)\s+\d+\s+\d+\s+(\S+)\s+(\S+)\s*$")
    while i < len(lines):
        m = re.match(r"^  \[(\w+)\] sockets:$", lines[i])
        if not m:
            i += 1
            continue
        host, rows = m.group(1), []
        i += 1
        check(i < len(lines) and lines[i].startswith("Netid"), f"table of {host}: no header")
        i += 1
        while i < len(lines) and (r := row.match(lines[i])):
            rows.append((r.group(1), r.group(2), endpoint(r.group(3)), endpoint(r.group(4))))
            i += 1
        tables.append((host, rows))
    return tables


def ep(text):
    a, _, p = text.rpartition(":")
    return a, int(p)


def main():
    out_path, json_path, frames_path = sys.argv[1:4]
    lines = open(out_path).read().splitlines()
    doc = json.load(open(json_path))
    summary = doc["summary"]
    snaps = doc["snapshots"]

    # ---- 1. the printed tables are the stacks' tables -------------------------------------
    printed = parse_tables(lines)
    listed = [(h, snap) for snap in snaps for h in snap["hosts"]]
    check(len(printed) == len(listed), f"{len(printed)} tables printed, the stacks listed {len(listed)}")
    for (host, rows), (jhost, snap) in zip(printed, listed):
        want = [(s["proto"], s["state"], ep(s["local"]), ep(s["peer"])) for s in snap["hosts"][jhost]]
        check(host == jhost, f"table of {host} printed where the stacks listed {jhost}")
        check(rows == want, f"'{snap['title']}': the printed table of {host} {rows} is not the stack's {want}")

    # ---- 2. the story's claims, in the stacks' own tables ------------------------------------
    by_title = {s["title"]: s for s in snaps}
    for t in ("servers listening", "after DHCP", "DNS query in flight", "SNTP request in flight",
              "camera listening", "uplink established", "three conversations"):
        check(t in by_title, f"no table '{t}'")
    if failures:
        return
    cam = summary["camera"]
    check(ipaddress.ip_address(cam) in LAN, f"the camera's address {cam} is not on the LAN")

    def socks(title, host):
        return [(s["proto"], s["state"], ep(s["local"]), ep(s["peer"])) for s in by_title[title]["hosts"][host]]

    for host in ("infra", "server"):
        for proto, state, (la, lp), peer in socks("servers listening", host):
            check(lp <= 1023 and la == "0.0.0.0" and peer == ("0.0.0.0", 0) and state in ("UNCONN", "LISTEN"),
                  f"{host} {proto} {state} {la}:{lp}: not a server on a well-known port")
    check(("udp", "UNCONN", ("0.0.0.0", 67), ("0.0.0.0", 0)) in socks("servers listening", "infra"), "no DHCP server")
    check(("tcp", "LISTEN", ("0.0.0.0", 443), ("0.0.0.0", 0)) in socks("servers listening", "server"), "no 443")
    check(("udp", "UNCONN", ("0.0.0.0", 68), ("0.0.0.0", 0)) in socks("after DHCP", "camera"), "no DHCP client")

    def one_client(title, host, proto, peer):
        c = [s for s in socks(title, host) if s[0] == proto and s[1] == "ESTAB" and s[3] == peer]
        if check(len(c) == 1, f"'{title}': {host} should hold one {proto} socket connected to {peer}, has {c}"):
            la, lp = c[0][2]
            check(la == cam and lp in EPHEMERAL, f"'{title}': the client end {la}:{lp} is not cam:ephemeral")
            return c[0][2]
        return None

    dns_ep = one_client("DNS query in flight", "camera", "udp", (INFRA, 53))
    ntp_ep = one_client("SNTP request in flight", "camera", "udp", (SERVER, 123))
    check(("tcp", "LISTEN", ("0.0.0.0", 8000), ("0.0.0.0", 0)) in socks("camera listening", "camera"), "no 8000")
    up = one_client("uplink established", "camera", "tcp", (SERVER, 443))
    if up:
        check(("tcp", "ESTAB", (SERVER, 443), up) in socks("uplink established", "server"),
              "the server does not hold the mirror image of the camera's uplink")
    final_cam = socks("three conversations", "camera")
    final_lap = socks("three conversations", "laptop")
    pages = [s for s in final_cam if s[1] == "ESTAB" and s[2] == (cam, 8000)]
    check(len(pages) == 2, f"the camera should serve two connections on 8000, has {pages}")
    check(len({p[3] for p in pages}) == 2, "the laptop's two connections share a port")
    for p in pages:
        check(p[3][0] == LAPTOP and p[3][1] in EPHEMERAL, f"{p}: not from the laptop's ephemeral port")
        check(("tcp", "ESTAB", p[3], p[2]) in final_lap, f"the laptop does not hold the mirror image of {p}")
    check(up is None or ("tcp", "ESTAB", up, (SERVER, 443)) in final_cam, "the uplink is not held to the end")
    for title, snap in by_title.items():
        for host, ss in snap["hosts"].items():
            quads = [(s["proto"], s["local"], s["peer"]) for s in ss]
            check(len(quads) == len(set(quads)), f"'{title}': {host} lists a quadruple twice")

    # ---- 3. the capture ------------------------------------------------------------------------
    fields = ["no", "t", "src", "dst", "usport", "udport", "tsport", "tdport", "syn", "ack", "fin", "rst",
              "dhcp", "yiaddr", "dns_resp", "dns_a", "ntp_mode", "ntp_xmt", "http_req", "http_code", "tls_hs", "sni",
              "x509"]
    frames = []
    for line in open(frames_path).read().splitlines():
        f = dict(zip(fields, line.split("\t")))
        f["us"] = round(float(f["t"]) * 1e6)
        frames.append(f)
    check(len(frames) == summary["frames"], f"the summary says {summary['frames']} frames, the pcap has {len(frames)}")
    claimed = re.search(r"^Every frame \((\d+)\) is in", "\n".join(lines), re.M)
    check(claimed and int(claimed.group(1)) == len(frames), "the printed frame count is not the pcap's")

    def has(k, v):
        return [f for f in frames if f[k] == v]

    # DHCP: the four messages, and the ACK gave the address the camera holds.
    check([f["dhcp"] for f in frames if f["dhcp"]] == ["1", "2", "3", "5"], "not DISCOVER, OFFER, REQUEST, ACK")
    check([f["yiaddr"] for f in has("dhcp", "5")] == [cam], "the DHCP ACK did not lease the camera's address")
    check(len(has("dhcp", "5")) == summary["dhcp_acks"], "DHCP ACKs in the summary and the pcap differ")
    # DNS: the query left from the port the table showed; the answer came back to it.
    q = [f for f in frames if f["dns_resp"] == "0"]
    a = [f for f in frames if f["dns_resp"] == "1"]
    if dns_ep and check(len(q) == 1 and len(a) == 1, "not one DNS query and one answer"):
        check((q[0]["src"], int(q[0]["usport"])) == dns_ep, "the DNS query left from another port than the table's")
        check((a[0]["dst"], int(a[0]["udport"])) == dns_ep, "the DNS answer went to another port")
        check(a[0]["dns_a"] == SERVER, f"DNS answered {a[0]['dns_a']}")
        check(re.search(rf"server\.example is {re.escape(a[0]['dns_a'])} ", "\n".join(lines)),
              "the narrated DNS answer is not the one on the wire")
    check(len(a) == summary["dns_answers"], "DNS answers in the summary and the pcap differ")
    # NTP: the same for the SNTP exchange; the server's time is 2030's.
    nq, nr = has("ntp_mode", "3"), has("ntp_mode", "4")
    if ntp_ep and check(len(nq) == 1 and len(nr) == 1, "not one NTP request and one reply"):
        check((nq[0]["src"], int(nq[0]["usport"])) == ntp_ep, "the NTP request left from another port")
        check((nr[0]["dst"], int(nr[0]["udport"])) == ntp_ep, "the NTP reply went to another port")
        check("2030" in nr[0]["ntp_xmt"], f"the server's NTP time is {nr[0]['ntp_xmt']}")
        check("1970" in nq[0]["ntp_xmt"], "the camera knew the time before SNTP")
    check(len(nr) == summary["ntp_replies"], "NTP replies in the summary and the pcap differ")

    # TCP: every connected quadruple in a table had its handshake before the table.
    def quad(f):
        return (f["src"], int(f["tsport"]), f["dst"], int(f["tdport"]))

    tcp = [f for f in frames if f["tsport"]]
    addr_of = {"camera": cam, "laptop": LAPTOP, "infra": INFRA, "server": SERVER}
    for title, snap in by_title.items():
        for host, ss in snap["hosts"].items():
            for s in ss:
                if s["proto"] != "tcp":
                    continue
                (la, lp), (pa, pp) = ep(s["local"]), ep(s["peer"])
                if s["state"] == "LISTEN":
                    check(not [f for f in tcp if f["syn"] == "1" and f["ack"] == "0" and int(f["tsport"]) == lp
                               and f["src"] == addr_of[host]],
                          f"{host} opened a connection from its listening port {lp}")
                    continue
                mine, theirs = (la, lp, pa, pp), (pa, pp, la, lp)
                before = [f for f in tcp if f["us"] <= snap["time_us"]]
                syns = [f for f in before if f["syn"] == "1"]
                opened = [f for f in syns if quad(f) in (mine, theirs) and f["ack"] == "0"]
                answered = [f for f in syns if quad(f) in (mine, theirs) and f["ack"] == "1"]
                check(opened and answered and quad(opened[0]) != quad(answered[0]),
                      f"'{title}': {host}'s {mine} was not opened on the wire before the table")
                check(not [f for f in before if quad(f) in (mine, theirs) and "1" in (f["fin"], f["rst"])],
                      f"'{title}': {host}'s {mine} is ESTAB but the wire shows it closing")
                if opened:
                    client = quad(opened[0])
                    check(client[1] in EPHEMERAL and client[3] <= 8000,
                          f"{client}: a connection not from an ephemeral to a server port")
    # ... and the capture holds exactly the conversations of the last tables.
    wire = {tuple(sorted([(f["src"], int(f["tsport"])), (f["dst"], int(f["tdport"]))])) for f in tcp}
    tables = {tuple(sorted([s[2], s[3]])) for s in final_cam if s[1] == "ESTAB"}
    check(wire == tables, f"TCP conversations on the wire {sorted(wire)} are not the tables' {sorted(tables)}")
    # HTTP: each request the camera served is a response from port 8000.
    cam_resp = [f for f in frames if f["http_code"] and f["tsport"] == "8000"]
    check(len(cam_resp) == summary["camera_http_requests"] == 2, "camera's HTTP responses: summary != pcap")
    check(all(f["http_code"] == "200" for f in cam_resp), "a camera page was not 200")
    if doc["tls"]:
        hello = [f for f in frames if "1" in f["tls_hs"].split(",") and f["tdport"] == "443"]
        check(len(hello) == 1 and hello[0]["sni"] == "server.example", "no TLS ClientHello for server.example")
        check([f for f in frames if "server.example" in f["x509"].split(",")], "no certificate for server.example")
        check(not [f for f in frames if f["http_req"] and f["tdport"] == "443"], "HTTP in the clear on 443")
    else:
        check(re.search(r"PLAIN TCP, NOT TLS", "\n".join(lines)), "a plain uplink not labelled as such")
        check([f for f in frames if f["http_req"] == "POST" and f["tdport"] == "443"], "no POST on 443")
    # The router forwarded exactly the packets that cross from one network to the other.
    crossing = [f for f in frames if f["src"] and f["dst"] and
                {ipaddress.ip_address(f["src"]) in LAN, ipaddress.ip_address(f["dst"]) in LAN} == {True, False}
                and (ipaddress.ip_address(f["src"]) in WAN or ipaddress.ip_address(f["dst"]) in WAN)]
    check(len(crossing) == summary["forwarded"],
          f"the router forwarded {summary['forwarded']}, {len(crossing)} packets crossed in the pcap")


main()
if failures:
    for f in failures:
        print("FAIL:", f)
    sys.exit(1)
print("demo facts: the printed tables are the stacks' and agree with the capture")
