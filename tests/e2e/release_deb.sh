#!/usr/bin/env bash
# `cpack -G DEB` makes airlock_VERSION_amd64.deb with packer, unpacker, the
# man pages and computed Depends; on this machine (as root) `dpkg -i`
# installs it, `packer --version` and `man packer` work, and
# `apt-get remove` leaves nothing behind. The package is removed on exit
# whatever happens.
source "$(dirname "$0")/lib.sh"
BUILD=$(cd "$BIN/.." && pwd)
[ -f "$BUILD/CPackConfig.cmake" ] || fail "no $BUILD/CPackConfig.cmake"
[ -f "$BUILD/man/packer.1.gz" ] || skip_unless_ci "no man pages in $BUILD (configured with -DAIRLOCK_MAN=OFF?)"
[ "$(id -u)" = 0 ] || skip_unless_ci "installing a .deb needs root"
for t in cpack dpkg dpkg-deb dpkg-shlibdeps apt-get man python3 lintian; do
  command -v $t >/dev/null || skip_unless_ci "no $t (scripts/setup.sh installs it)"
done
# This test owns the package name on this machine while it runs.
if dpkg-query -W -f='${Status}' airlock 2>/dev/null | grep -q "installed"; then
  skip_unless_ci "a package named airlock is already installed here; the test would remove it"
fi
for f in /usr/bin/packer /usr/bin/unpacker; do
  [ ! -e "$f" ] || skip_unless_ci "$f exists (not from this test); the package would replace it"
done

version=$("$BIN/packer" --version | awk '{print $3}')
arch=$(dpkg --print-architecture)
export SOURCE_DATE_EPOCH=1700000000
(cd "$BUILD" && cpack -G DEB -B "$WORK/pkg") > "$WORK/cpack.log" 2>&1 || fail "cpack failed: $(tail -20 "$WORK/cpack.log")"
DEB=$WORK/pkg/airlock_${version}_${arch}.deb
[ -f "$DEB" ] || fail "cpack made no $DEB: $(ls "$WORK/pkg")"

# The control fields; Depends computed by dpkg-shlibdeps from the packer's
# shared libraries (the static unpacker needs none).
[ "$(dpkg-deb -f "$DEB" Package)" = airlock ] || fail "Package: $(dpkg-deb -f "$DEB" Package)"
[ "$(dpkg-deb -f "$DEB" Version)" = "$version" ] || fail "Version: $(dpkg-deb -f "$DEB" Version)"
[ "$(dpkg-deb -f "$DEB" Architecture)" = "$arch" ] || fail "Architecture: $(dpkg-deb -f "$DEB" Architecture)"
depends=$(dpkg-deb -f "$DEB" Depends)
for lib in libc6 libsodium23 libarchive13 libzstd1 libnettle8 libstdc++6; do
  tr ',' '\n' <<< "$depends" | awk '{print $1}' | grep -qxF "$lib" || fail "Depends lacks $lib: $depends"
done
dpkg-deb -c "$DEB" | awk '{print $6}' > "$WORK/contents"
for f in ./usr/bin/packer ./usr/bin/unpacker ./usr/share/man/man1/packer.1.gz ./usr/share/man/man1/unpacker.1.gz \
         ./usr/share/doc/airlock/README.md ./usr/share/doc/airlock/LICENSE ./usr/share/doc/airlock/copyright \
         ./usr/share/doc/airlock/changelog.gz ./usr/share/lintian/overrides/airlock; do
  grep -qxF "$f" "$WORK/contents" || fail "the .deb lacks $f"
done
# The changelog's newest entry is this version: a release without its
# entry fails here.
dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/doc/airlock/changelog.gz | zcat > "$WORK/changelog" ||
  fail "the .deb's changelog.gz does not read"
head -1 "$WORK/changelog" | grep -qxF "airlock ($version) unstable; urgency=medium" ||
  fail "the changelog's newest entry is not $version: $(head -1 "$WORK/changelog")"
# Debian's own checks. The Maintainer is the release owner's to give
# (scripts/release.sh --maintainer); a build without one carries a
# placeholder, which lintian rightly calls bogus, so that tag alone is let
# through here. The overrides in the package (packaging/deb/lintian-overrides)
# say why the unpacker is static and why symbols are kept.
lintian --fail-on error,warning --suppress-tags bogus-mail-host,bogus-mail-host-in-debian-changelog \
  "$DEB" > "$WORK/lintian.txt" 2>&1 || fail "lintian finds fault with $(basename "$DEB"): $(grep -v 'root privileges' "$WORK/lintian.txt")"
