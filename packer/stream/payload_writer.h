// The payload tar (POSIX pax, as libarchive's "pax restricted" writes it)
// into a Writer (the zstd stage). Counts what it emits: that is the label's
// content-bytes.
//
// Written by hand, not with libarchive: a CPython prefix is some 55,000
// members, and libarchive's per-header allocations and charset conversions
// cost the packer's main thread more than the tar itself is worth. Members
// whose path fits a ustar header are plain ustar, byte for byte what
// libarchive writes; a pax extended header ('x') carries what does not fit:
// a path or link target that is too long or not ASCII, a size of 8 GiB or
// more, an mtime before 1970 or from 2^31-1 on (2038). Small pieces (headers, padding, small
// files) are gathered so that the next stage sees few, large writes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/io.h"

namespace airlock::packer {

class PayloadWriter {
 public:
  explicit PayloadWriter(Writer& out);
  PayloadWriter(const PayloadWriter&) = delete;
  PayloadWriter& operator=(const PayloadWriter&) = delete;

  void add_dir(std::string_view path, uint32_t mode, int64_t mtime);
  // Starts a regular file of exactly `size` bytes; then data() until all
  // bytes are written.
  void begin_file(std::string_view path, uint32_t mode, int64_t mtime, uint64_t size);
  void data(std::span<const uint8_t> bytes);
  void add_hardlink(std::string_view path, std::string_view target, int64_t mtime);
  void add_bytes(std::string_view path, uint32_t mode, int64_t mtime, std::string_view content);
  // Writes the end-of-archive blocks and hands everything gathered to `out`.
  // Does not finish `out`.
  void close();

  uint64_t bytes_out() const { return bytes_out_; }
  uint64_t members() const { return members_; }

 private:
  void header(std::string_view path, char type, uint32_t mode, int64_t mtime, uint64_t size, std::string_view link);
  void put(std::span<const uint8_t> bytes);
  void put_zeros(size_t n);
  void flush();

  Writer& out_;
  std::vector<uint8_t> stage_;
  size_t staged_ = 0;
  uint64_t remaining_ = 0;  // data bytes still owed to the current file
  uint64_t file_size_ = 0;
  std::string member_;  // the current file's path, for errors
  uint64_t bytes_out_ = 0;
  uint64_t members_ = 0;
  bool closed_ = false;
};

}  // namespace airlock::packer
