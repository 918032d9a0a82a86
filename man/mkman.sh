#!/usr/bin/env bash
# Makes a program's man page from its own --help, so the page never drifts
# from the code: help2man reads the top-level --help and --version,
# subcommands.pl turns every subcommand's --help into the COMMANDS section,
# and INCLUDE (man/PROG.h2m) adds what --help does not say (exit status,
# environment, files, examples, see also). Writes OUT and OUT.gz.
#
# Usage: mkman.sh PROG INCLUDE.h2m OUT.1
# The date on the page is SOURCE_DATE_EPOCH's month when it is set (a
# release sets it), else this month.
set -euo pipefail
[ $# = 3 ] || { echo "usage: mkman.sh PROG INCLUDE.h2m OUT.1" >&2; exit 2; }
prog=$1 include=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$prog")
export LC_ALL=C LANGUAGE=   # English month names, byte-wise text

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# help2man names the page after the file it runs, and reads CLI11's
# "-h,--help" better as "-h, --help": a wrapper of that name adds the space.
cat > "$tmp/$name" <<EOF
#!/bin/sh
"$prog" "\$@" | sed -E 's/^(  -[A-Za-z0-9]),--/\\1, --/'
EOF
chmod +x "$tmp/$name"

# NAME: the first line of --help, "PROG: what it does." without the "PROG: ".
summary=$("$prog" --help | head -1)
summary=${summary#"$name: "}
summary=${summary%.}

perl "$here/subcommands.pl" "$prog" "$name" > "$tmp/commands.h2m"
mkdir -p "$(dirname "$out")"
help2man --no-info --section=1 --name="$summary" \
  --include="$tmp/commands.h2m" --include="$include" \
  --output="$tmp/page.1" "$tmp/$name"
grep -q '^\.SH COMMANDS$' "$tmp/page.1" || { echo "mkman.sh: no COMMANDS section in $name.1" >&2; exit 1; }
# Ragged right and no hyphenation: paths, options and package names stay
# whole, so they can be copied from the page.
sed -e '/^\.TH /a .nh' -e '/^\.TH /a .ad l' "$tmp/page.1" > "$out"
gzip -9n < "$out" > "$out.gz"
