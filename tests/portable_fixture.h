// A tiny environment built with gcc whose files need things a secure node
// may lack, for the doctor's --target/--portable tests and for
// build_portable:
//
//   HOST/libhostdeep.so.1   defines HOSTDEEP_1.0
//   HOST/libhostdep.so.1    defines HOSTDEP_1.0, needs libhostdeep.so.1 (HOSTDEEP_1.0)
//   ENV/lib/libneeds.so     needs libhostdep.so.1 (HOSTDEP_1.0) and arc4random (GLIBC_2.36)
//   ENV/bin/prog            RUNPATH $ORIGIN/../lib, needs libneeds.so and
//                           __libc_start_main (GLIBC_2.34); prints the C
//                           library's version, 42, and where its libraries
//                           were mapped from
//
// HOST stands for the packing host's library directories: nothing on the
// loader's default path finds it.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support.h"

namespace airlock::test {

struct PortableFixture {
  std::string env, host;
  std::string prog, needs, hostdep, hostdeep;
};

inline void portable_gcc(const std::string& args) {
  RunResult r = run("gcc " + args);
  INFO("gcc " << args << "\n" << r.err);
  REQUIRE(r.exit_code == 0);
}

inline PortableFixture build_portable_fixture(const TempDir& t) {
  namespace fs = std::filesystem;
  PortableFixture f;
  f.env = t / "env";
  f.host = t / "host";
  f.prog = f.env + "/bin/prog";
  f.needs = f.env + "/lib/libneeds.so";
  f.hostdep = f.host + "/libhostdep.so.1";
  f.hostdeep = f.host + "/libhostdeep.so.1";
  fs::create_directories(f.env + "/bin");
  fs::create_directories(f.env + "/lib");
  fs::create_directories(f.host);
  fs::create_directories(t / "src");
  const std::string src = t / "src";

  spit(src + "/deep.c", "int hostdeep_answer(void) { return 41; }\n");
  spit(src + "/deep.map", "HOSTDEEP_1.0 { global: hostdeep_answer; local: *; };\n");
  portable_gcc("-shared -fPIC -Wl,-soname,libhostdeep.so.1 -Wl,--version-script," + sh_quote(src + "/deep.map") +
               " -o " + sh_quote(f.hostdeep) + " " + sh_quote(src + "/deep.c"));

  spit(src + "/dep.c", "extern int hostdeep_answer(void);\nint hostdep_answer(void) { return hostdeep_answer() + 1; }\n");
  spit(src + "/dep.map", "HOSTDEP_1.0 { global: hostdep_answer; local: *; };\n");
  portable_gcc("-shared -fPIC -Wl,-soname,libhostdep.so.1 -Wl,--version-script," + sh_quote(src + "/dep.map") +
               " -o " + sh_quote(f.hostdep) + " " + sh_quote(src + "/dep.c") + " " + sh_quote(f.hostdeep));

  // arc4random is new in glibc 2.36: this file needs the host's newest C library.
  spit(src + "/needs.c",
       "#include <stdlib.h>\n"
       "extern int hostdep_answer(void);\n"
       "int needs_answer(void) { return hostdep_answer() + (int)(arc4random() & 0u); }\n");
  portable_gcc("-shared -fPIC -Wl,-soname,libneeds.so -o " + sh_quote(f.needs) + " " + sh_quote(src + "/needs.c") +
               " " + sh_quote(f.hostdep));

  spit(src + "/prog.c",
       "#include <gnu/libc-version.h>\n"
       "#include <stdio.h>\n"
       "#include <string.h>\n"
       "extern int needs_answer(void);\n"
       "int main(void) {\n"
       "  printf(\"glibc %s\\n\", gnu_get_libc_version());\n"
       "  printf(\"answer %d\\n\", needs_answer());\n"
       "  FILE* m = fopen(\"/proc/self/maps\", \"r\");\n"
       "  char line[4096], last[4096] = \"\";\n"
       "  while (m && fgets(line, sizeof line, m)) {\n"
       "    char* p = strchr(line, '/');\n"
       "    if (!p || strcmp(p, last) == 0) continue;\n"
       "    snprintf(last, sizeof last, \"%s\", p);\n"
       "    if (strstr(p, \".so\")) printf(\"map %s\", p);\n"
       "  }\n"
       "  return 0;\n"
       "}\n");
  portable_gcc("-o " + sh_quote(f.prog) + " " + sh_quote(src + "/prog.c") + " -L" + sh_quote(f.env + "/lib") +
               " -lneeds -Wl,-rpath-link," + sh_quote(f.host) + " -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'");
  return f;
}

// The highest GLIBC_x.y any of `files` needs, as readelf and sort -V see it.
inline std::string readelf_max_glibc(const std::vector<std::string>& files) {
  std::string args;
  for (const auto& f : files) args += " " + sh_quote(f);
  RunResult r = run("readelf -V -W" + args +
                    " | sed -n 's/.*Name: GLIBC_\\([0-9][0-9.]*\\) .*/\\1/p' | sort -V | tail -n 1");
  REQUIRE(r.exit_code == 0);
  std::string v = r.out;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

// This host's glibc release as `ldd --version` says it: "2.36".
inline std::string host_glibc_release() {
  RunResult r = run("ldd --version | head -n 1 | sed 's/.* \\([0-9][0-9]*\\.[0-9][0-9]*\\)$/\\1/'");
  REQUIRE(r.exit_code == 0);
  std::string v = r.out;
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

}  // namespace airlock::test
