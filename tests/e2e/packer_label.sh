#!/usr/bin/env bash
# packer label: one SVG media label per bundle, or per volume of a set made
# by hand with standard tools (split, sha256sum, minisign) as docs/format.md
# describes. Each label's text is read back with an XML parser and checked
# against the files; each is rendered with rsvg-convert (librsvg) to a PNG
# of the expected size, with ink in the banners. The set `packer split`
# makes gets the same labels. A damaged, missing or unlisted volume gets no
# label.
source "$(dirname "$0")/lib.sh"
command -v rsvg-convert >/dev/null || skip_unless_ci "rsvg-convert (Debian package librsvg2-bin) is not installed"
cd "$WORK"
minisign -G -W -p s.pub -s s.key > /dev/null
age-keygen -o node.key 2> /dev/null
AUD=(--audit-log "$WORK/audit.jsonl")

# A bundle of about 3 MiB with a designation; '&' and '<' must be escaped.
mkdir -p tree/env/bin tree/airlock
head -c 3000000 /dev/urandom > tree/env/bin/blob
printf '#!/bin/sh\n' > tree/env/bin/python3
: > tree/airlock/requirements.lock
MARK='CUI//SP-PRVCY'
ID=$("$SRC/tests/tools/mkbundle.sh" -s s.key -r "$(age-keygen -y node.key)" --marking "$MARK" \
  --label-extra 'controlled-by: DARPA, R&D <Lab> North' --label-extra 'cui-category: PRVCY' \
  --label-extra 'dissemination: FEDCON' --label-extra 'poc: Jane Doe, 703-555-0100' tree b.sealed)

# Volumes of 1 MiB, their index and its signature, with standard tools only.
mkdir vol
split -b 1M -d -a 3 --numeric-suffixes=1 b.sealed vol/b.sealed.
(cd vol && sha256sum b.sealed.0* > b.sealed.volumes &&
  minisign -S -s ../s.key -m b.sealed.volumes -t "airlock-bundle/1 bundle-id:$ID file:b.sealed.volumes volumes:3" \
    </dev/null >/dev/null)
[ "$(wc -l < vol/b.sealed.volumes)" = 3 ] || fail "expected 3 volumes: $(cat vol/b.sealed.volumes)"

"$PACKER" label b.sealed -o labels "${AUD[@]}" 2> label.err || fail "packer label b.sealed: $(cat label.err)"
grep -qx 'packer: wrote labels/b.sealed.svg' label.err || fail "packer label's note: $(cat label.err)"
"$PACKER" label vol/b.sealed.volumes -o labels "${AUD[@]}" --json > set.json 2> label.err \
  || fail "packer label of the volumes: $(cat label.err)"
ls labels > names.txt
printf 'b.sealed.001.svg\nb.sealed.002.svg\nb.sealed.003.svg\nb.sealed.svg\n' | diff -u - names.txt || fail "label files"
pass "one label for the bundle, one per volume"

# The text of every label, read with an XML parser, against the files.
tar -xOf b.sealed LABEL.txt > LABEL.txt
python3 - "$MARK" "$ID" <<'PY' || fail "label text"
import hashlib, json, os, sys, xml.etree.ElementTree as ET
mark, bid = sys.argv[1:]
label = dict(l.split(": ", 1) for l in open("LABEL.txt").read().split("\n\n")[0].splitlines()[1:])
ns = "{http://www.w3.org/2000/svg}"
def groups(h):
    return [" ".join(h[i:i + 8] for i in range(0, 32, 8)), " ".join(h[i:i + 8] for i in range(32, 64, 8))]
def check(svg, path, volume):
    root = ET.parse(svg).getroot()
    assert root.tag == ns + "svg", root.tag
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("89mm", "51mm", "0 0 89 51"), root.attrib
    texts = [t.text or "" for t in root.iter(ns + "text")]
    ys = [float(t.get("y")) for t in root.iter(ns + "text")]
    # The banner: first text at the top, second at the bottom, nothing below it.
    assert texts[0] == mark and texts[1] == mark, texts[:2]
    assert ys[0] == min(ys) and ys[1] == max(ys), ys
    joined = " ".join(texts)
    data = open(path, "rb").read()
    want = [
        "Controlled by: DARPA, R&D <Lab> North", "CUI Category: PRVCY", "Dissemination: FEDCON",
        "POC: Jane Doe, 703-555-0100", "Bundle " + bid, "Created " + label["created"],
        "Signer " + label["signer-key-id"],
        ("Volume %d of 3 %s, %s bytes" % (volume, os.path.basename(path), format(len(data), ","))) if volume
        else "File b.sealed, %s bytes (the whole bundle)" % format(len(data), ","),
        "SHA-256 " + groups(hashlib.sha256(data).hexdigest())[0] + " " + groups(hashlib.sha256(data).hexdigest())[1],
        "Payload " + groups(label["payload-sha256"])[0] + " SHA-256 " + groups(label["payload-sha256"])[1],
    ]
    for w in want:
        assert w in joined, (svg, w, joined)
check("labels/b.sealed.svg", "b.sealed", 0)
for i in (1, 2, 3):
    check("labels/b.sealed.%03d.svg" % i, "vol/b.sealed.%03d" % i, i)
