// Hashes. SHA-256 from nettle (SHA-NI: ~1.5 GB/s here against libsodium's
// ~320 MB/s, see docs/benchmarks.md; several whole messages two at a time:
// common/sha256_pair.h); BLAKE2b-512 of our own (common/blake2b.cc), as
// minisign's prehashed signatures need.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <memory>

#include "common/io.h"

namespace airlock {

class Sha256 {
 public:
  static constexpr size_t kSize = 32;
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const uint8_t> data);
  void update(std::string_view s) {
    update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  std::array<uint8_t, kSize> digest();  // resets the state
  std::string hex_digest();

 private:
  struct State;
  std::unique_ptr<State> st_;
};

class Blake2b512 {
 public:
  static constexpr size_t kSize = 64;
  Blake2b512();
  ~Blake2b512();
  Blake2b512(const Blake2b512&) = delete;
  Blake2b512& operator=(const Blake2b512&) = delete;
  void update(std::span<const uint8_t> data);
  std::array<uint8_t, kSize> digest();

 private:
  struct State;
  std::unique_ptr<State> st_;
};

std::string to_hex(std::span<const uint8_t> data);
std::string sha256_hex(std::span<const uint8_t> data);
std::string sha256_hex(std::string_view data);
std::string sha256_file_hex(const std::string& path);

// A Writer that hashes (SHA-256, optionally BLAKE2b-512) and counts what
// passes through it on the way to `next` (may be null).
class HashingWriter : public Writer {
 public:
  HashingWriter(Writer* next, bool blake2b) : next_(next) {
    if (blake2b) b2_ = std::make_unique<Blake2b512>();
  }
  void write(std::span<const uint8_t> data) override {
    sha_.update(data);
    if (b2_) b2_->update(data);
    bytes_ += data.size();
    if (next_) next_->write(data);
  }
  using Writer::write;
  void finish() override { if (next_) next_->finish(); }
  uint64_t bytes() const { return bytes_; }
  Sha256& sha256() { return sha_; }
  Blake2b512* blake2b() { return b2_.get(); }

 private:
  Writer* next_;
  Sha256 sha_;
  std::unique_ptr<Blake2b512> b2_;
  uint64_t bytes_ = 0;
};

}  // namespace airlock
