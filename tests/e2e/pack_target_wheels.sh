#!/usr/bin/env bash
# Wheels for the target: with --download --target T pip is asked for wheels
# that run on T (every manylinux_2_Y up to T's glibc, this interpreter's
# tags), and the install rehearsal of packer check resolves the same way.
# Offline: a find-links directory holds the same project as
# manylinux_2_17, manylinux_2_28 and manylinux_2_34 wheels.
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
PY_TAG=$("$PY_BIN" -c 'import sys;print("cp%d%d" % sys.version_info[:2])')

IDX=$WORK/index
for glibc in 2_17 2_28 2_34; do
  $MKWHEEL "$IDX" multiwheel 1.0 --requires wheeldep --module-text "BUILT_FOR = 'manylinux_$glibc'" \
    --tag "$PY_TAG-$PY_TAG-manylinux_${glibc}_x86_64" >/dev/null
done
$MKWHEEL "$IDX" wheeldep 1.0 >/dev/null
printf 'multiwheel==1.0\n' > "$WORK/req.txt"

# The wheels of a bundle, from its verified manifest.
bundle_wheels() {
  "$UNPACKER" list -p "$WORK/keys/signing.pub" -i "$WORK/keys/node.key" "$1" --audit-log "$WORK/audit-list.jsonl" \
    2>/dev/null | grep -o 'wheels/[^ ]*\.whl' | sort
}

# The checks judge the environment too (built on this host, it would fail
# the doctor for an older target): --no-check keeps this about the wheels.
pack_for() {
  local target=$1 out=$WORK/$1.sealed
  "$PACKER" pack --env "$PY_PREFIX" -r "$WORK/req.txt" --download --no-index --find-links "$IDX" --target "$target" \
    --no-check -s "$WORK/keys/signing.key" -R "$RECIPIENT" -o "$out" --audit-log "$WORK/audit.jsonl" -q \
    2> "$WORK/$target.err" || fail "pack --download --target $target: $(cat "$WORK/$target.err")"
  bundle_wheels "$out"
}

for case in rhel8:2_28 debian12:2_34 rhel7:2_17; do
  target=${case%%:*} glibc=${case#*:}
  want="wheels/multiwheel-1.0-$PY_TAG-$PY_TAG-manylinux_${glibc}_x86_64.whl
wheels/wheeldep-1.0-py3-none-any.whl"
  got=$(pack_for "$target")
  [ "$got" = "$want" ] || fail "--target $target: expected the manylinux_$glibc wheel and wheeldep, got: $got"
  pass "pack --download --target $target takes the manylinux_$glibc wheel (and the pure dependency)"
done

# --target sets pip's tag options: giving one as well is a usage error,
# before pip runs or anything is written.
set +e
"$PACKER" pack --env "$PY_PREFIX" -r "$WORK/req.txt" --download --no-index --find-links "$IDX" --target rhel8 \
  --platform manylinux_2_34_x86_64 -s "$WORK/keys/signing.key" -R "$RECIPIENT" -o "$WORK/both.sealed" \
  --audit-log "$WORK/audit.jsonl" 2> "$WORK/both.err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "--target with --platform: exit $rc (expected 2): $(cat "$WORK/both.err")"
grep -q -- "--target rhel8 and --platform both given: --target already sets" "$WORK/both.err" \
  || fail "--target with --platform: $(cat "$WORK/both.err")"
grep -q "running pip download" "$WORK/both.err" \
  && fail "pip ran before the refusal"
[ ! -e "$WORK/both.sealed" ] || fail "output left behind"
pass "--target with an explicit --platform is refused (exit 2) before pip runs"

# packer check: a wheelhouse with only the manylinux_2_34 wheel. Without a
# target it is fine for this host; for rhel8 (glibc 2.28) the rehearsal
# names the wheel and the target.
WH=$WORK/wh34
mkdir -p "$WH"
cp "$IDX"/multiwheel-1.0-*manylinux_2_34_x86_64.whl "$IDX"/wheeldep-1.0-py3-none-any.whl "$WH/"
"$PACKER" check --env "$PY_PREFIX" -r "$WORK/req.txt" --wheelhouse "$WH" > "$WORK/host.out" 2>&1 \
  || fail "check without --target: exit $? (expected 0): $(cat "$WORK/host.out")"
pass "check without --target: the manylinux_2_34 wheel runs on this host"

set +e
"$PACKER" check --env "$PY_PREFIX" -r "$WORK/req.txt" --wheelhouse "$WH" --target rhel8 --json > "$WORK/rhel8.json" \
  2> "$WORK/rhel8.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "check --target rhel8: exit $rc (expected 1): $(cat "$WORK/rhel8.err")"
python3 - "$WORK/rhel8.json" "$PY_TAG" <<'PY' || fail "check --target rhel8: $(cat "$WORK/rhel8.json")"
import json, sys
r, tag = json.load(open(sys.argv[1])), sys.argv[2]
f = [f for f in r["findings"] if f["code"] == "incompatible-distribution"]
assert len(f) == 1, r["findings"]
want = (f"no wheel of multiwheel==1.0 runs on rhel8 (glibc 2.28): the wheelhouse has "
        f"multiwheel-1.0-{tag}-{tag}-manylinux_2_34_x86_64.whl (needs glibc 2.34)")
assert f[0]["severity"] == "error" and f[0]["message"].startswith(want), f[0]["message"]
assert "--target" in f[0]["hint"], f[0]["hint"]
assert r["rehearsal"]["ran"] and not r["rehearsal"]["resolved"], r["rehearsal"]
PY
pass "check --target rhel8 fails naming the manylinux_2_34 wheel and rhel8 (glibc 2.28)"

# The same wheelhouse with the manylinux_2_28 wheel added: the rehearsal
# for rhel8 resolves it; for debian12 (glibc 2.36) it prefers the 2_34 one.
cp "$IDX"/multiwheel-1.0-*manylinux_2_28_x86_64.whl "$WH/"
for case in rhel8:2_28 debian12:2_34; do
  target=${case%%:*} glibc=${case#*:}
  set +e
  "$PACKER" check --env "$PY_PREFIX" -r "$WORK/req.txt" --wheelhouse "$WH" --target "$target" --json \
    > "$WORK/$target.json" 2>/dev/null
  set -e
  python3 - "$WORK/$target.json" "$PY_TAG" "$glibc" <<'PY' || fail "check --target $target: $(cat "$WORK/$target.json")"
import json, sys
r, tag, glibc = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
codes = {f["code"] for f in r["findings"]}
assert not codes & {"incompatible-distribution", "missing-distribution", "rehearsal-failed"}, r["findings"]
files = sorted(d["file"] for d in r["rehearsal"]["resolved"])
assert files == [f"multiwheel-1.0-{tag}-{tag}-manylinux_{glibc}_x86_64.whl", "wheeldep-1.0-py3-none-any.whl"], files
PY
  pass "check --target $target: the rehearsal resolves the manylinux_$glibc wheel"
done
echo PASS
