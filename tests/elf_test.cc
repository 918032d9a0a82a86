#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>

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

namespace {

// What `readelf -V` says a file needs and defines (the base entry left
// out), to compare with on real files rather than hard-coding their lists.
struct ReadelfVersions {
  std::vector<VersionNeed> needs;
  std::vector<std::string> defs;
};

ReadelfVersions readelf_versions(const std::string& path) {
  auto r = test::run("readelf -VW " + test::sh_quote(path));
  REQUIRE(r.exit_code == 0);
  ReadelfVersions v;
  std::istringstream in(r.out);
  std::string line;
  char section = 0;
  std::smatch m;
  static const std::regex def(R"(Flags: (.*?)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+))");
  static const std::regex file(R"(File: (\S+)\s+Cnt:)");
  static const std::regex name(R"(Name: (\S+)\s+Flags:)");
  while (std::getline(in, line)) {
    if (line.find("Version definition section") != std::string::npos) section = 'd';
    else if (line.find("Version needs section") != std::string::npos) section = 'r';
    else if (line.find("Version symbols section") != std::string::npos) section = 0;
    else if (section == 'd' && std::regex_search(line, m, def) && m[1].str().find("BASE") == std::string::npos)
      v.defs.push_back(m[2]);
    else if (section == 'r' && std::regex_search(line, m, file)) v.needs.push_back({m[1], {}});
    else if (section == 'r' && std::regex_search(line, m, name) && !v.needs.empty())
      v.needs.back().versions.push_back(m[1]);
  }
  return v;
}

const VersionNeed* need_of(const DynamicInfo& info, const std::string& file) {
  for (const auto& n : info.version_needs)
    if (n.file == file) return &n;
  return nullptr;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool same_needs(const std::vector<VersionNeed>& a, const std::vector<VersionNeed>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return x.file == y.file && x.versions == y.versions; });
}

std::string to_string(const std::vector<VersionNeed>& needs) {
  std::string s;
  for (const auto& n : needs) {
    s += n.file + ":";
    for (const auto& v : n.versions) s += " " + v;
    s += "\n";
  }
  return s;
}

test::SynthSpec typical_spec() {
  test::SynthSpec spec;
  spec.interp = "/lib64/ld-linux-x86-64.so.2";
  spec.needs = {{"libm.so.6", {"GLIBC_2.29", "GLIBC_2.2.5"}},
                {"libc.so.6", {"GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.3.4"}}};
  spec.defs = {"SYNTH_1.0", "SYNTH_2.0"};
  spec.abi_tag = std::array<uint32_t, 4>{0, 3, 2, 0};
  return spec;
}

}  // namespace

TEST_CASE("elf: symbol versions, PT_INTERP and the ABI note of a hand-made file", "[elf]") {
  auto spec = typical_spec();
  spec.note_align = GENERATE(4u, 8u);
  INFO("PT_NOTE aligned to " << spec.note_align);
  auto s = test::build_synth_elf(spec);
  DynamicInfo info = read_dynamic(s.bytes, "synth");
  CHECK(info.type == format::kEtDyn);
  REQUIRE(info.interp);
  CHECK(info.interp->value == "/lib64/ld-linux-x86-64.so.2");
  CHECK(info.interp->file_offset == s.interp);
  CHECK(info.interp->size == 28);
  CHECK(info.abi_tag == "3.2.0");
  CHECK(same_needs(info.version_needs, spec.needs));
  CHECK(info.version_defs == spec.defs);  // without the base entry "libsynth.so.1"
  CHECK(info.soname == "libsynth.so.1");
  CHECK(info.needed == std::vector<std::string>{"libm.so.6", "libc.so.6"});
  // Version names are string references too (the RUNPATH sharing check).
  for (auto name : {"GLIBC_2.29", "GLIBC_2.3.4", "SYNTH_2.0", "libc.so.6"})
    CHECK(std::binary_search(info.string_refs.begin(), info.string_refs.end(), s.index_of(name)));

  // The same from a file, with pread.
  TempDir t;
  test::spit_bytes(t / "synth", s.bytes);
  DynamicInfo file = read_dynamic_file(t / "synth");
  CHECK(same_needs(file.version_needs, info.version_needs));
  CHECK(file.version_defs == info.version_defs);
  CHECK(file.abi_tag == info.abi_tag);
  CHECK(file.interp->value == info.interp->value);
}

