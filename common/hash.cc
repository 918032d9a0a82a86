#include "common/hash.h"

#include <nettle/sha2.h>

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
