#!/usr/bin/env python3
"""Payload helper for tests/tools/mkbundle.sh (standard library only).

  payload.py manifest CONTENT.tar OUT.json --bundle-id ID --source-prefix P
             --interpreter PATH [--relocate PATH:MODE ...]
      Writes airlock/manifest.json describing exactly the entries of
      CONTENT.tar (as GNU tar stored them), per docs/format.md.

  payload.py inject CONTENT.tar MANIFEST.json OUT.tar KIND
      Copies CONTENT.tar, applies one hostile fault KIND, and appends the
      manifest as the last member. Used by the hostile-bundle suite: the
      attacker holds the signing key, so only the unpacker's own checks stand
      between this payload and the disk.

  payload.py bomb-prefix OUT.tar NAME SIZE
      Writes the tar header of a regular file NAME of SIZE bytes (the data,
      zeros, is appended by the caller straight into zstd).
"""
import hashlib
import io
import json
import sys
import tarfile

KINDS = {
    "dotdot": "a path with a .. component",
    "absolute": "an absolute path",
    "outside": "a path outside env/ wheels/ airlock/",
    "symlink": "a symbolic link",
    "chardev": "a character device",
    "fifo": "a fifo",
    "hardlink-later": "a hardlink to a later entry",
    "hardlink-missing": "a hardlink to a missing entry",
    "hardlink-dir": "a hardlink to a directory",
    "hardlink-outside": "a hardlink to a path outside the payload",
    "setuid": "a setuid file",
    "setgid": "a setgid file",
    "sticky": "a sticky directory",
    "duplicate": "the same path twice",
    "empty-name": "an entry with an empty name",
    "below-file": "a path below a regular file",
    "tamper": "a file whose content differs from the manifest",
    "unlisted": "a member the manifest does not list",
    "missing": "a listed member that is missing",
    "manifest-parent": "a listed airlock/ directory implied only by the manifest itself",
    "after-manifest": "a member after the manifest",
    "no-manifest": "no manifest at all",
    "deep": "a file 300 directories deep",
    "long-name": "a name of 300 bytes",
    "mode": "a directory whose mode (0777) differs from the manifest's",
    "hardlink-data": "a hardlink with a size, whose 'data' is another member's header",
    "global-header": "a global pax header (a comment only)",
    "one-zero-block": "a tar that ends after one end-of-archive block",
}


def entries(path):
    with tarfile.open(path, "r:") as t:
        for m in t.getmembers():
            data = t.extractfile(m).read() if m.isreg() else None
            yield m, data


def norm(name):
    return name[:-1] if name.endswith("/") else name


def cmd_manifest(args):
    import argparse
    p = argparse.ArgumentParser(prog="payload.py manifest")
    p.add_argument("content")
    p.add_argument("out")
    p.add_argument("--bundle-id", required=True)
    p.add_argument("--source-prefix", required=True)
    p.add_argument("--interpreter", default="")
    p.add_argument("--relocate", action="append", default=[])
    p.add_argument("--created", default="2024-01-01T00:00:00Z")
    a = p.parse_args(args)
    files, wheels = [], []
    for m, data in entries(a.content):
        path = norm(m.name)
        if m.isdir():
            files.append({"path": path, "type": "dir", "mode": "%04o" % (m.mode & 0o7777)})
        elif m.islnk():
            files.append({"path": path, "type": "hardlink", "target": norm(m.linkname)})
        elif m.isreg():
            digest = hashlib.sha256(data).hexdigest()
            files.append({"path": path, "type": "file", "size": len(data),
                          "mode": "%04o" % (m.mode & 0o7777), "sha256": digest})
            if path.startswith("wheels/") and path.endswith(".whl"):
                base = path.split("/")[-1]
                name, version = base.split("-")[0:2]
                wheels.append({"path": path, "name": name, "version": version, "sha256": digest})
        else:
            sys.exit("payload.py: %s: not a file or directory" % m.name)
    relocate = []
    for r in a.relocate:
        path, _, mode = r.rpartition(":")
        relocate.append({"path": path, "mode": mode})
    man = {"format": "airlock-bundle/1", "bundle_id": a.bundle_id, "created": a.created,
           "source_prefix": a.source_prefix, "interpreter": a.interpreter,
           "python": {}, "files": files, "dereferenced": [], "relocate": relocate, "wheels": wheels}
    with open(a.out, "w") as f:
        json.dump(man, f)
        f.write("\n")


