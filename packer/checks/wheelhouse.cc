#include "packer/checks/wheelhouse.h"

#include <stdlib.h>

#include <filesystem>
#include <map>

#include "common/cli.h"
#include "common/error.h"
#include "common/io.h"
#include "packer/checks/wheel.h"
#include "packer/pack.h"
#include "packer/target/platform_tags.h"
#include "packer/target/target.h"

namespace airlock::packer {

namespace fs = std::filesystem;

TempTree::TempTree(const std::string& tag) {
  std::string tmpl = (fs::temp_directory_path() / ("airlock-" + tag + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw_errno("cannot create a temporary directory", tmpl);
  path_ = tmpl;
  register_cleanup(path_, true);
}

TempTree::~TempTree() {
  std::error_code ec;
  fs::remove_all(path_, ec);
  unregister_cleanup(path_);
}

static bool ends_with(const std::string& s, std::string_view suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

std::optional<WheelName> parse_distribution_filename(const std::string& f) {
  if (ends_with(f, ".whl")) {
    std::string stem = f.substr(0, f.size() - 4);
    std::vector<std::string> parts;
    size_t s = 0;
    for (size_t i = 0; i <= stem.size(); ++i)
      if (i == stem.size() || stem[i] == '-') {
        parts.push_back(stem.substr(s, i - s));
        s = i + 1;
      }
    if (parts.size() != 5 && parts.size() != 6) return std::nullopt;
    for (const auto& p : parts)
      if (p.empty()) return std::nullopt;
    return WheelName{parts[0], parts[1], false};
  }
  for (std::string_view ext : kSdistExtensions) {
    if (!ends_with(f, ext)) continue;
    std::string stem = f.substr(0, f.size() - ext.size());
    auto dash = stem.rfind('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == stem.size()) return std::nullopt;
    return WheelName{stem.substr(0, dash), stem.substr(dash + 1), true};
  }
  return std::nullopt;
}

void WheelSource::record_hash(const std::string& archive_path, const std::string& sha256,
                             std::vector<bundle::WheelEntry>& out) const {
  auto name = parse_distribution_filename(fs::path(archive_path).filename().string());
  if (!name) return;
  out.push_back({archive_path, name->name, name->version, sha256});
}

void check_target_download_options(const PackOptions& o) {
  if (o.target.empty() || !o.download) return;
  // pip_download_args holds "--option", "value" pairs and lone flags (--no-index).
  for (size_t i = 0; i < o.pip_download_args.size(); ++i) {
    const std::string& a = o.pip_download_args[i];
    if (is_target_pip_option(a))
      throw Error(Exit::kUsage,
                  "--target " + o.target + " and " + a + " both given: --target already sets pip download's " +
                      "--platform, --python-version, --implementation, --abi and --only-binary",
                  "leave out " + a + ": with --target pip is asked for wheels that run on the target, for this "
                  "environment's Python");
    if (a == "--index-url" || a == "--extra-index-url" || a == "--find-links") ++i;  // skip its value
  }
}

WheelSource prepare_wheelhouse(const Environment& env, const PackOptions& o) {
  check_target_download_options(o);  // before anything is read or run
  WheelSource w;
  if (!o.requirements.empty()) w.requirements_text = read_file(o.requirements);
  if (o.download && !o.wheelhouse.empty())
    throw Error(Exit::kUsage, "--download and --wheelhouse both given", "use one: --download fills a fresh wheelhouse with pip");
  if (o.download) {
    if (o.requirements.empty())
      throw Error(Exit::kUsage, "--download needs -r REQUIREMENTS", "list what to download in a requirements file");
    std::optional<Target> target;
    if (!o.target.empty()) target = resolve_target(o.target);
    std::string python = env.prefix + "/" + env.interpreter;
    w.tmp = std::make_unique<TempTree>("wheels");
    std::vector<std::string> argv = {python, "-B", "-m", "pip", "download", "--no-input",
                                     "--disable-pip-version-check", "-r", o.requirements, "-d", w.tmp->path()};
    argv.insert(argv.end(), o.pip_download_args.begin(), o.pip_download_args.end());
    if (target) {
      // Wheels for the node, not for this host: its platforms, this
      // environment's Python and ABI, as the environment's pip takes them.
      ProcessResult v = run_process({python, "-B", "-m", "pip", "--version"}, 60'000);
      std::string pip_version;
      if (v.exit_code == 0 && v.out.rfind("pip ", 0) == 0) pip_version = v.out.substr(4, v.out.find(' ', 4) - 4);
      std::vector<std::string> ta = pip_target_args_for(target_pip_args(*target, env.python), pip_version);
      argv.insert(argv.end(), ta.begin(), ta.end());
    }
    note(target ? "running pip download into a temporary wheelhouse, for " + target->label()
                : std::string("running pip download into a temporary wheelhouse"),
         o.output);
    ProcessResult pr = run_process(argv, 60 * 60 * 1000);
    if (pr.exit_code != 0) {
      std::string err = pr.err.size() > 4000 ? pr.err.substr(pr.err.size() - 4000) : pr.err;
      std::string hint = "check the requirements and the index options (--index-url, --find-links)";
      if (target) {
        std::vector<std::string> p = manylinux_platforms(*target);
        hint += "; with --target pip takes only wheels for " + env.python.interpreter_tag + " that run on " +
                target->label() + (p.empty() ? "" : " (" + p.front() + " or older)") + ", never sdists";
      }
      throw Error(Exit::kUsage, "pip download failed (exit " + std::to_string(pr.exit_code) + "):\n" + err, hint);
    }
    w.dir = w.tmp->path();
  } else if (!o.wheelhouse.empty()) {
    if (!fs::is_directory(o.wheelhouse))
      throw Error(Exit::kUsage, o.wheelhouse + ": --wheelhouse is not a directory");
    w.dir = o.wheelhouse;
  }
  return w;
}

void filter_wheelhouse_entries(std::vector<WalkEntry>& entries, WalkResult& counts, bool allow_sdist) {
  std::vector<WalkEntry> kept;
  kept.reserve(entries.size());
  for (auto& e : entries) {
    if (e.path.rfind("wheels/", 0) != 0 || e.type == EntryType::kDir) {
      kept.push_back(std::move(e));
      continue;
    }
    auto name = parse_distribution_filename(fs::path(e.path).filename().string());
    if (!name) {
      counts.warnings.push_back("wheelhouse: " + e.source() + " is not a wheel or sdist; left out");
      if (e.type == EntryType::kFile) {
        counts.bytes -= e.size;
        --counts.files;
      } else if (e.type == EntryType::kHardlink) {
        --counts.hardlinks;
      }
      continue;
    }
    if (name->sdist && !allow_sdist)
      throw Error(Exit::kUsage, "wheelhouse: " + e.source() + " is a source distribution: it needs a compiler on the secure node",
                  "build a wheel for it on this side, or pass --allow-sdist to carry it anyway");
    // Every distribution is stored as a file of its own, with its own
    // SHA-256 in the manifest's wheels and the lock: never as a hardlink
    // (to a file left out above, to another name of the same wheel, or to
    // a file of the environment, such as ensurepip's bundled pip).
    if (e.type == EntryType::kHardlink) {
      e.type = EntryType::kFile;
      e.set_link_target({});
      --counts.hardlinks;
      ++counts.files;
      counts.bytes += e.size;
    }
    kept.push_back(std::move(e));
  }
  entries = std::move(kept);
}

std::string requirements_lock(const std::vector<bundle::WheelEntry>& wheels) {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> by;
  for (const auto& w : wheels) by[{w.name, w.version}].push_back(w.sha256);
  std::string out = "# airlock: every distribution in wheels/, pinned by SHA-256\n";
  for (const auto& [nv, hashes] : by) {
    out += nv.first + "==" + nv.second;
    for (const auto& h : hashes) out += " --hash=sha256:" + h;
    out += "\n";
  }
  return out;
}

}  // namespace airlock::packer
