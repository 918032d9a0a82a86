// The wheel tags a target accepts. The expected manylinux lists are what
// pip's own packaging.tags (_manylinux.platform_tags) yields on a glibc
// system of that version.
#include <catch2/catch.hpp>

#include <algorithm>

#include "packer/target/platform_tags.h"
#include "packer/checks/rehearsal.h"

using namespace airlock::packer;

namespace {

PythonInfo cpython312() {
  PythonInfo py;
  py.version = "3.12.1";
  py.implementation = "cpython";
  py.interpreter_tag = "cp312";
  py.abi_tag = "cp312";
  py.platform_tag = "linux_x86_64";
  return py;
}

std::vector<std::string> values(const std::vector<std::string>& args, const std::string& option) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == option) out.push_back(args[++i]);
  return out;
}

std::vector<std::string> rhel8_args() { return target_pip_args(resolve_target("rhel8"), cpython312()); }

}  // namespace

TEST_CASE("platform tags: rhel7 (glibc 2.17) is manylinux2014 and older, down to manylinux1", "[platform_tags]") {
  CHECK(manylinux_platforms(resolve_target("rhel7")) ==
        std::vector<std::string>{"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_16_x86_64",
                                 "manylinux_2_15_x86_64", "manylinux_2_14_x86_64", "manylinux_2_13_x86_64",
                                 "manylinux_2_12_x86_64", "manylinux2010_x86_64", "manylinux_2_11_x86_64",
                                 "manylinux_2_10_x86_64", "manylinux_2_9_x86_64", "manylinux_2_8_x86_64",
                                 "manylinux_2_7_x86_64", "manylinux_2_6_x86_64", "manylinux_2_5_x86_64",
                                 "manylinux1_x86_64"});
}

TEST_CASE("platform tags: rhel8 (glibc 2.28) lists every glibc from 2.28 down, aliases in place", "[platform_tags]") {
  auto p = manylinux_platforms(resolve_target("rhel8"));
  REQUIRE(p.size() == 27);
  CHECK(p[0] == "manylinux_2_28_x86_64");
  CHECK(p[1] == "manylinux_2_27_x86_64");
  CHECK(p[11] == "manylinux_2_17_x86_64");
  CHECK(p[12] == "manylinux2014_x86_64");
  CHECK(p[13] == "manylinux_2_16_x86_64");
  CHECK(p[18] == "manylinux2010_x86_64");
  CHECK(p.back() == "manylinux1_x86_64");
  CHECK(std::find(p.begin(), p.end(), "manylinux_2_29_x86_64") == p.end());
}

TEST_CASE("platform tags: debian12 (glibc 2.36) starts at manylinux_2_36", "[platform_tags]") {
  auto p = manylinux_platforms(resolve_target("debian12"));
  REQUIRE(p.size() == 35);
  CHECK(p.front() == "manylinux_2_36_x86_64");
  CHECK(std::find(p.begin(), p.end(), "manylinux_2_34_x86_64") != p.end());
}

TEST_CASE("platform tags: an old glibc (2.5, 2.13) keeps only what applies; 2.4 has none", "[platform_tags]") {
  CHECK(manylinux_platforms(resolve_target("glibc-2.5")) ==
        std::vector<std::string>{"manylinux_2_5_x86_64", "manylinux1_x86_64"});
  CHECK(manylinux_platforms(resolve_target("glibc-2.13")) ==
        std::vector<std::string>{"manylinux_2_13_x86_64", "manylinux_2_12_x86_64", "manylinux2010_x86_64",
                                 "manylinux_2_11_x86_64", "manylinux_2_10_x86_64", "manylinux_2_9_x86_64",
                                 "manylinux_2_8_x86_64", "manylinux_2_7_x86_64", "manylinux_2_6_x86_64",
                                 "manylinux_2_5_x86_64", "manylinux1_x86_64"});
  CHECK(manylinux_platforms(resolve_target("glibc-2.4")).empty());
  CHECK(target_platforms(resolve_target("glibc-2.4")) == std::vector<std::string>{"linux_x86_64"});
}

TEST_CASE("platform tags: other architectures stop at 2.17 (manylinux2014)", "[platform_tags]") {
  Target t = resolve_target("rhel8");
  t.arch = "aarch64";
  auto p = manylinux_platforms(t);
  REQUIRE(p.size() == 13);
  CHECK(p.front() == "manylinux_2_28_aarch64");
  CHECK(p.back() == "manylinux2014_aarch64");
}

