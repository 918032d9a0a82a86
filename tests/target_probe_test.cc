// unpacker probe against fake system trees (--root) built with gcc.
#include <catch2/catch.hpp>
#include <filesystem>

#include "common/error.h"
#include "common/target/probe_file.h"
#include "tests/support.h"
#include "unpacker/runtime/probe.h"

using namespace airlock;
using namespace airlock::unpacker;
namespace fs = std::filesystem;

namespace {

// A shared library without the C library: `soname` ("" for none), and one
// exported function per symbol version, in order.
void build_lib(const std::string& dir, const std::string& path, const std::string& soname,
               const std::vector<std::string>& versions, const std::string& extra_c = {}) {
  fs::create_directories(fs::path(path).parent_path());
  std::string c, map, prev;
  for (size_t i = 0; i < versions.size(); ++i) {
    c += "int f" + std::to_string(i) + "(void) { return " + std::to_string(i) + "; }\n";
    map += versions[i] + " { global: f" + std::to_string(i) + ";" + (i == 0 ? " local: *;" : "") + " }" +
           (prev.empty() ? "" : " " + prev) + ";\n";
    prev = versions[i];
  }
  if (versions.empty()) c = "int f(void) { return 0; }\n";
  c += extra_c;
  test::spit(dir + "/x.c", c);
  test::spit(dir + "/x.map", map);
  std::string cmd = "gcc -shared -fPIC -nostdlib -o " + test::sh_quote(path) + " " + test::sh_quote(dir + "/x.c");
  if (!soname.empty()) cmd += " -Wl,-soname," + soname;
  if (!versions.empty()) cmd += " -Wl,--version-script=" + test::sh_quote(dir + "/x.map");
  auto r = test::run(cmd);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// A small Debian-like tree: merged /usr, libc in the multiarch directory,
// the loader reached through an absolute link in /lib64, an extra library
// directory named by an included ld.so.conf file, and traps.
std::string build_tree(const test::TempDir& d) {
  std::string r = d / "root";
  std::string ma = r + "/usr/lib/x86_64-linux-gnu";
  test::make_symlink("usr/lib", r + "/lib");
  build_lib(d.str(), ma + "/libc.so.6", "libc.so.6", {"GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.31", "GLIBC_PRIVATE"});
  build_lib(d.str(), ma + "/ld-linux-x86-64.so.2", "ld-linux-x86-64.so.2", {"GLIBC_2.2.5", "GLIBC_2.3"});
  test::make_symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", r + "/lib64/ld-linux-x86-64.so.2");
  test::make_file(ma + "/libc.so", "/* GNU ld script */\nGROUP ( /lib/x86_64-linux-gnu/libc.so.6 )\n");
  build_lib(d.str(), r + "/opt/extra/lib/libextra.so.1.2.3", "libextra.so.1", {"EXTRA_1.0"});
  test::make_symlink("libextra.so.1.2.3", r + "/opt/extra/lib/libextra.so.1");
  test::make_symlink("libextra.so.1", r + "/opt/extra/lib/libextra.so");
  build_lib(d.str(), r + "/usr/lib/libplain.so", "", {});
  // An x86-64 shared object whose program headers lie past its end.
  std::string broken = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(57, '\0');
  broken[16] = 3, broken[18] = 62, broken[32] = 64, broken[54] = 56, broken[56] = 1;
  test::make_file(r + "/usr/lib/libbroken.so.1", broken);
  // This machine's libz, which the tree does not have: never read.
  test::make_symlink("/lib/x86_64-linux-gnu/libz.so.1", r + "/usr/lib/libz.so.1");
  test::make_file(r + "/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
  test::make_file(r + "/etc/ld.so.conf.d/extra.conf", "/opt/extra/lib\n");
  test::make_file(r + "/usr/lib/os-release", "NAME=Fake\nPRETTY_NAME=\"Fake \\\"GNU\\\"/Linux 1 (test)\"\n");
  test::make_symlink("../usr/lib/os-release", r + "/etc/os-release");
  return r;
}

const ProbeHost kHost{"node7", "5.10.0-28-amd64", "x86_64", 0};

std::string lines(const target::ProbeFile& p) {
  std::string s;
  for (const auto& l : p.libs) {
    s += l.soname + " " + l.path;
    for (const auto& v : l.versions) s += " " + v;
    s += "\n";
  }
  return s;
}

constexpr const char* kTreeLibs =
    "ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2 GLIBC_2.2.5 GLIBC_2.3\n"
    "libc.so.6 /lib/x86_64-linux-gnu/libc.so.6 GLIBC_2.2.5 GLIBC_2.17 GLIBC_2.31 GLIBC_PRIVATE\n"
    "libextra.so.1 /opt/extra/lib/libextra.so.1 EXTRA_1.0\n"
    "libplain.so /lib/libplain.so\n";

// Without the paths: with a cache, ldconfig's choice of directory decides them.
std::string names(const target::ProbeFile& p) {
  std::string s;
  for (const auto& l : p.libs) {
    s += l.soname;
    for (const auto& v : l.versions) s += " " + v;
    s += "\n";
  }
  return s;
}

bool has_warning(const ProbeResult& r, const std::string& part) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

}  // namespace

TEST_CASE("probe: pieces: kernel, glibc version, os-release, library names", "[target][probe]") {
  CHECK(kernel_version("5.10.0-28-amd64") == "5.10.0");
  CHECK(kernel_version("6.18.44-fc-v657") == "6.18.44");
  CHECK(kernel_version("4.18.0-513.el8.x86_64") == "4.18.0");
  CHECK(kernel_version("3.10.") == "3.10");
  CHECK(kernel_version("weird") == "");
  CHECK(highest_glibc({"GLIBC_2.2.5", "GLIBC_2.10", "GLIBC_2.9", "GLIBC_PRIVATE"}) == "2.10");
  CHECK(highest_glibc({"GLIBC_2.3.4", "GLIBC_2.3", "GLIBCXX_3.4"}) == "2.3.4");
  CHECK_FALSE(highest_glibc({"GLIBC_PRIVATE", "ZLIB_1.2.0", "GLIBC_", "GLIBC_2..3"}));
  CHECK(os_pretty_name("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\n") == "Debian GNU/Linux 11 (bullseye)");
  CHECK(os_pretty_name("PRETTY_NAME='Single $quoted'\n") == "Single $quoted");
  CHECK(os_pretty_name("PRETTY_NAME=Bare\n") == "Bare");
  CHECK(os_pretty_name("PRETTY_NAME=\"a\\\"b\\\\c\"") == "a\"b\\c");
  CHECK(os_pretty_name("NAME=x\n") == "");
  using namespace std::string_literals;
  CHECK(glibc_banner_version("\0GNU C Library (Debian GLIBC 2.31-13+deb11u11) stable release version 2.31.\0"s) == "2.31");
  CHECK(glibc_banner_version("x\0GNU C Library (GNU libc) stable release version 2.17, by Roland McGrath et al.\0"s) ==
        "2.17");
  CHECK(glibc_banner_version("GNU C Library (GNU libc) development release version 2.39.9000.\n"s) == "2.39.9000");
  CHECK_FALSE(glibc_banner_version("GNU C Library\0release version 2.31\0"s));  // two strings
  CHECK_FALSE(glibc_banner_version("some release version 2.31\0"s));
  CHECK_FALSE(glibc_banner_version("GNU C Library release version x"s));
  CHECK(looks_like_library("libz.so.1"));
  CHECK(looks_like_library("ld-linux-x86-64.so.2"));
  CHECK_FALSE(looks_like_library("python3.11"));
  CHECK_FALSE(looks_like_library("libz.a"));
}

TEST_CASE("probe: a fake tree through --root, with no ld.so.cache", "[target][probe]") {
  test::TempDir d;
  std::string r = build_tree(d);
  ProbeResult res = probe_node(r, kHost);
  const target::ProbeFile& p = res.file;
  CHECK(p.glibc == "2.31");
  CHECK(p.kernel == "5.10.0");
  CHECK(p.arch == "x86_64");
  CHECK(p.host == "node7");
  CHECK(p.created == "1970-01-01T00:00:00Z");
  CHECK(p.os == "Fake \"GNU\"/Linux 1 (test)");
  CHECK(res.libc_path == "/lib/x86_64-linux-gnu/libc.so.6");
  CHECK(lines(p) == kTreeLibs);
  CHECK(has_warning(res, "no " + r + "/etc/ld.so.cache; looking in the library directories only"));
  CHECK(has_warning(res, "/lib/x86_64-linux-gnu/libc.so.6: no 'GNU C Library ... release version' banner; the glibc "
                         "version is the highest GLIBC_2.x its libraries define (2.31)"));
  CHECK(has_warning(res, "libbroken.so.1"));
  // Nothing of the tree's location leaks into the file.
  CHECK(target::format_probe(p).find(r) == std::string::npos);
  // The same tree elsewhere says the same.
  fs::rename(r, d / "moved");
  CHECK(target::format_probe(probe_node(d / "moved", kHost).file) == target::format_probe(p));
}

TEST_CASE("probe: the tree's own ld.so.cache, and a malformed one", "[target][probe]") {
  if (test::run("ldconfig --help >/dev/null").exit_code != 0) {
    WARN("no ldconfig here");
    return;
  }
  test::TempDir d;
  std::string r = build_tree(d);
  std::string before = names(probe_node(r, kHost).file);
  auto lc = test::run("ldconfig -X -r " + test::sh_quote(r));
  INFO(lc.err);
  REQUIRE(lc.exit_code == 0);
  ProbeResult res = probe_node(r, kHost);
  CHECK_FALSE(has_warning(res, "ld.so.cache"));
  CHECK(names(res.file) == before);

  test::spit(r + "/etc/ld.so.cache", std::string("glibc-ld.so.cache1.1") + std::string(10, '\xff'));
  res = probe_node(r, kHost);
  CHECK(has_warning(res, "parsing ld.so.cache " + r + "/etc/ld.so.cache: truncated"));
  CHECK(names(res.file) == before);

  // A cache entry whose file is gone is not a library of the node.
  test::run("ldconfig -X -r " + test::sh_quote(r));
  fs::remove(r + "/opt/extra/lib/libextra.so.1.2.3");
  res = probe_node(r, kHost);
  CHECK(has_warning(res, "name files that are not there (a stale cache?)"));
  CHECK(names(res.file).find("libextra") == std::string::npos);
}

TEST_CASE("probe: no libc.so.6 is an error naming where the probe looked", "[target][probe]") {
  test::TempDir d;
  std::string r = d / "root";
  fs::create_directories(r + "/etc");
  try {
    probe_node(r, kHost);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.exit() == Exit::kUsage);
    CHECK(std::string(e.what()) == "no libc.so.6 found in " + r + "/etc/ld.so.cache, " + r + "/lib64, " + r +
                                       "/usr/lib64, " + r + "/lib/x86_64-linux-gnu, " + r +
                                       "/usr/lib/x86_64-linux-gnu, " + r + "/lib, " + r + "/usr/lib");
  }
  // A libc.so.6 that is not glibc's.
  build_lib(d.str(), r + "/lib64/libc.so.6", "libc.so.6", {});
  CHECK_THROWS_WITH(probe_node(r, kHost), Catch::Contains("libc.so.6 defines no GLIBC_2.x symbol version"));
  CHECK_THROWS_WITH(probe_node(d / "nothing", kHost), Catch::Contains("--root " + d / "nothing" + ": No such file or directory"));
}

TEST_CASE("probe: the glibc version: libc.so.6's banner, checked against glibc's symbol versions", "[target][probe]") {
  test::TempDir d;
  std::string r = build_tree(d);
  std::string libc = r + "/usr/lib/x86_64-linux-gnu/libc.so.6";
  auto with_banner = [&](const std::string& release) {
    fs::remove(libc);
    build_lib(d.str(), libc, "libc.so.6", {"GLIBC_2.2.5", "GLIBC_2.30"},
              "__attribute__((used)) static const char banner[] = \"GNU C Library (Fake GLIBC " + release +
                  "-1) stable release version " + release + ".\\n\";\n");
  };
  // glibc 2.31 as released: nothing new in libc.so.6, GLIBC_2.31 in libm.so.6.
  with_banner("2.31");
  build_lib(d.str(), r + "/usr/lib/x86_64-linux-gnu/libm.so.6", "libm.so.6", {"GLIBC_2.2.5", "GLIBC_2.31"});
  ProbeResult res = probe_node(r, kHost);
  CHECK(res.file.glibc == "2.31");
  CHECK_FALSE(has_warning(res, "banner"));
  // Without the banner the libraries' versions speak: libm's 2.31, not libc's 2.30.
  fs::remove(libc);
  build_lib(d.str(), libc, "libc.so.6", {"GLIBC_2.2.5", "GLIBC_2.30"});
  CHECK(probe_node(r, kHost).file.glibc == "2.31");
  // A banner older than the versions the libraries define is not believed.
  with_banner("2.20");
  res = probe_node(r, kHost);
  CHECK(res.file.glibc == "2.31");
  CHECK(has_warning(res, "its banner says release 2.20 but glibc's libraries define GLIBC_2.31; taking 2.31"));
  // A newer banner is: a release may add no symbol at all.
  with_banner("2.37");
  CHECK(probe_node(r, kHost).file.glibc == "2.37");
}
