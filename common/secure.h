// Secrets live in libsodium guarded memory (sodium_malloc: guard pages,
// mlock, wiped on free). SecureBytes is the only container for key material.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace airlock {

// Calls sodium_init() once; throws if libsodium cannot start.
void sodium_ready();

class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t n);  // zero-filled
  SecureBytes(std::span<const uint8_t> data);
  ~SecureBytes();
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;
  SecureBytes(SecureBytes&& o) noexcept;
  SecureBytes& operator=(SecureBytes&& o) noexcept;
  SecureBytes clone() const { return SecureBytes(span()); }

  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  std::span<uint8_t> span() { return {p_, n_}; }
  std::span<const uint8_t> span() const { return {p_, n_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(p_), n_}; }

 private:
  uint8_t* p_ = nullptr;
  size_t n_ = 0;
};

// Reads a passphrase file: its first line, without the line ending (LF or
// CRLF). Errors name the file. An empty passphrase is refused.
SecureBytes read_passphrase_file(const std::string& path);


}  // namespace airlock
