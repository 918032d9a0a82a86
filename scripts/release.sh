#!/usr/bin/env bash
# Builds a release from this source tree, reproducibly: the same commit
# built on the same Debian release with the same package versions gives the
# same bytes, in any directory, at any time (docs/release.md).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/release.sh [-B BUILD_DIR] [-o OUT_DIR] [-j JOBS]
                          [-s MINISIGN_SECRET_KEY [--key-passphrase-file FILE]]
                          [--maintainer "NAME <EMAIL>"] [--allow-dirty]

Builds packer, the static unpacker, the man pages and the Debian package in
a fresh BUILD_DIR (default build-release), with SOURCE_DATE_EPOCH set to the
commit's time unless it is already set, and writes
OUT_DIR/airlock-VERSION-ARCH-linux/ (OUT_DIR defaults to dist):

  unpacker                    the statically linked unpacker
  airlock_VERSION_amd64.deb   packer, unpacker, man pages, docs
  packer.1 unpacker.1         the man pages
  BUILDINFO                   commit, SOURCE_DATE_EPOCH, compiler, packages
  SHA256SUMS                  sha256sum of the files above
  SHA256SUMS.minisig          with -s: minisign signature of SHA256SUMS

  -B DIR     build directory; made anew (an existing one must be one that
             this script made)
  -o DIR     where the release directory goes (default dist)
  -j N       build jobs (default: the number of processors)
  -s KEY     sign SHA256SUMS with this minisign secret key (minisign -S);
             an encrypted key asks for its passphrase on the terminal, or
             reads it from --key-passphrase-file FILE (first line)
  --maintainer "NAME <EMAIL>"
             the .deb's Maintainer field and changelog signature; without
             it they hold a placeholder, and this script says so
  --allow-dirty
             build even though the tree has changes or untracked files
             (the release then does not match any commit)

Verify:  minisign -V -p RELEASE.pub -m SHA256SUMS && sha256sum -c SHA256SUMS
EOF
}

cd "$(dirname "$0")/.."
SRC=$(pwd -P)
BUILD=build-release
OUT=dist
JOBS=$(nproc)
KEY=""
KEY_PASS=""
ALLOW_DIRTY=0
MAINTAINER=""
while [ $# -gt 0 ]; do
  case $1 in
    -B) BUILD=${2:?-B needs a directory}; shift 2 ;;
    -o) OUT=${2:?-o needs a directory}; shift 2 ;;
    -j) JOBS=${2:?-j needs a number}; shift 2 ;;
    -s) KEY=${2:?-s needs a key file}; shift 2 ;;
    --key-passphrase-file) KEY_PASS=${2:?--key-passphrase-file needs a file}; shift 2 ;;
    --maintainer) MAINTAINER=${2:?--maintainer needs "NAME <EMAIL>"}; shift 2 ;;
    --allow-dirty) ALLOW_DIRTY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "release.sh: error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "release.sh: error: $1" >&2; exit "${2:-1}"; }
for tool in cmake cpack help2man dpkg-shlibdeps sha256sum gzip; do
  command -v "$tool" >/dev/null || die "no $tool (scripts/setup.sh installs it)" 2
done
[ -z "$KEY" ] || command -v minisign >/dev/null || die "no minisign (scripts/setup.sh installs it)" 2
[ -z "$KEY" ] || [ -f "$KEY" ] || die "no minisign secret key $KEY" 2
[ -z "$KEY_PASS" ] || [ -f "$KEY_PASS" ] || die "no passphrase file $KEY_PASS" 2
[ -z "$KEY_PASS" ] || [ -n "$KEY" ] || die "--key-passphrase-file needs -s KEY" 2
maintainer_re='^[^<>]+ <[^<>@ ]+@[^<>@ ]+>$'
if [ -n "$MAINTAINER" ]; then
  [[ $MAINTAINER =~ $maintainer_re ]] || die "--maintainer '$MAINTAINER': give NAME <EMAIL>, as Debian's Maintainer field has it" 2
else
  echo "release.sh: warning: no --maintainer: the .deb's Maintainer and changelog name a placeholder address" >&2
fi

# The source: a clean commit, unless told otherwise. Untracked files count:
# the build picks up every source file under common/, packer/, unpacker/.
COMMIT=unknown
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  COMMIT=$(git -C "$SRC" rev-parse HEAD)
  if [ -n "$(git -C "$SRC" status --porcelain)" ]; then
    [ "$ALLOW_DIRTY" = 1 ] || die "the tree has changes or untracked files (git status); commit them, or pass --allow-dirty" 2
    echo "release.sh: warning: building a dirty tree: the release matches no commit" >&2
    COMMIT="$COMMIT+dirty"
  fi
  : "${SOURCE_DATE_EPOCH:=$(git -C "$SRC" log -1 --format=%ct)}"
