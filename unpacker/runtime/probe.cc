#include "unpacker/runtime/probe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "common/elf/elf.h"
#include "common/error.h"
#include "common/io.h"
#include "common/target/ld_so_conf.h"
#include "common/target/ldcache.h"
#include "common/target/node_root.h"

namespace airlock::unpacker {

namespace {

using target::NodeRoot;

// Where the x86-64 loader looks when the cache does not name a library
// (glibc's system directories on 64-bit and multiarch layouts).
constexpr const char* kDefaultDirs[] = {"/lib64", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                                        "/lib",   "/usr/lib"};
constexpr const char* kCachePath = "/etc/ld.so.cache";
constexpr const char* kConfPath = "/etc/ld.so.conf";

// From the ELF header: what the loader of an x86-64 node maps.
constexpr uint16_t kEmX8664 = 62;
constexpr uint16_t kEtDyn = 3;
constexpr size_t kElfHeadBytes = 20;  // e_ident, e_type, e_machine

// Caps on files read whole; real ones are far smaller (a cache of 2,000
// libraries is about 200 KiB).
constexpr size_t kMaxCacheBytes = 64 << 20;
constexpr size_t kMaxOsReleaseBytes = 64 << 10;
constexpr size_t kMaxLibcBytes = 64 << 20;

// glibc's own libraries: between them they define every GLIBC_2.x of a
// release (glibc 2.31's libc.so.6 stops at GLIBC_2.30; its libm.so.6 and
// libpthread.so.0 define GLIBC_2.31).
constexpr const char* kGlibcLibs[] = {"libc.so.6",      "libm.so.6",    "libpthread.so.0", "libdl.so.2",
                                      "librt.so.1",     "libresolv.so.2", "libutil.so.1",  "libanl.so.1",
                                      "libmvec.so.1",   "ld-linux-x86-64.so.2"};

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// A field of a probe file's lib line: no spaces, no control characters.
bool is_token(std::string_view s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) { return c == ' ' || is_control(c); });
}

std::string one_line(std::string_view s) {
  std::string out(s);
  std::replace_if(out.begin(), out.end(), is_control, ' ');
  return out;
}

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string join_path(const std::string& dir, const std::string& name) {
  return (dir == "/" ? "" : dir) + "/" + name;
}

// A shared library as read from its file; the soname falls back to the
// file name of the path it was found under, so it is kept optional here.
struct LibFile {
  std::optional<std::string> soname;
  std::vector<std::string> versions;
};

// A library the loader may find: the name it would be looked up by (the
// cache's key, or the file's name in a directory) and its path.
struct Candidate {
  std::string lookup;
  std::string path;
  bool from_cache = false;
};

class Scanner {
 public:
  Scanner(const NodeRoot& root, std::vector<std::string>& warnings) : root_(root), warnings_(warnings) {}

  // nullopt: not there, or not an x86-64 shared library.
  std::optional<LibFile> examine(const std::string& node_path, bool& missing) {
    auto resolved = root_.resolve(node_path);
    missing = !resolved;
    if (!resolved) return std::nullopt;
    auto [it, fresh] = seen_.try_emplace(*resolved);
    if (fresh) it->second = read_lib(root_.host(*resolved));
    return it->second;
  }

