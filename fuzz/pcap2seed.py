#!/usr/bin/python3
"""Turn the frames of pcap files into fuzz_frames inputs.

Each output file holds one capture's frames as fuzz_frames records
([op][len16 LE][frame]), with op choosing the interface by the frame's
destination subnet and the time step from the capture's timestamps.
Usage: pcap2seed.py OUT_DIR FILE.pcap...
"""
import os
import struct
import sys

STEPS_US = [0, 1000, 10000, 100000, 1000000, 10000000, 60000000, 600000000]


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        yield sec * 1000000 + usec, data[off:off + incl]
        off += incl


def step_code(dt):
    code = 0
    for i, s in enumerate(STEPS_US):
        if dt >= s:
            code = i
    return code


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for n, path in enumerate(sys.argv[2:]):
        recs = bytearray()
        last = None
        for ts, fr in frames(path):
            dt = 0 if last is None else ts - last
            last = ts
            # Frames toward 198.51.100.0/24 arrive on eth1, the rest on eth0.
            iface = 1 if len(fr) >= 34 and fr[12:14] == b"\x08\x00" and fr[30:33] == bytes([198, 51, 100]) else 0
            recs += bytes([(step_code(dt) << 1) | iface]) + struct.pack("<H", len(fr)) + fr
        name = os.path.join(out_dir, "seed-%s-%d" % (os.path.basename(path), n))
        with open(name, "wb") as f:
            f.write(recs)


if __name__ == "__main__":
    main()
