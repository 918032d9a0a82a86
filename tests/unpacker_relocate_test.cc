#include <catch2/catch.hpp>

#include "unpacker/install/relocate.h"

using namespace airlock::unpacker;

TEST_CASE("unpacker relocate: text files take any length", "[unpacker][relocate]") {
  std::string s = "#!/old/prefix/bin/python3\nPATH=/old/prefix/lib:/old/prefix/x\n";
  auto r = relocate_text(s, "/old/prefix", "/a/much/longer/destination/env");
  CHECK(r.replaced == 3);
  CHECK(s == "#!/a/much/longer/destination/env/bin/python3\n"
             "PATH=/a/much/longer/destination/env/lib:/a/much/longer/destination/env/x\n");
  std::string none = "nothing here";
  CHECK(relocate_text(none, "/old/prefix", "/n").replaced == 0);
  CHECK(none == "nothing here");
}

TEST_CASE("unpacker relocate: binary strings rewritten in place and NUL-padded", "[unpacker][relocate]") {
  std::string bin("\x7f" "ELF..", 6);
  bin += std::string("/old/prefix/lib/python3.12\0tail", 31);
  bin += std::string("\0\0/old/prefix\0", 14);
  std::string orig = bin;
  auto r = relocate_binary(bin, "/old/prefix", "/new/p");
  CHECK(r.fits);
  CHECK(r.replaced == 2);
  CHECK(bin.size() == orig.size());
  std::string expect1 = std::string("/new/p/lib/python3.12") + std::string(5, '\0');
  CHECK(bin.substr(6, expect1.size()) == expect1);
  CHECK(bin.substr(6 + 26, 5) == std::string("\0tail", 5));
  CHECK(bin.find("/old/prefix") == std::string::npos);
}

TEST_CASE("unpacker relocate: a longer path does not fit a binary file", "[unpacker][relocate]") {
  std::string bin = std::string("/old\0", 5);
  std::string orig = bin;
  auto r = relocate_binary(bin, "/old", "/much/longer");
  CHECK_FALSE(r.fits);
  CHECK(bin == orig);
}
