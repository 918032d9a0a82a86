// minisign test vectors (tests/vectors/minisign, made with Debian's
// minisign 0.11) and the hostile files generated from them.
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "tests/minisign_support.h"

using namespace airlock;
using namespace airlock::minisign;
using airlock::test::bytes_of;
using airlock::test::expect_minisign_error;
using airlock::test::slurp;
using airlock::test::vector_path;

namespace {
std::vector<std::pair<std::string, std::string>> expectations(const std::string& dir) {
  std::ifstream f(vector_path(dir + "/expect.txt"));
  REQUIRE(f);
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string line; std::getline(f, line);) {
    auto tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return out;
}
const std::string& message() {
  static const std::string m = slurp(vector_path("message.txt"));
  return m;
}
}  // namespace

TEST_CASE("minisign vector: prehashed ED signature from minisign -S verifies") {
  PublicKey pk = PublicKey::parse(slurp(vector_path("key.pub")));
  Signature s = Signature::parse(slurp(vector_path("message.txt.ED.minisig")));
  CHECK(s.prehashed);
  CHECK(s.untrusted_comment == "untrusted: ED vector");
  CHECK(s.trusted_comment == "airlock test vector: prehashed");
  verify_message(pk, s, bytes_of(message()));
  std::string other = message() + "x";
  CHECK(expect_minisign_error([&] { verify_message(pk, s, bytes_of(other)); }).kind() ==
        ErrorKind::kBadSignature);
}

TEST_CASE("minisign vector: legacy Ed signature from minisign -S -l verifies") {
  PublicKey pk = PublicKey::parse(slurp(vector_path("key.pub")));
  Signature s = Signature::parse(slurp(vector_path("message.txt.Ed.minisig")));
  CHECK_FALSE(s.prehashed);
  verify_message(pk, s, bytes_of(message()));
  MemoryReader r(message());
  verify_stream(pk, s, r);
  std::array<uint8_t, 64> digest{};
  auto e = expect_minisign_error([&] { verify_prehashed(pk, s, digest); });
  CHECK(e.kind() == ErrorKind::kSignatureFormat);
}

TEST_CASE("minisign vector: CRLF lines and a missing final newline are read as minisign reads them") {
  PublicKey pk = PublicKey::parse(slurp(vector_path("key.pub")));
  std::string text = slurp(vector_path("message.txt.ED.minisig"));
  std::string crlf;
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  verify_message(pk, Signature::parse(crlf), bytes_of(message()));
  verify_message(pk, Signature::parse(text.substr(0, text.size() - 1)), bytes_of(message()));
}

TEST_CASE("minisign vector: unencrypted key from minisign -G -W signs for its public key") {
  SecretKey k = SecretKey::load(vector_path("key.key"), nullptr);
  PublicKey pk = PublicKey::parse(slurp(vector_path("key.pub")));
  CHECK(k.key_id() == pk.key_id);
  CHECK(k.public_key().key == pk.key);
  // Ed25519 is deterministic: our ED signature equals minisign's.
  Signature s = sign_prehashed(k, bytes_of(message()), "airlock test vector: prehashed", "untrusted: ED vector");
  CHECK(s.file_text() == slurp(vector_path("message.txt.ED.minisig")));
}

TEST_CASE("minisign vector: encrypted key from minisign -G needs its password") {
  std::string text = slurp(vector_path("key-enc.key"));
  CHECK(SecretKey::is_encrypted(text));
  SecureBytes pw = airlock::test::secret("correct horse");
  SecretKey k = SecretKey::parse(text, &pw);
  PublicKey pk = PublicKey::parse(slurp(vector_path("key-enc.pub")));
  CHECK(k.key_id() == pk.key_id);
  CHECK(k.public_key().key == pk.key);
  Signature theirs = Signature::parse(slurp(vector_path("message.txt.enc.minisig")));
  verify_message(pk, theirs, bytes_of(message()));
  Signature ours = sign_prehashed(k, bytes_of(message()), theirs.trusted_comment, theirs.untrusted_comment);
  CHECK(ours.sig == theirs.sig);
  CHECK(ours.global_sig == theirs.global_sig);
}

TEST_CASE("minisign hostile signature files: each refused with its own message") {
  auto list = expectations("bad-sig");
  CHECK(list.size() >= 20);
  for (const auto& [file, msg] : list) {
    INFO(file);
    std::string text = slurp(vector_path("bad-sig/" + file));
    auto e = expect_minisign_error([&] { Signature::parse(text, file); });
    CHECK(e.kind() == ErrorKind::kSignatureFormat);
    CHECK_THAT(e.what(), Catch::StartsWith(file + ": ") && Catch::Contains(msg));
  }
}

TEST_CASE("minisign hostile key files: each refused with its own message") {
  auto list = expectations("bad-key");
  CHECK(list.size() >= 14);
  SecureBytes pw = airlock::test::secret("any");
  for (const auto& [file, msg] : list) {
    INFO(file);
    std::string text = slurp(vector_path("bad-key/" + file));
    auto e = expect_minisign_error([&] {
      if (file.ends_with(".pub")) PublicKey::parse(text, file);
      else SecretKey::parse(text, &pw, file);
    });
    CHECK(e.kind() == ErrorKind::kKeyFormat);
    CHECK_THAT(e.what(), Catch::StartsWith(file + ": ") && Catch::Contains(msg));
  }
}
