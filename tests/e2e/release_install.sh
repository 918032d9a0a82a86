#!/usr/bin/env bash
# `cmake --install BUILD --prefix P` puts the programs in P/bin, the man
# pages in P/share/man/man1 and README, LICENSE, Debian's copyright and
# changelog.gz, and docs/ in P/share/doc/airlock; the installed programs
# run from there and
# `--version --verbose` says what they were built with.
source "$(dirname "$0")/lib.sh"
BUILD=$(cd "$BIN/.." && pwd)
[ -f "$BUILD/cmake_install.cmake" ] || fail "$BUILD is not a CMake build directory"
[ -f "$BUILD/man/packer.1.gz" ] || skip_unless_ci "no man pages in $BUILD (configured with -DAIRLOCK_MAN=OFF?)"
P=$WORK/prefix
cmake --install "$BUILD" --prefix "$P" > "$WORK/install.log" 2>&1 || fail "cmake --install failed: $(tail -5 "$WORK/install.log")"

for prog in packer unpacker; do
  f=$P/bin/$prog
  [ -x "$f" ] || fail "no executable $f"
  cmp -s "$f" "$BIN/$prog" || fail "$f differs from $BIN/$prog"
  [ "$(stat -c %a "$f")" = 755 ] || fail "$f has mode $(stat -c %a "$f"), not 755"
  page=$P/share/man/man1/$prog.1.gz
  [ -f "$page" ] || fail "no man page $page"
  cmp -s "$page" "$BUILD/man/$prog.1.gz" || fail "$page is not the build's page"
  [ "$(stat -c %a "$page")" = 644 ] || fail "$page has mode $(stat -c %a "$page"), not 644"
  MANWIDTH=80 man --warnings -l "$page" > "$WORK/$prog.txt" 2> "$WORK/$prog.warn" || fail "man -l $page failed"
  [ ! -s "$WORK/$prog.warn" ] || fail "$page renders with warnings: $(head -3 "$WORK/$prog.warn")"
  # man finds the page by name under the prefix.
  [ "$(MANPATH="$P/share/man" man -w "$prog")" = "$page" ] || fail "man -w $prog does not find $page"
done
file "$P/bin/unpacker" | grep -q "statically linked" || fail "installed unpacker is not statically linked"

DOC=$P/share/doc/airlock
for f in README.md LICENSE; do
  cmp -s "$DOC/$f" "$SRC/$f" || fail "$DOC/$f is missing or differs from $SRC/$f"
done
grep -q "Apache License" "$DOC/LICENSE" || fail "LICENSE is not the Apache License"
cmp -s "$DOC/copyright" "$SRC/packaging/deb/copyright" || fail "$DOC/copyright is missing or differs from packaging/deb/copyright"
zcat "$DOC/changelog.gz" > "$WORK/changelog" || fail "$DOC/changelog.gz is not gzip"
head -1 "$WORK/changelog" | grep -q "^airlock (" || fail "changelog.gz is not a Debian changelog: $(head -1 "$WORK/changelog")"
docs=$(cd "$SRC/docs" && find . -type f | sed 's|^\./||' | sort)
n=0
for f in $docs; do
  cmp -s "$DOC/docs/$f" "$SRC/docs/$f" || fail "$DOC/docs/$f is missing or differs from docs/$f"
  n=$((n + 1))
done
# Nothing else: the install is exactly these files.
expected=$( { echo bin/packer; echo bin/unpacker; echo share/man/man1/packer.1.gz; echo share/man/man1/unpacker.1.gz
              echo share/doc/airlock/README.md; echo share/doc/airlock/LICENSE
              echo share/doc/airlock/copyright; echo share/doc/airlock/changelog.gz
              for f in $docs; do echo "share/doc/airlock/docs/$f"; done; } | sort)
actual=$(cd "$P" && find . -type f | sed 's|^\./||' | sort)
[ "$actual" = "$expected" ] || fail "installed files differ from the expected list: $(diff <(echo "$expected") <(echo "$actual"))"
pass "cmake --install: bin/packer, bin/unpacker, 2 man pages, README, LICENSE, copyright, changelog.gz and $n files of docs/, nothing else"

# The installed programs run, and record what they were built with.
version=$(sed -n 's/^project(airlock VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
for prog in packer unpacker; do
  [ "$("$P/bin/$prog" --version)" = "$prog (airlock) $version" ] || fail "$prog --version: $("$P/bin/$prog" --version)"
  "$P/bin/$prog" --version --verbose > "$WORK/$prog.version" || fail "$prog --version --verbose failed"
  "$P/bin/$prog" --verbose --version | cmp -s - "$WORK/$prog.version" || fail "$prog --verbose --version differs from --version --verbose"
  for key in "build type" linkage compiler linker cmake glibc libsodium libzstd nettle "built with"; do
    grep -qE "^$key: +[^ ]" "$WORK/$prog.version" || fail "$prog --version --verbose has no '$key:' line: $(cat "$WORK/$prog.version")"
  done
  grep -qE '^compiler: +.*[0-9]+\.[0-9]+' "$WORK/$prog.version" || fail "$prog: no compiler version"
  grep -qE '^libsodium: +[0-9]+\.[0-9]+\.[0-9]+$' "$WORK/$prog.version" || fail "$prog: no libsodium version"
  grep -qE '^libzstd: +[0-9]+\.[0-9]+\.[0-9]+$' "$WORK/$prog.version" || fail "$prog: no libzstd version"
  grep -qE '^nettle: +[0-9]+\.[0-9]+$' "$WORK/$prog.version" || fail "$prog: no nettle version"
  ! grep -qF "$BUILD" "$WORK/$prog.version" || fail "$prog --version --verbose names the build directory"
done
# libarchive reads the packer's wheels; the unpacker reads its tar itself.
grep -qE '^libarchive: +[0-9]+\.[0-9]+\.[0-9]+' "$WORK/packer.version" || fail "packer: no libarchive version"
! grep -q '^libarchive:' "$WORK/unpacker.version" || fail "unpacker names libarchive, which it does not link"
grep -q '^linkage: *static' "$WORK/unpacker.version" || fail "unpacker does not say it is static"
grep -q '^linkage: *dynamic' "$WORK/packer.version" || fail "packer does not say it is dynamic"
# The static unpacker carries its libraries: it reports the versions of
# the library headers it was compiled against.
[ "$(sed -n 's/^libsodium: *//p' "$WORK/unpacker.version")" = \
  "$(sed -n 's/^#define SODIUM_VERSION_STRING "\(.*\)"/\1/p' /usr/include/sodium/version.h)" ] ||
  fail "unpacker's libsodium version is not the one in sodium/version.h"
[ "$(sed -n 's/^libzstd: *//p' "$WORK/unpacker.version")" = \
  "$(awk '/#define ZSTD_VERSION_(MAJOR|MINOR|RELEASE) /{v = v (v ? "." : "") $3} END {print v}' /usr/include/zstd.h)" ] ||
  fail "unpacker's libzstd version is not the one in zstd.h"
pass "installed packer and unpacker run; --version --verbose names compiler, linker and library versions"
