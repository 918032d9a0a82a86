#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "common/elf/elf.h"
#include "common/elf/format.h"
#include "tests/elf_fixture.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::elf;
using airlock::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string readelf_d(const std::string& path) { return test::run("readelf -d " + test::sh_quote(path)).out; }

std::span<const uint8_t> bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// File offset of the first dynamic entry with `tag` (via the program headers).
size_t dyn_entry_offset(const std::vector<uint8_t>& f, int64_t tag) {
  format::Ehdr eh;
  std::memcpy(&eh, f.data(), sizeof eh);
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    format::Phdr ph;
    std::memcpy(&ph, f.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type != format::kPtDynamic) continue;
    for (size_t off = ph.p_offset; off < ph.p_offset + ph.p_filesz; off += sizeof(format::Dyn)) {
      format::Dyn d;
      std::memcpy(&d, f.data() + off, sizeof d);
      if (d.d_tag == tag) return off;
    }
  }
  FAIL("no dynamic entry with tag " << tag);
  return 0;
}

}  // namespace

TEST_CASE("elf: probe tells ELF64 LE from other ELF flavours and non-ELF", "[elf]") {
  std::string e64 = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(9, '\0');
  CHECK(probe(bytes(e64)).kind == Kind::kElf64Le);
  std::string e32 = e64;
  e32[4] = 1;
  CHECK(probe(bytes(e32)).kind == Kind::kUnsupported);
  CHECK_THAT(probe(bytes(e32)).reason, Catch::Contains("32-bit"));
  std::string be = e64;
  be[5] = 2;
  CHECK_THAT(probe(bytes(be)).reason, Catch::Contains("big-endian"));
  CHECK(probe(bytes(std::string("#!/bin/sh\n"))).kind == Kind::kNotElf);
  CHECK(probe(bytes(std::string("\x7f" "EL"))).kind == Kind::kNotElf);
  CHECK(probe(bytes(std::string("\x7f" "ELF\x02", 5))).kind == Kind::kUnsupported);
  CHECK(has_elf_magic(bytes(e32)));
  // read_dynamic refuses the unsupported ones with the reason.
  CHECK_THROWS_WITH(read_dynamic(bytes(be), "be.so"), Catch::Contains("be.so") && Catch::Contains("big-endian"));
}

TEST_CASE("elf: reads DT_NEEDED, DT_RUNPATH and DT_SONAME of gcc-built files", "[elf]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--enable-new-dtags");
  DynamicInfo app = read_dynamic_file(f.app);
  CHECK(app.has_dynamic);
  CHECK(std::find(app.needed.begin(), app.needed.end(), "libfoo.so") != app.needed.end());
  CHECK(std::find(app.needed.begin(), app.needed.end(), "libc.so.6") != app.needed.end());
  REQUIRE(app.runpath);
  CHECK(app.runpath->value == f.prefix + "/lib");
  CHECK_FALSE(app.rpath);
  // The offset points at the string's bytes in the file.
  std::string whole = test::slurp(f.app);
  CHECK(whole.compare(app.runpath->file_offset, app.runpath->value.size() + 1,
                      std::string(app.runpath->value.c_str(), app.runpath->value.size() + 1)) == 0);

  DynamicInfo lib = read_dynamic(bytes(test::slurp(f.lib)), f.lib);
  REQUIRE(lib.soname);
  CHECK(*lib.soname == "libfoo.so");

  // Same answers from memory and from pread.
  DynamicInfo mem = read_dynamic(bytes(whole), f.app);
  CHECK(mem.needed == app.needed);
  CHECK(mem.runpath->file_offset == app.runpath->file_offset);
  CHECK(mem.string_refs == app.string_refs);
}

TEST_CASE("elf: DT_RPATH from --disable-new-dtags", "[elf]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--disable-new-dtags");
  DynamicInfo app = read_dynamic_file(f.app);
  REQUIRE(app.rpath);
  CHECK(app.rpath->value == f.prefix + "/lib");
  CHECK_FALSE(app.runpath);
}

TEST_CASE("elf: the string table is found through PT_DYNAMIC without section headers", "[elf]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--enable-new-dtags");
  auto b = test::slurp_bytes(f.app);
  format::Ehdr eh;
  std::memcpy(&eh, b.data(), sizeof eh);
  // Wipe the section header table and the header's pointers to it.
  REQUIRE(eh.e_shoff + eh.e_shnum * sizeof(format::Shdr) <= b.size());
  std::memset(b.data() + eh.e_shoff, 0, eh.e_shnum * sizeof(format::Shdr));
  eh.e_shoff = 0;
  eh.e_shnum = 0;
  eh.e_shstrndx = 0;
  std::memcpy(b.data(), &eh, sizeof eh);
  DynamicInfo info = read_dynamic(b, "stripped");
  REQUIRE(info.runpath);
  CHECK(info.runpath->value == f.prefix + "/lib");
  test::spit_bytes(t / "stripped", b);
  CHECK_THAT(readelf_d(t / "stripped"), Catch::Contains(f.prefix + "/lib"));
}

