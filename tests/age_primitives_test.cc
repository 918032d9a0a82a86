#include <catch2/catch.hpp>

#include "common/age/primitives.h"
#include "common/hash.h"

using namespace airlock;
using namespace airlock::age;

TEST_CASE("age primitives: HKDF-SHA-256 matches RFC 5869 test cases 1 and 3", "[age][primitives]") {
  std::vector<uint8_t> ikm(22, 0x0b), salt;
  for (uint8_t i = 0; i <= 0x0c; ++i) salt.push_back(i);
  std::string info;
  for (uint8_t i = 0xf0; i <= 0xf9; ++i) info += static_cast<char>(i);
  std::vector<uint8_t> okm(42);
  hkdf_sha256(ikm, salt, info, okm);
  CHECK(to_hex(okm) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  // Test case 3: empty salt and info.
  hkdf_sha256(ikm, {}, "", okm);
  CHECK(to_hex(okm) == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST_CASE("age primitives: HMAC-SHA-256 matches RFC 4231 test case 2", "[age][primitives]") {
  auto mac = hmac_sha256(bytes_of("Jefe"), bytes_of("what do ya want for nothing?"));
  CHECK(to_hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("age primitives: ChaCha20-Poly1305 chunks open only with the right nonce and tag", "[age][primitives]") {
  std::vector<uint8_t> key(32, 1), plain(1000, 0x42), sealed(1016), out(1000);
  uint8_t nonce[12] = {};
  aead_seal(key.data(), nonce, plain.data(), plain.size(), sealed.data());
  CHECK(aead_open(key.data(), nonce, sealed.data(), sealed.size(), out.data()));
  CHECK(out == plain);
  nonce[11] = 1;
  CHECK_FALSE(aead_open(key.data(), nonce, sealed.data(), sealed.size(), out.data()));
  nonce[11] = 0;
  sealed[5] ^= 1;
  CHECK_FALSE(aead_open(key.data(), nonce, sealed.data(), sealed.size(), out.data()));
  CHECK_FALSE(aead_open(key.data(), nonce, sealed.data(), 15, out.data()));  // shorter than a tag
}
