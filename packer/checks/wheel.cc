#include "packer/checks/wheel.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "common/hash.h"

namespace fs = std::filesystem;

namespace airlock::packer {

WheelError::WheelError(const std::string& path, const std::string& what)
    : Error(Exit::kUsage, "reading wheel " + path + ": " + what,
            "rebuild or re-download the wheel; 'unzip -l FILE' shows what it holds") {}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

// What the members may unpack to in memory, all together: a zip bomb
// (bzip2 packs 1 GiB of zeros into 785 bytes) must not be read whole.
// METADATA and WHEEL are text of a few KiB; 16 MiB holds the longest
// descriptions. ELF members are read whole for the doctor, up to 32 times
// the wheel's size (deflate packs a shared library 2 to 4 times).
constexpr uint64_t kMaxMetadataBytes = 16 << 20;
uint64_t max_member_bytes(uint64_t wheel_size) { return (uint64_t{64} << 20) + 32 * wheel_size; }

}  // namespace

Metadata parse_metadata(std::string_view text) {
  Metadata m;
  std::string key, value;
  auto flush = [&]() {
    if (key.empty()) return;
    if (iequals(key, "Name")) m.name = value;
    else if (iequals(key, "Version")) m.version = value;
    else if (iequals(key, "License")) m.license = value;
    else if (iequals(key, "License-Expression")) m.license_expression = value;
    else if (iequals(key, "Classifier")) m.classifiers.push_back(value);
    else if (iequals(key, "Requires-Dist")) m.requires_dist.push_back(value);
    key.clear();
    value.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of headers; the body is the description
    if (line.front() == ' ' || line.front() == '\t') {
      // Continuation of the previous field (multi-line License texts).
      if (!key.empty()) value += "\n" + std::string(trim(line));
      continue;
    }
    flush();
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a header; tolerated like email.parser does
    key = std::string(trim(line.substr(0, colon)));
    value = std::string(trim(line.substr(colon + 1)));
  }
  flush();
  return m;
}

bool Requirement::only_for_extra() const { return marker.find("extra") != std::string::npos; }

Requirement parse_requirement(std::string_view line) {
  Requirement r;
  std::string_view s = trim(line);
  size_t semi = s.find(';');
  if (semi != std::string_view::npos) {
    r.marker = std::string(trim(s.substr(semi + 1)));
    s = trim(s.substr(0, semi));
  }
  size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
    ++i;
  r.name = std::string(s.substr(0, i));
  std::string_view rest = trim(s.substr(i));
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    rest = close == std::string_view::npos ? std::string_view{} : trim(rest.substr(close + 1));
  }
  if (!rest.empty() && rest.front() == '(' && rest.back() == ')') rest = trim(rest.substr(1, rest.size() - 2));
  r.specifier = std::string(rest);
  return r;
}

std::string normalize_name(std::string_view name) {
  std::string out;
  bool sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      sep = true;
      continue;
    }
    if (sep && !out.empty()) out += '-';
    sep = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<std::string> license_names(const Metadata& m) {
  std::vector<std::string> out;
  if (!m.license_expression.empty()) return {m.license_expression};
  auto add = [&](std::string s) {
    if (s.empty() || iequals(s, "UNKNOWN")) return;
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  };
  // A License field that holds a whole licence text is no name: keep its
  // first line only when the field is one short line.
  if (m.license.find('\n') == std::string::npos && m.license.size() <= 100) add(m.license);
  for (const std::string& c : m.classifiers) {
    if (c.rfind("License ::", 0) != 0) continue;
    size_t last = c.rfind("::");
    add(std::string(trim(std::string_view(c).substr(last + 2))));
  }
  return out;
}

std::string install_path(const std::string& member, const std::string& site_packages, const std::string& dist_name) {
  size_t slash = member.find('/');
  if (slash != std::string::npos && ends_with(std::string_view(member).substr(0, slash), ".data")) {
    std::string rest = member.substr(slash + 1);
    size_t s2 = rest.find('/');
    std::string scheme = rest.substr(0, s2);
    std::string tail = s2 == std::string::npos ? std::string() : rest.substr(s2 + 1);
    if (scheme == "purelib" || scheme == "platlib") return site_packages + "/" + tail;
    if (scheme == "scripts") return "bin/" + tail;
    if (scheme == "headers") return "include/" + dist_name + "/" + tail;
    if (scheme == "data") return tail;
  }
  return site_packages + "/" + member;
}

