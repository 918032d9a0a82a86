#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/audit.h"
#include "common/hash.h"
#include "tests/support.h"
#include "unpacker/install/installed_tree.h"

using namespace airlock;
using namespace airlock::unpacker;
using airlock::test::slurp;
using airlock::test::spit;
using airlock::test::TempDir;
namespace fs = std::filesystem;

namespace {

// DEST with the kinds of entry an installed tree holds, and a few it
// should not: a hardlinked pair, a symlink (dangling), a fifo.
std::string make_tree(const TempDir& t) {
  std::string d = t / "dest";
  fs::create_directories(d + "/env/bin");
  fs::create_directories(d + "/env/lib/python3.12/__pycache__");
  fs::create_directories(d + "/airlock");
  spit(d + "/env/bin/python3.12", "ELF pretend");
  ::chmod((d + "/env/bin/python3.12").c_str(), 0755);
  fs::create_hard_link(d + "/env/bin/python3.12", d + "/env/bin/python3");
  spit(d + "/env/lib/python3.12/os.py", "import sys\n");
  spit(d + "/env/lib/python3.12/__pycache__/os.cpython-312.pyc", "bytecode");
  fs::create_symlink("../lib/nowhere", d + "/env/bin/dangling");
  ::mkfifo((d + "/env/fifo").c_str(), 0600);
  spit(d + "/airlock/manifest.json", "{}");
  spit(d + "/airlock/installed.json", "not part of the record");
  return d;
}

const TreeEntry& at(const std::vector<TreeEntry>& v, const std::string& path) {
  for (const auto& e : v)
    if (e.path == path) return e;
  FAIL("no entry " << path);
  throw;
}

bool has(const std::vector<TreeEntry>& v, const std::string& path) {
  for (const auto& e : v)
    if (e.path == path) return true;
  return false;
}

// kind -> paths, from a comparison.
std::map<std::string, std::vector<std::string>> classes(const std::vector<Drift>& drift) {
  std::map<std::string, std::vector<std::string>> m;
  for (const auto& d : drift) m[json_key(d.kind)].push_back(d.path);
  return m;
}

std::string valid_record() {
  TreeRecord r;
  r.bundle_id = "b";
  r.dest = "/opt/x";
  r.created = "2026-01-01T00:00:00Z";
  r.recorded_after = {"extract", "relocate"};
  r.entries = {{"env", NodeType::kDir, 0755},
               {"env/a", NodeType::kFile, 0644, 3, std::string(64, 'a')},
               {"env/b", NodeType::kHardlink, 0644, 3, std::string(64, 'a'), "env/a"},
               {"env/c", NodeType::kSymlink, 0, 0, "", "/etc/passwd"}};
  return r.dump();
}

}  // namespace

TEST_CASE("installed tree: every entry, symlinks not followed, hardlinks once, the record left out", "[installed_tree]") {
  TempDir t;
  std::string d = make_tree(t);
  ScanStats st;
  auto v = scan_tree(d, {.threads = 2}, &st);
  for (size_t i = 1; i < v.size(); ++i) CHECK(v[i - 1].path < v[i].path);
  CHECK_FALSE(has(v, "airlock/installed.json"));
  CHECK(at(v, "airlock").type == NodeType::kDir);
  const TreeEntry& py = at(v, "env/bin/python3");  // sorts first: the file
  CHECK(py.type == NodeType::kFile);
  CHECK(py.mode == 0755);
  CHECK(py.size == 11);
  CHECK(py.sha256 == sha256_hex(std::string_view("ELF pretend")));
  const TreeEntry& link = at(v, "env/bin/python3.12");
  CHECK(link.type == NodeType::kHardlink);
  CHECK(link.target == "env/bin/python3");
  CHECK(link.sha256 == py.sha256);
  const TreeEntry& sym = at(v, "env/bin/dangling");
  CHECK(sym.type == NodeType::kSymlink);
  CHECK(sym.target == "../lib/nowhere");
  CHECK(at(v, "env/fifo").type == NodeType::kSpecial);  // listed, never opened
  CHECK(st.files == 4);  // python3, os.py, the .pyc, manifest.json
  CHECK(st.bytes == 11 + 11 + 8 + 2);
}

