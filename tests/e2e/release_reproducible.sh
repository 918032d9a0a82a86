#!/usr/bin/env bash
# Reproducible releases: scripts/release.sh, run in two clones of this
# commit at different paths (of different lengths), one after the other and
# with different umasks, gives the same SHA-256 for every artifact: the
# static unpacker, the .deb, the man pages and BUILDINFO. Every timestamp in
# the .deb is SOURCE_DATE_EPOCH (the commit's time). Each release verifies
# with `sha256sum -c` and `minisign -V`, and a changed byte fails them.
# Builds twice (packer and unpacker only, no tests, no compiler cache).
source "$(dirname "$0")/lib.sh"
git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 || skip_unless_ci "$SRC is not a git checkout"
for t in git cmake cpack help2man dpkg-shlibdeps minisign sha256sum python3; do
  command -v $t >/dev/null || skip_unless_ci "no $t (scripts/setup.sh installs it)"
done
COMMIT=$(git -C "$SRC" rev-parse HEAD)
EPOCH=$(git -C "$SRC" log -1 --format=%ct)
[ -z "$(git -C "$SRC" status --porcelain --untracked-files=no)" ] ||
  echo "note: $SRC has uncommitted changes; this test builds commit $COMMIT as committed"
JOBS=${AIRLOCK_RELEASE_JOBS:-2}
cd "$WORK"

A=$WORK/a/airlock
B=$WORK/second/clone-at/a-longer-path/airlock-src
for d in "$A" "$B"; do
  git clone -q "$SRC" "$d" && git -C "$d" checkout -q "$COMMIT" || fail "cannot clone $SRC into $d"
done

# Release keys: an unencrypted one, and one with a passphrase given in a file.
minisign -G -W -p a.pub -s a.key >/dev/null || fail "minisign -G -W"
printf 'release pass\n' > pass.txt
printf 'release pass\nrelease pass\n' | minisign -G -p b.pub -s b.key >/dev/null 2>&1 || fail "minisign -G"

# A tree with an untracked source file is refused: the build would pick it up.
touch "$A/common/untracked.cc"
rc=0; "$A/scripts/release.sh" -j "$JOBS" > dirty.out 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "untracked" dirty.out || fail "release.sh on a dirty tree: exit $rc: $(cat dirty.out)"
rm "$A/common/untracked.cc"
[ ! -e "$A/build-release" ] || fail "release.sh built a dirty tree"

start=$(date +%s)
(umask 022; unset SOURCE_DATE_EPOCH; "$A/scripts/release.sh" -j "$JOBS" -s "$WORK/a.key") > a.out 2>&1 ||
  fail "release.sh in $A failed: $(tail -20 a.out)"
(umask 027; unset SOURCE_DATE_EPOCH; "$B/scripts/release.sh" -j "$JOBS" -s "$WORK/b.key" --key-passphrase-file "$WORK/pass.txt") > b.out 2>&1 ||
  fail "release.sh in $B failed: $(tail -20 b.out)"
echo "two release builds: $(( $(date +%s) - start )) s"

