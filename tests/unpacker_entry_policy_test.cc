#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "unpacker/stream/entry_policy.h"

using namespace airlock;
using namespace airlock::unpacker;

namespace {
RawEntry file(std::string p, uint32_t mode = 0644) { return {std::move(p), S_IFREG, mode, false, "", false}; }
RawEntry dir(std::string p, uint32_t mode = 0755) { return {std::move(p), S_IFDIR, mode, false, "", false}; }
RawEntry hlink(std::string p, std::string t) { return {std::move(p), S_IFREG, 0644, true, std::move(t), false}; }
int exit_of(EntryPolicy& pol, const RawEntry& e) {
  try {
    pol.admit(e);
    return 0;
  } catch (const Error& err) {
    return static_cast<int>(err.exit());
  }
}
}  // namespace

TEST_CASE("unpacker policy: plain entries under the three roots are admitted", "[unpacker][policy]") {
  EntryPolicy pol;
  CHECK(pol.admit(dir("env/")).path == "env");
  CHECK(pol.admit(dir("env/bin/")).kind == Kind::kDir);
  Admitted f = pol.admit(file("env/bin/python3.12", 0755));
  CHECK(f.path == "env/bin/python3.12");
  CHECK(f.perm == 0755);
  Admitted h = pol.admit(hlink("env/bin/python3", "env/bin/python3.12"));
  CHECK(h.kind == Kind::kHardlink);
  CHECK(h.target == "env/bin/python3.12");
  CHECK(pol.admit(file("wheels/six-1.16.0-py2.py3-none-any.whl")).kind == Kind::kFile);
  CHECK(pol.admit(file("airlock/manifest.json")).kind == Kind::kFile);
  CHECK(pol.is_implicit_dir("airlock"));
}

TEST_CASE("unpacker policy: every unsafe path is refused with exit 3 naming the entry", "[unpacker][policy]") {
  for (const char* p : {"", "/etc/passwd", "env/../../x", "../x", "env/./x", "env//x", "etc/x", "x", "envx/y",
                        "airlock/.."}) {
    EntryPolicy pol;
    INFO(p);
    CHECK(exit_of(pol, file(p)) == 3);
  }
  EntryPolicy pol;
  CHECK_THROWS_WITH(pol.admit(file("env/../escaped")), Catch::Contains("\"env/../escaped\"") && Catch::Contains(".."));
  CHECK_THROWS_WITH(pol.admit(file("env/a/")), Catch::Contains("trailing slash"));
}

TEST_CASE("unpacker policy: symlinks, devices, fifos, sockets, sparse files refused", "[unpacker][policy]") {
  for (unsigned t : {unsigned(S_IFLNK), unsigned(S_IFCHR), unsigned(S_IFBLK), unsigned(S_IFIFO), unsigned(S_IFSOCK)}) {
    EntryPolicy pol;
    CHECK(exit_of(pol, {"env/x", t, 0644, false, "", false}) == 3);
  }
  EntryPolicy pol;
  CHECK_THROWS_WITH(pol.admit({"env/l", S_IFLNK, 0777, false, "", false}), Catch::Contains("symbolic link"));
  CHECK_THROWS_WITH(pol.admit({"env/s", S_IFREG, 0644, false, "", true}), Catch::Contains("sparse"));
}

TEST_CASE("unpacker policy: setuid, setgid and sticky bits refused", "[unpacker][policy]") {
  for (uint32_t m : {04755u, 02755u, 01777u}) {
    EntryPolicy pol;
    CHECK(exit_of(pol, file("env/x", m)) == 3);
    EntryPolicy pol2;
    CHECK(exit_of(pol2, dir("env/d", m)) == 3);
  }
}

TEST_CASE("unpacker policy: duplicates and paths below files refused", "[unpacker][policy]") {
  EntryPolicy pol;
  pol.admit(file("env/a"));
  CHECK_THROWS_WITH(pol.admit(file("env/a")), Catch::Contains("duplicate"));
  CHECK_THROWS_WITH(pol.admit(dir("env/a/")), Catch::Contains("duplicate"));
  CHECK_THROWS_WITH(pol.admit(file("env/a/b")), Catch::Contains("below a file"));
  pol.admit(file("env/d/x"));
  CHECK_THROWS_WITH(pol.admit(file("env/d")), Catch::Contains("duplicate"));
  CHECK_NOTHROW(pol.admit(dir("env/d")));  // an implied parent may come as an entry later
}

TEST_CASE("unpacker policy: hardlinks only to earlier regular files", "[unpacker][policy]") {
  EntryPolicy pol;
  pol.admit(dir("env/dir"));
  pol.admit(file("env/f"));
  pol.admit(hlink("env/h1", "env/f"));
  CHECK_THROWS_WITH(pol.admit(hlink("env/h2", "env/later")), Catch::Contains("not an earlier regular file"));
  CHECK_THROWS_WITH(pol.admit(hlink("env/h3", "env/dir")), Catch::Contains("not an earlier regular file"));
  CHECK_THROWS_WITH(pol.admit(hlink("env/h4", "env/h1")), Catch::Contains("not an earlier regular file"));
  CHECK_THROWS_WITH(pol.admit(hlink("env/h5", "/etc/passwd")), Catch::Contains("outside the payload"));
  CHECK_THROWS_WITH(pol.admit(hlink("env/h6", "env/../env/f")), Catch::Contains("outside the payload"));
  CHECK_THROWS_WITH(pol.admit(hlink("env/h7", "")), Catch::Contains("empty target"));
}
