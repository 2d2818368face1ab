"""Attacks on TCP connections and listeners: blind injection with guessed
sequence numbers (RFC 5961), forged ICMP errors (RFC 5927), SYN floods
(RFC 4987) and ACK floods."""
import random
import time

from scapy.layers.inet import ICMP, IP, TCP

from attack_craft import MSS_1460, ip_tcp
from attack_lib import (ECHO, KERNEL, LISTENERS, SPOOF_NET, TARGET, Fail, Sniffer, Victim, attack,
                        delta, learn_seq, nft, seq_add, seq_lt, tcp_fields)

RST, SYN, FIN, PSH, ACK = 0x04, 0x02, 0x01, 0x08, 0x10
CHALLENGE_ACK_LIMIT = 100   # PS_DEFAULT_TCP_CHALLENGE_ACK_LIMIT, per second
HALF_OPEN_MAX = 768         # PS_DEFAULT_TCP_HALF_OPEN_MAX, all listeners together


@attack("blind-injection", seconds=15)
def blind_injection(t):
    """RFC 5961: RSTs, SYNs and data with guessed sequence numbers at a live connection."""
    v = Victim(seed=5961)
    rng = random.Random(5961)
    try:
        v.exchange(20000)

        def seg(**kw):
            return ip_tcp(KERNEL, TARGET, v.port, ECHO, **kw)
        # Blind: numbers drawn at random, as an attacker who knows only the
        # quadruple.  A RST out of the window is dropped silently, a SYN
        # anywhere earns a (rate-limited) challenge ACK, data out of the
        # window an ACK.
        n_rst = t.wire.send_ip(seg(flags=RST, seq=rng.getrandbits(32), win=0) for _ in range(3000))
        n_syn = t.wire.send_ip(seg(flags=SYN, seq=rng.getrandbits(32), opts=MSS_1460) for _ in range(500))
        n_data = t.wire.send_ip(seg(flags=PSH | ACK, seq=rng.getrandbits(32), ack=rng.getrandbits(32),
                                    data=b"INJECTED" * 8) for _ in range(1500))
        # Lucky guesses: inside the window (learnt here by looking, as an
        # on-path attacker would).  A RST not exactly at RCV.NXT and a SYN
        # earn challenge ACKs; data whose ACK is outside [SND.UNA -
        # MAX.SND.WND, SND.NXT] is dropped.
        snd_nxt, rcv_nxt, win = learn_seq(t, v)
        w = max(min(win, 16000), 2)
        lucky_rst = [seg(flags=RST, seq=seq_add(rcv_nxt, 1 + rng.randrange(w - 1)), win=0) for _ in range(100)]
        lucky_syn = [seg(flags=SYN, seq=seq_add(rcv_nxt, rng.randrange(w))) for _ in range(50)]
        bad_ack = [seg(flags=PSH | ACK, seq=rcv_nxt, ack=seq_add(snd_nxt, 0x40000000), data=b"INJECTED")
                   for _ in range(100)]
        bad_ack += [seg(flags=PSH | ACK, seq=rcv_nxt, ack=seq_add(snd_nxt, -0x40000000), data=b"INJECTED")
                    for _ in range(100)]
        before, _ = t.ps.snapshot()
        start = time.monotonic()
        n_lucky_rst = t.wire.send_ip(lucky_rst)
        n_lucky_syn = t.wire.send_ip(lucky_syn)
        n_bad_ack = t.wire.send_ip(bad_ack)
        after, _ = t.ps.snapshot()
        secs = time.monotonic() - start
        # RFC 5961 7: the challenge ACKs stay within their budget per second.
        sent = delta(before, after, "tcp_challenge_ack")
        budget = CHALLENGE_ACK_LIMIT * (int(secs) + 2)
        if sent > budget:
            raise Fail("%d challenge ACKs in %.1f s (budget %d a second)" % (sent, secs, CHALLENGE_ACK_LIMIT))
        # Nothing got in: the stream echoes exactly what the kernel wrote.
        v.exchange(200000)
    finally:
        v.close()
    # (Random data falls before RCV.NXT half the time: counted as old.)
    return {"tcp_rst_ignored": n_rst + n_lucky_rst, "tcp_drop_out_of_window+tcp_dup_segments": n_data,
            "tcp_challenge_ack+tcp_challenge_ack_limited": n_syn + n_lucky_rst + n_lucky_syn + n_bad_ack,
            "tcp_challenge_ack_limited": 1, "tcp_drop_bad_ack": n_bad_ack}


