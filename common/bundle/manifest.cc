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

std::string Manifest::dump() const {
  json j;
  j["format"] = format;
  j["bundle_id"] = bundle_id;
  j["created"] = created;
  j["source_prefix"] = source_prefix;
  j["interpreter"] = interpreter;
  j["python"] = {{"version", python.version}, {"tag", python.tag}, {"platform", python.platform},
                 {"implementation", python.implementation}, {"abi", python.abi}};
  json jf = json::array();
  for (const auto& f : files) {
    json e{{"path", f.path}, {"type", to_string(f.type)}};
    if (f.type != EntryType::kHardlink) e["mode"] = mode_string(f.mode);
    if (f.type == EntryType::kFile) {
      e["size"] = f.size;
      e["sha256"] = f.sha256;
    }
    if (f.type == EntryType::kHardlink) e["target"] = f.target;
    jf.push_back(std::move(e));
  }
  j["files"] = std::move(jf);
  json d = json::array();
  for (const auto& x : dereferenced) d.push_back({{"path", x.path}, {"was_link_to", x.was_link_to}});
  j["dereferenced"] = std::move(d);
  json r = json::array();
  for (const auto& x : relocate) r.push_back({{"path", x.path}, {"mode", x.mode}});
  j["relocate"] = std::move(r);
  json w = json::array();
  for (const auto& x : wheels)
    w.push_back({{"path", x.path}, {"name", x.name}, {"version", x.version}, {"sha256", x.sha256}});
  j["wheels"] = std::move(w);
  json s = json::array();
  for (const auto& x : skipped) s.push_back({{"path", x.path}, {"reason", x.reason}});
  j["skipped"] = std::move(s);
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  return j.dump() + "\n";
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
