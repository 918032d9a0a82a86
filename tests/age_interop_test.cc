// Interoperability with Debian's age and age-keygen, both ways. age reads
// passphrases only from a terminal, so it runs under script(1) for -p / scrypt.
#include <catch2/catch.hpp>

#include <random>

#include "common/age/age.h"
#include "common/hash.h"
#include "tests/support.h"

using namespace airlock;
using airlock::test::run;
using airlock::test::sh_quote;
using airlock::test::TempDir;

namespace {
std::string random_text(size_t n) {
  std::mt19937 g(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}
std::string decrypt_with_us(const std::string& file, const age::DecryptKeys& keys) {
  FileReader in(file);
  age::Decryptor d(in, keys);
  VectorWriter out;
  d.copy_to(out);
  return out.str();
}
age::DecryptKeys keys_from(const std::string& identity_file) {
  age::DecryptKeys k;
  k.identities = age::parse_identity_file(test::slurp(identity_file), identity_file);
  return k;
}
SecureBytes secret(std::string_view s) {
  return SecureBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
// Type `input` into a command's terminal.
test::RunResult on_tty(const std::string& input, const std::string& cmd) {
  return run("printf " + sh_quote(input) + " | script -qec " + sh_quote(cmd) + " /dev/null");
}
const size_t kSize = 300'000;  // five chunks, the last one short
}  // namespace

TEST_CASE("age interop: age encrypts to an age-keygen identity (binary and -a), we decrypt", "[age][interop]") {
  TempDir d;
  std::string plain = random_text(kSize);
  test::spit(d / "in", plain);
  REQUIRE(run("age-keygen -o " + d / "k").exit_code == 0);
  std::string r = run("age-keygen -y " + d / "k").out;
  r.pop_back();
  REQUIRE(run("age -r " + r + " -o " + d / "bin.age " + d / "in").exit_code == 0);
  REQUIRE(run("age -a -r " + r + " -o " + d / "arm.age " + d / "in").exit_code == 0);
  CHECK(decrypt_with_us(d / "bin.age", keys_from(d / "k")) == plain);
  CHECK(decrypt_with_us(d / "arm.age", keys_from(d / "k")) == plain);
  // And the CLI, with the age-keygen identity file as it is.
  for (const char* f : {"bin.age", "arm.age"}) {
    auto res = run(test::bin("unpacker") + " decrypt -i " + d / "k" + " -o " + d / (std::string(f) + ".out ") + d / f);
    CHECK(res.exit_code == 0);
    CHECK(test::slurp(d / (std::string(f) + ".out")) == plain);
  }
}

TEST_CASE("age interop: age -p encrypts (through a terminal), we decrypt with the passphrase", "[age][interop]") {
  TempDir d;
  std::string plain = random_text(kSize);
  test::spit(d / "in", plain);
  REQUIRE(on_tty("s3cret pass\ns3cret pass\n", "age -p -o " + d / "p.age " + d / "in").exit_code == 0);
  REQUIRE(test::slurp(d / "p.age").find("-> scrypt ") != std::string::npos);
  age::DecryptKeys k;
  k.passphrase = secret("s3cret pass");
  CHECK(decrypt_with_us(d / "p.age", k) == plain);
  k.passphrase = secret("s3cret pas");
  try {
    decrypt_with_us(d / "p.age", k);
    FAIL("decrypted with a wrong passphrase");
  } catch (const age::AgeError& e) {
    CHECK(e.kind() == age::ErrorKind::kIncorrectPassphrase);
  }
}

TEST_CASE("age interop: we encrypt to X25519 recipients (binary and armored), age -d decrypts", "[age][interop]") {
  TempDir d;
  std::string plain = random_text(kSize);
  REQUIRE(run("age-keygen -o " + d / "theirs").exit_code == 0);
  REQUIRE(run(test::bin("unpacker") + " keygen -o " + d / "ours" + " --audit-log " + d / "audit").exit_code == 0);
  std::vector<age::X25519Recipient> rs{keys_from(d / "theirs").identities[0].recipient(),
                                       keys_from(d / "ours").identities[0].recipient()};
  VectorWriter out;
  auto e = age::Encryptor::to_recipients(out, rs);
  e->write(plain);
  e->finish();
  test::spit(d / "x.age", out.str());
  test::spit(d / "x.asc", age::armor(out.out));
  for (const char* id : {"theirs", "ours"})
    for (const char* f : {"x.age", "x.asc"}) {
      INFO(id << " " << f);
      auto res = run("age -d -i " + d / id + " " + d / f + " > " + d / "plain");
      CHECK(res.exit_code == 0);
      CHECK(test::slurp(d / "plain") == plain);
    }
  // An empty payload too (one empty final chunk).
  VectorWriter empty;
  auto e2 = age::Encryptor::to_recipients(empty, rs);
  e2->finish();
  test::spit(d / "empty.age", empty.str());
  auto res = run("age -d -i " + d / "ours " + d / "empty.age | wc -c");
  CHECK(res.exit_code == 0);
  CHECK(res.out == "0\n");
}

TEST_CASE("age interop: we encrypt with a passphrase (scrypt), age -d decrypts through a terminal", "[age][interop]") {
  TempDir d;
  std::string plain = random_text(kSize);
  VectorWriter out;
  SecureBytes pass = secret("tr0ub4dor");
  auto e = age::Encryptor::to_passphrase(out, pass);  // default work factor 18
  e->write(plain);
  e->finish();
  CHECK(out.str().find(" 18\n") != std::string::npos);
  test::spit(d / "s.age", out.str());
  auto res = on_tty("tr0ub4dor\n", "age -d -o " + d / "plain " + d / "s.age");
  CHECK(res.exit_code == 0);
  CHECK(test::slurp(d / "plain") == plain);
  res = on_tty("wrong\n", "age -d -o " + d / "plain2 " + d / "s.age");
  CHECK(res.exit_code != 0);
}
