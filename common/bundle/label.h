// LABEL.txt: the plaintext handling label.
//
//   <MARKING>                      banner, first line
//   format: airlock-bundle/1       key: value lines ...
//   ...
//                                  first empty line
//   free text for people           (how to verify by hand)
//   <MARKING>                      banner, last line
//
// UTF-8, LF line endings. Readers ignore keys they do not know.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace airlock::bundle {

class LabelError : public Error {
 public:
  explicit LabelError(std::string message) : Error(Exit::kVerify, "label: " + std::move(message)) {}
};

struct Label {
  std::string marking = "UNMARKED";  // the tool never invents a marking
  std::vector<std::pair<std::string, std::string>> fields;
  std::string free_text;

  // Value of `key`, or "" when absent.
  std::string get(std::string_view key) const;
  // Value of `key`; throws LabelError naming the key when absent or empty.
  std::string require(std::string_view key) const;
  void set(std::string key, std::string value);

  std::string format() const;
  // Strict: banner first and last and equal, `key: value` lines with
  // lowercase keys [a-z0-9-], no duplicate keys, LF only, no NUL, valid UTF-8.
  static Label parse(std::string_view text);
};

// Text for people: how to check the bundle with tar, minisign, age, zstd.
std::string label_instructions(std::string_view bundle_name_hint);

// The CUI designation indicator (DoDI 5200.48), carried as four label keys
// and shown to people under their captions, in this order.
struct DesignationKey {
  std::string_view key;      // label key
  std::string_view caption;  // as printed: "Controlled by: ..."
};
inline constexpr std::array<DesignationKey, 4> kDesignationKeys = {{{"controlled-by", "Controlled by"},
                                                                    {"cui-category", "CUI Category"},
                                                                    {"dissemination", "Dissemination"},
                                                                    {"poc", "POC"}}};

// A marking that begins with "CUI" (any case): "CUI", "CUI//SP-PRVCY", ...
// Such a bundle must carry the designation indicator.
bool is_cui_marking(std::string_view marking);

// The designation indicator as (caption, value) pairs, in the order above:
// for a label with any designation key or a CUI marking, all four, a missing
// one as "(not in the label)"; for any other label, none.
std::vector<std::pair<std::string, std::string>> designation_lines(const Label& l);

// The same as "Caption: value" lines, each ending in LF ("" when none).
std::string designation_text(const Label& l);

}  // namespace airlock::bundle
