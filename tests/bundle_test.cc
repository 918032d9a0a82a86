#include <catch2/catch.hpp>
#include <csignal>

#include "common/bundle/format.h"
#include "common/bundle/label.h"
#include "common/bundle/manifest.h"
#include "common/error.h"

using namespace airlock::bundle;

TEST_CASE("bundle: label round trip keeps banner, fields and text", "[bundle][label]") {
  Label l;
  l.marking = "CUI";
  l.set("format", "airlock-bundle/1");
  l.set("bundle-id", new_bundle_id());
  l.set("marking", "CUI");
  l.free_text = "line one\n\nline three\n";
  std::string text = l.format();
  CHECK(text.rfind("CUI\n", 0) == 0);
  CHECK(text.substr(text.size() - 4) == "CUI\n");
  Label p = Label::parse(text);
  CHECK(p.marking == "CUI");
  CHECK(p.get("bundle-id") == l.get("bundle-id"));
  CHECK(p.free_text == l.free_text);
  CHECK(p.format() == text);
}

TEST_CASE("bundle: hostile labels are refused with the reason", "[bundle][label]") {
  CHECK_THROWS_WITH(Label::parse("CUI\nformat: x\n\nUNMARKED\n"), Catch::Contains("does not repeat the marking"));
  CHECK_THROWS_WITH(Label::parse("CUI\r\nformat: x\r\n\r\nCUI\r\n"), Catch::Contains("carriage return"));
  CHECK_THROWS_WITH(Label::parse("CUI\nformat x\n\nCUI\n"), Catch::Contains("is not \"key: value\""));
  CHECK_THROWS_WITH(Label::parse("CUI\na: 1\na: 2\n\nCUI\n"), Catch::Contains("duplicate key"));
  CHECK_THROWS_WITH(Label::parse("CUI\nmarking: SECRET\n\nCUI\n"), Catch::Contains("differs from the banner"));
  CHECK_THROWS_WITH(Label::parse(std::string("CUI\na: \xff\n\nCUI\n")), Catch::Contains("UTF-8"));
  // Overlong forms (an encoded '/') and surrogates are not UTF-8 either.
  CHECK_THROWS_WITH(Label::parse(std::string("CUI\na: \xc0\xaf\n\nCUI\n")), Catch::Contains("UTF-8"));
  CHECK_THROWS_WITH(Label::parse(std::string("CUI\na: \xed\xa0\x80\n\nCUI\n")), Catch::Contains("UTF-8"));
  CHECK(Label::parse("CUI\na: caf\xc3\xa9 \xf0\x9f\x93\xa6\n\nCUI\n").get("a") == "caf\xc3\xa9 \xf0\x9f\x93\xa6");
  CHECK_THROWS_WITH(Label::parse("CUI\na: 1\n\nCUI"), Catch::Contains("line feed"));
}

TEST_CASE("bundle: UTF-8 is RFC 3629's", "[bundle]") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain/ascii"));
  CHECK(valid_utf8("na\xc3\xafve \xe2\x82\xac \xf4\x8f\xbf\xbf"));  // up to U+10FFFF
  CHECK_FALSE(valid_utf8("\xc0\xaf"));                // overlong '/'
  CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));           // overlong, three bytes
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));           // a surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));       // above U+10FFFF
  CHECK_FALSE(valid_utf8("\xe2\x82"));               // cut short
  CHECK_FALSE(valid_utf8("\x80"));                   // a lone continuation byte
}

