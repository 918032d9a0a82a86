// Unit tests for common/minisign/keys.cc.
#include <sodium.h>

#include <cstring>

#include "common/minisign/codec.h"
#include "common/minisign/format.h"
#include "tests/minisign_support.h"

using namespace airlock;
using namespace airlock::minisign;
using airlock::test::expect_minisign_error;
using airlock::test::secret;

namespace {
// Fast scrypt factors for round trips (still accepted by minisign: it reads
// the factors from the file).
constexpr ScryptLimits kFast{crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN * 2, 1u << 24};

// Decodes the base64 line of a .key file into the raw 158-byte struct.
format::SeckeyStruct raw(const SecureBytes& text) {
  std::string_view v = text.view();
  auto line2 = v.substr(v.find('\n') + 1);
  line2.remove_suffix(1);
  format::SeckeyStruct s{};
  REQUIRE(detail::b64_decode_exact(line2, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&s), sizeof s)));
  return s;
}
}  // namespace

TEST_CASE("minisign key id prints like minisign: little-endian number in uppercase hex") {
  KeyId id{0x62, 0x6c, 0x34, 0x1c, 0x34, 0xd1, 0x1c, 0xff};
  CHECK(key_id_hex(id) == "FF1CD1341C346C62");
}

TEST_CASE("minisign public key vector: id and comment agree with minisign's file") {
  std::string text = airlock::test::slurp(airlock::test::vector_path("key.pub"));
  PublicKey pk = PublicKey::parse(text);
  CHECK(text.starts_with("untrusted comment: minisign public key " + key_id_hex(pk.key_id) + "\n"));
  CHECK(pk.file_text() == text);  // byte-identical re-serialisation
  auto bare = text.substr(text.find('\n') + 1);
  bare.pop_back();
  CHECK(PublicKey::parse(bare).key == pk.key);
}

TEST_CASE("minisign unencrypted secret key: round trip, kdf bytes 0,0, checksum written") {
  SecretKey k = SecretKey::generate();
  SecureBytes text = k.file_text(nullptr);
  CHECK(text.view().starts_with("untrusted comment: minisign unencrypted secret key\n"));
  CHECK(text.view().ends_with("\n"));
  auto s = raw(text);
  CHECK(std::memcmp(s.sig_alg, "Ed", 2) == 0);
  CHECK(s.kdf_alg[0] == 0);
  CHECK(s.kdf_alg[1] == 0);
  CHECK(std::memcmp(s.chk_alg, "B2", 2) == 0);
  CHECK(detail::le64_load(s.kdf_opslimit_le) == 0);
  CHECK(!SecretKey::is_encrypted(text.view()));

  SecretKey back = SecretKey::parse(text.view(), nullptr);
  CHECK(back.key_id() == k.key_id());
  CHECK(back.public_key().key == k.public_key().key);
  CHECK(std::memcmp(back.ed25519_secret().data(), k.ed25519_secret().data(), 64) == 0);
  // A passphrase given for an unencrypted key is ignored.
  SecureBytes pw = secret("unused");
  CHECK(SecretKey::parse(text.view(), &pw).key_id() == k.key_id());
}

TEST_CASE("minisign encrypted secret key: round trip, wrong and missing passphrase") {
  SecretKey k = SecretKey::generate();
  SecureBytes pw = secret("right passphrase");
  SecureBytes text = k.file_text(&pw, kFast);
  CHECK(text.view().starts_with("untrusted comment: minisign encrypted secret key\n"));
  CHECK(SecretKey::is_encrypted(text.view()));
  auto s = raw(text);
  CHECK(std::memcmp(s.kdf_alg, "Sc", 2) == 0);
  CHECK(detail::le64_load(s.kdf_opslimit_le) == kFast.opslimit);
  CHECK(detail::le64_load(s.kdf_memlimit_le) == kFast.memlimit);
  // The stored secret is not the plain key.
  CHECK(std::memcmp(s.keynum_sk.sk, k.ed25519_secret().data(), 64) != 0);

  SecretKey back = SecretKey::parse(text.view(), &pw);
  CHECK(back.key_id() == k.key_id());
  CHECK(std::memcmp(back.ed25519_secret().data(), k.ed25519_secret().data(), 64) == 0);

  SecureBytes wrong = secret("wrong passphrase");
  auto e = expect_minisign_error([&] { SecretKey::parse(text.view(), &wrong, "my.key"); });
  CHECK(e.kind() == ErrorKind::kPassphrase);
  CHECK(std::string(e.what()) == "my.key: wrong passphrase for this secret key");
  CHECK(e.exit() == Exit::kUsage);

  auto none = expect_minisign_error([&] { SecretKey::parse(text.view(), nullptr, "my.key"); });
  CHECK(none.kind() == ErrorKind::kPassphrase);
  CHECK(std::string(none.what()).find("encrypted and no passphrase") != std::string::npos);
}

TEST_CASE("minisign encrypted secret key: default scrypt factors are minisign's") {
  SecretKey k = SecretKey::generate();
  SecureBytes pw = secret("p");
  auto s = raw(k.file_text(&pw));
  CHECK(detail::le64_load(s.kdf_opslimit_le) == 33'554'432);
  CHECK(detail::le64_load(s.kdf_memlimit_le) == 1'073'741'824);
}

TEST_CASE("minisign passphrases minisign could not type are refused") {
  SecretKey k = SecretKey::generate();
  SecureBytes empty;
  CHECK(expect_minisign_error([&] { k.file_text(&empty, kFast); }).kind() == ErrorKind::kPassphrase);
  SecureBytes longer(std::string(1024, 'a').size());
  std::memset(longer.data(), 'a', longer.size());
  auto e = expect_minisign_error([&] { k.file_text(&longer, kFast); });
  CHECK(std::string(e.what()).find("longer than 1023") != std::string::npos);
  SecureBytes nul = secret(std::string_view("a\0b", 3));
  CHECK(std::string(expect_minisign_error([&] { k.file_text(&nul, kFast); }).what()).find("NUL") !=
        std::string::npos);
}

TEST_CASE("minisign public key parse: garbage is a key format error quoting the input") {
  auto e = expect_minisign_error([] { PublicKey::parse("RWnotakey", "k.pub"); });
  CHECK(e.kind() == ErrorKind::kKeyFormat);
  CHECK(std::string(e.what()).find("k.pub: not the base64 of a 42-byte minisign public key: \"RWnotakey\"") !=
        std::string::npos);
}
