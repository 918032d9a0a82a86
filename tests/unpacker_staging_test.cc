// The staging directory: filled privately beside DEST, renamed into place,
// removed on any failure, and never something else in its place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "tests/support.h"
#include "unpacker/stream/staging.h"

using namespace airlock;
using namespace airlock::unpacker;
using namespace airlock::test;

TEST_CASE("staging: committed, it is DEST; dropped, nothing is left", "[unpacker][staging]") {
  TempDir t;
  {
    Staging s(t / "dest");
    std::ofstream(s.path() + "/f") << "x";
    s.commit();
  }
  CHECK(std::filesystem::exists(t / "dest/f"));
  {
    Staging s(t / "other");
    REQUIRE(::mkdirat(s.fd(), "d", 0500) == 0);  // read-only: removed all the same
  }
  CHECK_FALSE(std::filesystem::exists(t / "other"));
  for (const auto& e : std::filesystem::directory_iterator(t.path()))
    CHECK(e.path().filename() == "dest");
}

TEST_CASE("staging: a directory put in its place is not renamed into DEST as verified", "[unpacker][staging]") {
  TempDir t;
  Staging s(t / "dest");
  std::ofstream(s.path() + "/verified") << "x";
  // Another user who may write to DEST's parent swaps the staging
  // directory for one of theirs between the checks and the rename.
  REQUIRE(::rename(s.path().c_str(), (t / "moved-away").c_str()) == 0);
  REQUIRE(::mkdir(s.path().c_str(), 0755) == 0);
  std::ofstream(s.path() + "/planted") << "evil";
  try {
    s.commit();
    FAIL("commit accepted a directory that is not the one it filled");
  } catch (const Error& e) {
    CHECK(e.exit() == Exit::kVerify);
    CHECK(std::string(e.what()).find("is not the directory that was verified") != std::string::npos);
  }
}