TEST_CASE("bundle: manifest round trip and strict fields", "[bundle][manifest]") {
  Manifest m;
  m.bundle_id = new_bundle_id();
  m.created = rfc3339_now();
  m.source_prefix = "/opt/py";
  m.interpreter = "env/bin/python3.12";
  m.python = {"3.12.1", "cp312", "linux_x86_64", "cpython", "cp312"};
  m.files.push_back({"env", EntryType::kDir, 0755});
  m.files.push_back({"env/a", EntryType::kFile, 0644, 3, std::string(64, 'a')});
  m.files.push_back({"env/b", EntryType::kHardlink, 0, 0, "", "env/a"});
  m.relocate.push_back({"env/bin/pip3", "text"});
  m.extra["future_field"] = 1;
  std::string text = m.dump();
  Manifest p = Manifest::parse(text);
  REQUIRE(p.files.size() == 3);
  CHECK(p.files[1].sha256 == std::string(64, 'a'));
  CHECK(p.files[2].target == "env/a");
  CHECK(p.files[0].mode == 0755);
  CHECK(p.extra["future_field"] == 1);
  CHECK(p.dump() == text);
  CHECK(is_uuid(m.bundle_id));
  CHECK(trusted_comment(m.bundle_id, kPayloadMember) == "airlock-bundle/1 bundle-id:" + m.bundle_id + " file:payload.age");

  std::string bad = text;
  bad.replace(bad.find(std::string(64, 'a')), 64, std::string(64, 'A'));
  CHECK_THROWS_WITH(Manifest::parse(bad), Catch::Contains("64 lowercase hex"));
  CHECK_THROWS_WITH(Manifest::parse("[]"), Catch::Contains("not a JSON object"));
  CHECK_THROWS_WITH(Manifest::parse("{\"format\":\"other/2\"}"), Catch::Contains("unknown format"));
}

namespace {
std::string manifest_with_files(const std::string& files_json) {
  return R"({"format":"airlock-bundle/1","bundle_id":"b","source_prefix":"/p","interpreter":"env/bin/python3","files":)" +
         files_json + "}";
}
const std::string kHex(64, 'c');
}  // namespace

TEST_CASE("bundle: manifest strings with escapes and UTF-8 survive dump and parse", "[bundle][manifest]") {
  Manifest m;
  m.bundle_id = "b";
  std::vector<std::string> names = {"env/plain", "env/quote\"d", "env/back\\slash", "env/tab\there",
                                    "env/ctl\x01", "env/caf\xc3\xa9", "env/emoji\xf0\x9f\x90\x8d", "env/del\x7f"};
  for (const auto& n : names) m.files.push_back({n, EntryType::kFile, 0644, 1, kHex});
  std::string text = m.dump();
  // The same bytes nlohmann would write for each string.
  for (const auto& n : names) CHECK(text.find(nlohmann::json(n).dump()) != std::string::npos);
  Manifest p = Manifest::parse(text);
  REQUIRE(p.files.size() == names.size());
  for (size_t i = 0; i < names.size(); ++i) CHECK(p.files[i].path == names[i]);
  // Invalid UTF-8 is written replaced, never raw.
  m.files = {{"env/bad\xff", EntryType::kFile, 0644, 1, kHex}};
  CHECK(Manifest::parse(m.dump()).files[0].path == "env/bad\xef\xbf\xbd");
}

TEST_CASE("bundle: manifest reader decodes JSON escapes like any JSON reader", "[bundle][manifest]") {
  std::string files = R"([{"path":"env/\u00e9\ud83d\udc0d\/\n\"","type":"file","mode":"0644","size":18446744073709551615,)"
                      R"("sha256":")" + kHex + R"(","future":{"a":[1,2.5e3,-1,true,null,"x"]}}])";
  std::string text = manifest_with_files(files);
  Manifest p = Manifest::parse(text);
  REQUIRE(p.files.size() == 1);
  auto ref = nlohmann::json::parse(text);
  CHECK(p.files[0].path == ref["files"][0]["path"].get<std::string>());
  CHECK(p.files[0].size == 18446744073709551615ull);
  CHECK(Manifest::parse("\xEF\xBB\xBF" + text).files.size() == 1);  // a BOM, as nlohmann accepts
}

