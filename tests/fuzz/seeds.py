#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses: OUT/<harness>/<file>.

Made from the test vectors (tests/vectors) and from small files built here
the way the programs meet them: labels, manifests, probe files, audit logs
and ld.so caches written by the format's rules; ELF files and wheels built
with the C compiler and zipfile; a sealed bundle made with the standard
tools by tests/tools/mkbundle.sh, signed with the minisign test key and
encrypted to the age test identity the harnesses hold. A seed whose tool is
missing is left out (the harness still runs, from what there is).

usage: seeds.py OUT
"""
import base64
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VEC = os.path.join(ROOT, "tests", "vectors")
AGE_ID = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
AGE_RECIPIENT = "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef"
BUNDLE_ID = "8f2b6a4c-1d3e-4f5a-9b7c-0e1f2a3b4c5d"


def put(out, harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def have(*tools):
    return all(shutil.which(t) for t in tools)


# --- age, armor, bech32: the C2SP vectors ----------------------------------

def age_vectors(out):
    d = os.path.join(VEC, "age")
    for name in sorted(os.listdir(d)):
        if name == "README.md":
            continue
        raw = open(os.path.join(d, name), "rb").read()
        head, _, body = raw.partition(b"\n\n")
        fields = [l.split(b": ", 1) for l in head.split(b"\n") if b": " in l]
        if any(k == b"compressed" for k, _ in fields):
            body = zlib.decompress(body)
        if len(body) > 256 * 1024:
            continue  # the long STREAM vectors: each run would spend its time hashing them
        put(out, "age", name, body)
        if any(k == b"armored" for k, _ in fields):
            put(out, "armor", name, body)
    # An armored copy of a binary vector, as age -a writes it.
    body = open(os.path.join(d, "x25519"), "rb").read().partition(b"\n\n")[2]
    b64 = base64.b64encode(body).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    armored = "-----BEGIN AGE ENCRYPTED FILE-----\n" + "\n".join(lines) + "\n-----END AGE ENCRYPTED FILE-----\n"
    put(out, "armor", "x25519-armored", armored)
    put(out, "age", "x25519-armored", armored)
    put(out, "bech32", "identity", AGE_ID)
    put(out, "bech32", "recipient", AGE_RECIPIENT)
    put(out, "bech32", "identity-file",
        "# created: 2026-01-01T00:00:00Z\n# public key: %s\n%s\n" % (AGE_RECIPIENT, AGE_ID))
    put(out, "bech32", "recipients-file", "# the secure node\n%s\n\n" % AGE_RECIPIENT)


# --- minisign ---------------------------------------------------------------

def minisign_vectors(out):
    d = os.path.join(VEC, "minisign")
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if name.endswith(".minisig"):
            put(out, "minisig", name, open(p, "rb").read())
        elif name.endswith(".pub") or name.endswith(".key"):
            put(out, "minikey", name, open(p, "rb").read())
    for sub, harness in (("bad-sig", "minisig"), ("bad-key", "minikey")):
        for name in sorted(os.listdir(os.path.join(d, sub))):
            if name != "expect.txt":
                put(out, harness, sub + "-" + name, open(os.path.join(d, sub, name), "rb").read())


# --- label, manifest, probe file, audit log --------------------------------

def label_text(marking="UNMARKED", extra=()):
    fields = [("format", "airlock-bundle/1"), ("bundle-id", BUNDLE_ID), ("created", "2026-01-01T00:00:00Z"),
              ("marking", marking), ("signer-key-id", "130EBEEB119A04C8"), ("recipients", AGE_RECIPIENT),
              ("payload-bytes", "1234"), ("payload-sha256", "ab" * 32), ("content-bytes", "10240"),
              ("content-files", "3"), ("python", "3.11.7 cp311 linux_x86_64"), ("tool", "packer 0.1.0")]
    fields += list(extra)
    return (marking + "\n" + "".join("%s: %s\n" % kv for kv in fields) + "\n"
            + "This is an airlock bundle.\n  tar -xf BUNDLE.sealed\n" + marking + "\n")


def labels(out):
    put(out, "label", "unmarked", label_text())
    put(out, "label", "cui", label_text("CUI", [("controlled-by", "Example Office"), ("cui-category", "PRVCY"),
                                                ("dissemination", "FEDCON"), ("poc", "A. Person")]))


def manifests(out):
    h = "0123456789abcdef" * 4
    m = {"format": "airlock-bundle/1", "bundle_id": BUNDLE_ID, "created": "2026-01-01T00:00:00Z",
         "source_prefix": "/opt/env", "interpreter": "env/bin/python3.11",
         "python": {"version": "3.11.7", "tag": "cp311", "platform": "linux_x86_64",
                    "implementation": "cpython", "abi": "cp311"},
         "files": [{"path": "env", "type": "dir", "mode": "0755"},
                   {"path": "env/bin", "type": "dir", "mode": "0755"},
                   {"path": "env/bin/python3.11", "type": "file", "size": 17232, "mode": "0755", "sha256": h},
                   {"path": "env/bin/python3", "type": "hardlink", "target": "env/bin/python3.11"},
                   {"path": "wheels/six-1.16.0-py2.py3-none-any.whl", "type": "file", "size": 11053,
                    "mode": "0644", "sha256": h}],
         "dereferenced": [{"path": "env/bin/python3", "was_link_to": "python3.11"}],
         "relocate": [{"path": "env/bin/python3.11", "mode": "binary"}],
         "wheels": [{"path": "wheels/six-1.16.0-py2.py3-none-any.whl", "name": "six", "version": "1.16.0",
                     "sha256": h}],
         "skipped": [{"path": "env/lib/broken", "reason": "dangling symlink"}],
         "tool": {"name": "packer", "version": "0.1.0"}}
    put(out, "manifest", "full", json.dumps(m, separators=(",", ":")) + "\n")
    put(out, "manifest", "pretty", json.dumps(m, indent=1, ensure_ascii=False) + "\n")
    put(out, "manifest", "minimal", json.dumps({"format": "airlock-bundle/1", "bundle_id": BUNDLE_ID, "files": []}))


def probes(out):
    text = ("format: airlock-probe/1\ncreated: 2026-01-01T00:00:00Z\nhost: node7\n"
            "os: Debian GNU/Linux 11 (bullseye)\nkernel: 5.10.0\narch: x86_64\nglibc: 2.31\n"
            "lib: libc.so.6 /lib/x86_64-linux-gnu/libc.so.6 GLIBC_2.2.5 GLIBC_2.3 GLIBC_2.31 GLIBC_PRIVATE\n"
            "lib: libz.so.1 /lib/x86_64-linux-gnu/libz.so.1 ZLIB_1.2.0 ZLIB_1.2.9\n"
            "lib: libfoo.so /usr/lib/libfoo.so\n")
    put(out, "probe", "bullseye", text)
    put(out, "probe", "minimal", "format: airlock-probe/1\nos: unknown\nkernel: 3.10.0\narch: x86_64\nglibc: 2.17\n")


def audit_logs(out):
    lines, prev = [], "0" * 64
    for i, ev in enumerate(["keygen", "verify", "decrypt", "extract", "install"]):
        rec = {"time": "2026-01-01T00:00:0%dZ" % i, "host": "node7", "user": "op", "uid": 1000, "tool": "unpacker",
               "version": "0.1.0", "event": ev, "bundle_id": BUNDLE_ID, "bundle_sha256": "ab" * 32,
               "signer_key_id": "130EBEEB119A04C8", "marking": "CUI", "outcome": "ok", "detail": "", "prev": prev}
        line = json.dumps(rec, separators=(",", ":"))
        lines.append(line)
        prev = hashlib.sha256(line.encode()).hexdigest()
    put(out, "audit", "chain", "\n".join(lines) + "\n")
    put(out, "audit", "one", lines[0] + "\n")


def volume_indexes(out):
    # NAME.sealed.volumes as `sha256sum` writes it; the harness names the
    # index fuzz.sealed.volumes and checks a trusted comment of 3 volumes.
    lines = "".join("%s  fuzz.sealed.%03d\n" % (hashlib.sha256(b"%d" % i).hexdigest(), i) for i in (1, 2, 3))
    put(out, "volumes", "index", lines)
    put(out, "volumes", "comment", "airlock-bundle/1 bundle-id:%s file:fuzz.sealed.volumes volumes:3" % BUNDLE_ID)


def installed_trees(out):
    h = "0123456789abcdef" * 4
    files = [{"path": "env", "type": "dir", "mode": "0755"},
             {"path": "env/bin", "type": "dir", "mode": "0755"},
             {"path": "env/bin/python3", "type": "symlink", "target": "python3.11"},
             {"path": "env/bin/python3.11", "type": "file", "mode": "0755", "size": 17232, "sha256": h},
             {"path": "env/bin/python3.11-copy", "type": "hardlink", "mode": "0755", "size": 17232, "sha256": h,
              "target": "env/bin/python3.11"},
             {"path": "env/lib", "type": "dir", "mode": "0755"},
             {"path": "env/lib/odd\u00ff", "type": "file", "mode": "0644", "size": 1, "sha256": h,
              "path_hex": "656e762f6c69622f6f6464ff"}]
    files[-1].pop("path_hex")
    top = {"format": "airlock-installed/1", "bundle_id": BUNDLE_ID, "dest": "/dest", "created": "2026-01-01T00:00:00Z",
           "tool": {"name": "unpacker", "version": "0.1.0"}, "recorded_after": ["extract", "relocate", "install"],
           "excluded": ["airlock/installed.json"],
           "totals": {"entries": len(files), "files": 2, "bytes": 17233}}
    text = json.dumps(top, separators=(",", ":"))[:-1] + ',"files":[' + ",\n".join(
        json.dumps(f, separators=(",", ":")) for f in files) + "\n]}\n"
    put(out, "installed_tree", "record", text)


# --- ld.so.cache -----------------------------------------------------------

def ldcaches(out):
    libs = [("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"), ("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1"),
            ("libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6")]
    flags = 0x0303  # FLAG_ELF_LIBC6 | FLAG_X8664_LIB64

    def strings(base):
        blob, offs = b"", []
        for name, path in libs:
            k = base + len(blob)
            blob += name.encode() + b"\0"
            v = base + len(blob)
            blob += path.encode() + b"\0"
            offs.append((k, v))
        return blob, offs

    # Old layout: offsets count from the end of the entries.
    blob, offs = strings(0)
    old = b"ld.so-1.7.0" + b"\0" + struct.pack("<I", len(libs))
    old += b"".join(struct.pack("<iII", flags, k, v) for k, v in offs)
    put(out, "ldcache", "old", old + blob)
    # New layout: offsets count from the new header's first byte.
    def new_part():
        start = 48 + 24 * len(libs)
        blob, offs = strings(start)
        hdr = b"glibc-ld.so.cache1.1" + struct.pack("<IIB3xI3I", len(libs), len(blob), 2, 0, 0, 0, 0)
        ents = b"".join(struct.pack("<iIIIQ", flags, k, v, 0, 0) for k, v in offs)
        return hdr + ents + blob
    put(out, "ldcache", "new", new_part())
    old_entries = b"ld.so-1.7.0" + b"\0" + struct.pack("<I", len(libs)) + b"".join(
        struct.pack("<iII", flags, 0, 0) for _ in libs)
    pad = (-len(old_entries)) % 8
    put(out, "ldcache", "compat", old_entries + b"\0" * pad + new_part())
    if os.path.exists("/etc/ld.so.cache") and os.path.getsize("/etc/ld.so.cache") < 256 * 1024:
        put(out, "ldcache", "host", open("/etc/ld.so.cache", "rb").read())


# --- ELF files and wheels --------------------------------------------------

def elf_files(tmp):
    """Small ELF files built with the C compiler: {name: bytes}."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return {}
    src = os.path.join(tmp, "seed.c")
    with open(src, "w") as f:
        f.write("#include <stdio.h>\nint seed_fn(void) { return puts(\"seed\"); }\n"
                "int main(void) { return seed_fn(); }\n")
    ver = os.path.join(tmp, "seed.map")
    with open(ver, "w") as f:
        f.write("SEED_1.0 { global: seed_fn; local: *; };\n")
    builds = {
        "rpath.so": ["-shared", "-fPIC", "-Wl,-rpath,/opt/old/prefix/lib", "-Wl,--disable-new-dtags",
                     "-Wl,-soname,libseed.so.1", "-Wl,--version-script," + ver],
        "runpath.so": ["-shared", "-fPIC", "-Wl,-rpath,/opt/old/prefix/lib:$ORIGIN", "-Wl,--enable-new-dtags"],
        "exe": ["-Wl,-rpath,/opt/old/prefix/lib"],
        "exe-stripped": ["-s"],
    }
    files = {}
    for name, flags in builds.items():
        o = os.path.join(tmp, name)
        if subprocess.run([cc, "-O1", "-o", o, src] + flags, capture_output=True).returncode == 0:
            files[name] = open(o, "rb").read()
    return files


