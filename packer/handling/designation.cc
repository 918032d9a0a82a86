#include "packer/handling/designation.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "common/bundle/format.h"
#include "common/bundle/label.h"
#include "common/error.h"
#include "common/io.h"

namespace airlock::packer {

namespace {

constexpr size_t kMaxFileBytes = 64 * 1024;

// Where each key's value lives, in kDesignationKeys order.
std::array<std::string*, 4> slots(Designation& d) {
  return {&d.controlled_by, &d.cui_category, &d.dissemination, &d.poc};
}
std::array<const std::string*, 4> slots(const Designation& d) {
  return {&d.controlled_by, &d.cui_category, &d.dissemination, &d.poc};
}

std::string option_name(std::string_view key) { return "--" + std::string(key); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Code points of valid UTF-8 (checked before).
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    int n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(c);
    i += static_cast<size_t>(n);
  }
  return out;
}

// Characters that would let a value span lines, or show differently from
// what it holds: C0 and C1 controls, DEL, line and paragraph separators,
// and the bidirectional formatting characters ("Trojan Source").
const char* forbidden(char32_t c) {
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) return "a control character";
  if (c == 0x2028 || c == 0x2029) return "a line or paragraph separator";
  if ((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F || c == 0x061C)
    return "a bidirectional formatting character";
  return nullptr;
}

std::string hex_code_point(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

// A limited dissemination control of the CUI Registry, or a DoD
// distribution statement (DoDI 5230.24), at the start of the value.
bool known_dissemination(std::string_view value) {
  std::string u = upper(value);
  static constexpr std::string_view kLdc[] = {"NOFORN",       "FED ONLY",        "FEDCON",      "NOCON", "DL ONLY",
                                              "REL TO",       "DISPLAY ONLY",    "ATTORNEY-CLIENT", "ATTORNEY-WP",
                                              "DISSEM LIST"};
  auto word_end = [&](size_t n) { return u.size() == n || !std::isalnum(static_cast<unsigned char>(u[n])); };
  for (auto l : kLdc)
    if (u.starts_with(l) && word_end(l.size())) return true;
  for (std::string_view p : {"DISTRIBUTION STATEMENT ", "DISTRIBUTION "})
    if (u.starts_with(p) && u.size() > p.size() && u[p.size()] >= 'A' && u[p.size()] <= 'F' && word_end(p.size() + 1))
      return true;
  return false;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> Designation::label_fields() const {
  std::vector<std::pair<std::string, std::string>> out;
  auto s = slots(*this);
  for (size_t i = 0; i < s.size(); ++i)
    if (!s[i]->empty()) out.emplace_back(std::string(bundle::kDesignationKeys[i].key), *s[i]);
  return out;
}

void add_designation_options(CLI::App& app, DesignationOptions& o) {
  const char* group = "CUI designation indicator (required with a marking that begins with CUI)";
  app.add_option("--controlled-by", o.given.controlled_by,
                 "Who controls the information: agency and office (label key controlled-by)")
      ->group(group);
  app.add_option("--cui-category", o.given.cui_category, "CUI category or categories, e.g. PRVCY (label key cui-category)")
      ->group(group);
  app.add_option("--dissemination", o.given.dissemination,
                 "Limited dissemination control (e.g. FEDCON, NOFORN) or distribution statement "
                 "(e.g. 'Distribution Statement C') (label key dissemination)")
      ->group(group);
  app.add_option("--poc", o.given.poc, "Point of contact: a person and a phone number, e.g. 'Jane Doe, 703-555-0100' "
                                       "(label key poc)")
      ->group(group);
  app.add_option("--designation-file", o.file,
                 "File of 'key: value' lines with the keys controlled-by, cui-category, dissemination, poc; "
                 "an option given on the command line replaces the file's value")
      ->group(group);
}

std::string check_designation_value(std::string_view value, const std::string& what) {
  std::string_view v = trim(value);
  if (v.empty()) throw Error(Exit::kUsage, what + " is empty");
  if (!bundle::valid_utf8(v)) throw Error(Exit::kUsage, what + " " + quote(v) + " is not valid UTF-8");
  auto cps = code_points(v);
  for (char32_t c : cps)
    if (const char* why = forbidden(c))
      throw Error(Exit::kUsage, what + " " + quote(v) + " contains " + why + " (" + hex_code_point(c) + ")",
                  "each value is one line of plain text");
  if (cps.size() > kMaxDesignationChars)
    throw Error(Exit::kUsage,
                what + " is " + std::to_string(cps.size()) + " characters long, more than " +
                    std::to_string(kMaxDesignationChars) + ": " + quote(v),
                "it must fit a printed media label; abbreviate (e.g. the office symbol)");
  return std::string(v);
}

Designation parse_designation_file(std::string_view text, const std::string& name) {
  if (text.size() > kMaxFileBytes)
    throw Error(Exit::kUsage, name + ": " + std::to_string(text.size()) + " bytes; a designation file is at most " +
                                  std::to_string(kMaxFileBytes));
  Designation d;
  auto s = slots(d);
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::string where = name + ": line " + std::to_string(line_no);
    if (line.find('\r') != std::string_view::npos)
      throw Error(Exit::kUsage, where + " ends in a carriage return", "save the file with LF line endings");
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    size_t colon = t.find(':');
    if (colon == std::string_view::npos)
      throw Error(Exit::kUsage, where + " " + quote(t) + " is not \"key: value\"",
                  "keys: controlled-by, cui-category, dissemination, poc");
    std::string_view key = trim(t.substr(0, colon));
    auto it = std::find_if(bundle::kDesignationKeys.begin(), bundle::kDesignationKeys.end(),
                           [&](const auto& k) { return k.key == key; });
    if (it == bundle::kDesignationKeys.end())
      throw Error(Exit::kUsage, where + ": unknown key " + quote(key),
                  "keys: controlled-by, cui-category, dissemination, poc");
    std::string& slot = *s[static_cast<size_t>(it - bundle::kDesignationKeys.begin())];
    if (!slot.empty()) throw Error(Exit::kUsage, where + ": " + quote(key) + " given twice");
    slot = check_designation_value(t.substr(colon + 1), where + ": " + std::string(key));
  }
  return d;
}

ResolvedDesignation resolve_designation(const DesignationOptions& o, std::string_view marking) {
  ResolvedDesignation r;
  if (!o.file.empty()) r.value = parse_designation_file(read_file(o.file), o.file);
  auto given = slots(o.given);
  auto out = slots(r.value);
  // Where each value came from, for messages: the option, or the file's key.
  std::array<std::string, 4> from;
  for (size_t i = 0; i < given.size(); ++i) {
    std::string option = option_name(bundle::kDesignationKeys[i].key);
    from[i] = o.file + ": " + std::string(bundle::kDesignationKeys[i].key);
    if (given[i]->empty()) continue;  // the command line replaces the file's value
    *out[i] = check_designation_value(*given[i], option);
    from[i] = option;
  }

  if (bundle::is_cui_marking(marking)) {
    std::vector<std::string> missing;
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i]->empty()) missing.push_back(option_name(bundle::kDesignationKeys[i].key));
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size(); ++i)
        list += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + missing[i];
      throw Error(Exit::kUsage,
                  "the marking " + quote(marking) + " needs the CUI designation indicator; missing " + list,
                  "give each as an option, or as a 'key: value' line (controlled-by, cui-category, dissemination, "
                  "poc) of --designation-file FILE; see docs/packing.md");
    }
  } else if (!r.value.empty()) {
    r.warnings.push_back("a CUI designation indicator was given but the marking " +
                         quote(marking.empty() ? "UNMARKED" : marking) +
                         " does not begin with CUI; the label carries both as given");
  }
  if (!r.value.dissemination.empty() && !known_dissemination(r.value.dissemination))
    r.warnings.push_back(from[2] + " " + quote(r.value.dissemination) +
                         " is neither a limited dissemination control (NOFORN, FED ONLY, FEDCON, NOCON, DL ONLY, "
                         "REL TO ..., DISPLAY ONLY, ATTORNEY-CLIENT, ATTORNEY-WP, DISSEM LIST) nor a distribution "
                         "statement (A to F); it goes into the label as given");
  if (!r.value.poc.empty()) {
    size_t digits = std::count_if(r.value.poc.begin(), r.value.poc.end(), [](char c) { return c >= '0' && c <= '9'; });
    bool letter = std::any_of(r.value.poc.begin(), r.value.poc.end(),
                              [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
    if (digits < 7 || !letter)
      throw Error(Exit::kUsage, from[3] + " " + quote(r.value.poc) + " must name a person and a phone number",
                  "for example --poc 'Jane Doe, 703-555-0100'");
  }
  return r;
}

}  // namespace airlock::packer