j = json.load(open("set.json"))
assert j["bundle_id"] == bid and j["marking"] == mark and [l["volume"] for l in j["labels"]] == [1, 2, 3], j
assert all(l["volumes"] == 3 and l["text_pt"] >= 6 for l in j["labels"]), j
PY
grep -qF 'R&amp;D &lt;Lab&gt; North' labels/b.sealed.svg || fail "the SVG does not escape & and <"
pass "each label's text: banners, designation, bundle-id, created, signer, volume i of 3, both SHA-256s"

# Rendered at 300 dpi: 89 x 51 mm is 1051.2 x 602.4 pixels; the banners
# and the body have ink (a missing font or a bad layout would not).
for f in labels/*.svg; do
  rsvg-convert -d 300 -p 300 "$f" -o "${f%.svg}.png" || fail "rsvg-convert $f"
  python3 - "${f%.svg}.png" <<'PY' || fail "rendered ${f%.svg}.png"
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(d):
    n, kind = struct.unpack(">I4s", d[pos:pos + 8])
    body = d[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, color = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert 1051 <= w <= 1052 and 602 <= h <= 603, (w, h)
assert depth == 8 and color == 6, (depth, color)  # RGBA
raw, bpp, stride = zlib.decompress(idat), 4, w * 4
rows, prev = [], bytearray(stride)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
def dark(y0, y1):  # opaque, dark pixels in rows y0..y1, away from the outline
    return sum(1 for y in range(y0, y1) for x in range(20, w - 20)
               if rows[y][4 * x + 3] > 200 and rows[y][4 * x] < 100)
assert dark(int(h * 0.05), int(h * 0.12)) > 2000, "no top banner"
assert dark(int(h * 0.88), int(h * 0.95)) > 2000, "no bottom banner"
assert dark(int(h * 0.2), int(h * 0.8)) > 20000, "no body text"
PY
done
pass "every label renders with rsvg-convert to 1051 x 602 px at 300 dpi, with ink in both banners"

# The same set made by packer split gives the same labels, byte for byte.
mkdir split && "$PACKER" split b.sealed --volume-size 1M -s s.key -o split "${AUD[@]}" -q || fail "packer split"
"$PACKER" label split/b.sealed.volumes -o labels-split "${AUD[@]}" -q || fail "packer label of packer split's set"
for i in 001 002 003; do
  cmp labels/b.sealed.$i.svg labels-split/b.sealed.$i.svg || fail "label $i of packer split's set differs"
done
pass "packer split's volumes get the same labels as the hand-made ones"

# Refusals: no label for bytes the signed index does not describe.
no_label() {  # $1 exit, $2 text in stderr, $3 input
  local rc=0
  rm -rf out
  "$PACKER" label "$3" -o out "${AUD[@]}" > /dev/null 2> err.txt || rc=$?
  [ "$rc" = "$1" ] || fail "packer label $3: exit $rc, expected $1: $(cat err.txt)"
  grep -qF -- "$2" err.txt || fail "packer label $3: stderr lacks '$2': $(cat err.txt)"
  [ -z "$(ls -A out 2>/dev/null)" ] || fail "labels written for $3: $(ls out)"
}
cp -r vol bad && printf '\xff' | dd of=bad/b.sealed.002 bs=1 seek=1000 conv=notrunc status=none
no_label 1 "bad/b.sealed.002: SHA-256" bad/b.sealed.volumes
cp -r vol gone && rm gone/b.sealed.003
no_label 2 "gone/b.sealed.003: volume 3 of 3 is missing" gone/b.sealed.volumes
cp -r vol extra && cp vol/b.sealed.003 extra/b.sealed.004
no_label 1 "extra/b.sealed.004: a volume the index extra/b.sealed.volumes does not list" extra/b.sealed.volumes
cp -r vol nosig && rm nosig/b.sealed.volumes.minisig
no_label 2 "nosig/b.sealed.volumes.minisig: missing" nosig/b.sealed.volumes
cp -r vol count && (cd count && minisign -S -s ../s.key -m b.sealed.volumes \
  -t "airlock-bundle/1 bundle-id:$ID file:b.sealed.volumes volumes:4" </dev/null >/dev/null)
no_label 1 "trusted comment is" count/b.sealed.volumes
no_label 2 "pass the set's index, NAME.sealed.volumes" vol/b.sealed.002
pass "a changed, missing or unlisted volume, an unsigned index, a wrong count, a lone volume: no label"

rc=0; "$PACKER" label b.sealed -o labels "${AUD[@]}" 2> err.txt || rc=$?
[ "$rc" = 2 ] && grep -q -- '--force' err.txt || fail "existing label without --force: exit $rc: $(cat err.txt)"
"$PACKER" label b.sealed -o labels --force "${AUD[@]}" -q || fail "--force"
python3 - <<'PY' || fail "audit records"
import json
recs = [json.loads(l) for l in open("audit.jsonl")]
labels = [r for r in recs if r["event"] == "label"]
assert labels[0]["outcome"] == "ok" and labels[0]["bundle_id"] and labels[0]["marking"] == "CUI//SP-PRVCY", labels[0]
assert any(r["outcome"] == "refused" and "b.sealed.002" in r["detail"] for r in labels), labels
assert any(r["outcome"] == "failed" and "b.sealed.003: volume 3 of 3 is missing" in r["detail"] for r in labels), labels
PY
"$UNPACKER" audit-verify audit.jsonl > /dev/null || fail "audit chain"
pass "existing labels need --force; labels and refusals are in the audit log"
