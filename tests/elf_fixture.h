// Builds a tiny shared library and a program linked against it with gcc,
// with an absolute -rpath into a prefix, for the ELF and relocation tests.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

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

inline std::vector<uint8_t> slurp_bytes(const std::string& path) {
  std::string s = slurp(path);
  return std::vector<uint8_t>(s.begin(), s.end());
}

inline void spit_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  spit(path, std::string(b.begin(), b.end()));
}

}  // namespace airlock::test