fi
[ -n "${SOURCE_DATE_EPOCH:-}" ] || die "not a git checkout: set SOURCE_DATE_EPOCH" 2
[[ $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH is not a number: '$SOURCE_DATE_EPOCH'" 2
export SOURCE_DATE_EPOCH

# A plain build, independent of the caller's environment: no compiler or
# flags from the environment, no compiler cache, C locale, UTC, and umask
# 022 (cpack takes the modes of the .deb's ar members and control files
# from the files it writes).
umask 022
unset CC CXX CFLAGS CXXFLAGS CPPFLAGS LDFLAGS MAKEFLAGS CMAKE_GENERATOR \
      CMAKE_C_COMPILER_LAUNCHER CMAKE_CXX_COMPILER_LAUNCHER
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^CCACHE_' || true)
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v ccache | paste -sd: -)
export PATH LC_ALL=C TZ=UTC

case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
case $OUT in /*) ;; *) OUT=$SRC/$OUT ;; esac
if [ -e "$BUILD" ]; then
  [ -f "$BUILD/.airlock-release-build" ] ||
    die "$BUILD exists and is not a release build directory; remove it or choose another with -B" 2
  rm -rf "$BUILD"
fi
mkdir -p "$BUILD"
touch "$BUILD/.airlock-release-build"

echo "release.sh: commit $COMMIT, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH ($(date -u -d "@$SOURCE_DATE_EPOCH" +%FT%TZ))"
MAINTAINER_ARG=()
[ -z "$MAINTAINER" ] || MAINTAINER_ARG=(-DAIRLOCK_DEB_MAINTAINER="$MAINTAINER")
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DAIRLOCK_TESTS=OFF -DAIRLOCK_WERROR=OFF "${MAINTAINER_ARG[@]}" \
  >"$BUILD/configure.log" ||
  { cat "$BUILD/configure.log" >&2; die "configure failed" 2; }
cmake --build "$BUILD" -j"$JOBS" >"$BUILD/build.log" 2>&1 ||
  { tail -40 "$BUILD/build.log" >&2; die "build failed (log: $BUILD/build.log)" 2; }
(cd "$BUILD" && cpack -G DEB) >"$BUILD/cpack.log" 2>&1 ||
  { tail -40 "$BUILD/cpack.log" >&2; die "cpack failed (log: $BUILD/cpack.log)" 2; }

VERSION=$("$BUILD/bin/packer" --version | awk '{print $3}')
DEB_ARCH=$(dpkg --print-architecture)
DEB=$BUILD/package/airlock_${VERSION}_${DEB_ARCH}.deb
[ -f "$DEB" ] || die "cpack made no $DEB"
file -b "$BUILD/bin/unpacker" | grep -q "statically linked" || die "$BUILD/bin/unpacker is not statically linked"

REL=$OUT/airlock-$VERSION-$(uname -m)-linux
rm -rf "$REL"
mkdir -p "$REL"
install -m 0755 "$BUILD/bin/unpacker" "$REL/unpacker"
install -m 0644 "$DEB" "$REL/"
install -m 0644 "$BUILD/man/packer.1" "$BUILD/man/unpacker.1" "$REL/"

# What a security office needs to rebuild these bytes: the commit, the date,
# and the versions of everything that goes into them (same Debian release,
# same package versions).
{
  echo "airlock $VERSION"
  echo "commit: $COMMIT"
  echo "SOURCE_DATE_EPOCH: $SOURCE_DATE_EPOCH"
  echo "debian: $(cat /etc/debian_version 2>/dev/null || echo unknown) ($DEB_ARCH)"
  echo
  "$BUILD/bin/unpacker" --version --verbose
  echo
  echo "Debian packages the build used (dpkg-query -W):"
  gcc_major=$(c++ -dumpversion | cut -d. -f1)
  dpkg-query -W -f='${Package} ${Version}\n' \
    binutils cmake cpp dpkg-dev g++ "g++-$gcc_major" gcc "gcc-$gcc_major" gzip help2man \
    libc6-dev "libstdc++-$gcc_major-dev" "libgcc-$gcc_major-dev" libarchive-dev libsodium-dev libzstd-dev \
    nettle-dev perl libarchive13 libsodium23 libzstd1 libnettle8 2>/dev/null | sort || true
} > "$REL/BUILDINFO"
chmod 0644 "$REL/BUILDINFO"

(cd "$REL" && sha256sum -- BUILDINFO "$(basename "$DEB")" packer.1 unpacker unpacker.1 > SHA256SUMS)
chmod 0644 "$REL/SHA256SUMS"

if [ -n "$KEY" ]; then
  comment="airlock $VERSION SHA256SUMS commit:$COMMIT"
  if [ -n "$KEY_PASS" ]; then
    # minisign prompts "Password:" on stderr even when the passphrase is
    # piped: show its messages only when it fails.
    head -n1 "$KEY_PASS" | minisign -S -s "$KEY" -m "$REL/SHA256SUMS" -t "$comment" >"$BUILD/minisign.log" 2>&1 ||
      { cat "$BUILD/minisign.log" >&2; die "minisign could not sign SHA256SUMS"; }
  else
    minisign -S -s "$KEY" -m "$REL/SHA256SUMS" -t "$comment" || die "minisign could not sign SHA256SUMS"
  fi
  chmod 0644 "$REL/SHA256SUMS.minisig"
fi

echo "release.sh: $REL"
(cd "$REL" && cat SHA256SUMS)
