#!/usr/bin/env bash
# The link test: a real CPython prefix packed with a wheelhouse whose
# extension 'vendlib' needs a library shipped in the wheel
# (vendlib.libs/libfoo-<hash>.so.1, found through RUNPATH
# $ORIGIN/../vendlib.libs, as auditwheel makes them) and an extension
# 'needslib' whose library exists nowhere.
# - Bundle A exempts needslib (packer pack --link-test-skip): unpack loads
#   every shared object of the tree, pip's included (exit 0, an ok
#   'link-test' audit record, --json counts equal to the shared objects
#   counted here).
# - With libfoo deleted, 'unpacker link-test DEST' exits 4 naming the
#   extension and the library with the loader's message; --link-test-skip of
#   the extension makes it pass.
# - A library needing symbol version FOO_1.0 from a library that defines
#   only FOO_0.9: the loader's "version `FOO_1.0' not found".
# - Without libpython the interpreter cannot start: the first failure.
# - Bundle B does not exempt needslib: unpack exits 4 after pip, naming it,
#   DEST stays and the hint says how to rerun; --no-link-test does not run
#   the test (exit 0, no 'link-test' record).
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
cd "$WORK"
PYV=python${PY_VER%.*}
SITE=lib/$PYV/site-packages

mkdir -p wh lib
$MKWHEEL wh tinydep 1.0.0 --module-text 'VALUE = 42' >/dev/null
$MKWHEEL wh vendlib 1.0.0 --ext "$PY_PREFIX" --ext-bundled-lib foo >/dev/null
printf 'int answer_answer(void) { return 0; }\n' > answer.c
gcc -shared -fPIC -Wl,-soname,libanswer.so -o lib/libanswer.so answer.c
$MKWHEEL wh needslib 1.0.0 --ext "$PY_PREFIX" --ext-lib answer --ext-libdir lib >/dev/null
rm lib/libanswer.so
printf 'tinydep==1.0.0\nvendlib==1.0.0\nneedslib==1.0.0\n' > req.txt
LIBFOO=$(unzip -Z1 wh/vendlib-*.whl | grep '^vendlib\.libs/libfoo-[0-9a-f]*\.so\.1$')
[ -n "$LIBFOO" ] || fail "the vendlib wheel ships no vendlib.libs/libfoo-<hash>.so.1: $(unzip -Z1 wh/vendlib-*.whl)"
LIBFOO=$(basename "$LIBFOO")

