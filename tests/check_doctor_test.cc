// The shared-library doctor against real gcc-built libraries laid out like
// an environment (no Python needed): each test builds what it inspects.
#include <catch2/catch.hpp>

#include <filesystem>

#include "packer/checks/doctor.h"
#include "packer/checks/host_libraries.h"
#include "packer/checks/pack_checks.h"
#include "packer/stream/read_ahead.h"
#include "packer/stream/walk.h"
#include "tests/support.h"

using namespace airlock::packer;
using namespace airlock::test;
namespace fs = std::filesystem;

namespace {

void gcc(const std::string& args) {
  RunResult r = run("gcc " + args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// lib<name>.so with soname lib<name>.so, built into dir.
void make_lib(const TempDir& t, const std::string& dir, const std::string& name) {
  fs::create_directories(dir);
  spit(t / (name + ".c"), "int " + name + "_answer(void) { return 42; }\n");
  gcc("-shared -fPIC -o " + sh_quote(dir + "/lib" + name + ".so") + " -Wl,-soname,lib" + name + ".so " +
      sh_quote(t / (name + ".c")));
}

// A shared object needing lib<lib>.so, with the given RUNPATH.
void make_user(const TempDir& t, const std::string& out, const std::string& lib, const std::string& libdir,
               const std::string& runpath) {
  fs::create_directories(fs::path(out).parent_path());
  spit(t / "user.c", "extern int " + lib + "_answer(void);\nint use(void) { return " + lib + "_answer(); }\n");
  gcc("-shared -fPIC -o " + sh_quote(out) + " " + sh_quote(t / "user.c") + " -L" + sh_quote(libdir) + " -l" + lib +
      (runpath.empty() ? "" : " -Wl,--enable-new-dtags,-rpath," + sh_quote(runpath)));
}

std::vector<const Finding*> with_code(const DoctorResult& r, const std::string& code) {
  std::vector<const Finding*> out;
  for (const Finding& f : r.findings)
    if (f.code == code) out.push_back(&f);
  return out;
}

DoctorInput input_for(const TempDir& t, const std::vector<std::string>& host_dirs) {
  DoctorInput in;
  in.env_dir = t / "env";
  in.site_packages = "lib/python3.12/site-packages";
  in.host_dirs = host_dirs;
  return in;
}

}  // namespace

TEST_CASE("check doctor: $ORIGIN RUNPATH inside the environment resolves and a deleted library is an error naming both",
          "[check][doctor]") {
  TempDir t;
  make_lib(t, t / "env/lib", "answer");
  std::string ext = t / "env/lib/python3.12/site-packages/pkg/_speed.so";
  make_user(t, ext, "answer", t / "env/lib", "$ORIGIN/../../..");
  DoctorInput in = input_for(t, {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"});

  DoctorResult ok = run_doctor(in);
  CHECK(ok.elf_files == 2);
  CHECK(with_code(ok, "library-not-found").empty());
  CHECK(with_code(ok, "host-library").empty());  // libc.so.6 is in the baseline

  fs::remove(t / "env/lib/libanswer.so");
  DoctorResult bad = run_doctor(in);
  auto missing = with_code(bad, "library-not-found");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0]->severity == Severity::kError);
  CHECK(missing[0]->path == "lib/python3.12/site-packages/pkg/_speed.so");
  CHECK(missing[0]->message.find("libanswer.so") != std::string::npos);
}

TEST_CASE("check doctor: a library elsewhere in the environment but off the search path is named", "[check][doctor]") {
  TempDir t;
  make_lib(t, t / "env/opt/private", "answer");
  make_user(t, t / "env/lib/python3.12/site-packages/pkg/_speed.so", "answer", t / "env/opt/private", "");
  DoctorResult r = run_doctor(input_for(t, {"/usr/lib/x86_64-linux-gnu"}));
  auto missing = with_code(r, "library-not-found");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0]->message.find("opt/private/libanswer.so") != std::string::npos);
}

TEST_CASE("check doctor: a library only on the host is a warning with its host path", "[check][doctor]") {
  TempDir t;
  make_lib(t, t / "host", "hostonly");
  make_user(t, t / "env/lib/libuser.so", "hostonly", t / "host", "");
  DoctorResult r = run_doctor(input_for(t, {t / "host", "/lib/x86_64-linux-gnu"}));
  auto host = with_code(r, "host-library");
  REQUIRE(host.size() == 1);
  CHECK(host[0]->severity == Severity::kWarning);
  CHECK(host[0]->path == t / "host/libhostonly.so");
  CHECK(host[0]->message.find("lib/libuser.so") != std::string::npos);
  CHECK(with_code(r, "library-not-found").empty());
}

TEST_CASE("check doctor: absolute RUNPATHs - the old prefix counts as inside and others warn", "[check][doctor]") {
  TempDir t;
  make_lib(t, t / "env/lib", "answer");
  // Built with the prefix the environment had before it was moved.
  make_user(t, t / "env/bin/tool.so", "answer", t / "env/lib", "/old/prefix/lib");
  make_user(t, t / "env/bin/other.so", "answer", t / "env/lib", "/opt/elsewhere/lib");
  DoctorInput in = input_for(t, {"/usr/lib/x86_64-linux-gnu"});
  in.prefix_strings = {"/old/prefix"};
  DoctorResult r = run_doctor(in);
  auto missing = with_code(r, "library-not-found");
  REQUIRE(missing.size() == 1);  // other.so: /opt/elsewhere/lib has no libanswer.so
  CHECK(missing[0]->path == "bin/other.so");
  auto abs = with_code(r, "absolute-runpath");
  REQUIRE(abs.size() == 1);
  CHECK(abs[0]->message.find("/opt/elsewhere/lib") != std::string::npos);
  CHECK(abs[0]->message.find("bin/other.so") != std::string::npos);
}

