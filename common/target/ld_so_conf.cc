#include "common/target/ld_so_conf.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "common/error.h"

namespace airlock::target {

namespace {

// A file including itself is caught as a loop; this caps honest nesting too
// (glibc recurses without a limit).
constexpr int kMaxDepth = 8;
constexpr size_t kMaxConfBytes = 1 << 20;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool has_glob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// "/etc/more.d/../ld.so.conf" -> "/etc/ld.so.conf", for messages.
std::string lexically_normal(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view c = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (auto c : parts) (out += '/') += c;
  return out.empty() ? "/" : out;
}

struct Reader {
  const NodeRoot& root;
  LdSoConf& out;
  std::vector<std::string> open_files;  // resolved paths of the files being read, outermost first
  // What is already in out.dirs and out.warnings: a linear search of them
  // for each line would make a long file quadratic.
  std::unordered_set<std::string> dirs_seen, warnings_seen;
  // The shallowest depth each file was read at. Reading it again there or
  // deeper adds nothing (directories and warnings are kept once), and
  // without this a file naming another a thousand times, which names a
  // third a thousand times, is read a million times.
  std::map<std::string, int> read_at;

  // Once each: a file included twice would say the same again.
  void warn(const std::string& where, const std::string& what) {
    std::string w = where + ": " + what;
    if (warnings_seen.insert(w).second) out.warnings.push_back(std::move(w));
  }

  void add_dir(std::string_view d, const std::string& where) {
    // An old ldconfig's "DIR=TYPE" names the library type; the type is gone.
    if (size_t eq = d.find('='); eq != std::string_view::npos) d = trim(d.substr(0, eq));
    while (d.size() > 1 && d.back() == '/') d.remove_suffix(1);
    if (d.empty() || d.front() != '/') {
      warn(where, "ignoring the relative directory " + quote(d));
      return;
    }
    if (dirs_seen.emplace(d).second) out.dirs.emplace_back(d);
  }

  void include(std::string_view pattern, const std::string& from, const std::string& where, int depth) {
    std::string full(pattern);
    if (full.front() != '/') full = from.substr(0, from.rfind('/') + 1) + full;
    full = lexically_normal(full);
    size_t slash = full.rfind('/');
    std::string dir = slash == 0 ? "/" : full.substr(0, slash);
    std::string base = full.substr(slash + 1);
    if (has_glob(dir)) {
      warn(where, "include " + quote(pattern) + ": wildcards are supported in the file name only");
      return;
    }
    if (!has_glob(base)) {
      parse(full, depth + 1, where);
      return;
    }
    std::optional<std::vector<std::string>> names;
    try {
      names = root.list(dir);
    } catch (const Error& e) {
      warn(where, e.what());
      return;
    }
    if (!names) return;  // like glob(): no match is no file
    for (const std::string& n : *names)
      if (::fnmatch(base.c_str(), n.c_str(), FNM_PERIOD) == 0) parse((dir == "/" ? "" : dir) + "/" + n, depth + 1, where);
  }

  void parse(const std::string& path, int depth, const std::string& included_at) {
    if (depth > kMaxDepth) {
      warn(included_at, "includes nested more than " + std::to_string(kMaxDepth) + " deep; not reading " + path);
      return;
    }
    auto resolved = root.resolve(path);
    if (!resolved) return;  // like glob() and fopen(): a file that is not there names nothing
    if (std::find(open_files.begin(), open_files.end(), *resolved) != open_files.end()) {
      warn(included_at, "includes " + path + ", which is already being read (a loop); not reading it again");
      return;
    }
    if (auto [it, fresh] = read_at.emplace(*resolved, depth); !fresh) {
      if (it->second <= depth) return;
      it->second = depth;
    }
    std::optional<std::string> text;
    try {
      text = root.read(path, kMaxConfBytes);
    } catch (const Error& e) {
      warn(included_at.empty() ? path : included_at, e.what());
      return;
    }
    if (!text) return;
    open_files.push_back(*resolved);
    std::string_view rest = *text;
    size_t lineno = 0;
    while (!rest.empty()) {
      ++lineno;
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
      line = trim(line);
      if (line.empty()) continue;
      std::string where = path + ":" + std::to_string(lineno);
      auto starts_word = [&](std::string_view w) {
        return line.size() > w.size() && line.substr(0, w.size()) == w && is_blank(line[w.size()]);
      };
      if (starts_word("include")) {
        std::string_view pats = line.substr(7);
        while (!pats.empty()) {
          pats = trim(pats);
          size_t end = std::find_if(pats.begin(), pats.end(), is_blank) - pats.begin();
          if (end > 0) include(pats.substr(0, end), path, where, depth);
          pats = pats.substr(end);
        }
      } else if (starts_word("hwcap")) {
        continue;  // names a hardware capability, not a directory
      } else {
        add_dir(line, where);
      }
    }
    open_files.pop_back();
  }
};

}  // namespace

LdSoConf read_ld_so_conf(const NodeRoot& root, const std::string& path) {
  LdSoConf out;
  Reader r{root, out};
  r.parse(path, 0, "");
  return out;
}

}  // namespace airlock::target
