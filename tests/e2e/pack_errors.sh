#!/usr/bin/env bash
# packer pack refuses bad input with a clear error naming the path, the
# documented exit status, and no output file left behind.
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
KEY=$WORK/keys/signing.key
OUT=$WORK/out
mkdir -p "$OUT"

# expect STATUS PATTERN -- packer pack args...: runs, checks status and
# stderr, and that $OUT is still empty.
expect() {
  local want=$1 pattern=$2; shift 3
  set +e
  "$PACKER" pack "$@" -s "$KEY" --audit-log "$WORK/audit.jsonl" -o "$OUT/b.sealed" >"$WORK/o" 2>"$WORK/e"
  local got=$?
  set -e
  [ "$got" = "$want" ] || fail "exit $got, wanted $want: $(cat "$WORK/e")"
  grep -q -- "$pattern" "$WORK/e" || fail "stderr lacks '$pattern': $(cat "$WORK/e")"
  [ -z "$(ls -A "$OUT")" ] || fail "output left behind: $(ls -A "$OUT")"
}

# A small environment: a copy of the interpreter and libpython, the standard
# library reached through a symlink that leads outside the tree (as conda's
# package cache does).
mk_env() {
  local e=$1
  mkdir -p "$e/bin" "$e/lib"
  cp "$PY_BIN" "$e/bin/"
  cp -P "$PY_PREFIX"/lib/libpython3*.so* "$e/lib/" 2>/dev/null || true
  ln -s "$PY_PREFIX/lib/$(basename "$PY_BIN")" "$e/lib/$(basename "$PY_BIN")"
}

# 1. A venv is refused, saying why and what to do instead.
"$PY_BIN" -m venv --without-pip "$WORK/venv"
expect 2 "venv" -- --env "$WORK/venv" -R "$RECIPIENT"
grep -q "hint:" "$WORK/e" || fail "no hint for a venv"
pass "venv refused: $(head -1 "$WORK/e")"

# 2. Not an environment at all.
mkdir -p "$WORK/empty"
expect 2 "$WORK/empty" -- --env "$WORK/empty" -R "$RECIPIENT"
pass "non-environment refused"

# 3. A bad recipient, and no recipient at all.
expect 2 "age1nope" -- --env "$PY_PREFIX" -R age1nope
expect 2 "recipient" -- --env "$PY_PREFIX"
pass "bad or missing recipient refused before any work"

# 4. A dangling link names the link and its target.
mk_env "$WORK/e1"
ln -s "$WORK/nowhere/libgone.so" "$WORK/e1/lib/libgone.so"
expect 2 "libgone.so" -- --env "$WORK/e1" -R "$RECIPIENT" --no-check
grep -q "nowhere/libgone.so" "$WORK/e" || fail "dangling target not named: $(cat "$WORK/e")"
grep -q -- "--skip-broken-links" "$WORK/e" || fail "no hint about --skip-broken-links"
pass "dangling link refused with its target"

# 5. A directory loop names the link.
mk_env "$WORK/e2"
ln -s .. "$WORK/e2/lib/loop"
expect 2 "loop" -- --env "$WORK/e2" -R "$RECIPIENT" --no-check
pass "directory loop refused: $(grep error "$WORK/e" | head -1)"

# 6. --skip-broken-links packs and records what it left out.
"$PACKER" pack --env "$WORK/e1" -R "$RECIPIENT" --no-check --skip-broken-links -s "$KEY" \
  --audit-log "$WORK/audit.jsonl" -o "$OUT/skip.sealed" -q || fail "--skip-broken-links did not pack"
mkdir "$WORK/x" && tar -xf "$OUT/skip.sealed" -C "$WORK/x"
age -d -i "$WORK/keys/node.key" "$WORK/x/payload.age" | zstd -dq | tar -x -C "$WORK/x" airlock/manifest.json
python3 - "$WORK/x/airlock/manifest.json" <<'PY' || fail "skipped link not recorded"
import json, sys
m = json.load(open(sys.argv[1]))
s = [x for x in m["skipped"] if x["path"].endswith("libgone.so")]
assert s and "nowhere/libgone.so" in s[0]["reason"], m["skipped"]
assert any(d["path"].startswith("env/lib/python3.") and d["was_link_to"].startswith("/") for d in m["dereferenced"]), "outside link not dereferenced"
PY
rm -f "$OUT/skip.sealed"
pass "--skip-broken-links records the skipped link; the outside link was dereferenced"

