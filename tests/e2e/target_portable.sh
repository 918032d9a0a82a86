#!/usr/bin/env bash
# The secure node's operating system. A CPython prefix built on this host
# (Debian 12, glibc 2.36) against an older node: a real Debian 11 root
# (glibc 2.31, no Python, no network), entered with chroot.
#  - Without --portable, `packer check --target debian11|rhel8` names
#    libpython and the GLIBC version it needs, and `packer pack` writes
#    nothing; --target debian12 has no glibc error.
#  - `unpacker probe` in the root reports glibc 2.31, and its file as
#    --target gives the same glibc verdict as debian11.
#  - With --target debian11 --portable: unpack in the root, the link test
#    passes, python3.12 runs (ssl, ctypes, sqlite3, lzma, bz2, hashlib,
#    decimal, the installed packages, a console script, a child started
#    with sys.executable, multiprocessing's spawn, pip list); the same
#    under a seccomp filter that answers ENOSYS to every system call added
#    after Linux 3.10 (RHEL 7's kernel).
#  - Deleting a grafted library makes `unpacker link-test` exit 4 naming it.
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
make_wheelhouse "$WORK/wheels"
ensure_bullseye_root
PUB=$(ls "$WORK"/keys/*.pub | head -1)
SIGN=(-s "$WORK/keys/signing.key" -R "$RECIPIENT" --audit-log "$WORK/audit-packer.jsonl")
LIBPY=$(basename "$(ls "$PY_PREFIX"/lib/libpython3.*.so.1.0 | head -1)")
NEED=$(readelf -V "$PY_PREFIX/lib/$LIBPY" | grep -o 'GLIBC_2\.[0-9]*' | sort -t. -k2 -n | tail -1)

# --- without --portable: the failure is predicted before the courier leaves
for t in debian11:2.31 rhel8:2.28; do
  name=${t%%:*} have=${t#*:}
  rc=0; "$PACKER" check --env "$PY_PREFIX" --target "$name" > "$WORK/check-$name.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || { cat "$WORK/check-$name.out"; fail "check --target $name: exit $rc, expected 1"; }
  grep -qF "lib/$LIBPY needs $NEED; $name has $have" "$WORK/check-$name.out" ||
    { cat "$WORK/check-$name.out"; fail "check --target $name does not name lib/$LIBPY and $NEED"; }
  grep -q -- '--portable' "$WORK/check-$name.out" || fail "check --target $name does not tell about --portable"
done
rc=0; "$PACKER" pack --env "$PY_PREFIX" "${SIGN[@]}" --target debian11 -o "$WORK/old.sealed" -q 2> "$WORK/pack-old.err" || rc=$?
[ "$rc" = 1 ] || fail "pack --target debian11 without --portable: exit $rc, expected 1"
[ ! -e "$WORK/old.sealed" ] || fail "pack with check errors left $WORK/old.sealed"
ls "$WORK" | grep -q 'old.sealed' && fail "pack with check errors left a partial file"
"$PACKER" check --env "$PY_PREFIX" --target debian12 --json > "$WORK/check-debian12.json" || true
python3 - "$WORK/check-debian12.json" <<'PY' || fail "check --target debian12 reports a glibc error"
import json, sys
r = json.load(open(sys.argv[1]))
bad = [f for f in r["findings"] if f["code"] == "glibc-too-old"]
assert not bad, bad
assert r["target"].startswith("debian12"), r["target"]
PY
# No target: one line saying what the bundle needs.
"$PACKER" check --env "$PY_PREFIX" > "$WORK/check-none.out" 2>&1 || true
grep -q "runs where glibc >= ${NEED#GLIBC_}" "$WORK/check-none.out" || { cat "$WORK/check-none.out"; fail "no 'runs where glibc >=' line"; }
pass "without --portable: debian11 and rhel8 refused naming lib/$LIBPY and $NEED; pack wrote nothing; debian12 has no glibc error"

# --- unpacker probe on the node itself
cp "$UNPACKER" "$WORK/unpacker"
in_old_root "$WORK" "$WORK/unpacker" probe -o "$WORK/node.probe" 2> "$WORK/probe.err" || { cat "$WORK/probe.err"; fail "unpacker probe failed in the root"; }
grep -qx 'glibc: 2.31' "$WORK/node.probe" || { head "$WORK/node.probe"; fail "probe in the root does not report glibc 2.31"; }
grep -q 'glibc-2.31' "$WORK/probe.err" || fail "probe's summary does not give --target glibc-2.31"
verdict() {  # the files the glibc check names, sorted
  "$PACKER" check --env "$PY_PREFIX" --target "$1" --json > "$WORK/v.json" || true
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("\n".join(sorted(f["message"].split(";")[0] for f in r["findings"] if f["code"]=="glibc-too-old")))' "$WORK/v.json"
}
[ -n "$(verdict debian11)" ] || fail "no glibc verdict for debian11"
[ "$(verdict "$WORK/node.probe")" = "$(verdict debian11)" ] || fail "the probe file's glibc verdict differs from debian11's"
pass "unpacker probe in the Debian 11 root: glibc 2.31; its file gives the debian11 verdict"

# --- --portable
"$PACKER" pack --env "$PY_PREFIX" --wheelhouse "$WORK/wheels" -r "$WORK/requirements.txt" "${SIGN[@]}" \
  --target debian11 --portable -o "$WORK/p.sealed" --sbom-out "$WORK/p.sbom.json" --json > "$WORK/pack.json" 2> "$WORK/pack.err" ||
  { cat "$WORK/pack.err"; fail "pack --target debian11 --portable failed"; }
tar -xOf "$WORK/p.sealed" LABEL.txt > "$WORK/label.txt"
grep -qx 'needs-glibc: none' "$WORK/label.txt" || fail "label: no 'needs-glibc: none'"
grep -qx "carries-glibc: $(ldd --version | head -1 | grep -o '[0-9]*\.[0-9]*$')" "$WORK/label.txt" || fail "label: carries-glibc is not this host's glibc"
grep -qx 'target: debian11 (glibc 2.31)' "$WORK/label.txt" || fail "label: no target line"
# The payload, read with the standard tools: the carried runtime and the patched interpreter.
mkdir "$WORK/payload"
tar -xOf "$WORK/p.sealed" payload.age | age -d -i "$WORK/keys/node.key" | zstd -dc | tar -x -C "$WORK/payload"
PYBIN=$(basename "$PY_BIN")
readelf -lW "$WORK/payload/env/bin/$PYBIN" | grep -q 'interpreter: /airlock-runtime-not-placed' || fail "$PYBIN's interpreter is not the placeholder"
readelf -dW "$WORK/payload/env/bin/$PYBIN" | grep 'RPATH' | grep -q 'airlock-runtime/glibc' || fail "$PYBIN has no RPATH to the carried glibc"
for f in glibc/ld-linux-x86-64.so.2 glibc/libc.so.6 lib/libssl.so.3 lib/libsqlite3.so.0 lib/libffi.so.8; do
  [ -f "$WORK/payload/env/airlock-runtime/$f" ] || fail "the payload does not carry airlock-runtime/$f"
done
readelf -dW "$WORK/payload/env/airlock-runtime/lib/libssl.so.3" | grep -q 'RUNPATH.*\[\$ORIGIN\]' || fail "grafted libssl has no RUNPATH \$ORIGIN"
python3 - "$WORK/payload/airlock/manifest.json" "$WORK/p.sbom.json" <<'PY' || fail "manifest/SBOM do not record the carried files"
import json, sys, hashlib
m = json.load(open(sys.argv[1]))
rt = m["runtime"]
assert rt["needs_glibc"] == "none" and rt["carries_glibc"], rt
files = {f["path"]: f for f in m["files"]}
for c in rt["carried"]:
    assert files[c["path"]]["sha256"] == c["sha256"], c["path"]
    assert c["host_path"].startswith("/"), c
libssl = [c for c in rt["carried"] if c["soname"] == "libssl.so.3"][0]
assert libssl["package"].startswith("libssl3"), libssl
assert libssl["version"], libssl
sbom = json.load(open(sys.argv[2]))
hashes = {h["content"] for c in sbom["components"] for h in c.get("hashes", [])}
for c in rt["carried"]:
    assert c["sha256"] in hashes, c["path"]
print(len(rt["carried"]), "carried files recorded")
PY
pass "--portable pack: label, payload (readelf), manifest and SBOM record the carried runtime"

# --- on the node: unpack, link test, run
cat > "$WORK/run.py" <<'PY'
import sys, os, subprocess, multiprocessing
import ssl, ctypes, sqlite3, lzma, bz2, hashlib, decimal, zlib
ssl.create_default_context()
assert ctypes.CDLL("libc.so.6").getpid() == os.getpid()
con = sqlite3.connect(":memory:"); con.execute("create table t(x)"); con.execute("insert into t values (41)")
assert con.execute("select x + 1 from t").fetchone()[0] == 42
assert lzma.decompress(lzma.compress(b"x" * 100)) == b"x" * 100
assert bz2.decompress(bz2.compress(b"y" * 100)) == b"y" * 100
assert hashlib.sha256(b"abc").hexdigest().startswith("ba7816bf")
assert str(decimal.Decimal(1) / decimal.Decimal(8)) == "0.125"
import tinyapp, tinydep, fastmath
assert tinydep.VALUE == 42 and fastmath.add(40, 2) == 42
child = subprocess.run([sys.executable, "-c", "import ssl, sqlite3; print('child ok')"], capture_output=True, text=True)
assert child.returncode == 0 and child.stdout.strip() == "child ok", (child.returncode, child.stderr)
def square(x): return x * x
if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(2) as p:
        assert p.map(square, [1, 2, 3]) == [1, 4, 9]
    print("all ok", sys.version.split()[0], os.confstr("CS_GNU_LIBC_VERSION"))
PY
cat > "$WORK/node.sh" <<'SH'
set -eu
D=$1
[ ! -e /root/.pyenv ] || { echo "the packing side's prefix is visible"; exit 1; }
ldd --version | head -1
./unpacker unpack -p keys/$(basename "$PUB") -i keys/node.key p.sealed -C "$D" --audit-log audit-node.jsonl -q
"$D/env/bin/PYBIN" run.py
"$D/env/bin/tinyapp"
"$D/env/bin/PYBIN" -m pip list 2>/dev/null | grep -i tinyapp
./unpacker link-test "$D" -q
SH
sed -i "s/PYBIN/$PYBIN/g; s|\$(basename \"\$PUB\")|$(basename "$PUB")|" "$WORK/node.sh"
in_old_root "$WORK" bash node.sh "$WORK/dest" > "$WORK/node.out" 2>&1 || { cat "$WORK/node.out"; fail "the portable bundle did not run in the Debian 11 root"; }
cat "$WORK/node.out"
grep -q 'GLIBC 2.31' "$WORK/node.out" || grep -q '2\.31' "$WORK/node.out" || fail "the root's own C library is not 2.31"
grep -q '^all ok' "$WORK/node.out" || fail "the environment's modules did not all work"
grep -qi 'tinyapp' "$WORK/node.out" || fail "pip list does not list tinyapp"
grep -q '"event":"link-test".*"outcome":"ok"' "$WORK/audit-node.jsonl" || fail "no ok link-test audit record"
pass "Debian 11 root: unpack, link test, python $PY_VER with ssl/ctypes/sqlite3/lzma/bz2/hashlib/decimal, packages, console script, child, spawn, pip list"

with_kernel_3_10 in_old_root "$WORK" bash node.sh "$WORK/dest310" > "$WORK/node310.out" 2>&1 ||
  { cat "$WORK/node310.out"; fail "the portable bundle did not run under the Linux 3.10 system-call filter"; }
grep -q '^all ok' "$WORK/node310.out" || fail "under the 3.10 filter the modules did not all work"
pass "the same under a seccomp filter answering ENOSYS to every system call after Linux 3.10"

# --- a grafted library deleted: the link test names it
rm "$WORK/dest/env/airlock-runtime/lib/libsqlite3.so.0"
rc=0; in_old_root "$WORK" ./unpacker link-test "$WORK/dest" --audit-log "$WORK/audit-node.jsonl" > "$WORK/lt.out" 2>&1 || rc=$?
[ "$rc" = 4 ] || { cat "$WORK/lt.out"; fail "link-test after deleting a grafted library: exit $rc, expected 4"; }
grep -q 'libsqlite3.so.0' "$WORK/lt.out" || { cat "$WORK/lt.out"; fail "link-test does not name libsqlite3.so.0"; }
sed -n 1,3p "$WORK/lt.out"
grep -q '"event":"link-test".*"outcome":"failed"' "$WORK/audit-node.jsonl" || fail "no failed link-test audit record"
"$UNPACKER" audit-verify "$WORK/audit-node.jsonl" > /dev/null || fail "the node's audit chain is broken"
pass "link test: a deleted grafted library gives exit 4 naming libsqlite3.so.0"