def quote(seq, sport, dport, length):
    """The start of a datagram portstack sent, as an ICMP error quotes it:
    the IP header and the first 8 bytes of TCP (RFC 792)."""
    return bytes(IP(src=TARGET, dst=KERNEL, len=length, flags="DF") /
                 TCP(sport=sport, dport=dport, seq=seq, flags="PA"))[:28]


def icmp_error(typ, code, q, mtu=0, reporter=KERNEL):
    return bytes(IP(src=reporter, dst=TARGET) / ICMP(type=typ, code=code, nexthopmtu=mtu) / q)


@attack("icmp-spoof", seconds=20)
def icmp_spoof(t):
    """RFC 5927: forged ICMP errors at an established connection, with and without a plausible sequence number."""
    v = Victim(seed=5927)
    hold = "attack_hold_%d" % v.port
    try:
        v.exchange(5000)
        # Keep portstack's next data in flight: the kernel's pure ACKs on
        # this connection are dropped for a while (its data still goes).
        nft("table inet %s {\n chain out {\n  type filter hook output priority 0;\n"
            "  oifname \"%s\" ip daddr %s tcp sport %d tcp dport %d ip length < 200 drop\n }\n}\n"
            % (hold, t.iface, TARGET, v.port, ECHO))
        sn = Sniffer(t.iface)
        data = random.Random(1).randbytes(1000)
        v.sock.sendall(data)
        # What portstack sent of the echo (in one segment or more, perhaps
        # resent): [first, first + 1000) is in flight.
        segs = {}
        end = time.monotonic() + 5
        while sum(segs.values()) < len(data) and time.monotonic() < end:
            for f in sn.poll():
                tf = tcp_fields(f)
                if tf and tf[0] == TARGET and tf[2] == ECHO and tf[3] == v.port and tf[8] > 0:
                    segs[tf[4]] = tf[8]
            time.sleep(0.02)
        sn.close()
        if sum(segs.values()) < len(data):
            raise Fail("portstack's echo was not seen whole (%d bytes)" % sum(segs.values()))
        first = next(s for s in segs if not any(seq_lt(o, s) for o in segs))
        got = b""
        while len(got) < len(data):
            got += v.sock.recv(len(data) - len(got))
        if got != data:
            raise Fail("the echo before the errors differs")
        seq, plen = first, len(data)
        size = 40 + plen

        def err(typ, code, s, mtu=0, **kw):
            return icmp_error(typ, code, quote(s, ECHO, v.port, size), mtu, **kw)
        # Plausible (SND.UNA <= seq < SND.NXT): the soft errors are noted,
        # never fatal in a synchronized state (RFC 5927 4.1, RFC 1122
        # 4.2.3.9); fragmentation needed with a tiny MTU lowers the MSS no
        # further than the minimum path MTU.
        soft = [err(3, 3, seq), err(3, 2, seq), err(3, 1, seq), err(3, 0, seq), err(11, 0, seq), err(12, 0, seq),
                err(3, 3, seq, reporter="203.0.113.1")] * 3
        pmtu = [err(3, 4, seq, mtu=68), err(3, 4, seq, mtu=0)]
        # Implausible: below SND.UNA, at or past SND.NXT, anywhere.
        rng = random.Random(5927)
        wrong = [seq_add(seq, -100000), seq_add(seq, -1), seq_add(seq, plen), seq_add(seq, 100000)]
        wrong += [rng.getrandbits(32) for _ in range(200)]
        wrong = [w for w in wrong if (w - seq) & 0xFFFFFFFF >= plen]
        bad = [err(3, 3, w) for w in wrong] + [err(3, 4, w, mtu=68) for w in wrong]
        # Quoting no connection, a datagram we never sent, and a redirect.
        unmatched = [icmp_error(3, 3, quote(seq, ECHO, v.port ^ 0x5A5A, size)) for _ in range(20)]
        not_ours = [icmp_error(3, 3, bytes(IP(src="203.0.113.7", dst=KERNEL) / TCP(sport=ECHO, dport=v.port,
                                                                                   seq=seq))[:28])] * 20
        redirect = [bytes(IP(src=KERNEL, dst=TARGET) / ICMP(type=5, code=1, gw="203.0.113.66") /
                          quote(seq, ECHO, v.port, size))] * 20
        t.wire.send_ip(soft + pmtu + bad + unmatched + not_ours + redirect)
    finally:
        nft("delete table inet %s" % hold)
    try:
        # The connection lives, and carries data byte-exact at its new MSS.
        v.exchange(200000)
    finally:
        v.close()
    return {"tcp_icmp_err": len(soft) + len(pmtu), "tcp_icmp_bad_seq": len(bad), "tcp_pmtu_lowered": 1,
            "tcp_pmtu_clamped": 1, "tp_icmp_err_unmatched": len(unmatched), "icmp_drop_malformed": len(not_ours),
            "icmp_drop_type": len(redirect)}


