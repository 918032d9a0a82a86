#include <catch2/catch.hpp>

#include <cctype>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "tests/support.h"

using namespace airlock;
using airlock::test::run;
using airlock::test::TempDir;

namespace {
struct Fixture {
  TempDir d;
  std::string u = test::bin("unpacker");
  std::string plain;
  Fixture() {
    for (int i = 0; i < 20'000; ++i) plain += "line " + std::to_string(i) + "\n";  // ~170 KB, 3 chunks
    test::spit(d / "in", plain);
    REQUIRE(run(u + " keygen -o " + d / "k --audit-log " + d / "audit").exit_code == 0);
    REQUIRE(run("age-keygen -o " + d / "other").exit_code == 0);
    REQUIRE(run("age -r $(age-keygen -y " + d / "k) -o " + d / "f.age " + d / "in").exit_code == 0);
  }
  test::RunResult decrypt(const std::string& args) { return run(u + " decrypt --audit-log " + d / "audit " + args); }
  // A copy of f.age with byte `pos` (negative: from the end) flipped.
  std::string damaged(long pos) {
    std::string s = test::slurp(d / "f.age");
    size_t p = pos >= 0 ? static_cast<size_t>(pos) : s.size() - static_cast<size_t>(-pos);
    // In the text header, swap one base64 letter for another so the line
    // still parses and the damage reaches the layer under test; in the
    // binary payload, flip a bit.
    bool b64 = (std::isalnum(static_cast<unsigned char>(s[p])) || s[p] == '+' || s[p] == '/') && p < s.find("\n--- ") + 50;
    s[p] = b64 ? (s[p] == 'A' ? 'B' : 'A') : static_cast<char>(s[p] ^ 0x01);
    test::spit(d / "bad.age", s);
    return d / "bad.age";
  }
  nlohmann::json last_audit() {
    std::string t = test::slurp(d / "audit");
    t.pop_back();
    return nlohmann::json::parse(t.substr(t.rfind('\n') + 1));
  }
};
}  // namespace

TEST_CASE("unpacker decrypt: to -o and to stdout, one or more identity files", "[cli][decrypt]") {
  Fixture f;
  auto r = f.decrypt("-i " + f.d / "k -o " + f.d / "out " + f.d / "f.age");
  CHECK(r.exit_code == 0);
  CHECK(test::slurp(f.d / "out") == f.plain);
  r = f.decrypt("-i " + f.d / "other -i " + f.d / "k " + f.d / "f.age");
  CHECK(r.exit_code == 0);
  CHECK(r.out == f.plain);
  // One identity file holding several identities.
  test::spit(f.d / "both", test::slurp(f.d / "other") + test::slurp(f.d / "k"));
  r = f.decrypt("-i " + f.d / "both " + f.d / "f.age");
  CHECK(r.out == f.plain);
  CHECK(f.last_audit()["event"] == "decrypt");
  CHECK(f.last_audit()["outcome"] == "ok");
  // stdin.
  r = run("cat " + f.d / "f.age | " + f.u + " decrypt --audit-log " + f.d / "audit -i " + f.d / "k -");
  CHECK(r.out == f.plain);
}

TEST_CASE("unpacker decrypt: no matching identity exits 1 with a hint and usage errors exit 2", "[cli][decrypt]") {
  Fixture f;
  auto r = f.decrypt("-i " + f.d / "other -o " + f.d / "out " + f.d / "f.age");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("unpacker: error: no identity matched") &&
                        Catch::Contains("unpacker: hint: ") && Catch::Contains("age1"));
  CHECK_FALSE(std::filesystem::exists(f.d / "out"));
  CHECK(f.last_audit()["outcome"] == "failed");
  CHECK(f.decrypt(f.d / "f.age").exit_code == 2);  // neither -i nor --passphrase-file
  test::spit(f.d / "pass", "x\n");
  CHECK(f.decrypt("-i " + f.d / "k --passphrase-file " + f.d / "pass " + f.d / "f.age").exit_code == 2);
  r = f.decrypt("-i " + f.d / "k " + f.d / "missing.age");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("missing.age"));
  r = f.decrypt("-i " + f.d / "in " + f.d / "f.age");  // not an identity file
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(f.d / "in:1:"));
  // A passphrase for a file made for recipients: a no-match with a pointed hint.
  r = f.decrypt("--passphrase-file " + f.d / "pass " + f.d / "f.age");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("use -i"));
}

