// Builds a tiny shared library and a program linked against it with gcc,
// with an absolute -rpath into a prefix, for the ELF and relocation tests;
// and hand-made ELF files laid out byte by byte, for what gcc will not
// produce: exact version tables and notes, and hostile variants of them.
#pragma once

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/elf/elf.h"
#include "common/elf/format.h"
#include "tests/support.h"

namespace airlock::test {

struct ElfFixture {
  std::string prefix;  // PREFIX/lib/libfoo.so, PREFIX/bin/app
  std::string lib, app;
};

// `dtags`: "--enable-new-dtags" (RUNPATH) or "--disable-new-dtags" (RPATH).
// `rpath` defaults to PREFIX/lib.
inline ElfFixture build_elf_fixture(const std::string& dir, const std::string& dtags, std::string rpath = {}) {
  namespace fs = std::filesystem;
  ElfFixture f;
  f.prefix = dir + "/prefix";
  f.lib = f.prefix + "/lib/libfoo.so";
  f.app = f.prefix + "/bin/app";
  if (rpath.empty()) rpath = f.prefix + "/lib";
  fs::create_directories(f.prefix + "/lib");
  fs::create_directories(f.prefix + "/bin");
  spit(dir + "/foo.c", "int foo(void) { return 42; }\n");
  spit(dir + "/main.c", "#include <stdio.h>\nint foo(void);\nint main(void) { printf(\"foo=%d\\n\", foo()); return 0; }\n");
  auto r = run("gcc -shared -fPIC -Wl,-soname,libfoo.so -o " + sh_quote(f.lib) + " " + sh_quote(dir + "/foo.c"));
  REQUIRE(r.exit_code == 0);
  r = run("gcc -o " + sh_quote(f.app) + " " + sh_quote(dir + "/main.c") + " -L" + sh_quote(f.prefix + "/lib") +
          " -lfoo -Wl,-rpath," + sh_quote(rpath) + " -Wl," + dtags);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return f;
}

// A shared library with symbol versions (a version script defining BAR_1.0
// and BAR_2.0, the second inheriting from the first) and a program that
// uses bar2@BAR_2.0 from it.
struct VersionedFixture {
  std::string lib, app;
};

inline VersionedFixture build_versioned_fixture(const std::string& dir) {
  VersionedFixture f{dir + "/libbar.so", dir + "/app"};
  spit(dir + "/bar.c", "int bar1(void) { return 1; }\nint bar2(void) { return 2; }\n");
  spit(dir + "/bar.map", "BAR_1.0 { global: bar1; local: *; };\nBAR_2.0 { global: bar2; } BAR_1.0;\n");
  spit(dir + "/main.c", "int bar2(void);\nint main(void) { return bar2() - 2; }\n");
  auto r = run("gcc -shared -fPIC -Wl,-soname,libbar.so -Wl,--version-script," + sh_quote(dir + "/bar.map") +
               " -o " + sh_quote(f.lib) + " " + sh_quote(dir + "/bar.c"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run("gcc -o " + sh_quote(f.app) + " " + sh_quote(dir + "/main.c") + " -L" + sh_quote(dir) + " -lbar");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return f;
}

// A hand-made ELF64 LE file: the ELF header, program headers (one PT_LOAD
// mapping the whole file at kSynthBase, PT_DYNAMIC, PT_INTERP and PT_NOTE
// when asked for), then the interpreter, the notes, the dynamic string
// table, DT_VERNEED, DT_VERDEF and the dynamic section, in that order.
// The offsets of each part are kept so tests can corrupt them.
inline constexpr uint64_t kSynthBase = 0x400000;

struct SynthSpec {
  uint16_t type = elf::format::kEtDyn;
  std::string interp;  // PT_INTERP when not empty
  std::string soname = "libsynth.so.1";
  std::vector<elf::VersionNeed> needs;  // also DT_NEEDED
  std::vector<std::string> defs;        // DT_VERDEF after the base entry (soname)
  std::optional<std::array<uint32_t, 4>> abi_tag;  // NT_GNU_ABI_TAG desc: os, major, minor, patch
  uint64_t note_align = 4;                         // PT_NOTE's p_align (4 or 8)
  // Replaces the DT_VERNEED table built from `needs` (DT_VERNEEDNUM stays
  // needs.size()), for chains no linker writes.
  std::optional<std::vector<uint8_t>> raw_verneed;
};

struct Synth {
  std::vector<uint8_t> bytes;
  size_t phdrs = 0, interp = 0, notes = 0, abi_note = 0, strtab = 0, verneed = 0, verdef = 0, dynamic = 0;
  size_t strtab_size = 0;
  uint64_t index_of(const std::string& s) const {  // of a string in the dynamic string table
    std::string tab(bytes.begin() + static_cast<long>(strtab), bytes.begin() + static_cast<long>(strtab + strtab_size));
    return tab.find(std::string(s.c_str(), s.size() + 1), 1);
  }
  template <class T>
  T get(size_t off) const {
    T t;
    std::memcpy(&t, bytes.data() + off, sizeof t);
    return t;
  }
  template <class T>
  void put(size_t off, const T& t) {
    std::memcpy(bytes.data() + off, &t, sizeof t);
  }
};

// The System V ABI's ELF hash, as vna_hash / vd_hash carry it.
inline uint32_t elf_hash(const std::string& s) {
  uint32_t h = 0;
  for (unsigned char c : s) {
    h = (h << 4) + c;
    uint32_t g = h & 0xf0000000u;
    if (g) h ^= g >> 24;
    h &= ~g;
  }
  return h;
}

inline Synth build_synth_elf(const SynthSpec& spec) {
  namespace f = elf::format;
  Synth out;
  auto& b = out.bytes;
  auto align = [&](size_t a) { b.resize((b.size() + a - 1) / a * a, 0); };
  auto append = [&](const void* p, size_t n) {
    b.insert(b.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
  };
  auto append_struct = [&](const auto& t) { append(&t, sizeof t); };

  std::string strtab(1, '\0');
  auto str = [&](const std::string& s) -> uint32_t {
    auto at = strtab.find(s + '\0');
    if (at != std::string::npos && !s.empty()) return static_cast<uint32_t>(at);
    strtab += s + '\0';
    return static_cast<uint32_t>(strtab.size() - s.size() - 1);
  };
  uint32_t soname = str(spec.soname);
  for (const auto& n : spec.needs) {
    str(n.file);
    for (const auto& v : n.versions) str(v);
  }
  for (const auto& d : spec.defs) str(d);

  size_t nph = 2 + !spec.interp.empty() + (spec.abi_tag ? 1 : 0);
  b.resize(sizeof(f::Ehdr) + nph * sizeof(f::Phdr), 0);
  out.phdrs = sizeof(f::Ehdr);
  std::vector<f::Phdr> ph;
  auto segment = [&](uint32_t type, size_t off, size_t size, uint64_t al) {
    ph.push_back(f::Phdr{type, 4, off, kSynthBase + off, kSynthBase + off, size, size, al});
  };

  if (!spec.interp.empty()) {
    out.interp = b.size();
    append(spec.interp.c_str(), spec.interp.size() + 1);
    segment(f::kPtInterp, out.interp, spec.interp.size() + 1, 1);
  }
  if (spec.abi_tag) {
    // A build-id note first, so that finding the ABI tag means walking.
    align(spec.note_align);
    out.notes = b.size();
    auto note = [&](uint32_t type, const std::vector<uint8_t>& desc) {
      append_struct(f::Nhdr{4, static_cast<uint32_t>(desc.size()), type});
      append(f::kNoteNameGnu, 4);
      align(spec.note_align);
      append(desc.data(), desc.size());
      align(spec.note_align);
    };
    note(3, std::vector<uint8_t>(20, 0xab));  // NT_GNU_BUILD_ID
    out.abi_note = b.size();
    std::vector<uint8_t> desc(16);
    std::memcpy(desc.data(), spec.abi_tag->data(), 16);
    note(f::kNtGnuAbiTag, desc);
    segment(f::kPtNote, out.notes, b.size() - out.notes, spec.note_align);
  }

  out.strtab = b.size();
  out.strtab_size = strtab.size();
  append(strtab.data(), strtab.size());

  align(8);
  out.verneed = b.size();
  if (spec.raw_verneed) {
    append(spec.raw_verneed->data(), spec.raw_verneed->size());
  } else {
    uint16_t other = 2;
    for (size_t i = 0; i < spec.needs.size(); ++i) {
      const auto& n = spec.needs[i];
      auto cnt = static_cast<uint16_t>(n.versions.size());
      bool last = i + 1 == spec.needs.size();
      append_struct(f::Verneed{1, cnt, str(n.file), 16, last ? 0u : 16u + 16u * cnt});
      for (size_t j = 0; j < n.versions.size(); ++j)
        append_struct(f::Vernaux{elf_hash(n.versions[j]), 0, other++, str(n.versions[j]),
                                 j + 1 == n.versions.size() ? 0u : 16u});
    }
  }

  align(8);
  out.verdef = b.size();
  if (!spec.defs.empty()) {
    // The base entry, then one entry a version; each after the first names
    // the one before as its parent, as glibc's version scripts do.
    append_struct(f::Verdef{1, f::kVerFlgBase, 1, 1, elf_hash(spec.soname), 20, 28});
    append_struct(f::Verdaux{soname, 0});
    for (size_t i = 0; i < spec.defs.size(); ++i) {
      bool last = i + 1 == spec.defs.size();
      uint16_t cnt = i == 0 ? 1 : 2;
      append_struct(f::Verdef{1, 0, static_cast<uint16_t>(i + 2), cnt, elf_hash(spec.defs[i]), 20,
                              last ? 0u : 20u + 8u * cnt});
      append_struct(f::Verdaux{str(spec.defs[i]), cnt == 2 ? 8u : 0u});
      if (cnt == 2) append_struct(f::Verdaux{str(spec.defs[i - 1]), 0});
    }
  }

  align(8);
  out.dynamic = b.size();
  auto dyn = [&](int64_t tag, uint64_t val) { append_struct(f::Dyn{tag, val}); };
  for (const auto& n : spec.needs) dyn(f::kDtNeeded, str(n.file));
  dyn(f::kDtSoname, soname);
  dyn(f::kDtStrtab, kSynthBase + out.strtab);
  dyn(f::kDtStrsz, out.strtab_size);
  if (!spec.needs.empty() || spec.raw_verneed) {
    dyn(f::kDtVerneed, kSynthBase + out.verneed);
    dyn(f::kDtVerneednum, spec.needs.size());
  }
  if (!spec.defs.empty()) {
    dyn(f::kDtVerdef, kSynthBase + out.verdef);
    dyn(f::kDtVerdefnum, spec.defs.size() + 1);
  }
  dyn(f::kDtNull, 0);
  segment(f::kPtDynamic, out.dynamic, b.size() - out.dynamic, 8);
  ph.insert(ph.begin(), f::Phdr{f::kPtLoad, 4, 0, kSynthBase, kSynthBase, b.size(), b.size(), 0x1000});

  f::Ehdr eh{};
  std::memcpy(eh.e_ident, "\x7f" "ELF\x02\x01\x01", 7);
  eh.e_type = spec.type;
  eh.e_machine = 62;  // EM_X86_64
  eh.e_version = 1;
  eh.e_phoff = out.phdrs;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(f::Phdr);
  eh.e_phnum = static_cast<uint16_t>(ph.size());
  eh.e_shentsize = sizeof(f::Shdr);
  std::memcpy(b.data(), &eh, sizeof eh);
  std::memcpy(b.data() + out.phdrs, ph.data(), ph.size() * sizeof(f::Phdr));
  return out;
}

inline std::vector<uint8_t> slurp_bytes(const std::string& path) {
  std::string s = slurp(path);
  return std::vector<uint8_t>(s.begin(), s.end());
}

inline void spit_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  spit(path, std::string(b.begin(), b.end()));
}

}  // namespace airlock::test
