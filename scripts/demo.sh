#!/usr/bin/env bash
# The main job on a real example, from a fresh machine:
#   1. set up and build;
#   2. connected side: keys, a wheelhouse (a pure wheel with a dependency and
#      a compiled extension, built here), `packer pack` of a real CPython
#      prefix ($AIRLOCK_DEMO_PYTHON, default $(pyenv root)/versions/3.12.1);
#   3. secure side, simulated: no network and an empty tmpfs over the
#      packing side's prefix (unshare -mn, as root), `unpacker unpack` to a
#      new path, then import the packages with the unpacked interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
BIN=$PWD/build/bin
ROOT=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
PREFIX=${AIRLOCK_DEMO_PYTHON:-$ROOT/versions/3.12.1}
[ -x "$PREFIX/bin/python3" ] || { echo "demo: no CPython prefix at $PREFIX; set AIRLOCK_DEMO_PYTHON" >&2; exit 2; }
W=${AIRLOCK_DEMO_DIR:-$(mktemp -d /tmp/airlock-demo-XXXXXX)}
mkdir -p "$W"
echo "== demo directory: $W"
export AIRLOCK_AUDIT_LOG=$W/audit.jsonl

echo "== connected side: keys"
"$BIN/packer" keygen --unencrypted -o "$W/signing.key" --force
RECIPIENT=$("$BIN/unpacker" keygen -o "$W/node.key" --force | grep ^age1)

echo "== connected side: wheelhouse"
rm -rf "$W/wheels"
python3 tests/tools/mkwheel.py "$W/wheels" tinydep 1.0.0 --module-text 'VALUE = 42'
python3 tests/tools/mkwheel.py "$W/wheels" tinyapp 2.1.0 --requires tinydep --script tinyapp
python3 tests/tools/mkwheel.py "$W/wheels" fastmath 0.3.0 --ext "$PREFIX"
printf 'tinyapp==2.1.0\nfastmath==0.3.0\n' > "$W/requirements.txt"

echo "== connected side: packer pack"
"$BIN/packer" pack --env "$PREFIX" -r "$W/requirements.txt" --wheelhouse "$W/wheels" \
  -s "$W/signing.key" -R "$RECIPIENT" --marking CUI \
  --controlled-by 'Demo Office' --cui-category PRVCY --dissemination FEDCON --poc 'Jane Doe, 703-555-0100' \
  -o "$W/demo.sealed" --force

echo "== secure side (no network, $ROOT hidden): unpacker unpack"
rm -rf "$W/secure"
mkdir -p "$W/secure"
unshare -mn bash -euo pipefail -c '
  mount -t tmpfs tmpfs "$1"
  test -z "$(ls -A "$1")"
  "$2/unpacker" unpack -p "$3/signing.pub" -i "$3/node.key" "$3/demo.sealed" -C "$3/secure/py"
  "$3/secure/py/env/bin/python3" -c "import tinyapp, tinydep, fastmath; print(\"imported tinyapp\", tinyapp.__version__, \"tinydep.VALUE =\", tinydep.VALUE, \"fastmath.add(2, 3) =\", fastmath.add(2, 3))"
  "$3/secure/py/env/bin/tinyapp"
  "$3/secure/py/env/bin/pip3" --version
' demo "$ROOT" "$BIN" "$W"
"$BIN/unpacker" audit-verify "$W/audit.jsonl"
echo "== demo passed"
