#include <catch2/catch.hpp>

#include "common/bundle/label.h"
#include "common/error.h"
#include "packer/handling/designation.h"
#include "packer/pack.h"
#include "support.h"

using namespace airlock;
using namespace airlock::packer;
using airlock::test::TempDir;

namespace {

Designation full() {
  return {"DARPA, Information Innovation Office", "PRVCY", "FEDCON", "Jane Doe, 703-555-0100"};
}

// The exit status and message of what `f` throws.
template <class F>
std::pair<Exit, std::string> refusal(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.exit(), e.what()};
  }
  FAIL("nothing was thrown");
  return {};
}

}  // namespace

TEST_CASE("designation: a CUI marking needs all four, and the error names each missing one", "[designation]") {
  DesignationOptions o;
  auto [exit, what] = refusal([&] { resolve_designation(o, "CUI"); });
  CHECK(exit == Exit::kUsage);
  CHECK_THAT(what, Catch::Contains("missing --controlled-by, --cui-category, --dissemination and --poc"));

  o.given.controlled_by = "DARPA";
  o.given.poc = "Jane Doe, 703-555-0100";
  std::tie(exit, what) = refusal([&] { resolve_designation(o, "CUI//SP-PRVCY"); });
  CHECK_THAT(what, Catch::Contains("missing --cui-category and --dissemination"));
  CHECK_THAT(what, !Catch::Contains("--poc"));

  // Any case: "cui" is still a CUI marking.
  std::tie(exit, what) = refusal([&] { resolve_designation(o, "cui"); });
  CHECK(exit == Exit::kUsage);

  o.given = full();
  auto r = resolve_designation(o, "CUI");
  CHECK(r.value.poc == "Jane Doe, 703-555-0100");
  CHECK(r.warnings.empty());
}

TEST_CASE("designation: other markings need none; one given without CUI is kept with a warning", "[designation]") {
  DesignationOptions o;
  CHECK(resolve_designation(o, "").value.empty());
  CHECK(resolve_designation(o, "UNMARKED").value.empty());
  CHECK(resolve_designation(o, "FOUO").warnings.empty());
  o.given = full();
  auto r = resolve_designation(o, "");
  CHECK(r.value.cui_category == "PRVCY");
  REQUIRE(r.warnings.size() == 1);
  CHECK_THAT(r.warnings[0], Catch::Contains("does not begin with CUI"));
}

TEST_CASE("designation: label keys in the designation indicator's order", "[designation]") {
  auto f = full().label_fields();
  REQUIRE(f.size() == 4);
  CHECK(f[0] == std::pair<std::string, std::string>{"controlled-by", "DARPA, Information Innovation Office"});
  CHECK(f[1].first == "cui-category");
  CHECK(f[2].first == "dissemination");
  CHECK(f[3] == std::pair<std::string, std::string>{"poc", "Jane Doe, 703-555-0100"});
  Designation partial;
  partial.poc = "x";
  CHECK(partial.label_fields().size() == 1);
}

TEST_CASE("designation: values are one line of plain UTF-8 text", "[designation]") {
  CHECK(check_designation_value("  PRVCY \t", "--cui-category") == "PRVCY");
  CHECK(check_designation_value("Bundesamt f\xc3\xbcr Sicherheit", "--controlled-by") == "Bundesamt f\xc3\xbcr Sicherheit");
  CHECK_THROWS_WITH(check_designation_value("   ", "--poc"), Catch::Contains("--poc is empty"));
  CHECK_THROWS_WITH(check_designation_value("a\nb", "--poc"), Catch::Contains("a control character (U+000A)"));
  CHECK_THROWS_WITH(check_designation_value("a\x1b[2Jb", "--poc"), Catch::Contains("a control character (U+001B)"));
  CHECK_THROWS_WITH(check_designation_value("a\x7f", "--poc"), Catch::Contains("U+007F"));
  CHECK_THROWS_WITH(check_designation_value("a\xc2\x85", "--poc"), Catch::Contains("U+0085"));  // NEL
  CHECK_THROWS_WITH(check_designation_value("a\xe2\x80\xa8z", "--poc"), Catch::Contains("line or paragraph separator"));
  // A right-to-left override would show "FEDCON" for bytes that say otherwise.
  CHECK_THROWS_WITH(check_designation_value("\xe2\x80\xaeNOCDEF", "--dissemination"),
                    Catch::Contains("bidirectional formatting character (U+202E)"));
  CHECK_THROWS_WITH(check_designation_value("caf\xe9", "--controlled-by"), Catch::Contains("not valid UTF-8"));
  CHECK(check_designation_value(std::string(kMaxDesignationChars, 'x'), "--controlled-by").size() == kMaxDesignationChars);
  CHECK_THROWS_WITH(check_designation_value(std::string(kMaxDesignationChars + 1, 'x'), "--controlled-by"),
                    Catch::Contains("121 characters long, more than 120"));
  // Characters, not bytes: 120 two-byte letters are allowed.
  std::string umlauts;
  for (size_t i = 0; i < kMaxDesignationChars; ++i) umlauts += "\xc3\xbc";
  CHECK_NOTHROW(check_designation_value(umlauts, "--controlled-by"));
}

