#!/usr/bin/env bash
# The man pages made at build time (man/mkman.sh): they render without
# warnings at 80 columns, have every section, and name every subcommand
# that `PROG --help` lists with every long option of `PROG SUB --help`. A
# made-up program shows that the subcommands come from --help, not a list.
source "$(dirname "$0")/lib.sh"
MAN_DIR=$BIN/../man
[ -f "$MAN_DIR/packer.1" ] || skip_unless_ci "no $MAN_DIR/packer.1 (configured with -DAIRLOCK_MAN=OFF?)"
for t in man help2man perl; do command -v $t >/dev/null || skip_unless_ci "no $t (scripts/setup.sh installs it)"; done
cd "$WORK"

# Subcommands as `PROG --help` lists them (CLI11: "Subcommands:" block).
subcommands() { "$1" --help | awk '/^Subcommands:$/ {f = 1; next} f && /^[^ ]/ {f = 0} f && /^  [a-z]/ {print $1}'; }

for prog in packer unpacker; do
  page=$MAN_DIR/$prog.1
  MANWIDTH=80 man --warnings -l "$page" > "$prog.txt" 2> "$prog.warn" || fail "man -l $page failed: $(cat "$prog.warn")"
  [ ! -s "$prog.warn" ] || fail "$prog.1 renders with warnings: $(head -5 "$prog.warn")"
  gunzip -c "$page.gz" | cmp -s - "$page" || fail "$prog.1.gz is not $prog.1"
  # gzip -n: no name, no time stamp in the header (bytes 4-7 are zero).
  [ "$(od -An -tx1 -j4 -N4 "$page.gz" | tr -d ' ')" = 00000000 ] || fail "$prog.1.gz has a time stamp"
  for s in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
    grep -qx "$s" "$prog.txt" || fail "$prog.1 has no $s section"
  done
  grep -q "^       $prog - " "$prog.txt" || fail "$prog.1: NAME is not '$prog - ...': $(sed -n 4p "$prog.txt")"
  version=$("$BIN/$prog" --version | awk '{print $3}')
  head -1 "$page" | grep -q '^\.\\" DO NOT MODIFY' || fail "$prog.1 was not made by help2man"
  grep -q "^\.TH ${prog^^} \"1\" .* \"airlock $version\"" "$page" || fail "$prog.1 is not for version $version: $(grep '^\.TH' "$page")"

  subs=$(subcommands "$BIN/$prog")
  [ -n "$subs" ] || fail "$prog --help lists no subcommands"
  n=0
  for sub in $subs; do
    # The subsection heading, then every long option of the subcommand
    # within that subsection.
    sed -n "/^   $prog $sub\$/,/^   $prog [a-z-]*\$\\|^[A-Z]/p" "$prog.txt" > section.txt
    [ -s section.txt ] || fail "$prog.1 has no subsection '$prog $sub' (it is in '$prog --help')"
    for opt in $("$BIN/$prog" "$sub" --help | grep -E '^  -' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
      grep -qF -- "$opt" section.txt || fail "$prog.1, '$prog $sub': no $opt (it is in '$prog $sub --help')"
    done
    n=$((n + 1))
  done
  # And no subsection for a subcommand the program does not have.
  extra=$(grep -E "^   $prog [a-z-]+\$" "$prog.txt" | awk '{print $2}' | grep -vxF -f <(printf '%s\n' $subs) || true)
  [ -z "$extra" ] || fail "$prog.1 describes subcommands $prog --help does not list: $extra"
  pass "$prog.1: renders without warnings, $n subcommands as in '$prog --help', each with all its options"
done

# The subcommands come from --help: a program with other subcommands gets
# a page with those.
cat > fake <<'EOF'
#!/bin/sh
case "$*" in
  --version) echo "fake (airlock) 9.9.9" ;;
  --help) printf 'fake: test the page generator.\nUsage: fake [OPTIONS] SUBCOMMAND\n\nOptions:\n  -h,--help                   Print this help message and exit\n\nSubcommands:\n  alpha                       First\n  beta-gamma                  Second\n' ;;
  "alpha --help") printf 'First\nUsage: fake alpha [OPTIONS] FILE\n\nPositionals:\n  FILE TEXT REQUIRED          A file\n\nOptions:\n  -h,--help                   Print this help message and exit\n  --alpha-only                Only in alpha\n\n.starts with a dot, \\backslash\n[NOTASECTION]\n  indented -x example\n' ;;
  "beta-gamma --help") printf 'Second\nUsage: fake beta-gamma [OPTIONS]\n\nOptions:\n  -h,--help                   Print this help message and exit\n  --a-very-long-option-name-that-wraps TEXT Excludes: --alpha-only\n                              Described on the next line\n  --name-of-27-chars TEXT ... One space before this\n  --last                      Last\n' ;;
  *) exit 2 ;;
esac
EOF
chmod +x fake
printf '[SEE ALSO]\nnothing\n' > fake.h2m
bash "$SRC/man/mkman.sh" "$WORK/fake" fake.h2m "$WORK/out/fake.1" || fail "mkman.sh failed on a made-up program"
MANWIDTH=80 man --warnings -l out/fake.1 > fake.txt 2> fake.warn || fail "fake.1 does not render"
[ ! -s fake.warn ] || fail "fake.1 renders with warnings: $(cat fake.warn)"
grep -qx "   fake alpha" fake.txt && grep -qx "   fake beta-gamma" fake.txt || fail "fake.1 lacks its subcommands: $(cat fake.txt)"
grep -q -- "--alpha-only" fake.txt && grep -q -- "--a-very-long-option-name-that-wraps" fake.txt || fail "fake.1 lacks options"
grep -q "Described on the next line" fake.txt || fail "fake.1 lost a description on its own line"
# A 27-character name: CLI11 leaves one space before the description.
grep -qx -- "       --name-of-27-chars TEXT ..." fake.txt && grep -qx "              One space before this" fake.txt ||
  fail "fake.1: a 27-character option name ran into its description: $(grep -A1 -- --name-of-27 fake.txt)"
grep -q '\.starts with a dot, \\backslash' fake.txt || fail "fake.1 lost a line starting with a dot or a backslash"
grep -q '\[NOTASECTION\]' fake.txt || fail "a '[...]' line of --help became a help2man section"
grep -q '^         indented -x example$' fake.txt || fail "an indented footer line was not kept as it is"
grep -qx "SEE ALSO" fake.txt || fail "fake.1 lacks the include file's section"
[ -f out/fake.1.gz ] || fail "mkman.sh wrote no fake.1.gz"
pass "mkman.sh takes the subcommands from --help (a made-up program's alpha and beta-gamma)"