TEST_CASE("installed tree: hashing on several threads gives what one thread gives", "[installed_tree]") {
  TempDir t;
  std::string d = t / "dest";
  for (int i = 0; i < 300; ++i) {
    std::string dir = d + "/env/d" + std::to_string(i % 7);
    fs::create_directories(dir);
    spit(dir + "/f" + std::to_string(i), std::string(static_cast<size_t>(i) * 997, static_cast<char>('a' + i % 26)));
  }
  ScanStats s1, s4;
  auto one = scan_tree(d, {.threads = 1}, &s1);
  auto four = scan_tree(d, {.threads = 4}, &s4);
  CHECK(s1.threads == 1);
  CHECK(s4.threads == 4);
  REQUIRE(one == four);
  CHECK(at(four, "env/d3/f10").sha256 == sha256_hex(std::string(10 * 997, 'k')));
}

TEST_CASE("installed tree: the record reads back as it was written, non-UTF-8 names included", "[installed_tree]") {
  TempDir t;
  std::string d = make_tree(t);
  spit(d + "/env/caf\xe9", "latin-1 name");
  fs::create_symlink("\xff", d + "/env/odd-link");
  TreeRecord r;
  r.bundle_id = "0b1c";
  r.dest = d;
  r.created = "2026-01-01T00:00:00Z";
  r.recorded_after = recorded_after(true, true);
  r.entries = scan_tree(d, {});
  std::string text = r.dump();
  CHECK(text.find("\"path_hex\":\"656e762f636166e9\"") != std::string::npos);
  TreeRecord back = TreeRecord::parse(text);
  CHECK(back.entries == r.entries);
  CHECK(back.recorded_after == std::vector<std::string>{"extract", "relocate", "install", "link-test"});
  CHECK(at(back.entries, "env/odd-link").target == "\xff");
  // One entry a line, so a person can read and diff it.
  CHECK(std::count(text.begin(), text.end(), '\n') == static_cast<long>(r.entries.size()) + 2);
}