# 7. An existing output is not replaced without --force.
echo keep > "$OUT/b.sealed"
set +e
"$PACKER" pack --env "$PY_PREFIX" -R "$RECIPIENT" -s "$KEY" --no-check -o "$OUT/b.sealed" --audit-log "$WORK/audit.jsonl" 2>"$WORK/e"
rc=$?
set -e
[ "$rc" = 2 ] && grep -q -- "--force" "$WORK/e" && [ "$(cat "$OUT/b.sealed")" = keep ] || fail "existing output: rc $rc $(cat "$WORK/e")"
rm -f "$OUT/b.sealed"
pass "existing output kept without --force"

# 7b. What can be refused without reading the environment is refused
# before it is read: with --env naming a directory that is no environment
# at all, each run must fail on its own mistake, not on the environment.
mkdir -p "$WORK/not-an-env"
echo keep > "$OUT/b.sealed"
refused_first() {  # PATTERN -- args...
  local pattern=$1; shift 2
  set +e
  "$PACKER" pack --env "$WORK/not-an-env" "$@" --audit-log "$WORK/audit.jsonl" 2>"$WORK/e" >/dev/null
  local rc=$?
  set -e
  [ "$rc" != 0 ] || fail "refused first: exit 0 for $*"
  grep -q -- "$pattern" "$WORK/e" || fail "refused first: '$pattern' not said for $*: $(cat "$WORK/e")"
  ! grep -q "is not a Python environment" "$WORK/e" || fail "refused first: the environment was read for $*: $(cat "$WORK/e")"
}
refused_first "exists" -- -R "$RECIPIENT" -s "$KEY" -o "$OUT/b.sealed"
rm -f "$OUT/b.sealed"
refused_first "$WORK/no.key" -- -R "$RECIPIENT" -s "$WORK/no.key" -o "$OUT/b.sealed"
refused_first "age1" -- -R age1notarecipient -s "$KEY" -o "$OUT/b.sealed"
refused_first "$WORK/no-reqs.txt" -- -R "$RECIPIENT" -s "$KEY" -r "$WORK/no-reqs.txt" --wheelhouse "$WORK" -o "$OUT/b.sealed"
refused_first "needs --target" -- -R "$RECIPIENT" -s "$KEY" --portable -o "$OUT/b.sealed"
refused_first "target" -- -R "$RECIPIENT" -s "$KEY" --target nosuchos -o "$OUT/b.sealed"
refused_first "volume" -- -R "$RECIPIENT" -s "$KEY" --volume-size 12XB -o "$OUT/b.sealed"
echo "not a key" > "$WORK/junk.key"
refused_first "$WORK/junk.key" -- -R "$RECIPIENT" -s "$WORK/junk.key" -o "$OUT/b.sealed"
echo right > "$WORK/pw"; echo wrong > "$WORK/bad-pw"
"$PACKER" keygen -o "$WORK/enc.key" --passphrase-file "$WORK/pw" --audit-log "$WORK/audit.jsonl" -q
refused_first "wrong passphrase" -- -R "$RECIPIENT" -s "$WORK/enc.key" --key-passphrase-file "$WORK/bad-pw" -o "$OUT/b.sealed"
set +e
"$PACKER" pack -R "$RECIPIENT" -s "$KEY" -o "$OUT/b.sealed" --audit-log "$WORK/audit.jsonl" 2>"$WORK/e"
rc=$?
set -e
[ "$rc" = 2 ] && grep -q -- "--env is required" "$WORK/e" || fail "missing --env: rc $rc $(cat "$WORK/e")"
[ -z "$(ls -A "$OUT")" ] || fail "refused first: output left behind: $(ls -A "$OUT")"
pass "output, key (missing, malformed, wrong passphrase), recipient, requirements, --portable, --target, --volume-size and a missing --env refused before the environment is read"

