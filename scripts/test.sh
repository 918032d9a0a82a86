#!/usr/bin/env bash
# Sets up, builds and runs every test (unit, interop, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DAIRLOCK_WERROR="${AIRLOCK_WERROR:-OFF}"
cd build
ctest --output-on-failure -j"${AIRLOCK_TEST_JOBS:-2}" "$@"
