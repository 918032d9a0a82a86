// Writes the sealed envelope: payload.age streamed under a placeholder
// header that is patched with the real size at the end (no second copy of
// the payload), then the signature and label members, then end-of-archive.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/hash.h"
#include "common/io.h"

namespace airlock::bundle {

// Where the envelope goes: a stream that can also overwrite bytes it has
// already written (payload.age's header, once its size is known).
class EnvelopeOutput : public Writer {
 public:
  virtual void patch(uint64_t offset, std::span<const uint8_t> data) = 0;
};

// One regular file (flushed, then written at the offset).
class FileEnvelopeOutput : public EnvelopeOutput {
 public:
  explicit FileEnvelopeOutput(OutputFile& file) : file_(file) {}
  void write(std::span<const uint8_t> data) override { file_.write(data); }
  using Writer::write;
  void finish() override { file_.finish(); }
  void patch(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  OutputFile& file_;
};

class EnvelopeWriter {
 public:
  EnvelopeWriter(EnvelopeOutput& out, int64_t mtime);
  EnvelopeWriter(OutputFile& out, int64_t mtime);
  // The sink for payload.age's bytes; hashes them (SHA-256 and the BLAKE2b-512
  // minisign signs) on the way to the file.
  Writer& payload() { return hasher_; }
  // Pads payload.age to a block and patches its header with the real size.
  void end_payload();
  void add_member(std::string_view name, std::string_view data);
  void close();

  uint64_t payload_bytes() const { return payload_bytes_; }
  const std::string& payload_sha256() const { return sha256_; }
  const std::array<uint8_t, 64>& payload_blake2b() const { return blake2b_; }

 private:
  void begin_payload();
  std::unique_ptr<FileEnvelopeOutput> file_;  // when given an OutputFile
  EnvelopeOutput& out_;
  int64_t mtime_;
  HashingWriter hasher_;
  uint64_t payload_bytes_ = 0;
  std::string sha256_;
  std::array<uint8_t, 64> blake2b_{};
};

}  // namespace airlock::bundle
