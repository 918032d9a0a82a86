// What the install step decides before it starts pip.
#include <catch2/catch.hpp>

#include "unpacker/install/install.h"

using namespace airlock::unpacker;

TEST_CASE("unpacker install: a lock of comments and blank lines installs nothing", "[unpacker][install]") {
  // What the packer writes for a bundle without wheels: pip is not started.
  CHECK_FALSE(lock_names_anything("# airlock: every distribution in wheels/, pinned by SHA-256\n"));
  CHECK_FALSE(lock_names_anything(""));
  CHECK_FALSE(lock_names_anything("\n  \t\r\n# one\n   # two\n"));
  CHECK(lock_names_anything("# airlock: ...\ntinyapp==1.0 --hash=sha256:00\n"));
  CHECK(lock_names_anything("tinyapp==1.0 --hash=sha256:00"));  // no final newline
  CHECK(lock_names_anything("  x==1 \\\n    --hash=sha256:00\n"));
}