TEST_CASE("check doctor: ELF members of wheels are checked at their install path and NAME.libs dirs resolve",
          "[check][doctor]") {
  TempDir t;
  fs::create_directories(t.path() / "env");
  // auditwheel layout: pkg/_ext.so with RUNPATH $ORIGIN/../pkg.libs, and a
  // second extension whose library is in no wheel.
  make_lib(t, t / "build/pkg.libs", "vendored");
  make_user(t, t / "build/pkg/_ext.so", "vendored", t / "build/pkg.libs", "$ORIGIN/../pkg.libs");
  make_lib(t, t / "gone", "gone");
  make_user(t, t / "build/pkg/_broken.so", "gone", t / "gone", "$ORIGIN");
  fs::create_directories(t.path() / "build/pkg-1.0.dist-info");
  spit(t / "build/pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n");
  spit(t / "build/pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp312-cp312-linux_x86_64\n");
  RunResult z = run("cd " + sh_quote(t / "build") + " && zip -qr " + sh_quote(t / "pkg-1.0-cp312-cp312-linux_x86_64.whl") +
                    " pkg pkg.libs pkg-1.0.dist-info");
  REQUIRE(z.exit_code == 0);
  DoctorInput in = input_for(t, {"/lib/x86_64-linux-gnu"});
  in.wheels = {t / "pkg-1.0-cp312-cp312-linux_x86_64.whl"};
  DoctorResult r = run_doctor(in);
  CHECK(r.elf_files == 3);
  auto missing = with_code(r, "library-not-found");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0]->path == "pkg-1.0-cp312-cp312-linux_x86_64.whl:pkg/_broken.so");
  CHECK(missing[0]->message.find("libgone.so") != std::string::npos);
}

TEST_CASE("check doctor: the manylinux2014 baseline", "[check][doctor]") {
  CHECK(in_manylinux_baseline("libc.so.6"));
  CHECK(in_manylinux_baseline("libstdc++.so.6"));
  CHECK(in_manylinux_baseline("libz.so.1"));
  CHECK_FALSE(in_manylinux_baseline("libssl.so.3"));
  CHECK_FALSE(in_manylinux_baseline("libcrypt.so.1"));  // dropped after manylinux1
  auto dirs = host_library_dirs();
  CHECK(std::find(dirs.begin(), dirs.end(), "/usr/lib/x86_64-linux-gnu") != dirs.end());
}

// `packer pack` runs the doctor on the ELF tables its stream read (each
// file read once, there) instead of the doctor's own walk: both must give
// the same findings, naming a file reached by several names alike.
TEST_CASE("check doctor: the pack stream's ELF files give the findings of the doctor's own walk",
          "[check][doctor][pack]") {
  TempDir t;
  make_lib(t, t / "env/lib", "answer");
  make_user(t, t / "env/bin/app.so", "answer", t / "env/lib", "$ORIGIN/../lib");
  make_lib(t, t / "gone", "gone");
  make_user(t, t / "env/lib/ext.so", "gone", t / "gone", "");
  fs::remove_all(t / "gone");
  // The file needing the missing library, by three names: a link that the
  // walk meets first, the file itself, and a hardlink after it.
  fs::create_symlink("ext.so", t / "env/lib/a_link.so");
  fs::create_hard_link(t / "env/lib/ext.so", t / "env/lib/z_copy.so");
  DoctorInput in = input_for(t, {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"});
  in.env_dir = fs::canonical(t / "env").string();

  DoctorResult own = run_doctor(in);

  Walker walker({});
  walker.walk(in.env_dir, "env");
  EnvElfCollector collected;
  size_t offered = 0;
  {
    ReadAhead reader(walker.result().entries, {in.env_dir});
    ReadAhead::Event ev;
    while (reader.next(ev)) {
      if (ev.kind == ReadAhead::Kind::kFileEnd) collected.file(*ev.entry, ev.result);
      if (ev.kind == ReadAhead::Kind::kEntry && ev.entry->type == EntryType::kHardlink) collected.hardlink(*ev.entry);
    }
  }
  in.env_files = [&] {
    ++offered;
    return &collected.files();
  };
  DoctorResult streamed = run_doctor(in);
  CHECK(offered == 1);
  CHECK(collected.files().files.size() == 3);  // libanswer.so, app.so, ext.so: each once
  CHECK(collected.files().other_names.size() == 2);

  auto missing = with_code(own, "library-not-found");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0]->path == "lib/ext.so");  // not the link that leads to it
  CHECK(own.elf_files == streamed.elf_files);
  CHECK(own.needed == streamed.needed);
  REQUIRE(own.findings.size() == streamed.findings.size());
  for (size_t i = 0; i < own.findings.size(); ++i) {
    CHECK(own.findings[i].code == streamed.findings[i].code);
    CHECK(own.findings[i].path == streamed.findings[i].path);
    CHECK(own.findings[i].message == streamed.findings[i].message);
  }

  // A null answer (the stream stopped early): the doctor walks itself.
  in.env_files = [] { return static_cast<const EnvElfFiles*>(nullptr); };
  DoctorResult fallback = run_doctor(in);
  CHECK(fallback.findings.size() == own.findings.size());
}