TEST_CASE("elf: ABI notes the loader would not read are not reported", "[elf]") {
  auto spec = typical_spec();
  SECTION("another OS") {
    spec.abi_tag = std::array<uint32_t, 4>{3, 12, 0, 0};  // FreeBSD
    CHECK_FALSE(read_dynamic(test::build_synth_elf(spec).bytes, "freebsd").abi_tag);
  }
  SECTION("a segment aligned to neither 4 nor 8") {
    auto s = test::build_synth_elf(spec);
    for (size_t i = 0;; ++i) {
      auto ph = s.get<format::Phdr>(s.phdrs + i * sizeof(format::Phdr));
      if (ph.p_type != format::kPtNote) continue;
      ph.p_align = 1;
      s.put(s.phdrs + i * sizeof(format::Phdr), ph);
      break;
    }
    CHECK_FALSE(read_dynamic(s.bytes, "align1").abi_tag);
  }
  SECTION("a note running past its segment is an error") {
    auto s = test::build_synth_elf(spec);
    auto nh = s.get<format::Nhdr>(s.abi_note);
    nh.n_descsz = 1000;
    s.put(s.abi_note, nh);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "badnote"),
                      Catch::Contains("badnote") && Catch::Contains("PT_NOTE") && Catch::Contains("past the end"));
  }
}

TEST_CASE("elf: a malformed PT_INTERP is an error", "[elf]") {
  auto spec = typical_spec();
  auto s = test::build_synth_elf(spec);
  SECTION("not NUL-terminated") {
    s.bytes[s.interp + spec.interp.size()] = 'X';
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "nonul"), Catch::Contains("PT_INTERP") && Catch::Contains("NUL"));
  }
  SECTION("longer than the kernel takes") {
    auto ph = s.get<format::Phdr>(s.phdrs + sizeof(format::Phdr));
    REQUIRE(ph.p_type == format::kPtInterp);
    ph.p_filesz = 5000;
    s.put(s.phdrs + sizeof(format::Phdr), ph);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "long"), Catch::Contains("PT_INTERP of 5000 bytes"));
  }
}

TEST_CASE("elf: hostile version tables are errors, never loops or huge results", "[elf]") {
  namespace f = format;
  auto spec = typical_spec();
  auto s = test::build_synth_elf(spec);
  auto first_aux = s.verneed + sizeof(f::Verneed);

  SECTION("vn_next pointing back (offsets are unsigned: it runs forward out of the segment)") {
    auto vn = s.get<f::Verneed>(s.verneed);
    vn.vn_next = 0xfffffff0u;
    s.put(s.verneed, vn);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "cycle"), Catch::Contains("DT_VERNEED") && Catch::Contains("past the end"));
  }
  SECTION("vd_next pointing back") {
    auto vd = s.get<f::Verdef>(s.verdef);
    vd.vd_next = 0xffffffecu;
    s.put(s.verdef, vd);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "cycle"), Catch::Contains("DT_VERDEF") && Catch::Contains("past the end"));
  }
  SECTION("many entries sharing one long aux chain cost more steps than records fit") {
    // N Verneed records all pointing at the same chain of M Vernaux: a
    // file of (N + M) records that would take N * M steps to walk.
    constexpr uint32_t kN = 300, kM = 300;
    std::vector<uint8_t> raw;
    auto put = [&](const auto& rec) {
      auto* p = reinterpret_cast<const uint8_t*>(&rec);
      raw.insert(raw.end(), p, p + sizeof rec);
    };
    spec.needs = {{"libc.so.6", {"GLIBC_2.34"}}};
    s = test::build_synth_elf(spec);  // the string table the raw records index
    auto libc = static_cast<uint32_t>(s.index_of("libc.so.6")), ver = static_cast<uint32_t>(s.index_of("GLIBC_2.34"));
    for (uint32_t i = 0; i < kN; ++i) put(f::Verneed{1, kM, libc, (kN - i) * 16, i + 1 < kN ? 16u : 0u});
    for (uint32_t j = 0; j < kM; ++j) put(f::Vernaux{0, 0, 2, ver, j + 1 < kM ? 16u : 0u});
    spec.raw_verneed = raw;
    spec.needs.resize(kN, spec.needs[0]);  // DT_VERNEEDNUM; the same strings
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(read_dynamic(test::build_synth_elf(spec).bytes, "shared"),
                      Catch::Contains("DT_VERNEED chain has more entries than fit"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  }
  SECTION("DT_VERNEEDNUM disagreeing with the chain") {
    auto off = dyn_entry_offset(s.bytes, f::kDtVerneednum);
    uint64_t huge = 0xffffffffu;
    std::memcpy(s.bytes.data() + off + 8, &huge, 8);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "num"), Catch::Contains("DT_VERNEEDNUM says 4294967295") &&
                                                        Catch::Contains("its chain has 2 entries"));
  }
  SECTION("DT_VERDEFNUM disagreeing with the chain") {
    auto off = dyn_entry_offset(s.bytes, f::kDtVerdefnum);
    uint64_t one = 1;
    std::memcpy(s.bytes.data() + off + 8, &one, 8);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "num"), Catch::Contains("DT_VERDEFNUM says 1"));
  }
  SECTION("vn_cnt disagreeing with the aux chain") {
    auto vn = s.get<f::Verneed>(s.verneed);
    vn.vn_cnt = 0xffff;
    s.put(s.verneed, vn);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "cnt"), Catch::Contains("vn_cnt") && Catch::Contains("\"libm.so.6\""));
  }
  SECTION("an unknown Verneed revision") {
    auto vn = s.get<f::Verneed>(s.verneed);
    vn.vn_version = 2;
    s.put(s.verneed, vn);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "rev"), Catch::Contains("has version 2"));
  }
  SECTION("a version name outside the string table") {
    auto a = s.get<f::Vernaux>(first_aux);
    a.vna_name = 1u << 20;
    s.put(first_aux, a);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "name"),
                      Catch::Contains("DT_VERNEED version string index 1048576 is outside"));
  }
  SECTION("a file name outside the string table") {
    auto vn = s.get<f::Verneed>(s.verneed);
    vn.vn_file = static_cast<uint32_t>(s.strtab_size);
    s.put(s.verneed, vn);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "file"), Catch::Contains("DT_VERNEED file") && Catch::Contains("outside"));
  }
  SECTION("a defined name outside the string table") {
    auto aux = s.verdef + sizeof(f::Verdef);
    auto a = s.get<f::Verdaux>(aux);
    a.vda_name = 0xffffffffu;
    s.put(aux, a);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "def"), Catch::Contains("DT_VERDEF version") && Catch::Contains("outside"));
  }
  SECTION("DT_VERNEED outside every PT_LOAD") {
    auto off = dyn_entry_offset(s.bytes, f::kDtVerneed);
    uint64_t far = 0x7fff'0000'0000ull;
    std::memcpy(s.bytes.data() + off + 8, &far, 8);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "far"),
                      Catch::Contains("DT_VERNEED address") && Catch::Contains("no PT_LOAD"));
  }
}