TEST_CASE("designation: the POC is a person and a phone number", "[designation]") {
  DesignationOptions o;
  o.given = full();
  o.given.poc = "Jane Doe";
  CHECK_THROWS_WITH(resolve_designation(o, "CUI"), Catch::Contains("--poc \"Jane Doe\" must name a person and a phone number"));
  o.given.poc = "703-555-0100";
  CHECK_THROWS_WITH(resolve_designation(o, "CUI"), Catch::Contains("must name a person"));
  o.given.poc = "J. Doe, +1 (703) 555-0100 ext. 12";
  CHECK_NOTHROW(resolve_designation(o, "CUI"));
}

TEST_CASE("designation: an unknown dissemination control is kept with a warning", "[designation]") {
  DesignationOptions o;
  o.given = full();
  for (const char* known : {"FEDCON", "NOFORN", "FED ONLY", "REL TO USA, GBR", "DL ONLY", "Distribution Statement C",
                            "DISTRIBUTION D. Distribution authorized to DoD and U.S. DoD contractors only",
                            "ATTORNEY-CLIENT"}) {
    o.given.dissemination = known;
    CHECK(resolve_designation(o, "CUI").warnings.empty());
  }
  for (const char* unknown : {"FEDCONTRACTORS", "Distribution Statement G", "internal"}) {
    o.given.dissemination = unknown;
    auto r = resolve_designation(o, "CUI");
    REQUIRE(r.warnings.size() == 1);
    CHECK_THAT(r.warnings[0], Catch::Contains("neither a limited dissemination control"));
    CHECK(r.value.dissemination == unknown);
  }
}

TEST_CASE("designation: the file, and the command line over it", "[designation]") {
  TempDir t;
  std::string f = t / "designation.txt";
  test::spit(f,
             "# DoDI 5200.48 designation indicator for project X\n"
             "controlled-by: DARPA, Information Innovation Office\n"
             "\n"
             "cui-category:PRVCY\n"
             "  dissemination:   FEDCON  \n"
             "poc: Jane Doe, 703-555-0100\n");
  DesignationOptions o;
  o.file = f;
  auto r = resolve_designation(o, "CUI");
  CHECK(r.value.controlled_by == "DARPA, Information Innovation Office");
  CHECK(r.value.cui_category == "PRVCY");
  CHECK(r.value.dissemination == "FEDCON");
  CHECK(r.value.poc == "Jane Doe, 703-555-0100");

  o.given.poc = "John Roe, 703-555-0199";  // the command line replaces the file's value
  r = resolve_designation(o, "CUI");
  CHECK(r.value.poc == "John Roe, 703-555-0199");
  CHECK(r.value.cui_category == "PRVCY");

  // A file with some keys, the options the rest.
  test::spit(f, "controlled-by: DARPA\ncui-category: PRVCY\n");
  DesignationOptions mixed;
  mixed.file = f;
  mixed.given.dissemination = "FEDCON";
  CHECK_THROWS_WITH(resolve_designation(mixed, "CUI"), Catch::Contains("missing --poc"));
  mixed.given.poc = "Jane Doe, 703-555-0100";
  CHECK(resolve_designation(mixed, "CUI").value.controlled_by == "DARPA");

  // A bad POC from the file is named by the file and key.
  test::spit(f, "controlled-by: DARPA\ncui-category: PRVCY\ndissemination: FEDCON\npoc: Jane\n");
  DesignationOptions from_file;
  from_file.file = f;
  CHECK_THROWS_WITH(resolve_designation(from_file, "CUI"), Catch::Contains(f + ": poc \"Jane\" must name a person"));

  DesignationOptions missing;
  missing.file = t / "nonexistent";
  CHECK_THROWS_WITH(resolve_designation(missing, "CUI"), Catch::Contains("nonexistent"));
}

