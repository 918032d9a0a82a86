#include <catch2/catch.hpp>

#include "common/age/scrypt.h"

using namespace airlock;
using namespace airlock::age;

namespace {
SecureBytes secret(std::string_view s) {
  return SecureBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
}  // namespace

TEST_CASE("age scrypt: wrap and unwrap and a wrong passphrase is its own error", "[age][scrypt]") {
  SecureBytes fk = secret("0123456789abcdef");
  Stanza s = scrypt_wrap(secret("correct horse"), fk, 10);
  CHECK(s.type == "scrypt");
  REQUIRE(s.args.size() == 2);
  CHECK(s.args[1] == "10");
  auto k = scrypt_unwrap(secret("correct horse"), s, 22);
  REQUIRE(k);
  CHECK(k->view() == fk.view());
  try {
    scrypt_unwrap(secret("wrong"), s, 22);
    FAIL("unwrapped");
  } catch (const AgeError& e) {
    CHECK(e.kind() == ErrorKind::kIncorrectPassphrase);
  }
}

TEST_CASE("age scrypt: the work factor is capped before any work is done", "[age][scrypt]") {
  Stanza s = scrypt_wrap(secret("p"), secret("0123456789abcdef"), 10);
  s.args[1] = "23";
  try {
    scrypt_unwrap(secret("p"), s, 22);  // 2^23 would need 8 GiB: must fail at once
    FAIL("unwrapped");
  } catch (const AgeError& e) {
    CHECK(e.kind() == ErrorKind::kHeader);
    CHECK_THAT(e.what(), Catch::Contains("above the limit"));
  }
  for (const char* w : {"010", "+10", "0x0a", "1e1", "", "0"}) {
    s.args[1] = w;
    CHECK_THROWS_AS(scrypt_unwrap(secret("p"), s, 22), AgeError);
  }
  s.args[1] = "10";
  CHECK_THROWS_AS(scrypt_unwrap(secret("p"), s, 9), AgeError);  // the cap is configurable
}