def elves(out, tmp):
    files = elf_files(tmp)
    for name, data in files.items():
        put(out, "elf", name, data)
        put(out, "elf_file", name, data)
    return files


def wheels(out, files):
    metadata = ("Metadata-Version: 2.1\nName: seed-pkg\nVersion: 1.0\nLicense: MIT\n"
                "Classifier: License :: OSI Approved :: MIT License\n"
                "Requires-Dist: six (>=1.16)\nRequires-Dist: pytest[testing] ; extra == 'test'\n"
                "License-Expression: MIT OR Apache-2.0\n\nThe long description.\n")
    put(out, "metadata", "metadata", metadata)
    put(out, "metadata", "pkg-info", "Metadata-Version: 1.0\r\nName: Old_Pkg\r\nVersion: 0.1\r\n"
        "License: A long\r\n  licence text\r\n\r\n")
    wheel = "Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n"
    members = {"seed_pkg/__init__.py": b"", "seed_pkg-1.0.dist-info/METADATA": metadata.encode(),
               "seed_pkg-1.0.dist-info/WHEEL": wheel.encode()}
    if "runpath.so" in files:
        members["seed_pkg/_ext.cpython-311-x86_64-linux-gnu.so"] = files["runpath.so"]
        members["seed_pkg-1.0.data/purelib/lib/libseed.so"] = files.get("rpath.so", b"")
    record = "".join("%s,sha256=%s,%d\n" % (n, base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=")
                                            .decode(), len(d)) for n, d in members.items())
    members["seed_pkg-1.0.dist-info/RECORD"] = (record + "seed_pkg-1.0.dist-info/RECORD,,\n").encode()
    for name, comp in (("deflated", zipfile.ZIP_DEFLATED), ("stored", zipfile.ZIP_STORED)):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", comp) as z:
            for n, d in members.items():
                z.writestr(zipfile.ZipInfo(n, (2026, 1, 1, 0, 0, 0)), d, compress_type=comp)
        put(out, "wheel", name + ".whl", buf.getvalue())


