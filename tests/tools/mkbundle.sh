#!/usr/bin/env bash
# Builds an airlock-bundle/1 sealed bundle from a directory tree with standard
# tools only (GNU tar, zstd, age, minisign; python3 for JSON and hashes),
# following docs/format.md. It proves the unpacker reads any conforming
# bundle, not only its own packer's, and is the base of the hostile suite.
#
# usage: mkbundle.sh -s SIGNING.key -r age1... [options] SRC_DIR OUT.sealed
#   SRC_DIR holds env/, wheels/, airlock/ (e.g. airlock/requirements.lock)
#   -s KEY                minisign secret key (unencrypted: minisign -G -W)
#   -r RECIPIENT          age1... recipient (repeatable)
#   --marking TEXT        banner (default UNMARKED)
#   --source-prefix P     manifest source_prefix (default /nonexistent/prefix)
#   --interpreter PATH    manifest interpreter (default: first env/bin/python3*)
#   --relocate PATH:MODE  manifest relocate entry (repeatable)
#   --bundle-id UUID      fixed bundle id (default: random)
# Faults (the attacker holds the signing key, so signatures stay valid):
#   --inject KIND         hostile payload entry (tests/tools/payload.py kinds)
#   --bomb BYTES          a file of BYTES zeros; content-bytes stays small
#   --truncate-payload N  cut N bytes off payload.age before signing
#   --content-bytes N     label content-bytes override
#   --label-extra 'k: v'  extra label line
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KEY= MARKING=UNMARKED PREFIX=/nonexistent/prefix INTERP= BUNDLE_ID= INJECT= BOMB= TRUNC= CBYTES=
RECIPS=() RELOC=() EXTRA=()
while [ $# -gt 0 ]; do
  case $1 in
    -s) KEY=$2; shift 2 ;;
    -r) RECIPS+=(-r "$2"); shift 2 ;;
    --marking) MARKING=$2; shift 2 ;;
    --source-prefix) PREFIX=$2; shift 2 ;;
    --interpreter) INTERP=$2; shift 2 ;;
    --relocate) RELOC+=(--relocate "$2"); shift 2 ;;
    --bundle-id) BUNDLE_ID=$2; shift 2 ;;
    --inject) INJECT=$2; shift 2 ;;
    --bomb) BOMB=$2; shift 2 ;;
    --truncate-payload) TRUNC=$2; shift 2 ;;
    --content-bytes) CBYTES=$2; shift 2 ;;
    --label-extra) EXTRA+=("$2"); shift 2 ;;
    -*) echo "mkbundle.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] && [ -n "$KEY" ] && [ ${#RECIPS[@]} -gt 0 ] || { sed -n '2,25p' "$0" >&2; exit 2; }
SRC=$1 OUT=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/mkbundle-XXXXXX")
trap 'rm -rf "$T"' EXIT

[ -n "$BUNDLE_ID" ] || BUNDLE_ID=$(python3 -c 'import uuid;print(uuid.uuid4())')
if [ -z "$INTERP" ]; then
  INTERP=$(cd "$SRC" && ls env/bin/python3* 2>/dev/null | grep -E 'python3(\.[0-9]+)?$' | sort | tail -1 || true)
fi

# 1. The payload tar: GNU tar in pax format, roots in a fixed order, the
#    manifest (made from what tar stored) appended as the last member.
roots=()
for r in env wheels airlock; do [ -e "$SRC/$r" ] && roots+=("$r"); done
tar --format=posix --sort=name --owner=0 --group=0 --numeric-owner \
    --pax-option=delete=atime,delete=ctime --exclude=airlock/manifest.json \
    -C "$SRC" -cf "$T/content.tar" "${roots[@]}"
python3 "$HERE/payload.py" manifest "$T/content.tar" "$T/manifest.json" --bundle-id "$BUNDLE_ID" \
  --source-prefix "$PREFIX" --interpreter "$INTERP" ${RELOC[@]+"${RELOC[@]}"}
if [ -n "$INJECT" ]; then
  python3 "$HERE/payload.py" inject "$T/content.tar" "$T/manifest.json" "$T/payload.tar" "$INJECT"
else
  mkdir -p "$T/m/airlock" && cp "$T/manifest.json" "$T/m/airlock/manifest.json"
  cp "$T/content.tar" "$T/payload.tar"
  tar --format=posix --owner=0 --group=0 --numeric-owner --pax-option=delete=atime,delete=ctime \
      -C "$T/m" -rf "$T/payload.tar" airlock/manifest.json
fi
CONTENT_BYTES=$(stat -c %s "$T/payload.tar")
CONTENT_FILES=$(tar -tf "$T/payload.tar" 2>/dev/null | wc -l)

# 2. zstd, then age to the recipients. A bomb is a tar header followed by
#    gigabytes of zeros streamed straight into zstd (a few KiB compressed).
if [ -n "$BOMB" ]; then
  python3 "$HERE/payload.py" bomb-prefix "$T/bomb.tar" env/bomb "$BOMB"
  { cat "$T/bomb.tar"; head -c "$BOMB" /dev/zero; } | zstd -q -1 -c > "$T/payload.tar.zst"
else
  zstd -q -c "$T/payload.tar" > "$T/payload.tar.zst"
fi
[ -z "$CBYTES" ] || CONTENT_BYTES=$CBYTES
mkdir "$T/env"
age "${RECIPS[@]}" -o "$T/env/payload.age" "$T/payload.tar.zst"
[ -z "$TRUNC" ] || truncate -s "-$TRUNC" "$T/env/payload.age"

# 3. The label, then both signatures with the bundle id in the trusted comment.
KEYID=$(python3 - "$KEY" <<'EOF'
import base64, sys
line = [l for l in open(sys.argv[1]).read().splitlines() if l and not l.startswith("untrusted")][0]
raw = base64.b64decode(line)
print(raw[54:62][::-1].hex().upper())
EOF
)
{
  echo "$MARKING"
  echo "format: airlock-bundle/1"
  echo "bundle-id: $BUNDLE_ID"
  echo "created: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "marking: $MARKING"
  echo "signer-key-id: $KEYID"
  echo "recipients: $(printf '%s ' "${RECIPS[@]}" | sed 's/-r //g; s/ *$//')"
  echo "payload-bytes: $(stat -c %s "$T/env/payload.age")"
  echo "payload-sha256: $(sha256sum "$T/env/payload.age" | cut -d' ' -f1)"
  echo "content-bytes: $CONTENT_BYTES"
  echo "content-files: $CONTENT_FILES"
  echo "tool: mkbundle.sh (tar, zstd, age, minisign)"
  for e in ${EXTRA[@]+"${EXTRA[@]}"}; do echo "$e"; done
  echo
  echo "Built with standard tools by tests/tools/mkbundle.sh."
  echo "$MARKING"
} > "$T/env/LABEL.txt"
for m in payload.age LABEL.txt; do
  minisign -S -s "$KEY" -m "$T/env/$m" -x "$T/env/$m.minisig" \
    -t "airlock-bundle/1 bundle-id:$BUNDLE_ID file:$m" -c "signature of $m" </dev/null >/dev/null
done

# 4. The envelope: four regular members, in order.
tar --format=posix --owner=0 --group=0 --numeric-owner --pax-option=delete=atime,delete=ctime \
    -C "$T/env" -cf "$OUT" payload.age payload.age.minisig LABEL.txt LABEL.txt.minisig
echo "$BUNDLE_ID"
