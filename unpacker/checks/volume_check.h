// Volumes checked one by one against their signed index (docs/unpacking.md,
// "Volumes"): `unpacker verify-volume` for one disc, and verify, list and
// unpack for a whole set before anything else of it is read.
//
// The index NAME.sealed.volumes and its .minisig lie beside the volumes.
// The index is trusted only when its signature verifies under one of the
// -p keys and its trusted comment names this index file, the number of its
// lines and a bundle-id (which verify_bundle then compares with the label's).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/bundle/volumes.h"
#include "common/minisign/minisign.h"

namespace airlock::unpacker {

// Trusted public keys with the files they came from (for messages).
using TrustedKeys = std::vector<std::pair<std::string, minisign::PublicKey>>;
TrustedKeys load_trusted_keys(const std::vector<std::string>& files);

struct SignedIndex {
  std::string path;  // DIR/NAME.sealed.volumes
  std::string dir;   // where its volumes are
  bundle::VolumeIndex index;
  std::string bundle_id;
  std::string signer_key_id, signer_key_file;
  std::string sha256;  // of the index file
  std::string volume_path(size_t i) const;  // DIR/NAME.sealed.NNN of entry i (0-based)
};

// Reads and checks an index and its signature. Missing files are I/O
// errors (exit 2); a bad signature, an untrusted key, a trusted comment or
// a line that is not as written is exit 1, naming the file.
SignedIndex read_signed_index(const std::string& index_path, const TrustedKeys& keys);

struct CheckedVolume {
  std::string path;
  int number = 0;  // 1-based
  uint64_t bytes = 0;
  std::string sha256;
};

// One volume against the index: listed in it; its size consistent with
// the other volumes present (the same for all but the last, which may be
// smaller; never empty); its SHA-256. Throws VolumeError naming the volume.
// `progress(bytes)` while it is hashed.
CheckedVolume check_volume(const SignedIndex& ix, const std::string& volume,
                           const std::function<void(uint64_t)>& progress = {});

// The whole set, before anything else is read: every listed volume is
// present, no other NAME.sealed.NNN is, and each has its size and hash.
// Names every volume that is wrong, not only the first.
std::vector<CheckedVolume> check_volume_set(const SignedIndex& ix, bool progress);

// What verify, list and unpack found before reading a bundle.
struct VolumeSetCheck {
  bool volumes = false;  // the bundle is a volume set
  bool indexed = false;  // ... and its index was checked
  SignedIndex index;
  size_t count = 0;  // volumes checked
};

// When `bundle` names a volume set (NAME.sealed.001, or NAME.sealed when
// only the volumes exist) and NAME.sealed.volumes is beside it: the index
// and every volume (check_volume_set). Without an index: a warning that the
// volumes were not checked one by one. A single file: nothing.
VolumeSetCheck check_volumes_first(const std::string& bundle, const TrustedKeys& keys, bool progress);

}  // namespace airlock::unpacker
