#!/usr/bin/env bash
# The cost of judging against a target: `packer check --env PREFIX` (no
# wheelhouse: the library doctor alone) without a target, with
# --target debian12, and with --target debian11 --portable (the plan of
# what to carry), in alternating runs. Prints each median wall and CPU
# time and the ratios to the run without a target, and, as a yardstick
# from the standard tools on the same files, `readelf -dV` over every ELF
# file of the prefix.
#   tests/bench/check_target.sh [PREFIX] [ROUNDS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PREFIX=${1:-$(pyenv root)/versions/3.11.7}
ROUNDS=${2:-7}
bench_scratch check-target-bench

find "$PREFIX" -type f -exec sh -c 'head -c4 "$1" | grep -q ELF && echo "$1"' _ {} \; > elf.txt
echo "prefix: $PREFIX ($(wc -l < elf.txt) ELF files), $ROUNDS rounds"
run() {  # NAME CMD...: one timed run; appends wall and CPU to NAME's lists
  local name=$1; shift
  /usr/bin/time -f "%e %U %S" -o t.txt "$@" > /dev/null 2>&1 || true
  read -r w u s < <(tail -1 t.txt)  # after "Command exited with non-zero status N"
  WALL[$name]+="$w "
  CPU[$name]+="$(echo "$u + $s" | bc) "
}
declare -A WALL CPU
order=(none debian12 portable readelf)
"$BIN/packer" check --env "$PREFIX" > /dev/null 2>&1 || true  # warm the page cache
for _ in $(seq 1 "$ROUNDS"); do
  run none "$BIN/packer" check --env "$PREFIX"
  run debian12 "$BIN/packer" check --env "$PREFIX" --target debian12
  run portable "$BIN/packer" check --env "$PREFIX" --target debian11 --portable
  run readelf xargs -a elf.txt readelf -dVW
done
base=$(median ${WALL[none]})
for k in "${order[@]}"; do
  # shellcheck disable=SC2086
  w=$(median ${WALL[$k]}); c=$(median ${CPU[$k]})
  printf '%-9s median wall %6.3f s  CPU %6.3f s  ratio to no target %5.2f   (wall: %s)\n' \
    "$k" "$w" "$c" "$(echo "$w / $base" | bc -l)" "${WALL[$k]}"
done
