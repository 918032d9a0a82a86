#!/usr/bin/env bash
# Interop: a bundle built only with standard tools (tests/tools/mkbundle.sh:
# GNU tar, zstd, age, minisign, python3 for JSON) is verified, listed and
# unpacked; hardlinks, modes, text and binary relocation, the SBOM, --json
# output and multi-volume bundles (NAME.sealed.001, .002...) work.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
minisign -G -W -p s.pub -s s.key >/dev/null
minisign -G -W -p other.pub -s other.key >/dev/null
age-keygen -o node.key 2>/dev/null
OLD=/nonexistent/a/rather/long/source/prefix/so/that/binary/relocation/has/room/to/spare/for/the/test
mkdir -p tree/env/bin tree/env/lib/pkg tree/wheels tree/airlock
printf '#!%s/bin/python3\nprint("hi")\n' "$OLD" > tree/env/bin/tool
chmod 755 tree/env/bin/tool
printf 'ELF\0%s/lib\0tail\0' "$OLD" > tree/env/lib/libfake.so
echo data > tree/env/lib/pkg/data.txt
chmod 600 tree/env/lib/pkg/data.txt
ln tree/env/lib/pkg/data.txt tree/env/lib/pkg/same.txt
echo '{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}' > tree/airlock/sbom.cdx.json
: > tree/airlock/requirements.lock
ID=$("$SRC/tests/tools/mkbundle.sh" -s s.key -r "$(age-keygen -y node.key)" --marking 'CUI//SP-EXAMPLE' \
  --source-prefix "$OLD" --relocate env/bin/tool:text --relocate env/lib/libfake.so:binary tree b.sealed)
AUD=(--audit-log "$WORK/audit.jsonl")

# verify: label on stdout (banner first), --json summary alone on stdout.
"$UNPACKER" verify -p other.pub -p s.pub b.sealed "${AUD[@]}" > label.txt 2>/dev/null || fail "verify failed"
[ "$(head -1 label.txt)" = "CUI//SP-EXAMPLE" ] && [ "$(tail -1 label.txt)" = "CUI//SP-EXAMPLE" ] || fail "banner"
"$UNPACKER" verify -p s.pub b.sealed --json "${AUD[@]}" 2>/dev/null > v.json
python3 -c "import json,sys; j=json.load(open('v.json')); assert j['bundle_id']=='$ID' and j['ok'], j" \
  || fail "verify --json: $(cat v.json)"
pass "verify (two -p keys, one trusts), --json"

# list: label, then the manifest's files; --sbom prints the SBOM.
"$UNPACKER" list -p s.pub -i node.key b.sealed "${AUD[@]}" > list.txt 2>/dev/null || fail "list failed"
grep -qP '^file\t0755\t\d+\tenv/bin/tool$' list.txt || fail "list: $(cat list.txt)"
grep -qP '^hardlink\t.*env/lib/pkg/same.txt => env/lib/pkg/data.txt$' list.txt || fail "list: no hardlink"
"$UNPACKER" list -p s.pub -i node.key b.sealed --sbom "${AUD[@]}" 2>/dev/null > sbom.json
cmp sbom.json tree/airlock/sbom.cdx.json || fail "list --sbom differs"
pass "list and list --sbom"

# unpack, then compare with the source tree.
"$UNPACKER" unpack -p s.pub -i node.key b.sealed -C "$WORK/out" "${AUD[@]}" --json > u.json 2>u.err \
  || fail "unpack failed: $(cat u.err)"
python3 -c "import json; j=json.load(open('u.json')); assert j['dest']=='$WORK/out' and j['relocated']==2, j" \
  || fail "unpack --json: $(cat u.json)"
[ "$(head -1 u.err)" = "CUI//SP-EXAMPLE" ] || fail "unpack --json: label not first on stderr"
[ "$(head -1 out/env/bin/tool)" = "#!$WORK/out/env/bin/python3" ] || fail "text relocation: $(head -1 out/env/bin/tool)"
[ "$(stat -c %s out/env/lib/libfake.so)" = "$(stat -c %s tree/env/lib/libfake.so)" ] || fail "binary size changed"
grep -qa "$WORK/out/env/lib" out/env/lib/libfake.so && ! grep -qa "$OLD" out/env/lib/libfake.so \
  || fail "binary relocation"
grep -qa "tail" out/env/lib/libfake.so || fail "binary relocation lost the following string"
diff -r tree/env/lib/pkg out/env/lib/pkg || fail "content differs"
[ "$(stat -c %a out/env/lib/pkg/data.txt)" = 600 ] || fail "mode not kept"
[ "$(stat -c %i out/env/lib/pkg/data.txt)" = "$(stat -c %i out/env/lib/pkg/same.txt)" ] || fail "hardlink not kept"
[ -f out/airlock/manifest.json ] || fail "manifest not kept"
pass "unpack of a standard-tools bundle: content, modes, hardlinks, text and binary relocation"

# Binary relocation that cannot fit: clear error, nothing left.
LONG="$WORK/$(printf 'd%.0s' $(seq 1 120))"
rc=0; "$UNPACKER" unpack -p s.pub -i node.key b.sealed -C "$LONG" "${AUD[@]}" >/dev/null 2>err.txt || rc=$?
[ "$rc" = 2 ] && grep -q "cannot relocate this binary file" err.txt || fail "long DEST: exit $rc $(cat err.txt)"
[ ! -e "$LONG" ] && ! ls -d "$LONG".airlock-staging-* >/dev/null 2>&1 || fail "long DEST: something left"
pass "binary relocation that does not fit: exit 2, nothing left"

# Volumes: NAME.sealed.001, .002, ... given as .001 or as the base name.
mkdir vol
split -b 700 -d -a 3 --numeric-suffixes=1 b.sealed vol/b.sealed.
[ -f vol/b.sealed.003 ] || fail "split made too few volumes"
"$UNPACKER" verify -p s.pub vol/b.sealed.001 "${AUD[@]}" >/dev/null 2>&1 || fail "verify of .001 failed"
"$UNPACKER" unpack -p s.pub -i node.key vol/b.sealed -C "$WORK/out2" --no-install "${AUD[@]}" -q >/dev/null \
  || fail "unpack from the base name of volumes failed"
diff -r out/env/lib/pkg out2/env/lib/pkg || fail "volumes: content differs"
rm vol/b.sealed.002
rc=0; "$UNPACKER" verify -p s.pub vol/b.sealed.001 "${AUD[@]}" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "missing volume: exit $rc"
pass "multi-volume bundles"

"$UNPACKER" audit-verify "$WORK/audit.jsonl" >/dev/null || fail "audit chain"
for ev in verify decrypt extract install; do
  grep -q "\"event\":\"$ev\"" "$WORK/audit.jsonl" || fail "no $ev record"
done
pass "audit records for verify, decrypt, extract, install"
