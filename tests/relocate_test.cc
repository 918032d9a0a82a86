#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "packer/stream/environment.h"
#include "packer/stream/relocate.h"
#include "tests/elf_fixture.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::packer;
using airlock::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string readelf_d(const std::string& path) { return test::run("readelf -d " + test::sh_quote(path)).out; }

PrefixScanner scan_of(const std::string& data, std::vector<std::string> needles, size_t chunk) {
  PrefixScanner s(std::move(needles));
  for (size_t i = 0; i < data.size(); i += chunk) s.feed(bytes(data).subspan(i, std::min(chunk, data.size() - i)));
  return s;
}

std::string python_prefix() {
  if (const char* p = std::getenv("AIRLOCK_TEST_PYTHON"); p && *p) return p;
  auto r = test::run("pyenv root");
  std::string root = r.exit_code == 0 ? r.out.substr(0, r.out.find('\n')) : "";
  if (root.empty()) root = std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.pyenv";
  return root + "/versions/3.12.1";
}

}  // namespace

TEST_CASE("relocate: search path entries inside the prefix become $ORIGIN-relative", "[relocate]") {
  std::vector<std::string> p = {"/opt/env", "/home/u/env"};
  CHECK(relocate_search_path("/opt/env/lib", "bin/python3.12", p) == "$ORIGIN/../lib");
  CHECK(relocate_search_path("/opt/env/lib", "lib/libx.so", p) == "$ORIGIN");
  CHECK(relocate_search_path("/opt/env/lib/", "lib/python3.12/lib-dynload/_ssl.so", p) == "$ORIGIN/../..");
  CHECK(relocate_search_path("/opt/env", "bin/x", p) == "$ORIGIN/..");
  CHECK(relocate_search_path("/opt/env/lib/../lib64", "bin/x", p) == "$ORIGIN/../lib64");
  CHECK(relocate_search_path("/home/u/env/lib", "x", p) == "$ORIGIN/lib");
  CHECK(relocate_search_path("/usr/lib:/opt/env/lib:$ORIGIN/foo::rel", "bin/a", p) ==
        "/usr/lib:$ORIGIN/../lib:$ORIGIN/foo::rel");
  // A sibling whose name merely starts with the prefix is outside.
  CHECK(relocate_search_path("/opt/env2/lib", "bin/a", p) == "/opt/env2/lib");
  CHECK(relocate_search_path("/opt", "bin/a", p) == "/opt");
  // "/" is never taken for the environment.
  CHECK(relocate_search_path("/usr/lib", "bin/a", {"/"}) == "/usr/lib");
}

TEST_CASE("relocate: patched RUNPATH program still runs after its directory moved", "[relocate]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--enable-new-dtags");
  std::string original = test::slurp(f.app);
  std::vector<uint8_t> b(original.begin(), original.end());
  auto patch = plan_elf_patch("bin/app", b, {f.prefix}, f.app);
  REQUIRE(patch);
  REQUIRE(patch->edits.size() == 1);
  CHECK(patch->edits[0].tag == "RUNPATH");
  CHECK(patch->edits[0].old_value == f.prefix + "/lib");
  CHECK(patch->edits[0].new_value == "$ORIGIN/../lib");
  patch->apply(b);
  CHECK(test::slurp(f.app) == original);  // the source is never modified
  CHECK(b.size() == original.size());

  fs::rename(f.prefix, t / "moved");
  std::string moved_app = t / "moved/bin/app";
  auto before = test::run("env -u LD_LIBRARY_PATH " + test::sh_quote(moved_app));
  CHECK(before.exit_code != 0);
  CHECK_THAT(before.err, Catch::Contains("libfoo.so"));

  test::spit_bytes(moved_app, b);
  CHECK_THAT(readelf_d(moved_app), Catch::Contains("Library runpath: [$ORIGIN/../lib]"));
  CHECK_THAT(readelf_d(moved_app), !Catch::Contains(f.prefix));
  auto after = test::run("env -u LD_LIBRARY_PATH " + test::sh_quote(moved_app));
  INFO(after.err);
  CHECK(after.exit_code == 0);
  CHECK(after.out == "foo=42\n");
}

