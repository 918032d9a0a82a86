#!/usr/bin/env bash
# packer check, shared-library doctor, on a real CPython prefix:
# - the pyenv-built interpreter's _ssl needs the host's libssl.so.3: a
#   warning with the host path, not an error;
# - a compiled extension in a wheel whose library exists nowhere (built
#   here, then deleted): an error naming the wheel member and the library.
source "$(dirname "$0")/lib.sh"
find_python_prefix

# libanswer.so, and a wheel whose extension links it.
mkdir -p "$WORK/lib" "$WORK/wh"
printf 'int answer_answer(void) { return 42; }\n' > "$WORK/answer.c"
gcc -shared -fPIC -Wl,-soname,libanswer.so -o "$WORK/lib/libanswer.so" "$WORK/answer.c"
$MKWHEEL "$WORK/wh" needslib 1.0.0 --ext "$PY_PREFIX" --ext-lib answer --ext-libdir "$WORK/lib" >/dev/null
printf 'needslib==1.0.0\n' > "$WORK/req.txt"

run_check() {
  set +e
  "$PACKER" check --env "$PY_PREFIX" -r "$WORK/req.txt" --wheelhouse "$WORK/wh" --json > "$WORK/$1.json" 2> "$WORK/$1.err"
  rc=$?
  set -e
}

# The library exists only in $WORK/lib, which is on no search path: the
# loader would not find it on the secure node either.
rm "$WORK/lib/libanswer.so"
run_check gone
[ $rc -eq 1 ] || fail "missing library: exit $rc (expected 1): $(cat "$WORK/gone.err")"
python3 - "$WORK/gone.json" <<'PY' || fail "missing library finding: $(cat "$WORK/gone.json")"
import json, sys
r = json.load(open(sys.argv[1]))
f = [f for f in r["findings"] if f["code"] == "library-not-found"]
assert len(f) == 1, f
f = f[0]
assert f["severity"] == "error"
assert f["path"].startswith("needslib-1.0.0-cp") and ":needslib/_speed.cpython-" in f["path"], f["path"]
assert "needs libanswer.so, which is nowhere" in f["message"], f["message"]
PY
pass "extension whose library exists nowhere: error names needslib/_speed and libanswer.so"

# The interpreter's own _ssl: libssl.so.3 from the host, a warning.
python3 - "$WORK/gone.json" "$PY_PREFIX" <<'PY' || fail "libssl warning: $(cat "$WORK/gone.json")"
import json, os, sys
r = json.load(open(sys.argv[1]))
ssl = [f for f in r["findings"] if f["code"] == "host-library" and "libssl.so.3" in f["message"]]
assert len(ssl) == 1, [f["message"] for f in r["findings"]]
f = ssl[0]
assert f["severity"] == "warning"
assert os.path.isabs(f["path"]) and f["path"].endswith("/libssl.so.3") and os.path.exists(f["path"]), f["path"]
assert not f["path"].startswith(os.path.realpath(sys.argv[2])), f["path"]
assert "lib-dynload/_ssl." in f["message"], f["message"]
assert not any(x["code"] == "host-library" and "libc.so.6" in x["message"] for x in r["findings"])
assert r["doctor"]["elf_files"] > 10
PY
pass "pyenv CPython's _ssl: libssl.so.3 from the host is a warning with its host path"

# Person-readable output: grouped, with counts and the closing line.
set +e
"$PACKER" check --env "$PY_PREFIX" -r "$WORK/req.txt" --wheelhouse "$WORK/wh" > "$WORK/gone.txt" 2>/dev/null
set -e
grep -q "^ERRORS (1)$" "$WORK/gone.txt" && grep -q "^  library-not-found (1)$" "$WORK/gone.txt" \
  && grep -qE "^WARNINGS \([0-9]+\)$" "$WORK/gone.txt" && grep -q "^1 error, " "$WORK/gone.txt" \
  || fail "text report: $(cat "$WORK/gone.txt")"
pass "text report groups findings with counts"

# packer pack runs the same checks alongside its stream, the doctor on the
# ELF tables the stream reads: a failing pack prints the report packer
# check prints and leaves nothing; a passing pack records in its manifest
# what packer check --json says.
make_keys
mkdir -p "$WORK/out"
set +e
"$PACKER" pack --env "$PY_PREFIX" -r "$WORK/req.txt" --wheelhouse "$WORK/wh" -s "$WORK/keys/signing.key" \
  -R "$RECIPIENT" -o "$WORK/out/b.sealed" --audit-log "$WORK/audit.jsonl" 2> "$WORK/pack.err" >/dev/null
rc=$?
set -e
[ "$rc" = 1 ] || fail "pack with a missing library: exit $rc: $(cat "$WORK/pack.err")"
[ -z "$(ls -A "$WORK/out")" ] || fail "pack left output: $(ls -A "$WORK/out")"
grep -v '^packer: ' "$WORK/pack.err" | grep -v '^$' > "$WORK/pack.report"
grep -v '^$' "$WORK/gone.txt" | head -n -1 > "$WORK/check.report"
head -n -1 "$WORK/pack.report" | diff -u "$WORK/check.report" - || fail "pack's report differs from packer check's"
pass "a failing pack prints packer check's report and leaves nothing"

"$PACKER" check --env "$PY_PREFIX" --json > "$WORK/env.json" 2>/dev/null || true
"$PACKER" pack --env "$PY_PREFIX" -s "$WORK/keys/signing.key" -R "$RECIPIENT" -o "$WORK/out/ok.sealed" \
  --audit-log "$WORK/audit.jsonl" -q 2>/dev/null || fail "pack without a wheelhouse failed"
tar -xOf "$WORK/out/ok.sealed" payload.age | age -d -i "$WORK/keys/node.key" | zstd -dcq \
  | tar -xO airlock/manifest.json > "$WORK/manifest.json"
python3 - "$WORK/env.json" "$WORK/manifest.json" <<'PY' || fail "the manifest's check record differs from packer check --json"
import json, sys
want, got = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["check"]
for key in want:
    assert want[key] == got.get(key), (key, want[key], got.get(key))
assert got["ran"] is True and got["doctor"]["elf_files"] > 10, got["doctor"]
PY
pass "a passing pack records what packer check --json says, field for field"
