#include "common/hash.h"

#include <nettle/sha2.h>
#include <sodium.h>

#include "common/secure.h"

namespace airlock {

struct Sha256::State { sha256_ctx ctx; };

Sha256::Sha256() : st_(std::make_unique<State>()) { sha256_init(&st_->ctx); }
Sha256::~Sha256() = default;

void Sha256::update(std::span<const uint8_t> data) { sha256_update(&st_->ctx, data.size(), data.data()); }

std::array<uint8_t, Sha256::kSize> Sha256::digest() {
  std::array<uint8_t, kSize> out{};
  sha256_digest(&st_->ctx, kSize, out.data());  // nettle re-initialises the context
  return out;
}

std::string Sha256::hex_digest() { return to_hex(digest()); }

struct Blake2b512::State { crypto_generichash_state st; };

Blake2b512::Blake2b512() : st_(std::make_unique<State>()) {
  sodium_ready();
  crypto_generichash_init(&st_->st, nullptr, 0, kSize);
}
Blake2b512::~Blake2b512() = default;

void Blake2b512::update(std::span<const uint8_t> data) {
  crypto_generichash_update(&st_->st, data.data(), data.size());
}

std::array<uint8_t, Blake2b512::kSize> Blake2b512::digest() {
  std::array<uint8_t, kSize> out{};
  crypto_generichash_final(&st_->st, out.data(), kSize);
  crypto_generichash_init(&st_->st, nullptr, 0, kSize);
  return out;
}

std::string to_hex(std::span<const uint8_t> data) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(data.size() * 2);
  for (uint8_t b : data) {
    s.push_back(d[b >> 4]);
    s.push_back(d[b & 15]);
  }
  return s;
}

std::string sha256_hex(std::span<const uint8_t> data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

std::string sha256_file_hex(const std::string& path) {
  FileReader r(path);
  Sha256 h;
  std::vector<uint8_t> buf(1 << 16);
  for (;;) {
    size_t n = r.read(buf);
    if (n == 0) break;
    h.update(std::span<const uint8_t>(buf.data(), n));
  }
  return h.hex_digest();
}

}  // namespace airlock