TEST_CASE("relocate: patched RPATH (old dtags) keeps its tag and runs after a move", "[relocate]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--disable-new-dtags", "/usr/local/lib:" + t / "prefix/lib");
  auto b = test::slurp_bytes(f.app);
  auto patch = plan_elf_patch("bin/app", b, {f.prefix}, f.app);
  REQUIRE(patch);
  CHECK(patch->edits[0].tag == "RPATH");
  CHECK(patch->edits[0].new_value == "/usr/local/lib:$ORIGIN/../lib");
  patch->apply(b);
  fs::rename(f.prefix, t / "moved");
  test::spit_bytes(t / "moved/bin/app", b);
  CHECK_THAT(readelf_d(t / "moved/bin/app"), Catch::Contains("Library rpath: [/usr/local/lib:$ORIGIN/../lib]"));
  CHECK(test::run(test::sh_quote(t / "moved/bin/app")).out == "foo=42\n");
}

TEST_CASE("relocate: nothing to plan for outside entries and non-ELF data", "[relocate]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--enable-new-dtags", "/usr/lib/elsewhere");
  auto b = test::slurp_bytes(f.app);
  CHECK_FALSE(plan_elf_patch("bin/app", b, {f.prefix}, f.app));
  CHECK_FALSE(plan_elf_patch("bin/app", test::slurp_bytes(f.lib), {f.prefix}, f.lib));  // no RUNPATH
  CHECK_FALSE(plan_elf_patch("bin/pip", bytes(std::string("#!" + f.prefix + "/bin/python\n")), {f.prefix}, "pip"));
  std::string elf32 = std::string("\x7f" "ELF\x01\x01\x01", 7) + std::string(60, '\0');
  CHECK_FALSE(plan_elf_patch("lib/x.so", bytes(elf32), {f.prefix}, "x.so"));  // unsupported: skipped
}

TEST_CASE("relocate: a relocated RUNPATH that does not fit is refused cleanly", "[relocate]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--enable-new-dtags", t / "prefix");
  auto b = test::slurp_bytes(f.app);
  std::string deep = "a/b/c/d/e/f/g/h/i/j/k/l/m/n/app";
  try {
    plan_elf_patch(deep, b, {f.prefix}, "env/" + deep);
    FAIL("planned a patch that cannot fit");
  } catch (const elf::ElfRewriteError& e) {
    CHECK_THAT(e.what(), Catch::Contains("env/" + deep) && Catch::Contains("'" + f.prefix + "'") &&
                             Catch::Contains("'$ORIGIN/../../../../../../../../../../../../../..'"));
  }
}

TEST_CASE("relocate: the prefix scanner finds needles across every chunk boundary", "[relocate]") {
  const std::string needle = "/root/.pyenv/versions/3.12.1";
  for (size_t pos : {0ul, 1ul, 5ul, 100ul, 4090ul}) {
    std::string data = std::string(pos, 'x') + needle + std::string(37, 'y');
    for (size_t chunk : {1ul, 2ul, 3ul, 7ul, 27ul, 28ul, 29ul, 64ul, 4096ul}) {
      INFO("pos " << pos << " chunk " << chunk);
      auto s = scan_of(data, {needle}, chunk);
      CHECK(s.found());
      CHECK(s.bytes_fed() == data.size());
    }
  }
  std::string near_miss = "x" + needle.substr(0, needle.size() - 1) + "Z" + needle.substr(1);
  for (size_t chunk : {1ul, 5ul, 28ul, 1000ul}) CHECK_FALSE(scan_of(near_miss, {needle}, chunk).found());

  auto two = scan_of("aaa /home/u/env/bin bbb", {"/opt/env", "/home/u/env"}, 3);
  CHECK(two.found_needles() == std::vector<std::string>{"/home/u/env"});
  PrefixScanner s({"/p"});
  s.feed(bytes(std::string("x/p")));
  CHECK(s.found());
  s.reset();
  CHECK_FALSE(s.found());
  s.feed(bytes(std::string("/")));
  s.feed(bytes(std::string("q")));
  CHECK_FALSE(s.found());
}

