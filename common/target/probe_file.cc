#include "common/target/probe_file.h"

#include <algorithm>
#include <map>
#include <optional>

namespace airlock::target {

ProbeFileError::ProbeFileError(const std::string& name, const std::string& what)
    : Error(Exit::kUsage, "reading probe file " + name + ": " + what) {}

namespace {

constexpr std::string_view kRequired[] = {"os", "kernel", "arch", "glibc"};

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

bool has_control(std::string_view s) { return std::any_of(s.begin(), s.end(), is_control); }

// A lib line's fields are separated by single spaces.
bool is_token(std::string_view s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) { return c == ' ' || is_control(c); });
}

bool is_key(std::string_view k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// "2.31": two or more dot-separated decimal numbers.
bool is_glibc_version(std::string_view v) {
  size_t parts = 0;
  size_t start = 0;
  for (;;) {
    size_t dot = v.find('.', start);
    std::string_view part = v.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > 6 || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts >= 2;
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t sp = s.find(' ', start);
    out.push_back(s.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
    if (sp == std::string_view::npos) return out;
    start = sp + 1;
  }
}

void put(std::string& out, std::string_view key, const std::string& value, bool required) {
  if (value.empty()) {
    if (required) throw Error(Exit::kUsage, "probe file: the required key '" + std::string(key) + "' has no value");
    return;
  }
  // One line per key: a value that would start another line must never be written.
  if (has_control(value))
    throw Error(Exit::kUsage, "probe file: " + std::string(key) + " " + quote(value) + " contains a control character");
  out += key;
  out += ": ";
  out += value;
  out += '\n';
}

}  // namespace

std::string format_probe(const ProbeFile& p) {
  std::string out;
  out += "format: ";
  out += kProbeFormat;
  out += '\n';
  put(out, "created", p.created, false);
  put(out, "host", p.host, false);
  put(out, "os", p.os, true);
  put(out, "kernel", p.kernel, true);
  put(out, "arch", p.arch, true);
  put(out, "glibc", p.glibc, true);
  for (const ProbeLib& l : p.libs) {
    std::string line = l.soname + " " + l.path;
    bool ok = is_token(l.soname) && is_token(l.path);
    for (const std::string& v : l.versions) {
      ok = ok && is_token(v);
      line += " " + v;
    }
    if (!ok)
      throw Error(Exit::kUsage, "probe file: library " + quote(l.soname) + " at " + quote(l.path) +
                                    ": a name, path or version is empty or holds a space or control character");
    put(out, "lib", line, true);
  }
  return out;
}

ProbeFile parse_probe(std::string_view text, const std::string& name) {
  ProbeFile p;
  if (text.empty()) throw ProbeFileError(name, "empty file; expected 'format: " + std::string(kProbeFormat) + "' on line 1");
  std::map<std::string, size_t, std::less<>> seen;        // singleton key -> its line
  std::map<std::string, size_t, std::less<>> lib_lines;  // soname -> its line
  size_t lineno = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++lineno;
    auto err = [&](const std::string& what) { return ProbeFileError(name, "line " + std::to_string(lineno) + ": " + what); };
    size_t nl = text.find('\n', pos);
    // A courier copy cut short ends mid-line: every line, the last included, ends with LF.
    if (nl == std::string_view::npos) throw err("no newline at the end of the file (is it cut short?)");
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r')
      throw err("ends with a carriage return (CRLF line endings); convert the file to LF, e.g. with dos2unix");
    if (line.empty()) throw err("empty line");
    for (char c : line)
      if (is_control(c)) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(c));
        throw err("control character " + std::string(hex) + " in " + quote(line));
      }
    size_t colon = line.find(": ");
    std::string_view key = colon == std::string_view::npos ? std::string_view{} : line.substr(0, colon);
    if (!is_key(key)) throw err("expected 'key: value', got " + quote(line));
    std::string_view value = line.substr(colon + 2);
    if (value.empty() || value.front() == ' ' || value.back() == ' ')
      throw err(std::string(key) + (value.empty() ? " has no value" : " value " + quote(value) + " has leading or trailing spaces"));

    if (lineno == 1) {
      if (key != "format") throw err("not an airlock probe file: expected 'format: " + std::string(kProbeFormat) + "', got " + quote(line));
      if (value != kProbeFormat)
        throw err("unsupported format " + quote(value) + "; this version reads " + std::string(kProbeFormat));
      continue;
    }
    if (key == "lib") {
      auto f = split_spaces(value);
      for (std::string_view t : f)
        if (t.empty()) throw err("lib fields are separated by single spaces: " + quote(value));
      if (f.size() < 2) throw err("lib needs at least a soname and a path, got " + quote(value));
      if (f[0].find('/') != std::string_view::npos) throw err("lib soname " + quote(f[0]) + " contains a '/'");
      if (f[1].front() != '/') throw err("lib path " + quote(f[1]) + " is not absolute");
      auto [it, fresh] = lib_lines.emplace(std::string(f[0]), lineno);
      if (!fresh) throw err("lib " + quote(f[0]) + " is listed twice (first on line " + std::to_string(it->second) + ")");
      ProbeLib l{std::string(f[0]), std::string(f[1]), {}};
      for (size_t i = 2; i < f.size(); ++i) l.versions.emplace_back(f[i]);
      p.libs.push_back(std::move(l));
      continue;
    }
    std::string* field = nullptr;
    if (key == "created") field = &p.created;
    else if (key == "host") field = &p.host;
    else if (key == "os") field = &p.os;
    else if (key == "kernel") field = &p.kernel;
    else if (key == "arch") field = &p.arch;
    else if (key == "glibc") field = &p.glibc;
    else if (key == "format") throw err("'format' may only be the first line");
    else continue;  // a later probe's key: ignored, so old packers read new files
    auto [it, fresh] = seen.emplace(std::string(key), lineno);
    if (!fresh) throw err(std::string(key) + " is given twice (first on line " + std::to_string(it->second) + ")");
    if (key == "glibc" && !is_glibc_version(value))
      throw err("glibc " + quote(value) + " is not a version (expected X.Y, e.g. 2.31)");
    *field = std::string(value);
  }
  for (std::string_view k : kRequired)
    if (!seen.contains(k)) throw ProbeFileError(name, "the required key '" + std::string(k) + "' is missing");
  return p;
}

std::string probe_summary(const ProbeFile& p) {
  // The packer takes glibc-X.Y: the first two numbers.
  std::string xy = p.glibc;
  if (size_t d1 = xy.find('.'); d1 != std::string::npos)
    if (size_t d2 = xy.find('.', d1 + 1); d2 != std::string::npos) xy.resize(d2);
  std::string s = "glibc " + p.glibc + ", " + p.arch + ", kernel " + p.kernel + ", " + p.os + ", " +
                  std::to_string(p.libs.size()) + (p.libs.size() == 1 ? " library" : " libraries");
  return s + ": use --target glibc-" + xy + " (or carry this file and use --target FILE)";
}

}  // namespace airlock::target
