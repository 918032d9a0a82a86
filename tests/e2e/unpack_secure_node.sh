#!/usr/bin/env bash
# The secure-node round trip: pack a real CPython prefix (default
# $(pyenv root)/versions/3.12.1) with a wheelhouse (a pure wheel with a
# dependency and a console script, and a compiled extension wheel built
# here), then, in a new mount and network namespace where an empty tmpfs
# hides $(pyenv root) and there is no network, unpack to a new path, install
# offline, import the packages with the unpacked interpreter and run its
# pip3 and tinyapp console scripts. One wheel is also hardlinked under a
# name that is not a wheel's (left out of the bundle).
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
make_wheelhouse "$WORK/wheels"
# A second name for a wheel that is not a wheel's and sorts first: it is
# walked first and left out, and the wheel must still be carried whole.
ln "$WORK/wheels/tinydep-1.0.0-py3-none-any.whl" "$WORK/wheels/0-backup.bak"

"$PACKER" pack --env "$PY_PREFIX" --wheelhouse "$WORK/wheels" -r "$WORK/requirements.txt" \
  -s "$WORK/keys/signing.key" -R "$RECIPIENT" --marking CUI \
  --controlled-by 'Test Office' --cui-category PRVCY --dissemination FEDCON --poc 'Jane Doe, 703-555-0100' -o "$WORK/py.sealed" \
  --audit-log "$WORK/audit-packer.jsonl" -q >/dev/null || fail "packer pack failed"
PUB="$WORK/keys/signing.key.pub"
[ -f "$PUB" ] || PUB=$(ls "$WORK"/keys/*.pub | head -1)

# verify alone: the banner comes first.
"$UNPACKER" verify -p "$PUB" "$WORK/py.sealed" --audit-log "$WORK/audit.jsonl" -q > "$WORK/label.txt" \
  || fail "verify failed"
[ "$(head -1 "$WORK/label.txt")" = CUI ] || fail "label banner is not first: $(head -1 "$WORK/label.txt")"

PYROOT=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
DEST="$WORK/node/opt/py"
mkdir -p "$WORK/node/opt"
cat > "$WORK/inside.sh" <<INSIDE
set -euo pipefail
mount -t tmpfs none "$PYROOT"
[ -z "\$(ls -A "$PYROOT")" ] || { echo "pyenv root not hidden"; exit 1; }
! "$PY_PREFIX/bin/python3" -c pass 2>/dev/null || { echo "original prefix still usable"; exit 1; }
ip link set lo down 2>/dev/null || true
export PATH=/usr/bin:/bin PIP_INDEX_URL=http://pypi.invalid/simple HTTPS_PROXY=http://proxy.invalid:3128
"$UNPACKER" unpack -p "$PUB" -i "$WORK/keys/node.key" "$WORK/py.sealed" -C "$DEST" \
  --audit-log "$WORK/audit.jsonl" > "$WORK/unpack.out" 2> "$WORK/unpack.err"
"$DEST/env/bin/python3" -c 'import tinyapp, tinydep, fastmath, sys; print(sys.prefix); print(tinydep.VALUE); print("add", fastmath.add(40, 2))'
"$DEST/env/bin/pip3" --version
"$DEST/env/bin/tinyapp"
INSIDE
unshare -mn bash "$WORK/inside.sh" > "$WORK/inside.out" 2>&1 || { cat "$WORK/inside.out" "$WORK/unpack.err" 2>/dev/null | tail -40; fail "round trip on the simulated secure node failed"; }
cat "$WORK/inside.out"
grep -qx "$DEST/env" "$WORK/inside.out" || fail "sys.prefix is not the new path"
grep -qx 42 "$WORK/inside.out" || fail "tinydep did not import"
grep -qx "add 42" "$WORK/inside.out" || fail "the compiled extension did not work"
grep -q "^pip .* from $DEST/env/" "$WORK/inside.out" || fail "pip3 console script did not run from DEST"
[ "$(head -1 "$WORK/unpack.out")" = CUI ] || fail "unpack did not print the label banner first"
grep -q "Successfully installed" "$DEST/airlock/install.log" || fail "no pip install in the log"
for ev in verify decrypt extract install; do
  grep -q "\"event\":\"$ev\".*\"outcome\":\"ok\"" "$WORK/audit.jsonl" || fail "no ok '$ev' audit record"
done
"$UNPACKER" audit-verify "$WORK/audit.jsonl" >/dev/null || fail "audit chain broken"
pass "secure-node round trip: $PY_VER unpacked to a new path, offline install, imports and console scripts work"
