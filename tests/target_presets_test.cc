// packer/target: dotted and symbol versions, every --target spelling
// (presets, glibc-X.Y, probe files, rejected names) and what each target
// is taken to provide.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/error.h"
#include "common/target/probe_file.h"
#include "packer/target/target.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::packer;

namespace {

DotVersion dv(const std::string& s) {
  auto v = DotVersion::parse(s);
  REQUIRE(v);
  return *v;
}

// The error resolve_target throws for `spec`, or nothing when it resolves.
std::optional<Error> rejection(const std::string& spec) {
  try {
    resolve_target(spec);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

std::vector<std::string> missing(const Target& t, const std::string& soname, const std::vector<std::string>& needed) {
  return t.provides(soname, needed).missing_versions;
}

using Versions = std::vector<std::string>;

}  // namespace

TEST_CASE("target: dotted versions parse numerically and order by number, not by text", "[target][presets]") {
  CHECK(dv("2.28").parts == std::vector<int>{2, 28});
  CHECK(dv("3.4.25").parts == std::vector<int>{3, 4, 25});
  CHECK(dv("7").parts == std::vector<int>{7});
  CHECK(dv("2.2.5").str() == "2.2.5");
  CHECK(dv("2.10").str() == "2.10");

  CHECK(dv("2.9") < dv("2.10"));
  CHECK(dv("2.10") < dv("2.17"));
  CHECK(dv("2.9") < dv("2.17"));
  CHECK(dv("2.2.5") < dv("2.3"));
  CHECK(dv("2.3.4") < dv("2.34"));
  CHECK(dv("3.4.9") < dv("3.4.19"));
  CHECK(dv("2.28") == dv("2.28"));
  CHECK_FALSE(dv("2.28") < dv("2.28"));
  CHECK(dv("2.28") > dv("2.27"));

  for (const char* bad : {"", "2.", ".2", "2..3", "a", "2.x", "x.2", "-1", "2.-1", "+2", " 2.3", "2.3 ", "2,3",
                          "99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(DotVersion::parse(bad));
  }
}

TEST_CASE("target: symbol versions split into family and number; GLIBC_PRIVATE is not a version",
          "[target][presets]") {
  auto v = SymbolVersion::parse("GLIBC_2.34");
  REQUIRE(v);
  CHECK(v->family == "GLIBC");
  CHECK(v->version == dv("2.34"));
  CHECK(v->str() == "GLIBC_2.34");

  v = SymbolVersion::parse("GLIBC_2.2.5");
  REQUIRE(v);
  CHECK(v->version.parts == std::vector<int>{2, 2, 5});

  v = SymbolVersion::parse("GLIBCXX_3.4.26");
  REQUIRE(v);
  CHECK(v->family == "GLIBCXX");
  CHECK(v->version == dv("3.4.26"));

  v = SymbolVersion::parse("CXXABI_1.3.11");
  REQUIRE(v);
  CHECK(v->family == "CXXABI");

  v = SymbolVersion::parse("GCC_7.0.0");
  REQUIRE(v);
  CHECK(v->family == "GCC");
  CHECK(v->version == dv("7.0.0"));

  // A family with an underscore in it: the number is after the last one.
  v = SymbolVersion::parse("NCURSES6_TINFO_6.2");
  REQUIRE(v);
  CHECK(v->family == "NCURSES6_TINFO");
  CHECK(v->version == dv("6.2"));

  CHECK(SymbolVersion::parse("GLIBC_2.9")->version < SymbolVersion::parse("GLIBC_2.10")->version);
  CHECK(SymbolVersion::parse("GLIBC_2.10")->version < SymbolVersion::parse("GLIBC_2.17")->version);

  for (const char* bad : {"GLIBC_PRIVATE", "GLIBC_", "GLIBC", "_2.34", "", "libc.so.6", "GLIBC_2.x"}) {
    INFO(bad);
    CHECK_FALSE(SymbolVersion::parse(bad));
  }
}

TEST_CASE("target: every preset has the glibc, C++ runtime and kernel of its release", "[target][presets]") {
  struct Row {
    const char* name;
    const char* glibc;
    const char* glibcxx;
    const char* cxxabi;
    const char* gcc;
    const char* kernel;
  };
  // docs/targets.md, section 1.
  const Row rows[] = {
      {"rhel7", "2.17", "3.4.19", "1.3.7", "4.8.0", "3.10"},
      {"manylinux2014", "2.17", "3.4.19", "1.3.7", "4.8.0", "3.10"},
      {"rhel8", "2.28", "3.4.25", "1.3.11", "7.0.0", "4.18"},
      {"manylinux_2_28", "2.28", "3.4.25", "1.3.11", "7.0.0", "4.18"},
      {"debian11", "2.31", "3.4.28", "1.3.12", "7.0.0", "5.10"},
      {"ubuntu20.04", "2.31", "3.4.28", "1.3.12", "7.0.0", "5.4"},
      {"rhel9", "2.34", "3.4.29", "1.3.13", "7.0.0", "5.14"},
      {"manylinux_2_34", "2.34", "3.4.29", "1.3.13", "7.0.0", "5.14"},
      {"ubuntu22.04", "2.35", "3.4.30", "1.3.13", "12.0.0", "5.15"},
      {"debian12", "2.36", "3.4.30", "1.3.13", "12.0.0", "6.1"},
      {"ubuntu24.04", "2.39", "3.4.33", "1.3.15", "14.0.0", "6.8"},
  };
  std::vector<std::string> names;
  for (const Row& r : rows) {
    INFO(r.name);
    names.push_back(r.name);
    Target t = resolve_target(r.name);
    CHECK(t.name == r.name);
    CHECK(t.source == TargetSource::kPreset);
    CHECK(t.glibc == dv(r.glibc));
    CHECK(t.glibcxx == dv(r.glibcxx));
    CHECK(t.cxxabi == dv(r.cxxabi));
    CHECK(t.gcc == dv(r.gcc));
    CHECK(t.kernel == r.kernel);
    CHECK(t.arch == "x86_64");
    CHECK_FALSE(t.os.empty());
    CHECK(t.libs.empty());
    CHECK(t.label() == std::string(r.name) + " (glibc " + r.glibc + ")");
    CHECK(t.who() == r.name);
  }
  CHECK(target_presets() == names);
}

TEST_CASE("target: glibc-X.Y takes the C++ runtime of the newest preset that is not newer", "[target][presets]") {
  Target t = resolve_target("glibc-2.28");
  CHECK(t.name == "glibc-2.28");
  CHECK(t.source == TargetSource::kGlibc);
  CHECK(t.glibc == dv("2.28"));
  CHECK(t.glibcxx == dv("3.4.25"));  // rhel8's
  CHECK(t.cxxabi == dv("1.3.11"));
  CHECK(t.kernel.empty());           // not known from a version number
  CHECK(t.label() == "glibc-2.28");
  CHECK(t.who() == "glibc-2.28");

  // Between presets: 2.30 is older than debian11's 2.31, so rhel8's runtime.
  t = resolve_target("glibc-2.30");
  CHECK(t.glibc == dv("2.30"));
  CHECK(t.glibcxx == dv("3.4.25"));
  // 2.9 and 2.10: numbers, not text ("2.9" > "2.10" as strings).
  CHECK(resolve_target("glibc-2.10").glibc > resolve_target("glibc-2.9").glibc);
  // Newer than every preset: the newest one's runtime.
  t = resolve_target("glibc-2.41");
  CHECK(t.glibc == dv("2.41"));
  CHECK(t.glibcxx == dv("3.4.33"));
  CHECK(t.gcc == dv("14.0.0"));

  // Older than every preset (rhel7's 2.17): no C++ runtime newer than the
  // oldest versions of each family is assumed.
  t = resolve_target("glibc-2.4");
  CHECK(t.source == TargetSource::kGlibc);
  CHECK(t.glibc == dv("2.4"));
  CHECK(t.glibcxx < dv("3.4.19"));
  CHECK(t.cxxabi < dv("1.3.7"));
  CHECK(t.gcc < dv("4.8.0"));
  CHECK(missing(t, "libstdc++.so.6", {"GLIBCXX_3.4.1"}) == Versions{"GLIBCXX_3.4.1"});
  CHECK(missing(t, "libc.so.6", {"GLIBC_2.4"}).empty());
  CHECK(missing(t, "libc.so.6", {"GLIBC_2.5"}) == Versions{"GLIBC_2.5"});
}

TEST_CASE("target: unknown names and malformed glibc-X.Y are usage errors", "[target][presets]") {
  for (const char* spec : {"glibc-3.1", "glibc-x", "glibc-2", "glibc-2.28.1", "glibc-", "glibc-2.x"}) {
    INFO(spec);
    auto e = rejection(spec);
    REQUIRE(e);
    CHECK(e->exit() == Exit::kUsage);
    CHECK(std::string(e->what()) ==
          "--target " + std::string(spec) + ": not a glibc version (expected glibc-2.Y, e.g. glibc-2.28)");
  }
  for (const char* spec : {"rhel10", "RHEL8", "debian", "centos7", "", "manylinux1"}) {
    INFO(spec);
    auto e = rejection(spec);
    REQUIRE(e);
    CHECK(e->exit() == Exit::kUsage);
    CHECK(std::string(e->what()) == "--target " + std::string(spec) + ": unknown target");
    for (const std::string& preset : target_presets()) CHECK(e->hint().find(preset) != std::string::npos);
    CHECK(e->hint().find("glibc-X.Y") != std::string::npos);
    CHECK(e->hint().find("unpacker probe") != std::string::npos);
  }
  // A path (it has a '/') is read as a probe file: a missing one is an I/O error.
  test::TempDir d;
  auto e = rejection(d / "no-such.probe");
  REQUIRE(e);
  CHECK(e->exit() == Exit::kUsage);
  CHECK(std::string(e->what()).find(d / "no-such.probe") != std::string::npos);
}

TEST_CASE("target: a probe file gives the node's glibc, libraries and host", "[target][presets]") {
  target::ProbeFile p;
  p.created = "2026-12-01T16:00:00Z";
  p.host = "vault";
  p.os = "Red Hat Enterprise Linux 8.10 (Ootpa)";
  p.kernel = "4.18.0";
  p.arch = "x86_64";
  p.glibc = "2.28";
  p.libs = {{"libc.so.6", "/lib64/libc.so.6", {"GLIBC_2.2.5", "GLIBC_2.28", "GLIBC_PRIVATE"}},
            {"libstdc++.so.6", "/lib64/libstdc++.so.6", {"GLIBCXX_3.4", "GLIBCXX_3.4.25", "CXXABI_1.3.11"}},
            {"libz.so.1", "/lib64/libz.so.1", {"ZLIB_1.2.0", "ZLIB_1.2.9"}},
            {"libfoo.so.1", "/opt/foo/libfoo.so.1", {}}};
  test::TempDir d;
  std::string path = d / "vault.probe";
  test::spit(path, target::format_probe(p));

  Target t = resolve_target(path);
  CHECK(t.source == TargetSource::kProbe);
  CHECK(t.name == path);
  CHECK(t.glibc == dv("2.28"));
  CHECK(t.kernel == "4.18.0");
  CHECK(t.os == "Red Hat Enterprise Linux 8.10 (Ootpa)");
  CHECK(t.host == "vault");
  CHECK(t.who() == "the node vault");
  CHECK(t.label() == "Red Hat Enterprise Linux 8.10 (Ootpa) (glibc 2.28, probe file " + path + ")");
  REQUIRE(t.libs.size() == 4);
  CHECK(t.libs.at("libstdc++.so.6").path == "/lib64/libstdc++.so.6");
  CHECK(t.libs.at("libz.so.1").versions == Versions{"ZLIB_1.2.0", "ZLIB_1.2.9"});
  CHECK(t.libs.at("libfoo.so.1").versions.empty());

  // Exactly the listed libraries and versions, nothing assumed.
  auto libc = t.provides("libc.so.6", {"GLIBC_2.28", "GLIBC_PRIVATE", "GLIBC_2.2.5"});
  CHECK(libc.present);
  CHECK_FALSE(libc.assumed);
  CHECK(libc.missing_versions.empty());
  CHECK(missing(t, "libc.so.6", {"GLIBC_2.29"}) == Versions{"GLIBC_2.29"});
  // Listed by name, so a version the file does not list is missing even
  // though glibc 2.28 has it: the probe is taken at its word.
  CHECK(missing(t, "libc.so.6", {"GLIBC_2.17"}) == Versions{"GLIBC_2.17"});
  CHECK(missing(t, "libstdc++.so.6", {"GLIBCXX_3.4.25", "CXXABI_1.3.11"}).empty());
  CHECK(missing(t, "libstdc++.so.6", {"GLIBCXX_3.4.26"}) == Versions{"GLIBCXX_3.4.26"});
  CHECK(missing(t, "libz.so.1", {"ZLIB_1.2.9", "ZLIB_1.2.12"}) == Versions{"ZLIB_1.2.12"});
  CHECK_FALSE(t.provides("libz.so.1", {}).assumed);
  CHECK(t.provides("libfoo.so.1", {}).present);
  // The baseline a preset assumes does not count for a probed node.
  CHECK_FALSE(t.provides("libGL.so.1", {}).present);
  CHECK_FALSE(t.provides("libm.so.6", {"GLIBC_2.2.5"}).present);
  CHECK_FALSE(t.provides("libssl.so.3", {}).present);

  // Without a host line the node is still named, without a name.
  p.host.clear();
  test::spit(path, target::format_probe(p));
  CHECK(resolve_target(path).who() == "the node");
}

TEST_CASE("target: what a preset provides: glibc up to its version, its C++ runtime, the baseline by name",
          "[target][presets]") {
  Target rhel8 = resolve_target("rhel8");
  Target debian11 = resolve_target("debian11");

  auto libc = rhel8.provides("libc.so.6", {"GLIBC_2.2.5", "GLIBC_2.28"});
  CHECK(libc.present);
  CHECK_FALSE(libc.assumed);
  CHECK(libc.missing_versions.empty());
  CHECK(missing(rhel8, "libc.so.6", {"GLIBC_2.29"}) == Versions{"GLIBC_2.29"});
  CHECK(missing(rhel8, "libc.so.6", {"GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_PRIVATE", "GLIBC_2.29"}) ==
        Versions{"GLIBC_2.34", "GLIBC_2.29"});
  CHECK(missing(debian11, "libc.so.6", {"GLIBC_2.29"}).empty());
  CHECK(missing(rhel8, "libm.so.6", {"GLIBC_2.29"}) == Versions{"GLIBC_2.29"});  // exp, log, pow
  CHECK(missing(rhel8, "libpthread.so.0", {"GLIBC_2.30"}) == Versions{"GLIBC_2.30"});
  CHECK(rhel8.provides("ld-linux-x86-64.so.2", {}).present);

  auto cxx = rhel8.provides("libstdc++.so.6", {"GLIBCXX_3.4.26"});
  CHECK(cxx.present);
  CHECK_FALSE(cxx.assumed);  // its versions are judged
  CHECK(cxx.missing_versions == Versions{"GLIBCXX_3.4.26"});
  CHECK(missing(debian11, "libstdc++.so.6", {"GLIBCXX_3.4.26"}).empty());
  CHECK(missing(rhel8, "libstdc++.so.6", {"GLIBCXX_3.4.25", "CXXABI_1.3.11"}).empty());
  CHECK(missing(rhel8, "libstdc++.so.6", {"CXXABI_1.3.12"}) == Versions{"CXXABI_1.3.12"});
  CHECK(missing(debian11, "libstdc++.so.6", {"CXXABI_1.3.12"}).empty());
  CHECK(missing(debian11, "libgcc_s.so.1", {"GCC_12.0.0"}) == Versions{"GCC_12.0.0"});
  CHECK(missing(resolve_target("debian12"), "libgcc_s.so.1", {"GCC_12.0.0"}).empty());
  // A family is judged only against the library it belongs to.
  CHECK(missing(rhel8, "libz.so.1", {"GLIBC_2.99"}).empty());
  CHECK(missing(rhel8, "libc.so.6", {"GLIBCXX_3.4.99"}).empty());

  auto z = rhel8.provides("libz.so.1", {"ZLIB_1.2.9"});
  CHECK(z.present);
  CHECK(z.assumed);  // by the baseline's word
  CHECK(z.missing_versions.empty());
  CHECK(rhel8.provides("libGL.so.1", {}).assumed);
  CHECK(rhel8.provides("libX11.so.6", {}).assumed);

  for (const char* absent : {"libssl.so.3", "libffi.so.8", "libsqlite3.so.0", "libcrypt.so.1"}) {
    INFO(absent);
    auto p = rhel8.provides(absent, {});
    CHECK_FALSE(p.present);
    CHECK_FALSE(p.assumed);
  }
  // glibc-X.Y is a preset for this purpose.
  Target g = resolve_target("glibc-2.31");
  CHECK(g.provides("libz.so.1", {}).assumed);
  CHECK(missing(g, "libc.so.6", {"GLIBC_2.32"}) == Versions{"GLIBC_2.32"});
  CHECK(missing(g, "libstdc++.so.6", {"GLIBCXX_3.4.28"}).empty());  // debian11's runtime

  CHECK(is_glibc_library("libc.so.6"));
  CHECK(is_glibc_library("ld-linux-x86-64.so.2"));
  CHECK(is_glibc_library("libpthread.so.0"));
  CHECK(is_glibc_library("libnss_files.so.2"));
  CHECK_FALSE(is_glibc_library("libstdc++.so.6"));
  CHECK_FALSE(is_glibc_library("libz.so.1"));
  CHECK_FALSE(is_glibc_library("libcrypt.so.1"));  // libxcrypt on current systems, not glibc
}
