#include "common/secure.h"

#include <sodium.h>

#include <cstring>
#include <new>
#include <utility>

#include "common/error.h"
#include "common/io.h"

namespace airlock {

void sodium_ready() {
  static const int rc = sodium_init();
  if (rc < 0) throw Error(Exit::kUsage, "libsodium failed to initialise");
}

SecureBytes::SecureBytes(size_t n) : n_(n) {
  sodium_ready();
  if (n == 0) return;
  p_ = static_cast<uint8_t*>(sodium_malloc(n));
  if (!p_) throw std::bad_alloc();
  std::memset(p_, 0, n);
}

SecureBytes::SecureBytes(std::span<const uint8_t> data) : SecureBytes(data.size()) {
  if (!data.empty()) std::memcpy(p_, data.data(), data.size());
}

SecureBytes::~SecureBytes() {
  if (p_) sodium_free(p_);
}

SecureBytes::SecureBytes(SecureBytes&& o) noexcept
    : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& o) noexcept {
  if (this != &o) {
    if (p_) sodium_free(p_);
    p_ = std::exchange(o.p_, nullptr);
    n_ = std::exchange(o.n_, 0);
  }
  return *this;
}

SecureBytes read_passphrase_file(const std::string& path) {
  SecureBytes all = read_secret_file(path);
  size_t n = 0;
  while (n < all.size() && all.data()[n] != '\n') ++n;
  if (n > 0 && all.data()[n - 1] == '\r') --n;
  if (n == 0)
    throw Error(Exit::kUsage, path + ": passphrase file is empty or its first line is empty",
                "put the passphrase on the first line of the file");
  return SecureBytes(std::span<const uint8_t>(all.data(), n));
}

}  // namespace airlock
