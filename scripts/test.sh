#!/usr/bin/env bash
# Sets up, builds and runs every test (unit, interop, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DAIRLOCK_WERROR="${AIRLOCK_WERROR:-OFF}"
cd build
ctest --output-on-failure -j"${AIRLOCK_TEST_JOBS:-2}" "$@"
cd ..
# Fuzz smoke run, on a full run only: every harness (tests/fuzz) for 20 s
# under ASan and UBSan, two at a time; a finding fails the run.
# AIRLOCK_FUZZ_SECONDS=0 skips it.
if [ $# -eq 0 ] && [ "${AIRLOCK_FUZZ_SECONDS:-20}" != 0 ]; then
  if command -v clang++ >/dev/null; then
    AIRLOCK_FUZZ_JOBS=${AIRLOCK_FUZZ_JOBS:-2} scripts/fuzz.sh "${AIRLOCK_FUZZ_SECONDS:-20}"
  else
    echo "test: WARNING: clang++ not found, fuzz smoke run skipped (scripts/setup.sh installs it)" >&2
  fi
fi
