#!/usr/bin/env bash
# A/B of two unpacker builds on the same bundle: alternates
# `unpacker unpack --no-install` of each, prints the median wall time and
# CPU time (user+sys) of each. For measuring a change; the machine is noisy,
# so only the alternating medians mean anything.
#
# usage: tests/bench/unpack_builds.sh OLD_BIN_DIR NEW_BIN_DIR [RUNS] [PREFIX]
#   RUNS    runs of each (default 5)
#   PREFIX  environment to pack (default $(pyenv root)/versions/3.11.7)
# Env: BENCH_DIR (scratch; a tmpfs keeps the file system's history out of
# it, e.g. `mount -t tmpfs -o size=3g tmpfs /mnt/bt`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
ab_setup unpack "$@"
make_bundle "$NEW" "$PREFIX"
echo "bundle of $PREFIX: $(stat -c %s b.sealed) bytes; scratch $T ($(df -T "$T" | awk 'NR==2 {print $2}'))"

unpack_once() {
  rm -rf out
  /usr/bin/time -f "%e %U %S" -o t.txt "$1/unpacker" unpack -p "$PUB" -i node.key b.sealed -C "$T/out" \
    --audit-log audit.jsonl -q >/dev/null
}
ab_runs unpack_once
