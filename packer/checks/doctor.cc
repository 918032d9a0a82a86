#include "packer/checks/doctor.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "common/elf/elf.h"
#include "common/io.h"
#include "packer/checks/host_libraries.h"
#include "packer/checks/wheel.h"

namespace fs = std::filesystem;

namespace airlock::packer {

namespace {

struct ElfEntry {
  std::string rel;      // where it is (or will be) inside the environment
  std::string display;  // how findings name it
  bool from_wheel = false;
  elf::DynamicInfo info;
};

std::vector<std::string> split_path_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t colon = s.find(':', start);
    std::string part = s.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!part.empty()) out.push_back(part);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

bool is_elf64_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  uint8_t head[16] = {};
  f.read(reinterpret_cast<char*>(head), sizeof head);
  return f.gcount() == sizeof head && elf::probe(head).kind == elf::Kind::kElf64Le;
}

// Where one search directory points: inside the environment (rel) or on
// the host (abs).
struct Place {
  bool inside = false;
  std::string dir;  // rel when inside, absolute otherwise
};

// The highest version of `family` ("GLIBC") among `versions`, if any.
std::optional<DotVersion> max_of(const std::vector<std::string>& versions, const std::string& family) {
  std::optional<DotVersion> best;
  for (const std::string& v : versions) {
    auto sv = SymbolVersion::parse(v);
    if (sv && sv->family == family && (!best || sv->version > *best)) best = sv->version;
  }
  return best;
}

const std::vector<std::string>& needs_from(const elf::DynamicInfo& info, const std::string& lib) {
  static const std::vector<std::string> none;
  for (const auto& vn : info.version_needs)
    if (vn.file == lib) return vn.versions;
  return none;
}

// The highest GLIBC_ version a file needs from glibc's libraries.
std::optional<DotVersion> glibc_need(const elf::DynamicInfo& info) {
  std::optional<DotVersion> best;
  for (const auto& vn : info.version_needs) {
    if (!is_glibc_library(vn.file)) continue;
    auto v = max_of(vn.versions, "GLIBC");
    if (v && (!best || *v > *best)) best = v;
  }
  return best;
}

std::string users_text(const std::vector<std::string>& users) {
  std::string s = users.front();
  if (users.size() > 1) s += " and " + std::to_string(users.size() - 1) + " more";
  return s;
}

class Doctor {
 public:
  explicit Doctor(const DoctorInput& in) : in_(in), target_(in.target) {
    env_ = fs::path(in.env_dir).lexically_normal().string();
    while (env_.size() > 1 && env_.back() == '/') env_.pop_back();
    host_dirs_ = in.host_dirs.empty() ? host_library_dirs() : in.host_dirs;
  }

  DoctorResult run() {
    // The wheels first (the environment may still be streaming into the
    // payload), then the environment; the environment's files come first
    // in every list, as before the wheels' ELF members.
    for (const std::string& w : in_.wheels) scan_wheel(w);
    const EnvElfFiles* streamed = in_.env_files ? in_.env_files() : nullptr;
    if (streamed) take_environment(*streamed);
    else scan_environment();
    for (const auto& [rel, display] : wheel_names_) {
      present_.insert(rel);
      by_name_[fs::path(rel).filename().string()].push_back(display);
    }
    for (ElfEntry& e : wheel_entries_) entries_.push_back(std::move(e));
    for (Finding& f : wheel_findings_) res_.findings.push_back(std::move(f));
    find_preloaded();
    for (const ElfEntry& e : entries_) check(e);
    if (target_ && in_.portable) close_carried();
    judge_glibc();
    report();
    res_.elf_files = entries_.size();
    if (needs_glibc_) {
      res_.needs_glibc = needs_glibc_->str();
      res_.needs_glibc_by = needs_glibc_by_;
    }
    return std::move(res_);
  }

