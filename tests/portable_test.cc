// packer/portable: builds what the doctor planned for --portable with
// Debian's patchelf, on the gcc-built environment of
// tests/portable_fixture.h; then places the patched program, the carried
// runtime and the environment as the unpacker would and runs it.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "common/elf/elf.h"
#include "packer/checks/doctor.h"
#include "packer/stream/environment.h"
#include "packer/target/portable.h"
#include "packer/target/target.h"
#include "tests/portable_fixture.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::packer;
using namespace airlock::test;
namespace fs = std::filesystem;

namespace {

// sha256sum's hex digest of each of `paths`, in one run.
std::map<std::string, std::string> sha256sums(const std::vector<std::string>& paths) {
  std::string args;
  for (const auto& p : paths) args += " " + sh_quote(p);
  RunResult r = run("sha256sum" + args);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::string> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (line.size() > 66) out[line.substr(66)] = line.substr(0, 64);
  REQUIRE(out.size() == paths.size());
  return out;
}

std::string sha256sum(const std::string& path) { return sha256sums({path}).at(path); }

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) out.push_back(part);
  return out;
}

struct Planned {
  PortableFixture f;
  Environment env;
  PortablePlan plan;
};

Planned plan_for(const TempDir& t, const std::string& target_name) {
  Planned p;
  p.f = build_portable_fixture(t);
  p.env.prefix = fs::canonical(p.f.env).string();
  p.env.given = p.f.env;
  p.env.prefix_strings = {p.env.prefix};
  Target target = resolve_target(target_name);
  DoctorInput in;
  in.env_dir = p.env.prefix;
  in.site_packages = "lib/python3.12/site-packages";
  in.host_dirs = {p.f.host, "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"};
  in.target = &target;
  in.portable = true;
  DoctorResult r = run_doctor(in);
  for (const Finding& x : r.findings) {
    INFO(x.code << ": " << x.message);
    REQUIRE(x.severity != Severity::kError);
  }
  p.plan = r.portable;
  return p;
}

