#include "common/bundle/label.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>

#include "common/bundle/format.h"

namespace airlock::bundle {

namespace {

bool valid_key(std::string_view k) {
  if (k.empty()) return false;
  return std::all_of(k.begin(), k.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; });
}


}  // namespace

std::string Label::get(std::string_view key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return "";
}

std::string Label::require(std::string_view key) const {
  std::string v = get(key);
  if (v.empty()) throw LabelError("missing required key \"" + std::string(key) + "\"");
  return v;
}

void Label::set(std::string key, std::string value) {
  for (auto& [k, v] : fields)
    if (k == key) {
      v = std::move(value);
      return;
    }
  fields.emplace_back(std::move(key), std::move(value));
}

std::string Label::format() const {
  std::string out = marking + "\n";
  for (const auto& [k, v] : fields) out += k + ": " + v + "\n";
  out += "\n";
  out += free_text;
  if (!free_text.empty() && free_text.back() != '\n') out += "\n";
  out += marking + "\n";
  return out;
}

Label Label::parse(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) throw LabelError("contains a NUL byte");
  if (text.find('\r') != std::string_view::npos) throw LabelError("contains a carriage return (LF line endings only)");
  if (!valid_utf8(text)) throw LabelError("is not valid UTF-8");
  if (text.empty() || text.back() != '\n') throw LabelError("does not end with a line feed");
  std::vector<std::string_view> lines;
  for (size_t s = 0; s < text.size();) {
    size_t e = text.find('\n', s);
    lines.push_back(text.substr(s, e - s));
    s = e + 1;
  }
  if (lines.size() < 3) throw LabelError("too short to hold a banner, fields and a closing banner");
  Label l;
  l.marking = std::string(lines.front());
  if (l.marking.empty()) throw LabelError("first line (the marking banner) is empty");
  if (lines.back() != lines.front())
    throw LabelError("last line " + quote(lines.back()) + " does not repeat the marking banner " + quote(lines.front()));
  size_t i = 1;
  // Keys seen so far, as views into `text`: a set, since comparing each key
  // with every earlier one would be quadratic in a 1 MiB label.
  std::unordered_set<std::string_view> seen;
  for (; i + 1 < lines.size() && !lines[i].empty(); ++i) {
    auto colon = lines[i].find(": ");
    if (colon == std::string_view::npos)
      throw LabelError("line " + std::to_string(i + 1) + " " + quote(lines[i]) + " is not \"key: value\"");
    std::string key(lines[i].substr(0, colon));
    if (!valid_key(key)) throw LabelError("line " + std::to_string(i + 1) + ": bad key " + quote(key));
    if (!seen.insert(lines[i].substr(0, colon)).second)
      throw LabelError("line " + std::to_string(i + 1) + ": duplicate key " + quote(key));
    l.fields.emplace_back(key, std::string(lines[i].substr(colon + 2)));
  }
  for (++i; i + 1 < lines.size(); ++i) {
    l.free_text += lines[i];
    l.free_text += "\n";
  }
  std::string m = l.get("marking");
  if (!m.empty() && m != l.marking)
    throw LabelError("\"marking\" field " + quote(m) + " differs from the banner " + quote(l.marking));
  return l;
}

std::string label_instructions(std::string_view name) {
  std::string n(name.empty() ? "BUNDLE.sealed" : name);
  return "This is an airlock bundle: a Python environment sealed for an air-gapped node.\n"
         "It is a plain tar file (on several discs: cat " + n + ".0* > " + n + " first;\n"
         "each disc alone: minisign -V -m " + n + ".volumes, sha256sum -c --ignore-missing).\n"
         "To check it by hand with standard tools:\n"
         "  tar -xf " + n + "          # payload.age, payload.age.minisig, LABEL.txt, LABEL.txt.minisig\n"
         "  minisign -V -p SIGNER.pub -m LABEL.txt\n"
         "  minisign -V -p SIGNER.pub -m payload.age\n"
         "  sha256sum payload.age    # must equal payload-sha256 above\n"
         "  age -d -i IDENTITY payload.age | zstd -d | tar -tv\n"
         "Both trusted comments must name the bundle-id above. The unpacker does all\n"
         "of this, before decrypting anything: unpacker verify -p SIGNER.pub " + n + "\n";
}

bool is_cui_marking(std::string_view marking) {
  return marking.size() >= 3 && std::toupper(static_cast<unsigned char>(marking[0])) == 'C' &&
         std::toupper(static_cast<unsigned char>(marking[1])) == 'U' &&
         std::toupper(static_cast<unsigned char>(marking[2])) == 'I';
}

std::vector<std::pair<std::string, std::string>> designation_lines(const Label& l) {
  bool any = is_cui_marking(l.marking);
  for (const auto& d : kDesignationKeys) any = any || !l.get(d.key).empty();
  std::vector<std::pair<std::string, std::string>> out;
  if (!any) return out;
  for (const auto& d : kDesignationKeys) {
    std::string v = l.get(d.key);
    out.emplace_back(std::string(d.caption), v.empty() ? "(not in the label)" : v);
  }
  return out;
}

std::string designation_text(const Label& l) {
  std::string out;
  for (const auto& [caption, value] : designation_lines(l)) out += caption + ": " + value + "\n";
  return out;
}

}  // namespace airlock::bundle
