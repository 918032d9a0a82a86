#!/usr/bin/env bash
# Configures and builds airlock into build/ (Release). Extra arguments go to
# cmake, e.g. -DAIRLOCK_WERROR=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
