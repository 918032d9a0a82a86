// Step 1 of the unpack order (DESIGN.md): verify the envelope and both
// signatures. Nothing here decrypts; everything the later steps rely on is
// established before a single byte of payload.age is decrypted:
//   - a volume set with its index NAME.sealed.volumes: the index is signed
//     by a trusted key and every volume has its listed size and SHA-256
//     (checked first; volume_check.h), and its bundle-id is the label's;
//   - the envelope holds exactly the four members, in order;
//   - both .minisig verify under ONE of the trusted keys;
//   - both trusted comments are "airlock-bundle/1 bundle-id:<id> file:<member>"
//     with the label's bundle-id;
//   - payload.age's size and SHA-256 equal the label's payload-bytes and
//     payload-sha256.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/audit.h"
#include "common/bundle/envelope_read.h"
#include "common/bundle/label.h"
#include "common/cli.h"
#include "unpacker/checks/volume_check.h"

namespace airlock::unpacker {

struct VerifiedBundle {
  bundle::Volumes volumes;
  bundle::Envelope envelope;
  bundle::Label label;
  std::string bundle_id;
  std::string signer_key_id;  // 16 hex digits as minisign prints it
  std::string signer_key_file;
  uint64_t content_bytes = 0;
  uint64_t content_files = 0;
  VolumeSetCheck volume_check;  // a volume set: whether its index was checked first
};

// Verifies `bundle` against the public key files in `trusted`. Throws
// Error(kVerify) naming what failed; I/O problems are kUsage.
VerifiedBundle verify_bundle(const std::string& bundle, const std::vector<std::string>& trusted, bool progress);

// The label as people read it, marking banner first and last.
std::string label_text(const VerifiedBundle& vb);

// Audit records carry the identity of the bundle; `bundle_sha256` is the
// SHA-256 of payload.age (the label's payload-sha256, checked equal), which
// names the encrypted content independently of how it is split or wrapped.
AuditEvent audit_event(const VerifiedBundle* vb, std::string event, std::string outcome, std::string detail);

// Reads a non-negative decimal label field; throws LabelError.
uint64_t label_number(const bundle::Label& l, std::string_view key);

}  // namespace airlock::unpacker
