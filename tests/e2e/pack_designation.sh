#!/usr/bin/env bash
# The CUI designation indicator (DoDI 5200.48): a CUI marking without it is
# refused before the environment is read (exit 2, each missing key named,
# nothing written); bad values are refused; given as options and a file it
# goes into the signed label, and `unpacker verify` shows it under the banner.
source "$(dirname "$0")/lib.sh"
make_keys
cd "$WORK"
mkdir out
AUD=(--audit-log "$WORK/audit-packer.jsonl")
KEYS=(-s "$WORK/keys/signing.key" -R "$RECIPIENT")
POC='Jane Doe, 703-555-0100'

# $1 expected exit, $2 expected text in stderr, then packer pack's options.
# The environment does not exist: a refusal about anything else proves the
# designation was judged before the environment was read.
refused() {
  local want=$1 text=$2 rc=0
  shift 2
  "$PACKER" pack --env "$WORK/no-such-env" "${KEYS[@]}" -o out/x.sealed "${AUD[@]}" "$@" > pack.out 2> pack.err || rc=$?
  [ "$rc" = "$want" ] || fail "exit $rc, expected $want, for $*: $(cat pack.err)"
  grep -qF -- "$text" pack.err || fail "stderr for $* lacks '$text': $(cat pack.err)"
  [ ! -e out/x.sealed ] || fail "output written for $*"
  [ -z "$(ls -A out)" ] || fail "files left in out/: $(ls -A out)"
}

refused 2 "" --marking CUI
cat > want.err <<'EOF'
packer: error: the marking "CUI" needs the CUI designation indicator; missing --controlled-by, --cui-category, --dissemination and --poc
packer: hint: give each as an option, or as a 'key: value' line (controlled-by, cui-category, dissemination, poc) of --designation-file FILE; see docs/packing.md
EOF
diff -u want.err pack.err || fail "stderr of a CUI pack without a designation"
tail -1 audit-packer.jsonl | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["event"] == "pack" and r["outcome"] == "failed" and "missing --controlled-by" in r["detail"], r' \
  || fail "the refusal is not in the audit log"
pass "CUI without a designation: exit 2, all four named, nothing written, audited"

refused 2 "missing --cui-category and --dissemination" --marking 'CUI//SP-PRVCY' --controlled-by DARPA --poc "$POC"
refused 2 "missing --poc" --marking cui --controlled-by DARPA --cui-category PRVCY --dissemination FEDCON
pass "partial designations name exactly the missing keys (any case of CUI)"

# Values: one line, UTF-8, no control or bidirectional formatting characters.
# (Each case gives all four; the one under test last.)
refused 2 'contains a control character (U+001B)' --marking CUI --controlled-by DARPA --cui-category PRVCY \
  --dissemination FEDCON --poc $'Jane\e[2J Doe, 703-555-0100'
refused 2 'contains a bidirectional formatting character (U+202E)' --marking CUI --controlled-by DARPA \
  --cui-category PRVCY --poc "$POC" --dissemination $'\u202eNOCDEF'
refused 2 'is not valid UTF-8' --marking CUI --cui-category PRVCY --dissemination FEDCON --poc "$POC" \
  --controlled-by $'caf\xe9'
refused 2 '121 characters long, more than 120' --marking CUI --cui-category PRVCY --dissemination FEDCON \
  --poc "$POC" --controlled-by "$(printf 'x%.0s' {1..121})"
refused 2 'must name a person and a phone number' --marking CUI --controlled-by DARPA --cui-category PRVCY \
  --dissemination FEDCON --poc 'Jane Doe'
printf 'controlled-by: DARPA\nowner: me\n' > bad-key.txt
refused 2 'bad-key.txt: line 2: unknown key "owner"' --marking CUI --designation-file bad-key.txt
printf 'controlled-by: DARPA\r\n' > crlf.txt
refused 2 'crlf.txt: line 1 ends in a carriage return' --marking CUI --designation-file crlf.txt
refused 2 'no-such-file' --marking CUI --designation-file no-such-file
pass "bad values and files are refused, naming the value or the line"