TEST_CASE("unpacker decrypt: damage is exit 1 with a message per layer and no partial output", "[cli][decrypt]") {
  Fixture f;
  struct Case {
    long pos;
    const char* message;
  };
  std::string hdr = test::slurp(f.d / "f.age");
  long mac_pos = static_cast<long>(hdr.find("\n--- ") + 6);
  long stanza_arg = static_cast<long>(hdr.find("-> X25519 ") + 12);
  for (Case c : {Case{0, "parsing age header"}, Case{mac_pos, "header MAC"}, Case{stanza_arg, "no identity matched"},
                 Case{-1, "decrypting age payload"}, Case{-70'000, "decrypting age payload"}}) {
    INFO(c.message);
    auto r = f.decrypt("-i " + f.d / "k -o " + f.d / "out " + f.damaged(c.pos));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::StartsWith(std::string("unpacker: error: ") + c.message));
    CHECK_FALSE(std::filesystem::exists(f.d / "out"));  // nothing partial is left
  }
  // Truncated and extended files.
  std::string s = test::slurp(f.d / "f.age");
  test::spit(f.d / "cut.age", s.substr(0, s.size() - 100));
  auto r = f.decrypt("-i " + f.d / "k -o " + f.d / "out " + f.d / "cut.age");
  CHECK(r.exit_code == 1);
  CHECK_FALSE(std::filesystem::exists(f.d / "out"));
  test::spit(f.d / "long.age", s + "x");
  r = f.decrypt("-i " + f.d / "k -o " + f.d / "out " + f.d / "long.age");
  CHECK(r.exit_code == 1);
  CHECK_FALSE(std::filesystem::exists(f.d / "out"));
  // Armor damage.
  REQUIRE(run("age -a -r $(age-keygen -y " + f.d / "k) -o " + f.d / "a.age " + f.d / "in").exit_code == 0);
  std::string a = test::slurp(f.d / "a.age");
  a.insert(a.find('\n') + 1, " ");
  test::spit(f.d / "a.age", a);
  r = f.decrypt("-i " + f.d / "k " + f.d / "a.age");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("unpacker: error: invalid armor: "));
}

TEST_CASE("unpacker decrypt: passphrase files and a wrong passphrase says so", "[cli][decrypt]") {
  Fixture f;
  auto r = run("printf 'hunter2\\nhunter2\\n' | script -qec " +
               test::sh_quote("age -p -o " + f.d / "p.age " + f.d / "in") + " /dev/null");
  REQUIRE(r.exit_code == 0);
  test::spit(f.d / "pass", "hunter2\r\n");  // the line ending is not part of it
  r = f.decrypt("--passphrase-file " + f.d / "pass -o " + f.d / "out " + f.d / "p.age");
  CHECK(r.exit_code == 0);
  CHECK(test::slurp(f.d / "out") == f.plain);
  test::spit(f.d / "wrong", "hunter3\n");
  r = f.decrypt("--passphrase-file " + f.d / "wrong -o " + f.d / "out2 " + f.d / "p.age");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("unpacker: error: incorrect passphrase"));
  r = f.decrypt("-i " + f.d / "k " + f.d / "p.age");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("--passphrase-file"));
}

TEST_CASE("unpacker decrypt: --help shows usage, exit codes and examples", "[cli][decrypt]") {
  auto r = run(test::bin("unpacker") + " decrypt --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("--passphrase-file") && Catch::Contains("Examples:") &&
                        Catch::Contains("Exit status"));
}
