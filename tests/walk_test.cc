#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>

#include "packer/stream/walk.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::packer;
using airlock::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::map<std::string, const WalkEntry*> by_path(const WalkResult& r) {
  std::map<std::string, const WalkEntry*> m;
  for (const auto& e : r.entries) m[e.path] = &e;
  return m;
}

std::vector<std::string> paths(const WalkResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.entries) out.push_back(e.path);
  return out;
}

std::string error_of(const std::string& dir, const WalkOptions& o = {}) {
  try {
    walk_tree(dir, "env", o);
  } catch (const WalkError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("walk: directories first, names sorted bytewise, modes and sizes", "[walk]") {
  TempDir t;
  std::string root = t / "env";
  test::make_file(root + "/b/z.txt", "zz", 0600);
  test::make_file(root + "/b/a.py", "print(1)\n", 0755);
  test::make_file(root + "/a.txt", "hello");
  test::make_file(root + "/B", "upper");  // 'B' (0x42) sorts before 'a' (0x61)
  fs::create_directories(root + "/empty");
  ::chmod((root + "/empty").c_str(), 0700);

  WalkResult r = walk_tree(root, "env");
  CHECK(paths(r) == std::vector<std::string>{"env", "env/B", "env/a.txt", "env/b", "env/b/a.py", "env/b/z.txt",
                                             "env/empty"});
  auto m = by_path(r);
  CHECK(m["env"]->type == EntryType::kDir);
  CHECK(m["env/empty"]->mode == 0700);
  CHECK(m["env/b/a.py"]->mode == 0755);
  CHECK(m["env/b/z.txt"]->mode == 0600);
  CHECK(m["env/a.txt"]->size == 5);
  CHECK(m["env/a.txt"]->source() == root + "/a.txt");
  CHECK(m["env/a.txt"]->was_link_to().empty());
  CHECK(r.files == 4);
  CHECK(r.dirs == 3);
  CHECK(r.hardlinks == 0);
  CHECK(r.bytes == 2 + 9 + 5 + 5);
  CHECK(r.skipped.empty());
}

TEST_CASE("walk: symlinks to files are dereferenced and a file reached twice is stored once", "[walk]") {
  TempDir t;
  std::string root = t / "env";
  test::make_file(root + "/bin/python3.12", "#!binary", 0755);
  fs::create_symlink("python3.12", root + "/bin/python3");   // sorts first
  fs::create_symlink("python3.12", root + "/bin/python");    // sorts before python3
  fs::create_hard_link(root + "/bin/python3.12", root + "/bin/zz-hard");

  WalkResult r = walk_tree(root, "env");
  auto m = by_path(r);
  // The first occurrence in walk order is the stored file, even when it was
  // reached through a link.
  REQUIRE(m["env/bin/python"]->type == EntryType::kFile);
  CHECK(m["env/bin/python"]->was_link_to() == "python3.12");
  CHECK(m["env/bin/python"]->size == 8);
  CHECK(m["env/bin/python"]->mode == 0755);
  CHECK(m["env/bin/python3"]->type == EntryType::kHardlink);
  CHECK(m["env/bin/python3"]->link_target() == "env/bin/python");
  CHECK(m["env/bin/python3"]->was_link_to() == "python3.12");
  CHECK(m["env/bin/python3.12"]->type == EntryType::kHardlink);
  CHECK(m["env/bin/python3.12"]->link_target() == "env/bin/python");
  CHECK(m["env/bin/python3.12"]->was_link_to().empty());
  CHECK(m["env/bin/zz-hard"]->type == EntryType::kHardlink);
  CHECK(m["env/bin/zz-hard"]->link_target() == "env/bin/python");
  CHECK(r.files == 1);
  CHECK(r.hardlinks == 3);
  CHECK(r.bytes == 8);
}

TEST_CASE("walk: a symlinked directory is copied as a tree and targets outside the tree are followed", "[walk]") {
  TempDir t;
  std::string root = t / "env";
  std::string cache = t / "pkgs/numpy-1.0";  // like conda's package cache
  test::make_file(cache + "/lib/core.so", "CORE");
  test::make_file(cache + "/info/index.json", "{}");
  test::make_file(root + "/lib/real/x.py", "x");
  fs::create_directories(root + "/lib");
  fs::create_symlink(cache + "/lib/core.so", root + "/lib/core.so");
  fs::create_directory_symlink(cache + "/info", root + "/info");
  fs::create_directory_symlink("real", root + "/lib/alias");

  WalkResult r = walk_tree(root, "env");
  auto m = by_path(r);
  REQUIRE(m.count("env/lib/core.so"));
  CHECK(m["env/lib/core.so"]->type == EntryType::kFile);
  CHECK(m["env/lib/core.so"]->was_link_to() == cache + "/lib/core.so");
  CHECK(test::slurp(m["env/lib/core.so"]->source()) == "CORE");
  REQUIRE(m.count("env/info/index.json"));
  CHECK(m["env/info"]->type == EntryType::kDir);
  CHECK(m["env/info"]->was_link_to() == cache + "/info");
  CHECK(m["env/info/index.json"]->type == EntryType::kFile);
  CHECK(m["env/info/index.json"]->was_link_to().empty());
  // lib/alias -> real: the alias sorts first, so it holds the data and the
  // real path becomes the hardlink.
  CHECK(m["env/lib/alias"]->type == EntryType::kDir);
  CHECK(m["env/lib/alias"]->was_link_to() == "real");
  CHECK(m["env/lib/alias/x.py"]->type == EntryType::kFile);
  CHECK(m["env/lib/real/x.py"]->type == EntryType::kHardlink);
  CHECK(m["env/lib/real/x.py"]->link_target() == "env/lib/alias/x.py");
  for (const auto& e : r.entries) CHECK(e.path.rfind("env", 0) == 0);
}

TEST_CASE("walk: a directory loop stops with the link and its target named, or is skipped", "[walk]") {
  TempDir t;
  std::string root = t / "env";
  test::make_file(root + "/lib/a/f", "f");
  fs::create_directory_symlink("../..", root + "/lib/a/up");
  std::string err = error_of(root);
  CHECK_THAT(err, Catch::Contains(root + "/lib/a/up"));
  CHECK_THAT(err, Catch::Contains("'../..'"));
  CHECK_THAT(err, Catch::Contains("directory loop"));

  WalkResult r = walk_tree(root, "env", {.skip_broken_links = true});
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].path == "env/lib/a/up");
  CHECK_THAT(r.skipped[0].reason, Catch::Contains("'../..'"));
  CHECK(by_path(r).count("env/lib/a/f") == 1);
  CHECK(by_path(r).count("env/lib/a/up") == 0);
}