TEST_CASE("designation: file errors name the line", "[designation]") {
  auto bad = [](const std::string& text) {
    return refusal([&] { parse_designation_file(text, "d.txt"); });
  };
  CHECK(bad("controlled-by: A\nowner: B\n").second == "d.txt: line 2: unknown key \"owner\"");
  CHECK_THAT(bad("poc: Jane Doe 7035550100\npoc: John Roe 7035550199\n").second,
             Catch::Contains("line 2: \"poc\" given twice"));
  CHECK_THAT(bad("controlled-by DARPA\n").second, Catch::Contains("line 1 \"controlled-by DARPA\" is not \"key: value\""));
  CHECK_THAT(bad("controlled-by: DARPA\r\n").second, Catch::Contains("line 1 ends in a carriage return"));
  CHECK_THAT(bad("cui-category: \n").second, Catch::Contains("line 1: cui-category is empty"));
  CHECK_THAT(bad("cui-category: A\x1b" "B\n").second, Catch::Contains("line 1: cui-category \"A\\x1bB\" contains a control"));
  CHECK_THAT(bad(std::string(70'000, '#')).second, Catch::Contains("at most 65536"));
  CHECK(bad("controlled-by: A\nowner: B\n").first == Exit::kUsage);
  // No final line feed, comments and blank lines are fine.
  CHECK(parse_designation_file("# c\n\npoc: Jane Doe, 703-555-0100", "d.txt").poc == "Jane Doe, 703-555-0100");
}

TEST_CASE("designation: the indicator as people read it, from a label", "[designation][label]") {
  bundle::Label l;
  l.marking = "CUI";
  l.set("controlled-by", "DARPA");
  l.set("cui-category", "PRVCY");
  l.set("dissemination", "FEDCON");
  l.set("poc", "Jane Doe, 703-555-0100");
  CHECK(bundle::designation_text(l) ==
        "Controlled by: DARPA\nCUI Category: PRVCY\nDissemination: FEDCON\nPOC: Jane Doe, 703-555-0100\n");
  // A CUI label made elsewhere without the keys says so, instead of hiding it.
  bundle::Label bare;
  bare.marking = "CUI//SP-PRVCY";
  auto lines = bundle::designation_lines(bare);
  REQUIRE(lines.size() == 4);
  CHECK(lines[3] == std::pair<std::string, std::string>{"POC", "(not in the label)"});
  bundle::Label unmarked;
  CHECK(bundle::designation_text(unmarked).empty());
  CHECK(bundle::is_cui_marking("CUI"));
  CHECK(bundle::is_cui_marking("Cui//SP-EXPT"));
  CHECK_FALSE(bundle::is_cui_marking("UNMARKED"));
  CHECK_FALSE(bundle::is_cui_marking("CU"));
}

TEST_CASE("designation: pack refuses a CUI marking without it before reading the environment", "[designation][pack]") {
  TempDir t;
  PackOptions o;
  o.env_dir = t / "no-such-environment";  // reading it would fail differently
  o.secret_key = t / "no-such-key";
  o.recipients = {"age1nonsense"};
  o.marking = "CUI";
  o.designation.given.controlled_by = "DARPA";
  o.out = t / "out.sealed";
  auto [exit, what] = refusal([&] { pack(o); });
  CHECK(exit == Exit::kUsage);
  CHECK_THAT(what, Catch::Contains("missing --cui-category, --dissemination and --poc"));
  CHECK_FALSE(std::filesystem::exists(o.out));
}
