#include "common/bundle/manifest.h"

#include <cstdio>

namespace airlock::bundle {

using json = nlohmann::ordered_json;

const char* to_string(EntryType t) {
  switch (t) {
    case EntryType::kDir: return "dir";
    case EntryType::kFile: return "file";
    case EntryType::kHardlink: return "hardlink";
  }
  return "?";
}

std::string mode_string(uint32_t mode) {
  char b[8];
  std::snprintf(b, sizeof b, "%04o", mode & 07777);
  return b;
}

namespace {
// A JSON string literal (quoted and escaped).
void put_str(std::string& out, std::string_view v) {
  out += nlohmann::json(std::string(v)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
void put_key(std::string& out, std::string_view k, bool first = false) {
  if (!first) out += ',';
  put_str(out, k);
  out += ':';
}
}  // namespace

// Written by hand, not through a JSON tree: a prefix has ~55,000 entries
// and a tree of them costs tens of MiB; the packer's memory stays flat.
std::string Manifest::dump() const {
  std::string o;
  o.reserve(files.size() * 160 + 4096);
  o += '{';
  put_key(o, "format", true), put_str(o, format);
  put_key(o, "bundle_id"), put_str(o, bundle_id);
  put_key(o, "created"), put_str(o, created);
  put_key(o, "source_prefix"), put_str(o, source_prefix);
  put_key(o, "interpreter"), put_str(o, interpreter);
  put_key(o, "python");
  o += '{';
  put_key(o, "version", true), put_str(o, python.version);
  put_key(o, "tag"), put_str(o, python.tag);
  put_key(o, "platform"), put_str(o, python.platform);
  put_key(o, "implementation"), put_str(o, python.implementation);
  put_key(o, "abi"), put_str(o, python.abi);
  o += '}';
  put_key(o, "files");
  o += '[';
  for (size_t i = 0; i < files.size(); ++i) {
    const FileEntry& f = files[i];
    if (i) o += ',';
    o += '{';
    put_key(o, "path", true), put_str(o, f.path);
    put_key(o, "type"), put_str(o, to_string(f.type));
    if (f.type != EntryType::kHardlink) put_key(o, "mode"), put_str(o, mode_string(f.mode));
    if (f.type == EntryType::kFile) {
      put_key(o, "size"), o += std::to_string(f.size);
      put_key(o, "sha256"), put_str(o, f.sha256);
    }
    if (f.type == EntryType::kHardlink) put_key(o, "target"), put_str(o, f.target);
    o += '}';
  }
  o += ']';
  auto pairs = [&](const char* key, const auto& list, const char* k1, auto get1, const char* k2, auto get2) {
    put_key(o, key);
    o += '[';
    bool first = true;
    for (const auto& x : list) {
      if (!first) o += ',';
      first = false;
      o += '{';
      put_key(o, k1, true), put_str(o, get1(x));
      put_key(o, k2), put_str(o, get2(x));
      o += '}';
    }
    o += ']';
  };
  pairs("dereferenced", dereferenced, "path", [](const Dereferenced& x) { return x.path; }, "was_link_to",
        [](const Dereferenced& x) { return x.was_link_to; });
  pairs("relocate", relocate, "path", [](const RelocateEntry& x) { return x.path; }, "mode",
        [](const RelocateEntry& x) { return x.mode; });
  put_key(o, "wheels");
  o += '[';
  for (size_t i = 0; i < wheels.size(); ++i) {
    const WheelEntry& w = wheels[i];
    if (i) o += ',';
    o += '{';
    put_key(o, "path", true), put_str(o, w.path);
    put_key(o, "name"), put_str(o, w.name);
    put_key(o, "version"), put_str(o, w.version);
    put_key(o, "sha256"), put_str(o, w.sha256);
    o += '}';
  }
  o += ']';
  pairs("skipped", skipped, "path", [](const Skipped& x) { return x.path; }, "reason",
        [](const Skipped& x) { return x.reason; });
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    put_key(o, it.key());
    o += it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  o += "}\n";
  return o;
}

namespace {

const nlohmann::json& field(const nlohmann::json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) throw ManifestError(where + ": missing \"" + key + "\"");
  return *it;
}

std::string str(const nlohmann::json& obj, const char* key, const std::string& where, bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) throw ManifestError(where + ": missing \"" + key + "\"");
    return "";
  }
  if (!it->is_string()) throw ManifestError(where + ": \"" + key + "\" is not a string");
  return it->get<std::string>();
}

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

uint32_t parse_mode(const std::string& s, const std::string& where) {
  if (s.size() < 3 || s.size() > 4) throw ManifestError(where + ": bad mode \"" + s + "\"");
  uint32_t m = 0;
  for (char c : s) {
    if (c < '0' || c > '7') throw ManifestError(where + ": bad mode \"" + s + "\"");
    m = m * 8 + static_cast<uint32_t>(c - '0');
  }
  return m;
}

}  // namespace

