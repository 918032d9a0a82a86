#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang, ASan + UBSan) and runs
# each for SECONDS (default 300), then prints per harness the executions,
# the coverage (libFuzzer's final cov and ft) and the findings.
#
# usage: scripts/fuzz.sh [SECONDS] [NAMES...]      e.g. scripts/fuzz.sh 600
#   NAMES   harnesses to run (tests/fuzz/NAME_fuzz.cc); default all
# environment:
#   AIRLOCK_FUZZ_DIR   build directory (default build-fuzz)
#   AIRLOCK_FUZZ_JOBS  harnesses run at the same time (default 1)
#
# A finding is a crash, a sanitizer report, an exception other than
# airlock::Error, an input taking more than 10 s or 2 GB: libFuzzer stops,
# keeps the input under DIR/findings/NAME/ and this script exits 1. Keep
# every such input under tests/fuzz/regressions/NAME/ once it is fixed.
# Corpora grow in DIR/corpus/NAME and are reused by the next run.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=300
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then SECONDS_EACH=$1; shift; fi
DIR=${AIRLOCK_FUZZ_DIR:-build-fuzz}
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd)
JOBS=${AIRLOCK_FUZZ_JOBS:-1}

ALL=()
for f in tests/fuzz/*_fuzz.cc; do n=${f##*/}; ALL+=("${n%_fuzz.cc}"); done
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=("${ALL[@]}")
for n in "${NAMES[@]}"; do
  [ -f "tests/fuzz/${n}_fuzz.cc" ] || { echo "fuzz: no harness '$n' (have: ${ALL[*]})" >&2; exit 2; }
done

CC_BIN=$(command -v clang || true) CXX_BIN=$(command -v clang++ || true)
if [ -z "$CC_BIN" ] || [ -z "$CXX_BIN" ]; then
  echo "fuzz: clang is not installed (scripts/setup.sh installs it)" >&2
  exit 2
fi
LAUNCHER=()
if command -v ccache >/dev/null; then
  LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# 1. Build (only the harnesses: the static unpacker cannot take the sanitizers).
start=$(date +%s)
# -O1 with asserts kept: libFuzzer's advice, and quicker to build than -O2;
# line tables only: file and line in the sanitizers' stacks for a fraction
# of full debug information's build time (CI builds this on every run).
cmake -S . -B "$DIR" -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_C_FLAGS_FUZZ="-O1 -gline-tables-only" \
  -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" \
  -DAIRLOCK_FUZZ=ON -DAIRLOCK_TESTS=OFF -DAIRLOCK_MAN=OFF \
  -DCMAKE_C_COMPILER="$CC_BIN" -DCMAKE_CXX_COMPILER="$CXX_BIN" "${LAUNCHER[@]}" >"$DIR/fuzz-configure.log" 2>&1 ||
  { cat "$DIR/fuzz-configure.log" >&2; exit 2; }
targets=()
for n in "${NAMES[@]}"; do targets+=(--target "fuzz_$n"); done
if ! cmake --build "$DIR" -j"${AIRLOCK_BUILD_JOBS:-2}" "${targets[@]}" >"$DIR/fuzz-build.log" 2>&1; then
  tail -40 "$DIR/fuzz-build.log" >&2
  echo "fuzz: build failed (whole log: $DIR/fuzz-build.log)" >&2
  exit 2
fi
echo "fuzz: built ${#NAMES[@]} harnesses in $(( $(date +%s) - start )) s"

# 2. Seeds: from the test vectors and fixtures (the kept regressions are
#    replayed on their own, below).
rm -rf "$DIR/seeds"
python3 tests/fuzz/seeds.py "$DIR/seeds"

# 3. Run.
SCRATCH="$DIR/scratch"
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
trap 'rm -rf "$SCRATCH"' EXIT
run_one() {
  local n=$1
  local corpus="$DIR/corpus/$n" findings="$DIR/findings/$n" log="$DIR/logs/$n.log"
  rm -rf "$findings"  # what an earlier run found is in its own log
  mkdir -p "$corpus" "$findings" "$DIR/logs" "$SCRATCH/$n"
  # -timeout: a unit over 10 s is a finding; -rss_limit_mb: so is 2 GB;
  # -malloc_limit_mb: one allocation over 2 GB is reported where it is made.
  local limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -artifact_prefix="$findings/")
  local rc=0
  # Every kept regression first, each run once as it is: in the corpus it
  # would be cut to libFuzzer's max_len, or (the 1 MiB label) set max_len
  # so high that every mutation is slow.
  local kept=()
  if [ -d "tests/fuzz/regressions/$n" ]; then
    while IFS= read -r f; do kept+=("$f"); done < <(find "tests/fuzz/regressions/$n" -type f ! -name README.md | sort)
  fi
  if [ ${#kept[@]} -gt 0 ]; then
    TMPDIR="$SCRATCH/$n" "$DIR/fuzz/fuzz_$n" "${limits[@]}" "${kept[@]}" >"$DIR/logs/$n.regressions.log" 2>&1 || rc=$?
  fi
  local dirs=("$corpus")
  [ -d "$DIR/seeds/$n" ] && dirs+=("$DIR/seeds/$n")
  local dict=()
  [ -f "tests/fuzz/$n.dict" ] && dict=(-dict="tests/fuzz/$n.dict")
  if [ "$rc" -eq 0 ]; then
    TMPDIR="$SCRATCH/$n" "$DIR/fuzz/fuzz_$n" -max_total_time="$SECONDS_EACH" -print_final_stats=1 "${limits[@]}" \
      "${dict[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?
  else
    cp "$DIR/logs/$n.regressions.log" "$log"
  fi
  echo "$rc" >"$DIR/logs/$n.rc"
}

rm -rf "$DIR/logs"
running=0
for n in "${NAMES[@]}"; do
  echo "fuzz: running $n for ${SECONDS_EACH} s"
  run_one "$n" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

# 4. Report.
printf '\n%-14s %12s %8s %8s %9s  %s\n' harness executions cov ft corpus findings
failed=0 passed=0
for n in "${NAMES[@]}"; do
  log="$DIR/logs/$n.log" rc=$(cat "$DIR/logs/$n.rc" 2>/dev/null || echo 99)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  covline=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$covline")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$covline")
  units=$(ls "$DIR/corpus/$n" | wc -l)
  found=$(find "$DIR/findings/$n" -type f | sort)
  if [ "$rc" != 0 ] || [ -n "$found" ]; then
    failed=$((failed + 1))
    printf '%-14s %12s %8s %8s %9s  %s\n' "$n" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$units" "FINDING (exit $rc)"
    for f in $found; do echo "               $f"; done
    echo "---- $log (end) ----"
    grep -E 'ERROR|SUMMARY|runtime error|terminate called|what\(\)|Test unit written' "$log" | head -20 || true
    echo "----"
  else
    passed=$((passed + 1))
    printf '%-14s %12s %8s %8s %9s  %s\n' "$n" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$units" "none"
  fi
done
echo "fuzz: ${SECONDS_EACH} s per harness, logs in $DIR/logs"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
