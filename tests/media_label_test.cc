#include <catch2/catch.hpp>

#include <regex>

#include "common/error.h"
#include "packer/handling/media_label.h"

using namespace airlock;
using namespace airlock::packer;

namespace {

MediaLabel volume_label() {
  MediaLabel m;
  m.marking = "CUI//SP-PRVCY";
  m.designation = {{"Controlled by", "DARPA, Information Innovation Office"},
                   {"CUI Category", "PRVCY"},
                   {"Dissemination", "FEDCON"},
                   {"POC", "Jane Doe, 703-555-0100"}};
  m.bundle_id = "0f6f1c4e-8d2a-4c57-9b0e-3a1d2c4b5e6f";
  m.created = "2026-01-02T03:04:05Z";
  m.signer_key_id = "0A1B2C3D4E5F6071";
  m.payload_sha256 = std::string(32, 'a') + std::string(32, 'b');
  m.file_name = "project.sealed.002";
  m.file_bytes = 4'700'000'000;
  m.file_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  m.volume = 2;
  m.volumes = 5;
  return m;
}

// The text elements of an SVG, in document order, entities decoded.
std::vector<std::string> texts(const std::string& svg) {
  std::vector<std::string> out;
  std::regex re("<text[^>]*>([^<]*)</text>");
  for (std::sregex_iterator it(svg.begin(), svg.end(), re), end; it != end; ++it) {
    std::string t = (*it)[1];
    for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}})
      for (size_t p; (p = t.find(from)) != std::string::npos;) t.replace(p, std::string(from).size(), to);
    out.push_back(t);
  }
  return out;
}

std::string joined(const std::vector<std::string>& v, const char* sep = " ") {
  std::string s;
  for (const auto& t : v) s += (s.empty() ? "" : sep) + t;
  return s;
}

std::string without_spaces(std::string s) {
  std::erase(s, ' ');
  return s;
}

}  // namespace

TEST_CASE("media label: 89 x 51 mm, banner first and last, every field", "[media_label]") {
  auto m = volume_label();
  auto r = render_media_label(m);
  CHECK_THAT(r.svg, Catch::Contains("width=\"89mm\" height=\"51mm\" viewBox=\"0 0 89 51\""));
  CHECK(r.body_pt <= 8);
  CHECK(r.body_pt >= 6);  // ordinary values stay readable
  auto t = texts(r.svg);
  REQUIRE(t.size() > 10);
  CHECK(t[0] == "CUI//SP-PRVCY");
  CHECK(t[1] == "CUI//SP-PRVCY");  // the bottom banner (drawn second, at the bottom)
  std::string all = joined(t);
  for (const char* s : {"Controlled by: DARPA, Information Innovation Office", "CUI Category: PRVCY",
                        "Dissemination: FEDCON", "POC: Jane Doe, 703-555-0100",
                        "Bundle 0f6f1c4e-8d2a-4c57-9b0e-3a1d2c4b5e6f", "Created 2026-01-02T03:04:05Z",
                        "Signer 0A1B2C3D4E5F6071", "Volume 2 of 5 project.sealed.002, 4,700,000,000 bytes"})
    CHECK_THAT(all, Catch::Contains(s));
  // Each SHA-256 whole, in groups of eight, on two lines.
  CHECK_THAT(all, Catch::Contains("SHA-256 01234567 89abcdef 01234567 89abcdef 01234567 89abcdef 01234567 89abcdef"));
  CHECK_THAT(without_spaces(all), Catch::Contains("Payload" + std::string(32, 'a') + "SHA-256" + std::string(32, 'b')));
  // Generic families, DejaVu (every Debian system has it) first.
  CHECK_THAT(r.svg, Catch::Contains("font-family=\"DejaVu Sans, sans-serif\""));
  CHECK_THAT(r.svg, Catch::Contains("font-family=\"DejaVu Sans Mono, monospace\""));
}

TEST_CASE("media label: a whole bundle says so", "[media_label]") {
  auto m = volume_label();
  m.volume = m.volumes = 0;
  m.file_name = "project.sealed";
  std::string all = joined(texts(render_media_label(m).svg));
  CHECK_THAT(all, Catch::Contains("File project.sealed, 4,700,000,000 bytes (the whole bundle)"));
  CHECK_THAT(all, !Catch::Contains("Volume"));
}

TEST_CASE("media label: text is escaped for XML and control characters never reach it", "[media_label]") {
  auto m = volume_label();
  m.designation[0].second = "R&D <Lab> \"North\"";
  m.designation[1].second = std::string("A\x1b[2JB");
  auto r = render_media_label(m);
  CHECK_THAT(r.svg, Catch::Contains("R&amp;D &lt;Lab&gt; &quot;North&quot;"));
  CHECK_THAT(r.svg, !Catch::Contains("\x1b"));
  CHECK_THAT(joined(texts(r.svg)), Catch::Contains("CUI Category: A?[2JB"));
}

TEST_CASE("media label: long values wrap, smaller text keeps them on the label", "[media_label]") {
  auto m = volume_label();
  std::string long_words = "Defense Advanced Research Projects Agency, Information Innovation Office, Program "
                           "Management Team Seven, Building 3";
  for (auto& [caption, value] : m.designation) value = long_words.substr(0, 120);
  auto r = render_media_label(m);
  CHECK(r.body_pt < 6.5);
  CHECK(r.body_pt >= 4);
  auto t = texts(r.svg);
  // Every word is there, in order, across the wrapped lines.
  std::string all = joined(t);
  CHECK_THAT(all, Catch::Contains("Controlled by: Defense Advanced"));
  CHECK_THAT(all, Catch::Contains("Team Seven, Building 3"));
  // Nothing ends below the bottom banner: the last text is the banner's.
  std::regex y_re("<text x=\"[0-9.]+\" y=\"([0-9.]+)\"");
  double max_y = 0, bottom = 0;
  int n = 0;
  for (std::sregex_iterator it(r.svg.begin(), r.svg.end(), y_re), end; it != end; ++it, ++n) {
    double y = std::stod((*it)[1]);
    if (n == 1) bottom = y;  // the bottom banner
    else max_y = std::max(max_y, y);
  }
  CHECK(max_y < bottom - 2);
  CHECK(bottom <= 51 - 3);

  // A word wider than the label (a file name) is broken between characters.
  m = volume_label();
  m.file_name = std::string(90, 'n') + ".sealed.002";
  all = without_spaces(joined(texts(render_media_label(m).svg), ""));
  CHECK_THAT(all, Catch::Contains(std::string(90, 'n') + ".sealed.002,"));
}

TEST_CASE("media label: a very wide designation is laid out at the smallest size, or refused", "[media_label]") {
  auto m = volume_label();
  // 120 characters each, all counted as wide as any glyph (not Latin).
  std::string wide;
  for (int i = 0; i < 120; ++i) wide += "\xe6\xbc\xa2";  // U+6F22
  for (auto& [caption, value] : m.designation) value = wide;
  auto r = render_media_label(m);
  CHECK(r.body_pt >= 3);
  // Far more than a label holds: refused, not cut off.
  for (auto& [caption, value] : m.designation) value = wide + wide + wide + wide;
  CHECK_THROWS_WITH(render_media_label(m), Catch::Contains("does not fit on a 89 x 51 mm label"));
}
