#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "packer/handling/sbom.h"
#include "packer/checks/wheel.h"
#include "tests/support.h"

using namespace airlock::packer;
using namespace airlock::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string mkwheel(const TempDir& t, const std::string& args) {
  RunResult r = run("python3 " + sh_quote(source_dir() + "/tests/tools/mkwheel.py") + " " + sh_quote(t / "wh") + " " + args);
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

// sha256sum's answer, independent of the code under test.
std::string sha256sum(const std::string& path) {
  RunResult r = run("sha256sum " + sh_quote(path));
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, 64);
}

const json* find_component(const json& bom, const std::string& purl) {
  for (const json& c : bom["components"])
    if (c.value("purl", "") == purl) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("sbom: PEP 503 names and purls", "[sbom]") {
  CHECK(normalize_name("Foo_Bar.baz--Qux") == "foo-bar-baz-qux");
  CHECK(pypi_purl("Typing_Extensions", "4.8.0") == "pkg:pypi/typing-extensions@4.8.0");
  CHECK(pypi_purl("x", "1.0+local") == "pkg:pypi/x@1.0%2Blocal");
  Requirement r = parse_requirement("Foo.Bar[x,y] (>=1.0) ; extra == 'test'");
  CHECK(r.name == "Foo.Bar");
  CHECK(r.specifier == ">=1.0");
  CHECK(r.only_for_extra());
  CHECK_FALSE(parse_requirement("six>=1.5; python_version < '3'").only_for_extra());
}

TEST_CASE("sbom: metadata licence fields", "[sbom]") {
  Metadata m = parse_metadata(
      "Metadata-Version: 2.1\nName: demo\nVersion: 1.2\nLicense: BSD\n"
      "Classifier: License :: OSI Approved :: BSD License\nClassifier: Programming Language :: Python\n"
      "Requires-Dist: numpy (>=1.20)\n\nLicense: not-a-header-this-is-the-body\n");
  CHECK(m.name == "demo");
  CHECK(m.version == "1.2");
  CHECK(license_names(m) == std::vector<std::string>{"BSD", "BSD License"});
  CHECK(m.requires_dist == std::vector<std::string>{"numpy (>=1.20)"});
  Metadata e = parse_metadata("Name: x\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\nLicense: MIT\n");
  CHECK(license_names(e) == std::vector<std::string>{"MIT OR Apache-2.0"});
  Metadata longtext = parse_metadata("Name: x\nVersion: 1\nLicense: Copyright (c) someone\n        all rights\n");
  CHECK(license_names(longtext).empty());
}

TEST_CASE("sbom: valid CycloneDX 1.5 with the wheels' purls and hashes and dependencies", "[sbom]") {
  TempDir t;
  std::string dep = mkwheel(t, "tinydep 1.0.0 --license Apache-2.0");
  std::string app = mkwheel(t, "Tiny_App 2.1.0 --requires tinydep --license MIT");
  // A prefix with one installed distribution.
  fs::create_directories(t.path() / "env/lib/python3.12/site-packages/pip-23.2.1.dist-info");
  spit(t / "env/lib/python3.12/site-packages/pip-23.2.1.dist-info/METADATA",
       "Metadata-Version: 2.1\nName: pip\nVersion: 23.2.1\nLicense: MIT\n\nbody\n");

  SbomInput in;
  in.env_dir = t / "env";
  in.python_version = "3.12.1";
  in.wheels = {read_wheel(dep), read_wheel(app)};
  in.bundle_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  in.bundle_name = "demo.sealed";
  std::string text = make_sbom(in);
  spit(t / "sbom.cdx.json", text);

  RunResult v = run("/usr/bin/python3 " + sh_quote(source_dir() + "/tests/tools/validate_cdx.py") + " " +
                    sh_quote(source_dir() + "/tests/vendor/cyclonedx") + " " + sh_quote(t / "sbom.cdx.json"));
  INFO(v.out << v.err);
  REQUIRE(v.exit_code == 0);

  json bom = json::parse(text);
  CHECK(bom["specVersion"] == "1.5");
  CHECK(bom["serialNumber"] == "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e");
  CHECK(bom["metadata"]["tools"]["components"][0]["name"] == "airlock");
  const json* cdep = find_component(bom, "pkg:pypi/tinydep@1.0.0");
  const json* capp = find_component(bom, "pkg:pypi/tiny-app@2.1.0");
  const json* cpip = find_component(bom, "pkg:pypi/pip@23.2.1");
  REQUIRE(cdep);
  REQUIRE(capp);
  REQUIRE(cpip);
  CHECK((*cdep)["hashes"][0]["alg"] == "SHA-256");
  CHECK((*cdep)["hashes"][0]["content"] == sha256sum(dep));
  CHECK((*capp)["hashes"][0]["content"] == sha256sum(app));
  CHECK((*capp)["licenses"][0]["license"]["name"] == "MIT");
  CHECK((*cpip)["licenses"][0]["license"]["name"] == "MIT");
  bool interpreter = false;
  for (const json& c : bom["components"])
    if (c["name"] == "cpython" && c["version"] == "3.12.1") interpreter = true;
  CHECK(interpreter);
  bool edge = false;
  for (const json& d : bom["dependencies"])
    if (d["ref"] == (*capp)["bom-ref"])
      for (const json& on : d["dependsOn"]) edge = edge || on == (*cdep)["bom-ref"];
  CHECK(edge);
}

TEST_CASE("sbom: the validator rejects a document the schema forbids", "[sbom]") {
  // Guards the guard: a broken SBOM must fail the same validation.
  TempDir t;
  spit(t / "bad.json", R"({"bomFormat":"CycloneDX","specVersion":"1.5","version":1,
       "components":[{"type":"wheel","name":"x","hashes":[{"alg":"SHA-256","content":"zz"}]}]})");
  RunResult v = run("/usr/bin/python3 " + sh_quote(source_dir() + "/tests/tools/validate_cdx.py") + " " +
                    sh_quote(source_dir() + "/tests/vendor/cyclonedx") + " " + sh_quote(t / "bad.json"));
  CHECK(v.exit_code == 1);
  CHECK(v.out.find("invalid at /components/0") != std::string::npos);
}

TEST_CASE("sbom: conda-meta records become pkg:conda components", "[sbom]") {
  TempDir t;
  fs::create_directories(t.path() / "env/conda-meta");
  spit(t / "env/conda-meta/zlib-1.2.13-h5eee18b_0.json",
       R"({"name":"zlib","version":"1.2.13","build":"h5eee18b_0","subdir":"linux-64","license":"Zlib",
           "sha256":"0000000000000000000000000000000000000000000000000000000000000000","depends":["libgcc-ng >=11.2.0"]})");
  spit(t / "env/conda-meta/history", "not json\n");
  auto dists = installed_distributions(t / "env");
  REQUIRE(dists.size() == 1);
  CHECK(dists[0].purl == "pkg:conda/zlib@1.2.13?build=h5eee18b_0&subdir=linux-64");
  SbomInput in;
  in.env_dir = t / "env";
  spit(t / "sbom.json", make_sbom(in));
  RunResult v = run("/usr/bin/python3 " + sh_quote(source_dir() + "/tests/tools/validate_cdx.py") + " " +
                    sh_quote(source_dir() + "/tests/vendor/cyclonedx") + " " + sh_quote(t / "sbom.json"));
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
}