@attack("syn-flood", seconds=25)
def syn_flood(t):
    """SYNs from spoofed sources to all five listeners, never answered (RFC 4987)."""
    rng = random.Random(4987)
    ports = LISTENERS
    frames = []
    for i in range(12000):
        src = SPOOF_NET + str(rng.randint(1, 254))
        frames.append(ip_tcp(src, TARGET, rng.randint(1024, 65535), ports[i % 3], seq=rng.getrandbits(32),
                             flags=SYN, opts=MSS_1460))
    # Some from on-link addresses nobody holds: each one costs an ARP
    # entry (the cache is bounded, LRU) and a queued SYN-ACK.
    for i in range(600):
        src = "192.0.2.%d" % rng.randint(10, 250)
        frames.append(ip_tcp(src, TARGET, rng.randint(1024, 65535), ECHO, seq=rng.getrandbits(32), flags=SYN,
                             opts=MSS_1460))
    n = t.wire.send_ip(frames, deadline=time.monotonic() + 20)
    # Five full half-open queues would not fit the socket table: the bound
    # on all listeners together is reached, cookies answer beyond it, and
    # no SYN is refused for want of a socket entry.
    return {"tcp_syncookies_sent": n - 600 - HALF_OPEN_MAX, "=tcp_synq_overflow": 0, "=tcp_no_socket": 0,
            "peak:tcp_half_open": "limit", "arp_evicted+arp_queue_drop": 1}


@attack("ack-storm", seconds=20)
def ack_storm(t):
    """ACK floods: at a live connection with guessed numbers, at the listeners from spoofed sources, at closed ports."""
    v = Victim(seed=793)
    rng = random.Random(793)
    try:
        v.exchange(10000)
        conn = [ip_tcp(KERNEL, TARGET, v.port, ECHO, flags=ACK, seq=rng.getrandbits(32), ack=rng.getrandbits(32))
                for _ in range(4000)]
        listen = [ip_tcp(SPOOF_NET + str(rng.randint(1, 254)), TARGET, rng.randint(1024, 65535),
                         LISTENERS[i % len(LISTENERS)], flags=ACK, seq=rng.getrandbits(32), ack=rng.getrandbits(32))
                  for i in range(4000)]
        closed = [ip_tcp(KERNEL, TARGET, rng.randint(1024, 65535), rng.randint(2000, 3000), flags=ACK,
                         seq=rng.getrandbits(32), ack=rng.getrandbits(32)) for _ in range(3000)]
        n_conn = t.wire.send_ip(conn)
        n_listen = t.wire.send_ip(listen)
        n_closed = t.wire.send_ip(closed)
        v.exchange(200000)
    finally:
        v.close()
    return {"tcp_drop_out_of_window+tcp_drop_bad_ack+tcp_dup_segments": n_conn, "tcp_drop_listen": n_listen,
            "tcp_drop_no_port": n_closed}
