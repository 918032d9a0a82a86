// Interoperability with Debian's minisign binary, both ways: keys made by
// either side sign with the other, and each verifies the other's signatures.
// minisign reads passwords from stdin when stdin is not a terminal.
#include <algorithm>
#include <sodium.h>

#include "tests/minisign_support.h"

using namespace airlock;
using namespace airlock::minisign;
using airlock::test::bytes_of;
using airlock::test::run;
using airlock::test::sh_quote;
using airlock::test::slurp;
using airlock::test::spit;
using airlock::test::TempDir;

namespace {
constexpr ScryptLimits kFast{crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN * 2, 1u << 24};
const std::string kMessage = "interop message\n\x01\x02 binary bytes\n";
const std::string kTrusted = "airlock-bundle/1 bundle-id:0f9c2a3e file:payload.age";

void write_keys(const TempDir& d, const SecretKey& k, const SecureBytes* pw, ScryptLimits l = kFast) {
  SecureBytes text = k.file_text(pw, l);
  spit(d / "k.key", std::string(text.view()));
  spit(d / "k.pub", k.public_key().file_text());
}

// Verifies d/msg with minisign and our code; returns minisign's -Q output.
std::string verify_both(const TempDir& d, const std::string& sigfile) {
  auto r = run("minisign -V -Q -p " + sh_quote(d / "k.pub") + " -m " + sh_quote(d / "msg") + " -x " +
               sh_quote(sigfile));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  PublicKey pk = PublicKey::parse(slurp(d / "k.pub"));
  Signature s = Signature::parse(slurp(sigfile));
  verify_message(pk, s, bytes_of(slurp(d / "msg")));
  return r.out;
}
}  // namespace

TEST_CASE("minisign interop: minisign -V accepts our signature and the trusted comment round-trips") {
  TempDir d;
  SecretKey k = SecretKey::generate();
  write_keys(d, k, nullptr);
  spit(d / "msg", kMessage);
  spit(d / "msg.minisig", sign_prehashed(k, bytes_of(kMessage), kTrusted, "").file_text());
  // -H: minisign insists on a prehashed signature; -Q prints the trusted comment.
  auto r = run("minisign -V -H -Q -p " + sh_quote(d / "k.pub") + " -m " + sh_quote(d / "msg"));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == kTrusted + "\n");
  // Inline public key (-P with the base64 line).
  CHECK(run("minisign -V -q -P " + k.public_key().base64() + " -m " + sh_quote(d / "msg")).exit_code == 0);
  // minisign rejects what we would reject.
  spit(d / "msg", kMessage + ".");
  auto bad = run("minisign -V -p " + sh_quote(d / "k.pub") + " -m " + sh_quote(d / "msg"));
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("Signature verification failed") != std::string::npos);
}

TEST_CASE("minisign interop: minisign reports our key id as we print it") {
  TempDir d;
  SecretKey signer = SecretKey::generate(), other = SecretKey::generate();
  write_keys(d, other, nullptr);
  spit(d / "msg", kMessage);
  spit(d / "msg.minisig", sign_prehashed(signer, bytes_of(kMessage), kTrusted, "").file_text());
  auto r = run("minisign -V -p " + sh_quote(d / "k.pub") + " -m " + sh_quote(d / "msg"));
  CHECK(r.exit_code == 1);
  // minisign prints ids with "%" PRIX64: our 16 digits less leading zeros.
  auto unpadded = [](std::string id) { return id.erase(0, std::min(id.find_first_not_of('0'), id.size() - 1)); };
  CHECK(r.err.find("Signature key id in " + d / "msg.minisig" + " is " + unpadded(key_id_hex(signer.key_id())) + "\n") !=
        std::string::npos);
  CHECK(r.err.find("but the key id in the public key is " + unpadded(key_id_hex(other.key_id())) + "\n") !=
        std::string::npos);
}

TEST_CASE("minisign interop: our unencrypted key signs with minisign -S (prehashed and legacy)") {
  TempDir d;
  SecretKey k = SecretKey::generate();
  write_keys(d, k, nullptr);
  spit(d / "msg", kMessage);
  auto r = run("minisign -S -s " + sh_quote(d / "k.key") + " -m " + sh_quote(d / "msg") + " -t " +
               sh_quote(kTrusted) + " </dev/null");
  INFO(r.out + r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(verify_both(d, d / "msg.minisig") == kTrusted + "\n");
  CHECK(Signature::parse(slurp(d / "msg.minisig")).prehashed);

  r = run("minisign -S -l -s " + sh_quote(d / "k.key") + " -m " + sh_quote(d / "msg") + " -x " +
          sh_quote(d / "legacy.minisig") + " -t legacy </dev/null");
  REQUIRE(r.exit_code == 0);
  Signature legacy = Signature::parse(slurp(d / "legacy.minisig"));
  CHECK_FALSE(legacy.prehashed);
  CHECK(verify_both(d, d / "legacy.minisig") == "legacy\n");
}

TEST_CASE("minisign interop: our encrypted key signs with minisign -S given the password") {
  TempDir d;
  SecretKey k = SecretKey::generate();
  SecureBytes pw = airlock::test::secret("interop pass phrase");
  write_keys(d, k, &pw);
  spit(d / "msg", kMessage);
  auto r = run("echo 'interop pass phrase' | minisign -S -s " + sh_quote(d / "k.key") + " -m " +
               sh_quote(d / "msg") + " -t " + sh_quote(kTrusted));
  INFO(r.out + r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(verify_both(d, d / "msg.minisig") == kTrusted + "\n");
  auto wrong = run("echo 'not it' | minisign -S -s " + sh_quote(d / "k.key") + " -m " + sh_quote(d / "msg") +
                   " -x " + sh_quote(d / "w.minisig"));
  CHECK(wrong.exit_code != 0);
  CHECK((wrong.out + wrong.err).find("Wrong password") != std::string::npos);
}

TEST_CASE("minisign interop: a minisign -G -W key signs through our code") {
  TempDir d;
  auto g = run("minisign -G -W -p " + sh_quote(d / "k.pub") + " -s " + sh_quote(d / "k.key"));
  REQUIRE(g.exit_code == 0);
  SecretKey k = SecretKey::load(d / "k.key", nullptr);
  CHECK(k.public_key().file_text() == slurp(d / "k.pub"));
  spit(d / "msg", kMessage);
  spit(d / "msg.minisig", sign_prehashed(k, bytes_of(kMessage), kTrusted, "ours").file_text());
  CHECK(verify_both(d, d / "msg.minisig") == kTrusted + "\n");
}

TEST_CASE("minisign interop: a password-protected minisign -G key signs through our code") {
  TempDir d;
  auto g = run("printf 'pw from minisign\\npw from minisign\\n' | minisign -G -p " + sh_quote(d / "k.pub") +
               " -s " + sh_quote(d / "k.key"));
  REQUIRE(g.exit_code == 0);
  CHECK(SecretKey::is_encrypted(slurp(d / "k.key")));
  SecureBytes pw = airlock::test::secret("pw from minisign");
  SecretKey k = SecretKey::load(d / "k.key", &pw);
  CHECK(k.public_key().file_text() == slurp(d / "k.pub"));
  spit(d / "msg", kMessage);
  spit(d / "msg.minisig", sign_prehashed(k, bytes_of(kMessage), kTrusted, "ours").file_text());
  CHECK(verify_both(d, d / "msg.minisig") == kTrusted + "\n");
}
