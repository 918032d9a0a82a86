#!/usr/bin/env bash
# Benchmark: `unpacker unpack` (its default options) against the standard-tools
# pipeline `age -d | zstd -d | tar -x` on the same bundle, alternating runs.
# Reports each run's wall time, the median ratio (targets: at most 0.85
# on tmpfs, read churned there; 0.60 churned on ext4) and the
# unpacker's peak RSS (target <= 128 MiB) from /usr/bin/time -v.
#
# usage: tests/bench/unpack_vs_pipeline.sh [PREFIX] [RUNS]
#   PREFIX  environment to pack (default $(pyenv root)/versions/3.11.7)
#   RUNS    runs of each (default 5)
# Env: AIRLOCK_BIN_DIR (default build/bin), BENCH_DIR (scratch, default
# $TMPDIR), AIRLOCK_UNPACK_THREADS (writer threads), BENCH_FS_STATE:
#   settled  (default) outputs are kept until the end and the file system
#            rests first: file creation is cheap, both sides are CPU-bound.
#   churned  every run starts right after the previous run's tree (55,000
#            files) was deleted, as when an unpack is redone in place: on
#            ext4 each new inode is then allocated past the recently
#            deleted ones and file creation dominates (tar -x 25-30 s here).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PREFIX=${1:-$(pyenv root)/versions/3.11.7}
RUNS=${2:-5}
STATE=${BENCH_FS_STATE:-settled}
case "$STATE" in settled|churned) ;; *) echo "BENCH_FS_STATE must be settled or churned" >&2; exit 2 ;; esac
bench_scratch unpack-bench

make_bundle "$BIN" "$PREFIX"
tar -xf b.sealed payload.age
files=$(grep -E '^content-files:' <(tar -xOf b.sealed LABEL.txt) | cut -d' ' -f2)
cbytes=$(grep -E '^content-bytes:' <(tar -xOf b.sealed LABEL.txt) | cut -d' ' -f2)
echo "bundle of $PREFIX: $(stat -c %s b.sealed) bytes sealed, content-bytes $cbytes, $files files; file system state: $STATE"
echo "scratch: $T ($(df -T "$T" | awk 'NR==2 {print $2}'))"

wall() { grep 'Elapsed (wall clock)' "$1" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }
rss() { grep 'Maximum resident set size' "$1" | awk '{print $NF}'; }

if [ "$STATE" = settled ]; then
  # Outputs are kept until the end: on ext4 a tree deleted within the last
  # ~30 s makes every inode allocation scan past "recently deleted" inodes,
  # which would tax whichever side runs next. Both sides start on a
  # settled file system.
  sleep "${BENCH_SETTLE:-35}"
else
  # A first tree to delete before the first measured run.
  mkdir "$T/warm"
  age -d -i node.key payload.age | zstd -d -q | tar -x -C "$T/warm"
fi
prev="$T/warm"
fresh() {  # churned: delete the previous run's tree right before this run
  if [ "$STATE" = churned ]; then rm -rf "$prev"; prev=$1; fi
}
declare -a U P RSS
for i in $(seq 1 "$RUNS"); do
  sync
  fresh "$T/u$i"
  /usr/bin/time -v -o u.time "$BIN/unpacker" unpack -p "$PUB" -i node.key b.sealed -C "$T/u$i" \
      --audit-log audit.jsonl -q >/dev/null
  got=$(find "$T/u$i" -type f | wc -l)
  sync
  fresh "$T/p$i"
  mkdir "$T/p$i"
  /usr/bin/time -v -o p.time sh -c "age -d -i node.key payload.age | zstd -d -q | tar -x -C '$T/p$i'"
  U[i]=$(wall u.time) P[i]=$(wall p.time) RSS[i]=$(rss u.time)
  echo "run $i: unpacker ${U[i]} s (peak RSS $((RSS[i] / 1024)) MiB), pipeline ${P[i]} s, ratio $(echo "${U[i]} ${P[i]}" | awk '{printf "%.3f", $1/$2}')"
  [ "$got" -ge "$((files / 2))" ] || { echo "unpacker wrote too few files ($got)" >&2; exit 1; }
done
ratios=()
for i in $(seq 1 "$RUNS"); do ratios+=("$(echo "${U[i]} ${P[i]}" | awk '{print $1/$2}')"); done
maxrss=$(printf '%s\n' "${RSS[@]}" | sort -n | tail -1)
echo "median ($STATE): unpacker $(median "${U[@]}") s, pipeline $(median "${P[@]}") s, ratio $(median "${ratios[@]}"); max peak RSS $((maxrss / 1024)) MiB"
