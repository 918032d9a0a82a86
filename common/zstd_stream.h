// zstd streaming in both directions, constant memory.
#pragma once

#include <memory>

#include "common/io.h"

namespace airlock {

// Compresses everything written to it into `next` (one zstd frame).
// `threads` > 0 uses zstd's worker threads (ZSTD_c_nbWorkers).
class ZstdWriter : public Writer {
 public:
  ZstdWriter(Writer& next, int level, int threads);
  ~ZstdWriter() override;
  void write(std::span<const uint8_t> data) override;
  using Writer::write;
  void finish() override;  // ends the frame, then next.finish()
  uint64_t bytes_in() const { return in_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t in_ = 0;
};

// Decompresses a zstd stream pulled from `src`. Throws Error(kVerify) on a
// corrupt or truncated stream, and on data after the last frame.
class ZstdReader : public Reader {
 public:
  explicit ZstdReader(Reader& src);
  ~ZstdReader() override;
  size_t read(std::span<uint8_t> buf) override;
  std::string name() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace airlock