# 8. SIGINT in the middle of a pack: exit 130, no output, no partial file,
# the failure audited. interrupt_pack LEVEL WAIT: starts a pack at LEVEL,
# sends SIGINT WAIT seconds after its output appears; sets rc and elapsed.
interrupt_pack() {
  : > "$WORK/audit-int.jsonl"
  "$PACKER" pack --env "$PY_PREFIX" -R "$RECIPIENT" -s "$KEY" --no-check --level "$1" \
    -o "$OUT/int.sealed" --audit-log "$WORK/audit-int.jsonl" -q 2>"$WORK/e" &
  local pid=$! t0
  for _ in $(seq 100); do [ -n "$(ls -A "$OUT")" ] && break; sleep 0.05; done
  sleep "$2"
  t0=$(date +%s)
  kill -INT $pid
  set +e; wait $pid; rc=$?; set -e
  elapsed=$(( $(date +%s) - t0 ))
  [ "$rc" = 130 ] || fail "SIGINT at level $1: exit $rc: $(cat "$WORK/e")"
  [ -z "$(ls -A "$OUT")" ] || fail "SIGINT at level $1 left $(ls -A "$OUT")"
  tail -1 "$WORK/audit-int.jsonl" | grep -q '"outcome":"failed".*interrupted' \
    || fail "SIGINT at level $1: no failure in the audit log: $(tail -1 "$WORK/audit-int.jsonl")"
}
interrupt_pack 6 0.5
pass "SIGINT: exit 130, nothing left behind, failure audited"

# At --level 19 a zstd job runs for tens of seconds and cannot be
# cancelled; the packer must not wait for it (it used to take 40 s here).
interrupt_pack 19 2
[ "$elapsed" -le 8 ] || fail "SIGINT at level 19: took ${elapsed} s to exit"
pass "SIGINT at --level 19: exit 130 in ${elapsed} s, nothing left, failure audited"

# 9. The checks of `packer check` run first: an incomplete wheelhouse (a
# dependency missing) stops the pack, names the distribution, writes nothing.
mkdir -p "$WORK/wh"
$MKWHEEL "$WORK/wh" tinyapp 2.1.0 --requires tinydep >/dev/null
printf 'tinyapp==2.1.0\n' > "$WORK/req.txt"
expect 1 "tinydep" -- --env "$PY_PREFIX" -r "$WORK/req.txt" --wheelhouse "$WORK/wh" -R "$RECIPIENT"
grep -q "no bundle was written" "$WORK/e" || fail "the refusal does not say no bundle was written"
pass "checks refuse an incomplete wheelhouse before sealing: $(grep tinydep "$WORK/e" | head -1)"

# 11. A full disk: the bundle is written on a thread of its own behind the
# compression; its write error must still end the pack with exit 2, say
# what happened, and leave no partial file. An 8 MiB file system for a
# bundle of tens of MiB.
mkdir -p "$WORK/small"
mount -t tmpfs -o size=8m airlock-test "$WORK/small"
trap 'umount "$WORK/small" 2>/dev/null || true; cleanup_work' EXIT
set +e
"$PACKER" pack --env "$PY_PREFIX" -R "$RECIPIENT" -s "$KEY" --no-check -o "$WORK/small/b.sealed" \
  --audit-log "$WORK/audit.jsonl" 2>"$WORK/e"
rc=$?
set -e
[ "$rc" = 2 ] || fail "disk full: exit $rc, wanted 2: $(cat "$WORK/e")"
grep -q "No space left on device" "$WORK/e" || fail "disk full: stderr lacks the reason: $(cat "$WORK/e")"
grep -q "$WORK/small/b.sealed" "$WORK/e" || fail "disk full: stderr does not name the file: $(cat "$WORK/e")"
[ -z "$(ls -A "$WORK/small")" ] || fail "disk full: left behind: $(ls -A "$WORK/small")"
umount "$WORK/small"
pass "a full disk: exit 2, the reason and the file named, nothing left"

# 10. Failures are audited too.
grep -q '"outcome":"failed"' "$WORK/audit.jsonl" || fail "no audit record of a failed pack"
echo PASS
