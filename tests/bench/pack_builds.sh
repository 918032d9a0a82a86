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
ab_setup pack "$@"
make_keys "$NEW"
tar -chf /dev/null "$PREFIX" 2>/dev/null  # warm the page cache
echo "prefix $PREFIX; scratch $T"

pack_once() {
  rm -f b.sealed
  /usr/bin/time -f "%e %U %S" -o t.txt "$1/packer" pack --env "$PREFIX" --no-check --level 3 -s sign.key -R "$RCPT" \
    -o b.sealed --audit-log audit.jsonl -q
}
ab_runs pack_once
