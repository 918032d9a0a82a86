#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "packer/stream/environment.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::packer;
using airlock::test::TempDir;
namespace fs = std::filesystem;

namespace {

// The real CPython prefix the tests inspect: AIRLOCK_TEST_PYTHON, else
// $(pyenv root)/versions/3.12.1. Empty when absent (then the test is
// skipped, or fails when AIRLOCK_REQUIRE_PYTHON=1).
std::string test_python_prefix() {
  if (const char* p = std::getenv("AIRLOCK_TEST_PYTHON"); p && *p) return p;
  auto r = test::run("pyenv root");
  std::string root = r.exit_code == 0 ? r.out.substr(0, r.out.find('\n')) : "";
  if (root.empty()) {
    const char* home = std::getenv("HOME");
    root = std::string(home ? home : "") + "/.pyenv";
  }
  return root + "/versions/3.12.1";
}

bool have_python(const std::string& prefix) {
  if (fs::exists(prefix + "/bin/python3.12")) return true;
  const char* req = std::getenv("AIRLOCK_REQUIRE_PYTHON");
  if (req && std::string(req) == "1") FAIL("AIRLOCK_REQUIRE_PYTHON=1 but no Python 3.12 prefix at " + prefix);
  WARN("skipped: no Python 3.12 prefix at " + prefix + " (set AIRLOCK_TEST_PYTHON)");
  return false;
}

std::pair<std::string, std::string> refusal(const std::string& dir) {
  try {
    inspect_environment(dir);
  } catch (const Error& e) {
    CHECK(e.exit() == Exit::kUsage);
    return {e.what(), e.hint()};
  }
  return {"(accepted)", ""};
}


}  // namespace

TEST_CASE("environment: the real CPython prefix reports its version and tags", "[environment]") {
  std::string prefix = test_python_prefix();
  if (!have_python(prefix)) return;
  Environment env = inspect_environment(prefix);
  CHECK(env.kind == EnvKind::kCPythonPrefix);
  CHECK(env.prefix == fs::canonical(prefix).string());
  CHECK(env.interpreter == "bin/python3.12");
  CHECK(env.python.version == "3.12.1");
  CHECK(env.python.implementation == "cpython");
  CHECK(env.python.interpreter_tag == "cp312");
  CHECK(env.python.abi_tag == "cp312");
  std::string machine = test::run("uname -m").out;
  CHECK(env.python.platform_tag == "linux_" + machine.substr(0, machine.find('\n')));
  CHECK(env.python.soabi.rfind("cpython-312-", 0) == 0);
  REQUIRE_FALSE(env.prefix_strings.empty());
  CHECK(env.prefix_strings[0] == env.prefix);
}

TEST_CASE("environment: a non-canonical path is resolved and kept as another prefix spelling", "[environment]") {
  std::string prefix = test_python_prefix();
  if (!have_python(prefix)) return;
  TempDir t;
  fs::create_directory_symlink(prefix, t / "py");
  Environment env = inspect_environment(t / "py/");
  CHECK(env.prefix == fs::canonical(prefix).string());
  CHECK(env.given == t / "py/");
  CHECK(std::find(env.prefix_strings.begin(), env.prefix_strings.end(), t / "py") != env.prefix_strings.end());
}

TEST_CASE("environment: a directory with conda-meta is a conda env", "[environment]") {
  std::string prefix = test_python_prefix();
  if (!have_python(prefix)) return;
  TempDir t;
  std::string env_dir = t / "conda-env";
  fs::create_directories(env_dir + "/conda-meta");
  fs::create_directories(env_dir + "/bin");
  fs::create_symlink(prefix + "/bin/python3.12", env_dir + "/bin/python3.12");
  test::make_file(env_dir + "/lib/python3.12/os.py", "");
  Environment env = inspect_environment(env_dir);
  CHECK(env.kind == EnvKind::kConda);
  CHECK(env.interpreter == "bin/python3.12");
  CHECK(env.python.interpreter_tag == "cp312");

  fs::remove(env_dir + "/bin/python3.12");
  auto [msg, hint] = refusal(env_dir);
  CHECK_THAT(msg, Catch::Contains("conda environment without a Python interpreter"));
}

