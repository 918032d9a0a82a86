#!/usr/bin/env bash
# The unpacker is statically linked: `unpacker verify` works in an empty
# chroot holding only the binary, the bundle and the public key.
source "$(dirname "$0")/lib.sh"
file "$UNPACKER" | grep -q "statically linked" || fail "unpacker is not statically linked: $(file "$UNPACKER")"
# Only what it needs is in it: libsodium, libzstd, nettle (and the C and
# C++ runtimes), none of libarchive and the codecs and XML parser that
# Debian's libarchive.a would bring along.
syms=$(nm "$UNPACKER") || fail "nm $UNPACKER failed"
for want in sodium_init ZSTD_decompressStream nettle_sha256_update; do
  grep -q " [Tt] $want$" <<<"$syms" || fail "unpacker has no $want: is nm reading the right file?"
done
for lib in 'archive_read_new' 'archive_version_details' 'BZ2_bzDecompress' 'lzma_code' 'LZ4_decompress_safe' \
           'inflate' 'xmlReadMemory'; do
  ! grep -q " [Tt] $lib$" <<<"$syms" || fail "unpacker carries $lib, from a library it should not link"
done
pass "the unpacker carries libsodium, libzstd and nettle, and no libarchive, bzip2, lzma, lz4, zlib or libxml2"
cd "$WORK"
minisign -G -W -p s.pub -s s.key >/dev/null
age-keygen -o node.key 2>/dev/null
mkdir -p tree/env/bin tree/airlock
echo 'print(1)' > tree/env/bin/x.py
"$SRC/tests/tools/mkbundle.sh" -s s.key -r "$(age-keygen -y node.key)" --marking CUI tree b.sealed >/dev/null
mkdir root
cp "$UNPACKER" root/unpacker
cp b.sealed root/b.sealed
cp s.pub root/k.pub
[ "$(find root | wc -l)" = 4 ] || fail "chroot is not minimal"
chroot root /unpacker verify -p /k.pub /b.sealed --audit-log /audit.jsonl > out.txt 2> err.txt \
  || fail "verify in an empty chroot failed: $(cat err.txt)"
[ "$(head -1 out.txt)" = CUI ] || fail "label not printed in the chroot"
grep -q "verified" err.txt || fail "no verified note"
chroot root /unpacker audit-verify /audit.jsonl >/dev/null || fail "audit log in chroot"
# A tampered label still fails in the chroot (the check really ran there).
python3 "$SRC/tests/tools/envelope.py" flip b.sealed root/bad.sealed LABEL.txt
rc=0; chroot root /unpacker verify -p /k.pub /bad.sealed --audit-log /audit.jsonl >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "tampered bundle in chroot: exit $rc"
pass "unpacker verify runs in an empty chroot (binary, bundle, key only)"
