#!/usr/bin/env bash
# packer keygen end to end: exit codes, file names and modes, refusal to
# overwrite, --force, the terminal prompt (through a pty), the audit record,
# and that minisign itself signs with the keys and verifies with the .pub.
set -uo pipefail
PACKER="${AIRLOCK_BIN_DIR:?}/packer"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
export AIRLOCK_AUDIT_LOG="$T/audit.jsonl"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_rc() { # expected-rc description command...
  local want=$1 what=$2; shift 2
  "$@" >out 2>err; local rc=$?
  [[ $rc == "$want" ]] || { fail "$what: exit $rc, wanted $want; stderr: $(cat err)"; }
}
mode() { stat -c %a "$1"; }
sign_and_verify() { # key pub [password]
  printf 'payload for %s\n' "$1" > "msg.$1"
  if [[ $# -ge 3 ]]; then
    printf '%s\n' "$3" | minisign -S -s "$1" -m "msg.$1" -t "tc for $1" >/dev/null 2>&1 || { fail "minisign -S with $1"; return; }
  else
    minisign -S -s "$1" -m "msg.$1" -t "tc for $1" </dev/null >/dev/null 2>&1 || { fail "minisign -S with $1"; return; }
  fi
  local tc
  tc=$(minisign -V -Q -p "$2" -m "msg.$1") || fail "minisign -V with $2"
  [[ $tc == "tc for $1" ]] || fail "trusted comment through minisign: '$tc'"
}

# --help documents the options and gives examples.
expect_rc 0 "--help" "$PACKER" keygen --help
grep -q -- "--unencrypted" out && grep -q "Examples:" out || fail "--help lacks options or examples"

# Unencrypted: FILE.key -> FILE.pub, 0600 secret, key id printed as in the .pub.
expect_rc 0 "keygen --unencrypted" "$PACKER" keygen -o signing.key --unencrypted
[[ -f signing.key && -f signing.pub && ! -e signing.key.pub ]] || fail "expected signing.key + signing.pub"
[[ $(mode signing.key) == 600 ]] || fail "secret key mode $(mode signing.key)"
id=$(sed -n 's/^key id: //p' out)
[[ ${#id} == 16 ]] || fail "no key id in output: $(cat out)"
# minisign writes the comment's id without leading zeros
grep -qx "untrusted comment: minisign public key $(sed 's/^0*//' <<< "$id")" signing.pub || fail "key id $id not in signing.pub"
grep -qx "$(sed -n 2p signing.pub)" out || fail "public key not printed"
sign_and_verify signing.key signing.pub
grep -q "\"event\":\"keygen\".*\"signer_key_id\":\"$id\"" audit.jsonl || fail "no keygen audit record for $id"

# No overwrite without --force: exit 2, files untouched, error + hint.
before=$(sha256sum signing.key signing.pub)
expect_rc 2 "keygen over an existing key" "$PACKER" keygen -o signing.key --unencrypted
grep -q "^packer: error: signing.key: already exists" err || fail "overwrite message: $(cat err)"
grep -q "^packer: hint: .*--force" err || fail "overwrite hint: $(cat err)"
[[ $(sha256sum signing.key signing.pub) == "$before" ]] || fail "existing key changed without --force"
# Only the .pub existing also blocks (and leaves no secret key behind).
"$PACKER" keygen -o other.key --unencrypted -q && rm other.key
expect_rc 2 "keygen over an existing .pub" "$PACKER" keygen -o other.key --unencrypted
[[ ! -e other.key ]] || fail "secret key left behind after the .pub clash"

# --force replaces both, still 0600.
expect_rc 0 "keygen --force" "$PACKER" keygen -o signing.key --unencrypted --force
[[ $(sha256sum signing.key signing.pub) != "$before" ]] || fail "--force did not replace the key"
[[ $(mode signing.key) == 600 ]] || fail "mode after --force $(mode signing.key)"
sign_and_verify signing.key signing.pub

# A name without .key gets .pub appended.
expect_rc 0 "keygen -o id" "$PACKER" keygen -o id --unencrypted --json
[[ -f id && -f id.pub ]] || fail "expected id + id.pub"
grep -q '"encrypted":false' out || fail "--json summary: $(cat out)"

# Encrypted with a passphrase file: minisign -S needs that password.
printf 'file pass phrase\n' > pw.txt
expect_rc 0 "keygen --passphrase-file" "$PACKER" keygen -o enc.key --passphrase-file pw.txt
[[ $(sed -n 1p enc.key) == "untrusted comment: minisign encrypted secret key" ]] || fail "enc.key comment"
sign_and_verify enc.key enc.pub "file pass phrase"
printf 'wrong\n' | minisign -S -s enc.key -m pw.txt -x w.sig >/dev/null 2>&1 && fail "minisign accepted a wrong password"

# No passphrase source and no terminal: exit 2 naming the two options.
expect_rc 2 "keygen without passphrase, stdin not a tty" "$PACKER" keygen -o nopw.key </dev/null
grep -q -- "--passphrase-file" err && grep -q -- "--unencrypted" err || fail "no-tty hint: $(cat err)"
[[ ! -e nopw.key && ! -e nopw.pub ]] || fail "files left after refusal"
expect_rc 2 "--unencrypted with --passphrase-file" "$PACKER" keygen -o x.key --unencrypted --passphrase-file pw.txt
expect_rc 2 "missing -o" "$PACKER" keygen --unencrypted

# The terminal prompt, through a pseudo-terminal: asked twice, no echo.
pty_keygen() { # out-file first second
  rm -f fifo; mkfifo fifo
  script -qec "$PACKER keygen -o $1" /dev/null <fifo >pty.out 2>&1 &
  local spid=$!
  exec 3>fifo
  sleep 1; printf '%s\n' "$2" >&3; sleep 1; printf '%s\n' "$3" >&3
  wait $spid; local rc=$?
  exec 3>&-
  return $rc
}
pty_keygen tty.key "typed pass phrase" "typed pass phrase" || fail "keygen on a terminal: $(cat pty.out)"
grep -q "Passphrase for the new secret key" pty.out || fail "no prompt: $(cat pty.out)"
grep -q "typed pass phrase" pty.out && fail "passphrase was echoed"
sign_and_verify tty.key tty.pub "typed pass phrase"
pty_keygen mismatch.key "one" "two"; rc=$?
[[ $rc == 2 ]] || fail "mismatched passphrases: exit $rc"
grep -q "passphrases differ" pty.out || fail "mismatch message: $(cat pty.out)"
[[ ! -e mismatch.key ]] || fail "key written despite mismatch"

[[ $failures == 0 ]] && echo "packer keygen: all checks passed"
exit $((failures > 0))
