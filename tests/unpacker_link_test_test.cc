#include <fcntl.h>
#include <sys/stat.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "tests/support.h"
#include "unpacker/runtime/link_test.h"

using namespace airlock;
using namespace airlock::unpacker;
using airlock::test::run;
using airlock::test::sh_quote;
using airlock::test::spit;
using airlock::test::TempDir;
namespace fs = std::filesystem;

namespace {

// gcc -shared SRC -o DEST/env/REL [extra]
void build_so(const TempDir& t, const std::string& rel, const std::string& src, const std::string& extra = {}) {
  std::string c = t / ("src-" + std::to_string(std::hash<std::string>{}(rel)) + ".c");
  spit(c, src);
  std::string out = t / ("dest/env/" + rel);
  fs::create_directories(fs::path(out).parent_path());
  auto r = run("gcc -shared -fPIC -o " + sh_quote(out) + " " + sh_quote(c) + " " + extra);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// DEST/env/bin/python3: the host's Python (a symbolic link), or a script.
bundle::Manifest interpreter(const TempDir& t, const std::string& script = {}) {
  fs::create_directories(t / "dest/env/bin");
  std::string py = t / "dest/env/bin/python3";
  if (script.empty()) {
    fs::create_symlink("/usr/bin/python3", py);
  } else {
    spit(py, "#!/bin/sh\n" + script);
    ::chmod(py.c_str(), 0755);
  }
  bundle::Manifest m;
  m.interpreter = "env/bin/python3";
  return m;
}

const LoadFailure* failure(const LinkTestResult& r, const std::string& path) {
  for (const auto& f : r.failures)
    if (f.path == path) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("unpacker link test: shared objects are ET_DYN without PT_INTERP", "[unpacker][link_test]") {
  TempDir t;
  build_so(t, "lib/libok.so", "int ok(void) { return 1; }\n");
  spit(t / "main.c", "int main(void) { return 0; }\n");
  fs::create_directories(t / "dest/env/bin");
  auto pie = run("gcc -fPIE -pie -o " + sh_quote(t / "dest/env/bin/app") + " " + sh_quote(t / "main.c"));
  auto exe = run("gcc -no-pie -o " + sh_quote(t / "dest/env/bin/app-static-addr") + " " + sh_quote(t / "main.c"));
  REQUIRE(pie.exit_code == 0);
  REQUIRE(exe.exit_code == 0);
  CHECK(is_loadable_object(elf::read_dynamic_file(t / "dest/env/lib/libok.so")));
  CHECK_FALSE(is_loadable_object(elf::read_dynamic_file(t / "dest/env/bin/app")));
  CHECK_FALSE(is_loadable_object(elf::read_dynamic_file(t / "dest/env/bin/app-static-addr")));

  // A second name of one file is loaded once; objects under a glob are
  // exempt whichever name matches; other files are not objects.
  REQUIRE(::link((t / "dest/env/lib/libok.so").c_str(), (t / "dest/env/lib/libok-again.so").c_str()) == 0);
  build_so(t, "lib/foo/plugins/libplug.so", "int plug(void) { return 2; }\n");
  spit(t / "dest/env/lib/notes.so", std::string(100, 'x'));
  spit(t / "dest/env/lib/broken.so", airlock::test::slurp(t / "dest/env/lib/libok.so").substr(0, 100));
  std::vector<std::string> globs{"lib/*/plugins/*.so"};
  ObjectScan s = find_shared_objects(t / "dest/env", globs);
  REQUIRE(s.objects.size() == 1);
  CHECK(s.objects[0].rel == "lib/libok-again.so");
  CHECK(s.objects[0].size == fs::file_size(t / "dest/env/lib/libok.so"));
  CHECK(s.skipped == std::vector<std::string>{"lib/foo/plugins/libplug.so"});
  REQUIRE(s.unreadable.size() == 1);  // named, not loaded
  CHECK(s.unreadable[0].rfind("lib/broken.so: ", 0) == 0);
  CHECK(s.unreadable[0].find("reading ELF file") == std::string::npos);
  globs = {"lib/libok.so"};  // the second name: the file is exempt, named by its first
  s = find_shared_objects(t / "dest/env", globs);
  CHECK(s.skipped == std::vector<std::string>{"lib/libok-again.so"});
  REQUIRE(s.objects.size() == 1);
  CHECK(s.objects[0].rel == "lib/foo/plugins/libplug.so");

  // What the unpack knows of its files: a file whose stamp is unchanged and
  // that did not begin as ELF is not opened (here: one that is, to show the
  // hint is taken); a file changed since is read whatever the hint says.
  struct stat st {};
  REQUIRE(::stat((t / "dest/env/lib/foo/plugins/libplug.so").c_str(), &st) == 0);
  KnownFiles known;
  known.add(FileStamp::of(st), std::string(64, '0'), false);
  known.done();
  s = find_shared_objects(t / "dest/env", globs, &known);
  CHECK(s.objects.empty());
  ::usleep(20000);
  ::utimensat(AT_FDCWD, (t / "dest/env/lib/foo/plugins/libplug.so").c_str(), nullptr, 0);  // a new ctime
  s = find_shared_objects(t / "dest/env", globs, &known);
  REQUIRE(s.objects.size() == 1);
  CHECK(s.objects[0].rel == "lib/foo/plugins/libplug.so");

  // From the unpack's walk of DEST: the same objects, only those under
  // DEST/env, named relative to it.
  fs::create_directories(t / "dest/airlock");
  REQUIRE(::link((t / "dest/env/lib/libok.so").c_str(), (t / "dest/airlock/libok.so").c_str()) == 0);
  WalkedTree walked = walk_tree(t / "dest");
  for (const auto& g : {std::vector<std::string>{}, std::vector<std::string>{"lib/*/plugins/*.so"}}) {
    ObjectScan a = find_shared_objects(t / "dest/env", g), b = find_shared_objects(walked, t / "dest", g);
    REQUIRE(b.objects.size() == a.objects.size());
    for (size_t i = 0; i < a.objects.size(); ++i) {
      CHECK(b.objects[i].rel == a.objects[i].rel);
      CHECK(b.objects[i].size == a.objects[i].size);
    }
    CHECK(b.skipped == a.skipped);
    CHECK(b.unreadable == a.unreadable);
  }
  CHECK(find_shared_objects(walked, t / "dest", globs).objects.size() == 1);

  // Among named paths (the unpack's ELF files and their other names): the
  // same, whatever else is named; only DEST/env counts.
  std::vector<std::string> named{"env/lib/libok.so", "env/lib/libok-again.so", "env/lib/foo/plugins/libplug.so",
                                 "env/lib/notes.so", "env/lib/broken.so", "env/bin/app", "airlock/libok.so"};
  for (const auto& g : {std::vector<std::string>{}, std::vector<std::string>{"lib/*/plugins/*.so"}}) {
    ObjectScan a = find_shared_objects(t / "dest/env", g), b = find_shared_objects_among(t / "dest", named, g);
    REQUIRE(b.objects.size() == a.objects.size());
    for (size_t i = 0; i < a.objects.size(); ++i) CHECK(b.objects[i].rel == a.objects[i].rel);
    CHECK(b.skipped == a.skipped);
    CHECK(b.unreadable == a.unreadable);
  }
  s = find_shared_objects_among(t / "dest", std::vector<std::string>{"env/lib/libok-again.so"}, {});
  REQUIRE(s.objects.size() == 1);  // one name given: that one
  CHECK(s.objects[0].rel == "lib/libok-again.so");
}

TEST_CASE("unpacker link test: globs", "[unpacker][link_test]") {
  std::vector<std::string> g{"lib/python3.12/site-packages/foo/plugins/*.so"};
  CHECK(skip_matches(g, "lib/python3.12/site-packages/foo/plugins/a.so"));
  CHECK_FALSE(skip_matches(g, "lib/python3.12/site-packages/foo/a.so"));
  g = {"*/plugins/*"};  // '*' also matches '/'
  CHECK(skip_matches(g, "lib/python3.12/site-packages/foo/plugins/sub/a.so"));
  CHECK_FALSE(skip_matches({}, "lib/a.so"));
}

TEST_CASE("unpacker link test: the manifest's exemptions", "[unpacker][link_test]") {
  bundle::Manifest m;
  CHECK(manifest_skip_globs(m).empty());
  m.extra["link_test"] = {{"skip", {"a/*.so", "b/*"}}};
  CHECK(manifest_skip_globs(m) == std::vector<std::string>{"a/*.so", "b/*"});
  m.extra["link_test"] = {{"skip", "a/*.so"}};
  CHECK_THROWS_AS(manifest_skip_globs(m), bundle::ManifestError);
  m.extra["link_test"] = {{"skip", {1}}};
  CHECK_THROWS_AS(manifest_skip_globs(m), bundle::ManifestError);
  m.extra["link_test"] = {{"skip", {""}}};
  CHECK_THROWS_AS(manifest_skip_globs(m), bundle::ManifestError);
  m.extra["link_test"] = "x";
  CHECK_THROWS_AS(manifest_skip_globs(m), bundle::ManifestError);
}

TEST_CASE("unpacker link test: the script's lines", "[unpacker][link_test]") {
  using nlohmann::json;
  CHECK_FALSE(load_outcome(json{{"i", 0}}, "env/a.so", "/d/env/a.so"));
  auto f = load_outcome(json{{"i", 0}, {"error", "/d/env/a.so: undefined symbol: foo"}}, "env/a.so", "/d/env/a.so");
  REQUIRE(f);
  CHECK(f->status == LoadStatus::kLoaderError);
  CHECK(f->message == "undefined symbol: foo");  // the object is named once
  f = load_outcome(json{{"i", 0}, {"error", "libx.so.1: cannot open shared object file: No such file or directory"}},
                   "env/a.so", "/d/env/a.so");
  CHECK(f->message == "libx.so.1: cannot open shared object file: No such file or directory");
  f = load_outcome(json{{"i", 3}, {"signal", "SIGSEGV"}, {"output", "boom\n"}}, "env/a.so", "/d/env/a.so");
  CHECK(f->status == LoadStatus::kCrashed);
  CHECK(f->message.find("SIGSEGV") != std::string::npos);
  CHECK(f->output == "boom\n");
  CHECK(load_outcome(json{{"i", 0}, {"exit", 7}}, "e", "/e")->status == LoadStatus::kExited);
  CHECK(load_outcome(json{{"i", 0}, {"timeout", 60.0}}, "e", "/e")->message.find("60 s") != std::string::npos);
  CHECK_THROWS_AS(load_outcome(json{{"i", 0}, {"what", 1}}, "e", "/e"), Error);
  CHECK_THROWS_AS(load_outcome(json{{"i", 0}, {"error", 1}}, "e", "/e"), Error);
}

TEST_CASE("unpacker link test: run with a cleared environment", "[unpacker][link_test]") {
  std::vector<std::string> env = link_test_environment();
  for (const auto& kv : env) {
    CHECK(kv.rfind("LD_", 0) != 0);
    CHECK(kv.rfind("PYTHON", 0) != 0);
  }
  bundle::Manifest m;
  m.interpreter = "env/bin/python3.12";
  auto argv = link_test_argv("/d", m, {});
  REQUIRE(argv.size() >= 5);
  CHECK(argv[0] == "/d/env/bin/python3.12");
  CHECK(argv[1] == "-I");
  CHECK(argv[2] == "-S");
  CHECK(argv[3] == "-B");  // no bytecode written: the tree is recorded while the test runs
  CHECK(argv[4] == "-c");
}

TEST_CASE("unpacker link test: loads with the environment's interpreter", "[unpacker][link_test]") {
  TempDir t;
  bundle::Manifest m = interpreter(t);
  build_so(t, "lib/libok.so", "int ok(void) { return 1; }\n");
  build_so(t, "lib/libcrash.so", "#include <signal.h>\n__attribute__((constructor)) static void c(void) { raise(SIGSEGV); }\n");
  build_so(t, "lib/libexit.so",
           "#include <stdio.h>\n#include <stdlib.h>\n"
           "__attribute__((constructor)) static void c(void) { fprintf(stderr, \"this CPU lacks AVX2\\n\"); exit(7); }\n");
  build_so(t, "lib/libslow.so", "#include <unistd.h>\n__attribute__((constructor)) static void c(void) { sleep(30); }\n");
  // libdep.so exists, outside the environment: LD_LIBRARY_PATH of the
  // caller would find it, and must not reach the test.
  fs::create_directories(t / "elsewhere");
  spit(t / "dep.c", "int dep(void) { return 3; }\n");
  REQUIRE(run("gcc -shared -fPIC -Wl,-soname,libdep.so -o " + sh_quote(t / "elsewhere/libdep.so") + " " +
              sh_quote(t / "dep.c")).exit_code == 0);
  build_so(t, "lib/libneeds.so", "int dep(void);\nint needs(void) { return dep(); }\n",
           "-L" + sh_quote(t / "elsewhere") + " -ldep");
  build_so(t, "lib/plugins/libplug.so", "extern int host_only(void);\nint plug(void) { return host_only(); }\n");
  ::setenv("LD_LIBRARY_PATH", (t / "elsewhere").c_str(), 1);

  LinkTestOptions o;
  o.skip_globs = {"lib/plugins/*"};
  o.object_timeout = 1;
  o.jobs = 2;
  auto start = std::chrono::steady_clock::now();
  LinkTestResult r = run_link_test(t / "dest", m, o);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::unsetenv("LD_LIBRARY_PATH");
  CHECK(secs < 15);
  CHECK(r.interpreter == "env/bin/python3");
  CHECK(r.objects == 5);
  CHECK(r.loaded == 1);
  CHECK(r.skipped == std::vector<std::string>{"lib/plugins/libplug.so"});
  REQUIRE(r.failures.size() == 4);
  CHECK(r.failures[0].path == "env/lib/libcrash.so");  // sorted by path
  const LoadFailure* f = failure(r, "env/lib/libcrash.so");
  REQUIRE(f);
  CHECK(f->status == LoadStatus::kCrashed);
  CHECK(f->message.find("SIGSEGV") != std::string::npos);
  f = failure(r, "env/lib/libexit.so");
  REQUIRE(f);
  CHECK(f->status == LoadStatus::kExited);
  CHECK(f->message.find("exit status 7") != std::string::npos);
  CHECK(f->output.find("this CPU lacks AVX2") != std::string::npos);
  f = failure(r, "env/lib/libslow.so");
  REQUIRE(f);
  CHECK(f->status == LoadStatus::kTimedOut);
  f = failure(r, "env/lib/libneeds.so");
  REQUIRE(f);
  CHECK(f->status == LoadStatus::kLoaderError);
  CHECK(f->message == "libdep.so: cannot open shared object file: No such file or directory");

  Error e = link_test_error(r, t / "dest", "a hint");
  CHECK(e.exit() == Exit::kInstall);
  std::string what = e.what();
  CHECK(what.find("link test: 4 of 5 shared objects under " + (t / "dest") + "/env cannot be loaded") == 0);
  CHECK(what.find("\n  env/lib/libneeds.so: libdep.so: cannot open shared object file") != std::string::npos);
  CHECK(what.find("\n    | this CPU lacks AVX2") != std::string::npos);
  CHECK(e.hint() == "a hint");
  std::string sum = link_test_summary(r);
  CHECK(sum.find("1 of 5 shared objects loaded with env/bin/python3; 1 exempt; 4 failed: env/lib/libcrash.so: ") == 0);
  auto j = link_test_json(r);
  CHECK(j["ok"] == false);
  CHECK(j["failed"] == 4);
  CHECK(j["skipped_paths"] == nlohmann::json::array({"lib/plugins/libplug.so"}));
}

TEST_CASE("unpacker link test: no objects, no interpreter needed", "[unpacker][link_test]") {
  TempDir t;
  fs::create_directories(t / "dest/env/lib");
  spit(t / "dest/env/lib/a.py", "x = 1\n");
  bundle::Manifest m;  // names no interpreter
  LinkTestResult r = run_link_test(t / "dest", m, {});
  CHECK(r.ok());
  CHECK(r.objects == 0);
  build_so(t, "lib/libok.so", "int ok(void) { return 1; }\n");
  CHECK_THROWS_AS(run_link_test(t / "dest", m, {}), Error);
  m.interpreter = "env/../../bin/sh";
  CHECK_THROWS_AS(run_link_test(t / "dest", m, {}), Error);
}

TEST_CASE("unpacker link test: an interpreter that cannot start is the first failure", "[unpacker][link_test]") {
  TempDir t;
  bundle::Manifest m = interpreter(
      t, "echo \"python3: /lib/x86_64-linux-gnu/libc.so.6: version \\`GLIBC_2.99' not found (required by python3)\" >&2\n"
         "exit 127\n");
  build_so(t, "lib/libok.so", "int ok(void) { return 1; }\n");
  LinkTestResult r = run_link_test(t / "dest", m, {});
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].path == "env/bin/python3");
  CHECK(r.failures[0].status == LoadStatus::kNoStart);
  CHECK(r.failures[0].message ==
        "the interpreter cannot start (exit status 127): python3: /lib/x86_64-linux-gnu/libc.so.6: version "
        "`GLIBC_2.99' not found (required by python3)");
  CHECK(r.loaded == 0);
  CHECK(r.objects == 1);
}

TEST_CASE("unpacker link test: ctypes that cannot be imported", "[unpacker][link_test]") {
  TempDir t;
  bundle::Manifest m = interpreter(
      t, "echo '{\"ctypes\": \"ImportError: libffi.so.8: cannot open shared object file: No such file or directory\"}'\n"
         "exit 3\n");
  build_so(t, "lib/libok.so", "int ok(void) { return 1; }\n");
  LinkTestResult r = run_link_test(t / "dest", m, {});
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].status == LoadStatus::kNoStart);
  CHECK(r.failures[0].message ==
        "cannot import ctypes: ImportError: libffi.so.8: cannot open shared object file: No such file or directory");
}