TEST_CASE("relocate: text, binary or nothing for the manifest's relocate list", "[relocate]") {
  const std::string p = "/opt/env";
  auto mode = [&](const std::string& path, const std::string& data) {
    return relocation_mode(path, scan_of(data, {p}, 4096));
  };
  CHECK(mode("env/bin/pip3", "#!/opt/env/bin/python3.12\nimport pip\n") == RelocateMode::kText);
  CHECK(mode("env/lib/site.pth", "/opt/env/lib/extra\n") == RelocateMode::kText);
  CHECK(mode("env/share/data.bin", std::string("\0\1\2/opt/env/share\0", 18)) == RelocateMode::kBinary);
  // A NUL only after the first 8 KiB still counts as text.
  CHECK(mode("env/share/x", "/opt/env" + std::string(9000, 'a') + std::string(1, '\0')) == RelocateMode::kText);
  // A known text kind wins over a stray NUL.
  CHECK(mode("env/lib/x.py", std::string("a\0b /opt/env", 12)) == RelocateMode::kText);
  CHECK_FALSE(mode("env/bin/pip3", "#!/usr/bin/env python3\n"));
  CHECK_FALSE(mode("env/lib/__pycache__/x.cpython-312.pyc", std::string("\xcb\r\r\n\0\0/opt/env/lib/x.py", 22)));
  CHECK_FALSE(mode("env/lib/libx.so", std::string("\x7f" "ELF\x02\x01\x01\0/opt/env", 16)));
  // Bytecode and static archives are never listed (see relocation_mode).
  CHECK_FALSE(mode("env/lib/python3.12/__pycache__/os.cpython-312.pyc", std::string("\xcb\r\r\n\0\0/opt/env/x.py", 19)));
  CHECK_FALSE(mode("env/lib/libpython3.12.a", std::string("!<arch>\n\0/opt/env/include", 25)));
}

TEST_CASE("relocate: the real python3.12 RUNPATH is planned as $ORIGIN/../lib", "[relocate]") {
  std::string prefix = python_prefix();
  if (!fs::exists(prefix + "/bin/python3.12")) {
    const char* req = std::getenv("AIRLOCK_REQUIRE_PYTHON");
    if (req && std::string(req) == "1") FAIL("AIRLOCK_REQUIRE_PYTHON=1 but no Python 3.12 prefix at " + prefix);
    WARN("skipped: no Python 3.12 prefix at " + prefix + " (set AIRLOCK_TEST_PYTHON)");
    return;
  }
  Environment env = inspect_environment(prefix);
  std::string path = env.prefix + "/" + env.interpreter;
  auto b = test::slurp_bytes(path);
  auto patch = plan_elf_patch(env.interpreter, b, env.prefix_strings, path);
  REQUIRE(patch);
  REQUIRE(patch->edits.size() == 1);
  CHECK(patch->edits[0].old_value == env.prefix + "/lib");
  CHECK(patch->edits[0].new_value == "$ORIGIN/../lib");
  patch->apply(b);
  // The packed copy must not name the build prefix any more.
  PrefixScanner scan(env.prefix_strings);
  scan.feed(b);
  CHECK_FALSE(scan.found());
  CHECK(scan.is_elf());

  // And it runs from elsewhere with libpython beside it.
  TempDir t;
  fs::create_directories(t / "p/bin");
  fs::create_directories(t / "p/lib");
  test::spit_bytes(t / "p/bin/python3.12", b);
  fs::permissions(t / "p/bin/python3.12", fs::perms::owner_all);
  fs::copy_file(env.prefix + "/lib/libpython3.12.so.1.0", t / "p/lib/libpython3.12.so.1.0");
  CHECK_THAT(readelf_d(t / "p/bin/python3.12"), Catch::Contains("Library runpath: [$ORIGIN/../lib]"));
  auto r = test::run("LD_DEBUG=libs " + test::sh_quote(t / "p/bin/python3.12") + " -c 'print(6*7)'");
  CHECK(r.out == "42\n");
  CHECK_THAT(r.err, Catch::Contains(t / "p/bin/../lib/libpython3.12.so.1.0"));
}

TEST_CASE("relocate: the streaming patch gives the same bytes for any chunking", "[relocate]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--enable-new-dtags");
  auto whole = test::slurp_bytes(f.app);
  auto patch = plan_elf_patch_file("bin/app", f.app, {f.prefix});
  REQUIRE(patch);
  auto expect = whole;
  patch->apply(expect);
  CHECK(expect != whole);
  for (size_t chunk : {1ul, 3ul, 7ul, 64ul, 4096ul, 1ul << 20}) {
    INFO("chunk " << chunk);
    std::vector<uint8_t> out;
    for (size_t off = 0; off < whole.size(); off += chunk) {
      std::vector<uint8_t> c(whole.begin() + static_cast<long>(off),
                             whole.begin() + static_cast<long>(std::min(whole.size(), off + chunk)));
      patch->apply_at(off, c);
      out.insert(out.end(), c.begin(), c.end());
    }
    CHECK(out == expect);
  }
  // Bytes that are no longer the planned string are refused.
  auto changed = expect;
  CHECK_THROWS_AS(patch->apply_at(0, changed), elf::ElfRewriteError);
  CHECK_FALSE(plan_elf_patch_file("bin/x", t / "main.c", {f.prefix}));  // not ELF
}