TEST_CASE("environment: a venv made by python -m venv is refused with the reason", "[environment]") {
  std::string prefix = test_python_prefix();
  if (!have_python(prefix)) return;
  TempDir t;
  auto r = test::run(test::sh_quote(prefix + "/bin/python3.12") + " -m venv --without-pip " + test::sh_quote(t / "venv"));
  REQUIRE(r.exit_code == 0);
  auto [msg, hint] = refusal(t / "venv");
  CHECK_THAT(msg, Catch::Contains(t / "venv"));
  CHECK_THAT(msg, Catch::Contains("pyvenv.cfg"));
  CHECK_THAT(msg, Catch::Contains("not self-contained"));
  CHECK_THAT(msg, Catch::Contains(prefix + "/bin"));  // the base it points at
  CHECK_THAT(hint, Catch::Contains("base Python prefix (" + prefix + ")"));
  CHECK_THAT(hint, Catch::Contains("conda env"));
  CHECK_THAT(hint, Catch::Contains("wheelhouse"));
}

TEST_CASE("environment: a hand-made venv is refused without running anything", "[environment]") {
  TempDir t;
  test::make_file(t / "v/pyvenv.cfg", "home = /opt/python/bin\ninclude-system-site-packages = false\n");
  auto [msg, hint] = refusal(t / "v");
  CHECK_THAT(msg, Catch::Contains("not self-contained") && Catch::Contains("/opt/python/bin"));
  CHECK_THAT(hint, Catch::Contains("(/opt/python)"));
}

TEST_CASE("environment: anything else is refused naming what was looked for", "[environment]") {
  TempDir t;
  fs::create_directories(t / "plain/bin");
  test::make_file(t / "plain/bin/python3.12", "#!/bin/sh\n", 0755);  // no lib/python3.12/os.py
  auto [msg, hint] = refusal(t / "plain");
  CHECK_THAT(msg, Catch::Contains(t / "plain") && Catch::Contains("conda-meta/") &&
                      Catch::Contains("bin/python3.X with lib/python3.X/os.py"));
  CHECK_FALSE(hint.empty());

  auto [msg2, hint2] = refusal(t / "missing");
  CHECK_THAT(msg2, Catch::Contains(t / "missing") && Catch::Contains("No such file"));
  test::make_file(t / "file", "x");
  CHECK_THAT(refusal(t / "file").first, Catch::Contains("is not a directory"));
}

TEST_CASE("environment: a failing interpreter is named in the error", "[environment]") {
  TempDir t;
  test::make_file(t / "p/bin/python3.11", "#!/bin/sh\necho 'broken on purpose' >&2\nexit 3\n", 0755);
  test::make_file(t / "p/lib/python3.11/os.py", "");
  auto [msg, hint] = refusal(t / "p");
  CHECK_THAT(msg, Catch::Contains("bin/python3.11") && Catch::Contains("exit 3") && Catch::Contains("broken on purpose"));
}

TEST_CASE("environment: the highest bin/python3.X with its stdlib is the interpreter", "[environment]") {
  TempDir t;
  std::string fake = "#!/bin/sh\necho '{\"version\":\"3.9.0\",\"implementation\":\"cpython\",\"interpreter_tag\":\"cp39\","
                     "\"abi_tag\":\"cp39\",\"platform_tag\":\"linux_x86_64\",\"soabi\":\"\",\"glibc\":\"\","
                     "\"sys_prefix\":\"/build/prefix\",\"executable\":\"\"}'\n";
  test::make_file(t / "p/bin/python3.9", fake, 0755);
  test::make_file(t / "p/lib/python3.9/os.py", "");
  test::make_file(t / "p/bin/python3.10", fake, 0755);
  test::make_file(t / "p/lib/python3.10/os.py", "");
  test::make_file(t / "p/bin/python3.11", fake, 0755);  // no stdlib: not a candidate
  Environment env = inspect_environment(t / "p");
  CHECK(env.interpreter == "bin/python3.10");
  // The interpreter's own idea of its prefix is a spelling to relocate too.
  CHECK(env.prefix_strings.back() == "/build/prefix");
}

TEST_CASE("environment: run_process captures output and enforces its timeout", "[environment]") {
  auto r = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 5"}, 5000);
  CHECK(r.exit_code == 5);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  try {
    run_process({"/bin/sleep", "10"}, 200);
    FAIL("no timeout");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("/bin/sleep") && Catch::Contains("did not finish"));
  }
  try {
    run_process({"/nonexistent/python3"}, 1000);
    FAIL("ran a missing program");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("/nonexistent/python3") && Catch::Contains("No such file"));
  }
}