Manifest Manifest::parse(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw ManifestError(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw ManifestError("not a JSON object");
  Manifest m;
  m.format = str(j, "format", "top level");
  if (m.format != "airlock-bundle/1") throw ManifestError("unknown format \"" + m.format + "\"");
  m.bundle_id = str(j, "bundle_id", "top level");
  m.created = str(j, "created", "top level", false);
  m.source_prefix = str(j, "source_prefix", "top level");
  m.interpreter = str(j, "interpreter", "top level");
  if (auto it = j.find("python"); it != j.end() && it->is_object()) {
    m.python.version = str(*it, "version", "python", false);
    m.python.tag = str(*it, "tag", "python", false);
    m.python.platform = str(*it, "platform", "python", false);
    m.python.implementation = str(*it, "implementation", "python", false);
    m.python.abi = str(*it, "abi", "python", false);
  }
  const auto& jfiles = field(j, "files", "top level");
  if (!jfiles.is_array()) throw ManifestError("\"files\" is not an array");
  m.files.reserve(jfiles.size());
  size_t i = 0;
  for (const auto& f : jfiles) {
    std::string where = "files[" + std::to_string(i++) + "]";
    if (!f.is_object()) throw ManifestError(where + " is not an object");
    FileEntry e;
    e.path = str(f, "path", where);
    where += " (" + e.path + ")";
    std::string type = str(f, "type", where);
    if (type == "dir") e.type = EntryType::kDir;
    else if (type == "file") e.type = EntryType::kFile;
    else if (type == "hardlink") e.type = EntryType::kHardlink;
    else throw ManifestError(where + ": unknown type \"" + type + "\"");
    if (e.type != EntryType::kHardlink) e.mode = parse_mode(str(f, "mode", where), where);
    if (e.type == EntryType::kFile) {
      const auto& size = field(f, "size", where);
      if (!size.is_number_unsigned()) throw ManifestError(where + ": \"size\" is not a non-negative integer");
      e.size = size.get<uint64_t>();
      e.sha256 = str(f, "sha256", where);
      if (!is_hex64(e.sha256)) throw ManifestError(where + ": \"sha256\" is not 64 lowercase hex digits");
    }
    if (e.type == EntryType::kHardlink) e.target = str(f, "target", where);
    m.files.push_back(std::move(e));
  }
  auto list = [&](const char* key, auto&& fn) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_array()) throw ManifestError(std::string("\"") + key + "\" is not an array");
    size_t k = 0;
    for (const auto& x : *it) {
      std::string where = std::string(key) + "[" + std::to_string(k++) + "]";
      if (!x.is_object()) throw ManifestError(where + " is not an object");
      fn(x, where);
    }
  };
  list("dereferenced", [&](const nlohmann::json& x, const std::string& w) {
    m.dereferenced.push_back({str(x, "path", w), str(x, "was_link_to", w)});
  });
  list("relocate", [&](const nlohmann::json& x, const std::string& w) {
    RelocateEntry r{str(x, "path", w), str(x, "mode", w)};
    if (r.mode != "text" && r.mode != "binary") throw ManifestError(w + ": unknown mode \"" + r.mode + "\"");
    m.relocate.push_back(std::move(r));
  });
  list("wheels", [&](const nlohmann::json& x, const std::string& w) {
    WheelEntry e{str(x, "path", w), str(x, "name", w), str(x, "version", w), str(x, "sha256", w)};
    if (!is_hex64(e.sha256)) throw ManifestError(w + ": \"sha256\" is not 64 lowercase hex digits");
    m.wheels.push_back(std::move(e));
  });
  list("skipped", [&](const nlohmann::json& x, const std::string& w) {
    m.skipped.push_back({str(x, "path", w), str(x, "reason", w, false)});
  });
  static const char* known[] = {"format", "bundle_id", "created", "source_prefix", "interpreter", "python",
                                "files", "dereferenced", "relocate", "wheels", "skipped"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool k = false;
    for (const char* n : known) k = k || it.key() == n;
    if (!k) m.extra[it.key()] = it.value();
  }
  return m;
}

}  // namespace airlock::bundle
