#!/usr/bin/env bash
# The static unpacker on an old secure node: in a Debian 11 root (glibc
# 2.31), with no network, under a seccomp filter that answers ENOSYS to every
# system call added after Linux 3.10 (RHEL 7), it prints its version, makes
# a node key (mode 0600), verifies a bundle packed here from a real CPython
# prefix and unpacks it (--no-install: only the unpacker's own work, not the
# environment's Python): every file in place, the old prefix rewritten, the
# audit log chain intact. The bundle was packed without --target, so the
# environment's programs need this host's newer glibc: the link test that
# ends the unpack says so (exit 4, the GLIBC version named, its own audit
# record) and leaves the verified tree in place.
source "$(dirname "$0")/lib.sh"
find_python_prefix
ensure_bullseye_root
file "$UNPACKER" | grep -q "statically linked" || fail "unpacker is not statically linked: $(file "$UNPACKER")"
cd "$WORK"

# The filter is in force: getrandom (Linux 3.17) works without it and
# answers ENOSYS under it, in the command and in its children; old system
# calls still work; and the command in the root runs under it.
probe='import errno, os
try:
    os.getrandom(1)
    print("getrandom ok")
except OSError as e:
    print("getrandom", errno.errorcode.get(e.errno, e.errno))
print(len(os.listdir("/")) > 0)'
[ "$(/usr/bin/python3 -c "$probe")" = "getrandom ok
True" ] || fail "getrandom does not work here without the filter: $(/usr/bin/python3 -c "$probe" 2>&1)"
[ "$(with_kernel_3_10 /usr/bin/python3 -c "$probe")" = "getrandom ENOSYS
True" ] || fail "getrandom is not refused under the filter: $(with_kernel_3_10 /usr/bin/python3 -c "$probe" 2>&1)"
[ "$(with_kernel_3_10 /bin/sh -c '/usr/bin/python3 -c "$1"' sh "$probe")" = "getrandom ENOSYS
True" ] || fail "the filter is not inherited by a child"
outside=$(in_old_root "$WORK" grep -E '^Seccomp(_filters)?:' /proc/self/status | tr -d ' \t' | tr '\n' ' ')
inside=$(with_kernel_3_10 in_old_root "$WORK" grep -E '^Seccomp(_filters)?:' /proc/self/status | tr -d ' \t' | tr '\n' ' ')
case $inside in Seccomp:2*) ;; *) fail "no seccomp filter in the root: $inside" ;; esac
[ "$inside" != "$outside" ] || fail "the filter adds nothing in the root: $inside"
[ "$(with_kernel_3_10 in_old_root "$WORK" getconf GNU_LIBC_VERSION)" = "glibc 2.31" ] ||
  fail "the root is not glibc 2.31"

# Everything the unpacker does below runs on the old node.
cp "$UNPACKER" "$WORK/unpacker"
old_node() { with_kernel_3_10 in_old_root "$WORK" "$@"; }

old_node ./unpacker --version > version.txt 2>&1 || fail "unpacker --version: $(cat version.txt)"
grep -q '^unpacker (airlock) ' version.txt || fail "unexpected version: $(cat version.txt)"

old_node ./unpacker keygen -o node.key --audit-log audit.jsonl > keygen.out 2> keygen.err ||
  fail "unpacker keygen on the old node: $(cat keygen.err)"
[ "$(stat -c %a node.key)" = 600 ] || fail "node.key has mode $(stat -c %a node.key)"
RECIPIENT=$(grep -E '^age1' keygen.out | head -1)
[ -n "$RECIPIENT" ] || fail "keygen printed no recipient"

# Packed here (quickly: no checks, zstd level 1) to the old node's key.
"$PACKER" keygen --unencrypted -o signing.key --audit-log audit-packer.jsonl -q >/dev/null
PUB=signing.key.pub
[ -f "$PUB" ] || PUB=$(cd "$WORK" && ls ./*.pub | head -1)
"$PACKER" pack --env "$PY_PREFIX" --no-check --level 1 -s signing.key -R "$RECIPIENT" --marking CUI \
  --controlled-by 'Test Office' --cui-category PRVCY --dissemination FEDCON --poc 'Jane Doe, 703-555-0100' \
  -o py.sealed --audit-log audit-packer.jsonl -q > /dev/null || fail "packer pack failed"

old_node ./unpacker verify -p "$PUB" py.sealed --audit-log audit.jsonl -q > label.txt 2> verify.err ||
  fail "unpacker verify on the old node: $(cat verify.err)"
[ "$(head -1 label.txt)" = CUI ] || fail "label banner is not first: $(head -1 label.txt)"

DEST=$WORK/node/opt/py
mkdir -p node/opt
rc=0
old_node ./unpacker unpack --no-install -p "$PUB" -i node.key py.sealed -C "$DEST" \
  --audit-log audit.jsonl > unpack.out 2> unpack.err || rc=$?
[ "$rc" = 4 ] || { tail -20 unpack.err; fail "unpacker unpack on the old node: exit $rc, expected 4 (the link test)"; }
grep -q "version \`GLIBC_2\.[0-9]*' not found" unpack.err ||
  { tail -20 unpack.err; fail "the link test does not name the missing GLIBC version"; }
grep -q '"event":"link-test".*"outcome":"failed"' audit.jsonl || fail "no failed link-test audit record"
[ "$(head -1 unpack.out)" = CUI ] || fail "unpack did not print the label banner first"
[ -z "$(ls -A node/opt | grep -v '^py$')" ] || fail "left behind: $(ls -A node/opt)"
diff <(cd "$PY_PREFIX" && find . | sort) <(cd "$DEST/env" && find . | sort) > tree.diff ||
  { head -20 tree.diff; fail "the unpacked tree differs from $PY_PREFIX"; }
lib=lib/python${PY_VER%.*}
cmp "$PY_PREFIX/$lib/os.py" "$DEST/env/$lib/os.py" || fail "$lib/os.py differs"
[ -x "$DEST/env/bin/$(basename "$PY_BIN")" ] || fail "no interpreter in $DEST/env/bin"
[ -f "$DEST/airlock/manifest.json" ] || fail "no manifest in $DEST/airlock"
head -1 "$DEST/env/bin/pip3" | grep -qx "#!$DEST/env/bin/python3.*" ||
  fail "pip3's shebang does not name the new prefix: $(head -1 "$DEST/env/bin/pip3")"
for ev in keygen verify decrypt extract; do
  grep -q "\"event\":\"$ev\".*\"outcome\":\"ok\"" audit.jsonl || fail "no ok '$ev' audit record"
done
old_node ./unpacker audit-verify audit.jsonl > /dev/null 2> audit.err ||
  fail "audit chain does not verify on the old node: $(cat audit.err)"
"$UNPACKER" audit-verify audit.jsonl > /dev/null || fail "audit chain does not verify here"
pass "static unpacker on Debian 11 under a Linux 3.10 system call table: version, keygen, verify, unpack of $PY_VER, the link test naming the missing GLIBC version, audit chain"
