#include <catch2/catch.hpp>

#include "common/target/probe_file.h"
#include "packer/target/target.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::target;

namespace {

ProbeFile sample() {
  ProbeFile p;
  p.created = "2026-12-01T16:00:00Z";
  p.host = "node7";
  p.os = "Debian GNU/Linux 11 (bullseye)";
  p.kernel = "5.10.0";
  p.arch = "x86_64";
  p.glibc = "2.31";
  p.libs = {{"libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", {"GLIBC_2.2.5", "GLIBC_2.31", "GLIBC_PRIVATE"}},
            {"libfoo.so.1", "/opt/foo/lib/libfoo.so.1", {}}};
  return p;
}

constexpr const char* kSampleText =
    "format: airlock-probe/1\n"
    "created: 2026-12-01T16:00:00Z\n"
    "host: node7\n"
    "os: Debian GNU/Linux 11 (bullseye)\n"
    "kernel: 5.10.0\n"
    "arch: x86_64\n"
    "glibc: 2.31\n"
    "lib: libc.so.6 /lib/x86_64-linux-gnu/libc.so.6 GLIBC_2.2.5 GLIBC_2.31 GLIBC_PRIVATE\n"
    "lib: libfoo.so.1 /opt/foo/lib/libfoo.so.1\n";

std::string error_of(const std::string& text) {
  try {
    parse_probe(text, "p.txt");
  } catch (const ProbeFileError& e) {
    CHECK(e.exit() == Exit::kUsage);
    return e.what();
  }
  return "(parsed)";
}

// kSampleText with line `n` (1-based) replaced by `with` ("" removes it).
std::string with_line(size_t n, const std::string& with) {
  std::string t = kSampleText, out;
  size_t pos = 0, i = 0;
  while (pos < t.size()) {
    size_t nl = t.find('\n', pos);
    ++i;
    if (i != n) out += t.substr(pos, nl + 1 - pos);
    else if (!with.empty()) out += with + "\n";
    pos = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("probe file: the exact text, and it reads back the same", "[target][probe_file]") {
  CHECK(format_probe(sample()) == kSampleText);
  ProbeFile q = parse_probe(kSampleText, "p.txt");
  CHECK(q.created == "2026-12-01T16:00:00Z");
  CHECK(q.host == "node7");
  CHECK(q.os == "Debian GNU/Linux 11 (bullseye)");
  CHECK(q.kernel == "5.10.0");
  CHECK(q.arch == "x86_64");
  CHECK(q.glibc == "2.31");
  REQUIRE(q.libs.size() == 2);
  CHECK(q.libs[0].soname == "libc.so.6");
  CHECK(q.libs[0].path == "/lib/x86_64-linux-gnu/libc.so.6");
  CHECK(q.libs[0].versions == std::vector<std::string>{"GLIBC_2.2.5", "GLIBC_2.31", "GLIBC_PRIVATE"});
  CHECK(q.libs[1].versions.empty());
  CHECK(format_probe(q) == kSampleText);
}

TEST_CASE("probe file: the summary says what to type on the connected side", "[target][probe_file]") {
  CHECK(probe_summary(sample()) ==
        "glibc 2.31, x86_64, kernel 5.10.0, Debian GNU/Linux 11 (bullseye), 2 libraries: "
        "use --target glibc-2.31 (or carry this file and use --target FILE)");
  ProbeFile p = sample();
  p.libs.resize(1);
  p.glibc = "2.3.4";  // only the first two numbers are a --target
  CHECK(probe_summary(p) ==
        "glibc 2.3.4, x86_64, kernel 5.10.0, Debian GNU/Linux 11 (bullseye), 1 library: "
        "use --target glibc-2.3 (or carry this file and use --target FILE)");
}

TEST_CASE("probe file: created and host are optional, the other keys required", "[target][probe_file]") {
  ProbeFile p = parse_probe(with_line(3, ""), "p.txt");
  CHECK(p.host.empty());
  p = parse_probe(with_line(2, ""), "p.txt");
  CHECK(p.created.empty());
  CHECK(format_probe(p).find("created") == std::string::npos);
  CHECK(error_of(with_line(4, "")) == "reading probe file p.txt: the required key 'os' is missing");
  CHECK(error_of(with_line(5, "")) == "reading probe file p.txt: the required key 'kernel' is missing");
  CHECK(error_of(with_line(6, "")) == "reading probe file p.txt: the required key 'arch' is missing");
  CHECK(error_of(with_line(7, "")) == "reading probe file p.txt: the required key 'glibc' is missing");
  CHECK(parse_probe(with_line(9, ""), "p.txt").libs.size() == 1);
  // No libraries at all is a valid (if unhelpful) probe.
  std::string t = kSampleText;
  CHECK(parse_probe(t.substr(0, t.find("lib: ")), "p.txt").libs.empty());
  ProbeFile none = sample();
  none.glibc.clear();
  CHECK_THROWS_WITH(format_probe(none), Catch::Contains("'glibc' has no value"));
}

TEST_CASE("probe file: unknown keys are ignored", "[target][probe_file]") {
  std::string t = std::string(kSampleText) + "cpu-flags: avx2 sse4_2\nlibc-path: /lib/x\n";
  ProbeFile p = parse_probe(t, "p.txt");
  CHECK(p.glibc == "2.31");
  CHECK(p.libs.size() == 2);
  // Still lines of the format: a key needs ': '.
  CHECK(error_of(t + "Weird Key: x\n") == "reading probe file p.txt: line 12: expected 'key: value', got \"Weird Key: x\"");
}

TEST_CASE("probe file: malformed lines are errors naming the line", "[target][probe_file]") {
  CHECK(error_of("") == "reading probe file p.txt: empty file; expected 'format: airlock-probe/1' on line 1");
  CHECK(error_of(with_line(1, "glibc: 2.31")) ==
        "reading probe file p.txt: line 1: not an airlock probe file: expected 'format: airlock-probe/1', got \"glibc: 2.31\"");
  CHECK(error_of(with_line(1, "format: airlock-probe/2")) ==
        "reading probe file p.txt: line 1: unsupported format \"airlock-probe/2\"; this version reads airlock-probe/1");
  CHECK(error_of(std::string(kSampleText).substr(0, std::string(kSampleText).size() - 1)) ==
        "reading probe file p.txt: line 9: no newline at the end of the file (is it cut short?)");
  CHECK(error_of(with_line(4, "os: Debian\r")) ==
        "reading probe file p.txt: line 4: ends with a carriage return (CRLF line endings); convert the file to LF, e.g. with dos2unix");
  CHECK(error_of(with_line(5, "kernel 5.10")) ==
        "reading probe file p.txt: line 5: expected 'key: value', got \"kernel 5.10\"");
  CHECK(error_of(with_line(5, "")+ "\n") == "reading probe file p.txt: line 9: empty line");
  CHECK(error_of(with_line(5, "kernel: ")) == "reading probe file p.txt: line 5: kernel has no value");
  CHECK(error_of(with_line(5, "kernel:  5.10")) ==
        "reading probe file p.txt: line 5: kernel value \" 5.10\" has leading or trailing spaces");
  CHECK(error_of(with_line(5, "kernel: 5\x01")) ==
        "reading probe file p.txt: line 5: control character 0x01 in \"kernel: 5\\x01\"");
  CHECK(error_of(with_line(7, "glibc: 2.x")) ==
        "reading probe file p.txt: line 7: glibc \"2.x\" is not a version (expected X.Y, e.g. 2.31)");
  CHECK(error_of(with_line(7, "glibc: 2")) ==
        "reading probe file p.txt: line 7: glibc \"2\" is not a version (expected X.Y, e.g. 2.31)");
  CHECK(error_of(std::string(kSampleText) + "glibc: 2.17\n") ==
        "reading probe file p.txt: line 10: glibc is given twice (first on line 7)");
  CHECK(error_of(std::string(kSampleText) + "format: airlock-probe/1\n") ==
        "reading probe file p.txt: line 10: 'format' may only be the first line");
}

TEST_CASE("probe file: lib lines are checked field by field", "[target][probe_file]") {
  CHECK(error_of(with_line(9, "lib: libfoo.so.1")) ==
        "reading probe file p.txt: line 9: lib needs at least a soname and a path, got \"libfoo.so.1\"");
  CHECK(error_of(with_line(9, "lib: libfoo.so.1 lib/libfoo.so.1")) ==
        "reading probe file p.txt: line 9: lib path \"lib/libfoo.so.1\" is not absolute");
  CHECK(error_of(with_line(9, "lib: a/libfoo.so.1 /lib/libfoo.so.1")) ==
        "reading probe file p.txt: line 9: lib soname \"a/libfoo.so.1\" contains a '/'");
  CHECK(error_of(with_line(9, "lib: libfoo.so.1  /lib/libfoo.so.1")) ==
        "reading probe file p.txt: line 9: lib fields are separated by single spaces: \"libfoo.so.1  /lib/libfoo.so.1\"");
  CHECK(error_of(with_line(9, "lib: libc.so.6 /lib64/libc.so.6")) ==
        "reading probe file p.txt: line 9: lib \"libc.so.6\" is listed twice (first on line 8)");
  ProbeFile bad = sample();
  bad.libs[1].path = "/opt/my app/libfoo.so.1";
  CHECK_THROWS_WITH(format_probe(bad), Catch::Contains("holds a space or control character"));
  bad = sample();
  bad.os = "Evil\nglibc: 9.99";
  CHECK_THROWS_WITH(format_probe(bad), Catch::Contains("contains a control character"));
}

TEST_CASE("probe file: the packer's --target FILE reads what the probe writes", "[target][probe_file]") {
  test::TempDir d;
  std::string path = d / "node.probe";
  test::spit(path, format_probe(sample()));
  packer::Target t = packer::resolve_target(path);
  CHECK(t.source == packer::TargetSource::kProbe);
  CHECK(t.glibc.str() == "2.31");
  CHECK(t.os == "Debian GNU/Linux 11 (bullseye)");
  CHECK(t.kernel == "5.10.0");
  CHECK(t.provides("libc.so.6", {"GLIBC_2.31"}).missing_versions.empty());
  CHECK(t.provides("libc.so.6", {"GLIBC_2.34"}).missing_versions == std::vector<std::string>{"GLIBC_2.34"});
  CHECK(t.provides("libfoo.so.1", {}).present);
  CHECK_FALSE(t.provides("libbar.so.1", {}).present);
  test::spit(path, with_line(7, "glibc: two"));
  CHECK_THROWS_WITH(packer::resolve_target(path),
                    "reading probe file " + path + ": line 7: glibc \"two\" is not a version (expected X.Y, e.g. 2.31)");
}
