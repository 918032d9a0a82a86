#include "packer/target/portable.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "common/elf/elf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/io.h"
#include "packer/stream/relocate.h"
#include "packer/target/target.h"

namespace fs = std::filesystem;

namespace airlock::packer {

namespace {

constexpr const char* kLoader = "ld-linux-x86-64.so.2";

// Carried with the C library: what its programs load at start (preloaded)
// and what glibc itself loads by name (the NSS modules for files and dns).
constexpr const char* kPreload[] = {"libc.so.6",  "libm.so.6",    "libmvec.so.1",   "libpthread.so.0",
                                    "libdl.so.2", "librt.so.1",   "libutil.so.1",   "libresolv.so.2",
                                    "libanl.so.1", "libnsl.so.1"};
constexpr const char* kAlsoCarried[] = {"libnss_files.so.2", "libnss_dns.so.2", "libnss_compat.so.2",
                                        "libBrokenLocale.so.1"};

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t colon = p.find(':', start);
    std::string dir = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) {
      std::string cand = dir + "/" + name;
      if (::access(cand.c_str(), X_OK) == 0) return cand;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

void patchelf(const std::vector<std::string>& args, const std::string& file) {
  static const std::string tool = find_on_path("patchelf");
  std::vector<std::string> argv{tool};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(file);
  ProcessResult r = run_process(argv, 60'000);
  if (r.exit_code != 0)
    throw Error(Exit::kUsage, "patchelf failed on " + file + " (exit " + std::to_string(r.exit_code) + "): " + r.err,
                "--portable edits copies of the environment's ELF files with patchelf");
}

void copy_file(const std::string& from, const std::string& to, mode_t mode) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw_errno("cannot copy " + from + " to", to, ec.value());
  if (::chmod(to.c_str(), mode) != 0) throw_errno("cannot chmod", to);
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : sep) + p;
  return s;
}

// $ORIGIN-relative path from environment file `rel` to environment dir `dir`.
std::string origin_to(const std::string& rel, const std::string& dir) {
  std::string r = fs::path(dir).lexically_relative(fs::path(rel).parent_path()).string();
  return r == "." ? "$ORIGIN" : "$ORIGIN/" + r;
}

// The search path of an environment file after relocation, plus `extra`.
std::string search_path_with(const elf::DynamicInfo& info, const std::string& rel,
                             const std::vector<std::string>& prefixes, const std::vector<std::string>& extra) {
  std::vector<std::string> parts;
  const auto& sp = info.runpath ? info.runpath : info.rpath;
  if (sp) {
    std::string relocated = relocate_search_path(sp->value, rel, prefixes);
    size_t start = 0;
    while (start <= relocated.size()) {
      size_t colon = relocated.find(':', start);
      std::string part = relocated.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!part.empty() && std::find(parts.begin(), parts.end(), part) == parts.end()) parts.push_back(part);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  for (const auto& e : extra)
    if (std::find(parts.begin(), parts.end(), e) == parts.end()) parts.push_back(e);
  return join(parts, ":");
}

// The Debian package (and its version) that ships each path, where dpkg
// knows: one dpkg-query for all of them. Paths are tried as given and,
// for a merged /usr, without the leading /usr.
void find_packages(std::vector<CarriedFile>& files) {
  std::string dpkg = find_on_path("dpkg-query");
  if (dpkg.empty() || files.empty()) return;
  std::vector<std::string> argv{dpkg, "-S"};
  for (const auto& f : files) {
    argv.push_back(f.host_path);
    if (f.host_path.rfind("/usr/", 0) == 0) argv.push_back(f.host_path.substr(4));
  }
  ProcessResult r = run_process(argv, 60'000);  // exit 1 when some path is unknown: the rest still counts
  std::map<std::string, std::string> owner;     // path -> "pkg:arch"
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    size_t sep = line.find(": /");
    if (sep == std::string::npos) continue;
    std::string pkg = line.substr(0, sep);
    if (pkg.find(',') != std::string::npos || pkg.find(' ') != std::string::npos) continue;  // diversions
    owner[line.substr(sep + 2)] = pkg;
  }
  std::set<std::string> pkgs;
  for (auto& f : files) {
    auto it = owner.find(f.host_path);
    if (it == owner.end() && f.host_path.rfind("/usr/", 0) == 0) it = owner.find(f.host_path.substr(4));
    if (it != owner.end()) {
      f.package = it->second;
      pkgs.insert(f.package);
    }
  }
  if (pkgs.empty()) return;
  std::vector<std::string> q{dpkg, "-W", "-f=${binary:Package} ${Version}\\n"};
  q.insert(q.end(), pkgs.begin(), pkgs.end());
  ProcessResult v = run_process(q, 60'000);
  std::map<std::string, std::string> version;
  std::istringstream vin(v.out);
  for (std::string line; std::getline(vin, line);) {
    size_t sp = line.find(' ');
    if (sp != std::string::npos) version[line.substr(0, sp)] = line.substr(sp + 1);
  }
  for (auto& f : files) {
    if (f.package.empty()) continue;
    auto it = version.find(f.package);
    if (it == version.end()) {  // dpkg -W names packages of the native arch without ":arch"
      std::string bare = f.package.substr(0, f.package.find(':'));
      it = version.find(bare);
    }
    if (it != version.end()) f.version = it->second;
  }
}

}  // namespace

std::string interp_placeholder() {
  std::string head = "/airlock-runtime-not-placed-run-unpacker-unpack";
  std::string tail = std::string("/") + kLoader;
  return head + std::string(kInterpRoom - 1 - head.size() - tail.size(), '/') + tail;
}

void require_patchelf() {
  if (find_on_path("patchelf").empty())
    throw Error(Exit::kUsage, "--portable needs patchelf on PATH to edit copies of the environment's ELF files",
                "install Debian's patchelf package (apt-get install patchelf)");
}

PortableBuild build_portable(const PortablePlan& plan, const Environment& env, const std::string& target_label) {
  PortableBuild b;
  b.record["target"] = target_label;
  if (plan.empty()) return b;
  b.tmp = std::make_unique<TempTree>("portable");
  const std::string root = b.tmp->path() + "/runtime";
  const std::string patched = b.tmp->path() + "/patched";
  for (const std::string& d : {root, patched}) fs::create_directories(d);
  const std::string rt = std::string(kRuntimeDir);
  const std::string lib_rel = rt + "/lib", glibc_rel = rt + "/glibc";

  // Host libraries: copied, each told to look beside itself first.
  if (!plan.libs.empty()) fs::create_directories(root + "/lib");
  for (const auto& l : plan.libs) {
    std::string to = root + "/lib/" + l.soname;
    copy_file(l.host_path, to, 0755);
    patchelf({"--set-rpath", "$ORIGIN"}, to);
    b.carried.push_back({"env/" + lib_rel + "/" + l.soname, l.soname, l.host_path, "library", "", 0, "", ""});
  }
  // The C library runtime, from the directory of this host's libc.so.6.
  std::vector<std::string> preload;
  if (plan.carry_glibc) {
    fs::create_directories(root + "/glibc");
    auto carry_glibc_file = [&](const std::string& name, bool required) {
      std::string from = plan.glibc_dir + "/" + name;
      std::error_code ec;
      std::string real = fs::canonical(from, ec).string();
      if (real.empty()) {
        if (required) throw Error(Exit::kUsage, from + ": not found; the C library cannot be carried without it");
        return false;
      }
      copy_file(real, root + "/glibc/" + name, 0755);
      b.carried.push_back({"env/" + glibc_rel + "/" + name, name, real, "glibc", "", 0, "", ""});
      return true;
    };
    carry_glibc_file(kLoader, true);
    for (const char* n : kPreload)
      if (carry_glibc_file(n, std::string(n) == "libc.so.6")) preload.push_back(n);
    for (const char* n : kAlsoCarried) carry_glibc_file(n, false);
  }

  // Patched copies of the environment's own files.
  std::set<std::string> done;
  int n = 0;
  auto replace = [&](const std::string& rel, const std::function<void(const std::string&, const elf::DynamicInfo&)>& edit) {
    if (!done.insert(rel).second) return;
    std::string orig = env.prefix + "/" + rel;
    struct stat st {};
    if (::stat(orig.c_str(), &st) != 0) throw_errno("cannot stat", orig);
    elf::DynamicInfo info = elf::read_dynamic_file(orig);
    std::string copy = patched + "/" + std::to_string(n++);
    copy_file(orig, copy, st.st_mode & 0777);
    edit(copy, info);
    struct stat cst {};
    if (::stat(copy.c_str(), &cst) != 0) throw_errno("cannot stat", copy);
    b.replacements[{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)}] =
        {copy, static_cast<uint64_t>(cst.st_size), rel};
  };
  nlohmann::json interp = nlohmann::json::array(), edited = nlohmann::json::array();
  bool grafted = !plan.libs.empty();
  for (const std::string& rel : plan.executables) {
    if (!plan.carry_glibc && !grafted) break;
    replace(rel, [&](const std::string& copy, const elf::DynamicInfo& info) {
      std::vector<std::string> extra;
      if (plan.carry_glibc) extra.push_back(origin_to(rel, glibc_rel));
      if (grafted) extra.push_back(origin_to(rel, lib_rel));
      // One edit per run: patchelf 0.14 mixes up the string table when
      // --add-needed and --set-rpath come in one invocation.
      if (plan.carry_glibc) {
        patchelf({"--set-interpreter", interp_placeholder()}, copy);
        std::vector<std::string> add;  // patchelf orders them itself
        for (const std::string& lib : preload)
          if (std::find(info.needed.begin(), info.needed.end(), lib) == info.needed.end()) {
            add.push_back("--add-needed");
            add.push_back(lib);
          }
        if (!add.empty()) patchelf(add, copy);
      }
      patchelf({"--force-rpath", "--set-rpath", search_path_with(info, rel, env.prefix_strings, extra)}, copy);
    });
    if (plan.carry_glibc) interp.push_back("env/" + rel);
    edited.push_back({{"path", "env/" + rel},
                      {"edits", plan.carry_glibc ? "interpreter, rpath, preloaded C library" : "rpath"}});
  }
  for (const std::string& rel : plan.reach) {
    if (done.count(rel)) continue;
    replace(rel, [&](const std::string& copy, const elf::DynamicInfo& info) {
      patchelf({"--set-rpath", search_path_with(info, rel, env.prefix_strings, {origin_to(rel, lib_rel)})}, copy);
    });
    edited.push_back({{"path", "env/" + rel}, {"edits", "runpath"}});
  }

  // Hashes and where each carried file came from, for the manifest and the SBOM.
  find_packages(b.carried);
  nlohmann::json carried = nlohmann::json::array();
  for (auto& f : b.carried) {
    std::string local = root + "/" + f.path.substr(std::string("env/" + rt + "/").size());
    f.sha256 = sha256_file_hex(local);
    f.size = fs::file_size(local);
    b.carried_bytes += f.size;
    carried.push_back({{"path", f.path}, {"soname", f.soname}, {"kind", f.kind}, {"host_path", f.host_path},
                       {"sha256", f.sha256}, {"size", f.size}, {"package", f.package}, {"version", f.version}});
  }
  b.runtime_dir = root;
  b.record["dir"] = "env/" + rt;
  b.record["carried"] = carried;
  b.record["patched"] = edited;
  if (plan.carry_glibc) {
    b.record["carries_glibc"] = plan.host_glibc;
    b.record["glibc_kernel"] = plan.glibc_kernel;
    b.record["loader"] = "env/" + glibc_rel + "/" + kLoader;
    b.record["interp_placeholder"] = interp_placeholder();
    b.record["interp"] = interp;
  }
  return b;
}

}  // namespace airlock::packer
