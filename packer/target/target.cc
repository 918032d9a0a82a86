#include "packer/target/target.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "common/error.h"
#include "common/io.h"
#include "common/target/probe_file.h"

namespace airlock::packer {

std::optional<DotVersion> DotVersion::parse(std::string_view s) {
  DotVersion v;
  if (s.empty()) return std::nullopt;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    int n = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (part.empty() || ec != std::errc() || p != part.data() + part.size() || n < 0) return std::nullopt;
    v.parts.push_back(n);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return v;
}

std::string DotVersion::str() const {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? "." : "") + std::to_string(parts[i]);
  return s;
}

std::optional<SymbolVersion> SymbolVersion::parse(std::string_view name) {
  size_t us = name.rfind('_');
  if (us == std::string_view::npos || us == 0) return std::nullopt;
  auto v = DotVersion::parse(name.substr(us + 1));
  if (!v) return std::nullopt;
  return SymbolVersion{std::string(name.substr(0, us)), *v};
}

namespace {

struct Preset {
  const char* name;
  const char* glibc;
  const char* glibcxx;  // libstdc++ of the compiler the release ships
  const char* cxxabi;
  const char* gcc;      // libgcc_s
  const char* kernel;
  const char* os;
};

// glibc and C++ runtime of each release as shipped (the manylinux_2_X
// presets are the policies' own build images: CentOS 7, AlmaLinux 8 and 9).
constexpr std::array<Preset, 11> kPresets = {{
    {"rhel7", "2.17", "3.4.19", "1.3.7", "4.8.0", "3.10", "Red Hat Enterprise Linux 7"},
    {"manylinux2014", "2.17", "3.4.19", "1.3.7", "4.8.0", "3.10", "manylinux2014 (CentOS 7)"},
    {"rhel8", "2.28", "3.4.25", "1.3.11", "7.0.0", "4.18", "Red Hat Enterprise Linux 8"},
    {"manylinux_2_28", "2.28", "3.4.25", "1.3.11", "7.0.0", "4.18", "manylinux_2_28 (AlmaLinux 8)"},
    {"debian11", "2.31", "3.4.28", "1.3.12", "7.0.0", "5.10", "Debian GNU/Linux 11 (bullseye)"},
    {"ubuntu20.04", "2.31", "3.4.28", "1.3.12", "7.0.0", "5.4", "Ubuntu 20.04 LTS"},
    {"rhel9", "2.34", "3.4.29", "1.3.13", "7.0.0", "5.14", "Red Hat Enterprise Linux 9"},
    {"manylinux_2_34", "2.34", "3.4.29", "1.3.13", "7.0.0", "5.14", "manylinux_2_34 (AlmaLinux 9)"},
    {"ubuntu22.04", "2.35", "3.4.30", "1.3.13", "12.0.0", "5.15", "Ubuntu 22.04 LTS"},
    {"debian12", "2.36", "3.4.30", "1.3.13", "12.0.0", "6.1", "Debian GNU/Linux 12 (bookworm)"},
    {"ubuntu24.04", "2.39", "3.4.33", "1.3.15", "14.0.0", "6.8", "Ubuntu 24.04 LTS"},
}};

// glibc's own libraries on x86_64 (what the libc6 / glibc package ships).
constexpr std::array<const char*, 22> kGlibcLibs = {
    "ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libmvec.so.1", "libpthread.so.0", "libdl.so.2",
    "librt.so.1", "libutil.so.1", "libresolv.so.2", "libanl.so.1", "libnsl.so.1", "libBrokenLocale.so.1",
    "libc_malloc_debug.so.0", "libthread_db.so.1", "libnss_files.so.2", "libnss_dns.so.2",
    "libnss_compat.so.2", "libnss_hesiod.so.2", "libnss_db.so.2", "libcidn.so.1", "libmemusage.so",
    "libpcprofile.so"};

// The rest of auditwheel's manylinux baseline, assumed by name.
constexpr std::array<const char*, 14> kBaselineOther = {
    "libgcc_s.so.1", "libstdc++.so.6", "libatomic.so.1", "libX11.so.6", "libXext.so.6", "libXrender.so.1",
    "libICE.so.6", "libSM.so.6", "libGL.so.1", "libgobject-2.0.so.0", "libgthread-2.0.so.0",
    "libglib-2.0.so.0", "libexpat.so.1", "libz.so.1"};

DotVersion must(const char* s) { return *DotVersion::parse(s); }

Target from_preset(const Preset& p, const std::string& name, TargetSource src) {
  Target t;
  t.name = name;
  t.source = src;
  t.glibc = must(p.glibc);
  t.glibcxx = must(p.glibcxx);
  t.cxxabi = must(p.cxxabi);
  t.gcc = must(p.gcc);
  t.kernel = p.kernel;
  t.os = p.os;
  return t;
}

std::string preset_list() {
  std::string s;
  for (const auto& p : kPresets) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

bool is_glibc_library(const std::string& soname) {
  return std::any_of(kGlibcLibs.begin(), kGlibcLibs.end(), [&](const char* g) { return soname == g; });
}

std::vector<std::string> target_presets() {
  std::vector<std::string> out;
  for (const auto& p : kPresets) out.push_back(p.name);
  return out;
}

std::string Target::label() const {
  if (source == TargetSource::kProbe) return os + " (glibc " + glibc.str() + ", probe file " + name + ")";
  if (source == TargetSource::kGlibc) return name;
  return name + " (glibc " + glibc.str() + ")";
}

std::string Target::who() const {
  if (source != TargetSource::kProbe) return name;
  return host.empty() ? "the node" : "the node " + host;
}

Target::Provision Target::provides(const std::string& soname, const std::vector<std::string>& needed) const {
  Provision p;
  if (source == TargetSource::kProbe) {
    auto it = libs.find(soname);
    if (it == libs.end()) return p;
    p.present = true;
    for (const std::string& v : needed)
      if (std::find(it->second.versions.begin(), it->second.versions.end(), v) == it->second.versions.end())
        p.missing_versions.push_back(v);
    return p;
  }
  bool glibc_lib = is_glibc_library(soname);
  bool other = std::any_of(kBaselineOther.begin(), kBaselineOther.end(), [&](const char* b) { return soname == b; });
  if (!glibc_lib && !other) return p;
  p.present = true;
  p.assumed = !glibc_lib && soname != "libstdc++.so.6" && soname != "libgcc_s.so.1";
  for (const std::string& v : needed) {
    auto sv = SymbolVersion::parse(v);
    if (!sv) continue;  // GLIBC_PRIVATE and the like: not judged by name
    const DotVersion* limit = nullptr;
    if (sv->family == "GLIBC" && glibc_lib) limit = &glibc;
    else if (sv->family == "GLIBCXX" && soname == "libstdc++.so.6") limit = &glibcxx;
    else if (sv->family == "CXXABI" && soname == "libstdc++.so.6") limit = &cxxabi;
    else if (sv->family == "GCC" && soname == "libgcc_s.so.1") limit = &gcc;
    if (limit && !limit->empty() && sv->version > *limit) p.missing_versions.push_back(v);
  }
  return p;
}

Target resolve_target(const std::string& spec) {
  for (const auto& p : kPresets)
    if (spec == p.name) return from_preset(p, spec, TargetSource::kPreset);
  if (spec.rfind("glibc-", 0) == 0) {
    auto v = DotVersion::parse(spec.substr(6));
    if (!v || v->parts.size() != 2 || v->parts[0] != 2)
      throw Error(Exit::kUsage, "--target " + spec + ": not a glibc version (expected glibc-2.Y, e.g. glibc-2.28)");
    // The C++ runtime of the newest preset whose glibc is not newer.
    const Preset* best = nullptr;
    for (const auto& p : kPresets)
      if (must(p.glibc) <= *v && (!best || must(p.glibc) > must(best->glibc))) best = &p;
    Target t;
    if (best) {
      t = from_preset(*best, spec, TargetSource::kGlibc);
    } else {  // older than every preset: glibc only, no C++ runtime assumed newer than none
      t.name = spec;
      t.source = TargetSource::kGlibc;
      t.glibcxx = must("3.4");
      t.cxxabi = must("1.3");
      t.gcc = must("3.0");
    }
    t.glibc = *v;
    t.kernel.clear();
    t.os = "glibc " + v->str();
    return t;
  }
  if (spec.find('/') != std::string::npos || file_exists(spec)) {
    std::string text = read_file(spec);
    target::ProbeFile pf = target::parse_probe(text, spec);
    Target t;
    t.name = spec;
    t.source = TargetSource::kProbe;
    auto v = DotVersion::parse(pf.glibc);
    if (!v) throw Error(Exit::kUsage, spec + ": glibc '" + pf.glibc + "' is not a version");
    t.glibc = *v;
    t.arch = pf.arch;
    t.kernel = pf.kernel;
    t.os = pf.os;
    t.host = pf.host;
    for (auto& l : pf.libs) t.libs[l.soname] = {l.path, l.versions};
    return t;
  }
  throw Error(Exit::kUsage, "--target " + spec + ": unknown target",
              "use one of " + preset_list() + ", glibc-X.Y, or a file written by 'unpacker probe' on the node");
}

}  // namespace airlock::packer
