#!/usr/bin/env bash
# Benchmark: `unpacker decrypt` against Debian's `age -d` on the same file.
#
#   tests/bench/decrypt_vs_age.sh [BUILD_BIN_DIR]
#
# Makes a 1 GiB random file (SIZE_MIB to change), encrypts it with `age` to an
# age-keygen identity, then alternates ROUNDS runs of each decryptor (writing
# to a file on the same file system, through stdout for both, so neither pays
# an fsync) under GNU time. Prints each run, the median wall time of each, the
# ratio ours/age (below 1: we are faster) and the peak RSS.
set -euo pipefail

BIN_DIR=${1:-${AIRLOCK_BIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}}
UNPACKER=$BIN_DIR/unpacker
SIZE_MIB=${SIZE_MIB:-1024}
ROUNDS=${ROUNDS:-5}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/airlock-bench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

for tool in age age-keygen /usr/bin/time "$UNPACKER"; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# age $(age --version); unpacker $("$UNPACKER" --version | head -1)"
echo "# making ${SIZE_MIB} MiB of random data and encrypting it with age..."
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/plain"
age-keygen -o "$WORK/key" 2>/dev/null
age -r "$(age-keygen -y "$WORK/key")" -o "$WORK/file.age" "$WORK/plain"
want=$(sha256sum < "$WORK/plain" | cut -d' ' -f1)
rm "$WORK/plain"
export AIRLOCK_AUDIT_LOG=$WORK/audit.jsonl

# run NAME CMD...: one timed run; appends "wall_s max_rss_kib user_s sys_s" to $WORK/NAME.
run() {
  local name=$1; shift
  rm -f "$WORK/out"
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time" "$@" > "$WORK/out"
  local got
  got=$(sha256sum < "$WORK/out" | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "$name: wrong plaintext" >&2; exit 1; }
  cat "$WORK/time" >> "$WORK/$name"
  printf '%-8s round %d: %s s wall, max RSS %s KiB, user %s s, sys %s s\n' "$name" "$round" $(cat "$WORK/time")
}

# Warm the page cache once for both.
cat "$WORK/file.age" > /dev/null
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then
    run unpacker "$UNPACKER" decrypt -i "$WORK/key" "$WORK/file.age"
    run age age -d -i "$WORK/key" "$WORK/file.age"
  else
    run age age -d -i "$WORK/key" "$WORK/file.age"
    run unpacker "$UNPACKER" decrypt -i "$WORK/key" "$WORK/file.age"
  fi
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ours=$(cut -d' ' -f1 "$WORK/unpacker" | median)
theirs=$(cut -d' ' -f1 "$WORK/age" | median)
ours_rss=$(cut -d' ' -f2 "$WORK/unpacker" | sort -n | tail -1)
theirs_rss=$(cut -d' ' -f2 "$WORK/age" | sort -n | tail -1)
echo "median wall time: unpacker ${ours} s, age ${theirs} s ($ROUNDS rounds, ${SIZE_MIB} MiB)"
echo "ratio unpacker/age: $(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", a / b}')"
cpu() { awk '{print $3 + $4}' "$WORK/$1" | median; }
echo "median CPU time (user+sys): unpacker $(cpu unpacker) s, age $(cpu age) s"
echo "peak RSS: unpacker $((ours_rss / 1024)) MiB, age $((theirs_rss / 1024)) MiB"
