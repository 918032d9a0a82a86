#!/usr/bin/env bash
# packer pack --download: the environment's own pip fills the wheelhouse
# (offline here: --no-index --find-links a local directory), and the pip
# options pass through.
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
make_wheelhouse "$WORK/index"
printf 'tinyapp==2.1.0\n' > "$WORK/req.txt"

"$PACKER" pack --env "$PY_PREFIX" -r "$WORK/req.txt" --download --no-index --find-links "$WORK/index" \
  --only-binary :all: -s "$WORK/keys/signing.key" -R "$RECIPIENT" -o "$WORK/d.sealed" --json \
  --audit-log "$WORK/audit.jsonl" > "$WORK/pack.json" 2> "$WORK/err" || fail "pack --download failed: $(cat "$WORK/err")"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["wheels"] == 2, j' "$WORK/pack.json" \
  || fail "expected tinyapp and its dependency tinydep: $(cat "$WORK/pack.json")"
mkdir "$WORK/x" && tar -xf "$WORK/d.sealed" -C "$WORK/x"
age -d -i "$WORK/keys/node.key" "$WORK/x/payload.age" | zstd -dq | tar -t > "$WORK/list"
grep -q '^wheels/tinyapp-2.1.0-py3-none-any.whl$' "$WORK/list" || fail "tinyapp wheel missing: $(grep wheels "$WORK/list")"
grep -q '^wheels/tinydep-1.0.0-py3-none-any.whl$' "$WORK/list" || fail "tinydep (a dependency) missing"
if grep -q fastmath "$WORK/list"; then fail "a wheel that was not required was downloaded"; fi
pass "pip download filled the wheelhouse with the requirement and its dependency only"

# A requirement pip cannot find: pip's own error, exit 2, nothing written.
printf 'nosuchpkg==1.0\n' > "$WORK/bad.txt"
set +e
"$PACKER" pack --env "$PY_PREFIX" -r "$WORK/bad.txt" --download --no-index --find-links "$WORK/index" \
  -s "$WORK/keys/signing.key" -R "$RECIPIENT" -o "$WORK/bad.sealed" --audit-log "$WORK/audit.jsonl" 2> "$WORK/err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "exit $rc for a missing requirement: $(cat "$WORK/err")"
grep -q nosuchpkg "$WORK/err" || fail "pip's error not shown: $(cat "$WORK/err")"
[ ! -e "$WORK/bad.sealed" ] || fail "output left behind"
pass "a requirement pip cannot find stops the pack with pip's error"
echo PASS
