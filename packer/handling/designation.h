// The CUI designation indicator (DoDI 5200.48): who controls the
// information, its CUI category, its limited dissemination control or
// distribution statement, and a point of contact. `packer pack` takes it as
// options or from --designation-file and writes it into the signed label as
// the keys controlled-by, cui-category, dissemination and poc
// (common/bundle/label.h). A marking that begins with "CUI" needs all four;
// the check runs before the environment is read.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace airlock::packer {

struct Designation {
  std::string controlled_by, cui_category, dissemination, poc;

  bool empty() const { return controlled_by.empty() && cui_category.empty() && dissemination.empty() && poc.empty(); }
  // (label key, value) for each value given, in kDesignationKeys order.
  std::vector<std::pair<std::string, std::string>> label_fields() const;
};

// As given: the four options and --designation-file.
struct DesignationOptions {
  Designation given;
  std::string file;
};

// Adds --controlled-by, --cui-category, --dissemination, --poc and
// --designation-file to `app` (in a group of their own).
void add_designation_options(CLI::App& app, DesignationOptions& o);

// Longest value, in characters: each is one line of the label and must
// stay readable on a printed media label.
inline constexpr size_t kMaxDesignationChars = 120;

struct ResolvedDesignation {
  Designation value;
  std::vector<std::string> warnings;  // for the operator; nothing is refused by them
};

// Reads --designation-file (if any), lets an option given on the command
// line replace the file's value for the same key, checks every value, and
// with a CUI marking checks that all four are there. Throws Error(kUsage)
// naming every missing key, or the first bad value or file line.
ResolvedDesignation resolve_designation(const DesignationOptions& o, std::string_view marking);

// The file format: `key: value` lines with the label's keys (controlled-by,
// cui-category, dissemination, poc); blank lines and lines starting with
// '#' are ignored; a key given twice or not known is an error naming the
// line. `name` is used in messages.
Designation parse_designation_file(std::string_view text, const std::string& name);

// Checks one value (`what` names it in messages, e.g. "--poc"): trimmed of
// surrounding spaces; non-empty, valid UTF-8, one line, no control or
// bidirectional formatting characters, at most kMaxDesignationChars
// characters. Returns the trimmed value; throws Error(kUsage).
std::string check_designation_value(std::string_view value, const std::string& what);

}  // namespace airlock::packer
