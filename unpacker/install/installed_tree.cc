#include "unpacker/install/installed_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "common/bundle/format.h"
#include "common/hash.h"
#include "common/io.h"
#include "common/progress.h"
#include "version.h"

namespace airlock::unpacker {

const char* to_string(NodeType t) {
  switch (t) {
    case NodeType::kDir: return "dir";
    case NodeType::kFile: return "file";
    case NodeType::kHardlink: return "hardlink";
    case NodeType::kSymlink: return "symlink";
    case NodeType::kSpecial: return "special";
  }
  return "?";
}

bool is_bytecode_cache(std::string_view path) {
  auto slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base == "__pycache__") return true;
  if (slash == std::string_view::npos || base.size() <= 4 || base.substr(base.size() - 4) != ".pyc") return false;
  std::string_view dir = path.substr(0, slash);
  auto s2 = dir.rfind('/');
  return (s2 == std::string_view::npos ? dir : dir.substr(s2 + 1)) == "__pycache__";
}

namespace {
using ojson = nlohmann::ordered_json;
}  // namespace

// ---- The record ----

namespace {

std::string mode_text(uint32_t m) {
  char b[8];
  std::snprintf(b, sizeof b, "%04o", m & 07777);
  return b;
}

void put_name(ojson& j, const char* key, const std::string& v) {
  j[key] = v;  // dumped with invalid UTF-8 replaced; the exact bytes follow in hex
  if (!bundle::valid_utf8(v)) j[std::string(key) + "_hex"] = to_hex({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
}

std::string dump_json(const ojson& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

ojson entry_json(const TreeEntry& e) {
  ojson j;
  put_name(j, "path", e.path);
  j["type"] = to_string(e.type);
  if (e.type != NodeType::kSymlink) j["mode"] = mode_text(e.mode);
  if (e.type == NodeType::kFile || e.type == NodeType::kHardlink) {
    j["size"] = e.size;
    j["sha256"] = e.sha256;
  }
  if (e.type == NodeType::kHardlink || e.type == NodeType::kSymlink) put_name(j, "target", e.target);
  return j;
}

namespace {

// Printable ASCII but '"' and '\\': written as it is in JSON.
bool plain(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; });
}

}  // namespace

void append_entry_json(std::string& out, const TreeEntry& e) {
  const bool named = e.type == NodeType::kHardlink || e.type == NodeType::kSymlink;
  if (!plain(e.path) || (named && !plain(e.target))) {
    out += dump_json(entry_json(e));  // escapes, and the exact bytes in hex
    return;
  }
  // The same text as dump_json(entry_json(e)), without building a JSON
  // value for each of the tree's entries.
  out += "{\"path\":\"";
  out += e.path;
  out += "\",\"type\":\"";
  out += to_string(e.type);
  out += '"';
  if (e.type != NodeType::kSymlink) {
    out += ",\"mode\":\"";
    out += mode_text(e.mode);
    out += '"';
  }
  if (e.type == NodeType::kFile || e.type == NodeType::kHardlink) {
    out += ",\"size\":";
    out += std::to_string(e.size);
    out += ",\"sha256\":";
    out += plain(e.sha256) ? "\"" + e.sha256 + "\"" : dump_json(ojson(e.sha256));
  }
  if (named) {
    out += ",\"target\":\"";
    out += e.target;
    out += '"';
  }
  out += '}';
}

std::string TreeRecord::dump() const {
  uint64_t files = 0, bytes = 0;
  for (const auto& e : entries)
    if (e.type == NodeType::kFile) ++files, bytes += e.size;
  ojson top;
  top["format"] = kTreeRecordFormat;
  top["bundle_id"] = bundle_id;
  top["dest"] = dest;
  top["created"] = created;
  top["tool"] = {{"name", "unpacker"}, {"version", AIRLOCK_VERSION}};
  top["recorded_after"] = recorded_after;
  top["excluded"] = {kTreeRecordPath};
  top["totals"] = {{"entries", entries.size()}, {"files", files}, {"bytes", bytes}};
  std::string out = dump_json(top);
  out.pop_back();  // the closing brace: "files" comes last, one entry a line
  out += ",\"files\":[";
  out.reserve(out.size() + entries.size() * 160);
  for (size_t i = 0; i < entries.size(); ++i) {
    out += i ? ",\n" : "\n";
    append_entry_json(out, entries[i]);
  }
  out += "\n]}\n";
  return out;
}

namespace {

bool is_hex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string unhex(const std::string& h, const std::string& where) {
  std::string out;
  auto v = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw TreeRecordError(where + " is not lowercase hex");
  };
  if (h.size() % 2) throw TreeRecordError(where + " is not lowercase hex");
  for (size_t i = 0; i < h.size(); i += 2) out += static_cast<char>(v(h[i]) * 16 + v(h[i + 1]));
  return out;
}

const ojson& field(const ojson& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw TreeRecordError(where + ": missing \"" + key + "\"");
  return *it;
}

std::string text_field(const ojson& j, const char* key, const std::string& where) {
  const ojson& v = field(j, key, where);
  if (!v.is_string()) throw TreeRecordError(where + ": \"" + key + "\" is not a string");
  return v.get<std::string>();
}

uint64_t count_field(const ojson& j, const char* key, const std::string& where) {
  const ojson& v = field(j, key, where);
  if (!v.is_number_unsigned()) throw TreeRecordError(where + ": \"" + key + "\" is not a non-negative integer");
  return v.get<uint64_t>();
}

// "path" or, when present, the exact bytes of "path_hex".
std::string name_field(const ojson& j, const char* key, const std::string& where) {
  std::string hex_key = std::string(key) + "_hex";
  if (j.contains(hex_key)) return unhex(text_field(j, hex_key.c_str(), where), where + ": \"" + hex_key + "\"");
  return text_field(j, key, where);
}

// A path the unpack could have recorded: relative, no empty, "." or ".."
// component, no NUL.
void check_path(const std::string& p, const std::string& where) {
  if (p.empty()) throw TreeRecordError(where + ": empty path");
  if (p.find('\0') != std::string::npos) throw TreeRecordError(where + ": path contains NUL");
  if (p.front() == '/') throw TreeRecordError(where + ": absolute path " + quote(p));
  size_t start = 0;
  for (;;) {
    size_t slash = p.find('/', start);
    std::string_view c = std::string_view(p).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (c.empty() || c == "." || c == "..") throw TreeRecordError(where + ": unsafe path " + quote(p));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (p == kTreeRecordPath) throw TreeRecordError(where + ": the record lists itself");
}

uint32_t parse_mode(const std::string& s, const std::string& where) {
  if (s.size() < 3 || s.size() > 4) throw TreeRecordError(where + ": bad mode " + quote(s));
  uint32_t m = 0;
  for (char c : s) {
    if (c < '0' || c > '7') throw TreeRecordError(where + ": bad mode " + quote(s));
    m = m * 8 + static_cast<uint32_t>(c - '0');
  }
  return m;
}

const TreeEntry* find_entry(const std::vector<TreeEntry>& v, const std::string& path) {
  auto it = std::lower_bound(v.begin(), v.end(), path, [](const TreeEntry& e, const std::string& p) { return e.path < p; });
  return it != v.end() && it->path == path ? &*it : nullptr;
}

TreeEntry parse_entry(const ojson& j, size_t i) {
  std::string where = "files[" + std::to_string(i) + "]";
  if (!j.is_object()) throw TreeRecordError(where + " is not an object");
  TreeEntry e;
  e.path = name_field(j, "path", where);
  where += " (" + quote(e.path) + ")";
  check_path(e.path, where);
  std::string type = text_field(j, "type", where);
  if (type == "dir") e.type = NodeType::kDir;
  else if (type == "file") e.type = NodeType::kFile;
  else if (type == "hardlink") e.type = NodeType::kHardlink;
  else if (type == "symlink") e.type = NodeType::kSymlink;
  else if (type == "special") e.type = NodeType::kSpecial;
  else throw TreeRecordError(where + ": unknown type " + quote(type));
  if (e.type != NodeType::kSymlink) e.mode = parse_mode(text_field(j, "mode", where), where);
  if (e.type == NodeType::kFile || e.type == NodeType::kHardlink) {
    e.size = count_field(j, "size", where);
    e.sha256 = text_field(j, "sha256", where);
    if (!is_hex64(e.sha256)) throw TreeRecordError(where + ": \"sha256\" is not 64 lowercase hex digits");
  }
  if (e.type == NodeType::kHardlink || e.type == NodeType::kSymlink) {
    e.target = name_field(j, "target", where);
    if (e.target.empty() || e.target.find('\0') != std::string::npos)
      throw TreeRecordError(where + ": empty or NUL-containing \"target\"");
  }
  return e;
}

}  // namespace

TreeRecord TreeRecord::parse(std::string_view text) {
  if (text.size() > kMaxTreeRecordBytes) throw TreeRecordError("larger than " + std::to_string(kMaxTreeRecordBytes) + " bytes");
  // nlohmann keeps the last of two equal keys; a record is refused instead
  // (two readers must not see two different records).
  // The keys of each open object: a few each (at most 64, below), so a
  // list searched in order, reused from one object to the next.
  std::vector<std::vector<std::string>> keys;
  size_t open_objects = 0;
  auto strict = [&](int depth, nlohmann::json::parse_event_t ev, ojson& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (depth > 64) throw TreeRecordError("nested too deeply");
    if (ev == E::object_start) {
      if (keys.size() == open_objects) keys.emplace_back();
      keys[open_objects++].clear();
    } else if (ev == E::object_end) {
      --open_objects;
    } else if (ev == E::key) {
      std::vector<std::string>& seen = keys[open_objects - 1];
      const std::string& k = parsed.get_ref<const std::string&>();
      if (std::find(seen.begin(), seen.end(), k) != seen.end())
        throw TreeRecordError("\"" + k + "\" given twice in an object");
      // ordered_json finds each key by a linear search, so an object of
      // many keys would make parsing quadratic (40,000 keys, 430 KB: 7 s);
      // a record's objects hold a dozen at most.
      if (seen.size() == 64) throw TreeRecordError("an object with more than 64 keys");
      seen.push_back(k);
    }
    return true;
  };
  ojson j;
  try {
    j = ojson::parse(text.begin(), text.end(), strict);
  } catch (const nlohmann::json::exception& e) {
    throw TreeRecordError(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw TreeRecordError("not a JSON object");
  TreeRecord r;
  std::string format = text_field(j, "format", "top level");
  if (format != kTreeRecordFormat) throw TreeRecordError("unknown format " + quote(format));
  r.bundle_id = text_field(j, "bundle_id", "top level");
  r.dest = text_field(j, "dest", "top level");
  r.created = text_field(j, "created", "top level");
  const ojson& after = field(j, "recorded_after", "top level");
  if (!after.is_array()) throw TreeRecordError("\"recorded_after\" is not an array");
  for (const auto& s : after) {
    if (!s.is_string()) throw TreeRecordError("\"recorded_after\" holds a non-string");
    r.recorded_after.push_back(s.get<std::string>());
  }
  const ojson& files = field(j, "files", "top level");
  if (!files.is_array()) throw TreeRecordError("\"files\" is not an array");
  r.entries.reserve(files.size());
  uint64_t nfiles = 0, bytes = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    TreeEntry e = parse_entry(files[i], i);
    std::string where = "files[" + std::to_string(i) + "] (" + quote(e.path) + ")";
    if (!r.entries.empty() && !(r.entries.back().path < e.path))
      throw TreeRecordError(where + ": not after " + quote(r.entries.back().path) + " (entries are sorted and unique)");
    if (auto slash = e.path.rfind('/'); slash != std::string::npos) {
      const TreeEntry* parent = find_entry(r.entries, e.path.substr(0, slash));
      if (!parent || parent->type != NodeType::kDir) throw TreeRecordError(where + ": its directory is not listed before it");
    }
    if (e.type == NodeType::kHardlink) {
      const TreeEntry* t = find_entry(r.entries, e.target);
      if (!t || t->type != NodeType::kFile)
        throw TreeRecordError(where + ": hardlink to " + quote(e.target) + ", which is not an earlier file");
      if (t->size != e.size || t->sha256 != e.sha256 || t->mode != e.mode)
        throw TreeRecordError(where + ": size, mode or sha256 differs from its target's");
    }
    if (e.type == NodeType::kFile) ++nfiles, bytes += e.size;
    r.entries.push_back(std::move(e));
  }
  const ojson& totals = field(j, "totals", "top level");
  if (!totals.is_object()) throw TreeRecordError("\"totals\" is not an object");
  if (count_field(totals, "entries", "totals") != r.entries.size() || count_field(totals, "files", "totals") != nfiles ||
      count_field(totals, "bytes", "totals") != bytes)
    throw TreeRecordError("\"totals\" do not match the entries (" + std::to_string(r.entries.size()) + " entries, " +
                          std::to_string(nfiles) + " files, " + std::to_string(bytes) + " bytes)");
  return r;
}

// ---- Comparison ----

const char* to_string(DriftKind k) {
  switch (k) {
    case DriftKind::kModified: return "modified";
    case DriftKind::kAdded: return "added";
    case DriftKind::kRemoved: return "removed";
    case DriftKind::kModeChanged: return "mode changed";
    case DriftKind::kTypeChanged: return "type changed";
    case DriftKind::kBytecodeAdded: return "added (bytecode cache)";
    case DriftKind::kBytecodeModified: return "modified (bytecode cache)";
    case DriftKind::kBytecodeRemoved: return "removed (bytecode cache)";
  }
  return "?";
}

const char* json_key(DriftKind k) {
  switch (k) {
    case DriftKind::kModified: return "modified";
    case DriftKind::kAdded: return "added";
    case DriftKind::kRemoved: return "removed";
    case DriftKind::kModeChanged: return "mode_changed";
    case DriftKind::kTypeChanged: return "type_changed";
    case DriftKind::kBytecodeAdded: return "bytecode_added";
    case DriftKind::kBytecodeModified: return "bytecode_modified";
    case DriftKind::kBytecodeRemoved: return "bytecode_removed";
  }
  return "?";
}

bool is_bytecode(DriftKind k) {
  return k == DriftKind::kBytecodeAdded || k == DriftKind::kBytecodeModified || k == DriftKind::kBytecodeRemoved;
}

std::vector<Drift> compare_trees(const std::vector<TreeEntry>& recorded, const std::vector<TreeEntry>& found) {
  std::vector<Drift> out;
  auto kind = [](DriftKind plain, DriftKind cache, const std::string& p) { return is_bytecode_cache(p) ? cache : plain; };
  auto regular = [](const TreeEntry& e) { return e.type == NodeType::kFile || e.type == NodeType::kHardlink; };
  size_t i = 0, j = 0;
  while (i < recorded.size() || j < found.size()) {
    if (j == found.size() || (i < recorded.size() && recorded[i].path < found[j].path)) {
      const TreeEntry& r = recorded[i++];
      out.push_back({kind(DriftKind::kRemoved, DriftKind::kBytecodeRemoved, r.path), r.path, &r, nullptr});
      continue;
    }
    if (i == recorded.size() || found[j].path < recorded[i].path) {
      const TreeEntry& f = found[j++];
      out.push_back({kind(DriftKind::kAdded, DriftKind::kBytecodeAdded, f.path), f.path, nullptr, &f});
      continue;
    }
    const TreeEntry& r = recorded[i++];
    const TreeEntry& f = found[j++];
    if (r.type != f.type && !(regular(r) && regular(f))) {
      out.push_back({DriftKind::kTypeChanged, r.path, &r, &f});  // nothing else compares across types
      continue;
    }
    // A hardlink made, broken or pointed at another name: a type change;
    // the content and mode are still compared.
    if (r.type != f.type || (r.type == NodeType::kHardlink && r.target != f.target))
      out.push_back({DriftKind::kTypeChanged, r.path, &r, &f});
    bool content = regular(r) ? (r.size != f.size || r.sha256 != f.sha256)
                              : r.type == NodeType::kSymlink && r.target != f.target;
    if (content) out.push_back({kind(DriftKind::kModified, DriftKind::kBytecodeModified, r.path), r.path, &r, &f});
    if (r.type != NodeType::kSymlink && r.mode != f.mode) out.push_back({DriftKind::kModeChanged, r.path, &r, &f});
  }
  return out;
}

RecordWritten write_tree_record(const std::string& dest, const std::string& bundle_id,
                                const std::vector<std::string>& recorded_after, const ScanOptions& o) {
  ScanStats stats;
  std::vector<TreeEntry> entries = scan_tree(dest, o, &stats);
  return write_tree_record(dest, bundle_id, recorded_after, std::move(entries), stats);
}

RecordWritten write_tree_record(const std::string& dest, const std::string& bundle_id,
                                const std::vector<std::string>& recorded_after, std::vector<TreeEntry> scanned,
                                const ScanStats& stats) {
  RecordWritten w;
  w.stats = stats;
  TreeRecord r;
  r.entries = std::move(scanned);
  r.bundle_id = bundle_id;
  r.dest = dest;
  r.created = bundle::rfc3339_now();
  r.recorded_after = recorded_after;
  std::string text = r.dump();
  w.path = dest + "/" + std::string(kTreeRecordPath);
  // Read-only: nothing is meant to edit it, and the audit log holds its digest.
  OutputFile out(w.path, 0444, false);
  out.write(text);
  out.finish();
  out.commit();
  w.sha256 = sha256_hex(text);
  w.entries = r.entries.size();
  return w;
}

std::vector<std::string> recorded_after(bool installed, bool link_tested) {
  std::vector<std::string> v{"extract", "relocate"};
  if (installed) v.emplace_back("install");
  if (link_tested) v.emplace_back("link-test");
  return v;
}

AuditEvent record_tree_event(AuditEvent identity, const std::string& bundle, const std::string& dest,
                             const RecordWritten& w) {
  AuditEvent ev = std::move(identity);
  ev.event = kRecordTreeEvent;
  ev.outcome = "ok";
  ev.detail = std::to_string(w.entries) + " entries, " + std::to_string(w.stats.files) + " files (" +
              std::to_string(w.stats.bytes) + " bytes) recorded in " + w.path + ", sha256 " + w.sha256;
  ev.extra["bundle"] = bundle;
  ev.extra["dest"] = dest;
  ev.extra["record"] = w.path;
  ev.extra["record_sha256"] = w.sha256;
  return ev;
}

AuditedRecord find_record_event(std::string_view log_text, const std::string& dest) {
  AuditedRecord a;
  size_t start = 0, line = 0;
  while (start < log_text.size()) {
    size_t nl = log_text.find('\n', start);
    std::string_view l = log_text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? log_text.size() : nl + 1;
    ++line;
    if (l.find(kRecordTreeEvent) == std::string_view::npos) continue;  // most lines: no JSON parse
    nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
    if (!j.is_object()) continue;
    auto str = [&](const char* k) {
      auto it = j.find(k);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (str("event") != kRecordTreeEvent || str("outcome") != "ok" || str("dest") != dest) continue;
    a = {true, line, str("time"), str("user"), str("host"), str("record_sha256"), str("bundle_id")};
  }
  return a;
}

}  // namespace airlock::unpacker
