#!/usr/bin/env bash
# Fault injection: a destination file system that fills up (exit 2, nothing
# left), too little free space up front (exit 2 before writing), SIGKILL in
# the middle of extraction (DEST never appears; the next run removes the
# stale staging and succeeds), SIGTERM (exit 130, nothing left).
source "$(dirname "$0")/lib.sh"
MK=$SRC/tests/tools/mkbundle.sh
cd "$WORK"
minisign -G -W -p s.pub -s s.key >/dev/null
age-keygen -o node.key 2>/dev/null
R=$(age-keygen -y node.key)
unpack() { "$UNPACKER" unpack -p s.pub -i node.key --no-install --audit-log "$WORK/audit.jsonl" -q "$@" >/dev/null; }
nothing_left() {  # DIR NAME
  [ ! -e "$1/$2" ] || fail "$3: DEST exists"
  ! ls -d "$1/$2".airlock-staging-* >/dev/null 2>&1 || fail "$3: staging left behind"
}

# 1. Many small files: each costs 1 KiB of tar but a 4 KiB page on tmpfs,
#    so the free-space check (content-bytes) passes and the disk fills.
mkdir -p small/env/lib small/airlock
python3 - <<'PY'
import os
for d in range(40):
    os.makedirs("small/env/lib/d%02d" % d)
    for i in range(150):
        open("small/env/lib/d%02d/f%03d.py" % (d, i), "w").write("x = %d\n" % i)
PY
"$MK" -s s.key -r "$R" small small.sealed >/dev/null
cbytes=$(tar -xOf small.sealed LABEL.txt | sed -n 's/^content-bytes: //p')
mkdir -p fs
mount -t tmpfs -o size=$((cbytes * 3 / 2)) airlock-test fs
trap 'umount "$WORK/fs" 2>/dev/null || true; cleanup_work' EXIT
rc=0; "$UNPACKER" unpack -p s.pub -i node.key --no-install --audit-log "$WORK/audit.jsonl" -q small.sealed \
  -C fs/dest >/dev/null 2>err.txt || rc=$?
[ "$rc" = 2 ] || { cat err.txt; fail "disk full: exit $rc, expected 2"; }
grep -q "No space left" err.txt || fail "disk full: error does not say so: $(cat err.txt)"
nothing_left fs dest "disk full"
[ -z "$(ls -A fs)" ] || fail "disk full: the file system is not empty: $(ls -A fs)"
[ "$(df --output=used -B1 fs | tail -1)" -lt 1048576 ] || fail "disk full: space not given back"
pass "destination file system fills up: exit 2, nothing left"

umount fs
mount -t tmpfs -o size=$((cbytes / 2)) airlock-test fs
rc=0; unpack small.sealed -C fs/dest 2>err.txt || rc=$?
[ "$rc" = 2 ] && grep -q "not enough free space" err.txt || fail "free-space check: exit $rc: $(cat err.txt)"
nothing_left fs dest "free-space check"
pass "too little free space refused before writing (exit 2)"
umount fs

# 2. A bigger bundle (incompressible data), so extraction takes a while.
mkdir -p big/env/data big/airlock
for i in $(seq 1 24); do head -c 16000000 /dev/urandom > big/env/data/blob$i; done
for i in $(seq 1 3000); do echo "$i" > big/env/data/s$i.txt; done
"$MK" -s s.key -r "$R" big big.sealed >/dev/null
mkdir -p parent
wait_for_files() {  # waits until the staging holds some files
  for _ in $(seq 1 400); do
    if ls -d parent/dest.airlock-staging-*/env/data >/dev/null 2>&1 &&
       [ "$(ls parent/dest.airlock-staging-*/env/data | wc -l)" -gt 3 ]; then return 0; fi
    sleep 0.02
  done
  return 1
}

"$UNPACKER" unpack -p s.pub -i node.key --no-install --audit-log "$WORK/audit.jsonl" -q big.sealed \
  -C parent/dest >/dev/null 2>&1 &
pid=$!
wait_for_files || { kill -9 $pid 2>/dev/null; fail "extraction never started"; }
kill -9 $pid; wait $pid 2>/dev/null || true
[ ! -e parent/dest ] || fail "SIGKILL: DEST appeared"
ls -d parent/dest.airlock-staging-$pid >/dev/null || fail "SIGKILL: expected the killed run's staging"
"$UNPACKER" unpack -p s.pub -i node.key --no-install --audit-log "$WORK/audit.jsonl" -q big.sealed \
  -C parent/dest >/dev/null 2>err.txt || fail "run after SIGKILL failed: $(cat err.txt)"
grep -q "removing stale staging" err.txt || fail "stale staging not reported"
[ ! -e parent/dest.airlock-staging-$pid ] || fail "stale staging not removed"
cmp big/env/data/blob24 parent/dest/env/data/blob24 || fail "content differs after the second run"
pass "SIGKILL mid-extraction: no DEST; the next run removed the stale staging and succeeded"

"$UNPACKER" unpack -p s.pub -i node.key --no-install --audit-log "$WORK/audit.jsonl" -q big.sealed \
  -C parent/dest2 >/dev/null 2>err.txt &
pid=$!
for _ in $(seq 1 400); do ls -d parent/dest2.airlock-staging-*/env/data >/dev/null 2>&1 && break; sleep 0.02; done
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ "$rc" = 130 ] || fail "SIGTERM: exit $rc, expected 130"
nothing_left parent dest2 "SIGTERM"
grep -q '"outcome":"failed".*interrupted' audit.jsonl || fail "interruption not audited"
pass "SIGTERM mid-extraction: exit 130, nothing left"