TEST_CASE("bundle: manifest reader refuses malformed JSON and wrong field types", "[bundle][manifest]") {
  auto file = [](const std::string& extra) {
    return R"([{"path":"env/a","type":"file","mode":"0644","size":1,"sha256":")" + kHex + "\"" + extra + "}]";
  };
  CHECK_NOTHROW(Manifest::parse(manifest_with_files(file(""))));
  struct Case {
    std::string text, why;
  };
  std::vector<Case> cases = {
      {manifest_with_files(file("")) + "x", "not valid JSON"},
      {manifest_with_files(file(",")), "not valid JSON"},
      {manifest_with_files(file(R"(,"size":2)")), "given twice"},
      {manifest_with_files(R"([{"path":"env/a","type":"file","mode":"0644","size":1.0,"sha256":")" + kHex + "\"}]"),
       "non-negative integer"},
      {manifest_with_files(R"([{"path":"env/a","type":"file","mode":"0644","size":-1,"sha256":")" + kHex + "\"}]"),
       "non-negative integer"},
      {manifest_with_files(R"([{"path":"env/a","type":"file","mode":"0644","size":18446744073709551616,"sha256":")" +
                           kHex + "\"}]"),
       "out of range"},
      {manifest_with_files(R"([{"path":"env/a","type":"file","mode":"0644","size":01,"sha256":")" + kHex + "\"}]"),
       "leading zero"},
      {manifest_with_files(R"([{"path":7,"type":"file"}])"), "is not a string"},
      {manifest_with_files(R"([{"path":"env/a","type":"file","mode":"0644","sha256":")" + kHex + "\"}]"),
       "missing \"size\""},
      {manifest_with_files(R"([{"path":"env/a","type":"fifo","mode":"0644"}])"), "unknown type"},
      {manifest_with_files(R"([{"path":"env/a","type":"hardlink"}])"), "missing \"target\""},
      {manifest_with_files(R"([{"path":"env/\ud800","type":"dir","mode":"0755"}])"), "surrogate"},
      {manifest_with_files(R"([{"path":"env/\udc00","type":"dir","mode":"0755"}])"), "surrogate"},
      {manifest_with_files("[{\"path\":\"env/\xc0\xaf\",\"type\":\"dir\",\"mode\":\"0755\"}]"), "invalid UTF-8"},
      {manifest_with_files("[{\"path\":\"env/\xed\xa0\x80\",\"type\":\"dir\",\"mode\":\"0755\"}]"), "invalid UTF-8"},
      {manifest_with_files("[{\"path\":\"env/\x01\",\"type\":\"dir\",\"mode\":\"0755\"}]"), "control character"},
      {manifest_with_files(R"([{"path":"env/a","type":"dir","mode":"0755"}])").replace(1, 0, R"("files":[],)"),
       "given twice"},
      {manifest_with_files("{}"), "\"files\" is not an array"},
      {manifest_with_files("[1]"), "files[0] is not an object"},
      {R"({"format":"airlock-bundle/1","bundle_id":"b","source_prefix":"/p","interpreter":"x"})", "missing \"files\""},
      {manifest_with_files("[]").replace(1, 0, "\"x\":" + std::string(300, '[') + std::string(300, ']') + ","),
       "nested too deeply"},
      {manifest_with_files("[]").replace(1, 0, R"("x":[1,],)"), "not valid JSON"},
      {manifest_with_files("[]").replace(1, 0, R"("x":tru,)"), "not valid JSON"},
      {"{\"format\":\"airlock-bundle/1\",\"files\":[", "not valid JSON"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK_THROWS_WITH(Manifest::parse(c.text), Catch::Contains(c.why));
  }
}

TEST_CASE("bundle: a manifest parse gives way to an interrupt", "[bundle][manifest]") {
  Manifest m;
  m.bundle_id = "00000000-0000-4000-8000-000000000000";
  m.created = "2026-11-28T00:00:00Z";
  m.source_prefix = "/p";
  m.interpreter = "env/bin/python3";
  for (int i = 0; i < 10000; ++i)
    m.files.push_back({"env/f" + std::to_string(i), EntryType::kFile, 0644, 1, std::string(64, 'a')});
  std::string text = m.dump();
  CHECK(Manifest::parse(text).files.size() == 10000);
  airlock::install_interrupt_handlers();
  std::raise(SIGINT);
  try {
    Manifest::parse(text);
    FAIL("parsed through an interrupt");
  } catch (const airlock::Error& e) {
    CHECK(e.exit() == airlock::Exit::kInterrupted);
  }
  airlock::clear_interrupted();
  CHECK(Manifest::parse(text).files.size() == 10000);
}
