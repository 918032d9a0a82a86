#!/usr/bin/env bash
# Volumes for courier media: packer pack --volume-size and packer split write
# NAME.sealed.001, ... (none larger than SIZE; together the envelope, byte for
# byte), NAME.sealed.volumes in sha256sum format and its minisign signature.
# Each volume is checked alone by hand (minisign -V, sha256sum -c) and by
# unpacker verify-volume; verify and unpack name a damaged, missing, extra or
# truncated volume before reading anything else, and leave nothing behind.
source "$(dirname "$0")/lib.sh"
find_python_prefix
make_keys
make_wheelhouse "$WORK/wh"
KEY=$WORK/keys/signing.key
PUB=$WORK/keys/signing.pub
AUD=(--audit-log "$WORK/audit.jsonl")
SIZE=$((4 * 1024 * 1024))
pack() {
  "$PACKER" pack --env "$PY_PREFIX" -r "$WORK/requirements.txt" --wheelhouse "$WORK/wh" \
    -s "$KEY" -R "$RECIPIENT" "${AUD[@]}" "$@"
}
vols() { ls "$1".[0-9][0-9][0-9] 2>/dev/null; }
flip_byte() {  # FILE OFFSET: inverts the lowest bit of one byte in place
  local b; b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf %03o $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
mkdir "$WORK/out" "$WORK/fail"

# --- Sizes: presets and nonsense, refused before any work --------------------
for s in 0 100K 1048575 4MB 4.5G DVD ''; do
  rc=0; pack --no-check --volume-size "$s" -o "$WORK/fail/x.sealed" 2> "$WORK/err.txt" || rc=$?
  [ "$rc" = 2 ] || fail "--volume-size '$s': exit $rc, $(cat "$WORK/err.txt")"
  grep -q -- "--volume-size" "$WORK/err.txt" || fail "--volume-size '$s': $(cat "$WORK/err.txt")"
done
pack --no-check --volume-size 100K -o "$WORK/fail/x.sealed" 2> "$WORK/err.txt" || true
grep -q "below the minimum of 1 MiB (1,048,576 bytes)" "$WORK/err.txt" || fail "minimum not said: $(cat "$WORK/err.txt")"
grep -q "fat32 (4,294,967,295 bytes" "$WORK/err.txt" || fail "presets not listed: $(cat "$WORK/err.txt")"
[ -z "$(ls -A "$WORK/fail")" ] || fail "a refused size left files: $(ls "$WORK/fail")"
pass "nonsense sizes refused with exit 2, the minimum and the presets named, nothing written"

# --- Pack in volumes of 4 MiB ---------------------------------------------------
B=$WORK/out/b.sealed
pack --volume-size 4M -o "$B" --json > "$WORK/pack.json" || fail "packer pack --volume-size failed"
[ ! -e "$B" ] || fail "a single-file bundle was written too"
mapfile -t V < <(vols "$B")
N=${#V[@]}
[ "$N" -ge 3 ] || fail "only $N volumes"
for ((i = 0; i < N; i++)); do
  s=$(stat -c %s "${V[$i]}")
  [ "$s" -le "$SIZE" ] || fail "${V[$i]} is $s bytes, more than $SIZE"
  [ "$i" = $((N - 1)) ] || [ "$s" = "$SIZE" ] || fail "${V[$i]} is $s bytes; only the last may be smaller"
  [ "$(basename "${V[$i]}")" = "$(printf 'b.sealed.%03d' $((i + 1)))" ] || fail "volume names: ${V[*]}"
done
[ "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["volumes"]["count"])' < "$WORK/pack.json")" = "$N" ] ||
  fail "--json: $(cat "$WORK/pack.json")"
cat "${V[@]}" > "$WORK/joined.sealed"
[ "$(tar -tf "$WORK/joined.sealed" | tr '\n' ' ')" = "payload.age payload.age.minisig LABEL.txt LABEL.txt.minisig " ] ||
  fail "the concatenation is not the envelope"
ID=$(tar -xOf "$WORK/joined.sealed" LABEL.txt | sed -n 's/^bundle-id: //p')
pass "$N volumes of at most $SIZE bytes (the last $(stat -c %s "${V[$((N - 1))]}")); cat of them is the envelope"

# The index: exactly sha256sum's format, signed with the bundle's id.
IX=$B.volumes
[ "$(wc -l < "$IX")" = "$N" ] || fail "index has $(wc -l < "$IX") lines for $N volumes"
grep -Evq '^[0-9a-f]{64}  b\.sealed\.[0-9]{3}$' "$IX" && fail "index line not in sha256sum format: $(grep -Ev '^[0-9a-f]{64}  ' "$IX")"
(cd "$WORK/out" && sha256sum b.sealed.[0-9][0-9][0-9]) | cmp - "$IX" || fail "index differs from sha256sum's own output"
minisign -V -p "$PUB" -m "$IX" > "$WORK/mv.txt" || fail "minisign rejects the index signature"
grep -qx "Trusted comment: airlock-bundle/1 bundle-id:$ID file:b.sealed.volumes volumes:$N" "$WORK/mv.txt" ||
  fail "index trusted comment: $(cat "$WORK/mv.txt")"
rec=$(grep '"event":"pack"' "$WORK/audit.jsonl" | grep '"outcome":"ok"' | tail -1)
grep -q "\"volume_index_sha256\":\"$(sha256sum "$IX" | cut -d' ' -f1)\"" <<< "$rec" || fail "pack audit record: $rec"
grep -q "\"volume_index\":\"$IX\"" <<< "$rec" || fail "pack audit record does not name the index: $rec"
pass "index is sha256sum output, minisign-signed for bundle-id $ID and $N volumes; the pack record names it and its SHA-256"

# --- Each volume alone with the index: by hand and with verify-volume --------------
for ((i = 0; i < N; i++)); do
  d=$WORK/disc$i; mkdir "$d"
  cp "${V[$i]}" "$IX" "$IX.minisig" "$d/"
  name=$(basename "${V[$i]}")
  out=$(cd "$d" && minisign -V -q -p "$PUB" -m b.sealed.volumes && sha256sum -c --ignore-missing b.sealed.volumes) ||
    fail "by hand, $name alone: $out"
  [ "$out" = "$name: OK" ] || fail "by hand, $name alone: $out"
  out=$("$UNPACKER" verify-volume -p "$PUB" "$d/$name" "${AUD[@]}" 2>/dev/null) || fail "verify-volume $name alone failed"
  grep -q "^$d/$name: OK (volume $((i + 1)) of $N, " <<< "$out" || fail "verify-volume $name: $out"
done
n=$(grep -c '"event":"verify-volume".*"outcome":"ok"' "$WORK/audit.jsonl")
[ "$n" = "$N" ] || fail "$n verify-volume records for $N volumes"
pass "each volume alone in a directory with the index: minisign -V && sha256sum -c --ignore-missing, and verify-volume (audited)"

# --- The whole set: verify, then unpack and import ------------------------------
"$UNPACKER" verify -p "$PUB" "${V[0]}" "${AUD[@]}" > /dev/null 2> "$WORK/err.txt" || fail "verify of the set: $(cat "$WORK/err.txt")"
grep -q "not checked one by one" "$WORK/err.txt" && fail "verify did not use the index: $(cat "$WORK/err.txt")"
grep '"event":"verify"' "$WORK/audit.jsonl" | tail -1 | grep -q "\"volume_index_sha256\":\"$(sha256sum "$IX" | cut -d' ' -f1)\"" ||
  fail "verify record does not carry the index"
"$UNPACKER" unpack -p "$PUB" -i "$WORK/keys/node.key" "$B" -C "$WORK/dest" "${AUD[@]}" -q > /dev/null ||
  fail "unpack of the volume set failed"
"$WORK/dest/env/bin/python3" -c 'import tinyapp, fastmath' || fail "installed packages do not import"
pass "verify and unpack of the volume set (index checked first); the environment imports"

# --- Hostile sets: named before anything else is read, nothing left ---------------
decrypts() { grep -c '"event":"decrypt"' "$WORK/audit.jsonl" || true; }
bad_set() { rm -rf "$WORK/bad"; mkdir "$WORK/bad"; cp "${V[@]}" "$IX" "$IX.minisig" "$WORK/bad/"; }
expect_refused() {  # WHAT PATTERN: verify-set and unpack both exit 1 naming PATTERN, nothing left
  local what=$1 pattern=$2 rc before
  rc=0; "$UNPACKER" verify -p "$PUB" "$WORK/bad/b.sealed.001" "${AUD[@]}" > "$WORK/out.txt" 2> "$WORK/err.txt" || rc=$?
  [ "$rc" = 1 ] || fail "$what: verify exit $rc: $(cat "$WORK/err.txt")"
  grep -q "$pattern" "$WORK/err.txt" || fail "$what: verify does not say '$pattern': $(cat "$WORK/err.txt")"
  before=$(decrypts)
  rc=0; "$UNPACKER" unpack -p "$PUB" -i "$WORK/keys/node.key" "$WORK/bad/b.sealed.001" -C "$WORK/bad-dest" "${AUD[@]}" \
    > "$WORK/out.txt" 2> "$WORK/err.txt" || rc=$?
  [ "$rc" = 1 ] || fail "$what: unpack exit $rc: $(cat "$WORK/err.txt")"
  grep -q "$pattern" "$WORK/err.txt" || fail "$what: unpack does not say '$pattern': $(cat "$WORK/err.txt")"
  [ ! -s "$WORK/out.txt" ] || fail "$what: the label was printed, so the envelope was read: $(head -3 "$WORK/out.txt")"
  [ "$(decrypts)" = "$before" ] || fail "$what: a decrypt step was recorded"
  [ ! -e "$WORK/bad-dest" ] || fail "$what: DEST exists"
  ! ls -d "$WORK"/bad-dest.airlock-staging-* > /dev/null 2>&1 || fail "$what: staging left"
  grep '"event":"verify"' "$WORK/audit.jsonl" | tail -1 | grep -q '"outcome":"refused"' || fail "$what: no refused record"
}
M=$((N / 2 + 1)); MID=$(printf 'b.sealed.%03d' "$M")
bad_set
flip_byte "$WORK/bad/$MID" $((SIZE / 2))
cmp -s "$WORK/bad/$MID" "${V[$((M - 1))]}" && fail "the byte was not changed"
rc=0; "$UNPACKER" verify-volume -p "$PUB" "$WORK/bad/$MID" "${AUD[@]}" > /dev/null 2> "$WORK/err.txt" || rc=$?
[ "$rc" = 1 ] && grep -q "$MID is damaged or was altered" "$WORK/err.txt" || fail "verify-volume flipped byte: exit $rc, $(cat "$WORK/err.txt")"
grep '"event":"verify-volume"' "$WORK/audit.jsonl" | tail -1 | grep -q '"outcome":"refused"' || fail "verify-volume refusal not audited"
(cd "$WORK/bad" && ! sha256sum -c --ignore-missing --quiet b.sealed.volumes > /dev/null 2>&1) || fail "sha256sum -c missed the flipped byte"
expect_refused "one byte flipped in $MID" "$MID is damaged or was altered"
pass "one byte flipped in $MID: verify-volume and sha256sum name it; unpack exits 1 before decrypting, no DEST, no staging"

bad_set; rm "$WORK/bad/$MID"
expect_refused "missing $MID" "$MID is missing"
bad_set; cp "${V[0]}" "$WORK/bad/$(printf 'b.sealed.%03d' $((N + 1)))"
expect_refused "an extra volume" "$(printf 'b.sealed.%03d' $((N + 1))) is not in the index"
bad_set; truncate -s $((SIZE - 512)) "$WORK/bad/$MID"
expect_refused "truncated $MID" "$MID is truncated: $((SIZE - 512)) bytes, the other volumes have $SIZE"
# An index signed for another bundle (a valid signature by the same key).
bad_set
minisign -S -s "$KEY" -m "$WORK/bad/b.sealed.volumes" \
  -t "airlock-bundle/1 bundle-id:00000000-0000-4000-8000-000000000000 file:b.sealed.volumes volumes:$N" < /dev/null > /dev/null ||
  fail "minisign -S failed"
expect_refused "an index of another bundle" "is the index of bundle-id 00000000-0000-4000-8000-000000000000, but the label's bundle-id is $ID"
bad_set; echo "# note" >> "$WORK/bad/b.sealed.volumes"
expect_refused "an altered index" "b.sealed.volumes: not signed by a trusted key"
pass "missing, extra and truncated volumes, an index of another bundle and an altered index: each named, exit 1, nothing left"

# Without the index: read as before, with a warning.
bad_set; rm "$WORK/bad/b.sealed.volumes" "$WORK/bad/b.sealed.volumes.minisig"
"$UNPACKER" verify -p "$PUB" "$WORK/bad/b.sealed" "${AUD[@]}" > /dev/null 2> "$WORK/err.txt" || fail "verify without index: $(cat "$WORK/err.txt")"
grep -q "b.sealed.volumes not found: the volumes were not checked one by one" "$WORK/err.txt" || fail "no warning: $(cat "$WORK/err.txt")"
pass "without an index the set is verified as before, with a warning that its volumes were not checked one by one"

# --- packer split of an existing bundle ---------------------------------------------
S=$WORK/single.sealed
cp "$WORK/joined.sealed" "$S"
sha256sum "$S" > "$WORK/single.sha256"
mkdir "$WORK/split"
"$PACKER" split "$S" --volume-size 5M -s "$KEY" -o "$WORK/split" "${AUD[@]}" -q || fail "packer split failed"
sha256sum -c --quiet "$WORK/single.sha256" || fail "split changed the bundle"
mapfile -t SV < <(vols "$WORK/split/single.sealed")
[ "${#SV[@]}" -ge 2 ] || fail "split made ${#SV[@]} volumes"
for v in "${SV[@]}"; do [ "$(stat -c %s "$v")" -le $((5 * 1024 * 1024)) ] || fail "$v is larger than 5 MiB"; done
cat "${SV[@]}" | cmp - "$S" || fail "the split volumes do not concatenate to the bundle"
(cd "$WORK/split" && minisign -V -q -p "$PUB" -m single.sealed.volumes && sha256sum -c --quiet single.sealed.volumes) ||
  fail "the split index does not verify by hand"
minisign -V -p "$PUB" -m "$WORK/split/single.sealed.volumes" | grep -qx \
  "Trusted comment: airlock-bundle/1 bundle-id:$ID file:single.sealed.volumes volumes:${#SV[@]}" || fail "split trusted comment"
"$UNPACKER" verify-volume -p "$PUB" "${SV[@]}" "${AUD[@]}" > /dev/null || fail "verify-volume of the split volumes"
"$UNPACKER" verify -p "$PUB" "$WORK/split/single.sealed" "${AUD[@]}" > /dev/null 2>&1 || fail "verify of the split set"
grep '"event":"split"' "$WORK/audit.jsonl" | tail -1 | grep -q "\"volume_index_sha256\":\"$(sha256sum "$WORK/split/single.sealed.volumes" | cut -d' ' -f1)\"" ||
  fail "split audit record"
pass "split into ${#SV[@]} volumes of at most 5 MiB: cat | cmp equals the bundle, which is unchanged; the index verifies by hand and with verify-volume"

# Split refusals: existing volumes, splitting over itself, a damaged bundle.
rc=0; "$PACKER" split "$S" --volume-size 5M -s "$KEY" -o "$WORK/split" "${AUD[@]}" 2> "$WORK/err.txt" || rc=$?
[ "$rc" = 2 ] && grep -q "already exist" "$WORK/err.txt" || fail "split over existing volumes: exit $rc $(cat "$WORK/err.txt")"
rc=0; "$PACKER" split "$WORK/split/single.sealed.001" --volume-size 8M -s "$KEY" -o "$WORK/split" --force "${AUD[@]}" 2> "$WORK/err.txt" || rc=$?
[ "$rc" = 2 ] && grep -q "part of the bundle being split" "$WORK/err.txt" || fail "split over itself: exit $rc $(cat "$WORK/err.txt")"
cp "$S" "$WORK/damaged.sealed"
flip_byte "$WORK/damaged.sealed" 100000
mkdir "$WORK/split2"
rc=0; "$PACKER" split "$WORK/damaged.sealed" --volume-size 5M -s "$KEY" -o "$WORK/split2" "${AUD[@]}" 2> "$WORK/err.txt" || rc=$?
[ "$rc" = 1 ] && grep -q "damaged" "$WORK/err.txt" || fail "split of a damaged bundle: exit $rc $(cat "$WORK/err.txt")"
[ -z "$(ls -A "$WORK/split2")" ] || fail "split of a damaged bundle left $(ls "$WORK/split2")"
# --force with a larger size: fewer volumes, none left over from the first split.
"$PACKER" split "$S" --volume-size 40M -s "$KEY" -o "$WORK/split" --force "${AUD[@]}" -q || fail "split --force"
[ "$(vols "$WORK/split/single.sealed" | wc -l)" = "$(wc -l < "$WORK/split/single.sealed.volumes")" ] ||
  fail "--force left old volumes: $(ls "$WORK/split")"
"$UNPACKER" verify -p "$PUB" "$WORK/split/single.sealed.001" "${AUD[@]}" > /dev/null 2>&1 || fail "verify after split --force"
pass "split refuses existing volumes (exit 2), its own volumes as output (exit 2), a damaged bundle (exit 1, nothing written); --force replaces a set whole"

# --- A failed or interrupted pack leaves no volume -------------------------------
rc=0; (trap '' XFSZ; ulimit -f $((3 * 1024)); pack --no-check --volume-size 4M -o "$WORK/fail/f.sealed" -q) 2> "$WORK/err.txt" || rc=$?
[ "$rc" = 2 ] && grep -q "f.sealed.001: write failed: File too large" "$WORK/err.txt" || fail "write failure: exit $rc $(cat "$WORK/err.txt")"
[ -z "$(ls -A "$WORK/fail")" ] || fail "a failed pack left $(ls "$WORK/fail")"
"$PACKER" pack --env "$PY_PREFIX" --wheelhouse "$WORK/wh" -s "$KEY" -R "$RECIPIENT" "${AUD[@]}" \
  --no-check --volume-size 1M --level 19 -o "$WORK/fail/i.sealed" -q 2> /dev/null & pid=$!
for _ in $(seq 600); do [ -e "$WORK/fail/i.sealed.002" ] && break; sleep 0.05; done
[ -e "$WORK/fail/i.sealed.002" ] || { kill "$pid"; fail "no second volume appeared"; }
# SIGTERM: a background job of a script ignores SIGINT.
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
[ "$rc" = 130 ] || fail "interrupted pack: exit $rc"
[ -z "$(ls -A "$WORK/fail")" ] || fail "an interrupted pack left $(ls "$WORK/fail")"
pass "a pack that fails writing (exit 2) or is interrupted (exit 130) leaves no volume and no index"

"$UNPACKER" audit-verify "$WORK/audit.jsonl" > /dev/null || fail "audit chain"
pass "audit chain intact"
