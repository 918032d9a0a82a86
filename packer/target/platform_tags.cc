#include "packer/target/platform_tags.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <set>
#include <utility>

namespace airlock::packer {

namespace {

// packaging's _LEGACY_MANYLINUX_MAP: the PEP 513/571/599 names of glibc
// 2.5, 2.12 and 2.17.
struct LegacyAlias {
  int glibc_minor;
  std::string_view name;
};
constexpr std::array<LegacyAlias, 3> kLegacy = {{{17, "manylinux2014"}, {12, "manylinux2010"}, {5, "manylinux1"}}};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

std::optional<int> to_int(std::string_view s) {
  int n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

// "23.2.1" -> {23, 2}; "24" -> {24, 0}; nullopt for anything else.
std::optional<std::pair<int, int>> parse_pip_version(std::string_view v) {
  std::vector<std::string> parts = split(v, '.');
  auto major = to_int(parts[0]);
  if (!major) return std::nullopt;
  int minor = 0;
  if (parts.size() > 1) {
    // "23.3b1", "24.0rc2": the leading digits are the minor.
    std::string_view m = parts[1];
    size_t digits = 0;
    while (digits < m.size() && m[digits] >= '0' && m[digits] <= '9') ++digits;
    auto n = to_int(m.substr(0, digits));
    if (!n) return std::nullopt;
    minor = *n;
  }
  return std::pair{*major, minor};
}

// The values of `option` in args ("--platform", "a", "--platform", "b" -> {a, b}).
std::vector<std::string> values_of(const std::vector<std::string>& args, std::string_view option) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == option) out.push_back(args[++i]);
  return out;
}

// The glibc a manylinux platform tag needs and its architecture:
// "manylinux_2_34_x86_64" -> {34, "x86_64"}, "manylinux2014_aarch64" -> {17, "aarch64"}.
std::optional<std::pair<int, std::string>> manylinux_glibc(std::string_view plat) {
  if (starts_with(plat, "manylinux_2_")) {
    std::string_view rest = plat.substr(12);
    size_t us = rest.find('_');
    if (us == std::string_view::npos) return std::nullopt;
    auto minor = to_int(rest.substr(0, us));
    if (!minor) return std::nullopt;
    return std::pair{*minor, std::string(rest.substr(us + 1))};
  }
  for (const LegacyAlias& l : kLegacy)
    if (starts_with(plat, std::string(l.name) + "_"))
      return std::pair{l.glibc_minor, std::string(plat.substr(l.name.size() + 1))};
  return std::nullopt;
}

// The architecture of a platform tag ("linux_x86_64", "manylinux_2_17_x86_64"); "" if neither.
std::string arch_of(std::string_view plat) {
  if (auto m = manylinux_glibc(plat)) return m->second;
  if (starts_with(plat, "linux_")) return std::string(plat.substr(6));
  return "";
}

}  // namespace

std::vector<std::string> manylinux_platforms(const Target& t) {
  std::vector<std::string> out;
  const std::vector<int>& v = t.glibc.parts;
  if (v.size() < 2 || v[0] != 2) return out;
  // packaging.tags: the oldest glibc with manylinux wheels is 2.17, and 2.5
  // on x86 (manylinux1's CentOS 5).
  int oldest = (t.arch == "x86_64" || t.arch == "i686") ? 5 : 17;
  for (int minor = v[1]; minor >= oldest; --minor) {
    out.push_back("manylinux_2_" + std::to_string(minor) + "_" + t.arch);
    for (const LegacyAlias& l : kLegacy)
      if (l.glibc_minor == minor) out.push_back(std::string(l.name) + "_" + t.arch);
  }
  return out;
}

std::vector<std::string> target_platforms(const Target& t) {
  std::vector<std::string> out = manylinux_platforms(t);
  out.push_back("linux_" + t.arch);
  return out;
}

std::vector<std::string> target_pip_args(const Target& t, const PythonInfo& py) {
  // "3.12.1" -> "3.12"
  std::vector<std::string> v = split(py.version, '.');
  std::string xy = v.size() >= 2 ? v[0] + "." + v[1] : py.version;
  // pip's interpreter_name(): the short names packaging.tags uses.
  static const std::array<std::pair<std::string_view, std::string_view>, 5> kShort = {
      {{"python", "py"}, {"cpython", "cp"}, {"pypy", "pp"}, {"ironpython", "ip"}, {"jython", "jy"}}};
  std::string impl = py.implementation;
  for (const auto& [name, abbr] : kShort)
    if (impl == name) impl = abbr;

  std::vector<std::string> args = {"--only-binary=:all:", "--python-version", xy, "--implementation", impl};
  if (!py.abi_tag.empty() && py.abi_tag != "none" && py.abi_tag != "abi3") args.insert(args.end(), {"--abi", py.abi_tag});
  // The stable ABI: CPython with the GIL only (a free-threaded build, "cp313t", cannot load abi3 extensions).
  bool free_threaded = !py.abi_tag.empty() && py.abi_tag.back() == 't';
  if (impl == "cp" && !free_threaded) args.insert(args.end(), {"--abi", "abi3"});
  args.insert(args.end(), {"--abi", "none"});
  for (const std::string& p : target_platforms(t)) args.insert(args.end(), {"--platform", p});
  return args;
}

bool pip_version_at_least(std::string_view pip_version, int major, int minor) {
  auto v = parse_pip_version(pip_version);
  return v && *v >= std::pair{major, minor};
}

