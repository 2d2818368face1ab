#!/usr/bin/python3
"""The attack suite, run by test_attack_tap.sh inside its network namespace.

usage: attack_suite.py IFACE PORTSTACK_PID RUN_LOG DOCROOT [ATTACK ...]
       attack_suite.py --list

portstack (PID, its output in RUN_LOG) runs on the TAP device IFACE as
192.0.2.2, serving echo:7, discard:9 and http:80 (files from DOCROOT); the
kernel is 192.0.2.1.  Each attack (attack_packets.py, attack_tcp.py,
attack_http.py, attack_scans.py; one function each, bounded in packets and
seconds) runs in turn, and around each one this checks that:

  - a legitimate echo transfer over the kernel's TCP runs alongside and
    comes back byte-exact, and UDP echo still answers afterwards;
  - portstack is still alive and answering (SIGUSR1 dumps its tables);
  - the counters that name the defence moved, by at least one per attack
    packet that reached portstack (the TAP device's drops subtracted);
  - every gauge (buffers, reassembly, sockets, TIME-WAIT records) stayed
    within its configured limit.

Given attack names (or name prefixes), runs only those.  Prints one line
per attack and a closing "N passed, N failed" line; exit 0 if all passed.
"""
import signal
import sys
import time
import traceback

import attack_http
import attack_packets
import attack_scans
import attack_tcp
from attack_lib import ATTACKS, Fail, Legit, Portstack, Wire, delta, udp_echo_ok

# Each module registers its attacks on import; they run in this order:
# single packets, then connections, the HTTP server, and the scans.
ORDER = [m.__name__ for m in (attack_packets, attack_tcp, attack_http, attack_scans)]


class Target:
    """What every attack gets: the wire, portstack, and a note to print."""

    def __init__(self, iface, pid, log, docroot):
        self.iface = iface
        self.ps = Portstack(pid, log)
        if not self.ps.mac:
            raise SystemExit("attack_suite: portstack's MAC address is not in %s" % log)
        with open("/sys/class/net/%s/address" % iface) as f:
            mac_kernel = bytes(int(x, 16) for x in f.read().strip().split(":"))
        self.wire = Wire(iface, mac_kernel, self.ps.mac)
        with open("%s/index.html" % docroot, "rb") as f:
            self.index_html = f.read()
        self.note = ""


def check_expectations(expect, before, after, gauges, dropped):
    problems = []
    for expr, n in expect.items():
        if expr.startswith("peak:"):  # the attack drove a resource to its bound
            now, peak, limit = gauges[expr[5:]]
            want = limit if n == "limit" else n
            if peak < want:
                problems.append("gauge %s peaked at %d, expected the attack to drive it to %d" % (expr[5:], peak, want))
            continue
        moved = delta(before, after, expr.lstrip("="))
        if expr.startswith("="):
            if moved != n:
                problems.append("%s moved by %d, expected exactly %d" % (expr[1:], moved, n))
            continue
        need = max(1, n - dropped)
        if moved < need:
            problems.append("%s moved by %d, expected at least %d" % (expr, moved, need))
    return problems


def check_gauges(gauges):
    return ["gauge %s peaked at %d, over its limit %d" % (g, peak, limit)
            for g, (now, peak, limit) in gauges.items() if peak > limit]


def on_alarm(signum, frame):
    raise Fail("the attack did not end within three times its bound")


def run_one(t, a, seed):
    """One attack with its checks; returns a list of problems."""
    before, _ = t.ps.snapshot()
    drops0 = t.wire.tx_dropped()
    legit = Legit(seed)
    legit.start()
    legit.started_one.wait(10)
    start = time.monotonic()
    problems = []
    t.note = ""
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(3 * a.seconds)  # a hung attack fails alone (its own bound is a third of this)
    try:
        expect = a.fn(t)
    except Fail as e:
        problems.append(str(e))
        expect = {}
    except Exception as e:  # a broken attack fails alone, and says where
        tb = traceback.extract_tb(e.__traceback__)[-1]
        problems.append("%s: %s (%s:%d)" % (type(e).__name__, e, tb.filename.rsplit("/", 1)[-1], tb.lineno))
        expect = {}
    finally:
        signal.alarm(0)
    secs = time.monotonic() - start
    legit.finish()
    problems += ["legitimate transfer: " + e for e in legit.errors]
    if not legit.errors and legit.done < 1:
        problems.append("no legitimate transfer completed alongside")
    if not t.ps.alive():
        return problems + ["portstack died"], secs, legit.done, 0, {}
    if not udp_echo_ok():
        problems.append("UDP echo no longer answers")
    after, gauges = t.ps.snapshot()
    dropped = t.wire.tx_dropped() - drops0
    problems += check_expectations(expect, before, after, gauges, dropped)
    problems += check_gauges(gauges)
    moved = {k: delta(before, after, k) for k in expect if not k.startswith(("=", "peak:"))}
    return problems, secs, legit.done, dropped, moved


def main(argv):
    if argv[1:] == ["--list"]:
        for a in sorted(ATTACKS, key=lambda a: ORDER.index(a.fn.__module__)):
            print("%-24s %3d s  %s" % (a.name, a.seconds, a.doc))
        return 0
    if len(argv) < 5:
        print(__doc__)
        return 2
    t = Target(argv[1], int(argv[2]), argv[3], argv[4])
    wanted = argv[5:]
    ordered = sorted(ATTACKS, key=lambda a: ORDER.index(a.fn.__module__))
    chosen = [a for a in ordered if not wanted or any(a.name.startswith(w) for w in wanted)]
    if not chosen:
        print("attack_suite: no attack matches %s" % wanted)
        return 2
    passed = failed = 0
    for i, a in enumerate(chosen):
        problems, secs, transfers, dropped, moved = run_one(t, a, seed=1000 + i)
        counters = ", ".join("%s +%d" % (k, v) for k, v in moved.items())
        status = "PASS" if not problems else "FAIL"
        print("%s %-22s %5.1f s  %2d transfers  %s%s%s" % (status, a.name, secs, transfers, counters,
                                                         "  [tap dropped %d]" % dropped if dropped else "",
                                                         "  (%s)" % t.note if t.note else ""), flush=True)
        for p in problems:
            print("     - %s" % p, flush=True)
        if problems:
            failed += 1
        else:
            passed += 1
        if not t.ps.alive():
            print("attack_suite: portstack is dead; stopping", flush=True)
            failed += len(chosen) - i - 1
            break
    _, gauges = t.ps.snapshot() if t.ps.alive() else ({}, {})
    for g, (now, peak, limit) in sorted(gauges.items()):
        print("gauge %-22s peak %8d of %8d (now %d)" % (g, peak, limit, now))
    print("memory: %s" % t.ps.memory())
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