 private:
  std::optional<LibFile> read_lib(const std::string& host_path) {
    struct stat st {};
    if (::stat(host_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    UniqueFd fd(::open(host_path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
      warnings_.push_back(host_path + ": cannot open: " + std::strerror(errno));
      return std::nullopt;
    }
    uint8_t head[64] = {};
    ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
    if (n < static_cast<ssize_t>(kElfHeadBytes)) return std::nullopt;
    // Linker scripts named libc.so, 32-bit libraries in /lib and /usr/lib,
    // other architectures' files: none of them is loaded on this node.
    if (elf::probe(std::span<const uint8_t>(head, static_cast<size_t>(n))).kind != elf::Kind::kElf64Le)
      return std::nullopt;
    uint16_t type = static_cast<uint16_t>(head[16] | head[17] << 8);
    uint16_t machine = static_cast<uint16_t>(head[18] | head[19] << 8);
    if (type != kEtDyn || machine != kEmX8664) return std::nullopt;
    elf::DynamicInfo info;
    try {
      info = elf::read_dynamic_file(host_path);
    } catch (const Error& e) {
      warnings_.push_back(std::string(e.what()) + "; left out");
      return std::nullopt;
    }
    if (!info.has_dynamic) return std::nullopt;
    LibFile f{info.soname, std::move(info.version_defs)};
    // A probe file's lib line is space-separated: a name that cannot be
    // written there is left out rather than written wrong.
    bool ok = !f.soname || (is_token(*f.soname) && f.soname->find('/') == std::string::npos);
    for (const std::string& v : f.versions) ok = ok && is_token(v);
    if (!ok) {
      warnings_.push_back(host_path + ": its soname or a symbol version holds a space or control character; left out");
      return std::nullopt;
    }
    return f;
  }

  const NodeRoot& root_;
  std::vector<std::string>& warnings_;
  std::map<std::string, std::optional<LibFile>> seen_;  // resolved node path -> what it is
};

std::vector<Candidate> cache_candidates(const NodeRoot& root, std::vector<std::string>& warnings) {
  std::vector<Candidate> out;
  std::string where = root.host(kCachePath);
  std::optional<std::string> bytes;
  try {
    bytes = root.read(kCachePath, kMaxCacheBytes);
  } catch (const Error& e) {
    warnings.push_back(std::string(e.what()) + "; looking in the library directories only");
    return out;
  }
  if (!bytes) {
    warnings.push_back("no " + where + "; looking in the library directories only");
    return out;
  }
  try {
    auto cache = target::parse_ldcache(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()), where);
    // Plain entries first: a hwcap variant is one the loader picks only
    // on some processors, so the baseline file speaks for the node.
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& e : cache.entries)
        if ((e.hwcap != 0) == (pass == 1)) out.push_back({e.name, e.path, true});
  } catch (const Error& e) {
    // The node's own loader would ignore such a cache too.
    warnings.push_back(std::string(e.what()) + "; looking in the library directories only");
  }
  return out;
}

// "2.2.5" -> {2, 2, 5}; nullopt unless dot-separated decimal numbers.
std::optional<std::vector<int>> dotted(std::string_view v) {
  std::vector<int> parts;
  int cur = -1;
  for (char c : v) {
    if (c == '.') {
      if (cur < 0) return std::nullopt;
      parts.push_back(cur);
      cur = -1;
    } else if (c >= '0' && c <= '9') {
      if (cur > 100'000) return std::nullopt;
      cur = (cur < 0 ? 0 : cur * 10) + (c - '0');
    } else {
      return std::nullopt;
    }
  }
  if (cur < 0) return std::nullopt;
  parts.push_back(cur);
  return parts;
}

// Version numbers of "GLIBC_2.2.5": {2, 2, 5}; nullopt for GLIBC_PRIVATE and the like.
std::optional<std::vector<int>> glibc_number(std::string_view v) {
  constexpr std::string_view kPrefix = "GLIBC_";
  if (v.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  return dotted(v.substr(kPrefix.size()));
}

// The node's glibc release. Its libc.so.6 says it in the banner it prints
// when run ("... stable release version 2.31."): the release, even when the
// release added no symbol to libc.so.6 itself. The symbol versions of
// glibc's libraries are the check, and the answer when there is no banner.
std::string glibc_release(const NodeRoot& root, const std::map<std::string, target::ProbeLib>& libs,
                          const target::ProbeLib& libc, std::vector<std::string>& warnings) {
  std::vector<std::string> versions;
  for (const char* name : kGlibcLibs)
    if (auto it = libs.find(name); it != libs.end())
      versions.insert(versions.end(), it->second.versions.begin(), it->second.versions.end());
  // Never empty: libc.so.6's own GLIBC_2.x versions are among them (checked by the caller).
  std::optional<std::string> symbols = highest_glibc(versions);
  std::optional<std::string> banner;
  try {
    if (auto bytes = root.read(libc.path, kMaxLibcBytes)) banner = glibc_banner_version(*bytes);
  } catch (const Error& e) {
    warnings.push_back(e.what());
  }
  std::string where = root.host(libc.path);
  if (!banner) {
    warnings.push_back(where + ": no 'GNU C Library ... release version' banner; the glibc version is the highest "
                       "GLIBC_2.x its libraries define (" + *symbols + ")");
    return *symbols;
  }
  if (dotted(*banner) < dotted(*symbols)) {
    warnings.push_back(where + ": its banner says release " + *banner + " but glibc's libraries define GLIBC_" +
                       *symbols + "; taking " + *symbols);
    return *symbols;
  }
  return *banner;
}

std::string created_now(std::time_t now) {
  std::tm tm {};
  char buf[32];
  if (!::gmtime_r(&now, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return {};
  return buf;
}

std::string read_os_name(const NodeRoot& root, std::vector<std::string>& warnings) {
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    try {
      if (auto text = root.read(path, kMaxOsReleaseBytes)) {
        std::string name = os_pretty_name(*text);
        if (!name.empty()) return name;
      }
    } catch (const Error& e) {
      warnings.push_back(e.what());
    }
  }
  return "unknown";
}

}  // namespace

ProbeHost ProbeHost::current() {
  ProbeHost h;
  struct utsname u {};
  if (::uname(&u) == 0) {
    h.nodename = u.nodename;
    h.release = u.release;
    h.machine = u.machine;
  }
  h.now = std::time(nullptr);
  return h;
}

std::string kernel_version(std::string_view release) {
  size_t n = 0;
  while (n < release.size() && ((release[n] >= '0' && release[n] <= '9') || release[n] == '.')) ++n;
  std::string_view v = release.substr(0, n);
  while (!v.empty() && v.back() == '.') v.remove_suffix(1);
  return std::string(v);
}

std::optional<std::string> highest_glibc(const std::vector<std::string>& versions) {
  std::optional<std::vector<int>> best;
  std::string best_name;
  for (const std::string& v : versions) {
    auto n = glibc_number(v);
    if (n && (!best || *n > *best)) {
      best = n;
      best_name = v.substr(6);
    }
  }
  if (!best) return std::nullopt;
  return best_name;
}

std::optional<std::string> glibc_banner_version(std::string_view libc) {
  constexpr std::string_view kLibrary = "GNU C Library";
  constexpr std::string_view kRelease = "release version ";
  for (size_t at = libc.find(kRelease); at != std::string_view::npos; at = libc.find(kRelease, at + 1)) {
    // Both in one NUL-terminated string of .rodata.
    size_t start = libc.rfind('\0', at);
    start = start == std::string_view::npos ? 0 : start + 1;
    if (at - start > 256 || libc.substr(start, at - start).find(kLibrary) == std::string_view::npos) continue;
    size_t v = at + kRelease.size(), end = v;
    while (end < libc.size() && end - v < 32 && ((libc[end] >= '0' && libc[end] <= '9') || libc[end] == '.')) ++end;
    std::string_view num = libc.substr(v, end - v);
    while (!num.empty() && num.back() == '.') num.remove_suffix(1);  // "version 2.31."
    if (auto parts = dotted(num); parts && parts->size() >= 2) return std::string(num);
  }
  return std::nullopt;
}

std::string os_pretty_name(std::string_view text) {
  constexpr std::string_view kKey = "PRETTY_NAME=";
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.substr(0, kKey.size()) != kKey) continue;
    line.remove_prefix(kKey.size());
    // Shell-style (os-release(5)): "double" with \-escapes, 'single', or bare.
    std::string out;
    char quote_char = 0;
    if (!line.empty() && (line.front() == '"' || line.front() == '\'')) {
      quote_char = line.front();
      line.remove_prefix(1);
    }
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quote_char && c == quote_char) break;
      if (!quote_char && (c == ' ' || c == '\t')) break;
      if (c == '\\' && quote_char != '\'' && i + 1 < line.size()) c = line[++i];
      out += c;
    }
    out = one_line(out);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    while (!out.empty() && out.front() == ' ') out.erase(out.begin());
    return out;
  }
  return {};
}

