// Unit tests for common/minisign/signature.cc and verify.cc.
#include <cstring>

#include "common/hash.h"
#include "tests/minisign_support.h"

using namespace airlock;
using namespace airlock::minisign;
using airlock::test::bytes_of;
using airlock::test::expect_minisign_error;

namespace {
const std::string kMessage = "the payload\nof a test\n";
}

TEST_CASE("minisign sign and verify round trip through the file text") {
  SecretKey k = SecretKey::generate();
  Signature s = sign_prehashed(k, bytes_of(kMessage), "airlock-bundle/1 bundle-id:x file:payload.age", "");
  CHECK(s.prehashed);
  CHECK(s.key_id == k.key_id());
  CHECK(s.untrusted_comment == "signature from minisign secret key");
  std::string text = s.file_text();
  Signature back = Signature::parse(text);
  CHECK(back.trusted_comment == "airlock-bundle/1 bundle-id:x file:payload.age");
  CHECK(back.file_text() == text);
  verify_message(k.public_key(), back, bytes_of(kMessage));

  Blake2b512 h;
  h.update(bytes_of(kMessage));
  auto digest = h.digest();
  verify_prehashed(k.public_key(), back, digest);
  MemoryReader r(kMessage);
  verify_stream(k.public_key(), back, r);
  // The digest overload signs the same bytes (Ed25519 is deterministic).
  CHECK(sign_prehashed(k, std::span<const uint8_t, 64>(digest), back.trusted_comment, "").sig == s.sig);
}

TEST_CASE("minisign verify: a tampered message fails the signature") {
  SecretKey k = SecretKey::generate();
  Signature s = sign_prehashed(k, bytes_of(kMessage), "tc", "uc");
  std::string bad = kMessage;
  bad[3] ^= 1;
  auto e = expect_minisign_error([&] { verify_message(k.public_key(), s, bytes_of(bad)); });
  CHECK(e.kind() == ErrorKind::kBadSignature);
  CHECK(e.exit() == Exit::kVerify);
}

TEST_CASE("minisign verify: a tampered trusted comment fails the global signature") {
  SecretKey k = SecretKey::generate();
  Signature s = sign_prehashed(k, bytes_of(kMessage), "bundle-id:aaaa", "uc");
  std::string text = s.file_text();
  text.replace(text.find("bundle-id:aaaa"), 14, "bundle-id:bbbb");
  Signature t = Signature::parse(text);
  auto e = expect_minisign_error([&] { verify_message(k.public_key(), t, bytes_of(kMessage)); });
  CHECK(e.kind() == ErrorKind::kBadGlobal);
  // The untrusted comment is not signed: changing it is harmless.
  Signature u = Signature::parse(s.file_text());
  u.untrusted_comment = "anything";
  verify_message(k.public_key(), u, bytes_of(kMessage));
}

TEST_CASE("minisign verify: the key id is checked first and both ids are named") {
  SecretKey signer = SecretKey::generate();
  SecretKey other = SecretKey::generate();
  Signature s = sign_prehashed(signer, bytes_of(kMessage), "tc", "uc");
  // Even with a tampered message, the key id mismatch is what is reported.
  auto e = expect_minisign_error([&] { verify_message(other.public_key(), s, bytes_of("x")); });
  CHECK(e.kind() == ErrorKind::kWrongKey);
  CHECK(std::string(e.what()) == "signature key id " + key_id_hex(signer.key_id()) + " is not the public key's id " +
                                     key_id_hex(other.key_id()));
  // A key that claims the signer's id but is another key: bad signature.
  PublicKey impostor = other.public_key();
  impostor.key_id = signer.key_id();
  CHECK(expect_minisign_error([&] { verify_message(impostor, s, bytes_of(kMessage)); }).kind() ==
        ErrorKind::kBadSignature);
}

TEST_CASE("minisign sign: comments that would break the file are refused") {
  SecretKey k = SecretKey::generate();
  CHECK_THROWS_WITH(sign_prehashed(k, bytes_of(kMessage), "two\nlines", "uc"),
                    Catch::Contains("trusted comment contains a line break"));
  CHECK_THROWS_WITH(sign_prehashed(k, bytes_of(kMessage), "tc", "a\rb"),
                    Catch::Contains("untrusted comment contains a line break"));
  CHECK_THROWS_WITH(sign_prehashed(k, bytes_of(kMessage), std::string(8174, 'x'), "uc"),
                    Catch::Contains("over minisign's limit of 8173"));
  CHECK_NOTHROW(sign_prehashed(k, bytes_of(kMessage), std::string(8173, 'x'), "uc"));
}

TEST_CASE("minisign verify: an empty message and an empty trusted comment work") {
  SecretKey k = SecretKey::generate();
  Signature s = Signature::parse(sign_prehashed(k, bytes_of(""), "", "uc").file_text());
  CHECK(s.trusted_comment.empty());
  verify_message(k.public_key(), s, bytes_of(""));
}