TEST_CASE("installed tree: each entry's line is the JSON library's text of entry_json", "[installed_tree]") {
  const std::string h(64, 'e');
  std::vector<TreeEntry> entries = {
      {"env", NodeType::kDir, 0755},
      {"env/bin/python3", NodeType::kFile, 04755, 1234567890123, h},
      {"env/bin/python3.12", NodeType::kHardlink, 0755, 7, h, "env/bin/python3"},
      {"env/lib/libz.so", NodeType::kSymlink, 0, 0, "", "libz.so.1.3"},
      {"env/fifo", NodeType::kSpecial, 0600},
      {"env/sp ace/~tilde!", NodeType::kFile, 0, 0, h},
      {"env/quote\"d", NodeType::kFile, 0644, 1, h},       // escaped
      {"env/back\\slash", NodeType::kSymlink, 0, 0, "", "a\tb"},  // escaped, tab in the target
      {"env/caf\xc3\xa9", NodeType::kFile, 0644, 2, h},     // UTF-8
      {"env/caf\xe9", NodeType::kHardlink, 0644, 2, h, "env/caf\xc3\xa9"},  // not UTF-8: _hex
      {"env/del\x7f", NodeType::kFile, 0644, 3, h},
  };
  for (const TreeEntry& e : entries) {
    std::string fast;
    append_entry_json(fast, e);
    CHECK(fast == entry_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

TEST_CASE("installed tree: a walk hashed later is the scan", "[installed_tree]") {
  TempDir t;
  std::string d = make_tree(t);
  WalkedTree w = walk_tree(d);
  REQUIRE(w.entries.size() == w.ids.size());
  for (const TreeEntry& e : w.entries) CHECK(e.sha256.empty());  // not hashed yet
  CHECK(hash_walked(d, std::move(w), {}) == scan_tree(d, {}));
  // The record is part of a walk of any other directory.
  fs::create_directories(d + "/env/airlock");
  spit(d + "/env/airlock/installed.json", "{}");
  CHECK(has(walk_tree(d + "/env", false).entries, "airlock/installed.json"));
  CHECK_FALSE(has(walk_tree(d + "/env").entries, "airlock/installed.json"));
  // Hashing a walk of another directory is refused.
  WalkedTree other = walk_tree(d + "/env");
  CHECK_THROWS_WITH(hash_walked(d, std::move(other), {}), Catch::Contains("changed while"));
}

TEST_CASE("installed tree: modified, added, removed, mode and type changes, bytecode caches apart", "[installed_tree]") {
  TempDir t;
  std::string d = make_tree(t);
  auto before = scan_tree(d, {});
  spit(d + "/env/lib/python3.12/os.py", "import sys  # changed\n");
  spit(d + "/env/bin/extra", "new");
  fs::remove(d + "/airlock/manifest.json");
  ::chmod((d + "/env/lib/python3.12").c_str(), 0777);
  fs::remove(d + "/env/bin/dangling");
  spit(d + "/env/bin/dangling", "now a file");
  spit(d + "/env/lib/python3.12/__pycache__/os.cpython-312.pyc", "other bytecode");
  spit(d + "/env/lib/python3.12/__pycache__/sys.cpython-312.pyc", "new bytecode");
  fs::create_directories(d + "/env/bin/__pycache__");
  auto after = scan_tree(d, {});
  auto c = classes(compare_trees(before, after));
  CHECK(c["modified"] == std::vector<std::string>{"env/lib/python3.12/os.py"});
  CHECK(c["added"] == std::vector<std::string>{"env/bin/extra"});
  CHECK(c["removed"] == std::vector<std::string>{"airlock/manifest.json"});
  CHECK(c["mode_changed"] == std::vector<std::string>{"env/lib/python3.12"});
  CHECK(c["type_changed"] == std::vector<std::string>{"env/bin/dangling"});
  CHECK(c["bytecode_modified"] == std::vector<std::string>{"env/lib/python3.12/__pycache__/os.cpython-312.pyc"});
  CHECK(c["bytecode_added"] ==
        std::vector<std::string>{"env/bin/__pycache__", "env/lib/python3.12/__pycache__/sys.cpython-312.pyc"});
  CHECK(compare_trees(after, after).empty());
}

TEST_CASE("installed tree: a hardlink broken or a file edited through it is named", "[installed_tree]") {
  TempDir t;
  std::string d = make_tree(t);
  auto before = scan_tree(d, {});
  // Edited in place: both names of the file changed content.
  spit(d + "/env/bin/python3", "ELF trojan!");
  auto c = classes(compare_trees(before, scan_tree(d, {})));
  CHECK(c["modified"] == std::vector<std::string>{"env/bin/python3", "env/bin/python3.12"});
  CHECK(c["type_changed"].empty());
  // Replaced by a copy: the link is broken (a type change), content as before.
  spit(d + "/env/bin/python3", "ELF pretend");
  fs::remove(d + "/env/bin/python3.12");
  fs::copy_file(d + "/env/bin/python3", d + "/env/bin/python3.12");
  ::chmod((d + "/env/bin/python3.12").c_str(), 0755);
  c = classes(compare_trees(before, scan_tree(d, {})));
  CHECK(c["type_changed"] == std::vector<std::string>{"env/bin/python3.12"});
  CHECK(c["modified"].empty());
}

TEST_CASE("installed tree: bytecode caches are __pycache__ and the .pyc files in it", "[installed_tree]") {
  CHECK(is_bytecode_cache("env/lib/python3.12/__pycache__"));
  CHECK(is_bytecode_cache("env/lib/python3.12/__pycache__/os.cpython-312.pyc"));
  CHECK(is_bytecode_cache("env/lib/python3.12/__pycache__/os.cpython-312.opt-1.pyc"));
  CHECK_FALSE(is_bytecode_cache("env/lib/python3.12/__pycache__/evil.so"));
  CHECK_FALSE(is_bytecode_cache("env/lib/python3.12/os.pyc"));  // a sourceless module: code, not a cache
  CHECK_FALSE(is_bytecode_cache("env/lib/__pycache__/x/y.pyc"));
  CHECK_FALSE(is_bytecode_cache("env/lib/not__pycache__/y.pyc"));
}

TEST_CASE("installed tree: a hostile record is refused naming what is wrong", "[installed_tree]") {
  std::string good = valid_record();
  REQUIRE(TreeRecord::parse(good).entries.size() == 4);
  auto swap = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    auto p = s.find(from);
    REQUIRE(p != std::string::npos);
    return s.replace(p, from.size(), to);
  };
  std::string a64(64, 'a');
  struct Case {
    std::string text, message;
  };
  std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"[]", "not a JSON object"},
      {good + "x", "not valid JSON"},
      {swap("airlock-installed/1", "airlock-installed/2"), "unknown format \"airlock-installed/2\""},
      {swap("{\"format\"", "{\"format\":\"x\",\"format\""), "\"format\" given twice"},
      {swap("\"type\":\"dir\"", "\"type\":\"dir\",\"type\":\"file\""), "\"type\" given twice"},
      {swap("\"env/a\",\"type\"", "\"../etc/shadow\",\"type\""), "unsafe path \"../etc/shadow\""},
      {swap("\"env/a\",\"type\"", "\"/etc/shadow\",\"type\""), "absolute path"},
      {swap("\"env/a\",\"type\"", "\"env//a\",\"type\""), "unsafe path"},
      {swap("\"env/a\",\"type\"", "\"airlock/installed.json\",\"type\""), "the record lists itself"},
      {swap("\"env/a\",\"type\"", "\"env/z\",\"type\""), "not after \"env/z\""},
      {swap("\"env/a\",\"type\"", "\"x/a\",\"type\""), "its directory is not listed before it"},
      {swap("\"type\":\"symlink\"", "\"type\":\"fifo\""), "unknown type \"fifo\""},
      {swap("\"mode\":\"0644\"", "\"mode\":\"0689\""), "bad mode \"0689\""},
      {swap("\"size\":3", "\"size\":-3"), "\"size\" is not a non-negative integer"},
      {swap("\"size\":3", "\"size\":3.0"), "\"size\" is not a non-negative integer"},
      {swap("\"sha256\":\"" + a64, "\"sha256\":\"" + std::string(64, 'A')), "64 lowercase hex"},
      {swap("\"target\":\"env/a\"", "\"target\":\"env/c\""), "not an earlier file"},
      {swap("\"target\":\"env/a\"", "\"target\":\"env/zz\""), "not an earlier file"},
      {swap("\"entries\":4", "\"entries\":5"), "\"totals\" do not match"},
      {swap("\"path\":\"env/a\"", "\"path\":\"env/a\",\"path_hex\":\"656e762f6\""), "is not lowercase hex"},
      {swap("\"files\":[", "\"files\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
       "nested too deeply"},
  };
  for (const auto& c : cases) {
    INFO(c.text.substr(0, 400));
    try {
      TreeRecord::parse(c.text);
      FAIL("accepted");
    } catch (const TreeRecordError& e) {
      CHECK(e.exit() == Exit::kVerify);
      CHECK_THAT(e.what(), Catch::Contains("not a valid installed-tree record: ") && Catch::Contains(c.message));
    }
  }
}

TEST_CASE("installed tree: the record is written once, read-only, with the digest the audit record gets", "[installed_tree]") {
  TempDir t;
  std::string d = make_tree(t);
  fs::remove(d + "/airlock/installed.json");
  RecordWritten w = write_tree_record(d, "0b1c", recorded_after(false, true), {});
  CHECK(w.path == d + "/airlock/installed.json");
  std::string text = slurp(w.path);
  CHECK(w.sha256 == sha256_hex(text));
  struct stat st;
  REQUIRE(::stat(w.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0444);
  TreeRecord r = TreeRecord::parse(text);
  CHECK(r.dest == d);
  CHECK(r.recorded_after == std::vector<std::string>{"extract", "relocate", "link-test"});
  CHECK(compare_trees(r.entries, scan_tree(d, {})).empty());  // the record does not list itself
  try {
    write_tree_record(d, "0b1c", {}, {});
    FAIL("a second record replaced the first");
  } catch (const Error& e) {
    CHECK(e.exit() == Exit::kUsage);
  }
  AuditEvent ev = record_tree_event({}, "b.sealed", d, w);
  CHECK(ev.event == "record-tree");
  CHECK(ev.extra["record_sha256"] == w.sha256);
  CHECK(ev.extra["dest"] == d);
}

TEST_CASE("installed tree: the last ok record-tree audit record for DEST vouches", "[installed_tree]") {
  TempDir t;
  std::string log = t / "audit.jsonl";
  auto add = [&](const char* event, const char* outcome, const std::string& dest, const std::string& sha) {
    AuditEvent ev{.event = event, .outcome = outcome};
    ev.extra["dest"] = dest;
    ev.extra["record_sha256"] = sha;
    audit_append(log, ev);
  };
  add("record-tree", "ok", "/opt/a", "11");
  add("record-tree", "ok", "/opt/b", "22");
  add("record-tree", "ok", "/opt/a", "33");
  add("record-tree", "failed", "/opt/a", "44");
  add("verify-tree", "ok", "/opt/a", "55");
  std::string text = slurp(log) + "not json but mentions record-tree\n";
  AuditedRecord a = find_record_event(text, "/opt/a");
  CHECK(a.found);
  CHECK(a.line == 3);
  CHECK(a.record_sha256 == "33");
  CHECK(find_record_event(text, "/opt/b").record_sha256 == "22");
  CHECK_FALSE(find_record_event(text, "/opt/c").found);
  CHECK_FALSE(find_record_event(text, "/opt").found);
}

// The unpack hashed every file as it wrote it: the record takes those
// digests for files whose stamp is unchanged, and reads the others again.
TEST_CASE("installed tree: digests known from the unpack are taken only while the file is unchanged",
          "[installed_tree]") {
  TempDir t;
  std::string d = make_tree(t);
  auto stamp = [&](const std::string& rel) {
    struct stat st {};
    REQUIRE(::stat((d + "/" + rel).c_str(), &st) == 0);
    return FileStamp::of(st);
  };
  const std::string os_py = "env/lib/python3.12/os.py", pyc = "env/lib/python3.12/__pycache__/os.cpython-312.pyc";
  // Digests that are not the files' own: only a taken digest can show up.
  const std::string taken(64, 'a'), stale(64, 'b');
  KnownFiles known;
  FileStamp s = stamp(os_py);
  known.add(s, taken, false);
  s = stamp(pyc);
  known.add(s, stale, false);
  known.done();
  // The .pyc is rewritten afterwards, same size, same mtime put back: its
  // ctime (or inode) tells, and it is read again.
  ::usleep(20000);
  struct stat before {};
  REQUIRE(::stat((d + "/" + pyc).c_str(), &before) == 0);
  spit(d + "/" + pyc, "BYTECODE");
  timespec times[2] = {before.st_mtim, before.st_mtim};
  REQUIRE(::utimensat(AT_FDCWD, (d + "/" + pyc).c_str(), times, 0) == 0);

  ScanStats st;
  ScanOptions o;
  o.threads = 2;
  o.known = &known;
  auto v = scan_tree(d, o, &st);
  CHECK(at(v, os_py).sha256 == taken);
  CHECK(at(v, pyc).sha256 == sha256_hex(std::string_view("BYTECODE")));
  CHECK(at(v, "env/bin/python3").sha256 == sha256_hex(std::string_view("ELF pretend")));  // not known: read
  CHECK(st.files == 4);
  CHECK(st.reused == 1);
  // verify-tree passes no digests: every file is read.
  auto again = scan_tree(d, {.threads = 2});
  CHECK(at(again, os_py).sha256 == sha256_hex(std::string_view("import sys\n")));
}