# --- the plaintext payload tar ---------------------------------------------

def payloads(out):
    """Payload tars as the packer writes them: pax, env/ wheels/ airlock/,
    the manifest last, listing every other member with its digest."""
    import tarfile
    files = {"env/bin/python3.11": (b"#!/bin/sh\necho python\n", 0o755),
             "env/lib/libpython3.11.so.1.0": (b"\x7fELF" + b"\0" * 60, 0o755),
             "wheels/six-1.16.0-py2.py3-none-any.whl": (b"PK\x05\x06" + b"\0" * 18, 0o644),
             "airlock/requirements.lock": (b"six==1.16.0 --hash=sha256:" + b"0" * 64 + b"\n", 0o644)}
    dirs = ["env", "env/bin", "env/lib", "wheels", "airlock"]

    def build(with_hardlink):
        buf = io.BytesIO()
        entries = []
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for d in dirs:
                ti = tarfile.TarInfo(d)
                ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1767225600
                t.addfile(ti)
                entries.append({"path": d, "type": "dir", "mode": "0755"})
            for path, (data, mode) in files.items():
                ti = tarfile.TarInfo(path)
                ti.size, ti.mode, ti.mtime = len(data), mode, 1767225600
                t.addfile(ti, io.BytesIO(data))
                entries.append({"path": path, "type": "file", "size": len(data), "mode": "%04o" % mode,
                                "sha256": hashlib.sha256(data).hexdigest()})
            if with_hardlink:
                ti = tarfile.TarInfo("env/bin/python3")
                ti.type, ti.linkname, ti.mode, ti.mtime = tarfile.LNKTYPE, "env/bin/python3.11", 0o755, 1767225600
                t.addfile(ti)
                entries.append({"path": "env/bin/python3", "type": "hardlink", "target": "env/bin/python3.11"})
            m = {"format": "airlock-bundle/1", "bundle_id": BUNDLE_ID, "created": "2026-01-01T00:00:00Z",
                 "source_prefix": "/opt/env", "interpreter": "env/bin/python3.11",
                 "python": {"version": "3.11.7", "tag": "cp311", "platform": "linux_x86_64"},
                 "files": entries, "relocate": [{"path": "env/bin/python3.11", "mode": "text"}],
                 "wheels": [{"path": "wheels/six-1.16.0-py2.py3-none-any.whl", "name": "six",
                             "version": "1.16.0", "sha256": hashlib.sha256(files["wheels/six-1.16.0-py2.py3-none-any.whl"][0]).hexdigest()}]}
            data = (json.dumps(m, separators=(",", ":")) + "\n").encode()
            ti = tarfile.TarInfo("airlock/manifest.json")
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1767225600
            t.addfile(ti, io.BytesIO(data))
        return buf.getvalue()
    put(out, "payload", "plain.tar", build(False))
    put(out, "payload", "hardlink.tar", build(True))
    # The tar reader's harness: the first byte sets the pieces' size.
    put(out, "payload_tar", "plain-whole.tar", b"\0" + build(False))
    put(out, "payload_tar", "hardlink-by-7.tar", b"\x07" + build(True))


