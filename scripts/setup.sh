#!/usr/bin/env bash
# Installs airlock's build and test dependencies from Debian packages.
# Idempotent and non-interactive: does nothing when all are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config file
  # releases (scripts/release.sh): man pages from --help, the .deb's
  # computed Depends (dpkg-shlibdeps), man to read them, git for the commit
  help2man dpkg-dev man-db git
  # the .deb checked against Debian policy (tests/e2e/release_deb.sh)
  lintian
  libsodium-dev libarchive-dev libzstd-dev nettle-dev libcli11-dev catch2 nlohmann-json3-dev
  # tests: zlib inflates compressed test vectors
  zlib1g-dev
  # interop and end-to-end tests: the standard tools a security officer uses
  age minisign zstd tar binutils util-linux python3 python3-jsonschema zip unzip
  # media labels: packer label's SVGs rendered in the tests, with the fonts they name
  librsvg2-bin fonts-dejavu-core
  # old secure nodes: a Debian 11 root (debootstrap only recommends the
  # keyring), a Linux 3.10 system call table (seccomp for /usr/bin/python3),
  # and ELF interpreter and RPATH edits
  debootstrap debian-archive-keyring python3-seccomp patchelf
  # benchmarks
  hyperfine time bc
  # fuzzing (scripts/fuzz.sh): clang and its libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
