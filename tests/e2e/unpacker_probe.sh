#!/usr/bin/env bash
# unpacker probe describes the node it runs on: here, its glibc is what
# ldd says, its libraries are where ldconfig -p says; an existing -o file is
# refused; --root reads a tree mounted elsewhere as that tree's own machine
# would; in a Debian 11 root it reports glibc 2.31.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

# The X.Y of this machine's glibc, from its own tools.
# (sed reads all of it: a reader that stops early could fail the pipe.)
host_glibc=$(ldd --version | sed -n '1s/.* \([0-9][0-9]*\.[0-9][0-9]*\)$/\1/p')
[ -n "$host_glibc" ] || fail "cannot read ldd --version here"

# --- This machine -----------------------------------------------------------
"$UNPACKER" probe -o node.probe 2> err.txt || fail "probe failed: $(cat err.txt)"
[ "$(head -1 node.probe)" = "format: airlock-probe/1" ] || fail "first line: $(head -1 node.probe)"
for k in created host os kernel arch glibc; do
  [ "$(grep -c "^$k: " node.probe)" = 1 ] || fail "no single '$k:' line"
done
[ "$(grep '^glibc: ' node.probe)" = "glibc: $host_glibc" ] || fail "glibc: $(grep '^glibc: ' node.probe), ldd says $host_glibc"
[ "$(grep '^arch: ' node.probe)" = "arch: $(uname -m)" ] || fail "arch"
grep -q "^kernel: $(uname -r | grep -oE '^[0-9.]+' | sed 's/\.$//')\$" node.probe || fail "kernel: $(grep '^kernel: ' node.probe)"
pretty=$( (. /etc/os-release && echo "$PRETTY_NAME") )
[ "$(grep '^os: ' node.probe)" = "os: $pretty" ] || fail "os: $(grep '^os: ' node.probe), os-release says $pretty"
grep -E "^lib: libc\.so\.6 /[^ ]+ .*GLIBC_$host_glibc( |\$)" node.probe >/dev/null ||
  fail "the libc.so.6 line does not list GLIBC_$host_glibc: $(grep '^lib: libc.so.6 ' node.probe | cut -c1-200)"
grep -E "^lib: libc\.so\.6 .*GLIBC_2\.$((${host_glibc#2.} + 1))( |\$)" node.probe >/dev/null &&
  fail "the libc.so.6 line lists a version newer than $host_glibc"
# Where ldconfig -p says the loader finds them (x86-64 entries).
checked=0
for so in libc.so.6 libm.so.6 libz.so.1 libstdc++.so.6 libgcc_s.so.1 libzstd.so.1; do
  want=$(ldconfig -p | awk -v so="$so" '$1 == so && /\(libc6,x86-64/ && !n++ { print $NF }')
  [ -n "$want" ] || continue
  got=$(awk -v so="$so" '$1 == "lib:" && $2 == so { print $3 }' node.probe)
  [ "$got" = "$want" ] || fail "$so: probe says '$got', ldconfig -p says '$want'"
  checked=$((checked + 1))
done
[ "$checked" -ge 3 ] || fail "only $checked of the usual libraries are in ldconfig -p here"
n_libs=$(grep -c '^lib: ' node.probe)
[ "$n_libs" -gt 20 ] || fail "only $n_libs libraries"
summary=$(grep -v -e '^unpacker: wrote ' -e '^unpacker: warning: ' err.txt)
[ "$summary" = "unpacker: glibc $host_glibc, $(uname -m), kernel $(grep '^kernel: ' node.probe | cut -d' ' -f2), $pretty, $n_libs libraries: use --target glibc-$host_glibc (or carry this file and use --target FILE)" ] ||
  fail "summary: $summary"
grep -qx "unpacker: wrote node.probe" err.txt || fail "no 'wrote' note"
[ "$(stat -c %a node.probe)" = 644 ] || fail "mode $(stat -c %a node.probe)"
pass "probe here: glibc $host_glibc as ldd says, $checked libraries where ldconfig -p says, $n_libs in all"

# Without -o the same file goes to stdout.
"$UNPACKER" probe > stdout.probe 2> err2.txt || fail "probe to stdout: $(cat err2.txt)"
diff <(grep -v '^created: ' node.probe) <(grep -v '^created: ' stdout.probe) > /dev/null || fail "stdout differs from -o"
grep -q "use --target glibc-$host_glibc" err2.txt || fail "no summary on stderr"
"$UNPACKER" probe --quiet > quiet.probe 2> quiet.err || fail "--quiet"
[ ! -s quiet.err ] || fail "--quiet printed: $(cat quiet.err)"
"$UNPACKER" probe --json -o json.probe > json.out 2> json.err || fail "--json: $(cat json.err)"
python3 - "$host_glibc" "$n_libs" json.out <<'EOF' || fail "--json: $(cat json.out)"
import json, platform, sys
j = json.load(open(sys.argv[3]))
assert j["glibc"] == sys.argv[1] and j["target"] == "glibc-" + sys.argv[1], j
assert j["arch"] == platform.machine() and j["libraries"] == int(sys.argv[2]), j
assert j["output"] == "json.probe" and j["os"] and j["kernel"], j
EOF
"$UNPACKER" probe --help > help.txt || fail "--help"
grep -q "packer pack ... --target node.probe" help.txt && grep -q "packer pack ... --target glibc-2.31" help.txt ||
  fail "--help does not say what to do with the output"
