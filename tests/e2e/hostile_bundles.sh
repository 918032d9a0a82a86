#!/usr/bin/env bash
# The hostile-bundle suite. Bundles are built with standard tools
# (tests/tools/mkbundle.sh, payload.py, envelope.py); the attacker holds the
# signing key, so signatures are valid unless the case says otherwise. Each
# case checks the exit code, that neither DEST nor a staging directory is
# left, and that nothing was written elsewhere (listings of DEST's parent,
# of the work tree and of a sentinel directory, before and after).
source "$(dirname "$0")/lib.sh"
MK=$SRC/tests/tools/mkbundle.sh
ENV_PY="python3 $SRC/tests/tools/envelope.py"

cd "$WORK"
minisign -G -W -p signer.pub -s signer.key >/dev/null
minisign -G -W -p other.pub -s other.key >/dev/null
age-keygen -o node.key 2>/dev/null
age-keygen -o stranger.key 2>/dev/null
R=$(age-keygen -y node.key)

# A small tree: a script to relocate, a data file, an empty lock.
mkdir -p tree/env/bin tree/env/lib tree/wheels tree/airlock
printf '#!/nonexistent/prefix/bin/python3\nprint("hi")\n' > tree/env/bin/tool
chmod 755 tree/env/bin/tool
echo hello > tree/env/lib/a.txt
: > tree/airlock/requirements.lock

mkdir -p bundles parent sentinel
echo keep > sentinel/file
# mk [mkbundle options...] OUT
mk() {
  local out=${*: -1}
  "$MK" -s signer.key -r "$R" --relocate env/bin/tool:text "${@:1:$#-1}" tree "$out" >/dev/null
}
mk bundles/good.sealed
mk bundles/other.sealed

snapshot() {
  { find "$WORK/parent" "$WORK/sentinel" "$WORK/tree" -printf '%p %s %m %y\n' | sort
    ls -la /tmp | grep -c airlock-hostile || true; } 2>/dev/null
}

CASES=0 FAILED=0
# check NAME EXPECTED_EXIT BUNDLE [extra unpack args...]
check() {
  local name=$1 want=$2 bundle=$3; shift 3
  CASES=$((CASES + 1))
  local before after rc=0
  before=$(snapshot)
  "$UNPACKER" unpack -p signer.pub -i "${ID:-node.key}" "$bundle" -C "$WORK/parent/dest" --no-install \
      --audit-log "$WORK/audit.jsonl" -q "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  after=$(snapshot)
  local why=
  [ "$rc" = "$want" ] || why="exit $rc, expected $want"
  [ ! -e "$WORK/parent/dest" ] || why="$why; DEST exists"
  ! ls -d "$WORK"/parent/dest.airlock-staging-* >/dev/null 2>&1 || why="$why; staging left"
  [ "$before" = "$after" ] || why="$why; something was written: $(diff <(echo "$before") <(echo "$after") | head -5 || true)"
  [ ! -e /tmp/airlock-hostile-absolute ] || why="$why; wrote /tmp/airlock-hostile-absolute"
  [ ! -e "$WORK/parent/escaped" ] && [ ! -e "$WORK/escaped" ] || why="$why; escaped via .."
  grep -q "unpacker: error:" "$WORK/err.txt" || why="$why; no error message"
  if [ -n "$why" ]; then
    FAILED=$((FAILED + 1))
    echo "FAIL: $name: $why"; sed 's/^/    /' "$WORK/err.txt" | head -5
  else
    echo "ok: $name (exit $rc: $(grep -m1 'error:' "$WORK/err.txt" | cut -c1-110))"
  fi
}

# The good bundle unpacks (and the suite's checks would notice otherwise).
"$UNPACKER" unpack -p signer.pub -i node.key bundles/good.sealed -C "$WORK/ok" --no-install \
    --audit-log "$WORK/audit.jsonl" -q >/dev/null || fail "the good bundle does not unpack"
[ "$(head -1 "$WORK/ok/env/bin/tool")" = "#!$WORK/ok/env/bin/python3" ] || fail "relocation did not happen"
rm -rf "$WORK/ok"

# --- payload entry policy: exit 3 ---
for kind in dotdot absolute outside symlink chardev fifo hardlink-later hardlink-missing hardlink-dir \
            hardlink-outside setuid setgid sticky duplicate empty-name below-file deep long-name; do
  mk --inject "$kind" bundles/$kind.sealed
  check "policy: $kind" 3 bundles/$kind.sealed