TEST_CASE("elf: header counts are checked against the file before anything is allocated", "[elf]") {
  namespace f = format;
  auto s = test::build_synth_elf(typical_spec());
  auto eh = s.get<f::Ehdr>(0);
  uint16_t real_phnum = eh.e_phnum;
  // Append a section header table of one entry, section 0, as PN_XNUM and
  // large section counts use it.
  size_t shoff = s.bytes.size();
  s.bytes.resize(shoff + sizeof(f::Shdr), 0);
  eh.e_shoff = shoff;
  eh.e_shnum = 1;
  eh.e_phnum = f::kPnXnum;
  s.put(0, eh);
  auto with_sh0 = [&](auto change) {
    auto b = s;
    f::Shdr sh0{};
    change(sh0);
    b.put(shoff, sh0);
    return b.bytes;
  };

  // PN_XNUM with the real count in sh_info reads as before.
  CHECK(read_dynamic(with_sh0([&](f::Shdr& sh) { sh.sh_info = real_phnum; }), "xnum").abi_tag == "3.2.0");
  for (uint32_t count : {0xffffffffu, 30'000'000u, uint32_t{real_phnum} + 40u}) {
    INFO(count);
    auto b = with_sh0([&](f::Shdr& sh) { sh.sh_info = count; });
    CHECK_THROWS_WITH(read_dynamic(b, "xnum"), Catch::Contains("program headers: " + std::to_string(count) +
                                                               " entries of 56 bytes") &&
                                                   Catch::Contains("beyond the end of the file"));
  }
  // e_shnum 0: the section count is in section 0's sh_size.
  eh.e_phnum = real_phnum;
  eh.e_shnum = 0;
  s.put(0, eh);
  CHECK_THROWS_WITH(read_dynamic(with_sh0([](f::Shdr& sh) { sh.sh_size = 1ull << 58; }), "shnum"),
                    Catch::Contains("section headers: 288230376151711744 entries of 64 bytes"));
  CHECK(read_dynamic(with_sh0([](f::Shdr& sh) { sh.sh_size = 1; }), "shnum").abi_tag == "3.2.0");
  // A PN_XNUM without section headers.
  eh.e_phnum = f::kPnXnum;
  eh.e_shoff = 0;
  s.put(0, eh);
  CHECK_THROWS_WITH(read_dynamic(s.bytes, "noshdr"), Catch::Contains("PN_XNUM"));
}

