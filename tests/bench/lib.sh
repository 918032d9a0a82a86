# Shared by the benchmarks.

# make_keys BIN_DIR: in the current directory, a signing key (sign.key,
# PUB=its .pub) and a node identity (node.key, RCPT=its age1 recipient).
make_keys() {
  local bin=$1
  "$bin/packer" keygen --unencrypted -o sign.key --audit-log audit.jsonl -q >/dev/null
  RCPT=$("$bin/unpacker" keygen -o node.key --audit-log audit.jsonl 2>/dev/null | grep -E '^age1' | head -1)
  PUB=$(ls sign*.pub | head -1)
}

# make_bundle BIN_DIR PREFIX: make_keys, then b.sealed, a bundle of PREFIX
# packed with --no-check.
make_bundle() {
  local bin=$1 prefix=$2
  make_keys "$bin"
  "$bin/packer" pack --env "$prefix" --no-check -s sign.key -R "$RCPT" -o b.sealed --audit-log audit.jsonl -q >/dev/null
}

# median N...: the median of the numbers given (the mean of the middle two
# for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
