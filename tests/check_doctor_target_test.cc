// The shared-library doctor against a named secure node (--target) and
// planning what to carry (--portable), on gcc-built files laid out like an
// environment and a stand-in for the packing host's library directory
// (tests/portable_fixture.h). Expected versions come from readelf.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "common/target/probe_file.h"
#include "packer/checks/doctor.h"
#include "packer/checks/host_libraries.h"
#include "packer/target/target.h"
#include "tests/portable_fixture.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::packer;
using namespace airlock::test;
namespace fs = std::filesystem;

namespace {

std::vector<const Finding*> with_code(const DoctorResult& r, const std::string& code) {
  std::vector<const Finding*> out;
  for (const Finding& f : r.findings)
    if (f.code == code) out.push_back(&f);
  return out;
}

std::vector<const Finding*> errors(const DoctorResult& r) {
  std::vector<const Finding*> out;
  for (const Finding& f : r.findings)
    if (f.severity == Severity::kError) out.push_back(&f);
  return out;
}

std::string describe(const DoctorResult& r) {
  std::string s;
  for (const Finding& f : r.findings) s += std::string(to_string(f.severity)) + " " + f.code + ": " + f.message + "\n";
  return s;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

DoctorInput input_for(const PortableFixture& f, const Target* target, bool portable) {
  DoctorInput in;
  in.env_dir = f.env;
  in.site_packages = "lib/python3.12/site-packages";
  // The stand-in host directory first, then this host's real ones (the C
  // library and the C++ runtime are found there).
  in.host_dirs = {f.host, "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"};
  in.target = target;
  in.portable = portable;
  return in;
}

std::vector<std::string> sonames(const PortablePlan& p) {
  std::vector<std::string> out;
  for (const auto& l : p.libs) out.push_back(l.soname);
  std::sort(out.begin(), out.end());
  return out;
}

const PortablePlan::Lib* planned(const PortablePlan& p, const std::string& soname) {
  for (const auto& l : p.libs)
    if (l.soname == soname) return &l;
  return nullptr;
}

// A probe file for a node named `host` with glibc `glibc` and `libs`.
std::string write_probe(const TempDir& t, const std::string& name, const std::string& glibc,
                        std::vector<target::ProbeLib> libs, const std::string& kernel = "5.10.0") {
  target::ProbeFile p;
  p.host = "vault";
  p.os = "Test Linux 1";
  p.kernel = kernel;
  p.arch = "x86_64";
  p.glibc = glibc;
  p.libs = std::move(libs);
  std::string path = t / name;
  spit(path, target::format_probe(p));
  return path;
}

// A shared library ENV/lib/<name>.so built from `code` and linked with `link`.
void env_lib(const TempDir& t, const PortableFixture& f, const std::string& name, const std::string& code,
             const std::string& link, const std::string& compiler = "gcc") {
  spit(t / ("src/" + name + ".c"), code);
  RunResult r = run(compiler + " -shared -fPIC -Wl,-soname," + name + ".so -o " + sh_quote(f.env + "/lib/" + name + ".so") +
                    (compiler == "g++" ? " -x c++ " : " ") + sh_quote(t / ("src/" + name + ".c")) + " " + link);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

std::string abi_tag_of(const std::string& file) {
  RunResult r = run("readelf -n " + sh_quote(file) + " | sed -n 's/.*OS: Linux, ABI: \\([0-9.]*\\).*/\\1/p'");
  REQUIRE(r.exit_code == 0);
  std::string v = r.out;
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

}  // namespace

TEST_CASE("doctor target: without a target it says which glibc the bundle needs and judges nothing",
          "[doctor][doctor_target]") {
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  std::string need_prog = readelf_max_glibc({f.prog});
  std::string need_lib = readelf_max_glibc({f.needs});
  std::string need_all = readelf_max_glibc({f.prog, f.needs});
  REQUIRE(!need_all.empty());
  REQUIRE(need_prog != need_lib);  // the fixture's point: two files, two levels

  DoctorResult r = run_doctor(input_for(f, nullptr, false));
  INFO(describe(r));
  CHECK(r.elf_files == 2);
  CHECK(r.needs_glibc == need_all);
  CHECK(r.needs_glibc_by == (need_all == need_lib ? "lib/libneeds.so" : "bin/prog"));
  CHECK(with_code(r, "glibc-too-old").empty());
  CHECK(with_code(r, "library-not-on-target").empty());
  CHECK(errors(r).empty());
  // Not judged against a node, libhostdep is only known to come from this host.
  auto host = with_code(r, "host-library");
  REQUIRE(host.size() == 1);
  CHECK(host[0]->path == f.hostdep);
  // Nothing is planned without --portable (and a target).
  CHECK(r.portable.empty());
  CHECK(r.portable.libs.empty());
}

TEST_CASE("doctor target: rhel8 is too old for this host's C library and lacks the host library",
          "[doctor][doctor_target]") {
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  std::string need_prog = readelf_max_glibc({f.prog});
  std::string need_lib = readelf_max_glibc({f.needs});
  Target rhel8 = resolve_target("rhel8");

  DoctorResult r = run_doctor(input_for(f, &rhel8, false));
  INFO(describe(r));
  CHECK(r.needs_glibc == readelf_max_glibc({f.prog, f.needs}));

  auto old = with_code(r, "glibc-too-old");
  REQUIRE(old.size() == 2);
  // The file needing the newest version first.
  CHECK(old[0]->path == "lib/libneeds.so");
  CHECK(old[0]->message == "lib/libneeds.so needs GLIBC_" + need_lib + "; rhel8 has 2.28");
  CHECK(old[1]->path == "bin/prog");
  CHECK(old[1]->message == "bin/prog needs GLIBC_" + need_prog + "; rhel8 has 2.28");
  for (const Finding* o : old) {
    CHECK(o->severity == Severity::kError);
    CHECK(contains(o->hint, "--portable"));
    CHECK(contains(o->hint, "2.28"));
  }

  auto absent = with_code(r, "library-not-on-target");
  REQUIRE(absent.size() == 1);
  CHECK(absent[0]->severity == Severity::kError);
  CHECK(absent[0]->path == "libhostdep.so.1");
  CHECK(absent[0]->message == "lib/libneeds.so needs libhostdep.so.1, which is neither in the environment nor on "
                              "rhel8 (glibc 2.28) (this host has it: " + f.hostdep + ")");
  CHECK(contains(absent[0]->hint, "--portable"));
  CHECK(errors(r).size() == 3);
  // libc.so.6 is judged through the glibc version, never as a missing library.
  for (const Finding* e : errors(r)) CHECK_FALSE(contains(e->message, "libc.so.6,"));
  // Without --portable nothing is planned, and the host library's own
  // dependencies are the host's business.
  CHECK(r.portable.empty());
  CHECK_FALSE(contains(describe(r), "libhostdeep"));

  // ubuntu22.04 has 2.35: only the file that needs 2.36 is too new for it.
  Target jammy = resolve_target("ubuntu22.04");
  DoctorResult j = run_doctor(input_for(f, &jammy, false));
  INFO(describe(j));
  auto jold = with_code(j, "glibc-too-old");
  REQUIRE(jold.size() == 1);
  CHECK(jold[0]->message == "lib/libneeds.so needs GLIBC_" + need_lib + "; ubuntu22.04 has 2.35");

  // debian12 has this host's 2.36: the C library is fine, the host library is not.
  Target bookworm = resolve_target("debian12");
  DoctorResult b = run_doctor(input_for(f, &bookworm, false));
  INFO(describe(b));
  CHECK(with_code(b, "glibc-too-old").empty());
  CHECK(with_code(b, "library-not-on-target").size() == 1);
}

TEST_CASE("doctor target: --portable plans the host library with its closure and this host's C library",
          "[doctor][doctor_target]") {
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  Target rhel8 = resolve_target("rhel8");

  DoctorResult r = run_doctor(input_for(f, &rhel8, true));
  INFO(describe(r));
  CHECK(errors(r).empty());
  const PortablePlan& p = r.portable;
  CHECK_FALSE(p.empty());

  // libhostdep.so.1 and, because the node lacks it too, its own dependency.
  CHECK(sonames(p) == std::vector<std::string>{"libhostdeep.so.1", "libhostdep.so.1"});
  const auto* dep = planned(p, "libhostdep.so.1");
  const auto* deep = planned(p, "libhostdeep.so.1");
  REQUIRE(dep);
  REQUIRE(deep);
  CHECK(dep->host_path == fs::canonical(f.hostdep).string());
  CHECK(deep->host_path == fs::canonical(f.hostdeep).string());
  CHECK(dep->users == std::vector<std::string>{"lib/libneeds.so"});
  REQUIRE(deep->users.size() == 1);
  CHECK(contains(deep->users[0], "libhostdep.so.1"));

  // The C library: rhel8's 2.28 is older than what the files need.
  CHECK(p.carry_glibc);
  CHECK(p.host_glibc == host_glibc_release());
  CHECK(p.glibc_dir == fs::canonical("/lib/x86_64-linux-gnu/libc.so.6").parent_path().string());
  CHECK(p.glibc_kernel == abi_tag_of(p.glibc_dir + "/libc.so.6"));
  CHECK_FALSE(p.glibc_kernel.empty());

  // Executables get the carried loader; files that need a carried library
  // get the grafted directory on their search path.
  CHECK(p.executables == std::vector<std::string>{"bin/prog"});
  CHECK(p.reach == std::vector<std::string>{"lib/libneeds.so"});

  CHECK(with_code(r, "carried-library").size() == 2);
  auto g = with_code(r, "carried-glibc");
  REQUIRE(g.size() == 1);
  CHECK(g[0]->severity == Severity::kInfo);
  CHECK(contains(g[0]->message, "glibc " + host_glibc_release()));
  CHECK(contains(g[0]->message, "rhel8 has 2.28"));

  // debian12 has this host's glibc: the libraries are carried, the C library is not.
  Target bookworm = resolve_target("debian12");
  DoctorResult b = run_doctor(input_for(f, &bookworm, true));
  INFO(describe(b));
  CHECK(errors(b).empty());
  CHECK_FALSE(b.portable.carry_glibc);
  CHECK(with_code(b, "carried-glibc").empty());
  CHECK(sonames(b.portable) == std::vector<std::string>{"libhostdeep.so.1", "libhostdep.so.1"});
  CHECK(b.portable.reach == std::vector<std::string>{"lib/libneeds.so"});
}

TEST_CASE("doctor target: a probe file says exactly which libraries and versions the node has",
          "[doctor][doctor_target]") {
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  std::string need_lib = readelf_max_glibc({f.needs});

  {  // the node has libhostdep.so.1 with HOSTDEP_1.0: nothing is carried for it
    Target node = resolve_target(
        write_probe(t, "has.probe", "2.31", {{"libhostdep.so.1", "/usr/lib64/libhostdep.so.1", {"HOSTDEP_1.0"}}}));
    DoctorResult r = run_doctor(input_for(f, &node, false));
    INFO(describe(r));
    CHECK(with_code(r, "library-not-on-target").empty());
    CHECK(with_code(r, "library-too-old-on-target").empty());
    auto old = with_code(r, "glibc-too-old");
    REQUIRE(old.size() == 2);
    CHECK(old[0]->message == "lib/libneeds.so needs GLIBC_" + need_lib + "; the node vault has 2.31");

    DoctorResult p = run_doctor(input_for(f, &node, true));
    INFO(describe(p));
    CHECK(errors(p).empty());
    CHECK(p.portable.libs.empty());
    CHECK(p.portable.reach.empty());
    CHECK(p.portable.carry_glibc);  // 2.31 is still older than the files need
  }

  {  // the node has libhostdep.so.1 without HOSTDEP_1.0: too old, or carried
    Target node = resolve_target(write_probe(
        t, "old.probe", "2.36",
        {{"libhostdep.so.1", "/usr/lib64/libhostdep.so.1", {"HOSTDEP_0.9"}},
         {"libhostdeep.so.1", "/usr/lib64/libhostdeep.so.1", {"HOSTDEEP_1.0"}}}));
    DoctorResult r = run_doctor(input_for(f, &node, false));
    INFO(describe(r));
    CHECK(with_code(r, "glibc-too-old").empty());
    CHECK(with_code(r, "library-not-on-target").empty());
    auto old = with_code(r, "library-too-old-on-target");
    REQUIRE(old.size() == 1);
    CHECK(old[0]->severity == Severity::kError);
    CHECK(old[0]->path == "libhostdep.so.1");
    CHECK(old[0]->message == "lib/libneeds.so needs HOSTDEP_1.0 from libhostdep.so.1, which " + node.label() + " lacks");
    CHECK(contains(old[0]->hint, "--portable"));

    DoctorResult p = run_doctor(input_for(f, &node, true));
    INFO(describe(p));
    CHECK(errors(p).empty());
    // Carried; its dependency is on the node in the version it needs, so not.
    CHECK(sonames(p.portable) == std::vector<std::string>{"libhostdep.so.1"});
    CHECK_FALSE(p.portable.carry_glibc);  // the node has 2.36
    CHECK(p.portable.reach == std::vector<std::string>{"lib/libneeds.so"});
  }

  {  // the node lacks the dependency of a carried library: the closure follows the probe
    Target node = resolve_target(write_probe(t, "bare.probe", "2.36", {}));
    DoctorResult p = run_doctor(input_for(f, &node, true));
    INFO(describe(p));
    CHECK(errors(p).empty());
    CHECK(sonames(p.portable) == std::vector<std::string>{"libhostdeep.so.1", "libhostdep.so.1"});
  }

  {  // a node whose kernel is older than this host's C library needs cannot be given it
    Target node = resolve_target(write_probe(t, "ancient.probe", "2.12", {}, "2.6.32"));
    DoctorResult p = run_doctor(input_for(f, &node, true));
    INFO(describe(p));
    auto k = with_code(p, "kernel-too-old");
    REQUIRE(k.size() == 1);
    CHECK(k[0]->severity == Severity::kError);
    CHECK(contains(k[0]->message, "needs Linux " + p.portable.glibc_kernel));
    CHECK(contains(k[0]->message, "the node vault runs 2.6.32"));
  }
}

TEST_CASE("doctor target: a library neither on the node nor on this host cannot be carried", "[doctor][doctor_target]") {
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  fs::remove(f.hostdep);  // linked against, then gone from the host
  Target rhel8 = resolve_target("rhel8");
  DoctorResult r = run_doctor(input_for(f, &rhel8, true));
  INFO(describe(r));
  auto absent = with_code(r, "library-not-on-target");
  REQUIRE(absent.size() == 1);
  CHECK(absent[0]->path == "libhostdep.so.1");
  CHECK(absent[0]->message == "lib/libneeds.so needs libhostdep.so.1, which is neither in the environment nor on "
                              "rhel8 (glibc 2.28) (nor on this host)");
  CHECK(contains(absent[0]->hint, "add what provides libhostdep.so.1"));
  CHECK_FALSE(planned(r.portable, "libhostdep.so.1"));
  CHECK(r.portable.reach.empty());
}

TEST_CASE("doctor target: a driver library is never carried from this host", "[doctor][doctor_target]") {
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  // A stand-in libGL.so.1 in the host directory and a library that uses it.
  spit(t / "src/gl.c", "int glFake(void) { return 1; }\n");
  portable_gcc("-shared -fPIC -Wl,-soname,libGL.so.1 -o " + sh_quote(f.host + "/libGL.so.1") + " " + sh_quote(t / "src/gl.c"));
  env_lib(t, f, "libdraw", "extern int glFake(void);\nint draw(void) { return glFake(); }\n",
          sh_quote(f.host + "/libGL.so.1"));
  CHECK(is_driver_library("libGL.so.1"));

  // A preset assumes libGL by name; --portable does not carry it as it
  // carries the other baseline libraries.
  Target rhel8 = resolve_target("rhel8");
  DoctorResult r = run_doctor(input_for(f, &rhel8, true));
  INFO(describe(r));
  CHECK(errors(r).empty());
  CHECK_FALSE(planned(r.portable, "libGL.so.1"));
  CHECK(planned(r.portable, "libhostdep.so.1"));
  CHECK(std::find(r.portable.reach.begin(), r.portable.reach.end(), "lib/libdraw.so") == r.portable.reach.end());

  // A node that does not list it: an error even with --portable, saying why.
  Target node = resolve_target(
      write_probe(t, "nogl.probe", "2.36", {{"libhostdep.so.1", "/usr/lib64/libhostdep.so.1", {"HOSTDEP_1.0"}}}));
  DoctorResult p = run_doctor(input_for(f, &node, true));
  INFO(describe(p));
  CHECK_FALSE(planned(p.portable, "libGL.so.1"));
  auto gl = with_code(p, "library-not-on-target");
  REQUIRE(gl.size() == 1);
  CHECK(gl[0]->path == "libGL.so.1");
  CHECK(contains(gl[0]->message, "lib/libdraw.so needs libGL.so.1"));
  CHECK(contains(gl[0]->message, "(this host has it: " + f.host + "/libGL.so.1)"));
  CHECK(contains(gl[0]->hint, "never carried"));
}

TEST_CASE("doctor target: baseline libraries a preset only assumes are carried, a probed node's are not",
          "[doctor][doctor_target]") {
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  std::string libz = "/lib/x86_64-linux-gnu/libz.so.1";
  REQUIRE(fs::exists(libz));
  env_lib(t, f, "libzuser", "extern const char* zlibVersion(void);\nconst char* zv(void) { return zlibVersion(); }\n",
          sh_quote(libz));

  Target rhel8 = resolve_target("rhel8");
  DoctorResult plain = run_doctor(input_for(f, &rhel8, false));
  INFO(describe(plain));
  for (const Finding* e : errors(plain)) CHECK_FALSE(contains(e->message, "libz.so.1"));

  DoctorResult r = run_doctor(input_for(f, &rhel8, true));
  INFO(describe(r));
  CHECK(errors(r).empty());
  const auto* z = planned(r.portable, "libz.so.1");
  REQUIRE(z);
  CHECK(z->host_path == fs::canonical(libz).string());
  CHECK(z->users == std::vector<std::string>{"lib/libzuser.so"});
  CHECK(std::find(r.portable.reach.begin(), r.portable.reach.end(), "lib/libzuser.so") != r.portable.reach.end());

  Target node = resolve_target(write_probe(
      t, "z.probe", "2.36",
      {{"libhostdep.so.1", "/usr/lib64/libhostdep.so.1", {"HOSTDEP_1.0"}}, {"libz.so.1", "/usr/lib64/libz.so.1", {}}}));
  DoctorResult p = run_doctor(input_for(f, &node, true));
  INFO(describe(p));
  CHECK(errors(p).empty());
  CHECK(p.portable.libs.empty());
}

TEST_CASE("doctor target: the C++ runtime's versions are judged against the node's", "[doctor][doctor_target]") {
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  env_lib(t, f, "libcxx",
          "#include <sstream>\n#include <string>\n"
          "extern \"C\" int cxx_len(int x) { std::ostringstream s; s << x; return static_cast<int>(s.str().size()); }\n",
          "", "g++");
  RunResult rv = run("readelf -V -W " + sh_quote(f.env + "/lib/libcxx.so") +
                     " | sed -n 's/.*Name: GLIBCXX_\\([0-9][0-9.]*\\) .*/\\1/p' | sort -V | tail -n 1");
  std::string glibcxx = rv.out.substr(0, rv.out.find('\n'));
  REQUIRE(!glibcxx.empty());
  REQUIRE(*DotVersion::parse(glibcxx) > *DotVersion::parse("3.4.19"));   // the C++11 std::string at least
  REQUIRE(*DotVersion::parse(glibcxx) <= *DotVersion::parse("3.4.30"));  // gcc 12's

  Target rhel7 = resolve_target("rhel7");
  DoctorResult r = run_doctor(input_for(f, &rhel7, false));
  INFO(describe(r));
  auto old = with_code(r, "library-too-old-on-target");
  REQUIRE(old.size() == 1);
  CHECK(old[0]->path == "libstdc++.so.6");
  CHECK(contains(old[0]->message, "lib/libcxx.so needs "));
  CHECK(contains(old[0]->message, "GLIBCXX_" + glibcxx));
  CHECK(contains(old[0]->message, "from libstdc++.so.6, which rhel7 (glibc 2.17) lacks"));

  Target bookworm = resolve_target("debian12");
  DoctorResult b = run_doctor(input_for(f, &bookworm, false));
  INFO(describe(b));
  CHECK(with_code(b, "library-too-old-on-target").empty());

  DoctorResult p = run_doctor(input_for(f, &rhel7, true));
  INFO(describe(p));
  CHECK(errors(p).empty());
  const auto* cxx = planned(p.portable, "libstdc++.so.6");
  REQUIRE(cxx);
  CHECK(cxx->users == std::vector<std::string>{"lib/libcxx.so"});
}

TEST_CASE("doctor target: glibc-too-old lists the files by the version they need, newest first",
          "[doctor][doctor_target]") {
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  // dup3 is GLIBC_2.9: newer than glibc-2.4, older than the others.
  env_lib(t, f, "libdup", "#define _GNU_SOURCE\n#include <unistd.h>\nint d(int a, int b) { return dup3(a, b, 0); }\n", "");
  REQUIRE(readelf_max_glibc({f.env + "/lib/libdup.so"}) == "2.9");

  Target old = resolve_target("glibc-2.4");
  DoctorResult r = run_doctor(input_for(f, &old, false));
  INFO(describe(r));
  auto too_old = with_code(r, "glibc-too-old");
  REQUIRE(too_old.size() == 3);
  std::vector<std::string> paths;
  for (const Finding* o : too_old) paths.push_back(o->path);
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<std::string>{"bin/prog", "lib/libdup.so", "lib/libneeds.so"});
  CHECK(r.needs_glibc == readelf_max_glibc({f.prog, f.needs}));
  auto at = [&](const std::string& p) { return std::find(paths.begin(), paths.end(), p) - paths.begin(); };
  CHECK(at("lib/libneeds.so") < at("bin/prog"));  // GLIBC_2.36 before GLIBC_2.34
  // Newest first, by number: "GLIBC_2.9" is older than "GLIBC_2.36".
  CHECK(paths == std::vector<std::string>{"lib/libneeds.so", "bin/prog", "lib/libdup.so"});
}
