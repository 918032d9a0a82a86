#!/usr/bin/env bash
# A bundle sealed to a passphrase (age scrypt stanza) instead of a node key:
# the label says so, the right passphrase unpacks it, a wrong one is exit 1
# with nothing left behind.
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
printf 'correct horse battery staple\n' > "$WORK/pass"
printf 'wrong horse\n' > "$WORK/wrong"

"$PACKER" pack --env "$PY_PREFIX" --no-check -s "$WORK/keys/signing.key" --passphrase-file "$WORK/pass" \
  -o "$WORK/p.sealed" -q --audit-log "$WORK/audit.jsonl" || fail "pack with --passphrase-file failed"
tar -xOf "$WORK/p.sealed" LABEL.txt | grep -qx "recipients: passphrase" || fail "label does not say passphrase"
tar -xf "$WORK/p.sealed" -C "$WORK" payload.age
head -c 200 "$WORK/payload.age" | grep -aq "^-> scrypt " || fail "payload.age has no scrypt stanza"
pass "sealed to a passphrase: scrypt stanza, label says so"

set +e
"$UNPACKER" unpack -p "$WORK/keys/signing.pub" --passphrase-file "$WORK/wrong" "$WORK/p.sealed" -C "$WORK/bad" \
  --no-install -q --audit-log "$WORK/audit.jsonl" > /dev/null 2> "$WORK/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "wrong passphrase: exit $rc: $(cat "$WORK/err")"
grep -qi "passphrase" "$WORK/err" || fail "the error does not say the passphrase is wrong: $(cat "$WORK/err")"
[ -z "$(ls -d "$WORK"/bad* 2>/dev/null)" ] || fail "left behind: $(ls -d "$WORK"/bad*)"
pass "wrong passphrase: exit 1, nothing left"

"$UNPACKER" unpack -p "$WORK/keys/signing.pub" --passphrase-file "$WORK/pass" "$WORK/p.sealed" -C "$WORK/good" \
  -q --audit-log "$WORK/audit.jsonl" > /dev/null || fail "unpack with the passphrase failed"
[ -x "$WORK/good/env/bin/$(basename "$PY_BIN")" ] || fail "interpreter not unpacked"
pass "the right passphrase unpacks it"

# The bundle has no wheels: the install step starts no pip (its lock holds
# only the packer's comment line) and says so.
[ ! -e "$WORK/good/airlock/install.log" ] || fail "pip ran for a bundle without wheels: $(head -5 "$WORK/good/airlock/install.log")"
grep '"event":"install"' "$WORK/audit.jsonl" | tail -1 | grep -q "nothing to install" \
  || fail "install audit record: $(grep '"event":"install"' "$WORK/audit.jsonl" | tail -1)"
pass "no wheels: no pip, 'nothing to install' in the audit log"
echo PASS
