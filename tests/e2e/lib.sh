# Shared helpers for the end-to-end tests (sourced, not run).
set -euo pipefail

SRC=${AIRLOCK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${AIRLOCK_BIN_DIR:-$SRC/build/bin}
PACKER=$BIN/packer
UNPACKER=$BIN/unpacker
MKWHEEL="python3 $SRC/tests/tools/mkwheel.py"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# A fresh work directory removed on exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/airlock-e2e-XXXXXX")
cleanup_work() { chmod -R u+rwx "$WORK" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup_work EXIT

# The CPython prefix to pack: $AIRLOCK_TEST_PYTHON, default
# $(pyenv root)/versions/3.12.1. In CI (AIRLOCK_REQUIRE_PYTHON=1) a missing
# prefix fails the test; elsewhere the test is skipped (exit 77 is reported
# by ctest as a failure unless SKIP_RETURN_CODE is set, so print and exit 0
# only outside CI).
find_python_prefix() {
  local root
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  PY_PREFIX=${AIRLOCK_TEST_PYTHON:-$root/versions/3.12.1}
  if [ ! -x "$PY_PREFIX/bin/python3" ]; then
    if [ "${AIRLOCK_REQUIRE_PYTHON:-0}" = 1 ] || [ "${CI:-}" = true ]; then
      fail "no CPython prefix at $PY_PREFIX (set AIRLOCK_TEST_PYTHON to one)"
    fi
    echo "SKIP: no CPython prefix at $PY_PREFIX (set AIRLOCK_TEST_PYTHON)"; exit 0
  fi
  PY_BIN=$(ls "$PY_PREFIX"/bin/python3.* | grep -E 'python3\.[0-9]+$' | head -1)
  PY_VER=$("$PY_BIN" -c 'import sys;print("%d.%d.%d" % sys.version_info[:3])')
}

# Keys for a round trip: signing key pair and node identity in $WORK/keys.
make_keys() {
  mkdir -p "$WORK/keys"
  "$PACKER" keygen --unencrypted -o "$WORK/keys/signing.key" --audit-log "$WORK/audit-packer.jsonl" -q >/dev/null
  RECIPIENT=$("$UNPACKER" keygen -o "$WORK/keys/node.key" --audit-log "$WORK/audit-unpacker.jsonl" | grep -E '^age1' | head -1)
  [ -n "$RECIPIENT" ] || fail "unpacker keygen printed no recipient"
}

# A wheelhouse: a pure wheel 'tinydep', a pure wheel 'tinyapp' that requires
# it and has a console script, and a compiled extension wheel 'fastmath'.
make_wheelhouse() {
  local dir=$1
  mkdir -p "$dir"
  $MKWHEEL "$dir" tinydep 1.0.0 --module-text 'VALUE = 42' >/dev/null
  $MKWHEEL "$dir" tinyapp 2.1.0 --requires tinydep --script tinyapp >/dev/null
  $MKWHEEL "$dir" fastmath 0.3.0 --ext "$PY_PREFIX" >/dev/null
  printf 'tinyapp==2.1.0\nfastmath==0.3.0\n' > "$dir/../requirements.txt"
}