TEST_CASE("elf: empty tables and spans parse without touching a null buffer", "[elf]") {
  namespace f = format;
  CHECK_THROWS_WITH(read_dynamic(std::span<const uint8_t>(), "empty"), Catch::Contains("not an ELF file"));
  auto spec = typical_spec();
  auto s = test::build_synth_elf(spec);
  SECTION("PT_DYNAMIC shorter than one entry") {
    for (size_t i = 0;; ++i) {
      auto off = s.phdrs + i * sizeof(f::Phdr);
      auto ph = s.get<f::Phdr>(off);
      if (ph.p_type != f::kPtDynamic) continue;
      ph.p_filesz = 8;
      s.put(off, ph);
      break;
    }
    DynamicInfo info = read_dynamic(s.bytes, "shortdyn");
    CHECK(info.has_dynamic);
    CHECK(info.needed.empty());
    CHECK(info.version_needs.empty());
    CHECK(info.interp);  // read regardless of the dynamic section
  }
  SECTION("DT_STRSZ 0") {
    auto off = dyn_entry_offset(s.bytes, f::kDtStrsz);
    uint64_t zero = 0;
    std::memcpy(s.bytes.data() + off + 8, &zero, 8);
    CHECK_THROWS_WITH(read_dynamic(s.bytes, "nostr"), Catch::Contains("outside the 0-byte dynamic string table"));
  }
  SECTION(".dynsym under one symbol") {
    TempDir t;
    auto fx = test::build_elf_fixture(t.str(), "--enable-new-dtags");
    auto b = test::slurp_bytes(fx.app);
    f::Ehdr eh;
    std::memcpy(&eh, b.data(), sizeof eh);
    bool found = false;
    for (size_t i = 0; i < eh.e_shnum; ++i) {
      f::Shdr sh;
      std::memcpy(&sh, b.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
      if (sh.sh_type != f::kShtDynsym) continue;
      sh.sh_size = 16;
      std::memcpy(b.data() + eh.e_shoff + i * sizeof sh, &sh, sizeof sh);
      found = true;
    }
    REQUIRE(found);
    CHECK(read_dynamic(b, "smallsym").runpath);
  }
}

TEST_CASE("elf: versions of gcc-built files match readelf", "[elf]") {
  TempDir t;
  auto f = test::build_versioned_fixture(t.str());
  DynamicInfo lib = read_dynamic_file(f.lib);
  CHECK(lib.version_defs == std::vector<std::string>{"BAR_1.0", "BAR_2.0"});
  CHECK(lib.version_defs == readelf_versions(f.lib).defs);
  DynamicInfo app = read_dynamic_file(f.app);
  INFO(to_string(app.version_needs));
  CHECK(same_needs(app.version_needs, readelf_versions(f.app).needs));
  auto bar = need_of(app, "libbar.so");
  REQUIRE(bar);
  CHECK(bar->versions == std::vector<std::string>{"BAR_2.0"});
  REQUIRE(need_of(app, "libc.so.6"));
  CHECK(contains(need_of(app, "libc.so.6")->versions, "GLIBC_2.2.5"));
  // Executables get the ABI note from crt1.o.
  auto notes = test::run("readelf -n " + test::sh_quote(f.app)).out;
  REQUIRE(app.abi_tag);
  CHECK_THAT(notes, Catch::Contains("ABI: " + *app.abi_tag));
}

TEST_CASE("elf: the C library, libpython and /bin/true of this system", "[elf]") {
  const std::string libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const std::string libpython = "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0";
  if (!fs::exists(libc) || !fs::exists(libpython)) {
    WARN("no Debian 12 glibc or pyenv 3.12.1 here; skipped");
    return;
  }
  DynamicInfo c = read_dynamic_file(libc);
  CHECK(contains(c.version_defs, "GLIBC_2.36"));
  CHECK(contains(c.version_defs, "GLIBC_2.2.5"));
  CHECK_FALSE(contains(c.version_defs, "libc.so.6"));  // the base entry
  CHECK(c.version_defs == readelf_versions(libc).defs);
  CHECK(c.abi_tag == "3.2.0");
  CHECK_THAT(test::run("readelf -n " + libc).out, Catch::Contains("ABI: 3.2.0"));

  DynamicInfo py = read_dynamic_file(libpython);
  INFO(to_string(py.version_needs));
  auto libm = need_of(py, "libm.so.6");
  REQUIRE(libm);
  CHECK(contains(libm->versions, "GLIBC_2.35"));
  CHECK(same_needs(py.version_needs, readelf_versions(libpython).needs));
  CHECK_FALSE(py.interp);

  DynamicInfo tr = read_dynamic_file("/bin/true");
  CHECK(tr.type == format::kEtDyn);
  REQUIRE(tr.interp);
  CHECK(tr.interp->value == "/lib64/ld-linux-x86-64.so.2");
  CHECK(tr.interp->size == tr.interp->value.size() + 1);
  CHECK(same_needs(tr.version_needs, readelf_versions("/bin/true").needs));

  // The loader itself has no interpreter; a static program has neither an
  // interpreter nor a dynamic section, but still its ABI note.
  CHECK_FALSE(read_dynamic_file("/lib64/ld-linux-x86-64.so.2").interp);
  TempDir t;
  test::spit(t / "s.c", "int main(void) { return 0; }\n");
  auto r = test::run("gcc -static -o " + test::sh_quote(t / "s") + " " + test::sh_quote(t / "s.c"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  DynamicInfo st = read_dynamic_file(t / "s");
  CHECK(st.type == format::kEtExec);
  CHECK_FALSE(st.interp);
  CHECK_FALSE(st.has_dynamic);
  CHECK(st.abi_tag == "3.2.0");
}

TEST_CASE("elf: rewriting PT_INTERP in place", "[elf]") {
  const std::string loader = "/lib64/ld-linux-x86-64.so.2";
  TempDir t;
  const std::string prog = t / "true";
  fs::copy_file("/bin/true", prog);
  const std::string placeholder = "/" + std::string(1023, 'x');
  auto r = test::run("patchelf --set-interpreter " + test::sh_quote(placeholder) + " " + test::sh_quote(prog));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  DynamicInfo before = read_dynamic_file(prog);
  REQUIRE(before.interp);
  CHECK(before.interp->value == placeholder);
  CHECK(before.interp->size == 1025);
  CHECK(test::run(test::sh_quote(prog)).exit_code != 0);  // no such interpreter
  auto original = test::slurp_bytes(prog);

  // Refusals leave the file as it was.
  try {
    rewrite_interp_file(prog, placeholder, "/" + std::string(1024, 'y'));
    FAIL("accepted a value that does not fit");
  } catch (const ElfRewriteError& e) {
    CHECK_THAT(e.what(), Catch::Contains(prog) && Catch::Contains("PT_INTERP") && Catch::Contains("1025 bytes") &&
                             Catch::Contains("holds 1024 bytes and a NUL"));
    CHECK_THAT(e.hint(), Catch::Contains("LOADER PROGRAM"));
  }
  CHECK_THROWS_WITH(rewrite_interp_file(prog, "/lib/ld-other.so", loader), Catch::Contains("the file changed"));
  CHECK_THROWS_WITH(rewrite_interp_file(prog, placeholder, std::string("/lib\0x", 6)),
                    Catch::Contains("'/lib\\x00x'") && Catch::Contains("NUL byte"));
  CHECK(test::slurp_bytes(prog) == original);

  rewrite_interp_file(prog, placeholder, loader);
  DynamicInfo after = read_dynamic_file(prog);
  REQUIRE(after.interp);
  CHECK(after.interp->value == loader);
  CHECK(after.interp->size == 1025);
  auto bytes = test::slurp_bytes(prog);
  REQUIRE(bytes.size() == original.size());
  CHECK(std::all_of(bytes.begin() + static_cast<long>(after.interp->file_offset + loader.size()),
                    bytes.begin() + static_cast<long>(after.interp->file_offset + after.interp->size),
                    [](uint8_t c) { return c == 0; }));
  // Nothing else changed.
  std::fill_n(original.begin() + static_cast<long>(after.interp->file_offset), 1025, 0);
  std::fill_n(bytes.begin() + static_cast<long>(after.interp->file_offset), 1025, 0);
  CHECK(bytes == original);
  CHECK(test::run(test::sh_quote(prog)).exit_code == 0);
  CHECK_THAT(test::run("readelf -l " + test::sh_quote(prog)).out, Catch::Contains("interpreter: " + loader + "]"));

  // A shared library has no interpreter to rewrite.
  TempDir t2;
  auto fx = test::build_elf_fixture(t2.str(), "--enable-new-dtags");
  CHECK_THROWS_AS(rewrite_interp_file(fx.lib, loader, loader), ElfError);
}