def info(name, type_=tarfile.REGTYPE, size=0, mode=0o644, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.size = size
    ti.mode = mode
    ti.linkname = linkname
    ti.mtime = 0
    return ti


def cmd_inject(args):
    content, manifest_path, out, kind = args
    if kind not in KINDS:
        sys.exit("payload.py: unknown fault %r; one of: %s" % (kind, ", ".join(KINDS)))
    manifest = json.load(open(manifest_path))
    members = list(entries(content))
    first_file = next(norm(m.name) for m, d in members if m.isreg())
    first_dir = next(norm(m.name) for m, d in members if m.isdir() and "/" in norm(m.name)) \
        if any(m.isdir() and "/" in norm(m.name) for m, d in members) else "env"
    globals_ = {"comment": "carried by no member"} if kind == "global-header" else None
    with tarfile.open(out, "w:", format=tarfile.PAX_FORMAT, pax_headers=globals_) as t:
        def add(ti, data=b""):
            t.addfile(ti, io.BytesIO(data) if ti.isreg() else None)

        def hostile():
            if kind == "dotdot":
                add(info("env/../escaped", size=4), b"evil")
            elif kind == "absolute":
                add(info("/tmp/airlock-hostile-absolute", size=4), b"evil")
            elif kind == "outside":
                add(info("etc/evil", size=4), b"evil")
            elif kind == "symlink":
                add(info("env/link", tarfile.SYMTYPE, linkname="/etc/passwd"))
            elif kind == "chardev":
                ti = info("env/null", tarfile.CHRTYPE)
                ti.devmajor, ti.devminor = 1, 3
                add(ti)
            elif kind == "fifo":
                add(info("env/fifo", tarfile.FIFOTYPE))
            elif kind == "hardlink-later":
                add(info("env/zz-link", tarfile.LNKTYPE, linkname="env/zz-later"))
                add(info("env/zz-later", size=4), b"data")
            elif kind == "hardlink-missing":
                add(info("env/zz-link", tarfile.LNKTYPE, linkname="env/does-not-exist"))
            elif kind == "hardlink-dir":
                add(info("env/zz-link", tarfile.LNKTYPE, linkname=first_dir))
            elif kind == "hardlink-outside":
                add(info("env/zz-link", tarfile.LNKTYPE, linkname="/etc/passwd"))
            elif kind == "setuid":
                add(info("env/suid", size=4, mode=0o4755), b"evil")
            elif kind == "setgid":
                add(info("env/sgid", size=4, mode=0o2755), b"evil")
            elif kind == "sticky":
                add(info("env/sticky", tarfile.DIRTYPE, mode=0o1777))
            elif kind == "duplicate":
                data = b"second copy"
                add(info(first_file, size=len(data)), data)
            elif kind == "empty-name":
                add(info("", size=4), b"evil")
            elif kind == "below-file":
                add(info(first_file + "/inner", size=4), b"evil")
            elif kind == "unlisted":
                add(info("env/unlisted.txt", size=4), b"evil")
            elif kind == "deep":
                add(info("env/" + "d/" * 300 + "f", size=4), b"deep")
            elif kind == "long-name":
                add(info("env/" + "n" * 300, size=4), b"long")
            elif kind == "hardlink-data":
                # The link's header says 512 bytes follow; they are a whole
                # header of their own, which tar -t and tarfile list.
                link = info("env/zz-link", tarfile.LNKTYPE, linkname=first_file)
                link.size = 512
                t.fileobj.write(link.tobuf(format=tarfile.PAX_FORMAT))
                t.fileobj.write(info("env/zz-ghost", size=0).tobuf(format=tarfile.PAX_FORMAT))
                t.offset += 1024
            elif kind == "missing":
                manifest["files"].append({"path": "env/listed-but-missing", "type": "file", "size": 0,
                                          "mode": "0644", "sha256": hashlib.sha256(b"").hexdigest()})

        if kind == "manifest-parent":
            # Only the manifest is left under airlock/; the manifest still
            # lists the directory, which then has no member of its own.
            members[:] = [(m, d) for m, d in members if norm(m.name).split("/")[0] != "airlock"]
            manifest["files"] = [f for f in manifest["files"]
                                 if f["path"] == "airlock" or not f["path"].startswith("airlock/")]
            assert any(f["path"] == "airlock" for f in manifest["files"]), "the tree needs an airlock/ directory"
        for m, data in members:
            if kind == "mode" and m.isdir() and norm(m.name) == first_dir:
                m.mode = 0o777  # the manifest keeps what the tree had
            if kind == "tamper" and m.isreg() and norm(m.name) == first_file:
                data = data + b"# tampered\n"
                m.size = len(data)
            add(m, data if data is not None else b"")
        hostile()
        if kind != "no-manifest":
            mdata = (json.dumps(manifest) + "\n").encode()
            add(info("airlock/manifest.json", size=len(mdata)), mdata)
        if kind == "after-manifest":
            add(info("env/after", size=4), b"late")
        end = t.offset
    if kind == "one-zero-block":
        with open(out, "r+b") as f:
            f.truncate(end + 512)


def cmd_bomb_prefix(args):
    out, name, size = args[0], args[1], int(args[2])
    ti = info(name, size=size)
    with open(out, "wb") as f:
        f.write(ti.tobuf(format=tarfile.PAX_FORMAT))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "manifest":
        cmd_manifest(rest)
    elif cmd == "inject":
        cmd_inject(rest)
    elif cmd == "bomb-prefix":
        cmd_bomb_prefix(rest)
    elif cmd == "kinds":
        for k, v in KINDS.items():
            print("%s\t%s" % (k, v))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
