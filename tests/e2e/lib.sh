# Shared helpers for the end-to-end tests (sourced, not run).
set -euo pipefail

SRC=${AIRLOCK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${AIRLOCK_BIN_DIR:-$SRC/build/bin}
PACKER=$BIN/packer
UNPACKER=$BIN/unpacker
MKWHEEL="python3 $SRC/tests/tools/mkwheel.py"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# A fresh work directory removed on exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/airlock-e2e-XXXXXX")
cleanup_work() { chmod -R u+rwx "$WORK" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup_work EXIT

# The CPython prefix to pack: $AIRLOCK_TEST_PYTHON, default
# $(pyenv root)/versions/3.12.1. In CI (AIRLOCK_REQUIRE_PYTHON=1) a missing
# prefix fails the test; elsewhere the test is skipped (exit 77 is reported
# by ctest as a failure unless SKIP_RETURN_CODE is set, so print and exit 0
# only outside CI).
find_python_prefix() {
  local root
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  PY_PREFIX=${AIRLOCK_TEST_PYTHON:-$root/versions/3.12.1}
  if [ ! -x "$PY_PREFIX/bin/python3" ]; then
    if [ "${AIRLOCK_REQUIRE_PYTHON:-0}" = 1 ] || [ "${CI:-}" = true ]; then
      fail "no CPython prefix at $PY_PREFIX (set AIRLOCK_TEST_PYTHON to one)"
    fi
    echo "SKIP: no CPython prefix at $PY_PREFIX (set AIRLOCK_TEST_PYTHON)"; exit 0
  fi
  PY_BIN=$(ls "$PY_PREFIX"/bin/python3.* | grep -E 'python3\.[0-9]+$' | head -1)
  PY_VER=$("$PY_BIN" -c 'import sys;print("%d.%d.%d" % sys.version_info[:3])')
}

# Keys for a round trip: signing key pair and node identity in $WORK/keys.
make_keys() {
  mkdir -p "$WORK/keys"
  "$PACKER" keygen --unencrypted -o "$WORK/keys/signing.key" --audit-log "$WORK/audit-packer.jsonl" -q >/dev/null
  RECIPIENT=$("$UNPACKER" keygen -o "$WORK/keys/node.key" --audit-log "$WORK/audit-unpacker.jsonl" | grep -E '^age1' | head -1)
  [ -n "$RECIPIENT" ] || fail "unpacker keygen printed no recipient"
}

# A wheelhouse: a pure wheel 'tinydep', a pure wheel 'tinyapp' that requires
# it and has a console script, and a compiled extension wheel 'fastmath'.
make_wheelhouse() {
  local dir=$1
  mkdir -p "$dir"
  $MKWHEEL "$dir" tinydep 1.0.0 --module-text 'VALUE = 42' >/dev/null
  $MKWHEEL "$dir" tinyapp 2.1.0 --requires tinydep --script tinyapp >/dev/null
  $MKWHEEL "$dir" fastmath 0.3.0 --ext "$PY_PREFIX" >/dev/null
  printf 'tinyapp==2.1.0\nfastmath==0.3.0\n' > "$dir/../requirements.txt"
}

# --- An old secure node: a Debian 11 root and a Linux 3.10 system call table ---

# True in CI, where an unavailable prerequisite fails a test instead of
# skipping it.
in_ci() { [ "${AIRLOCK_REQUIRE_PYTHON:-0}" = 1 ] || [ "${CI:-}" = true ]; }

# Fails in CI, else prints SKIP and ends the test with success.
skip_unless_ci() {
  in_ci && fail "$*"
  echo "SKIP: $*"; exit 0
}

# The main Debian archive that apt on this machine uses: the URI of the first
# enabled 'deb' source whose suites include this release's codename (not its
# -security or -updates suites), from /etc/apt/sources.list.d/*.sources
# (deb822) and the one-line /etc/apt/sources.list{,.d/*.list}.
# $AIRLOCK_DEBIAN_MIRROR overrides it.
debian_mirror() {
  if [ -n "${AIRLOCK_DEBIAN_MIRROR:-}" ]; then echo "$AIRLOCK_DEBIAN_MIRROR"; return; fi
  local codename f
  codename=$( (. /etc/os-release && echo "${VERSION_CODENAME:-}") 2>/dev/null)
  [ -n "$codename" ] || codename=bookworm
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v want="$codename" '
        function flush(  n, i, s, u) {
          if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
            n = split(suites, s, /[ \t]+/)
            for (i = 1; i <= n; i++) if (s[i] == want) { split(uris, u, /[ \t]+/); if (u[1] != "") print u[1]; break }
          }
          types = uris = suites = enabled = key = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ { v = $0; sub(/^[ \t]+/, "", v)
                   if (key == "types") types = types " " v; else if (key == "uris") uris = uris " " v
                   else if (key == "suites") suites = suites " " v; next }
        { key = tolower($0); sub(/:.*/, "", key); v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
          if (key == "types") types = v; else if (key == "uris") uris = v
          else if (key == "suites") suites = v; else if (key == "enabled") enabled = v }
        END { flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk -v want="$codename" '
        { sub(/#.*/, "") }
        $1 == "deb" { i = 2
          if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) == want && $i != "") print $i }' "$f"
    done
  } | head -1
}

# Sets OLD_ROOT to a Debian 11 (bullseye, glibc 2.31) root made with
# 'debootstrap --variant=minbase' from debian_mirror (no Python in it). It
# is built once per build tree, in $BIN/../test-roots/bullseye, and shared:
# concurrent tests wait on a lock for one build, and a root without its
# completion marker (a build that was interrupted) is built again. Takes
# about 30 s the first time. Tests use it through in_old_root only, which
# leaves nothing behind in it. Needs root.
ensure_bullseye_root() {
  local roots mirror fd rc n
  [ "$(id -u)" = 0 ] || skip_unless_ci "the Debian 11 root needs root (debootstrap, chroot, unshare)"
  for n in debootstrap flock unshare chroot mount; do
    command -v "$n" >/dev/null || skip_unless_ci "no $n (scripts/setup.sh installs it)"
  done
  mkdir -p "$BIN/../test-roots" || fail "cannot create $BIN/../test-roots"
  roots=$(cd "$BIN/../test-roots" && pwd -P)
  OLD_ROOT=$roots/bullseye
  exec {fd}>"$roots/bullseye.lock"
  flock "$fd"
  if [ ! -f "$roots/bullseye.complete" ]; then
    mirror=$(debian_mirror)
    if [ -z "$mirror" ]; then
      exec {fd}>&-
      skip_unless_ci "no Debian mirror in apt's sources (set AIRLOCK_DEBIAN_MIRROR)"
    fi
    echo "building the Debian 11 test root in $OLD_ROOT from $mirror (once per build tree)"
    rm -rf --one-file-system "$OLD_ROOT" "$roots/bullseye.building"
    # Its own mount namespace: the /proc and /sys that debootstrap mounts in
    # the root cannot outlive it, even when it is killed.
    rc=0
    unshare -m debootstrap --variant=minbase bullseye "$roots/bullseye.building" "$mirror" \
      > "$roots/bullseye.log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
      echo "debootstrap failed (exit $rc); the end of its log:" >&2
      tail -25 "$roots/bullseye.log" >&2
      [ -f "$roots/bullseye.building/debootstrap/debootstrap.log" ] &&
        tail -25 "$roots/bullseye.building/debootstrap/debootstrap.log" >&2
      exec {fd}>&-
      skip_unless_ci "could not build the Debian 11 root from $mirror"
    fi
    mv "$roots/bullseye.building" "$OLD_ROOT"
    touch "$roots/bullseye.complete"
  fi
  exec {fd}>&-
  grep -q '^11\.' "$OLD_ROOT/etc/debian_version" 2>/dev/null ||
    fail "$OLD_ROOT is not a Debian 11 root (remove $roots/bullseye.complete to rebuild it)"
  # The device nodes a chroot needs; where they are missing or unusable (a
  # nodev file system), in_old_root binds the host's /dev.
  OLD_ROOT_BIND_DEV=0
  for n in null zero urandom random tty; do
    [ -c "$OLD_ROOT/dev/$n" ] || OLD_ROOT_BIND_DEV=1
  done
  if [ "$OLD_ROOT_BIND_DEV" = 0 ]; then
    { : > "$OLD_ROOT/dev/null" && head -c1 "$OLD_ROOT/dev/urandom" > /dev/null; } 2>/dev/null || OLD_ROOT_BIND_DEV=1
  fi
  OLD_ROOT_LANG=C
  [ -d "$OLD_ROOT/usr/lib/locale/C.UTF-8" ] && OLD_ROOT_LANG=C.UTF-8
  return 0
}

# The command prefix that in_old_root runs unshare under (set by
# with_kernel_3_10).
OLD_ROOT_WRAP=()

# in_old_root DIR_TO_MAP CMD...: runs CMD in the Debian 11 root
# (ensure_bullseye_root first), in a mount namespace of its own and with no
# network (unshare -mn), with a clean environment (HOME=/root,
# PATH=/usr/sbin:/usr/bin:/sbin:/bin, LANG=C.UTF-8), /proc mounted, and
# DIR_TO_MAP (a test's work directory) bound at the same path, which is also
# CMD's working directory: what CMD writes there is the test's afterwards.
# The rest of the root is read-only for CMD, and /tmp, /var/tmp, /run, /root
# and /dev/shm are empty tmpfs of its own: nothing it does stays in the
# shared root. Exits with CMD's status.
in_old_root() {
  [ $# -ge 2 ] || fail "usage: in_old_root DIR_TO_MAP CMD..."
  [ -n "${OLD_ROOT:-}" ] || fail "in_old_root: call ensure_bullseye_root first"
  local dir anc first="" scratch p
  dir=$(cd "$1" && pwd -P) || fail "in_old_root: no directory $1"
  shift
  [ "$dir" != / ] || fail "in_old_root: cannot map /"
  # The mount point: under one of the tmpfs, made inside the namespace; else
  # the first missing directory is made once in the root (empty, and
  # mkdir -p is safe against concurrent tests) and a tmpfs is mounted on it.
  anc=$dir
  while [ ! -e "$OLD_ROOT$anc" ] && [ ! -L "$OLD_ROOT$anc" ]; do first=$anc; anc=$(dirname "$anc"); done
  p=$anc
  while [ "$p" != / ]; do
    [ ! -L "$OLD_ROOT$p" ] || fail "in_old_root: cannot map $dir: $p is a symbolic link in the root"
    p=$(dirname "$p")
  done
  [ -d "$OLD_ROOT$anc" ] || fail "in_old_root: cannot map $dir: $anc is not a directory in the root"
  scratch=""
  case $anc/ in
    /tmp/*|/var/tmp/*|/run/*|/root/*|/dev/shm/*) ;;
    *) if [ -n "$first" ]; then mkdir -p "$OLD_ROOT$first"; scratch=$first; fi ;;
  esac
  "${OLD_ROOT_WRAP[@]}" unshare -mn -- /bin/bash -c '
    set -e
    R=$1 DIR=$2 SCRATCH=$3 BIND_DEV=$4 LANG_=$5; shift 5
    mount --bind "$R" "$R"
    mount -o remount,bind,ro "$R"
    [ "$BIND_DEV" = 0 ] || mount --rbind /dev "$R/dev"
    mount -t proc proc "$R/proc"
    for d in /tmp /var/tmp /run /root /dev/shm "$SCRATCH"; do
      if [ -n "$d" ] && [ -d "$R$d" ]; then mount -t tmpfs -o mode=1777 tmpfs "$R$d"; fi
    done
    chmod 0700 "$R/root"
    mkdir -p "$R$DIR"
    mount --bind "$DIR" "$R$DIR"
    exec chroot "$R" /usr/bin/env -i -C "$DIR" HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG="$LANG_" "$@"
  ' in_old_root "$OLD_ROOT" "$dir" "$scratch" "$OLD_ROOT_BIND_DEV" "$OLD_ROOT_LANG" "$@"
}

# with_kernel_3_10 CMD...: runs CMD as on a Linux 3.10 kernel (RHEL 7):
# every x86_64 system call added after 3.10 answers ENOSYS
# (tests/tools/seccomp_3_10.py), and uname reports an old release (the
# UNAME26 personality: "2.6.x", the closest to "3.10" this host can fake),
# because programs choose their path by it: OpenSSL 3 seeds from
# /dev/urandom when getrandom is missing only on kernels before 4.8. Both
# are inherited by CMD's children.
# CMD may be in_old_root: then the filter is installed before unshare, so
# the mounts, chroot and the command in the root all run under it.
with_kernel_3_10() {
  local wrap=(setarch "$(uname -m)" --uname-2.6 /usr/bin/python3 "$SRC/tests/tools/seccomp_3_10.py" --)
  /usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
    skip_unless_ci "no python3-seccomp for /usr/bin/python3 (scripts/setup.sh installs it)"
  if [ "$(type -t "$1")" = function ]; then
    [ "$1" = in_old_root ] || fail "with_kernel_3_10: $1 is a shell function (only commands and in_old_root)"
    local OLD_ROOT_WRAP=("${wrap[@]}" "${OLD_ROOT_WRAP[@]}")
    "$@"
  else
    "${wrap[@]}" "$@"
  fi
}
