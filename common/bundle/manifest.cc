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
// A JSON string literal (quoted and escaped). Printable ASCII without '"'
// or '\\' (nearly every path) is copied as it is; anything else goes through
// nlohmann's escaping, which also replaces invalid UTF-8.
void put_str(std::string& out, std::string_view v) {
  bool plain = true;
  for (unsigned char c : v)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  if (!plain) {
    out += nlohmann::json(std::string(v)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += v;
  out += '"';
}
void put_key(std::string& out, std::string_view k, bool first = false) {
  if (!first) out += ',';
  put_str(out, k);
  out += ':';
}
}  // namespace

void append_file_json(std::string& o, std::string_view path, EntryType type, uint32_t mode, uint64_t size,
                      std::string_view sha256, std::string_view target) {
  o += '{';
  put_key(o, "path", true), put_str(o, path);
  put_key(o, "type"), put_str(o, to_string(type));
  if (type != EntryType::kHardlink) put_key(o, "mode"), put_str(o, mode_string(mode));
  if (type == EntryType::kFile) {
    put_key(o, "size"), o += std::to_string(size);
    put_key(o, "sha256"), put_str(o, sha256);
  }
  if (type == EntryType::kHardlink) put_key(o, "target"), put_str(o, target);
  o += '}';
}

std::string Manifest::dump() const {
  std::string rendered;
  rendered.reserve(files.size() * 160);
  for (size_t i = 0; i < files.size(); ++i) {
    if (i) rendered += ',';
    const FileEntry& f = files[i];
    append_file_json(rendered, f.path, f.type, f.mode, f.size, f.sha256, f.target);
  }
  return dump(rendered);
}

// Written by hand, not through a JSON tree: a prefix has ~55,000 entries
// and a tree of them costs tens of MiB; the packer's memory stays flat.
std::string Manifest::dump(std::string_view files_json) const {
  auto [head, tail] = dump_around_files();
  std::string o;
  o.reserve(head.size() + files_json.size() + tail.size());
  o += head;
  o += files_json;
  o += tail;
  return o;
}

std::pair<std::string, std::string> Manifest::dump_around_files() const {
  std::string o;
  o.reserve(4096);
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
  std::string head = std::move(o);
  o.clear();
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
  return {std::move(head), std::move(o)};
}

namespace {

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


// A strict JSON reader for the manifest's top level and its "files" array,
// which holds nearly all of its bytes (55,000 entries for a CPython
// prefix): entries are read straight into FileEntry, without a JSON tree.
// Every other top-level value is delimited here and parsed by nlohmann.
class Cursor {
 public:
  explicit Cursor(std::string_view t) : t_(t) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw ManifestError("not valid JSON: " + what + " at byte " + std::to_string(i_));
  }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
  }
  char peek() {
    ws();
    return i_ < t_.size() ? t_[i_] : '\0';
  }
  bool at_end() {
    ws();
    return i_ == t_.size();
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  // After a member or element: true if another follows, false at `close`.
  bool more(char close) {
    char c = peek();
    if (c == ',') {
      ++i_;
      return true;
    }
    if (c == close) {
      ++i_;
      return false;
    }
    fail(std::string("expected ',' or '") + close + "'");
  }

  // A string at the cursor, unescaped into `out`; validates UTF-8.
  void string(std::string& out) {
    if (peek() != '"') fail("expected a string");
    ++i_;
    out.clear();
    size_t run = i_;
    for (;;) {
      if (i_ >= t_.size()) fail("unterminated string");
      auto c = static_cast<unsigned char>(t_[i_]);
      if (c == '"') {
        out.append(t_.data() + run, i_ - run);
        ++i_;
        return;
      }
      if (c < 0x20) fail("control character in a string");
      if (c < 0x80 && c != '\\') {
        ++i_;
        continue;
      }
      if (c >= 0x80) {
        utf8();
        continue;
      }
      out.append(t_.data() + run, i_ - run);
      escape(out);
      run = i_;
    }
  }

  // A non-negative integer without fraction or exponent; false for any
  // other JSON value (which is then skipped).
  bool unsigned_integer(uint64_t& v) {
    char c = peek();
    if (c < '0' || c > '9') {
      skip();
      return false;
    }
    size_t start = i_;
    v = 0;
    bool overflow = false;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') {
      auto d = static_cast<uint64_t>(t_[i_] - '0');
      if (v > (UINT64_MAX - d) / 10) overflow = true;
      v = v * 10 + d;
      ++i_;
    }
    if (t_[start] == '0' && i_ - start > 1) fail("leading zero in a number");
    if (i_ < t_.size() && (t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E')) {
      i_ = start;
      skip();
      return false;
    }
    if (overflow) fail("number out of range");
    return true;
  }

  // Skips one value of any kind, checking its grammar; returns its text.
  std::string_view skip(int depth = 0) {
    if (depth > 256) fail("nested too deeply");
    char c = peek();
    size_t start = i_;
    if (c == '{' || c == '[') {
      ++i_;
      char close = c == '{' ? '}' : ']';
      if (peek() == close) {
        ++i_;
      } else {
        std::string key;
        do {
          if (c == '{') {
            string(key);
            expect(':');
          }
          skip(depth + 1);
        } while (more(close));
      }
    } else if (c == '"') {
      std::string s;
      string(s);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      number();
    } else if (!literal("true") && !literal("false") && !literal("null")) {
      fail("expected a value");
    }
    return t_.substr(start, i_ - start);
  }

 private:
  bool literal(std::string_view w) {
    if (t_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  void digits() {
    size_t s = i_;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
    if (i_ == s) fail("expected a digit");
  }
  void number() {
    if (t_[i_] == '-') ++i_;
    if (i_ < t_.size() && t_[i_] == '0') ++i_;
    else digits();
    if (i_ < t_.size() && t_[i_] == '.') ++i_, digits();
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      digits();
    }
  }
  unsigned hex4() {
    if (i_ + 4 > t_.size()) fail("short \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char h = t_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }
  void escape(std::string& out) {
    ++i_;  // the backslash
    if (i_ >= t_.size()) fail("unterminated string");
    char e = t_[i_++];
    switch (e) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: fail("bad escape");
    }
    unsigned cp = hex4();
    if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (t_.substr(i_, 2) != "\\u") fail("lone high surrogate");
      i_ += 2;
      unsigned lo = hex4();
      if (lo < 0xDC00 || lo > 0xDFFF) fail("lone high surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  // One UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
  void utf8() {
    auto at = [&](size_t k) { return i_ + k < t_.size() ? static_cast<unsigned char>(t_[i_ + k]) : 0u; };
    unsigned c = at(0);
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c >= 0xE0 && c <= 0xEF) n = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) n = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else fail("invalid UTF-8");
    for (size_t k = 1; k <= n; ++k) {
      unsigned b = at(k);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) fail("invalid UTF-8");
    }
    i_ += n + 1;
  }

  std::string_view t_;
  size_t i_ = 0;
};

std::string file_where(size_t i, const std::string& path) {
  std::string w = "files[" + std::to_string(i) + "]";
  if (!path.empty()) w += " (" + path + ")";
  return w;
}

// One element of "files".
FileEntry parse_file_entry(Cursor& c, size_t i) {
  if (c.peek() != '{') {
    c.skip();
    throw ManifestError(file_where(i, "") + " is not an object");
  }
  c.expect('{');
  FileEntry e;
  std::string type, mode, key;
  enum : unsigned { kPath = 1, kType = 2, kMode = 4, kSize = 8, kSha = 16, kTarget = 32 };
  unsigned seen = 0;
  auto take = [&](unsigned bit, std::string& into) {
    if (seen & bit) throw ManifestError(file_where(i, e.path) + ": \"" + key + "\" given twice");
    seen |= bit;
    if (c.peek() != '"') {
      c.skip();
      throw ManifestError(file_where(i, e.path) + ": \"" + key + "\" is not a string");
    }
    c.string(into);
  };
  if (c.peek() == '}') {
    c.expect('}');
  } else {
    do {
      c.string(key);
      c.expect(':');
      if (key == "path") take(kPath, e.path);
      else if (key == "type") take(kType, type);
      else if (key == "mode") take(kMode, mode);
      else if (key == "sha256") take(kSha, e.sha256);
      else if (key == "target") take(kTarget, e.target);
      else if (key == "size") {
        if (seen & kSize) throw ManifestError(file_where(i, e.path) + ": \"size\" given twice");
        seen |= kSize;
        if (!c.unsigned_integer(e.size))
          throw ManifestError(file_where(i, e.path) + ": \"size\" is not a non-negative integer");
      } else {
        c.skip();  // readers ignore unknown fields
      }
    } while (c.more('}'));
  }
  auto need = [&](unsigned bit, const char* name) {
    if (!(seen & bit)) throw ManifestError(file_where(i, e.path) + ": missing \"" + name + "\"");
  };
  need(kPath, "path");
  need(kType, "type");
  if (type == "dir") e.type = EntryType::kDir;
  else if (type == "file") e.type = EntryType::kFile;
  else if (type == "hardlink") e.type = EntryType::kHardlink;
  else throw ManifestError(file_where(i, e.path) + ": unknown type \"" + type + "\"");
  if (e.type != EntryType::kHardlink) {
    need(kMode, "mode");
    e.mode = parse_mode(mode, file_where(i, e.path));
  }
  if (e.type == EntryType::kFile) {
    need(kSize, "size");
    need(kSha, "sha256");
    if (!is_hex64(e.sha256)) throw ManifestError(file_where(i, e.path) + ": \"sha256\" is not 64 lowercase hex digits");
  } else {
    e.size = 0;
    e.sha256.clear();
  }
  if (e.type == EntryType::kHardlink) need(kTarget, "target");
  else e.target.clear();
  return e;
}

}  // namespace

Manifest Manifest::parse(std::string_view text) {
  // A UTF-8 byte order mark is tolerated, as other JSON readers do.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Cursor c(text);
  if (c.peek() != '{') throw ManifestError("not a JSON object");
  c.expect('{');
  // Everything but "files" is small: gathered into a tree, read below.
  nlohmann::json j = nlohmann::json::object();
  Manifest m;
  bool have_files = false;
  if (c.peek() == '}') {
    c.expect('}');
  } else {
    std::string key;
    do {
      c.string(key);
      c.expect(':');
      if (key == "files" ? have_files : j.contains(key)) throw ManifestError("\"" + key + "\" given twice");
      if (key != "files") {
        std::string_view value = c.skip();
        try {
          j[key] = nlohmann::json::parse(value);
        } catch (const std::exception& e) {
          throw ManifestError(std::string("not valid JSON: ") + e.what());
        }
        continue;
      }
      have_files = true;
      if (c.peek() != '[') {
        c.skip();
        throw ManifestError("\"files\" is not an array");
      }
      c.expect('[');
      if (c.peek() == ']') {
        c.expect(']');
        continue;
      }
      do {
        // A manifest may be hundreds of MiB (parsed at ~100 MB/s on a thread
        // of the unpacker's): an interrupt is not kept waiting for it.
        if ((m.files.size() & 4095) == 0) check_interrupted();
        m.files.push_back(parse_file_entry(c, m.files.size()));
      } while (c.more(']'));
    } while (c.more('}'));
  }
  if (!c.at_end()) c.fail("text after the top-level object");
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
  if (!have_files) throw ManifestError("top level: missing \"files\"");
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