# --- the sealed envelope ---------------------------------------------------

def envelope(out, tmp, files):
    if not have("age", "minisign", "zstd", "tar"):
        return
    src = os.path.join(tmp, "src")
    os.makedirs(os.path.join(src, "env", "bin"))
    os.makedirs(os.path.join(src, "airlock"))
    with open(os.path.join(src, "env", "bin", "python3"), "w") as f:
        f.write("#!/opt/old/prefix/bin/python3\n")
    with open(os.path.join(src, "airlock", "requirements.lock"), "w") as f:
        f.write("")
    key = os.path.join(VEC, "minisign", "key.key")
    for name, extra in (("bundle.sealed", []), ("cui.sealed", ["--marking", "CUI"])):
        o = os.path.join(tmp, name)
        r = subprocess.run(["bash", os.path.join(ROOT, "tests", "tools", "mkbundle.sh"), "-s", key,
                            "-r", AGE_RECIPIENT, "--bundle-id", BUNDLE_ID] + extra + [src, o],
                           capture_output=True)
        if r.returncode != 0:
            sys.stderr.write("seeds.py: mkbundle.sh failed: %s\n" % r.stderr.decode(errors="replace"))
            return
        data = open(o, "rb").read()
        put(out, "envelope", name, data)
        # Its payload.age is a seed of the age harness (it holds the identity).
        hdr = data[:512]
        if hdr[156:157] == b"x":  # a pax header first
            pax = int(hdr[124:136].split(b"\0")[0].strip() or b"0", 8)
            hdr = data[512 + (pax + 511) // 512 * 512:][:512]
            base = 512 + (pax + 511) // 512 * 512 + 512
        else:
            base = 512
        size = int(hdr[124:136].split(b"\0")[0].strip() or b"0", 8)
        put(out, "age", "payload-" + name, data[base:base + size])


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        age_vectors(out)
        minisign_vectors(out)
        labels(out)
        manifests(out)
        probes(out)
        audit_logs(out)
        installed_trees(out)
        volume_indexes(out)
        payloads(out)
        ldcaches(out)
        files = elves(out, tmp)
        wheels(out, files)
        envelope(out, tmp, files)


if __name__ == "__main__":
    main()
