#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "common/error.h"
#include "common/target/ld_so_conf.h"
#include "common/target/node_root.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::target;
namespace fs = std::filesystem;

TEST_CASE("node root: links resolve inside the tree, never out of it", "[target][node_root]") {
  test::TempDir d;
  std::string r = d / "root";
  test::make_file(r + "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13", "z");
  test::make_symlink("usr/lib", r + "/lib");
  test::make_symlink("libz.so.1.2.13", r + "/usr/lib/x86_64-linux-gnu/libz.so.1");
  test::make_symlink("/lib/x86_64-linux-gnu/libz.so.1", r + "/lib64/libz.so.1");  // absolute: the tree's /lib
  test::make_symlink("../../../../../../../../usr/lib/x86_64-linux-gnu/libz.so.1", r + "/opt/up.so");
  test::make_symlink("/etc/hostname", r + "/opt/host.so");  // this machine has one, the tree does not
  test::make_symlink("loop2", r + "/opt/loop1");
  test::make_symlink("loop1", r + "/opt/loop2");
  NodeRoot root(r + "/");
  CHECK(root.dir() == r);
  CHECK(root.resolve("/lib64/libz.so.1") == "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
  CHECK(root.resolve("/lib/x86_64-linux-gnu/./libz.so.1") == "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
  CHECK(root.resolve("/opt/up.so") == "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
  CHECK(root.resolve("/../../lib64/libz.so.1") == "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
  CHECK(root.resolve("/") == "/");
  CHECK_FALSE(root.resolve("/opt/host.so"));
  CHECK_FALSE(root.resolve("/opt/loop1"));
  CHECK_FALSE(root.resolve("/opt/missing"));
  CHECK_FALSE(root.resolve("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13/x"));  // a file is not a directory
  CHECK(root.read("/lib64/libz.so.1", 10) == "z");
  CHECK_FALSE(root.read("/opt/host.so", 100));
  CHECK(root.list("/lib/x86_64-linux-gnu") == std::vector<std::string>{"libz.so.1", "libz.so.1.2.13"});
  CHECK_FALSE(root.list("/lib64/libz.so.1"));
  CHECK(NodeRoot("/").dir().empty());
  CHECK(NodeRoot("/").resolve(r + "/lib/x86_64-linux-gnu/libz.so.1") ==
        fs::canonical(r).string() + "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
}

TEST_CASE("node root: reads are capped and refuse what is not a regular file", "[target][node_root]") {
  test::TempDir d;
  test::make_file(d / "big", std::string(100, 'x'));
  REQUIRE(::mkfifo((d / "fifo").c_str(), 0600) == 0);
  NodeRoot root(d.str());
  CHECK_THROWS_WITH(root.read("/big", 99), Catch::Contains("100 bytes, more than the 99 expected of it"));
  CHECK(root.read("/big", 100)->size() == 100);
  CHECK_THROWS_WITH(root.read("/fifo", 100), Catch::Contains("not a regular file"));
  CHECK_THROWS_WITH(root.read("/", 100), Catch::Contains("not a regular file"));
}

TEST_CASE("ld.so.conf: directories, comments and include globs, as ldconfig reads them", "[target][node_root]") {
  test::TempDir d;
  std::string r = d / "root";
  test::make_file(r + "/etc/ld.so.conf",
         "# comment\n"
         "include /etc/ld.so.conf.d/*.conf\n"
         "/usr/local/lib   # trailing comment\n"
         "\t/opt/a/lib/\n"
         "hwcap 1 nosegneg\n"
         "/usr/X11R6/lib=libc5\n"
         "relative/lib\n"
         "include more.d/one.conf more.d/two.conf\n"
         "/usr/local/lib\n");
  test::make_file(r + "/etc/ld.so.conf.d/b.conf", "/opt/b\n");
  test::make_file(r + "/etc/ld.so.conf.d/a.conf", "/opt/a\r\n");
  test::make_file(r + "/etc/ld.so.conf.d/.hidden.conf", "/opt/hidden\n");
  test::make_file(r + "/etc/ld.so.conf.d/c.conf.dpkg-old", "/opt/old\n");
  test::make_file(r + "/etc/more.d/one.conf", "/opt/one\n");
  test::make_file(r + "/etc/more.d/two.conf", "include ../ld.so.conf\n");  // a loop
  LdSoConf c = read_ld_so_conf(NodeRoot(r));
  CHECK(c.dirs == std::vector<std::string>{"/opt/a", "/opt/b", "/usr/local/lib", "/opt/a/lib", "/usr/X11R6/lib", "/opt/one"});
  INFO(Catch::Detail::stringify(c.warnings));
  REQUIRE(c.warnings.size() == 2);
  CHECK(c.warnings[0] == "/etc/ld.so.conf:7: ignoring the relative directory \"relative/lib\"");
  CHECK(c.warnings[1] ==
        "/etc/more.d/two.conf:1: includes /etc/ld.so.conf, which is already being read (a loop); not reading it again");
  // No file: no directories and nothing to say.
  LdSoConf none = read_ld_so_conf(NodeRoot(d / "empty"));
  CHECK(none.dirs.empty());
  CHECK(none.warnings.empty());
}
