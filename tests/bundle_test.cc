#include <catch2/catch.hpp>

#include "common/bundle/format.h"
#include "common/bundle/label.h"
#include "common/bundle/manifest.h"

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
  CHECK_THROWS_WITH(Label::parse("CUI\na: 1\n\nCUI"), Catch::Contains("line feed"));
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
