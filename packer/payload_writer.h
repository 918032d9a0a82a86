// The payload tar (POSIX pax) written with libarchive into a Writer (the
// zstd stage). Counts what it emits: that is the label's content-bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/io.h"

namespace airlock::packer {

class PayloadWriter {
 public:
  explicit PayloadWriter(Writer& out);
  ~PayloadWriter();
  PayloadWriter(const PayloadWriter&) = delete;
  PayloadWriter& operator=(const PayloadWriter&) = delete;

  void add_dir(const std::string& path, uint32_t mode, int64_t mtime);
  // Starts a regular file of exactly `size` bytes; then data() until all
  // bytes are written.
  void begin_file(const std::string& path, uint32_t mode, int64_t mtime, uint64_t size);
  void data(std::span<const uint8_t> bytes);
  void add_hardlink(const std::string& path, const std::string& target, int64_t mtime);
  void add_bytes(const std::string& path, uint32_t mode, int64_t mtime, std::string_view content);
  // Writes the end-of-archive blocks. Does not finish `out`.
  void close();

  uint64_t bytes_out() const { return bytes_out_; }
  uint64_t members() const { return members_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t bytes_out_ = 0;
  uint64_t members_ = 0;
  friend struct Impl;
};

}  // namespace airlock::packer
