// Reading the sealed envelope (docs/format.md, "Envelope"): an uncompressed
// POSIX tar holding exactly payload.age, payload.age.minisig, LABEL.txt,
// LABEL.txt.minisig, in that order, and nothing else.
//
// The reader is strict and never decrypts: it walks the tar headers itself
// (no general-purpose archive library on this path), reads the three small
// members into memory and streams payload.age through SHA-256 and
// BLAKE2b-512 so the signature and the label's payload-sha256 can be checked
// before a single byte is decrypted. Decryption later reads payload.age
// again from its recorded offset (VolumeRangeReader).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/io.h"

namespace airlock::bundle {

// A malformed or non-conforming envelope: verification failed (exit 1).
class EnvelopeError : public Error {
 public:
  explicit EnvelopeError(std::string message, std::string hint = {})
      : Error(Exit::kVerify, "envelope: " + std::move(message), std::move(hint)) {}
};

// The bytes of a bundle: a single NAME.sealed, or volumes NAME.sealed.001,
// .002, ... whose concatenation is the envelope. `open` accepts the plain
// name, the .001 name, or the base name when only the volumes exist.
class Volumes {
 public:
  static Volumes open(const std::string& bundle);
  uint64_t size() const { return total_; }
  // Reads up to buf.size() bytes at `offset`; short only at the end.
  size_t pread(uint64_t offset, std::span<uint8_t> buf) const;
  const std::string& name() const { return name_; }
  const std::vector<std::string>& paths() const { return paths_; }

  Volumes(Volumes&&) = default;
  Volumes& operator=(Volumes&&) = default;

 private:
  Volumes() = default;
  std::string name_;
  std::vector<std::string> paths_;
  std::vector<UniqueFd> fds_;
  std::vector<uint64_t> starts_;  // offset of each volume in the whole
  uint64_t total_ = 0;
};

// A Reader over [offset, offset + size) of the volumes.
class VolumeRangeReader : public Reader {
 public:
  VolumeRangeReader(const Volumes& v, uint64_t offset, uint64_t size, std::string name)
      : v_(v), pos_(offset), end_(offset + size), name_(std::move(name)) {}
  size_t read(std::span<uint8_t> buf) override;
  std::string name() const override { return name_; }

 private:
  const Volumes& v_;
  uint64_t pos_, end_;
  std::string name_;
};

struct Envelope {
  uint64_t payload_offset = 0;  // of payload.age's data in the whole
  uint64_t payload_size = 0;
  std::string payload_sha256;                // lowercase hex
  std::array<uint8_t, 64> payload_blake2b{};  // for the prehashed signature
  std::string payload_sig, label, label_sig;  // member contents
};

// Upper bounds for the small members: anything bigger is not ours.
inline constexpr uint64_t kMaxSignatureBytes = 4096;
inline constexpr uint64_t kMaxLabelBytes = 1 << 20;

// Reads and checks the structure; `progress(done, total)` is called now and
// then while payload.age is hashed (may be empty).
Envelope read_envelope(const Volumes& v, const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace airlock::bundle