std::vector<std::string> pip_target_args_for(const std::vector<std::string>& args, std::string_view pip_version) {
  auto v = parse_pip_version(pip_version);
  if (!v || *v >= std::pair{20, 3}) return args;

  // One --platform: the newest legacy alias this pip knows (it adds the
  // older ones itself from 19.0 on); linux_<arch> when the target has none.
  std::vector<std::string_view> known = {"manylinux1_"};
  if (*v >= std::pair{19, 0}) known.insert(known.begin(), "manylinux2010_");
  if (*v >= std::pair{19, 3}) known.insert(known.begin(), "manylinux2014_");
  std::vector<std::string> platforms = values_of(args, "--platform");
  std::string platform;
  for (const std::string& p : platforms)
    if (platform.empty() && std::any_of(known.begin(), known.end(), [&](std::string_view k) { return starts_with(p, k); }))
      platform = p;
  for (const std::string& p : platforms)
    if (platform.empty() && starts_with(p, "linux_")) platform = p;
  if (platform.empty() && !platforms.empty()) platform = platforms.front();

  std::vector<std::string> out;
  bool abi_done = false, platform_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool has_value = i + 1 < args.size();
    if (a == "--abi" && has_value) {
      if (!abi_done) out.insert(out.end(), {a, args[i + 1]});  // the interpreter's own comes first
      abi_done = true;
      ++i;
    } else if (a == "--platform" && has_value) {
      if (!platform_done) out.insert(out.end(), {a, platform});
      platform_done = true;
      ++i;
    } else if (a == "--python-version" && has_value) {
      std::string pv = args[++i];
      if (*v < std::pair{19, 2}) pv.erase(std::remove(pv.begin(), pv.end(), '.'), pv.end());
      out.insert(out.end(), {a, pv});
    } else {
      out.push_back(a);
    }
  }
  return out;
}

bool is_target_pip_option(std::string_view option) {
  for (std::string_view o : {"--platform", "--python-version", "--implementation", "--abi", "--only-binary"})
    if (option == o || starts_with(option, std::string(o) + "=")) return true;
  return false;
}

std::string wheel_tag_mismatch(const std::string& filename, const std::vector<std::string>& args) {
  if (filename.size() < 4 || filename.compare(filename.size() - 4, 4, ".whl") != 0) return "";
  std::vector<std::string> parts = split(std::string_view(filename).substr(0, filename.size() - 4), '-');
  if (parts.size() != 5 && parts.size() != 6) return "";
  size_t n = parts.size();
  std::vector<std::string> pys = split(parts[n - 3], '.'), abis = split(parts[n - 2], '.'),
                           plats = split(parts[n - 1], '.');

  std::vector<std::string> want_platforms = values_of(args, "--platform");
  std::vector<std::string> want_abis = values_of(args, "--abi");
  std::vector<std::string> impls = values_of(args, "--implementation");
  std::vector<std::string> versions = values_of(args, "--python-version");
  std::string impl = impls.empty() ? "cp" : impls.back();
  std::string pv = versions.empty() ? "" : versions.back();
  std::vector<std::string> xy = split(pv, '.');
  if (xy.size() == 1 && xy[0].size() > 1) xy = {xy[0].substr(0, 1), xy[0].substr(1)};  // "312"
  auto major = xy.empty() ? std::nullopt : to_int(xy[0]);
  auto minor = xy.size() < 2 ? std::nullopt : to_int(xy[1]);
  if (!major || !minor) return "";
  std::string x = std::to_string(*major);
  bool abi3 = std::find(want_abis.begin(), want_abis.end(), "abi3") != want_abis.end();

  auto platform_ok = [&](const std::string& p) {
    return p == "any" || std::find(want_platforms.begin(), want_platforms.end(), p) != want_platforms.end();
  };
  // A python tag "<prefix>X<Y'>" with Y' <= Y (py3, py312, py38, cp38...).
  auto older_or_same = [&](const std::string& py, const std::string& prefix) {
    if (!starts_with(py, prefix + x)) return false;
    std::string rest = py.substr(prefix.size() + x.size());
    if (rest.empty()) return true;
    auto m = to_int(rest);
    return m && *m <= *minor;
  };
  auto interpreter_ok = [&](const std::string& py, const std::string& abi) {
    std::string exact = impl + x + std::to_string(*minor);
    if (abi == "none") return py == exact || older_or_same(py, "py");
    if (abi == "abi3") return abi3 && impl == "cp" && older_or_same(py, "cp") && py != "cp" + x;
    return py == exact && std::find(want_abis.begin(), want_abis.end(), abi) != want_abis.end();
  };

  bool any_platform = false;
  for (const std::string& pl : plats)
    if (platform_ok(pl)) any_platform = true;
  if (any_platform) {
    for (const std::string& py : pys)
      for (const std::string& abi : abis)
        if (interpreter_ok(py, abi)) return "";
    return "is for " + parts[n - 3] + "-" + parts[n - 2];
  }
  // The platform decides: name the oldest glibc the wheel could run on.
  std::string target_arch;
  for (const std::string& p : want_platforms)
    if (target_arch.empty()) target_arch = arch_of(p);
  std::optional<int> lowest;
  std::string other_arch;
  for (const std::string& pl : plats) {
    auto m = manylinux_glibc(pl);
    if (m && m->second == target_arch) {
      if (!lowest || m->first < *lowest) lowest = m->first;
    } else if (other_arch.empty() && !arch_of(pl).empty() && arch_of(pl) != target_arch) {
      other_arch = arch_of(pl);
    }
  }
  if (lowest) return "needs glibc 2." + std::to_string(*lowest);
  if (!other_arch.empty()) return "is for " + other_arch;
  return "is for " + parts[n - 1];
}

}  // namespace airlock::packer