TEST_CASE("platform tags: pip arguments for CPython 3.12 on rhel8", "[platform_tags]") {
  auto a = rhel8_args();
  REQUIRE(a.size() > 10);
  CHECK(a[0] == "--only-binary=:all:");
  CHECK(values(a, "--python-version") == std::vector<std::string>{"3.12"});
  CHECK(values(a, "--implementation") == std::vector<std::string>{"cp"});
  CHECK(values(a, "--abi") == std::vector<std::string>{"cp312", "abi3", "none"});
  auto p = values(a, "--platform");
  REQUIRE(p.size() == 28);
  CHECK(p.front() == "manylinux_2_28_x86_64");
  CHECK(p[26] == "manylinux1_x86_64");
  CHECK(p.back() == "linux_x86_64");
}

TEST_CASE("platform tags: PyPy and a free-threaded CPython get no abi3", "[platform_tags]") {
  PythonInfo pypy;
  pypy.version = "3.10.14";
  pypy.implementation = "pypy";
  pypy.abi_tag = "pypy310_pp73";
  auto a = target_pip_args(resolve_target("rhel9"), pypy);
  CHECK(values(a, "--implementation") == std::vector<std::string>{"pp"});
  CHECK(values(a, "--python-version") == std::vector<std::string>{"3.10"});
  CHECK(values(a, "--abi") == std::vector<std::string>{"pypy310_pp73", "none"});

  PythonInfo ft = cpython312();
  ft.version = "3.13.0";
  ft.abi_tag = "cp313t";
  CHECK(values(target_pip_args(resolve_target("rhel9"), ft), "--abi") == std::vector<std::string>{"cp313t", "none"});
}

TEST_CASE("platform tags: older pips get one --abi and one --platform they know", "[platform_tags]") {
  auto a = rhel8_args();
  CHECK(pip_target_args_for(a, "24.2") == a);
  CHECK(pip_target_args_for(a, "20.3") == a);
  CHECK(pip_target_args_for(a, "") == a);  // unknown: as is

  auto p20 = pip_target_args_for(a, "20.2.4");
  CHECK(p20 == std::vector<std::string>{"--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
                                        "--abi", "cp312", "--platform", "manylinux2014_x86_64"});
  CHECK(values(pip_target_args_for(a, "19.1"), "--platform") == std::vector<std::string>{"manylinux2010_x86_64"});
  auto p18 = pip_target_args_for(a, "18.1");
  CHECK(values(p18, "--platform") == std::vector<std::string>{"manylinux1_x86_64"});
  CHECK(values(p18, "--python-version") == std::vector<std::string>{"312"});  // no dotted form before 19.2

  // A target without a legacy tag: the generic Linux one.
  auto old = target_pip_args(resolve_target("glibc-2.4"), cpython312());
  CHECK(values(pip_target_args_for(old, "20.0"), "--platform") == std::vector<std::string>{"linux_x86_64"});
}

TEST_CASE("platform tags: pip versions", "[platform_tags]") {
  CHECK(pip_version_at_least("23.3", 23, 3));
  CHECK(pip_version_at_least("24.0", 23, 3));
  CHECK(pip_version_at_least("23.3b1", 23, 3));
  CHECK_FALSE(pip_version_at_least("23.2.1", 23, 3));
  CHECK_FALSE(pip_version_at_least("9.0.3", 18, 1));
  CHECK_FALSE(pip_version_at_least("", 1, 0));
  CHECK_FALSE(pip_version_at_least("pip", 1, 0));
}

TEST_CASE("platform tags: the options --target sets", "[platform_tags]") {
  for (const char* o : {"--platform", "--python-version", "--implementation", "--abi", "--only-binary",
                        "--only-binary=:all:"})
    CHECK(is_target_pip_option(o));
  for (const char* o : {"--find-links", "--index-url", "--no-index", "--platforms"}) CHECK_FALSE(is_target_pip_option(o));
}

