#!/usr/bin/env bash
# The installed-tree record and `unpacker verify-tree`, on a real CPython
# prefix (default 3.12.1) packed with a wheelhouse:
# - unpack writes DEST/airlock/installed.json after the link test, listing
#   every entry under DEST with the SHA-256 of every file (checked here with
#   Python's hashlib), and a last 'record-tree' audit record carrying the
#   record's SHA-256;
# - a clean tree passes (exit 0, a 'verify-tree' audit record); --json has
#   all eight classes, empty; the hashing threads and the time against
#   `find | xargs sha256sum` are printed;
# - drift (a modified, an added and a removed file, a mode and a type
#   change, a bytecode cache) is named, each in its class, exit 1;
# - a record edited to hide a change, a removed record, a log without a
#   record-tree record for DEST, a broken audit chain and a crafted record
#   (vouched for by a forged, correctly chained audit record) are caught;
# - usage errors exit 2;
# - --no-install records after relocation; Python then rewrites a stale
#   cache: "modified (bytecode cache)", tolerated with --ignore-bytecode.
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
make_wheelhouse "$WORK/wheels"
cd "$WORK"
PYV=python${PY_VER%.*}
SITE=env/lib/$PYV/site-packages

"$PACKER" pack --env "$PY_PREFIX" --wheelhouse wheels -r requirements.txt -s keys/signing.key -R "$RECIPIENT" \
  --no-check --level 1 -o py.sealed --audit-log audit-packer.jsonl -q >/dev/null || fail "packer pack failed"