# A complete designation gets past the check: the next refusal is the
# missing environment's.
printf '# project X\ncui-category: PRVCY\ndissemination: FEDCON\n' > half.txt
refused 2 "no-such-env" --marking CUI --designation-file half.txt --controlled-by DARPA --poc "$POC"
pass "a file and options together make a complete designation"

find_python_prefix
cat > designation.txt <<EOF
# The designation indicator of project X (DoDI 5200.48)
controlled-by: Defense Advanced Research Projects Agency, Information Innovation Office
cui-category: PRVCY
dissemination: FEDCON
poc: $POC
EOF
B=out/py.sealed
"$PACKER" pack --env "$PY_PREFIX" --no-check --level 1 "${KEYS[@]}" --marking 'CUI//SP-PRVCY' \
  --designation-file designation.txt --poc 'John Roe, 703-555-0199' -o "$B" "${AUD[@]}" -q \
  > pack.out 2> pack.err || fail "packer pack with a designation failed: $(cat pack.err)"
[ ! -s pack.err ] || fail "unexpected warnings: $(cat pack.err)"

# The signed label carries the keys (the command line's --poc over the file's).
mkdir env && tar -xf "$B" -C env
minisign -Vm env/LABEL.txt -p "$WORK/keys/signing.pub" > /dev/null || fail "LABEL.txt's signature"
sed -n '2,/^$/p' env/LABEL.txt > keys.txt
for kv in 'controlled-by: Defense Advanced Research Projects Agency, Information Innovation Office' \
          'cui-category: PRVCY' 'dissemination: FEDCON' 'poc: John Roe, 703-555-0199'; do
  grep -qxF "$kv" keys.txt || fail "label lacks '$kv': $(cat keys.txt)"
done
pass "the designation is in the signed label; --poc replaced the file's"

# unpacker verify prints it under the banner, DoDI 5200.48 style.
PUB="$WORK/keys/signing.pub"
"$UNPACKER" verify -p "$PUB" "$B" --audit-log "$WORK/audit-unpacker.jsonl" -q > shown.txt || fail "verify failed"
cat > want.txt <<'EOF'
CUI//SP-PRVCY
Controlled by: Defense Advanced Research Projects Agency, Information Innovation Office
CUI Category: PRVCY
Dissemination: FEDCON
POC: John Roe, 703-555-0199

format: airlock-bundle/1
EOF
diff -u want.txt <(head -7 shown.txt) || fail "unpacker verify's designation block"
[ "$(tail -1 shown.txt)" = 'CUI//SP-PRVCY' ] || fail "closing banner: $(tail -1 shown.txt)"
pass "unpacker verify shows the designation indicator under the banner"

# --json carries it too, for scripts.
"$UNPACKER" verify -p "$PUB" "$B" --audit-log "$WORK/audit-unpacker.jsonl" --json 2>/dev/null > v.json \
  || fail "verify --json failed"
"$PY_BIN" - v.json <<'PY' || fail "verify --json's designation: $(cat v.json)"
import json, sys
d = json.load(open(sys.argv[1]))["designation"]
assert d == {"controlled-by": "Defense Advanced Research Projects Agency, Information Innovation Office",
             "cui-category": "PRVCY", "dissemination": "FEDCON", "poc": "John Roe, 703-555-0199"}, d
PY
pass "unpacker verify --json gives the designation indicator"

# A media label of this real bundle renders.
"$PACKER" label "$B" -o labels "${AUD[@]}" -q || fail "packer label"
rsvg-convert -d 300 -p 300 labels/py.sealed.svg -o label.png || fail "rsvg-convert"
python3 - label.png <<'PY' || fail "label.png is not 89 x 51 mm at 300 dpi"
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", d[16:24])
assert (w, h) in [(a, b) for a in (1051, 1052) for b in (602, 603)], (w, h)
PY
grep -qF 'Controlled by:' labels/py.sealed.svg || fail "the media label has no designation"
pass "packer label on the bundle: an 89 x 51 mm label that renders"