pack() {  # OUT [packer options...]
  local out=$1; shift
  "$PACKER" pack --env "$PY_PREFIX" --wheelhouse wh -r req.txt --no-check --level 1 -s keys/signing.key \
    -R "$RECIPIENT" -o "$out" --audit-log audit-packer.jsonl -q "$@" >/dev/null || fail "packer pack $out failed"
}
pack a.sealed --link-test-skip "$SITE/needslib/*.so"
pack b.sealed
PUB=keys/signing.key.pub
[ -f "$PUB" ] || PUB=$(ls keys/*.pub | head -1)

unpack() {  # BUNDLE DEST AUDIT [options...]: sets rc
  local bundle=$1 dest=$2 audit=$3; shift 3
  rc=0
  "$UNPACKER" unpack -p "$PUB" -i keys/node.key "$bundle" -C "$dest" --audit-log "$audit" --json "$@" \
    > "$dest.json" 2> "$dest.err" || rc=$?
}
# run_lt NAME [options...]: unpacker link-test on $DEST; sets rc.
run_lt() {
  local name=$1; shift
  rc=0
  "$UNPACKER" link-test "$DEST" --audit-log lt.jsonl "$@" > "$name.out" 2> "$name.err" || rc=$?
}
# The shared objects under DIR, counted here: regular ELF64 files of type
# ET_DYN without a PT_INTERP program header, one per inode.
count_objects() {
  python3 - "$1" <<'PY'
import os, struct, sys
seen = set()
for root, dirs, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        st = os.lstat(p)
        if not os.path.isfile(p) or os.path.islink(p) or (st.st_dev, st.st_ino) in seen:
            continue
        with open(p, "rb") as fh:
            h = fh.read(64)
            if len(h) < 64 or h[:5] != b"\x7fELF\x02" or struct.unpack_from("<H", h, 16)[0] != 3:
                continue
            phoff, = struct.unpack_from("<Q", h, 32)
            phentsize, phnum = struct.unpack_from("<HH", h, 54)
            fh.seek(phoff)
            ph = fh.read(phentsize * phnum)
            if any(struct.unpack_from("<I", ph, i * phentsize)[0] == 3 for i in range(phnum)):
                continue  # PT_INTERP: an executable
        seen.add((st.st_dev, st.st_ino))
print(len(seen))
PY
}

# 1. Bundle A: the test runs last and passes; needslib is exempt by the bundle.
DEST=$WORK/node/a
mkdir -p node
unpack a.sealed "$DEST" audit-a.jsonl
[ "$rc" = 0 ] || { tail -20 "$DEST.err"; fail "unpack of bundle A: exit $rc"; }
EXT=$(cd "$DEST/env" && ls $SITE/vendlib/_speed.*.so)
[ -f "$DEST/env/$SITE/vendlib.libs/$LIBFOO" ] || fail "pip did not install vendlib.libs/$LIBFOO"
total=$(count_objects "$DEST/env")
python3 - "$DEST.json" "$total" "$SITE" <<'PY' || fail "unpack --json link_test: $(cat "$DEST.json")"
import json, sys
lt = json.load(open(sys.argv[1]))["link_test"]
total, site = int(sys.argv[2]), sys.argv[3]
assert lt["ok"] is True and lt["failed"] == 0 and lt["failures"] == [], lt
assert lt["skipped"] == 1 and len(lt["skipped_paths"]) == 1, lt
assert lt["skipped_paths"][0].startswith(site + "/needslib/_speed."), lt
assert lt["objects"] > 50 and lt["objects"] == total - 1 and lt["loaded"] == lt["objects"], (lt, total)
PY
grep -q '"event":"install".*"outcome":"ok"' audit-a.jsonl || fail "no ok install record"
grep '"event":"link-test"' audit-a.jsonl | grep -q '"outcome":"ok"' || fail "no ok link-test record: $(cat audit-a.jsonl)"
[ "$(grep -n '"event":"install"' audit-a.jsonl | cut -d: -f1)" -lt "$(grep -n '"event":"link-test"' audit-a.jsonl | cut -d: -f1)" ] ||
  fail "the link test is not recorded after the install"
grep '"event":"link-test"' audit-a.jsonl | grep -q "$((total - 1)) of $((total - 1)) shared objects loaded" ||
  fail "the link-test record has no counts: $(grep '"event":"link-test"' audit-a.jsonl)"
"$UNPACKER" audit-verify audit-a.jsonl >/dev/null || fail "audit chain broken"
pass "unpack: link test after pip loads all $((total - 1)) shared objects (1 exempt by the bundle), audited"

run_lt again --json
[ "$rc" = 0 ] || fail "link-test on the intact tree: exit $rc: $(cat again.err)"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["ok"] and j["loaded"] == int(sys.argv[2]) and j["skipped"] == 1, j' \
  again.out "$((total - 1))" || fail "link-test --json: $(cat again.out)"

# 2. The library shipped in the wheel is gone: the extension is named with
#    the loader's message; exempting the extension makes the test pass.
rm "$DEST/env/$SITE/vendlib.libs/$LIBFOO"
run_lt gone
[ "$rc" = 4 ] || fail "missing library: exit $rc (expected 4): $(cat gone.err)"
grep -qxF "  env/$EXT: $LIBFOO: cannot open shared object file: No such file or directory" gone.err ||
  fail "missing library: the extension and the loader's message are not named: $(cat gone.err)"
grep -q "^unpacker: error: link test: 1 of $((total - 2)) shared objects under $DEST/env cannot be loaded" gone.err ||
  fail "missing library: no count: $(head -1 gone.err)"
grep -q "^unpacker: hint: .*--link-test-skip" gone.err || fail "missing library: no hint: $(cat gone.err)"
tail -1 lt.jsonl | grep '"event":"link-test"' | grep '"outcome":"failed"' | grep -q "$LIBFOO: cannot open shared object file" ||
  fail "missing library: no failed link-test record naming it: $(tail -1 lt.jsonl)"
run_lt gone-json --json
[ "$rc" = 4 ] || fail "missing library, --json: exit $rc"
python3 - gone-json.out "env/$EXT" "$LIBFOO" <<'PY' || fail "missing library, --json: $(cat gone-json.out)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is False and j["failed"] == 1, j
f = j["failures"][0]
assert f["path"] == sys.argv[2] and f["status"] == "loader-error", f
assert f["message"] == sys.argv[3] + ": cannot open shared object file: No such file or directory", f
PY
run_lt exempt --link-test-skip "$SITE/vendlib/*.so"
[ "$rc" = 0 ] || fail "--link-test-skip of the extension: exit $rc: $(cat exempt.err)"
grep -q "link test passed: $((total - 3)) of $((total - 3)) shared objects loaded .*; 2 exempt" exempt.out ||
  fail "--link-test-skip: $(cat exempt.out)"
tail -1 lt.jsonl | grep '"event":"link-test"' | grep -q '"outcome":"ok"' || fail "exempt: no ok record"
run_lt exempt-star --link-test-skip '*/vendlib/_speed.*' --json
[ "$rc" = 0 ] || fail "--link-test-skip '*/vendlib/_speed.*' ('*' across '/'): exit $rc: $(cat exempt-star.err)"
grep -q "\"$SITE/vendlib/_speed\." exempt-star.out || fail "exempt object not listed: $(cat exempt-star.out)"
pass "missing shipped library: exit 4 naming $EXT and $LIBFOO; --link-test-skip passes"

# 3. A symbol version the library does not define.
mkdir -p "$DEST/env/lib/verdemo" ver
printf 'FOO_1.0 { global: foo_new; local: *; };\n' > ver/new.map
printf 'FOO_0.9 { global: foo_old; local: *; };\n' > ver/old.map
printf 'int foo_new(void) { return 1; }\n' > ver/new.c
printf 'int foo_old(void) { return 0; }\n' > ver/old.c
printf 'int foo_new(void);\nint verneed(void) { return foo_new(); }\n' > ver/need.c
gcc -shared -fPIC -Wl,-soname,libverfoo.so.1 -Wl,--version-script=ver/new.map -o "$DEST/env/lib/verdemo/libverfoo.so.1" ver/new.c
gcc -shared -fPIC -o "$DEST/env/lib/verdemo/libverneed.so" ver/need.c "$DEST/env/lib/verdemo/libverfoo.so.1" \
  -Wl,--enable-new-dtags,-rpath,'$ORIGIN'
run_lt ver-ok --link-test-skip "$SITE/vendlib/*.so"
[ "$rc" = 0 ] || fail "symbol versions present: exit $rc: $(cat ver-ok.err)"
gcc -shared -fPIC -Wl,-soname,libverfoo.so.1 -Wl,--version-script=ver/old.map -o "$DEST/env/lib/verdemo/libverfoo.so.1" ver/old.c
run_lt ver --link-test-skip "$SITE/vendlib/*.so"
[ "$rc" = 4 ] || fail "missing symbol version: exit $rc (expected 4): $(cat ver.err)"
grep -qxF "  env/lib/verdemo/libverneed.so: $DEST/env/lib/verdemo/libverfoo.so.1: version \`FOO_1.0' not found (required by $DEST/env/lib/verdemo/libverneed.so)" ver.err ||
  fail "missing symbol version: not named with the loader's message: $(cat ver.err)"
[ "$(grep -c '^  env/' ver.err)" = 1 ] || fail "missing symbol version: other objects named: $(cat ver.err)"
pass "missing symbol version: the loader's \"version \`FOO_1.0' not found\""
rm -r "$DEST/env/lib/verdemo"

# 4. The interpreter cannot start: the first failure, with what it printed.
mv "$DEST/env/lib/libpython${PY_VER%.*}.so.1.0" libpython.moved
run_lt nostart --link-test-skip "$SITE/vendlib/*.so"
mv libpython.moved "$DEST/env/lib/libpython${PY_VER%.*}.so.1.0"
[ "$rc" = 4 ] || fail "interpreter cannot start: exit $rc (expected 4): $(cat nostart.err)"
sed -n 2p nostart.err | grep -q "^  env/bin/$PYV: the interpreter cannot start (exit status 127): .*libpython${PY_VER%.*}\.so\.1\.0: cannot open shared object file" ||
  fail "interpreter cannot start: not the first failure with its message: $(cat nostart.err)"
pass "interpreter that cannot start: exit 4, named first with the loader's message"

# 5. Bundle B: needslib is not exempt. unpack exits 4 after pip; DEST stays.
DEST=$WORK/node/b
unpack b.sealed "$DEST" audit-b.jsonl
[ "$rc" = 4 ] || { tail -20 "$DEST.err"; fail "unpack of bundle B: exit $rc (expected 4)"; }
NEEDS=$(cd "$DEST/env" && ls $SITE/needslib/_speed.*.so)
grep -qxF "  env/$NEEDS: libanswer.so: cannot open shared object file: No such file or directory" "$DEST.err" ||
  fail "unpack: needslib not named with the loader's message: $(cat "$DEST.err")"
grep -q "^unpacker: hint: the files are verified and stay in $DEST: .*unpacker link-test $DEST" "$DEST.err" ||
  fail "unpack: no hint: $(cat "$DEST.err")"
[ -f "$DEST/airlock/manifest.json" ] && [ -f "$DEST/env/$SITE/tinydep/__init__.py" ] || fail "unpack: DEST was not left in place"
python3 -c 'import json,sys; lt=json.load(open(sys.argv[1]))["link_test"]; assert not lt["ok"] and lt["failed"] == 1 and lt["skipped"] == 0, lt' \
  "$DEST.json" || fail "unpack --json after a failed link test: $(cat "$DEST.json")"
grep '"event":"link-test"' audit-b.jsonl | grep '"outcome":"failed"' | grep -q "needslib/_speed" ||
  fail "unpack: no failed link-test record naming needslib: $(cat audit-b.jsonl)"
[ "$(grep -c '"event":"link-test"' audit-b.jsonl)" = 1 ] || fail "unpack: the link test is recorded more than once"
"$UNPACKER" audit-verify audit-b.jsonl >/dev/null || fail "audit chain broken"
rc=0; "$UNPACKER" link-test "$DEST" --link-test-skip "$SITE/needslib/*" --audit-log lt.jsonl -q > skip.out 2>&1 || rc=$?
[ "$rc" = 0 ] && [ ! -s skip.out ] || fail "link-test --quiet after exempting needslib: exit $rc: $(cat skip.out)"
pass "unpack: exit 4 after pip naming needslib/_speed and libanswer.so; DEST stays; exempting it passes"

DEST=$WORK/node/b2
unpack b.sealed "$DEST" audit-b2.jsonl --no-link-test
[ "$rc" = 0 ] || { tail -20 "$DEST.err"; fail "unpack --no-link-test: exit $rc"; }
grep -q '"event":"install".*"outcome":"ok"' audit-b2.jsonl || fail "--no-link-test: no install record"
! grep -q '"event":"link-test"' audit-b2.jsonl || fail "--no-link-test: the link test ran"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["link_test"] is None' "$DEST.json" ||
  fail "--no-link-test: --json link_test is not null: $(cat "$DEST.json")"
pass "unpack --no-link-test: no link test, no record"
