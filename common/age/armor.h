// ASCII armor: strict PEM with type "AGE ENCRYPTED FILE".
//
//   -----BEGIN AGE ENCRYPTED FILE-----
//   padded base64, 64 columns, the last line shorter (or full)
//   -----END AGE ENCRYPTED FILE-----
//
// Decoding accepts LF or CRLF line ends and up to 1 KiB of whitespace before
// and after; nothing else: no headers, no blank or over-long lines, no
// whitespace inside lines, canonical base64 with padding only at the end.
#pragma once

#include <memory>

#include "common/age/age.h"
#include "common/age/format.h"
#include "common/age/input.h"

namespace airlock::age {

// Decodes armor from `src` as a stream. Throws AgeError(kArmor) "invalid
// armor: ...".
class ArmorReader : public Reader {
 public:
  explicit ArmorReader(Reader& src) : in_(src) {}
  size_t read(std::span<uint8_t> buf) override;
  std::string name() const override { return in_.name(); }

 private:
  std::string line();  // next line without LF / CRLF
  void drain_trailing();
  BufferedInput in_;
  bool started_ = false, done_ = false;
  uint8_t data_[wire::kBytesPerLine];
  size_t pos_ = 0, len_ = 0;
};

// Encodes to `out` as a stream; finish() writes the end line and finishes `out`.
class ArmorWriter : public Writer {
 public:
  explicit ArmorWriter(Writer& out) : out_(out) {}
  void write(std::span<const uint8_t> data) override;
  using Writer::write;
  void finish() override;

 private:
  Writer& out_;
  bool started_ = false;
  uint8_t pending_[wire::kBytesPerLine];
  size_t fill_ = 0;
};

}  // namespace airlock::age
