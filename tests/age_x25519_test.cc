#include <catch2/catch.hpp>

#include "common/age/base64.h"
#include "common/age/x25519.h"

using namespace airlock;
using namespace airlock::age;

namespace {
SecureBytes file_key() {
  SecureBytes k(16);
  for (size_t i = 0; i < 16; ++i) k.data()[i] = static_cast<uint8_t>(i + 1);
  return k;
}
}  // namespace

TEST_CASE("age x25519: a wrapped file key unwraps only with the right identity", "[age][x25519]") {
  auto id = X25519Identity::generate(), other = X25519Identity::generate();
  Stanza s = x25519_wrap(id.recipient(), file_key());
  CHECK(s.type == "X25519");
  REQUIRE(s.args.size() == 1);
  CHECK(s.body.size() == 32);
  auto k = x25519_unwrap(id, s);
  REQUIRE(k);
  CHECK(std::equal(k->span().begin(), k->span().end(), file_key().span().begin()));
  CHECK_FALSE(x25519_unwrap(other, s));
  Stanza wrong_type = s;
  wrong_type.type = "x25519";
  CHECK_FALSE(x25519_unwrap(id, wrong_type));  // another stanza type: ignored
}

TEST_CASE("age x25519: malformed stanzas and low-order shares are header failures", "[age][x25519]") {
  auto id = X25519Identity::generate();
  Stanza s = x25519_wrap(id.recipient(), file_key());
  auto kind = [&](Stanza t) {
    try {
      x25519_unwrap(id, t);
    } catch (const AgeError& e) {
      return e.kind();
    }
    return ErrorKind::kKey;
  };
  Stanza t = s;
  t.args.push_back("x");
  CHECK(kind(t) == ErrorKind::kHeader);
  t = s;
  t.body.push_back(0);
  CHECK(kind(t) == ErrorKind::kHeader);  // length checked before any decryption
  t = s;
  t.args[0] = base64_encode(std::vector<uint8_t>(32, 0), false);  // the identity point: all-zero secret
  CHECK(kind(t) == ErrorKind::kHeader);
  t = s;
  t.args[0] = base64_encode(std::vector<uint8_t>(31, 1), false);
  CHECK(kind(t) == ErrorKind::kHeader);
}