done
mk --bomb 3221225472 bundles/bomb.sealed
[ "$(stat -c %s bundles/bomb.sealed)" -lt 2000000 ] || fail "the bomb bundle is not small"
check "decompression bomb (3 GiB of zeros)" 3 bundles/bomb.sealed
mk --content-bytes 4096 bundles/content-bytes-lie.sealed
check "more plaintext than content-bytes" 3 bundles/content-bytes-lie.sealed

# --- manifest: exit 1 ---
for kind in tamper unlisted missing manifest-parent after-manifest no-manifest mode; do
  mk --inject "$kind" bundles/$kind.sealed
  check "manifest: $kind" 1 bundles/$kind.sealed
done
grep -q 'has mode 0777, the manifest says 0755' "$WORK/err.txt" || fail "mode: $(cat "$WORK/err.txt")"

# --- a tar that other readers would see differently: exit 1 ---
# A hardlink with a size: GNU tar lists the header in its "data" as a
# member (env/zz-ghost), a reader that skipped the data would not; the
# officer's view (age, zstd, tar) and the unpacker's must not differ.
mk --inject hardlink-data bundles/hardlink-data.sealed
tar -xOf bundles/hardlink-data.sealed payload.age | age -d -i node.key | zstd -dq > hd.tar ||
  fail "cannot open the hardlink-data payload with tar, age and zstd"
tar -tf hd.tar 2>/dev/null | grep -qx env/zz-ghost || fail "GNU tar does not see the member hidden in a hardlink's data"
for kind in hardlink-data global-header one-zero-block; do
  [ -e bundles/$kind.sealed ] || mk --inject "$kind" bundles/$kind.sealed
  check "tar: $kind" 1 bundles/$kind.sealed
done

# --- envelope and signatures: exit 1 ---
for m in payload.age payload.age.minisig LABEL.txt LABEL.txt.minisig; do
  $ENV_PY flip bundles/good.sealed bundles/flip-$m.sealed $m
  check "bit flip in $m" 1 bundles/flip-$m.sealed
done
"$MK" -s other.key -r "$R" tree bundles/untrusted.sealed >/dev/null
check "untrusted signer" 1 bundles/untrusted.sealed
$ENV_PY swap-label bundles/good.sealed bundles/other.sealed bundles/swapped-label.sealed
check "label from another bundle" 1 bundles/swapped-label.sealed
$ENV_PY extra bundles/good.sealed bundles/extra.sealed
check "extra envelope member" 1 bundles/extra.sealed
for m in payload.age LABEL.txt.minisig; do
  $ENV_PY drop bundles/good.sealed bundles/missing-$m.sealed $m
  check "missing envelope member $m" 1 bundles/missing-$m.sealed
done
$ENV_PY reorder bundles/good.sealed bundles/reordered.sealed
check "reordered envelope members" 1 bundles/reordered.sealed
$ENV_PY symlink bundles/good.sealed bundles/symlink-member.sealed LABEL.txt
check "non-regular envelope member" 1 bundles/symlink-member.sealed
$ENV_PY trailing bundles/good.sealed bundles/trailing.sealed
check "data after the envelope" 1 bundles/trailing.sealed
mk --truncate-payload 100 bundles/truncated.sealed
check "truncated payload (re-signed)" 1 bundles/truncated.sealed
head -c 3000 bundles/good.sealed > bundles/cut.sealed
check "truncated envelope" 1 bundles/cut.sealed
ID=stranger.key check "not encrypted to this node" 1 bundles/good.sealed

# --- the destination ---
mkdir "$WORK/parent/dest"
CASES=$((CASES + 1))
rc=0; "$UNPACKER" unpack -p signer.pub -i node.key bundles/good.sealed -C "$WORK/parent/dest" --no-install \
    --audit-log "$WORK/audit.jsonl" -q >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && [ -z "$(ls -A "$WORK/parent/dest")" ] && echo "ok: existing DEST refused" \
  || { FAILED=$((FAILED + 1)); echo "FAIL: existing DEST: exit $rc"; }
rmdir "$WORK/parent/dest"

# Every refusal is in the audit log, and the chain is intact.
refusals=$(grep -c '"outcome":"refused"' "$WORK/audit.jsonl" || true)
"$UNPACKER" audit-verify "$WORK/audit.jsonl" >/dev/null || fail "audit log chain broken"
[ "$refusals" -ge $((CASES - 2)) ] || fail "only $refusals refusals audited for $CASES cases"

echo "hostile cases: $CASES, failed: $FAILED"
[ "$FAILED" = 0 ] || fail "$FAILED hostile cases not refused correctly"
pass "hostile bundles: $CASES cases refused, nothing left behind"