 private:
  void add_finding(Severity s, std::string code, std::string path, std::string message, std::string hint) {
    res_.findings.push_back({s, std::move(code), std::move(path), std::move(message), std::move(hint)});
  }

  // Walk order: directory by directory, names sorted bytewise (as the
  // packer's walk meets them).
  static bool walk_order_less(const std::string& a, const std::string& b) {
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      if (a[i] == b[i]) continue;
      unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
      unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
      return x < y;
    }
    return a.size() < b.size();
  }

  void scan_environment() {
    std::error_code ec;
    // A file reached by several names (links, hardlinks) is read once,
    // under its first name in walk order that is not a symbolic link: the
    // packer's stream stores it once and names it the same way.
    struct Pick {
      std::string rel, path;
      bool via_link = false;
    };
    std::map<std::pair<dev_t, ino_t>, Pick> by_file;  // the file -> the name it is read under
    fs::recursive_directory_iterator it(env_, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) throw_errno("cannot read the environment", env_, ec.value());
    for (; it != end; it.increment(ec)) {
      if (ec) break;
      const fs::directory_entry& de = *it;
      std::error_code e2;
      if (!de.is_regular_file(e2)) continue;  // follows symlinks: a link to a file counts
      std::string path = de.path().string();
      std::string rel = fs::relative(de.path(), env_, e2).string();
      if (!is_elf64_file(path)) continue;
      present_.insert(rel);
      by_name_[de.path().filename().string()].push_back(rel);
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) continue;
      Pick pick{rel, path, de.is_symlink(e2)};
      auto [at, fresh] = by_file.try_emplace({st.st_dev, st.st_ino}, pick);
      Pick& held = at->second;
      if (!fresh && (pick.via_link < held.via_link ||
                     (pick.via_link == held.via_link && walk_order_less(pick.rel, held.rel))))
        held = pick;
    }
    for (const auto& [id, pick] : by_file) {
      try {
        ElfEntry entry{pick.rel, pick.rel, false, elf::read_dynamic_file(pick.path)};
        if (entry.info.has_dynamic) entries_.push_back(std::move(entry));
      } catch (const elf::ElfError& err) {
        add_finding(Severity::kWarning, "unreadable-elf", pick.rel, err.what(),
                    "the doctor could not check this file's libraries; check it with 'readelf -d'");
      }
    }
    // A stable order: findings and plans do not depend on directory order.
    for (auto& [file, names] : by_name_) std::sort(names.begin(), names.end());
    std::sort(entries_.begin(), entries_.end(), [](const ElfEntry& a, const ElfEntry& b) { return a.rel < b.rel; });
  }

  void take_environment(const EnvElfFiles& files) {
    auto name = [&](const std::string& rel) {
      present_.insert(rel);
      by_name_[fs::path(rel).filename().string()].push_back(rel);
    };
    for (const auto& [rel, info] : files.files) {
      name(rel);
      if (info && info->has_dynamic) entries_.push_back(ElfEntry{rel, rel, false, *info});
    }
    for (const std::string& rel : files.other_names) name(rel);
    for (auto& [file, names] : by_name_) std::sort(names.begin(), names.end());
    std::sort(entries_.begin(), entries_.end(), [](const ElfEntry& a, const ElfEntry& b) { return a.rel < b.rel; });
  }

  void scan_wheel(const std::string& wheel) {
    std::string fn = fs::path(wheel).filename().string();
    std::string dist = dist_name_from_filename(fn);
    read_wheel(wheel, [&](const std::string& member, std::span<const uint8_t> bytes) {
      if (elf::probe(bytes).kind != elf::Kind::kElf64Le) return;
      std::string rel = install_path(member, in_.site_packages, dist);
      std::string display = fn + ":" + member;
      wheel_names_.push_back({rel, display});
      try {
        ElfEntry entry{rel, display, true, elf::read_dynamic(bytes, display)};
        if (entry.info.has_dynamic) wheel_entries_.push_back(std::move(entry));
      } catch (const elf::ElfError& err) {
        wheel_findings_.push_back({Severity::kWarning, "unreadable-elf", display, err.what(),
                                   "the doctor could not check this file's libraries"});
      }
    });
  }

  // Libraries the interpreter loads before any extension module: the
  // loader reuses an already loaded object with the same soname.
  void find_preloaded() {
    for (const ElfEntry& e : entries_) {
      if (e.from_wheel || e.rel != in_.interpreter) continue;
      for (const std::string& n : e.info.needed)
        if (search_path_hit(e, n)) preloaded_.insert(n);
    }
  }

  std::vector<Place> search_places(const ElfEntry& e, std::vector<std::string>* outside_abs) const {
    std::vector<std::string> raw;
    // The loader uses DT_RPATH only when there is no DT_RUNPATH.
    if (e.info.rpath && !e.info.runpath) raw = split_path_list(e.info.rpath->value);
    if (e.info.runpath) raw = split_path_list(e.info.runpath->value);
    std::string origin = (fs::path(env_) / fs::path(e.rel).parent_path()).string();
    std::vector<Place> out;
    for (const std::string& r : raw) {
      bool uses_origin = r.find("$ORIGIN") != std::string::npos || r.find("${ORIGIN}") != std::string::npos;
      std::string d = replace_all(replace_all(r, "${ORIGIN}", origin), "$ORIGIN", origin);
      d = fs::path(d).lexically_normal().string();
      while (d.size() > 1 && d.back() == '/') d.pop_back();
      Place p;
      // An absolute entry naming the environment under any of its spellings
      // is rewritten to $ORIGIN by the packer: it stays inside.
      std::vector<std::string> prefixes = in_.prefix_strings;
      prefixes.insert(prefixes.begin(), env_);
      for (std::string pre : prefixes) {
        while (pre.size() > 1 && pre.back() == '/') pre.pop_back();
        if (d == pre || d.rfind(pre + "/", 0) == 0) {
          p.inside = true;
          p.dir = d == pre ? "" : d.substr(pre.size() + 1);
          break;
        }
      }
      if (!p.inside) {
        p.dir = d;
        if (outside_abs) outside_abs->push_back(uses_origin ? r + " (= " + d + ")" : r);
      }
      out.push_back(p);
    }
    return out;
  }

  // Found through RPATH/RUNPATH inside the environment?
  bool search_path_hit(const ElfEntry& e, const std::string& lib) const {
    for (const Place& p : search_places(e, nullptr))
      if (p.inside && present_.count(p.dir.empty() ? lib : p.dir + "/" + lib)) return true;
    return false;
  }

  std::string host_lookup(const std::string& lib, const std::vector<Place>& places) {
    for (const Place& p : places)
      if (!p.inside && is_elf64_file(p.dir + "/" + lib)) return p.dir + "/" + lib;
    // The host's directories are the same for every file: looked up once
    // per library, not once per file that needs it.
    auto [it, fresh] = host_found_.try_emplace(lib);
    if (fresh)
      for (const std::string& d : host_dirs_)
        if (is_elf64_file(d + "/" + lib)) {
          it->second = d + "/" + lib;
          break;
        }
    return it->second;
  }

  void need_glibc(const elf::DynamicInfo& info, const std::string& display) {
    auto v = glibc_need(info);
    if (!v) return;
    if (!needs_glibc_ || *v > *needs_glibc_) {
      needs_glibc_ = v;
      needs_glibc_by_ = display;
    }
    if (target_ && *v > target_->glibc) glibc_short_.push_back({display, *v});
  }

  // Whether the target gives `lib` (with the versions `user` needs) well
  // enough that nothing is carried for it.
  bool target_suffices(const std::string& lib, const std::vector<std::string>& versions, const std::string& host,
                       Target::Provision& prov) const {
    prov = target_->provides(lib, versions);
    if (!prov.present || !prov.missing_versions.empty()) return false;
    // --portable against a preset: the baseline libraries it only assumes
    // by name (libz, libX11, ...) may be missing from a minimal node, so
    // they are carried too; a probe file says what is really there.
    if (in_.portable && prov.assumed && !host.empty() && !is_driver_library(lib)) return false;
    return true;
  }

  void carry(const std::string& lib, const std::string& host, const std::string& user) {
    auto [it, fresh] = carried_.try_emplace(lib);
    if (fresh) {
      std::error_code ec;
      std::string real = fs::canonical(host, ec).string();
      it->second.soname = lib;
      it->second.host_path = real.empty() ? host : real;
      carry_queue_.push_back(lib);
    }
    it->second.users.push_back(user);
  }

  void check(const ElfEntry& e) {
    std::vector<std::string> outside;
    std::vector<Place> places = search_places(e, &outside);
    for (const std::string& o : outside) outside_runpaths_[o].push_back(e.display);
    need_glibc(e.info, e.display);
    if (in_.portable && e.info.interp && !e.from_wheel) res_.portable.executables.push_back(e.rel);
    for (const std::string& lib : e.info.needed) {
      ++res_.needed;
      if (lib.find('/') != std::string::npos) {
        if (!is_elf64_file(lib)) missing(e, lib, places);
        continue;
      }
      if (search_path_hit(e, lib) || preloaded_.count(lib)) continue;
      std::string host = host_lookup(lib, places);
      if (target_) {
        if (is_glibc_library(lib)) continue;  // the C library is judged as a whole (judge_glibc)
        const auto& versions = needs_from(e.info, lib);
        Target::Provision prov;
        if (target_suffices(lib, versions, host, prov)) continue;
        if (in_.portable && !host.empty() && !is_driver_library(lib)) {
          carry(lib, host, e.display);
          if (!e.from_wheel) reach_.insert(e.rel);
          continue;
        }
        not_on_target(lib, host, e.display, prov);
        continue;
      }
      if (host.empty()) {
        if (!in_manylinux_baseline(lib)) missing(e, lib, places);
        continue;
      }
      if (!in_manylinux_baseline(lib)) {
        auto& h = host_libs_[lib];
        h.first = host;
        h.second.push_back(e.display);
      }
    }
  }

  // The carried libraries' own needs, until nothing new is carried: they
  // find each other in the grafted directory ($ORIGIN) and everything else
  // on the node.
  void close_carried() {
    for (size_t i = 0; i < carry_queue_.size(); ++i) {
      std::string lib = carry_queue_[i];
      std::string host = carried_[lib].host_path;
      std::string display = lib + " (carried from " + host + ")";
      elf::DynamicInfo info;
      try {
        info = elf::read_dynamic_file(host);
      } catch (const elf::ElfError& err) {
        add_finding(Severity::kError, "unreadable-elf", host, err.what(), "the library cannot be carried unread");
        continue;
      }
      need_glibc(info, display);
      for (const std::string& dep : info.needed) {
        if (is_glibc_library(dep) || carried_.count(dep)) continue;
        const auto& versions = needs_from(info, dep);
        std::string dep_host = host_lookup(dep, {});
        Target::Provision prov;
        if (target_suffices(dep, versions, dep_host, prov)) continue;
        if (!dep_host.empty() && !is_driver_library(dep)) {
          carry(dep, dep_host, display);
          continue;
        }
        not_on_target(dep, dep_host, display, prov);
      }
    }
    for (auto& [lib, l] : carried_) res_.portable.libs.push_back(l);
    res_.portable.reach.assign(reach_.begin(), reach_.end());
  }

  void not_on_target(const std::string& lib, const std::string& host, const std::string& user,
                     const Target::Provision& prov) {
    auto& n = not_on_target_[lib];
    n.host = host;
    n.present = prov.present;
    n.users.push_back(user);
    for (const std::string& v : prov.missing_versions)
      if (std::find(n.missing.begin(), n.missing.end(), v) == n.missing.end()) n.missing.push_back(v);
  }

  // The node's C library against what the bundle needs from it.
  void judge_glibc() {
    if (!target_ || !needs_glibc_ || *needs_glibc_ <= target_->glibc) return;
    if (!in_.portable) {
      std::stable_sort(glibc_short_.begin(), glibc_short_.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      for (const auto& [file, version] : glibc_short_)
        add_finding(Severity::kError, "glibc-too-old", file,
                    file + " needs GLIBC_" + version.str() + "; " + target_->who() + " has " + target_->glibc.str(),
                    "the environment was built against this host's newer C library: pack with --portable to "
                    "carry it for the environment's own programs (docs/targets.md), or build the environment "
                    "on a system whose glibc is not newer than " + target_->glibc.str());
      return;
    }
    PortablePlan& p = res_.portable;
    std::string libc = host_lookup("libc.so.6", {});
    if (libc.empty()) {
      add_finding(Severity::kError, "glibc-not-carried", "libc.so.6",
                  "the bundle needs GLIBC_" + needs_glibc_->str() + " and " + target_->who() + " has " +
                      target_->glibc.str() + ", but this host's libc.so.6 was not found to carry",
                  "");
      return;
    }
    std::error_code ec;
    std::string real = fs::canonical(libc, ec).string();
    if (real.empty()) real = libc;
    p.carry_glibc = true;
    p.glibc_dir = fs::path(real).parent_path().string();
    try {
      elf::DynamicInfo info = elf::read_dynamic_file(real);
      if (auto v = max_of(info.version_defs, "GLIBC")) p.host_glibc = v->str();
      if (info.abi_tag) p.glibc_kernel = *info.abi_tag;
    } catch (const elf::ElfError& err) {
      add_finding(Severity::kError, "unreadable-elf", real, err.what(), "");
    }
    if (p.host_glibc.empty()) p.host_glibc = needs_glibc_->str();
    auto need_kernel = DotVersion::parse(p.glibc_kernel);
    auto have_kernel = DotVersion::parse(target_->kernel);
    if (need_kernel && have_kernel && *have_kernel < *need_kernel)
      add_finding(Severity::kError, "kernel-too-old", real,
                  "this host's C library (glibc " + p.host_glibc + ") needs Linux " + p.glibc_kernel + "; " +
                      target_->who() + " runs " + target_->kernel,
                  "build the environment on an older system instead of carrying this C library");
  }

  void missing(const ElfEntry& e, const std::string& lib, const std::vector<Place>& places) {
    std::string where;
    for (const Place& p : places) where += (where.empty() ? "" : ", ") + (p.inside ? "env/" + p.dir : p.dir);
    std::string msg = e.display + " needs " + lib + ", which is nowhere: not on its " +
                      (e.info.runpath ? "RUNPATH" : e.info.rpath ? "RPATH" : "search path") +
                      (where.empty() ? "" : " (" + where + ")") + ", not in the environment or the wheels, not on this host";
    auto it = by_name_.find(lib);
    if (it != by_name_.end())
      msg = e.display + " needs " + lib + "; the bundle has it at " + it->second.front() +
            ", but nothing on the loader's search path for this file points there" +
            (where.empty() ? "" : " (searched: " + where + ")");
    std::string hint = e.from_wheel
                           ? "use a wheel built for distribution (auditwheel repair copies such libraries into "
                             "NAME.libs/ inside the wheel), or add the wheel that provides " + lib
                           : "install what provides " + lib + " into the environment, or remove " + e.rel;
    add_finding(Severity::kError, "library-not-found", e.display, msg, hint);
  }

  void report() {
    for (const auto& [lib, h] : host_libs_) {
      add_finding(Severity::kWarning, "host-library", h.first,
                  lib + " is taken from this host (" + h.first + ") by " + users_text(h.second),
                  "these libraries are outside the environment and not in the manylinux2014 baseline, so the "
                  "secure node may lack them: name the node with --target (a preset, glibc-X.Y, or the file "
                  "'unpacker probe' writes there) to know, and --portable to carry them");
    }
    for (const auto& [entry, files] : outside_runpaths_) {
      std::string users = users_text(files);
      add_finding(Severity::kWarning, "absolute-runpath", users,
                  users + " searches " + entry + ", a directory outside the environment that the secure node may not have",
                  "libraries found there on this host may be missing or different on the secure node");
    }
    for (const auto& [lib, n] : not_on_target_) {
      std::string users = users_text(n.users);
      if (n.present) {
        std::string versions;
        for (const std::string& v : n.missing) versions += (versions.empty() ? "" : ", ") + v;
        add_finding(Severity::kError, "library-too-old-on-target", lib,
                    users + (n.users.size() > 1 ? " need " : " needs ") + versions + " from " + lib + ", which " + target_->label() + " lacks",
                    carry_hint(lib, n.host));
      } else {
        add_finding(Severity::kError, "library-not-on-target", lib,
                    users + (n.users.size() > 1 ? " need " : " needs ") + lib + ", which is neither in the environment nor on " + target_->label() +
                        (n.host.empty() ? " (nor on this host)" : " (this host has it: " + n.host + ")"),
                    carry_hint(lib, n.host));
      }
    }
    for (const PortablePlan::Lib& l : res_.portable.libs)
      add_finding(Severity::kInfo, "carried-library", l.host_path,
                  l.soname + " is carried from " + l.host_path + " for " + users_text(l.users), "");
    const PortablePlan& p = res_.portable;
    if (p.carry_glibc)
      add_finding(Severity::kInfo, "carried-glibc", p.glibc_dir,
                  "this host's C library (glibc " + p.host_glibc + ", from " + p.glibc_dir + ") is carried: " +
                      target_->who() + " has " + target_->glibc.str() + " and " + needs_glibc_by_ + " needs GLIBC_" +
                      needs_glibc_->str() + "; the environment's own programs use it, the node's are untouched",
                  "");
  }

  std::string carry_hint(const std::string& lib, const std::string& host) const {
    if (is_driver_library(lib))
      return lib + " belongs to the node's graphics or accelerator driver and is never carried: the node must "
                   "provide it";
    if (host.empty()) return "add what provides " + lib + " to the environment, or install it on the node";
    if (in_.portable) return "";
    return "pack with --portable to carry it from this host; 'unpacker probe' on the node lists what it has";
  }

  struct NotOnTarget {
    std::string host;
    bool present = false;
    std::vector<std::string> users, missing;
  };

  const DoctorInput& in_;
  const Target* target_;
  std::string env_;
  std::vector<std::string> host_dirs_;
  std::vector<ElfEntry> entries_;
  // The wheels' ELF members, read before the environment, listed after it.
  std::vector<ElfEntry> wheel_entries_;
  std::vector<std::pair<std::string, std::string>> wheel_names_;  // rel, display
  std::vector<Finding> wheel_findings_;
  std::map<std::string, std::string> host_found_;  // soname -> path in host_dirs_ ("" = none)
  std::set<std::string> present_;
  std::map<std::string, std::vector<std::string>> by_name_;
  std::set<std::string> preloaded_;
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> host_libs_;
  std::map<std::string, std::vector<std::string>> outside_runpaths_;
  std::optional<DotVersion> needs_glibc_;
  std::string needs_glibc_by_;
  std::vector<std::pair<std::string, DotVersion>> glibc_short_;  // file, the GLIBC_ version it needs
  std::map<std::string, PortablePlan::Lib> carried_;
  std::vector<std::string> carry_queue_;
  std::set<std::string> reach_;
  std::map<std::string, NotOnTarget> not_on_target_;
  DoctorResult res_;
};

}  // namespace

DoctorResult run_doctor(const DoctorInput& in) { return Doctor(in).run(); }

}  // namespace airlock::packer
