#!/usr/bin/env bash
# A/B of two packer builds on the same prefix: alternates
# `packer pack --no-check --level 3` of each, prints the median wall time and
# CPU time (user+sys) of each. For measuring a change; the machine is noisy,
# so only the alternating medians mean anything.
#
# usage: tests/bench/pack_builds.sh OLD_BIN_DIR NEW_BIN_DIR [RUNS] [PREFIX]
#   RUNS    runs of each (default 5)
#   PREFIX  environment to pack (default $(pyenv root)/versions/3.11.7)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
OLD=$(cd "$1" && pwd); NEW=$(cd "$2" && pwd)
RUNS=${3:-5}
PREFIX=${4:-$(pyenv root)/versions/3.11.7}
T=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/pack-ab-XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
make_keys "$NEW"
tar -chf /dev/null "$PREFIX" 2>/dev/null  # warm the page cache
echo "prefix $PREFIX; scratch $T"

declare -A W C
for i in $(seq 1 "$RUNS"); do
  for b in "$OLD" "$NEW"; do
    rm -f b.sealed
    /usr/bin/time -f "%e %U %S" -o t.txt "$b/packer" pack --env "$PREFIX" --no-check --level 3 -s sign.key -R "$RCPT" \
      -o b.sealed --audit-log audit.jsonl -q
    read -r w u s < t.txt
    W[$b]+="$w "
    C[$b]+="$(echo "$u + $s" | bc) "
  done
done
for b in "$OLD" "$NEW"; do
  # shellcheck disable=SC2086
  echo "$b: median wall $(median ${W[$b]}) s, CPU $(median ${C[$b]}) s   (wall: ${W[$b]})"
done
