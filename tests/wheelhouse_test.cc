// What the check calls an sdist and what the pack carries are the same
// files: a .tgz the check accepted with --allow-sdist was once left out of
// the bundle ("not a wheel or sdist"), and pip failed on the node.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "packer/checks/wheel.h"
#include "packer/checks/wheelhouse.h"
#include "tests/support.h"

using namespace airlock::packer;

TEST_CASE("wheelhouse: every sdist the check lists is one the pack parses", "[wheelhouse]") {
  airlock::test::TempDir dir;
  const std::string names[] = {"tiny_app-2.1.0.tar.gz", "tiny_app-2.1.0.tgz", "tiny_app-2.1.0.tar.bz2",
                               "tiny_app-2.1.0.tar.xz", "tiny_app-2.1.0.zip", "tiny_app-2.1.0-py3-none-any.whl",
                               "tiny_app-2.1.0.tar.lz", "notes.txt"};
  for (const auto& n : names) std::ofstream(dir / n) << "x";

  Wheelhouse h = list_wheelhouse(dir.str());
  REQUIRE(h.wheels.size() == 1);
  REQUIRE(h.sdists.size() == std::size(kSdistExtensions));
  for (const auto& path : h.sdists) {
    std::string file = std::filesystem::path(path).filename().string();
    INFO(file);
    auto parsed = parse_distribution_filename(file);
    REQUIRE(parsed);
    CHECK(parsed->sdist);
    CHECK(parsed->name == "tiny_app");
    CHECK(parsed->version == "2.1.0");
  }
  // Neither lists a file that is no distribution.
  CHECK_FALSE(parse_distribution_filename("tiny_app-2.1.0.tar.lz"));
  CHECK_FALSE(parse_distribution_filename("notes.txt"));
  auto whl = parse_distribution_filename("tiny_app-2.1.0-py3-none-any.whl");
  REQUIRE(whl);
  CHECK_FALSE(whl->sdist);
}