TEST_CASE("walk: a link to an ancestor outside the tree (such as /) is a loop too", "[walk]") {
  TempDir t;
  std::string root = t / "env";
  fs::create_directories(root);
  fs::create_directory_symlink("/", root + "/rootfs");
  std::string err = error_of(root);
  CHECK_THAT(err, Catch::Contains("rootfs"));
  CHECK_THAT(err, Catch::Contains("directory loop"));
}

TEST_CASE("walk: dangling links and loops of links stop the walk, or are skipped and recorded", "[walk]") {
  TempDir t;
  std::string root = t / "env";
  test::make_file(root + "/ok", "ok");
  fs::create_symlink(t / "gone/libz.so", root + "/dangling");
  std::string err = error_of(root);
  CHECK_THAT(err, Catch::Contains(root + "/dangling"));
  CHECK_THAT(err, Catch::Contains("dangling symbolic link to '" + t / "gone/libz.so" + "'"));

  fs::remove(root + "/dangling");
  fs::create_symlink("self", root + "/self");
  CHECK_THAT(error_of(root), Catch::Contains("'self'") && Catch::Contains("loop of symbolic links"));

  fs::create_symlink("nowhere", root + "/dangling");
  WalkResult r = walk_tree(root, "env", {.skip_broken_links = true});
  REQUIRE(r.skipped.size() == 2);
  CHECK(r.skipped[0].path == "env/dangling");
  CHECK(r.skipped[0].source == root + "/dangling");
  CHECK_THAT(r.skipped[0].reason, Catch::Contains("'nowhere'"));
  CHECK(r.skipped[1].path == "env/self");
  CHECK(paths(r) == std::vector<std::string>{"env", "env/ok"});
}

