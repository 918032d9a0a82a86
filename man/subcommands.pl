#!/usr/bin/perl
# Prints help2man's [COMMANDS] include section for PROG: one subsection per
# subcommand that `PROG --help` lists, made from `PROG SUB --help`, so the
# man page names every subcommand the program has, with its options, as
# the program itself prints them. CLI11's help layout:
#
#   One-line description
#   Usage: PROG SUB [OPTIONS] ARG
#                                           (blank)
#   Positionals: / Options: / GROUP:        a line ending in ':'
#     -o,--output TEXT REQUIRED   Description on the same line, or
#     --long-option TEXT Excludes: --other
#                                 on the next lines, indented
#                                           (blank)
#   Footer: free text; indented lines (examples, tables) kept as they are.
#
# Usage: subcommands.pl PROG NAME   (NAME: the program name for the page)
use strict;
use warnings;

die "usage: subcommands.pl PROG NAME\n" unless @ARGV == 2;
my ($prog, $name) = @ARGV;

sub run {
  my @cmd = @_;
  open(my $fh, '-|', @cmd) or die "subcommands.pl: cannot run @cmd: $!\n";
  my @lines = <$fh>;
  close($fh) or die "subcommands.pl: '@cmd' failed (exit " . ($? >> 8) . ")\n";
  chomp(@lines);
  s/\s+$// for @lines;
  return @lines;
}

# Text for roff: backslashes and hyphens escaped (a '\-' stays an ASCII
# hyphen-minus, so options and examples can be copied from the page).
sub esc {
  my ($s) = @_;
  $s =~ s/\\/\\e/g;
  $s =~ s/-/\\-/g;
  return $s;
}

# A line of roff or include text: one that would be read as a request
# ('.', "'") or as a help2man include directive ('[SECTION]', '/regex/')
# starts with the zero-width '\&'.
sub line {
  my ($s) = @_;
  $s = "\\&$s" if $s =~ /^[.'\[\/]/;
  return "$s\n";
}

# "-o,--output TEXT REQUIRED" -> bold option names, the rest as it is;
# "BUNDLE TEXT REQUIRED" (a positional) -> italic name.
sub item_name {
  my ($s) = @_;
  my ($first, $rest) = split(/ /, $s, 2);
  my $out;
  if ($first =~ /^-/) {
    $out = join(', ', map { '\fB' . esc($_) . '\fR' } split(/,/, $first));
  } else {
    $out = '\fI' . esc($first) . '\fR';
  }
  $out .= ' ' . esc($rest) if defined $rest;
  return $out;
}

my @top = run($prog, '--help');
my @subs;
my $in = 0;
for (@top) {
  if (/^Subcommands:$/) { $in = 1; next; }
  last if $in && /^\S/;
  push @subs, $1 if $in && /^  ([a-z][a-z0-9-]*)(\s|$)/;
}
die "subcommands.pl: '$prog --help' lists no subcommands\n" unless @subs;

print "[COMMANDS]\n";
print line("Each command takes \\fB\\-\\-help\\fR, which prints its part of this section.");

for my $sub (@subs) {
  my @help = run($prog, $sub, '--help');
  my $i = 0;
  my @desc;
  push @desc, $help[$i++] while $i < @help && $help[$i] !~ /^Usage: /;
  die "subcommands.pl: '$prog $sub --help' has no Usage line\n" if $i >= @help;
  (my $usage = $help[$i++]) =~ s/^Usage: \Q$name $sub\E\s*//;

  print ".SS \"$name $sub\"\n";
  print line(esc($_)) for @desc;
  print ".PP\n";
  my $synopsis = esc($usage);
  $synopsis =~ s/\b([A-Z][A-Z0-9_]+)\b/\\fI$1\\fR/g;
  print line("\\fB" . esc("$name $sub") . "\\fR $synopsis");

  # Option groups: a header line ending in ':' whose next line is an item.
  while ($i < @help) {
    if ($help[$i] eq '') { $i++; next; }
    last unless $help[$i] =~ /^\S.*:$/ && $i + 1 < @help
        && ($help[$i + 1] =~ /^  -/ || $help[$i] eq 'Positionals:');
    print ".PP\n", line('\fI' . esc($help[$i++]) . '\fR');
    while ($i < @help && $help[$i] =~ /^  \S/) {
      my $l = $help[$i++];
      my ($item, $text) = $l =~ /^  (\S+(?: \S+)*)(?:\s{2,}(.*))?$/;
      # CLI11 pads the name to column 30: a 27-character name leaves one
      # space before the description (a longer name puts it on the next
      # lines, indented to column 30).
      if (!defined $text && length($l) > 30 && substr($l, 29, 1) eq ' ' && substr($l, 30, 1) ne ' '
          && !($i < @help && $help[$i] =~ /^ {30}\S/)) {
        ($item, $text) = (substr($l, 2, 27), substr($l, 30));
      }
      my @text = defined $text ? ($text) : ();
      push @text, $help[$i++] =~ s/^\s+//r while $i < @help && $help[$i] =~ /^   /;
      print ".TP\n", line(item_name($item));
      print line(esc($_)) for @text;
    }
  }

  # Footer: paragraphs; indented lines verbatim (no filling).
  my $verbatim = 0;
  print ".PP\n" if $i < @help;
  for (; $i < @help; $i++) {
    my $l = $help[$i];
    if ($l eq '') {
      print ".fi\n" if $verbatim;
      $verbatim = 0;
      print ".PP\n";
    } elsif ($l =~ /^\s/) {
      print ".nf\n" unless $verbatim;
      $verbatim = 1;
      print line(esc($l));
    } else {
      print ".fi\n.PP\n" if $verbatim;
      $verbatim = 0;
      print line(esc($l));
    }
  }
  print ".fi\n" if $verbatim;
}
