#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support.h"

using namespace airlock;
using airlock::test::run;
using airlock::test::TempDir;

TEST_CASE("unpacker keygen: writes a 0600 identity file like age-keygen and prints the recipient", "[cli][keygen]") {
  TempDir d;
  std::string cmd = test::bin("unpacker") + " keygen -o " + d / "node.key --audit-log " + d / "audit.jsonl";
  auto r = run(cmd);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.starts_with("age1"));
  std::string text = test::slurp(d / "node.key");
  CHECK(text.starts_with("# created: 20"));
  CHECK(text.find("# public key: " + r.out) != std::string::npos);  // r.out ends with "\n"
  CHECK(text.find("\nAGE-SECRET-KEY-1") != std::string::npos);
  struct stat st{};
  REQUIRE(::stat((d / "node.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // age-keygen derives the same recipient from our file.
  CHECK(run("age-keygen -y " + d / "node.key").out == r.out);
  // The audit log has a keygen record naming the recipient.
  auto rec = nlohmann::json::parse(test::slurp(d / "audit.jsonl"));
  CHECK(rec["event"] == "keygen");
  CHECK(rec["outcome"] == "ok");
  CHECK(rec["recipient"] == r.out.substr(0, r.out.size() - 1));
}

TEST_CASE("unpacker keygen: refuses to overwrite without --force", "[cli][keygen]") {
  TempDir d;
  std::string base = test::bin("unpacker") + " keygen --audit-log " + d / "audit.jsonl -o " + d / "k";
  REQUIRE(run(base).exit_code == 0);
  std::string before = test::slurp(d / "k");
  auto r = run(base);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("unpacker: error: ") && Catch::Contains("already exists") &&
                        Catch::Contains("unpacker: hint: pass --force"));
  CHECK(test::slurp(d / "k") == before);
  r = run(base + " --force");
  CHECK(r.exit_code == 0);
  CHECK(test::slurp(d / "k") != before);
  CHECK(run(test::bin("unpacker") + " keygen").exit_code == 2);  // -o is required
}

TEST_CASE("unpacker keygen: --help explains the file and gives examples", "[cli][keygen]") {
  auto r = run(test::bin("unpacker") + " keygen --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Examples:") && Catch::Contains("unpacker keygen -o") && Catch::Contains("--force"));
}