TEST_CASE("walk: fifos (and other special files) are refused by path, or skipped", "[walk]") {
  TempDir t;
  std::string root = t / "env";
  fs::create_directories(root);
  REQUIRE(::mkfifo((root + "/pipe").c_str(), 0600) == 0);
  std::string err = error_of(root);
  CHECK_THAT(err, Catch::Contains(root + "/pipe") && Catch::Contains("fifo"));
  WalkResult r = walk_tree(root, "env", {.skip_broken_links = true});
  REQUIRE(r.skipped.size() == 1);
  CHECK_THAT(r.skipped[0].reason, Catch::Contains("fifo"));
}

TEST_CASE("walk: unreadable files are refused by path, or skipped", "[walk]") {
  if (::geteuid() == 0) {
    WARN("running as root: every file is readable, nothing to check");
    return;
  }
  TempDir t;
  std::string root = t / "env";
  test::make_file(root + "/secret", "s", 0000);
  CHECK_THAT(error_of(root), Catch::Contains(root + "/secret") && Catch::Contains("cannot read"));
  WalkResult r = walk_tree(root, "env", {.skip_broken_links = true});
  CHECK(r.skipped.size() == 1);
  CHECK(r.files == 0);
}

TEST_CASE("walk: setuid, setgid and sticky bits are dropped with a warning", "[walk]") {
  TempDir t;
  std::string root = t / "env";
  test::make_file(root + "/bin/suid", "x", 0755);
  REQUIRE(::chmod((root + "/bin/suid").c_str(), 04755) == 0);
  fs::create_directories(root + "/tmp");
  REQUIRE(::chmod((root + "/tmp").c_str(), 01777) == 0);
  WalkResult r = walk_tree(root, "env");
  auto m = by_path(r);
  CHECK(m["env/bin/suid"]->mode == 0755);
  CHECK(m["env/tmp"]->mode == 0777);
  REQUIRE(r.warnings.size() == 2);
  CHECK_THAT(r.warnings[0], Catch::Contains("suid") && Catch::Contains("4755"));
}

TEST_CASE("walk: one walker over env and wheels links a file met in both", "[walk]") {
  TempDir t;
  test::make_file(t / "env/lib/six.py", "six");
  test::make_file(t / "wheels/six-1.16.0-py2.py3-none-any.whl", "PK");
  fs::create_symlink(t / "env/lib/six.py", t / "wheels/six.py");
  Walker w({});
  w.walk(t / "env", "env");
  w.walk(t / "wheels", "wheels");
  WalkResult r = w.take();
  auto m = by_path(r);
  CHECK(m["wheels"]->type == EntryType::kDir);
  CHECK(m["wheels/six-1.16.0-py2.py3-none-any.whl"]->type == EntryType::kFile);
  CHECK(m["wheels/six.py"]->type == EntryType::kHardlink);
  CHECK(m["wheels/six.py"]->link_target() == "env/lib/six.py");
  CHECK(r.files == 2);
}

TEST_CASE("walk: the root may itself be a symlink", "[walk]") {
  TempDir t;
  test::make_file(t / "real/f", "f");
  fs::create_directory_symlink(t / "real", t / "link");
  WalkResult r = walk_tree(t / "link", "env");
  CHECK(paths(r) == std::vector<std::string>{"env", "env/f"});
  CHECK(test::slurp(r.entries[1].source()) == "f");
}