! grep -E '^[EW]: ' "$WORK/lintian.txt" || fail "lintian: $(grep -E '^[EW]: ' "$WORK/lintian.txt")"
pass "lintian: no error or warning (but the placeholder Maintainer), with the package's overrides"
# Every member owned by root, dated SOURCE_DATE_EPOCH.
dpkg-deb --fsys-tarfile "$DEB" | python3 -c '
import sys, tarfile
bad = [m.name for m in tarfile.open(fileobj=sys.stdin.buffer, mode="r|") if m.mtime != 1700000000 or m.uid or m.gid]
sys.exit("not root-owned or not dated SOURCE_DATE_EPOCH: %s" % bad[:5] if bad else 0)' || fail "data.tar"
pass "$(basename "$DEB"): Depends: $depends"

# dpkg takes its lock for a moment at a time; another apt or dpkg on this
# machine may hold it.
retry_dpkg() {
  local i out
  for i in $(seq 60); do
    if out=$("$@" 2>&1); then return 0; fi
    grep -qi "lock" <<< "$out" || { echo "$out" >&2; return 1; }
    sleep 2
  done
  echo "$out" >&2
  return 1
}
remove_package() {
  if dpkg-query -W -f='${Status}' airlock 2>/dev/null | grep -q "installed"; then
    retry_dpkg dpkg --purge airlock || echo "could not remove the airlock package: dpkg --purge airlock" >&2
  fi
}
trap 'remove_package; cleanup_work' EXIT

retry_dpkg dpkg -i "$DEB" || fail "dpkg -i $DEB failed"
dpkg-query -W -f='${Status}' airlock | grep -q "install ok installed" || fail "dpkg -s airlock: $(dpkg-query -W -f='${Status}' airlock)"
[ "$(command -v packer)" = /usr/bin/packer ] || fail "packer is not /usr/bin/packer: $(command -v packer)"
[ "$(packer --version)" = "packer (airlock) $version" ] || fail "packer --version: $(packer --version 2>&1)"
[ "$(unpacker --version)" = "unpacker (airlock) $version" ] || fail "unpacker --version: $(unpacker --version 2>&1)"
cmp -s /usr/bin/unpacker "$BIN/unpacker" || fail "the installed unpacker is not the build's"
[ "$(man -w packer)" = /usr/share/man/man1/packer.1.gz ] || fail "man -w packer: $(man -w packer 2>&1)"
MANWIDTH=80 man --warnings packer > "$WORK/man.txt" 2> "$WORK/man.warn" || fail "man packer failed: $(cat "$WORK/man.warn")"
[ ! -s "$WORK/man.warn" ] || fail "man packer warns: $(head -3 "$WORK/man.warn")"
grep -qx "   packer pack" "$WORK/man.txt" || fail "man packer has no 'packer pack' section"
MANWIDTH=80 man unpacker 2>/dev/null | grep -qx "   unpacker unpack" || fail "man unpacker has no 'unpacker unpack' section"
# A real command through the installed binaries.
packer keygen --unencrypted -o "$WORK/k.key" --audit-log "$WORK/audit.jsonl" -q || fail "installed packer keygen failed"
unpacker audit-verify "$WORK/audit.jsonl" -q || fail "installed unpacker audit-verify failed"
pass "dpkg -i: packer --version, man packer, packer keygen and unpacker audit-verify work"

# apt-get remove, as the issue's user would; then nothing of it is left.
retry_dpkg apt-get remove -y -o DPkg::Lock::Timeout=120 airlock || fail "apt-get remove airlock failed"
left=""
while read -r f; do
  f=${f#.}
  [ -n "$f" ] && [ "$f" != / ] || continue
  case $f in /usr/|/usr/bin/|/usr/share/|/usr/share/doc/|/usr/share/man/|/usr/share/man/man1/) continue ;; esac
  # A directory other packages own too (lintian's overrides/) stays theirs.
  case $f in */) [ -d "$f" ] && dpkg-query -S "${f%/}" >/dev/null 2>&1 && continue ;; esac
  [ ! -e "$f" ] || left="$left $f"
done < "$WORK/contents"
[ -z "$left" ] || fail "left after apt-get remove:$left"
! dpkg-query -W airlock >/dev/null 2>&1 || fail "dpkg still knows airlock: $(dpkg-query -W -f='${Status}' airlock)"
ls /var/lib/dpkg/info/airlock.* >/dev/null 2>&1 && fail "dpkg keeps files for airlock: $(ls /var/lib/dpkg/info/airlock.*)"
pass "apt-get remove airlock leaves nothing: no file, no dpkg record"