WheelInfo read_wheel(const std::string& path, const ElfVisitor& on_elf) {
  WheelInfo w;
  w.path = path;
  w.filename = fs::path(path).filename().string();
  std::error_code ec;
  w.size = fs::file_size(path, ec);
  if (ec) throw WheelError(path, ec.message());
  w.sha256 = sha256_file_hex(path);

  ArchivePtr a(archive_read_new(), archive_read_free);
  if (!a) throw WheelError(path, "out of memory");
  archive_read_support_format_zip(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK)
    throw WheelError(path, archive_error_string(a.get()) ? archive_error_string(a.get()) : "not a zip file");

  std::string metadata_text, wheel_text;
  bool found_metadata = false;
  uint64_t meta_held = 0, other_held = 0;  // bytes unpacked into memory so far
  archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    const char* p = archive_entry_pathname(e);
    std::string name = p ? p : "";
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    size_t slash = name.find('/');
    bool in_dist_info = slash != std::string::npos && name.find('/', slash + 1) == std::string::npos &&
                        ends_with(std::string_view(name).substr(0, slash), ".dist-info");
    bool want_meta = in_dist_info && (ends_with(name, "/METADATA") || ends_with(name, "/WHEEL"));
    // Read the member: whole for metadata; for the rest, enough to see the
    // ELF magic, then the rest only when the doctor wants the bytes.
    std::vector<uint8_t> data;
    uint8_t buf[64 * 1024];
    bool is_elf = false, decided = false;
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
      if (n < 0) throw WheelError(path, "member " + name + ": " + archive_error_string(a.get()));
      if (n == 0) break;
      data.insert(data.end(), buf, buf + n);
      uint64_t& held = want_meta ? meta_held : other_held;
      held += static_cast<uint64_t>(n);
      if (uint64_t cap = want_meta ? kMaxMetadataBytes : max_member_bytes(w.size); held > cap)
        throw WheelError(path, "member " + name + ": the " + (want_meta ? "METADATA and WHEEL members" : "members") +
                                   " unpack to more than " + std::to_string(cap) + " bytes" +
                                   (want_meta ? "" : " (32 times the wheel's size)") + ": a zip bomb?");
      if (!want_meta && !decided && data.size() >= 4) {
        decided = true;
        is_elf = data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F';
        if (!is_elf || !on_elf) break;  // the rest is skipped by the next header read
      }
    }
    if (want_meta) {
      std::string text(data.begin(), data.end());
      if (ends_with(name, "/METADATA")) {
        metadata_text = std::move(text);
        found_metadata = true;
      } else {
        wheel_text = std::move(text);
      }
      continue;
    }
    if (is_elf) {
      w.elf_members.push_back(name);
      if (on_elf) on_elf(name, data);
    }
  }
  if (r != ARCHIVE_EOF) throw WheelError(path, archive_error_string(a.get()) ? archive_error_string(a.get()) : "corrupt zip");
  if (!found_metadata) throw WheelError(path, "no NAME.dist-info/METADATA member");
  w.metadata = parse_metadata(metadata_text);
  if (w.metadata.name.empty() || w.metadata.version.empty())
    throw WheelError(path, "METADATA has no Name or Version field");
  // WHEEL uses the same header syntax; Tag and Root-Is-Purelib are what we need.
  size_t pos = 0;
  while (pos < wheel_text.size()) {
    size_t eol = wheel_text.find('\n', pos);
    std::string_view line = std::string_view(wheel_text).substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? wheel_text.size() : eol + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view k = trim(line.substr(0, colon)), v = trim(line.substr(colon + 1));
    if (iequals(k, "Tag")) w.tags.emplace_back(v);
    if (iequals(k, "Root-Is-Purelib")) w.root_is_purelib = iequals(v, "true");
  }
  return w;
}

std::string dist_name_from_filename(const std::string& filename) {
  // Wheel and sdist names put the version after the first '-' that is
  // followed by a digit (PEP 427 escapes '-' in names as '_').
  size_t i = 0;
  while ((i = filename.find('-', i)) != std::string::npos) {
    if (i + 1 < filename.size() && std::isdigit(static_cast<unsigned char>(filename[i + 1]))) break;
    ++i;
  }
  return normalize_name(filename.substr(0, i));
}

Wheelhouse list_wheelhouse(const std::string& dir) {
  Wheelhouse h;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw Error(Exit::kUsage, "reading wheelhouse " + dir + ": " + ec.message());
  for (const auto& entry : it) {
    if (!entry.is_regular_file()) continue;
    std::string n = entry.path().filename().string();
    if (ends_with(n, ".whl")) h.wheels.push_back(entry.path().string());
    else if (std::any_of(std::begin(kSdistExtensions), std::end(kSdistExtensions),
                         [&](std::string_view ext) { return ends_with(n, ext); }))
      h.sdists.push_back(entry.path().string());
  }
  std::sort(h.wheels.begin(), h.wheels.end());
  std::sort(h.sdists.begin(), h.sdists.end());
  return h;
}

}  // namespace airlock::packer
