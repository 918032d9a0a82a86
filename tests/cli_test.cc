// common/cli: behaviour every subcommand shares.
#include <catch2/catch.hpp>

#include "tests/support.h"

using namespace airlock::test;

TEST_CASE("cli: a repeatable option does not swallow the positional argument after it", "[cli]") {
  TempDir d;
  REQUIRE(run(bin("unpacker") + " keygen -o " + d / "id.key" + " --audit-log " + d / "a.jsonl").exit_code == 0);
  // age encrypts to the recipient written in the identity file's comment.
  auto enc = run("echo secret | age -r $(grep -o 'age1.*' " + d / "id.key" + ") > " + d / "f.age");
  REQUIRE(enc.exit_code == 0);
  // -i before the file, twice, and after it: all three spellings decrypt.
  for (std::string args : {"-i " + d / "id.key" + " " + d / "f.age", "-i " + d / "id.key" + " -i " + d / "id.key" + " " + d / "f.age",
                           d / "f.age" + " -i " + d / "id.key"}) {
    auto r = run(bin("unpacker") + " decrypt --audit-log " + d / "a.jsonl" + " " + args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "secret\n");
  }
}

TEST_CASE("cli: usage errors exit 2 with a hint; --help exits 0", "[cli]") {
  for (std::string prog : {"packer", "unpacker"}) {
    auto r = run(bin(prog) + " no-such-command");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::StartsWith(prog + ": error: "));
    CHECK_THAT(r.err, Catch::Contains(prog + ": hint: "));
    auto h = run(bin(prog) + " --help");
    CHECK(h.exit_code == 0);
    CHECK_THAT(h.out, Catch::Contains("keygen"));
  }
}