pass "stdout, --quiet, --json and --help"

# --- An existing -o file -----------------------------------------------------
echo "an older probe" > old.probe
rc=0; "$UNPACKER" probe -o old.probe --root "$WORK/no-such-root" 2> refuse.err || rc=$?
[ "$rc" = 2 ] || fail "existing -o: exit $rc"
# Refused before anything else, the bad --root included.
grep -q "old.probe: already exists; not overwriting it" refuse.err || fail "refusal: $(cat refuse.err)"
grep -q "hint: .*--force" refuse.err || fail "no --force hint"
[ "$(cat old.probe)" = "an older probe" ] || fail "the existing file changed"
ln -s nowhere dangling.probe
rc=0; "$UNPACKER" probe -o dangling.probe 2>/dev/null || rc=$?
[ "$rc" = 2 ] && [ -L dangling.probe ] || fail "a dangling link as -o: exit $rc"
"$UNPACKER" probe -o old.probe --force -q || fail "--force"
[ "$(head -1 old.probe)" = "format: airlock-probe/1" ] || fail "--force did not replace the file"
[ -z "$(ls old.probe.partial.* 2>/dev/null)" ] || fail "partial file left"
pass "an existing -o file is refused (exit 2, unchanged) unless --force"

# --- --root: a small tree, copied --------------------------------------------
# Debian-like: merged /usr, this machine's C library copied in, the loader
# reached through an absolute link in /lib64, an extra directory named by an
# included ld.so.conf file, a compat-format cache written by ldconfig, and a
# link that points at a library this machine has but the tree does not.
ma=/lib/x86_64-linux-gnu
[ -e "$ma/libc.so.6" ] || ma=/lib64
T=tree/usr/lib/x86_64-linux-gnu
mkdir -p "$T" tree/lib64 tree/etc/ld.so.conf.d tree/opt/extra/lib tree/usr/lib
ln -s usr/lib tree/lib
for so in libc.so.6 libm.so.6 ld-linux-x86-64.so.2; do cp -L "$ma/$so" "$T/$so"; done
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 tree/lib64/ld-linux-x86-64.so.2
printf 'int extra(void) { return 1; }\n' > extra.c
printf 'EXTRA_1.0 { global: extra; local: *; };\n' > extra.map
gcc -shared -fPIC -o tree/opt/extra/lib/libextra.so.1.0 extra.c -Wl,-soname,libextra.so.1 \
  -Wl,--version-script=extra.map || fail "gcc"
ln -s libextra.so.1.0 tree/opt/extra/lib/libextra.so.1
ln -s /lib/x86_64-linux-gnu/libz.so.1 tree/usr/lib/libz.so.1
printf 'include /etc/ld.so.conf.d/*.conf\n' > tree/etc/ld.so.conf
printf '/opt/extra/lib\n' > tree/etc/ld.so.conf.d/extra.conf
printf 'NAME="Tree"\nPRETTY_NAME="Tree Linux 1 (probe test)"\n' > tree/usr/lib/os-release
ln -s ../usr/lib/os-release tree/etc/os-release
ldconfig -X -c compat -r "$WORK/tree" || fail "ldconfig -r tree"
[ "$(head -c 11 tree/etc/ld.so.cache)" = "ld.so-1.7.0" ] || fail "ldconfig wrote no compat cache"
cp -a tree copy
"$UNPACKER" probe --root "$WORK/copy" -o copy.probe 2> copy.err || fail "--root: $(cat copy.err)"
! grep -q "warning" copy.err || fail "warnings: $(cat copy.err)"
grep -q "^glibc: $host_glibc\$" copy.probe || fail "--root glibc: $(grep '^glibc' copy.probe)"
grep -q "^os: Tree Linux 1 (probe test)\$" copy.probe || fail "--root os: $(grep '^os' copy.probe)"
grep -qx "lib: libextra.so.1 /opt/extra/lib/libextra.so.1 EXTRA_1.0" copy.probe || fail "libextra: $(grep libextra copy.probe)"
grep -q "^lib: libc.so.6 /lib/x86_64-linux-gnu/libc.so.6 .*GLIBC_$host_glibc" copy.probe || fail "libc line"
grep -q "^lib: ld-linux-x86-64.so.2 /" copy.probe || fail "no loader"
! grep -q "libz" copy.probe || fail "a library outside the tree was read through a link"
! grep -q "$WORK" copy.probe || fail "the tree's location is in the file"
[ "$(grep -c '^lib: ' copy.probe)" = 4 ] || fail "libraries: $(grep '^lib: ' copy.probe | cut -c1-80)"
"$UNPACKER" probe --root "$WORK/tree" -q > tree.probe || fail "--root tree"
diff <(grep -v '^created: ' tree.probe) <(grep -v '^created: ' copy.probe) || fail "the copy reads differently"
# A malformed cache: a warning, and the directories still find everything.
head -c 100 tree/etc/ld.so.cache > copy/etc/ld.so.cache
"$UNPACKER" probe --root "$WORK/copy" -o bad-cache.probe 2> bad-cache.err || fail "malformed cache: $(cat bad-cache.err)"
grep -q "warning: parsing ld.so.cache $WORK/copy/etc/ld.so.cache: .*; looking in the library directories only" bad-cache.err ||
  fail "no warning for the malformed cache: $(cat bad-cache.err)"