PUB=keys/signing.key.pub
[ -f "$PUB" ] || PUB=$(ls keys/*.pub | head -1)
mkdir -p node

# vt NAME [options...]: unpacker verify-tree $DEST; sets rc, NAME.out, NAME.err.
vt() {
  local name=$1; shift
  rc=0
  "$UNPACKER" verify-tree "$DEST" "$@" > "$name.out" 2> "$name.err" || rc=$?
}
# json_check FILE PYTHON [ARGS...]: runs PYTHON with j, the JSON object in
# FILE, and sys.argv[2:] = ARGS.
json_check() {
  local f=$1 code=$2; shift 2
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); $code" "$f" "$@" || fail "$f: $(head -c 3000 "$f")"
}

# 1. The record, written last, and its audit record.
DEST=$WORK/node/py
"$UNPACKER" unpack -p "$PUB" -i keys/node.key py.sealed -C "$DEST" --audit-log audit.jsonl --json \
  > unpack.json 2> unpack.err || { tail -20 unpack.err; fail "unpack failed"; }
REC=$DEST/airlock/installed.json
[ -f "$REC" ] || fail "no $REC"
SHA=$(sha256sum "$REC" | cut -d' ' -f1)
tail -1 audit.jsonl | grep '"event":"record-tree"' | grep '"outcome":"ok"' | grep -q "\"record_sha256\":\"$SHA\"" ||
  fail "the last audit record is not a record-tree record with the record's SHA-256: $(tail -1 audit.jsonl)"
[ "$(grep -n '"event":"link-test"' audit.jsonl | cut -d: -f1)" -lt "$(grep -n '"event":"record-tree"' audit.jsonl | cut -d: -f1)" ] ||
  fail "the tree is not recorded after the link test"
json_check unpack.json "assert j['tree_record']['sha256'] == sys.argv[2] and j['tree_record']['path'] == sys.argv[3]" \
  "$SHA" "$REC"
python3 - "$DEST" <<'PY' || fail "the record does not describe the tree"
import hashlib, json, os, stat, sys
dest = sys.argv[1]
r = json.load(open(os.path.join(dest, "airlock/installed.json")))
assert r["format"] == "airlock-installed/1" and r["dest"] == dest, r["dest"]
assert r["recorded_after"] == ["extract", "relocate", "install", "link-test"], r["recorded_after"]
entries = {e["path"]: e for e in r["files"]}
seen, first = set(), {}
for root, dirs, files in os.walk(dest):
    for n in sorted(dirs + files):
        p = os.path.join(root, n)
        rel = os.path.relpath(p, dest)
        if rel == "airlock/installed.json":
            continue
        seen.add(rel)
        e = entries.get(rel)
        assert e is not None, "not recorded: " + rel
        st = os.lstat(p)
        if stat.S_ISDIR(st.st_mode):
            assert e["type"] == "dir", e
        elif stat.S_ISREG(st.st_mode):
            assert e["type"] in ("file", "hardlink"), e
            assert e["sha256"] == hashlib.sha256(open(p, "rb").read()).hexdigest(), rel
            assert e["size"] == st.st_size and int(e["mode"], 8) == stat.S_IMODE(st.st_mode), e
            if e["type"] == "hardlink":
                t = os.lstat(os.path.join(dest, e["target"]))
                assert (t.st_dev, t.st_ino) == (st.st_dev, st.st_ino) and e["target"] < rel, e
        else:
            raise AssertionError("unexpected entry " + rel)
assert seen == set(entries), sorted(set(entries) - seen)[:5]
assert {"airlock/manifest.json", "airlock/requirements.lock", "airlock/requirements.txt", "airlock/install.log"} <= seen
assert r["totals"]["entries"] == len(entries)
links = sum(1 for e in r["files"] if e["type"] == "hardlink")
assert links > 0, "no hardlinks recorded"
print(len(entries), links)
PY
pass "unpack records every entry of DEST (hashes checked with hashlib) and audits the record's SHA-256 last"

# 2. A clean tree passes.
vt clean --audit-log audit.jsonl
[ "$rc" = 0 ] || fail "verify-tree of the untouched tree: exit $rc: $(cat clean.err)"
grep -q "^$DEST: [0-9]* entries, [0-9]* files (.*) hashed on [0-9]* threads in .* s; record sha256 $SHA matches the record-tree audit record at audit.jsonl line [0-9]* " clean.out ||
  fail "clean tree: no summary: $(cat clean.out)"
tail -1 audit.jsonl | grep '"event":"verify-tree"' | grep '"outcome":"ok"' | grep -q "\"record_sha256\":\"$SHA\"" ||
  fail "no ok verify-tree audit record: $(tail -1 audit.jsonl)"
vt clean-json --audit-log audit.jsonl --json
[ "$rc" = 0 ] || fail "verify-tree --json: exit $rc"
CPUS=$(nproc)
json_check clean-json.out "
K = ['modified','added','removed','mode_changed','type_changed','bytecode_added','bytecode_modified','bytecode_removed']
assert j['ok'] and j['record_ok'] and j['record_sha256'] == sys.argv[2] and j['audit_record']['record_sha256'] == sys.argv[2]
assert list(j['drift']) == K and all(j['drift'][k] == [] for k in K) and all(j['counts'][k] == 0 for k in K)
assert j['threads'] == min(int(sys.argv[3]), 8) and j['files'] > 8000 and j['bytes'] > 100000000
" "$SHA" "$CPUS"
"$UNPACKER" verify-tree "$DEST" --audit-log audit.jsonl -q > quiet.out 2>&1 || fail "verify-tree -q: exit $?"
[ ! -s quiet.out ] || fail "verify-tree -q printed: $(cat quiet.out)"
# The time against sha256sum over the same files, warm cache, best of 3.
python3 - "$UNPACKER" "$DEST" <<'PY'
import subprocess, sys, time
unpacker, dest = sys.argv[1:]
def best(cmd):
    t = []
    for _ in range(3):
        s = time.monotonic()
        subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)
        t.append(time.monotonic() - s)
    return min(t)
ours = best("'%s' verify-tree '%s' --audit-log audit.jsonl -q" % (unpacker, dest))
theirs = best("find '%s' -type f | xargs sha256sum" % dest)
print("verify-tree %.2f s, find | xargs sha256sum %.2f s: sha256sum takes %.1fx as long" % (ours, theirs, theirs / ours))
PY
pass "a clean tree passes (exit 0, audited); --json lists the eight classes, empty; hashed on $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["threads"])' clean-json.out) threads"

# 3. Drift: each change named in its class, exit 1.
echo "VALUE = 43" > "$DEST/$SITE/tinydep/__init__.py"                 # modified
echo "print('hello')" > "$DEST/env/bin/added-tool"                    # added
rm "$DEST/env/lib/$PYV/this.py"                                        # removed
chmod 0777 "$DEST/$SITE/tinyapp"                                       # mode
rm "$DEST/airlock/requirements.txt" && ln -s /etc/passwd "$DEST/airlock/requirements.txt"  # type
mkdir -p "$DEST/env/lib/$PYV/newpkg/__pycache__"
echo x > "$DEST/env/lib/$PYV/newpkg/__pycache__/mod.cpython-312.pyc"    # bytecode (the directories: added)
vt drift --audit-log audit.jsonl
[ "$rc" = 1 ] || fail "drift: exit $rc (expected 1): $(cat drift.err)"
for l in "modified: $SITE/tinydep/__init__.py" "added: env/bin/added-tool" "removed: env/lib/$PYV/this.py" \
         "mode changed: $SITE/tinyapp (0755 -> 0777)" \
         "type changed: airlock/requirements.txt (file -> symlink to \"/etc/passwd\")" \
         "added: env/lib/$PYV/newpkg" "added (bytecode cache): env/lib/$PYV/newpkg/__pycache__" \
         "added (bytecode cache): env/lib/$PYV/newpkg/__pycache__/mod.cpython-312.pyc"; do
  grep -qxF "$l" drift.out || fail "drift: no line '$l' in: $(cat drift.out)"
done
[ "$(grep -vc "^$DEST: " drift.out)" = 8 ] || fail "drift: other lines: $(cat drift.out)"
grep -qxF "unpacker: error: $DEST: the installed tree differs from its record: 1 modified, 2 added, 1 removed, 1 mode changed, 1 type changed, 2 added (bytecode cache)" drift.err ||
  fail "drift: error line: $(cat drift.err)"
tail -1 audit.jsonl | grep '"event":"verify-tree"' | grep -q '"outcome":"refused"' || fail "drift: no refused verify-tree record"
vt drift-json --audit-log audit.jsonl --json
[ "$rc" = 1 ] || fail "drift --json: exit $rc"
json_check drift-json.out "
d = {k: [x['path'] for x in v] for k, v in j['drift'].items()}
s, p = sys.argv[2], sys.argv[3]
assert not j['ok'] and j['record_ok'], j
assert d == {'modified': [s + '/tinydep/__init__.py'], 'added': ['env/bin/added-tool', 'env/lib/' + p + '/newpkg'],
             'removed': ['env/lib/' + p + '/this.py'], 'mode_changed': [s + '/tinyapp'], 'type_changed': ['airlock/requirements.txt'],
             'bytecode_added': ['env/lib/' + p + '/newpkg/__pycache__', 'env/lib/' + p + '/newpkg/__pycache__/mod.cpython-312.pyc'],
             'bytecode_modified': [], 'bytecode_removed': []}, d
m = j['drift']['modified'][0]
assert m['found']['sha256'] != m['recorded']['sha256'] and m['found']['size'] == 11, m
t = j['drift']['type_changed'][0]
assert t['recorded']['type'] == 'file' and t['found'] == {'path': 'airlock/requirements.txt', 'type': 'symlink', 'target': '/etc/passwd'}, t
assert j['drift']['removed'][0]['found'] is None and j['drift']['added'][0]['recorded'] is None
" "$SITE" "$PYV"
vt drift-ignore --audit-log audit.jsonl --ignore-bytecode
[ "$rc" = 1 ] || fail "--ignore-bytecode with other drift: exit $rc"
grep -qxF "added (bytecode cache, tolerated): env/lib/$PYV/newpkg/__pycache__/mod.cpython-312.pyc" drift-ignore.out ||
  fail "--ignore-bytecode: the cache is not listed as tolerated: $(cat drift-ignore.out)"
pass "drift named: a modified, an added and a removed file, a mode and a type change, bytecode caches apart (exit 1)"

# 4. The record edited to hide the modification (its totals kept consistent):
#    the tree matches the edited record there, but the record no longer
#    matches the audit log.
chmod u+w "$REC"
python3 - "$DEST" "$SITE/tinydep/__init__.py" <<'PY' || fail "could not edit the record"
import hashlib, json, sys
dest, path = sys.argv[1], sys.argv[2]
rec = dest + "/airlock/installed.json"
lines = open(rec).read().split("\n")
data = open(dest + "/" + path, "rb").read()
for i, l in enumerate(lines):
    if l.startswith('{"path":"%s",' % path):
        comma = "," if l.endswith(",") else ""
        e = json.loads(l.rstrip(","))
        delta = len(data) - e["size"]
        e["size"], e["sha256"] = len(data), hashlib.sha256(data).hexdigest()
        lines[i] = json.dumps(e, separators=(",", ":")) + comma
lines[0] = lines[0].replace('"bytes":%d' % json.loads(lines[0] + "]}")["totals"]["bytes"],
                            '"bytes":%d' % (json.loads(lines[0] + "]}")["totals"]["bytes"] + delta))
open(rec, "w").write("\n".join(lines))
PY
NEWSHA=$(sha256sum "$REC" | cut -d' ' -f1)
vt edited --audit-log audit.jsonl
[ "$rc" = 1 ] || fail "edited record: exit $rc (expected 1): $(cat edited.err)"
grep -q "^unpacker: error: $REC was changed after it was recorded: its SHA-256 is $NEWSHA, the record-tree audit record at audit.jsonl line [0-9]* (.*) says $SHA" edited.err ||
  fail "edited record: not named: $(cat edited.err)"
! grep -q "^modified: $SITE/tinydep/__init__.py" edited.out || fail "the edit did not hide the change (the test edits wrongly)"
grep -q "^added: env/bin/added-tool" edited.out || fail "edited record: the other drift is not listed: $(cat edited.out)"
tail -1 audit.jsonl | grep '"event":"verify-tree"' | grep '"outcome":"refused"' | grep -q "was changed after it was recorded" ||
  fail "edited record: no refused verify-tree record"
vt edited-json --audit-log audit.jsonl --json
[ "$rc" = 1 ] || fail "edited record --json: exit $rc"
json_check edited-json.out "assert not j['ok'] and not j['record_ok'] and 'was changed after it was recorded' in j['record_problem'] and j['record_sha256'] == sys.argv[2]" "$NEWSHA"
pass "a record edited to hide a change is caught: its SHA-256 no longer matches the audit log (exit 1)"

# 5. The record removed: the audit log still says there was one.
mv "$REC" rec.saved
vt gone --audit-log audit.jsonl
[ "$rc" = 1 ] || fail "record removed: exit $rc: $(cat gone.err)"
grep -q "^unpacker: error: $REC is missing; the record-tree audit record at audit.jsonl line .* gives its SHA-256 as $SHA" gone.err ||
  fail "record removed: $(cat gone.err)"
mv rec.saved "$REC"

# 6. A log with no record-tree record for DEST: exit 1 with a hint.
"$UNPACKER" audit-verify audit.jsonl >/dev/null
sed -n 1,2p audit.jsonl > other.jsonl  # verify and decrypt: still chained, no record-tree record
vt nolog --audit-log other.jsonl
[ "$rc" = 1 ] || fail "no record-tree record: exit $rc: $(cat nolog.err)"
grep -qF "unpacker: error: no record-tree audit record for $DEST in other.jsonl: nothing vouches for $REC; and the tree differs" nolog.err ||
  fail "no record-tree record: $(cat nolog.err)"
grep -q "^unpacker: hint: verify against the audit log the unpack wrote: --audit-log FILE" nolog.err || fail "no hint: $(cat nolog.err)"

# 7. The audit log's chain broken (a record before the record-tree one edited).
sed '2s/"outcome":"ok"/"outcome":"OK"/' audit.jsonl > broken.jsonl
vt broken --audit-log broken.jsonl
[ "$rc" = 1 ] || fail "broken chain: exit $rc: $(cat broken.err)"
grep -q "^unpacker: error: broken.jsonl: audit log chain broken: line 3: .*it cannot vouch for $REC" broken.err ||
  fail "broken chain: $(cat broken.err)"
pass "a removed record, a log without a record for DEST and a broken chain: exit 1, named"

# 8. A crafted record, vouched for by a forged audit record chained
#    correctly: the strict reader refuses it (exit 1), naming the entry.
printf '{"format":"airlock-installed/1","bundle_id":"x","dest":"%s","created":"","recorded_after":[],"excluded":[],"totals":{"entries":1,"files":0,"bytes":0},"files":[\n{"path":"../../etc","type":"dir","mode":"0755"}\n]}\n' "$DEST" > "$REC"
python3 - audit.jsonl "$DEST" "$(sha256sum "$REC" | cut -d' ' -f1)" <<'PY'
import hashlib, json, sys
log, dest, sha = sys.argv[1:]
last = open(log, "rb").read().rstrip(b"\n").split(b"\n")[-1]
rec = {"event": "record-tree", "outcome": "ok", "dest": dest, "record_sha256": sha, "prev": hashlib.sha256(last).hexdigest()}
open(log, "a").write(json.dumps(rec, separators=(",", ":")) + "\n")
PY
"$UNPACKER" audit-verify audit.jsonl >/dev/null || fail "the forged record is not chained"
vt crafted --audit-log audit.jsonl
[ "$rc" = 1 ] || fail "crafted record: exit $rc: $(cat crafted.err)"
grep -qxF "unpacker: error: $REC: not a valid installed-tree record: files[0] (\"../../etc\"): unsafe path \"../../etc\"" crafted.err ||
  fail "crafted record: $(cat crafted.err)"
pass "a crafted record is refused by the strict reader (exit 1), even when the log vouches for it"

# 9. Usage and I/O: exit 2.
rc=0; "$UNPACKER" verify-tree "$WORK/node/nothing" --audit-log audit.jsonl 2> missing.err || rc=$?
[ "$rc" = 2 ] || fail "missing DEST: exit $rc"
mkdir -p node/plain
DEST=$WORK/node/plain
vt plain --audit-log audit.jsonl
[ "$rc" = 2 ] || fail "a directory that was never unpacked: exit $rc: $(cat plain.err)"
grep -q "^unpacker: hint: give a directory that 'unpacker unpack -C DEST' made" plain.err || fail "plain: $(cat plain.err)"
vt nolog2 --audit-log "$WORK/no-such.jsonl"
[ "$rc" = 2 ] || fail "missing audit log: exit $rc: $(cat nolog2.err)"
"$UNPACKER" verify-tree --help | grep -q "ignore-bytecode" || fail "--help does not describe --ignore-bytecode"
pass "usage and I/O errors: exit 2 with a hint"

# 10. --no-install: recorded after relocation (and the link test). A
#     relocated module's cache is stale by construction; Python rewrites it
#     on import: "modified (bytecode cache)", tolerated with --ignore-bytecode.
DEST=$WORK/node/bare
"$UNPACKER" unpack -p "$PUB" -i keys/node.key py.sealed -C "$DEST" --audit-log audit2.jsonl --no-install -q \
  > /dev/null 2> bare.err || { cat bare.err; fail "unpack --no-install failed"; }
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["recorded_after"] == ["extract", "relocate", "link-test"]' \
  "$DEST/airlock/installed.json" || fail "--no-install: recorded_after"
vt bare --audit-log audit2.jsonl
[ "$rc" = 0 ] || fail "--no-install tree: exit $rc: $(cat bare.err)"
env -u PYTHONDONTWRITEBYTECODE "$DEST/env/bin/python3" -c 'import sysconfig; sysconfig.get_config_vars()'
vt pyc --audit-log audit2.jsonl
[ "$rc" = 1 ] || fail "rewritten cache: exit $rc: $(cat pyc.out pyc.err)"
TAG=$(echo "${PY_VER%.*}" | tr -d .)
grep -q "^modified (bytecode cache): env/lib/$PYV/__pycache__/_sysconfigdata_.*\.cpython-$TAG\.pyc$" pyc.out ||
  fail "rewritten cache not named: $(cat pyc.out)"
! grep -q "^modified: \|^added: \|^removed: " pyc.out || fail "more than bytecode drift: $(cat pyc.out)"
vt pyc-ignore --audit-log audit2.jsonl --ignore-bytecode
[ "$rc" = 0 ] || fail "--ignore-bytecode: exit $rc: $(cat pyc-ignore.err)"
grep -q "^modified (bytecode cache, tolerated): " pyc-ignore.out || fail "--ignore-bytecode hides the cache: $(cat pyc-ignore.out)"
tail -1 audit2.jsonl | grep '"event":"verify-tree"' | grep '"outcome":"ok"' | grep -q "modified (bytecode cache)" ||
  fail "--ignore-bytecode: the audit record does not say what was tolerated: $(tail -1 audit2.jsonl)"
"$UNPACKER" audit-verify audit2.jsonl >/dev/null || fail "audit chain broken"
pass "--no-install: recorded after relocation; a rewritten bytecode cache is named, tolerated with --ignore-bytecode"
