#!/usr/bin/env bash
# packer pack on a real CPython prefix with a real wheelhouse; the bundle is
# then checked with standard tools only: tar, minisign, age, zstd, readelf.
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
make_wheelhouse "$WORK/wh"
# A wheel that is a hardlink to a file of the environment (ensurepip's
# bundled pip): it must still be stored as a file of its own, with its
# hash in the manifest's wheels and in the lock.
bundled=$(ls "$PY_PREFIX"/lib/python3*/ensurepip/_bundled/pip-*.whl | head -1)
[ -n "$bundled" ] || fail "no ensurepip wheel in $PY_PREFIX"
ln "$bundled" "$WORK/wh/" || fail "cannot hardlink $bundled into $WORK/wh (another filesystem?)"

B=$WORK/out/test.sealed
mkdir -p "$WORK/out"
"$PACKER" pack --env "$PY_PREFIX" -r "$WORK/requirements.txt" --wheelhouse "$WORK/wh" \
  -s "$WORK/keys/signing.key" -R "$RECIPIENT" --marking CUI \
  --controlled-by 'Test Office' --cui-category PRVCY --dissemination FEDCON --poc 'Jane Doe, 703-555-0100' \
  -o "$B" --json --sbom-out "$WORK/out/sbom.cdx.json" \
  --audit-log "$WORK/audit-packer.jsonl" > "$WORK/pack.json" || fail "packer pack failed"
[ -f "$B" ] || fail "no bundle written"
pass "packed $(du -h "$B" | cut -f1)"

# Envelope: exactly four members, in order.
members=$(tar -tf "$B" | tr '\n' ' ')
[ "$members" = "payload.age payload.age.minisig LABEL.txt LABEL.txt.minisig " ] || fail "envelope members: $members"
pass "envelope has the four members in order"

mkdir "$WORK/env" && tar -xf "$B" -C "$WORK/env"
cd "$WORK/env"
minisign -Vm payload.age -p "$WORK/keys/signing.pub" > v1.txt || fail "minisign rejects payload.age's signature"
minisign -Vm LABEL.txt -p "$WORK/keys/signing.pub" > v2.txt || fail "minisign rejects LABEL.txt's signature"
id=$(sed -n 's/^bundle-id: //p' LABEL.txt)
grep -q "Trusted comment: airlock-bundle/1 bundle-id:$id file:payload.age" v1.txt || fail "payload trusted comment: $(cat v1.txt)"
grep -q "Trusted comment: airlock-bundle/1 bundle-id:$id file:LABEL.txt" v2.txt || fail "label trusted comment: $(cat v2.txt)"
pass "minisign verifies both signatures; trusted comments carry bundle-id $id"

# Label: banner first and last, required fields, sizes and hashes true.
[ "$(head -1 LABEL.txt)" = CUI ] && [ "$(tail -1 LABEL.txt)" = CUI ] || fail "marking banner"
for k in format bundle-id created marking signer-key-id recipients payload-bytes payload-sha256 content-bytes content-files python tool; do
  grep -q "^$k: ." LABEL.txt || fail "label lacks $k"
