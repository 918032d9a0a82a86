#!/usr/bin/env bash
# packer pack as users run it (its default options: the checks on, --level 3)
# against the standard-tool pipeline on the same prefix:
#   tar -ch PREFIX | zstd -T2 -3 | age -r R > f && minisign -S -m f
# Runs alternate (pipeline, packer, ...); prints the median wall ratio
# (packer/pipeline), the size ratio and the peak RSS of each.
#   tests/bench/pack_vs_pipeline.sh [PREFIX] [ROUNDS]
# BENCH_CACHE=warm (default): the prefix is read once first and stays in the
#   page cache; both sides are CPU-bound.
# BENCH_CACHE=cold: the page cache is dropped before every run (needs root:
#   writes /proc/sys/vm/drop_caches), as when an environment built earlier
#   is packed; reading 54,804 files from disk then dominates.
# BENCH_NO_CHECK=1: also time `packer pack --no-check` in the same rounds
#   (the default run is `packer pack` as users run it: the checks on).
# BENCH_TARGET=T: also time `packer pack --target T` (checks on) in the same
#   rounds; T=probe packs for this machine as a node: `unpacker probe`
#   writes its probe file first (a preset such as debian12 assumes only
#   the manylinux baseline, which a pyenv build's libbz2, libssl, ... exceed).
# BENCH_LEVEL=N: the packer's --level (default 3; the pipeline stays at -3),
#   to see what another level trades between time and size.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PREFIX=${1:-$(pyenv root)/versions/3.11.7}
ROUNDS=${2:-5}
CACHE=${BENCH_CACHE:-warm}
LEVEL=${BENCH_LEVEL:-3}
case "$CACHE" in
  warm) drop() { :; } ;;
  cold)
    [ -w /proc/sys/vm/drop_caches ] || { echo "BENCH_CACHE=cold needs root (writes /proc/sys/vm/drop_caches)" >&2; exit 2; }
    drop() { sync; echo 3 > /proc/sys/vm/drop_caches; } ;;
  *) echo "BENCH_CACHE must be warm or cold" >&2; exit 2 ;;
esac
bench_scratch pack-bench
W=$T

"$BIN/packer" keygen --unencrypted -o "$W/s.key" --audit-log "$W/a.jsonl" -q >/dev/null
minisign -G -W -p "$W/m.pub" -s "$W/m.key" >/dev/null
R=$("$BIN/unpacker" keygen -o "$W/id.key" --audit-log "$W/a.jsonl" | grep ^age1)
TARGET=${BENCH_TARGET:-}
if [ "$TARGET" = probe ]; then
  "$BIN/unpacker" probe -o "$W/node.probe" -q
  TARGET=$W/node.probe
fi
echo "prefix: $PREFIX ($(du -sh "$PREFIX" | cut -f1), $(find "$PREFIX" | wc -l) entries); $(nproc) cores; page cache $CACHE; packer --level $LEVEL, zstd -3"

# Warm the page cache for both.
tar -chf /dev/null "$PREFIX" 2>/dev/null

ours() {  # [--no-check]
  rm -f "$W/ours.sealed"
  drop
  /usr/bin/time -f "%e %M %U %S" -o "$W/t" "$BIN/packer" pack --env "$PREFIX" "$@" --level "$LEVEL" -s "$W/s.key" -R "$R" \
    -o "$W/ours.sealed" --quiet --audit-log "$W/a.jsonl"
  tail -1 "$W/t"
}
pipeline() {
  rm -f "$W/pipe.age" "$W/pipe.age.minisig"
  drop
  /usr/bin/time -f "%e %M %U %S" -o "$W/t" bash -c \
    "tar -chf - '$PREFIX' 2>/dev/null | zstd -q -T2 -3 | age -r '$R' > '$W/pipe.age' && minisign -S -s '$W/m.key' -m '$W/pipe.age' >/dev/null"
  cat "$W/t"
}

# What users run is `packer pack` with its default options (the checks on);
# BENCH_NO_CHECK=1 also times --no-check in the same rounds, for comparison.
ratios=(); nc_ratios=(); t_ratios=(); ours_rss=0; pipe_rss=0
for i in $(seq "$ROUNDS"); do
  read -r pt prss pu ps < <(pipeline)
  read -r ot orss ou os < <(ours)
  ratios+=("$(echo "scale=3; $ot / $pt" | bc)")
  line="round $i: packer ${ot}s wall, $(echo "$ou + $os" | bc)s CPU, peak ${orss} KiB;"
  if [ "${BENCH_NO_CHECK:-0}" = 1 ]; then
    read -r nt nrss nu ns < <(ours --no-check)
    nc_ratios+=("$(echo "scale=3; $nt / $pt" | bc)")
    line+="  --no-check ${nt}s wall, $(echo "$nu + $ns" | bc)s CPU;"
  fi
  if [ -n "$TARGET" ]; then
    read -r tt trss tu ts < <(ours --target "$TARGET")
    t_ratios+=("$(echo "scale=3; $tt / $pt" | bc)")
    line+="  --target ${tt}s wall, $(echo "$tu + $ts" | bc)s CPU;"
  fi
  echo "$line  pipeline ${pt}s wall, $(echo "$pu + $ps" | bc)s CPU, largest process ${prss} KiB"
  [ "$orss" -gt "$ours_rss" ] && ours_rss=$orss
  [ "$prss" -gt "$pipe_rss" ] && pipe_rss=$prss
done
median=$(median "${ratios[@]}")
osize=$(stat -c %s "$W/ours.sealed"); psize=$(stat -c %s "$W/pipe.age")
echo "median wall ratio (packer pack with its default options / pipeline, page cache $CACHE): $median"
[ "${#t_ratios[@]}" -eq 0 ] || echo "median wall ratio (packer pack --target ${BENCH_TARGET} / pipeline): $(median "${t_ratios[@]}")"
[ "${#nc_ratios[@]}" -eq 0 ] || echo "median wall ratio (packer pack --no-check / pipeline): $(median "${nc_ratios[@]}")"
echo "size ratio (bundle/pipeline .age): $(echo "scale=4; $osize / $psize" | bc) ($osize / $psize bytes)"
echo "peak RSS: packer $((ours_rss / 1024)) MiB; pipeline's largest process $((pipe_rss / 1024)) MiB"
