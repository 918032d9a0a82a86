#include <catch2/catch.hpp>

#include "common/age/age.h"
#include "common/age/bech32.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::age;

TEST_CASE("age bech32: BIP 173 valid strings decode, in either case", "[age][bech32]") {
  for (const char* s : {"A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"}) {
    auto d = bech32_decode(s);
    // Re-encoding with the hrp as written gives the same string back.
    CHECK(bech32_encode(d.hrp, d.data.span()) == s);
  }
}

TEST_CASE("age bech32: mixed case, bad checksum and bad characters are refused", "[age][bech32]") {
  CHECK_THROWS_AS(bech32_decode("A12uEL5L"), AgeError);
  CHECK_THROWS_AS(bech32_decode("a12uel5m"), AgeError);
  CHECK_THROWS_AS(bech32_decode("a1b2uel5l"), AgeError);
  CHECK_THROWS_AS(bech32_decode("noseparator"), AgeError);
  CHECK_THROWS_AS(bech32_decode("a1 2uel5l"), AgeError);
}

TEST_CASE("age keys: identities and recipients round trip and wrong kinds are refused", "[age][bech32]") {
  auto id = X25519Identity::generate();
  std::string s = id.encode();
  CHECK(s.starts_with("AGE-SECRET-KEY-1"));
  auto back = X25519Identity::parse(s);
  CHECK(back.recipient().public_key == id.recipient().public_key);
  std::string r = id.recipient().encode();
  CHECK(r.starts_with("age1"));
  CHECK(X25519Recipient::parse(r).public_key == id.recipient().public_key);
  CHECK_THROWS_AS(X25519Recipient::parse(s), AgeError);   // an identity is not a recipient
  CHECK_THROWS_AS(X25519Identity::parse(r), AgeError);
  std::string lower = s;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK_THROWS_AS(X25519Identity::parse(lower), AgeError);  // identities are uppercase
  try {
    X25519Identity::parse(s.substr(0, s.size() - 1) + (s.back() == 'Q' ? "P" : "Q"));
    FAIL("parsed");
  } catch (const AgeError& e) {
    CHECK(e.kind() == ErrorKind::kKey);
    CHECK(std::string(e.what()).find("AGE-SECRET-KEY") == std::string::npos);  // a secret is never quoted
  }
}

TEST_CASE("age keys: our recipient for an age-keygen identity is the one age-keygen derives", "[age][bech32][interop]") {
  test::TempDir d;
  REQUIRE(test::run("age-keygen -o " + d / "k 2>/dev/null").exit_code == 0);
  auto ids = parse_identity_file(test::slurp(d / "k"), d / "k");
  REQUIRE(ids.size() == 1);
  auto y = test::run("age-keygen -y " + d / "k");
  CHECK(y.out == ids[0].recipient().encode() + "\n");
}

TEST_CASE("age keys: identity files: comments, several keys, line numbers in errors", "[age][bech32]") {
  auto a = X25519Identity::generate(), b = X25519Identity::generate();
  std::string text = format_identity_file(a) + "\n# another\r\n" + b.encode() + "\r\n";
  auto ids = parse_identity_file(text, "keys.txt");
  REQUIRE(ids.size() == 2);
  CHECK(ids[1].recipient().public_key == b.recipient().public_key);
  try {
    parse_identity_file("# c\n" + a.recipient().encode() + "\n", "keys.txt");
    FAIL("parsed");
  } catch (const AgeError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("keys.txt:2: "));
    CHECK_THAT(e.hint(), Catch::Contains("recipient"));
  }
  CHECK_THROWS_AS(parse_identity_file("# only comments\n", "k"), AgeError);
  auto rs = parse_recipients_file("# r\n" + a.recipient().encode() + "\n", "r.txt");
  CHECK(rs.at(0).public_key == a.recipient().public_key);
}