done
[ "$(sed -n 's/^payload-bytes: //p' LABEL.txt)" = "$(stat -c %s payload.age)" ] || fail "payload-bytes"
[ "$(sed -n 's/^payload-sha256: //p' LABEL.txt)" = "$(sha256sum payload.age | cut -d' ' -f1)" ] || fail "payload-sha256"
[ "$(sed -n 's/^recipients: //p' LABEL.txt)" = "$RECIPIENT" ] || fail "recipients"
grep -q "^python: $PY_VER cp" LABEL.txt || fail "python field: $(grep ^python LABEL.txt)"
keyid=$(sed -n 's/^signer-key-id: //p' LABEL.txt)
[ ${#keyid} = 16 ] || fail "signer-key-id is not 16 hex digits: $keyid"
head -1 "$WORK/keys/signing.pub" | grep -q "$(sed 's/^0*//' <<< "$keyid")\$" || fail "signer-key-id $keyid is not signing.pub's key id"
pass "label fields and hashes match"

# Payload: age -d | zstd -d | tar.
age -d -i "$WORK/keys/node.key" -o payload.tar.zst payload.age || fail "age -d failed"
zstd -q -d payload.tar.zst -o payload.tar || fail "zstd -d failed"
[ "$(sed -n 's/^content-bytes: //p' LABEL.txt)" = "$(stat -c %s payload.tar)" ] || fail "content-bytes"
tar -tvf payload.tar > listing.txt
[ "$(wc -l < listing.txt)" = "$(sed -n 's/^content-files: //p' LABEL.txt)" ] || fail "content-files"
if grep -q '^l' listing.txt; then fail "payload holds symlinks: $(grep '^l' listing.txt | head -3)"; fi
[ "$(tail -1 listing.txt | awk '{print $NF}')" = airlock/manifest.json ] || fail "manifest is not the last member"
pass "payload decrypts and decompresses with age and zstd; no symlinks; manifest last"

mkdir x && tar -xf payload.tar -C x
python3 - "$PWD/x" "$PY_PREFIX" <<'PY' || fail "manifest does not match the payload"
import hashlib, json, os, sys
root, prefix = sys.argv[1], sys.argv[2]
m = json.load(open(os.path.join(root, "airlock/manifest.json")))
assert m["format"] == "airlock-bundle/1"
assert m["source_prefix"] == os.path.realpath(prefix), m["source_prefix"]
listed = {f["path"]: f for f in m["files"]}
on_disk = set()
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.relpath(os.path.join(d, n), root)
        if p != "airlock/manifest.json":
            on_disk.add(p)
missing, extra = set(listed) - on_disk, on_disk - set(listed)
assert not missing and not extra, (sorted(missing)[:5], sorted(extra)[:5])
for p, f in listed.items():
    full = os.path.join(root, p)
    if f["type"] == "file":
        data = open(full, "rb").read()
        assert len(data) == f["size"], p
        assert hashlib.sha256(data).hexdigest() == f["sha256"], p
    elif f["type"] == "hardlink":
        assert os.path.samefile(full, os.path.join(root, f["target"])), p
# wheels and the lock
whl = {w["path"]: w for w in m["wheels"]}
assert len(whl) == 4, whl
kinds = {f["path"]: f["type"] for f in m["files"]}
assert all(kinds[p] == "file" for p in whl), [(p, kinds[p]) for p in whl]
lock = open(os.path.join(root, "airlock/requirements.lock")).read()
for w in whl.values():
    assert hashlib.sha256(open(os.path.join(root, w["path"]), "rb").read()).hexdigest() == w["sha256"]
    assert f"--hash=sha256:{w['sha256']}" in lock
assert "tinyapp==2.1.0" in open(os.path.join(root, "airlock/requirements.txt")).read()
# python3 and python3.X are one file: stored once, then as a hardlink
assert any(f["type"] == "hardlink" for f in m["files"]), "no hardlink entries"
assert any(d["path"] == "env/bin/python3" for d in m["dereferenced"]), "bin/python3 symlink not recorded"
assert any(r["path"].startswith("env/bin/pip") for r in m["relocate"]), "pip script not listed for relocation"
print("manifest:", len(listed), "entries verified")
PY
pass "manifest lists exactly the payload's members with true sizes and hashes"

# Relocation: the interpreter's RUNPATH no longer names the packing prefix.
interp=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["interpreter"])' x/airlock/manifest.json)
rp=$(readelf -d "x/$interp" | grep -E 'RUNPATH|RPATH' || true)
orig=$(readelf -d "$PY_BIN" | grep -E 'RUNPATH|RPATH' || true)
echo "original: $orig"; echo "packed:   $rp"
if [ -n "$orig" ]; then
  echo "$rp" | grep -q "$(realpath "$PY_PREFIX")" && fail "packed interpreter still names $PY_PREFIX: $rp"
  echo "$rp" | grep -q '\$ORIGIN' || fail "packed interpreter has no \$ORIGIN RUNPATH: $rp"
fi
pass "interpreter RUNPATH made \$ORIGIN-relative"
grep -q '"event":"pack"' "$WORK/audit-packer.jsonl" || fail "no pack audit record"

# SBOM: the same document in the payload, beside the bundle (--sbom-out) and
# from `unpacker list --sbom`; valid against the official CycloneDX schema;
# every wheel with its purl and the SHA-256 sha256sum computes.
cmp -s x/airlock/sbom.cdx.json "$WORK/out/sbom.cdx.json" || fail "--sbom-out differs from the payload's SBOM"
"$UNPACKER" list --sbom -p "$WORK/keys/signing.pub" -i "$WORK/keys/node.key" "$B" --audit-log "$WORK/a.jsonl" \
  > "$WORK/listed.cdx.json" 2>/dev/null || fail "unpacker list --sbom failed"
cmp -s x/airlock/sbom.cdx.json "$WORK/listed.cdx.json" || fail "unpacker list --sbom differs from the payload's SBOM"
/usr/bin/python3 "$SRC/tests/tools/validate_cdx.py" "$SRC/tests/vendor/cyclonedx" x/airlock/sbom.cdx.json || fail "SBOM is not valid CycloneDX"
for w in "$WORK"/wh/*.whl; do
  h=$(sha256sum "$w" | cut -d' ' -f1)
  n=$(basename "$w" | cut -d- -f1); v=$(basename "$w" | cut -d- -f2)
  python3 - x/airlock/sbom.cdx.json "$n" "$v" "$h" <<'PY' || fail "SBOM lacks $n $v with its hash"
import json, sys
doc, name, version, sha = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
purl = "pkg:pypi/%s@%s" % (name.lower().replace("_", "-"), version)
c = [c for c in doc["components"] if c.get("purl") == purl]
assert c, purl
assert any(h["alg"] == "SHA-256" and h["content"] == sha for h in c[0]["hashes"]), c[0]
PY
done
pass "SBOM valid, identical in payload, --sbom-out and list --sbom; wheels with purls and hashes"

# On a terminal the pack draws its progress (files, bytes, then rate and
# time left) on stderr from the start; --quiet draws nothing.
cd "$WORK"
P2="$PACKER pack --env $PY_PREFIX --no-check -s $WORK/keys/signing.key -R $RECIPIENT --audit-log $WORK/audit-packer.jsonl"
script -qec "$P2 -o $WORK/out/tty.sealed 2>&1 >/dev/null" /dev/null > tty.out || fail "pack on a terminal failed"
grep -aEq 'packing: [0-9]+/[0-9]+\+? files, [0-9.]+ [KMG]?B/[0-9.]+ [KMG]?B' tty.out \
  || fail "no progress line on a terminal: $(tr '\r' '\n' < tty.out | head -5)"
script -qec "$P2 -o $WORK/out/quiet.sealed --quiet 2>&1 >/dev/null" /dev/null > quiet.out || fail "quiet pack failed"
[ ! -s quiet.out ] || fail "--quiet printed: $(head -c 300 quiet.out)"
pass "progress drawn on a terminal, none with --quiet"
echo "PASS"
