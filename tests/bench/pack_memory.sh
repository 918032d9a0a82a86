#!/usr/bin/env bash
# Peak memory of packer pack as the number of files grows: a real CPython
# prefix is copied, N small modules are added to it (the shape of a large
# conda environment: many small files), and the copy is packed. The
# standard pipeline (tar -ch | zstd -T2 -3 | age) runs on the same tree for
# comparison. Prints the peak RSS of each, and the packer's bytes per file
# above the plain prefix.
#   tests/bench/pack_memory.sh [FILES] [PREFIX]
#   FILES   small files to add (default 250000)
#   PREFIX  the prefix to copy (default $(pyenv root)/versions/3.12.1)
# Needs about 1 GiB of disk per 250,000 files under ${BENCH_DIR:-$TMPDIR}.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${1:-250000}
PREFIX=${2:-$(pyenv root)/versions/3.12.1}
bench_scratch pack-memory
make_keys "$BIN"

peak() {  # peak RSS in KiB of: packer pack of $1
  rm -f out.sealed
  /usr/bin/time -f "%M" -o rss.txt "$BIN/packer" pack --env "$1" --no-check -s sign.key -R "$RCPT" -o out.sealed \
    --audit-log audit.jsonl -q >/dev/null
  cat rss.txt
}

base_files=$(find "$PREFIX" | wc -l)
base=$(peak "$PREFIX")
cp -a "$PREFIX/." env/
site=$(ls -d env/lib/python3*/site-packages | head -1)
python3 - "$site" "$N" <<'PY'
import os, sys
site, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = "%s/bigpkg%03d/sub%02d" % (site, i // 5000, (i // 100) % 50)
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open("%s/module_%06d.py" % (d, i), "w") as f:
        f.write("# module %d\nVALUE = %d\n" % (i, i) + "x = 1\n" * 20)
PY
files=$(find env | wc -l)
big=$(peak env)
rm -f out.sealed
/usr/bin/time -f "%M" -o rss.txt bash -c "tar -chf - env 2>/dev/null | zstd -q -T2 -3 | age -r '$RCPT' > pipe.age"
pipe=$(cat rss.txt)
echo "prefix $PREFIX: $base_files entries, packer peak $((base / 1024)) MiB"
echo "with $N small files added: $files entries, packer peak $((big / 1024)) MiB; pipeline's largest process $((pipe / 1024)) MiB"
echo "packer: $(( (big - base) * 1024 / (files - base_files) )) bytes per added entry; peak ratio packer/pipeline $(echo "scale=2; $big / $pipe" | bc)"
