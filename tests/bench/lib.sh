# Shared by the unpack benchmarks. make_bundle BIN_DIR PREFIX: in the current
# directory, makes a signing key (sign.key, PUB=its .pub), a node identity
# (node.key) and b.sealed, a bundle of PREFIX packed with --no-check.
make_bundle() {
  local bin=$1 prefix=$2 r
  "$bin/packer" keygen --unencrypted -o sign.key --audit-log audit.jsonl -q >/dev/null
  r=$("$bin/unpacker" keygen -o node.key --audit-log audit.jsonl 2>/dev/null | grep -E '^age1' | head -1)
  PUB=$(ls sign*.pub | head -1)
  "$bin/packer" pack --env "$prefix" --no-check -s sign.key -R "$r" -o b.sealed --audit-log audit.jsonl -q >/dev/null
}
