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

TEST_CASE("unpacker policy: long paths, long names and deep trees are refused, exit 3", "[unpacker][policy]") {
  auto deep = [](size_t levels) {
    std::string p = "env";
    for (size_t i = 0; i < levels; ++i) p += "/a";
    return p + "/f";
  };
  EntryPolicy pol;
  // At the bounds: admitted.
  CHECK(exit_of(pol, file(deep(kMaxDepth - 2))) == 0);  // env + levels + f = kMaxDepth components
  CHECK(exit_of(pol, file("env/" + std::string(kMaxNameBytes, 'n'))) == 0);
  std::string longest = "env/" + std::string(200, 'p');
  while (longest.size() + 201 <= kMaxPathBytes) longest += "/" + std::string(200, 'p');
  longest += "/" + std::string(kMaxPathBytes - longest.size() - 1, 'q');
  REQUIRE(longest.size() == kMaxPathBytes);
  CHECK(exit_of(pol, file(longest)) == 0);
  // One past them: refused as unsafe, before anything is made.
  EntryPolicy fresh;
  CHECK(exit_of(fresh, file(deep(kMaxDepth - 1))) == 3);
  CHECK(exit_of(fresh, file("env/" + std::string(kMaxNameBytes + 1, 'n'))) == 3);
  CHECK(exit_of(fresh, file(longest + "x")) == 3);
  // A pax path of 1 MiB is refused at once, not walked level by level.
  CHECK(exit_of(fresh, file("env/" + std::string(1 << 20, 'x'))) == 3);
}

TEST_CASE("unpacker policy: the paths held are bounded in bytes", "[unpacker][policy]") {
  // Many distinct deep paths: each entry adds all its parents. A small
  // bound here; the real one is kMaxHeldPathBytes.
  EntryPolicy pol(1 << 20);
  int code = 0;
  size_t admitted = 0;
  for (size_t i = 0; i < 10000 && code == 0; ++i) {
    std::string p = "env/d" + std::to_string(i);
    for (int l = 0; l < 20; ++l) p += "/" + std::string(40, 'a');
    code = exit_of(pol, file(p + "/f"));
    if (code == 0) ++admitted;
  }
  CHECK(code == 3);
  CHECK(admitted > 10);
  CHECK(admitted < 200);
  // The parents still come out top-down, each once.
  const auto& parents = pol.parent_dirs();
  REQUIRE(parents.size() > 3);
  CHECK(parents[0] == "env");
  CHECK(parents[1] == "env/d0");
  CHECK(parents[2] == "env/d0/" + std::string(40, 'a'));
}
