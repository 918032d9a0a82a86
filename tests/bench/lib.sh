# Shared by the benchmarks.

# The source tree, and the binaries timed: $AIRLOCK_BIN_DIR, or build/bin.
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${AIRLOCK_BIN_DIR:-$SRC/build/bin}

# make_keys BIN_DIR: in the current directory, a signing key (sign.key,
# PUB=its .pub) and a node identity (node.key, RCPT=its age1 recipient).
make_keys() {
  local bin=$1
  "$bin/packer" keygen --unencrypted -o sign.key --audit-log audit.jsonl -q >/dev/null
  RCPT=$("$bin/unpacker" keygen -o node.key --audit-log audit.jsonl 2>/dev/null | grep -E '^age1' | head -1)
  PUB=$(ls sign*.pub | head -1)
}

# make_bundle BIN_DIR PREFIX: make_keys, then b.sealed, a bundle of PREFIX
# packed with --no-check.
make_bundle() {
  local bin=$1 prefix=$2
  make_keys "$bin"
  "$bin/packer" pack --env "$prefix" --no-check -s sign.key -R "$RCPT" -o b.sealed --audit-log audit.jsonl -q >/dev/null
}

# median N...: the median of the numbers given (the mean of the middle two
# for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# A/B of two builds. ab_setup KIND OLD_BIN NEW_BIN [RUNS] [PREFIX]: sets
# OLD, NEW, RUNS (default 5), PREFIX (default $(pyenv root)/versions/3.11.7)
# and T, a scratch directory under $BENCH_DIR or $TMPDIR (removed on exit),
# and enters T.
ab_setup() {
  local kind=$1
  OLD=$(cd "$2" && pwd); NEW=$(cd "$3" && pwd)
  RUNS=${4:-5}
  PREFIX=${5:-$(pyenv root)/versions/3.11.7}
  bench_scratch "$kind-ab"
}

# bench_scratch NAME: T, a new scratch directory under $BENCH_DIR or
# $TMPDIR (removed on exit), entered.
bench_scratch() {
  T=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/$1-XXXXXX")
  trap 'rm -rf "$T"' EXIT
  cd "$T"
}

# ab_runs FN: alternates `FN $OLD` and `FN $NEW`, $RUNS times each (FN runs
# one command under `/usr/bin/time -f "%e %U %S" -o t.txt`), then prints
# each build's median wall and CPU (user+sys) time.
ab_runs() {
  local fn=$1 i k w u s
  # Keyed by side, not by directory: OLD and NEW may be the same build
  # (to see the noise), and their runs must not mix.
  declare -A W C DIR=([old]="$OLD" [new]="$NEW")
  for i in $(seq 1 "$RUNS"); do
    for k in old new; do
      "$fn" "${DIR[$k]}"
      read -r w u s < t.txt
      W[$k]+="$w "
      C[$k]+="$(echo "$u + $s" | bc) "
    done
  done
  for k in old new; do
    # shellcheck disable=SC2086
    echo "${DIR[$k]} ($k): median wall $(median ${W[$k]}) s, CPU $(median ${C[$k]}) s   (wall: ${W[$k]})"
  done
}