const PortableBuild::Replacement& replacement_of(const PortableBuild& b, const std::string& original) {
  struct stat st {};
  REQUIRE(::stat(original.c_str(), &st) == 0);
  auto it = b.replacements.find({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
  REQUIRE(it != b.replacements.end());
  return it->second;
}

const CarriedFile* carried(const PortableBuild& b, const std::string& path) {
  for (const CarriedFile& c : b.carried)
    if (c.path == path) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("portable: the interpreter placeholder fills the room reserved for DEST's loader path", "[portable]") {
  std::string p = interp_placeholder();
  CHECK(p.size() == kInterpRoom - 1);
  CHECK(p.size() == 1023);
  CHECK(p.rfind("/airlock-runtime-not-placed-run-unpacker-unpack/", 0) == 0);
  CHECK(p.size() > 21);
  CHECK(p.substr(p.size() - 21) == "/ld-linux-x86-64.so.2");
  CHECK_FALSE(fs::exists(p));
}

TEST_CASE("portable: an empty plan builds nothing", "[portable]") {
  Environment env;
  env.prefix = "/nonexistent/env";
  PortableBuild b = build_portable(PortablePlan{}, env, "debian12 (glibc 2.36)");
  CHECK(b.runtime_dir.empty());
  CHECK(b.replacements.empty());
  CHECK(b.carried.empty());
  CHECK(b.record["target"] == "debian12 (glibc 2.36)");
  CHECK_FALSE(b.record.contains("carries_glibc"));
}

TEST_CASE("portable: carried libraries, this host's C library and patched copies for rhel8", "[portable]") {
  REQUIRE_NOTHROW(require_patchelf());
  TempDir t;
  Planned p = plan_for(t, "rhel8");
  const PortableFixture& f = p.f;
  REQUIRE(p.plan.carry_glibc);
  REQUIRE(p.plan.libs.size() == 2);

  const std::vector<std::string> originals = {f.prog, f.needs, f.hostdep, f.hostdeep};
  const auto before = sha256sums(originals);

  PortableBuild b = build_portable(p.plan, p.env, "rhel8 (glibc 2.28)");
  REQUIRE_FALSE(b.runtime_dir.empty());
  const std::string rt = b.runtime_dir;

  // The originals are never modified.
  CHECK(sha256sums(originals) == before);

  // Grafted libraries: each looks beside itself first.
  for (const char* lib : {"libhostdep.so.1", "libhostdeep.so.1"}) {
    INFO(lib);
    std::string copy = rt + "/lib/" + lib;
    REQUIRE(fs::is_regular_file(copy));
    elf::DynamicInfo info = elf::read_dynamic_file(copy);
    REQUIRE(info.runpath);
    CHECK(info.runpath->value == "$ORIGIN");
    CHECK(info.soname == lib);
  }
  // This host's C library runtime, copied verbatim.
  for (const char* g : {"ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libpthread.so.0", "libnss_files.so.2"}) {
    INFO(g);
    std::string copy = rt + "/glibc/" + g, host = p.plan.glibc_dir + "/" + g;
    REQUIRE(fs::is_regular_file(copy));
    auto sums = sha256sums({copy, host});
    CHECK(sums.at(copy) == sums.at(host));
  }

  // bin/prog: the placeholder interpreter, a DT_RPATH reaching its own
  // libraries, the carried glibc and the grafted directory, and the carried
  // glibc libraries preloaded.
  const auto& prog = replacement_of(b, f.prog);
  CHECK(prog.rel == "bin/prog");
  CHECK(prog.size == fs::file_size(prog.source));
  elf::DynamicInfo pi = elf::read_dynamic_file(prog.source);
  REQUIRE(pi.interp);
  CHECK(pi.interp->value == interp_placeholder());
  CHECK(pi.interp->size == kInterpRoom);
  REQUIRE(pi.rpath);
  CHECK_FALSE(pi.runpath);  // DT_RPATH also serves the libraries it loads
  auto rpath = split(pi.rpath->value, ':');
  CHECK(std::find(rpath.begin(), rpath.end(), "$ORIGIN/../lib") != rpath.end());
  CHECK(std::find(rpath.begin(), rpath.end(), "$ORIGIN/../airlock-runtime/glibc") != rpath.end());
  CHECK(std::find(rpath.begin(), rpath.end(), "$ORIGIN/../airlock-runtime/lib") != rpath.end());
  for (const char* n : {"libneeds.so", "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1"}) {
    INFO(n);
    CHECK(std::find(pi.needed.begin(), pi.needed.end(), n) != pi.needed.end());
  }
  for (const std::string& n : pi.needed) {  // everything else it loads at start is carried
    INFO(n);
    if (n != "libneeds.so") CHECK(fs::is_regular_file(rt + "/glibc/" + n));
  }

  // lib/libneeds.so: the grafted directory on its own search path.
  const auto& needs = replacement_of(b, f.needs);
  CHECK(needs.rel == "lib/libneeds.so");
  elf::DynamicInfo ni = elf::read_dynamic_file(needs.source);
  CHECK_FALSE(ni.interp);
  REQUIRE(ni.runpath);
  auto runpath = split(ni.runpath->value, ':');
  CHECK(std::find(runpath.begin(), runpath.end(), "$ORIGIN/../airlock-runtime/lib") != runpath.end());
  CHECK(ni.needed == elf::read_dynamic_file(f.needs).needed);
  CHECK(b.replacements.size() == 2);

  // What was carried, with hashes of the copies.
  const CarriedFile* dep = carried(b, "env/airlock-runtime/lib/libhostdep.so.1");
  REQUIRE(dep);
  CHECK(dep->kind == "library");
  CHECK(dep->soname == "libhostdep.so.1");
  CHECK(dep->host_path == fs::canonical(f.hostdep).string());
  CHECK(dep->sha256 == sha256sum(rt + "/lib/libhostdep.so.1"));
  CHECK(dep->sha256 != before.at(f.hostdep));  // the copy, with its new RUNPATH
  CHECK(dep->size == fs::file_size(rt + "/lib/libhostdep.so.1"));
  CHECK(dep->package.empty());  // no Debian package ships a test's file
  const CarriedFile* libc = carried(b, "env/airlock-runtime/glibc/libc.so.6");
  REQUIRE(libc);
  CHECK(libc->kind == "glibc");
  CHECK(libc->host_path == fs::canonical(p.plan.glibc_dir + "/libc.so.6").string());
  CHECK(libc->sha256 == sha256sum(rt + "/glibc/libc.so.6"));
  RunResult dpkg = run("dpkg-query -S " + sh_quote(libc->host_path) + " || dpkg-query -S " +
                       sh_quote(libc->host_path.substr(libc->host_path.rfind("/usr/", 0) == 0 ? 4 : 0)));
  if (dpkg.exit_code == 0) {
    CHECK(dpkg.out.rfind(libc->package + ": ", 0) == 0);
    CHECK_FALSE(libc->version.empty());
  }
  uint64_t total = 0;
  std::vector<std::string> copies;
  for (const CarriedFile& c : b.carried) copies.push_back(rt + "/" + c.path.substr(std::string("env/airlock-runtime/").size()));
  auto sums = sha256sums(copies);
  for (size_t i = 0; i < b.carried.size(); ++i) {
    INFO(b.carried[i].path);
    CHECK(b.carried[i].sha256 == sums.at(copies[i]));
    CHECK(b.carried[i].size == fs::file_size(copies[i]));
    total += b.carried[i].size;
  }
  CHECK(b.carried_bytes == total);

  // The manifest's "runtime" record.
  const auto& rec = b.record;
  CHECK(rec["target"] == "rhel8 (glibc 2.28)");
  CHECK(rec["dir"] == "env/airlock-runtime");
  CHECK(rec["carries_glibc"] == host_glibc_release());
  CHECK(rec["glibc_kernel"] == p.plan.glibc_kernel);
  CHECK(rec["loader"] == "env/airlock-runtime/glibc/ld-linux-x86-64.so.2");
  CHECK(rec["interp_placeholder"] == interp_placeholder());
  CHECK(rec["interp"] == nlohmann::json::array({"env/bin/prog"}));
  REQUIRE(rec["carried"].size() == b.carried.size());
  for (size_t i = 0; i < b.carried.size(); ++i) CHECK(rec["carried"][i]["sha256"] == b.carried[i].sha256);
  REQUIRE(rec["patched"].size() == 2);
  CHECK(rec["patched"][0]["path"] == "env/bin/prog");
  CHECK(rec["patched"][0]["edits"] == "interpreter, rpath, preloaded C library");
  CHECK(rec["patched"][1]["path"] == "env/lib/libneeds.so");
  CHECK(rec["patched"][1]["edits"] == "runpath");

  // The temporary tree goes with the build.
  b.tmp.reset();
  CHECK_FALSE(fs::exists(rt));
}

TEST_CASE("portable: placed as the unpacker places it, the program runs on the carried C library", "[portable]") {
  REQUIRE_NOTHROW(require_patchelf());
  TempDir t;
  Planned p = plan_for(t, "rhel8");
  PortableBuild b = build_portable(p.plan, p.env, "rhel8 (glibc 2.28)");
  REQUIRE_FALSE(b.runtime_dir.empty());

  // DEST/env as the unpacker lays it out: the patched copies in place of
  // the originals, the carried runtime beside them.
  fs::create_directories(t / "dest/env/bin");
  fs::create_directories(t / "dest/env/lib");
  const std::string dest = fs::canonical(t / "dest").string();
  const std::string prog = dest + "/env/bin/prog";
  fs::copy_file(replacement_of(b, p.f.prog).source, prog);
  fs::copy_file(replacement_of(b, p.f.needs).source, dest + "/env/lib/libneeds.so");
  fs::copy(b.runtime_dir, dest + "/env/airlock-runtime", fs::copy_options::recursive);
  fs::remove_all(p.f.host);  // the carried copies must be what is found

  // Not yet placed: the placeholder loader exists nowhere.
  RunResult unplaced = run("env -i " + sh_quote(prog));
  CHECK(unplaced.exit_code != 0);

  const std::string loader = dest + "/env/airlock-runtime/glibc/ld-linux-x86-64.so.2";
  elf::rewrite_interp_file(prog, interp_placeholder(), loader);
  REQUIRE(elf::read_dynamic_file(prog).interp->value == loader);

  RunResult r = run("env -i " + sh_quote(prog));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto lines = split(r.out, '\n');
  REQUIRE(lines.size() >= 2);
  CHECK(lines[0] == "glibc " + host_glibc_release());
  CHECK(lines[1] == "answer 42");
  // Every shared object it mapped, the loader and libc included, is
  // DEST's: the carried runtime, the grafted libraries, its own library.
  std::vector<std::string> maps;
  for (const std::string& l : lines)
    if (l.rfind("map ", 0) == 0) maps.push_back(l.substr(4));
  auto mapped = [&](const std::string& path) { return std::find(maps.begin(), maps.end(), path) != maps.end(); };
  CHECK(mapped(loader));
  CHECK(mapped(dest + "/env/airlock-runtime/glibc/libc.so.6"));
  CHECK(mapped(dest + "/env/airlock-runtime/glibc/libm.so.6"));
  CHECK(mapped(dest + "/env/airlock-runtime/lib/libhostdep.so.1"));
  CHECK(mapped(dest + "/env/airlock-runtime/lib/libhostdeep.so.1"));
  CHECK(mapped(dest + "/env/lib/libneeds.so"));
  for (const std::string& m : maps) {
    INFO(m);
    CHECK(m.rfind(dest + "/env/", 0) == 0);
  }
}

TEST_CASE("portable: debian12 has this host's C library: only the search paths change", "[portable]") {
  REQUIRE_NOTHROW(require_patchelf());
  TempDir t;
  Planned p = plan_for(t, "debian12");
  REQUIRE_FALSE(p.plan.carry_glibc);
  REQUIRE(p.plan.libs.size() == 2);
  PortableBuild b = build_portable(p.plan, p.env, "debian12 (glibc 2.36)");
  REQUIRE_FALSE(b.runtime_dir.empty());
  CHECK(fs::is_regular_file(b.runtime_dir + "/lib/libhostdep.so.1"));
  CHECK_FALSE(fs::exists(b.runtime_dir + "/glibc"));
  for (const CarriedFile& c : b.carried) CHECK(c.kind == "library");
  CHECK_FALSE(b.record.contains("carries_glibc"));
  CHECK_FALSE(b.record.contains("loader"));

  elf::DynamicInfo orig = elf::read_dynamic_file(p.f.prog);
  elf::DynamicInfo pi = elf::read_dynamic_file(replacement_of(b, p.f.prog).source);
  REQUIRE(pi.interp);
  CHECK(pi.interp->value == orig.interp->value);  // the node's own loader
  CHECK(pi.needed == orig.needed);
  REQUIRE(pi.rpath);
  CHECK(contains(pi.rpath->value, "$ORIGIN/../airlock-runtime/lib"));
  CHECK_FALSE(contains(pi.rpath->value, "airlock-runtime/glibc"));
  CHECK(b.record["patched"][0]["edits"] == "rpath");

  // Placed, it runs with the node's loader and the grafted libraries.
  fs::create_directories(t / "dest/env/bin");
  fs::create_directories(t / "dest/env/lib");
  const std::string dest = fs::canonical(t / "dest").string();
  fs::copy_file(replacement_of(b, p.f.prog).source, dest + "/env/bin/prog");
  fs::copy_file(replacement_of(b, p.f.needs).source, dest + "/env/lib/libneeds.so");
  fs::copy(b.runtime_dir, dest + "/env/airlock-runtime", fs::copy_options::recursive);
  fs::remove_all(p.f.host);
  RunResult r = run("env -i " + sh_quote(dest + "/env/bin/prog"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "answer 42\n"));
  CHECK(contains(r.out, "map " + dest + "/env/airlock-runtime/lib/libhostdep.so.1\n"));
  CHECK_FALSE(contains(r.out, "map " + dest + "/env/airlock-runtime/glibc/"));
}

TEST_CASE("portable: absolute in-environment search paths are relocated and nested files reach the grafted libraries",
          "[portable]") {
  REQUIRE_NOTHROW(require_patchelf());
  TempDir t;
  PortableFixture f = build_portable_fixture(t);
  const std::string prefix = fs::canonical(f.env).string();
  // bin/prog built with the environment's absolute path, as a prefix built in place has it.
  portable_gcc("-o " + sh_quote(f.prog) + " " + sh_quote(t / "src/prog.c") + " -L" + sh_quote(f.env + "/lib") +
               " -lneeds -Wl,-rpath-link," + sh_quote(f.host) + " -Wl,--enable-new-dtags,-rpath," +
               sh_quote(prefix + "/lib"));
  // An extension module deep in site-packages that needs the host library.
  const std::string ext = f.env + "/lib/python3.12/site-packages/pkg/_ext.so";
  fs::create_directories(fs::path(ext).parent_path());
  spit(t / "src/ext.c", "extern int hostdep_answer(void);\nint ext_answer(void) { return hostdep_answer(); }\n");
  portable_gcc("-shared -fPIC -o " + sh_quote(ext) + " " + sh_quote(t / "src/ext.c") + " " + sh_quote(f.hostdep));

  Environment env;
  env.prefix = prefix;
  env.prefix_strings = {prefix};
  Target rhel8 = resolve_target("rhel8");
  DoctorInput in;
  in.env_dir = prefix;
  in.prefix_strings = {prefix};
  in.site_packages = "lib/python3.12/site-packages";
  in.host_dirs = {f.host, "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"};
  in.target = &rhel8;
  in.portable = true;
  DoctorResult r = run_doctor(in);
  for (const Finding& x : r.findings) {
    INFO(x.code << ": " << x.message);
    CHECK(x.severity != Severity::kError);
  }
  CHECK(r.portable.reach ==
        std::vector<std::string>{"lib/libneeds.so", "lib/python3.12/site-packages/pkg/_ext.so"});

  PortableBuild b = build_portable(r.portable, env, rhel8.label());
  elf::DynamicInfo pi = elf::read_dynamic_file(replacement_of(b, f.prog).source);
  REQUIRE(pi.rpath);
  auto rpath = split(pi.rpath->value, ':');
  CHECK(std::find(rpath.begin(), rpath.end(), "$ORIGIN/../lib") != rpath.end());
  CHECK_FALSE(contains(pi.rpath->value, prefix));  // the build path is not carried to the node

  const auto& er = replacement_of(b, ext);
  CHECK(er.rel == "lib/python3.12/site-packages/pkg/_ext.so");
  elf::DynamicInfo ei = elf::read_dynamic_file(er.source);
  REQUIRE(ei.runpath);
  CHECK(ei.runpath->value == "$ORIGIN/../../../../airlock-runtime/lib");
  // ... which, from the file's directory, is env/airlock-runtime/lib.
  CHECK((fs::path("env/lib/python3.12/site-packages/pkg") / "../../../../airlock-runtime/lib").lexically_normal() ==
        fs::path("env/airlock-runtime/lib"));
  bool recorded = false;
  for (const auto& e : b.record["patched"])
    if (e["path"] == "env/lib/python3.12/site-packages/pkg/_ext.so" && e["edits"] == "runpath") recorded = true;
  CHECK(recorded);
}
