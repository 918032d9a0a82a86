#!/usr/bin/env bash
# Benchmark: `unpacker verify-tree DEST` (its default options: walk, hash
# every file, compare with the record, check the audit log) against what a
# person would run without it, `find DEST -type f -print0 | xargs -0 -P
# NPROC sha256sum`, on the same unpacked tree, alternating runs. Prints
# each run's wall time and the median ratio.
#
# usage: tests/bench/verify_tree_vs_sha256sum.sh [PREFIX] [RUNS]
#   PREFIX  environment to pack and unpack (default $(pyenv root)/versions/3.11.7)
#   RUNS    runs of each (default 5)
# Env: AIRLOCK_BIN_DIR (default build/bin), BENCH_DIR (scratch, default $TMPDIR).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PREFIX=${1:-$(pyenv root)/versions/3.11.7}
RUNS=${2:-5}
bench_scratch verify-tree-bench

make_bundle "$BIN" "$PREFIX"
"$BIN/unpacker" unpack -p "$PUB" -i node.key b.sealed -C "$T/dest" --audit-log audit.jsonl -q >/dev/null
files=$(find "$T/dest" -type f | wc -l)
echo "tree of $PREFIX unpacked: $files files, $(du -sm "$T/dest" | cut -f1) MiB; scratch $T ($(df -T "$T" | awk 'NR==2 {print $2}'))"
# Both read from the page cache: one untimed run of each first.
"$BIN/unpacker" verify-tree "$T/dest" --audit-log audit.jsonl -q
find "$T/dest" -type f -print0 | xargs -0 -P "$(nproc)" sha256sum >/dev/null

declare -a V S R
for i in $(seq 1 "$RUNS"); do
  /usr/bin/time -f %e -o v.time "$BIN/unpacker" verify-tree "$T/dest" --audit-log audit.jsonl -q
  /usr/bin/time -f %e -o s.time sh -c "find '$T/dest' -type f -print0 | xargs -0 -P $(nproc) sha256sum >/dev/null"
  V[i]=$(cat v.time) S[i]=$(cat s.time)
  R[i]=$(echo "${V[i]} ${S[i]}" | awk '{print $1/$2}')
  echo "run $i: verify-tree ${V[i]} s, find | xargs sha256sum ${S[i]} s, ratio ${R[i]}"
done
echo "median: verify-tree $(median "${V[@]}") s, sha256sum $(median "${S[@]}") s, ratio $(median "${R[@]}")"