diff <(grep '^lib: ' copy.probe | cut -d' ' -f2) <(grep '^lib: ' bad-cache.probe | cut -d' ' -f2) || fail "sonames differ without the cache"
# No C library: exit 2, naming where it looked.
mkdir -p empty/etc
rc=0; "$UNPACKER" probe --root "$WORK/empty" 2> empty.err > /dev/null || rc=$?
[ "$rc" = 2 ] || fail "no libc: exit $rc"
grep -q "error: no libc.so.6 found in $WORK/empty/etc/ld.so.cache, $WORK/empty/lib64, .*, $WORK/empty/usr/lib\$" empty.err ||
  fail "no libc: $(cat empty.err)"
pass "--root: a copied tree reads as its own machine would, links stay inside it, no libc is exit 2"

# --- Debian 11 (glibc 2.31) ---------------------------------------------------
# The unpacker is carried into the root through the work directory, which
# in_old_root binds there in a mount namespace of its own: the shared root
# is left as it was. Last: without root or a mirror the helper skips.
ensure_bullseye_root
cp "$UNPACKER" "$WORK/unpacker"
in_old_root "$WORK" "$WORK/unpacker" probe -o "$WORK/bullseye.probe" 2> bullseye.err ||
  fail "probe in the Debian 11 root: $(cat bullseye.err)"
grep -qx "glibc: 2.31" bullseye.probe || fail "Debian 11: $(grep '^glibc' bullseye.probe)"
grep -qx "os: Debian GNU/Linux 11 (bullseye)" bullseye.probe || fail "Debian 11 os: $(grep '^os' bullseye.probe)"
# glibc 2.31 added nothing to libc.so.6 (it stops at GLIBC_2.30): GLIBC_2.31
# is in libm.so.6 and libpthread.so.0, and the release in libc's banner.
grep -qE "^lib: libc\.so\.6 /lib/x86_64-linux-gnu/libc\.so\.6 .*GLIBC_2\.30( |\$)" bullseye.probe || fail "Debian 11 libc line"
! grep -qE "^lib: libc\.so\.6 .*GLIBC_2\.3[1-9]" bullseye.probe || fail "Debian 11 libc defines GLIBC_2.31 or later?"
grep -qE "^lib: libm\.so\.6 /lib/x86_64-linux-gnu/libm\.so\.6 .*GLIBC_2\.31( |\$)" bullseye.probe || fail "Debian 11 libm line"
! grep -q "warning" bullseye.err || fail "Debian 11 warnings: $(cat bullseye.err)"
grep -q "unpacker: glibc 2.31, .*use --target glibc-2.31 " bullseye.err || fail "Debian 11 summary: $(cat bullseye.err)"
# Its own ldconfig agrees on where a few libraries are.
in_old_root "$WORK" /sbin/ldconfig -p > bullseye-ldconfig.txt || fail "ldconfig -p in the root"
for so in libc.so.6 libm.so.6 libz.so.1; do
  want=$(awk -v so="$so" '$1 == so && /\(libc6,x86-64/ && !n++ { print $NF }' bullseye-ldconfig.txt)
  got=$(awk -v so="$so" '$1 == "lib:" && $2 == so { print $3 }' bullseye.probe)
  [ -n "$want" ] && [ "$got" = "$want" ] || fail "Debian 11 $so: probe '$got', ldconfig -p '$want'"
done
# From outside, with --root, the same tree reads the same.
"$UNPACKER" probe --root "$OLD_ROOT" -q > bullseye-root.probe || fail "--root on the Debian 11 root"
diff <(grep -v -e '^created: ' -e '^host: ' bullseye.probe) <(grep -v -e '^created: ' -e '^host: ' bullseye-root.probe) ||
  fail "--root and chroot disagree"
if declare -F with_kernel_3_10 > /dev/null; then
  with_kernel_3_10 in_old_root "$WORK" "$WORK/unpacker" probe -q > bullseye-3.10.probe ||
    fail "probe under the Linux 3.10 system calls"
  grep -qx "glibc: 2.31" bullseye-3.10.probe || fail "under Linux 3.10: $(grep '^glibc' bullseye-3.10.probe)"
fi
pass "in a Debian 11 root: glibc 2.31, its libraries where its ldconfig says; --root agrees"