TEST_CASE("platform tags: why a wheel does not run on the target", "[platform_tags]") {
  auto a = rhel8_args();
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp312-cp312-manylinux_2_34_x86_64.whl", a) == "needs glibc 2.34");
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp312-cp312-manylinux_2_28_x86_64.whl", a) == "");
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", a) == "");
  // A compound tag: the oldest glibc it names.
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp312-cp312-manylinux_2_31_x86_64.manylinux_2_34_x86_64.whl", a) ==
        "needs glibc 2.31");
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp312-cp312-manylinux_2_28_aarch64.whl", a) == "is for aarch64");
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp312-cp312-macosx_11_0_arm64.whl", a) == "is for macosx_11_0_arm64");
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", a) == "is for cp311-cp311");
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp39-abi3-manylinux_2_28_x86_64.whl", a) == "");
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp313-abi3-manylinux_2_28_x86_64.whl", a) == "is for cp313-abi3");
  CHECK(wheel_tag_mismatch("tinydep-1.0-py3-none-any.whl", a) == "");
  CHECK(wheel_tag_mismatch("tinydep-1.0-py2.py3-none-any.whl", a) == "");
  CHECK(wheel_tag_mismatch("tinydep-1.0-py2-none-any.whl", a) == "is for py2-none");
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp312-cp312-linux_x86_64.whl", a) == "");
  CHECK(wheel_tag_mismatch("fastmath-1.0.tar.gz", a) == "");
  CHECK(wheel_tag_mismatch("rhel7 needs manylinux2014", a) == "");
  CHECK(wheel_tag_mismatch("fastmath-1.0-cp312-cp312-manylinux2014_x86_64.whl",
                           target_pip_args(resolve_target("glibc-2.12"), cpython312())) == "needs glibc 2.17");
}

// How the rehearsal words pip's refusal when pip was asked for a target's
// tags (the real pips run in tests/e2e/pack_target_wheels.sh).
TEST_CASE("platform tags: the rehearsal names the wheel and the target pip refused", "[platform_tags][rehearsal]") {
  RehearsalInput in;
  in.interpreter = "/env/bin/python3.12";
  in.python_tag = "cp312";
  in.platform_tag = "linux_x86_64";
  in.wheelhouse = "/wh";
  in.pip_target_args = rhel8_args();
  in.target_label = "rhel8 (glibc 2.28)";
  WheelInfo w;
  w.filename = "fastmath-1.0-cp312-cp312-manylinux_2_34_x86_64.whl";
  w.metadata.name = "fastmath";
  w.metadata.version = "1.0";
  in.wheels = {w};

  // pip 20 and later.
  auto f = findings_from_pip_errors(
      "ERROR: Could not find a version that satisfies the requirement fastmath==1.0 (from versions: none)\n"
      "ERROR: No matching distribution found for fastmath==1.0\n",
      in, "23.2.1");
  REQUIRE(f.size() == 1);
  CHECK(f[0].code == "incompatible-distribution");
  CHECK(f[0].message ==
        "no wheel of fastmath==1.0 runs on rhel8 (glibc 2.28): the wheelhouse has "
        "fastmath-1.0-cp312-cp312-manylinux_2_34_x86_64.whl (needs glibc 2.34)");
  CHECK(f[0].hint.find("manylinux_2_28_x86_64 or older") != std::string::npos);

  // pip 18.1 indents the line, and knows no manylinux_2_Y tag at all.
  in.wheels[0].filename = "fastmath-1.0-cp312-cp312-manylinux_2_17_x86_64.whl";
  f = findings_from_pip_errors(
      "  Could not find a version that satisfies the requirement fastmath==1.0 (from versions: )\n"
      "No matching distribution found for fastmath==1.0\n",
      in, "18.1");
  REQUIRE(f.size() == 1);
  CHECK(f[0].code == "incompatible-distribution");
  CHECK(f[0].message.find("manylinux_2_17_x86_64.whl (pip 18.1 knows no manylinux_2_Y tags; pip 20.3 and later take it)") !=
        std::string::npos);

  // Versions that exist for the target, but not the one asked for.
  WheelInfo old = w;
  old.filename = "fastmath-0.9-cp312-cp312-manylinux2014_x86_64.whl";
  old.metadata.version = "0.9";
  in.wheels = {w, old};
  f = findings_from_pip_errors(
      "ERROR: Could not find a version that satisfies the requirement fastmath==1.0 (from versions: 0.9)\n", in, "24.2");
  REQUIRE(f.size() == 1);
  CHECK(f[0].message.find("only versions 0.9, which do not satisfy 'fastmath==1.0'; on rhel8 (glibc 2.28) pip cannot use "
                          "fastmath-1.0-cp312-cp312-manylinux_2_34_x86_64.whl (needs glibc 2.34)") != std::string::npos);
}