TEST_CASE("unpacker link test: an interpreter that stops early or runs too long", "[unpacker][link_test]") {
  TempDir t;
  SECTION("ends before reporting on every object") {
    bundle::Manifest m = interpreter(t, "cat >/dev/null\necho '{\"ready\": 1}'\necho 'Segmentation fault' >&2\nexit 1\n");
    build_so(t, "lib/libok.so", "int ok(void) { return 1; }\n");
    LinkTestResult r = run_link_test(t / "dest", m, {});
    REQUIRE(r.failures.size() == 1);
    CHECK(r.failures[0].status == LoadStatus::kNotRun);
    CHECK(r.failures[0].message == "the interpreter ended (exit status 1) with 1 object not tested");
    CHECK(r.failures[0].output == "Segmentation fault");
  }
  SECTION("the overall bound") {
    bundle::Manifest m = interpreter(t, "cat >/dev/null\necho '{\"ready\": 1}'\nsleep 30\n");
    build_so(t, "lib/libok.so", "int ok(void) { return 1; }\n");
    LinkTestOptions o;
    o.overall_timeout = 1;
    auto start = std::chrono::steady_clock::now();
    LinkTestResult r = run_link_test(t / "dest", m, o);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    REQUIRE(r.failures.size() == 1);
    CHECK(r.failures[0].status == LoadStatus::kNotRun);
    CHECK(r.failures[0].message == "the link test did not finish within 1 s; 1 object not tested");
  }
}
