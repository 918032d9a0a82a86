// Turning pip's errors into findings that name the missing distribution
// and what required it. The pip outputs are those pip 23.2 prints (kept in
// tests/vectors/pip/); the end-to-end tests run the real pip.
#include <catch2/catch.hpp>

#include <filesystem>

#include "packer/checks/rehearsal.h"
#include "tests/support.h"

using namespace airlock::packer;
using namespace airlock::test;
namespace fs = std::filesystem;

namespace {

std::string vector_file(const std::string& name) { return slurp(source_dir() + "/tests/vectors/pip/" + name); }

WheelInfo fake_wheel(const std::string& name, const std::string& version, const std::string& file,
                     std::vector<std::string> requires_dist = {}) {
  WheelInfo w;
  w.filename = file;
  w.metadata.name = name;
  w.metadata.version = version;
  w.metadata.requires_dist = std::move(requires_dist);
  return w;
}

RehearsalInput input(const TempDir& t) {
  RehearsalInput in;
  in.interpreter = "/env/bin/python3.12";
  in.python_tag = "cp312";
  in.platform_tag = "linux_x86_64";
  in.wheelhouse = "/wh";
  spit(t / "requirements.txt", "# pinned\ntinyapp==2.1.0\nfastmath==0.3.0\n");
  in.requirements = t / "requirements.txt";
  return in;
}

}  // namespace

TEST_CASE("check rehearsal: a transitive dependency pip cannot find names its requirer", "[check][rehearsal]") {
  TempDir t;
  RehearsalInput in = input(t);
  in.wheels = {fake_wheel("tinyapp", "2.1.0", "tinyapp-2.1.0-py3-none-any.whl", {"tinydep"})};
  auto f = findings_from_pip_errors(vector_file("missing_transitive.stderr"), in);
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == Severity::kError);
  CHECK(f[0].code == "missing-distribution");
  CHECK(f[0].path == "tinydep");
  CHECK(f[0].message == "tinydep, required by tinyapp: not in the wheelhouse");
  CHECK(f[0].hint.find("pip download --only-binary :all: -d /wh 'tinydep'") != std::string::npos);
}

TEST_CASE("check rehearsal: without pip's (from X) the requirer comes from the requirements file", "[check][rehearsal]") {
  TempDir t;
  RehearsalInput in = input(t);
  auto f = findings_from_pip_errors(vector_file("missing_direct.stderr"), in);
  REQUIRE(f.size() == 1);
  CHECK(f[0].code == "missing-distribution");
  CHECK(f[0].message == "fastmath==0.3.0, required by the requirements file (requirements.txt, line 3): not in the wheelhouse");
}

TEST_CASE("check rehearsal: without pip's (from X) the requirer comes from the wheels' Requires-Dist", "[check][rehearsal]") {
  TempDir t;
  RehearsalInput in = input(t);
  in.wheels = {fake_wheel("tinyapp", "2.1.0", "tinyapp-2.1.0-py3-none-any.whl", {"Tiny_Dep>=1.0 ; python_version >= '3'"})};
  auto f = findings_from_pip_errors(
      "ERROR: Could not find a version that satisfies the requirement tiny-dep>=1.0 (from versions: none)\n", in);
  REQUIRE(f.size() == 1);
  CHECK(f[0].message.find("required by tinyapp 2.1.0 (Requires-Dist: Tiny_Dep>=1.0") != std::string::npos);
}

TEST_CASE("check rehearsal: a wheel with the wrong tags is named as incompatible", "[check][rehearsal]") {
  TempDir t;
  RehearsalInput in = input(t);
  in.wheels = {fake_wheel("fastmath", "0.3.0", "fastmath-0.3.0-cp311-cp311-linux_x86_64.whl")};
  auto f = findings_from_pip_errors(vector_file("missing_direct.stderr"), in);
  REQUIRE(f.size() == 1);
  CHECK(f[0].code == "incompatible-distribution");
  CHECK(f[0].message.find("fastmath-0.3.0-cp311-cp311-linux_x86_64.whl") != std::string::npos);
  CHECK(f[0].message.find("cp312") != std::string::npos);
}

TEST_CASE("check rehearsal: requirers with parentheses and version conflicts", "[check][rehearsal]") {
  TempDir t;
  RehearsalInput in = input(t);
  auto f = findings_from_pip_errors(
      "ERROR: Could not find a version that satisfies the requirement six>=2 (from -r /x/req.txt (line 4)) "
      "(from versions: 1.16.0)\n",
      in);
  REQUIRE(f.size() == 1);
  CHECK(f[0].message == "six>=2, required by the requirements file (/x/req.txt (line 4)): not in the wheelhouse");
  auto c = findings_from_pip_errors(vector_file("conflict.output"), in);
  REQUIRE(c.size() == 1);
  CHECK(c[0].code == "dependency-conflict");
  CHECK(c[0].message.find("tinyapp 2.1.0 depends on tinydep==2.0") != std::string::npos);
}

TEST_CASE("check rehearsal: an unknown pip failure is still an error with pip's words", "[check][rehearsal]") {
  TempDir t;
  RehearsalInput in = input(t);
  auto f = findings_from_pip_errors("ERROR: Invalid requirement: 'tiny app'\n", in);
  REQUIRE(f.size() == 1);
  CHECK(f[0].code == "rehearsal-failed");
  CHECK(f[0].message.find("Invalid requirement: 'tiny app'") != std::string::npos);
}