version=$(sed -n 's/^project(airlock VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
name=airlock-$version-$(uname -m)-linux
RA=$A/dist/$name RB=$B/dist/$name
deb=airlock_${version}_$(dpkg --print-architecture).deb
for r in "$RA" "$RB"; do
  [ "$(ls "$r")" = "$(printf '%s\n' BUILDINFO SHA256SUMS SHA256SUMS.minisig "$deb" packer.1 unpacker unpacker.1 | sort)" ] ||
    fail "$r holds: $(ls "$r" | tr '\n' ' ')"
done
echo "SHA256SUMS of the build in $A:"; cat "$RA/SHA256SUMS"
echo "SHA256SUMS of the build in $B:"; cat "$RB/SHA256SUMS"
for f in unpacker "$deb" packer.1 unpacker.1 BUILDINFO SHA256SUMS; do
  cmp "$RA/$f" "$RB/$f" || fail "$f differs between the builds in $A and $B"
done
# The packers inside the .debs, and the builds' own binaries, too.
cmp "$A/build-release/bin/packer" "$B/build-release/bin/packer" || fail "packer differs between the builds"
pass "two clones, two paths, umask 022 and 027: unpacker, packer, the .deb and the man pages are bit-identical"

# No build path in any artifact.
dpkg-deb -x "$RA/$deb" "$WORK/deb-root"
for f in "$RA/unpacker" "$WORK/deb-root/usr/bin/packer" "$RA/packer.1" "$RA/unpacker.1" "$RA/BUILDINFO"; do
  ! grep -qaF "$WORK" "$f" || fail "$f names its build path"
done

# Dates: the commit's time, in the .deb (ar members, control and data tars,
# compressed headers) and on the man pages.
python3 - "$RA/$deb" "$EPOCH" <<'EOF' || fail "the .deb has a date that is not SOURCE_DATE_EPOCH"
import io, lzma, gzip, struct, sys, tarfile
data, epoch = open(sys.argv[1], "rb").read(), int(sys.argv[2])
assert data[:8] == b"!<arch>\n", "not an ar archive"
off, bad = 8, []
while off < len(data):
    h = data[off:off + 60]
    name, mtime, size = h[:16].decode().strip(), int(h[16:28]), int(h[48:58])
    body = data[off + 60:off + 60 + size]
    off += 60 + size + (size & 1)
    if mtime != epoch: bad.append("ar member %s: %d" % (name, mtime))
    if name.startswith(("control.tar", "data.tar")):
        if name.endswith(".gz"):
            gz_mtime = struct.unpack("<I", body[4:8])[0]
            if gz_mtime not in (0, epoch): bad.append("%s gzip header: %d" % (name, gz_mtime))
        raw = gzip.decompress(body) if name.endswith(".gz") else lzma.decompress(body) if name.endswith(".xz") else body
        for m in tarfile.open(fileobj=io.BytesIO(raw)):
            if m.mtime != epoch or m.uid or m.gid: bad.append("%s %s: mtime %d uid %d gid %d" % (name, m.name, m.mtime, m.uid, m.gid))
if bad:
    sys.exit("\n".join(bad[:10]))
EOF
month=$(LC_ALL=C date -u -d "@$EPOCH" '+%B %Y')
for p in packer unpacker; do
  grep -q "^\.TH ${p^^} \"1\" \"$month\"" "$RA/$p.1" || fail "$p.1 is not dated $month: $(grep '^\.TH' "$RA/$p.1")"
done
grep -qx "commit: $COMMIT" "$RA/BUILDINFO" && grep -qx "SOURCE_DATE_EPOCH: $EPOCH" "$RA/BUILDINFO" ||
  fail "BUILDINFO does not record the commit and SOURCE_DATE_EPOCH: $(head -4 "$RA/BUILDINFO")"
file "$RA/unpacker" | grep -q "statically linked" || fail "the released unpacker is not statically linked"
"$RA/unpacker" --version --verbose | grep -q "^linkage: *static" || fail "the released unpacker does not say it is static"
pass "every date in the .deb and the man pages is the commit's ($EPOCH, $month); BUILDINFO records it"

# Verification, as docs/release.md tells a security office.
(cd "$RA" && sha256sum -c SHA256SUMS) > check.out 2>&1 || fail "sha256sum -c: $(cat check.out)"
[ "$(grep -c ': OK$' check.out)" = 5 ] || fail "sha256sum -c checked $(grep -c ': OK$' check.out) files, not 5"
minisign -V -p a.pub -m "$RA/SHA256SUMS" > va.out || fail "minisign -V (unencrypted key) failed"
grep -qx "Trusted comment: airlock $version SHA256SUMS commit:$COMMIT" va.out || fail "trusted comment: $(cat va.out)"
minisign -V -p b.pub -m "$RB/SHA256SUMS" >/dev/null || fail "minisign -V (key with a passphrase file) failed"
! minisign -V -p b.pub -m "$RA/SHA256SUMS" >/dev/null 2>&1 || fail "minisign -V accepted another key's signature"
# A changed byte: sha256sum -c and minisign -V say so.
cp -r "$RA" tampered
printf 'X' | dd of="tampered/$deb" bs=1 seek=2000 conv=notrunc 2>/dev/null
! (cd tampered && sha256sum -c --quiet SHA256SUMS) >/dev/null 2>&1 || fail "sha256sum -c accepted a changed .deb"
echo >> tampered/SHA256SUMS
! minisign -V -p a.pub -m tampered/SHA256SUMS >/dev/null 2>&1 || fail "minisign -V accepted a changed SHA256SUMS"
pass "the release verifies with sha256sum -c (5 files) and minisign -V; a changed byte fails both"
