#!/usr/bin/env bash
# packer check, install rehearsal: an incomplete wheelhouse is refused
# naming the missing distribution and what required it; a complete one
# passes; an sdist is refused unless --allow-sdist.
source "$(dirname "$0")/lib.sh"
find_python_prefix

make_wheelhouse "$WORK/wh"
REQ=$WORK/requirements.txt

# Complete wheelhouse: no errors (exit 0), pip resolved all three.
"$PACKER" check --env "$PY_PREFIX" -r "$REQ" --wheelhouse "$WORK/wh" --json > "$WORK/ok.json" \
  || fail "complete wheelhouse: exit $? (expected 0): $(cat "$WORK/ok.json")"
python3 - "$WORK/ok.json" <<'PY' || fail "complete wheelhouse: unexpected JSON"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] and r["errors"] == 0, r["findings"]
names = sorted(d["name"] for d in r["rehearsal"]["resolved"])
assert names == ["fastmath", "tinyapp", "tinydep"], names
assert r["rehearsal"]["method"] == "dry-run-report"
PY
pass "complete wheelhouse passes, pip resolves fastmath, tinyapp, tinydep"

# Incomplete: tinydep removed. Exit 1, the report names tinydep and tinyapp.
rm "$WORK"/wh/tinydep-*.whl
set +e
"$PACKER" check --env "$PY_PREFIX" -r "$REQ" --wheelhouse "$WORK/wh" > "$WORK/out.txt" 2> "$WORK/err.txt"
rc=$?
set -e
[ $rc -eq 1 ] || fail "incomplete wheelhouse: exit $rc (expected 1)"
grep -q "missing-distribution" "$WORK/out.txt" || fail "no missing-distribution finding: $(cat "$WORK/out.txt")"
grep -q "tinydep, required by tinyapp: not in the wheelhouse" "$WORK/out.txt" \
  || fail "finding does not name tinydep and its requirer: $(cat "$WORK/out.txt")"
grep -q "packer: error: check: 1 error" "$WORK/err.txt" || fail "stderr: $(cat "$WORK/err.txt")"
pass "incomplete wheelhouse refused: tinydep, required by tinyapp"

# --quiet prints only the errors, on stderr.
set +e
"$PACKER" check --env "$PY_PREFIX" -r "$REQ" --wheelhouse "$WORK/wh" --quiet > "$WORK/q.out" 2> "$WORK/q.err"
rc=$?
set -e
[ $rc -eq 1 ] && [ ! -s "$WORK/q.out" ] && grep -q "tinydep" "$WORK/q.err" && ! grep -q "WARNINGS" "$WORK/q.err" \
  || fail "--quiet: exit $rc, stdout '$(cat "$WORK/q.out")'"
pass "--quiet prints the errors only"

# An sdist: refused without --allow-sdist, a warning with it.
$MKWHEEL "$WORK/wh" tinydep 1.0.0 >/dev/null
mkdir -p "$WORK/sd/oldpkg-0.1"
printf 'from setuptools import setup\nsetup(name="oldpkg", version="0.1")\n' > "$WORK/sd/oldpkg-0.1/setup.py"
tar -C "$WORK/sd" -czf "$WORK/wh/oldpkg-0.1.tar.gz" oldpkg-0.1
set +e
"$PACKER" check --env "$PY_PREFIX" -r "$REQ" --wheelhouse "$WORK/wh" --json > "$WORK/sd1.json"
rc=$?
set -e
[ $rc -eq 1 ] || fail "sdist without --allow-sdist: exit $rc (expected 1)"
python3 - "$WORK/sd1.json" <<'PY' || fail "sdist finding: $(cat "$WORK/sd1.json")"
import json, sys
r = json.load(open(sys.argv[1]))
f = [f for f in r["findings"] if f["code"] == "sdist"]
assert len(f) == 1 and f[0]["severity"] == "error" and f[0]["path"] == "oldpkg-0.1.tar.gz", f
assert "compiler" in f[0]["message"] and "--allow-sdist" in f[0]["hint"]
assert r["errors"] == 1, r["findings"]
PY
"$PACKER" check --env "$PY_PREFIX" -r "$REQ" --wheelhouse "$WORK/wh" --allow-sdist --json > "$WORK/sd2.json" \
  || fail "sdist with --allow-sdist (not required by anything): exit $?"
python3 - "$WORK/sd2.json" <<'PY' || fail "sdist with --allow-sdist: $(cat "$WORK/sd2.json")"
import json, sys
r = json.load(open(sys.argv[1]))
f = [f for f in r["findings"] if f["code"] == "sdist"]
assert len(f) == 1 and f[0]["severity"] == "warning", f
PY
pass "sdist refused without --allow-sdist, a warning with it"

# Not a Python environment: usage error, exit 2.
mkdir -p "$WORK/empty"
set +e
"$PACKER" check --env "$WORK/empty" 2> "$WORK/e.err" >/dev/null
rc=$?
set -e
[ $rc -eq 2 ] || fail "not an environment: exit $rc (expected 2): $(cat "$WORK/e.err")"
pass "a directory that is no environment is a usage error (exit 2)"

# Packing (checks, pip's rehearsal, the walk) leaves the environment as it
# was: the environment's own pip runs with -B, so no bytecode is written
# into it, not even where its __pycache__ is missing.
cp -a "$PY_PREFIX" "$WORK/envcopy"
find "$WORK/envcopy/lib" -path '*/site-packages/pip/*' -name __pycache__ -prune -exec rm -rf {} +
[ -z "$(find "$WORK/envcopy/lib" -path '*/site-packages/pip/*' -name __pycache__)" ] || fail "could not remove pip's bytecode"
(cd "$WORK/envcopy" && find . -printf '%p %s %T@\n' | sort) > "$WORK/before.txt"
make_keys
rm -f "$WORK"/wh/oldpkg-0.1.tar.gz
"$PACKER" pack --env "$WORK/envcopy" -r "$REQ" --wheelhouse "$WORK/wh" --level 1 -s "$WORK/keys/signing.key" \
  -R "$RECIPIENT" -o "$WORK/copy.sealed" --audit-log "$WORK/audit-packer.jsonl" -q \
  || fail "pack of the copied environment failed (exit $?)"
(cd "$WORK/envcopy" && find . -printf '%p %s %T@\n' | sort) > "$WORK/after.txt"
diff "$WORK/before.txt" "$WORK/after.txt" > "$WORK/env.diff" \
  || fail "packing changed the environment: $(head -5 "$WORK/env.diff")"
pass "packing with checks writes nothing into the environment (no bytecode for pip)"
