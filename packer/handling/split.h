// `packer split`: a bundle already sealed, as the volumes and signed index
// `packer pack --volume-size` writes (docs/packing.md, "Volumes"). The
// bundle is only read; the volumes are checked against it before they are
// kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/minisign/minisign.h"

namespace airlock::packer {

struct SplitOptions {
  std::string bundle;       // NAME.sealed (or a volume set: NAME.sealed.001)
  std::string volume_size;  // as --volume-size
  std::string secret_key, key_passphrase_file;
  std::string out_dir;  // default: the bundle's directory
  bool force = false;
  OutputOptions output;
};

struct SplitResult {
  std::string bundle;       // as read
  std::string target;       // DIR/NAME.sealed, the volumes' common name
  std::string bundle_id, marking, payload_sha256;
  std::string bundle_signer_key_id;  // who signed the bundle (from its signatures)
  std::string signer_key_id;         // who signed the index (-s)
  bool same_signer = false;
  uint64_t bundle_bytes = 0, volume_size = 0;
  std::string bundle_sha256;  // of the whole bundle, equal to the volumes' concatenation
  std::vector<std::string> volumes;
  std::string index, index_sha256;
  double seconds = 0;
};

// Throws Error: kUsage for options and I/O (nothing written), kVerify when
// the bundle is damaged (its structure, its label, its payload's hash, or
// a signature by the -s key that does not verify).
SplitResult split(const SplitOptions& opts);

// The signing key of -s, unlocked with the passphrase file or a prompt on
// a terminal (also what `packer pack` signs with).
minisign::SecretKey load_signing_key(const std::string& secret_key, const std::string& key_passphrase_file);

}  // namespace airlock::packer