TEST_CASE("elf: rewriting RUNPATH in place, in memory and with pwrite", "[elf]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--enable-new-dtags");
  auto b = test::slurp_bytes(f.app);
  DynamicInfo info = read_dynamic(b, f.app);
  REQUIRE(info.runpath);
  rewrite_string(b, info, *info.runpath, "$ORIGIN/../lib", "RUNPATH", f.app);
  CHECK(b.size() == fs::file_size(f.app));
  test::spit_bytes(t / "patched", b);
  CHECK_THAT(readelf_d(t / "patched"), Catch::Contains("Library runpath: [$ORIGIN/../lib]"));
  CHECK(read_dynamic(b, "patched").runpath->value == "$ORIGIN/../lib");
  // The buffer no longer holds the old string: applying again is refused.
  CHECK_THROWS_AS(rewrite_string(b, info, *info.runpath, "$ORIGIN", "RUNPATH", f.app), ElfRewriteError);

  rewrite_string_file(f.app, info, *info.runpath, "$ORIGIN/../lib", "RUNPATH");
  CHECK(test::slurp(f.app) == test::slurp(t / "patched"));
}

TEST_CASE("elf: a new value that does not fit is refused naming the file and both strings", "[elf]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--enable-new-dtags", "/short");
  auto b = test::slurp_bytes(f.app);
  auto before = b;
  DynamicInfo info = read_dynamic(b, f.app);
  REQUIRE(info.runpath->value == "/short");
  try {
    rewrite_string(b, info, *info.runpath, "$ORIGIN/../lib", "RUNPATH", f.app);
    FAIL("accepted a longer string");
  } catch (const ElfRewriteError& e) {
    CHECK_THAT(e.what(), Catch::Contains(f.app) && Catch::Contains("RUNPATH") && Catch::Contains("'/short'") &&
                             Catch::Contains("'$ORIGIN/../lib'") && Catch::Contains("longer"));
    CHECK(e.old_value() == "/short");
    CHECK(e.new_value() == "$ORIGIN/../lib");
  }
  CHECK(b == before);
  CHECK_THROWS_AS(rewrite_string_file(f.app, info, *info.runpath, "/much/longer/path", "RUNPATH"), ElfRewriteError);
  CHECK(test::slurp_bytes(f.app) == before);
}

TEST_CASE("elf: a string whose tail is another string is not rewritten", "[elf]") {
  DynamicInfo info;
  info.strtab_offset = 100;
  info.strtab_size = 64;
  DynString old{"/env/lib", 10, 110};
  info.string_refs = {1, 10, 15};  // 15 is "lib", the tail of "/env/lib"
  CHECK_THROWS_WITH(check_rewrite(info, old, "$ORIGIN", "RPATH", "x.so"), Catch::Contains("shares its bytes"));
  info.string_refs = {1, 10, 18};  // the empty string at its NUL is unaffected
  CHECK_NOTHROW(check_rewrite(info, old, "$ORIGIN", "RPATH", "x.so"));
}

TEST_CASE("elf: object files have no dynamic section", "[elf]") {
  TempDir t;
  test::spit(t / "o.c", "int x(void) { return 1; }\n");
  REQUIRE(test::run("gcc -c -o " + test::sh_quote(t / "o.o") + " " + test::sh_quote(t / "o.c")).exit_code == 0);
  DynamicInfo info = read_dynamic_file(t / "o.o");
  CHECK_FALSE(info.has_dynamic);
  CHECK_FALSE(info.runpath);
}

TEST_CASE("elf: malformed files are errors naming the file, never crashes", "[elf]") {
  TempDir t;
  auto f = test::build_elf_fixture(t.str(), "--enable-new-dtags");
  auto good = test::slurp_bytes(f.app);

  // Every truncation either parses (the tables lie before the cut) or is an
  // ElfError; none reads out of bounds (run under ASan to be sure).
  for (size_t cut = 0; cut < good.size(); cut += 97) {
    std::vector<uint8_t> b(good.begin(), good.begin() + static_cast<long>(cut));
    try {
      read_dynamic(b, "cut");
    } catch (const ElfError& e) {
      CHECK_THAT(e.what(), Catch::Contains("cut"));
    }
  }

  auto b = good;
  size_t strtab = dyn_entry_offset(b, format::kDtStrtab);
  uint64_t bogus = 0x7fff'0000'0000ull;
  std::memcpy(b.data() + strtab + 8, &bogus, 8);
  CHECK_THROWS_WITH(read_dynamic(b, "bad-strtab"), Catch::Contains("bad-strtab") && Catch::Contains("no PT_LOAD"));

  b = good;
  size_t runpath = dyn_entry_offset(b, format::kDtRunpath);
  uint64_t far = 1u << 30;
  std::memcpy(b.data() + runpath + 8, &far, 8);
  CHECK_THROWS_WITH(read_dynamic(b, "bad-runpath"), Catch::Contains("DT_RUNPATH") && Catch::Contains("outside"));

  b = good;
  format::Ehdr eh;
  std::memcpy(&eh, b.data(), sizeof eh);
  eh.e_phoff = b.size() - 10;
  std::memcpy(b.data(), &eh, sizeof eh);
  CHECK_THROWS_WITH(read_dynamic(b, "bad-phoff"), Catch::Contains("program headers") && Catch::Contains("beyond"));
}
