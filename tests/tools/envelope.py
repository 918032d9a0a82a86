#!/usr/bin/env python3
"""Rewrites a sealed envelope (a plain tar) to inject envelope-level faults.

  envelope.py flip IN OUT MEMBER        flip one bit in the middle of MEMBER
  envelope.py drop IN OUT MEMBER        leave MEMBER out
  envelope.py extra IN OUT              add a fifth member
  envelope.py reorder IN OUT            swap members 2 and 3
  envelope.py swap-label IN OTHER OUT   LABEL.txt(.minisig) taken from OTHER
  envelope.py symlink IN OUT MEMBER     MEMBER replaced by a symlink
  envelope.py trailing IN OUT           data after the end-of-archive marker
"""
import io
import sys
import tarfile


def read(path):
    with tarfile.open(path, "r:") as t:
        return [(m, t.extractfile(m).read()) for m in t.getmembers()]


def write(path, members):
    with tarfile.open(path, "w:", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            if m.isreg():
                m.size = len(data)
                t.addfile(m, io.BytesIO(data))
            else:
                t.addfile(m)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "swap-label":
        src, other, out = args
        mine, theirs = read(src), dict((m.name, (m, d)) for m, d in read(other))
        write(out, [theirs[m.name] if m.name.startswith("LABEL.txt") else (m, d) for m, d in mine])
        return
    src, out = args[0], args[1]
    members = read(src)
    if cmd == "flip":
        name = args[2]
        res = []
        for m, d in members:
            if m.name == name:
                b = bytearray(d)
                b[len(b) // 2] ^= 0x01
                d = bytes(b)
            res.append((m, d))
        write(out, res)
    elif cmd == "drop":
        write(out, [(m, d) for m, d in members if m.name != args[2]])
    elif cmd == "extra":
        m = tarfile.TarInfo("EXTRA.txt")
        write(out, members + [(m, b"not part of a bundle\n")])
    elif cmd == "reorder":
        members[1], members[2] = members[2], members[1]
        write(out, members)
    elif cmd == "symlink":
        res = []
        for m, d in members:
            if m.name == args[2]:
                m = tarfile.TarInfo(m.name)
                m.type = tarfile.SYMTYPE
                m.linkname = "/etc/passwd"
            res.append((m, d))
        write(out, res)
    elif cmd == "trailing":
        write(out, members)
        with open(out, "ab") as f:
            f.write(b"hidden data after the archive\n")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