bool looks_like_library(std::string_view name) {
  return (name.substr(0, 3) == "lib" || name.substr(0, 3) == "ld-") && name.find(".so") != std::string_view::npos;
}

ProbeResult probe_node(const std::string& root_dir, const ProbeHost& host) {
  NodeRoot root(root_dir == "/" ? std::string() : root_dir);
  if (!root.dir().empty()) {
    struct stat st {};
    if (::stat(root.dir().c_str(), &st) != 0)
      throw Error(Exit::kUsage, "--root " + root.dir() + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw Error(Exit::kUsage, "--root " + root.dir() + ": not a directory");
  }
  ProbeResult r;
  std::vector<std::string>& warnings = r.warnings;

  std::vector<Candidate> cands = cache_candidates(root, warnings);
  std::vector<std::string> dirs(std::begin(kDefaultDirs), std::end(kDefaultDirs));
  target::LdSoConf conf = target::read_ld_so_conf(root, kConfPath);
  warnings.insert(warnings.end(), conf.warnings.begin(), conf.warnings.end());
  dirs.insert(dirs.end(), conf.dirs.begin(), conf.dirs.end());

  std::set<std::string> scanned;  // resolved directories: /lib is /usr/lib on a merged-/usr node
  for (const std::string& d : dirs) {
    auto real = root.resolve(d);
    if (!real || !scanned.insert(*real).second) continue;
    std::optional<std::vector<std::string>> names;
    try {
      names = root.list(d);
    } catch (const Error& e) {
      warnings.push_back(e.what());
    }
    if (!names) continue;
    for (const std::string& n : *names)
      if (looks_like_library(n)) cands.push_back({n, join_path(d, n), false});
  }

  struct Found {
    target::ProbeLib lib;
    bool exact;  // looked up by its own soname
  };
  std::vector<Found> found;
  Scanner scanner(root, warnings);
  size_t stale = 0, unwritable_paths = 0;
  for (const Candidate& c : cands) {
    check_interrupted();
    bool missing = false;
    auto f = scanner.examine(c.path, missing);
    if (missing && c.from_cache) ++stale;
    if (!f) continue;
    if (!is_token(c.path)) {
      ++unwritable_paths;
      continue;
    }
    std::string soname = f->soname ? *f->soname : base_name(c.path);
    found.push_back({{soname, c.path, f->versions}, c.lookup == soname});
  }
  if (stale > 0)
    warnings.push_back(std::to_string(stale) + " entries of " + root.host(kCachePath) +
                       " name files that are not there (a stale cache?)");
  if (unwritable_paths > 0)
    warnings.push_back(std::to_string(unwritable_paths) +
                       " libraries left out: their paths hold spaces or control characters");

  // The loader finds a library by the name a program asks for, its soname:
  // a file found under that name wins over one found under another (a
  // development link, a full version number), then the search order.
  std::stable_partition(found.begin(), found.end(), [](const Found& f) { return f.exact; });
  std::map<std::string, target::ProbeLib> libs;
  for (Found& f : found) libs.try_emplace(f.lib.soname, std::move(f.lib));

  auto libc = libs.find("libc.so.6");
  if (libc == libs.end()) {
    std::string looked = root.host(kCachePath);
    for (const std::string& d : dirs) looked += ", " + root.host(d);
    throw Error(Exit::kUsage, "no libc.so.6 found in " + looked,
                "the probe describes a glibc-based system (musl-based ones such as Alpine are not supported); "
                "with --root, give the directory the node's / is mounted on");
  }
  if (!highest_glibc(libc->second.versions))
    throw Error(Exit::kUsage, root.host(libc->second.path) + ": libc.so.6 defines no GLIBC_2.x symbol version",
                "is it glibc's C library?");
  std::string glibc = glibc_release(root, libs, libc->second, warnings);

  target::ProbeFile& p = r.file;
  p.created = created_now(host.now);
  p.host = one_line(host.nodename);
  p.os = read_os_name(root, warnings);
  p.kernel = kernel_version(host.release);
  if (p.kernel.empty()) p.kernel = "unknown";
  p.arch = host.machine.empty() ? "unknown" : one_line(host.machine);
  p.glibc = glibc;
  r.libc_path = libc->second.path;
  for (auto& [name, lib] : libs) p.libs.push_back(std::move(lib));
  return r;
}

}  // namespace airlock::unpacker
