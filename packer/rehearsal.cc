#include "packer/rehearsal.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/io.h"
#include "packer/environment.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace airlock::packer {

namespace {

// A scratch directory (pip's report, HOME, TMPDIR, --target), removed at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "airlock-check-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw_errno("cannot create a temporary directory", tmpl);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Requirement lines of a requirements file: name (normalised) -> "FILE, line N".
struct RequirementLine {
  std::string name, text, where;
  bool has_marker = false;
};
std::vector<RequirementLine> read_requirements(const std::string& path) {
  std::vector<RequirementLine> out;
  if (path.empty()) return out;
  std::vector<std::string> ls = lines_of(read_file(path));
  for (size_t i = 0; i < ls.size(); ++i) {
    std::string l = ls[i];
    size_t hash = l.find(" #");
    if (hash != std::string::npos) l = l.substr(0, hash);
    l = trim(l);
    if (l.empty() || l[0] == '#' || l[0] == '-') continue;  // comments and options (--hash on the same line is cut below)
    size_t opt = l.find(" --");
    if (opt != std::string::npos) l = trim(l.substr(0, opt));
    Requirement r = parse_requirement(l);
    if (r.name.empty()) continue;
    out.push_back({normalize_name(r.name), l, fs::path(path).filename().string() + ", line " + std::to_string(i + 1),
                   !r.marker.empty()});
  }
  return out;
}

// Who asks for `name`: wheels whose Requires-Dist names it, else the requirements file.
std::string requirers_of(const std::string& name, const RehearsalInput& in, const std::vector<RequirementLine>& reqs) {
  std::vector<std::string> who;
  for (const RequirementLine& r : reqs)
    if (r.name == name) who.push_back("the requirements file (" + r.where + ")");
  for (const WheelInfo& w : in.wheels)
    for (const std::string& rd : w.metadata.requires_dist) {
      Requirement r = parse_requirement(rd);
      if (!r.only_for_extra() && normalize_name(r.name) == name)
        who.push_back(w.metadata.name + " " + w.metadata.version + " (Requires-Dist: " + rd + ")");
    }
  std::string s;
  for (size_t i = 0; i < who.size(); ++i) s += (i ? ", " : "") + who[i];
  return s;
}

std::string download_hint(const RehearsalInput& in, const std::string& req) {
  return "on a connected machine, fetch a wheel for " + in.python_tag + "/" + in.platform_tag +
         " into the wheelhouse, e.g. with this environment's pip: " + in.interpreter +
         " -m pip download --only-binary :all: -d " + in.wheelhouse + " '" + req + "'";
}

// One finding for a distribution pip could not find.
Finding missing_finding(const std::string& req_text, const std::string& from, const std::string& versions,
                        const RehearsalInput& in, const std::vector<RequirementLine>& reqs) {
  Requirement req = parse_requirement(req_text);
  std::string name = normalize_name(req.name);
  std::string requirer = from;
  if (requirer.rfind("-r ", 0) == 0) requirer = "the requirements file (" + requirer.substr(3) + ")";
  if (requirer.empty()) requirer = requirers_of(name, in, reqs);
  std::string by = requirer.empty() ? "" : ", required by " + requirer;
  std::vector<std::string> have;
  for (const WheelInfo& w : in.wheels)
    if (normalize_name(w.metadata.name) == name) have.push_back(w.filename);
  std::vector<std::string> sdists;
  for (const std::string& s : in.sdists)
    if (dist_name_from_filename(fs::path(s).filename().string()) == name) sdists.push_back(fs::path(s).filename().string());

  Finding f;
  f.severity = Severity::kError;
  f.path = req.name;
  if (!have.empty()) {
    std::string files;
    for (size_t i = 0; i < have.size(); ++i) files += (i ? ", " : "") + have[i];
    f.code = "incompatible-distribution";
    f.message = req_text + by + ": the wheelhouse has " + files + ", but " +
                (versions.empty() || versions == "none"
                     ? "no wheel pip accepts for this interpreter (" + in.python_tag + ", " + in.platform_tag + ")"
                     : "only versions " + versions + ", which do not satisfy '" + req_text + "'");
    f.hint = download_hint(in, req_text);
  } else if (!sdists.empty()) {
    f.code = "missing-distribution";
    f.message = req_text + by + ": the wheelhouse has only the source distribution " + sdists.front() +
                (in.allow_sdist ? ", and pip could not use it offline" : ", and sdists are refused");
    f.hint = "put a wheel in its place (" + download_hint(in, req_text) + "), or build one: " + in.interpreter +
             " -m pip wheel --no-deps -w " + in.wheelhouse + " " + sdists.front();
  } else {
    f.code = "missing-distribution";
    f.message = req_text + by + ": not in the wheelhouse";
    f.hint = download_hint(in, req_text);
  }
  return f;
}

std::string pip_version_of(const std::string& out) {
  // "pip 23.2.1 from /x/site-packages/pip (python 3.12)"
  std::istringstream s(out);
  std::string word, v;
  s >> word >> v;
  return word == "pip" ? v : "";
}

bool version_at_least(const std::string& v, int major, int minor) {
  int a = 0, b = 0;
  if (std::sscanf(v.c_str(), "%d.%d", &a, &b) < 1) return false;
  return a > major || (a == major && b >= minor);
}

std::string basename_of_url(const std::string& url) {
  std::string b = url.substr(url.find_last_of('/') + 1);
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] == '%' && i + 2 < b.size()) {
      out += static_cast<char>(std::stoi(b.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += b[i];
    }
  }
  return out;
}

}  // namespace

std::vector<Finding> findings_from_pip_errors(const std::string& pip_output, const RehearsalInput& in) {
  std::vector<Finding> out;
  std::vector<RequirementLine> reqs = read_requirements(in.requirements);
  std::vector<std::string> ls = lines_of(pip_output);
  std::vector<std::string> errors;
  const std::string kNotFound = "ERROR: Could not find a version that satisfies the requirement ";
  for (size_t i = 0; i < ls.size(); ++i) {
    const std::string& l = ls[i];
    if (l.rfind("ERROR: ", 0) == 0) errors.push_back(l.substr(7));
    if (l.rfind(kNotFound, 0) == 0) {
      // "REQ (from X) (from versions: V)"; X may itself hold parentheses
      // ("-r req.txt (line 2)"), so cut from the right.
      std::string rest = l.substr(kNotFound.size()), versions, from;
      size_t fv = rest.rfind(" (from versions: ");
      if (fv != std::string::npos) {
        versions = rest.substr(fv + 17);
        if (!versions.empty() && versions.back() == ')') versions.pop_back();
        rest = rest.substr(0, fv);
      }
      size_t ff = rest.find(" (from ");
      if (ff != std::string::npos) {
        from = rest.substr(ff + 7);
        if (!from.empty() && from.back() == ')') from.pop_back();
        rest = rest.substr(0, ff);
      }
      out.push_back(missing_finding(trim(rest), from, versions, in, reqs));
    } else if (l.rfind("ERROR: ", 0) == 0 && l.find("conflicting dependencies") != std::string::npos) {
      // pip prints "The conflict is caused by:" and its lines on stdout,
      // which the caller passes before stderr.
      std::string detail;
      size_t start = i + 1;
      for (size_t j = 0; j < ls.size(); ++j)
        if (ls[j].find("The conflict is caused by:") != std::string::npos) start = j + 1;
      for (size_t j = start; j < ls.size() && j < start + 12; ++j) {
        std::string t = trim(ls[j]);
        if (t.empty() || t.rfind("To fix", 0) == 0) break;
        detail += (detail.empty() ? "" : "; ") + t;
      }
      out.push_back({Severity::kError, "dependency-conflict", "",
                     "the wheelhouse's versions conflict: " + l.substr(l.rfind("ERROR: ", 0) == 0 ? 7 : 0) +
                         (detail.empty() ? "" : " " + detail),
                     "loosen the conflicting pins or add wheels of versions that satisfy all of them"});
    }
  }
  if (out.empty()) {
    std::string all;
    for (const std::string& e : errors)
      if (e.rfind("No matching distribution", 0) != 0) all += (all.empty() ? "" : " / ") + e;
    if (all.empty()) {
      std::string tail = pip_output.size() > 800 ? pip_output.substr(pip_output.size() - 800) : pip_output;
      all = trim(tail);
    }
    out.push_back({Severity::kError, "rehearsal-failed", "", "the offline install rehearsal failed: " + all,
                   "run the same pip command by hand to see the whole output (packer check --json shows it)"});
  }
  return out;
}

RehearsalResult rehearse_install(const RehearsalInput& in) {
  RehearsalResult res;
  // Sdists: decided before pip runs, from the file names alone.
  for (const std::string& s : in.sdists) {
    std::string fn = fs::path(s).filename().string();
    // Security: an sdist runs its build code (setup.py) at install time and
    // needs a compiler and build tools on the secure node; refuse by default.
    res.findings.push_back(
        {in.allow_sdist ? Severity::kWarning : Severity::kError, "sdist", fn,
         fn + " is a source distribution: installing it on the secure node runs its build code and needs a "
              "compiler, build tools and its build dependencies there",
         in.allow_sdist ? "make sure the secure node has a compiler and the build dependencies are in the wheelhouse"
                        : "replace it with a wheel for " + in.python_tag + "/" + in.platform_tag +
                              " (e.g. " + in.interpreter + " -m pip wheel --no-deps -w " + in.wheelhouse + " " + fn +
                              "), or pass --allow-sdist to accept it"});
  }
  if (in.wheelhouse.empty()) return res;
  if (in.requirements.empty() && in.wheels.empty() && in.sdists.empty()) return res;

  ScratchDir scratch;
  // Isolation: a cleared environment, no pip configuration, no user site,
  // no proxies, no cache: only the wheelhouse can satisfy the requirements.
  std::vector<std::string> base = {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=" + scratch.str(),
                                   "TMPDIR=" + scratch.str(), "LANG=C.UTF-8", "PIP_CONFIG_FILE=/dev/null",
                                   "PYTHONNOUSERSITE=1", "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
                                   in.interpreter, "-B", "-m", "pip"};
  auto pip = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, in.timeout_ms);
  };

  ProcessResult v = pip({"--version"});
  res.pip_version = pip_version_of(v.out);
  if (v.exit_code != 0 || res.pip_version.empty()) {
    res.findings.push_back({Severity::kError, "no-pip", in.interpreter,
                            "the environment has no working pip (" + trim(v.err.substr(0, 300)) +
                                "); the secure node installs the wheels with the environment's own pip",
                            "install pip into the environment: " + in.interpreter + " -m ensurepip"});
    return res;
  }
  res.ran = true;

  std::vector<std::string> args = {"install", "--no-index", "--find-links", in.wheelhouse, "--ignore-installed",
                                   "--no-cache-dir"};
  if (!in.allow_sdist) {
    args.push_back("--only-binary");
    args.push_back(":all:");
  }
  std::string report = scratch.str() + "/report.json";
  if (version_at_least(res.pip_version, 22, 2)) {
    res.method = "dry-run-report";
    args.insert(args.end(), {"--dry-run", "--report", report});
  } else {
    res.method = "target-install";
    args.insert(args.end(), {"--target", scratch.str() + "/target", "--no-compile"});
  }
  if (!in.requirements.empty()) {
    args.insert(args.end(), {"-r", fs::absolute(in.requirements).string()});
  } else {
    for (const WheelInfo& w : in.wheels) args.push_back(w.metadata.name + "==" + w.metadata.version);
  }
  ProcessResult r = pip(args);
  if (r.exit_code != 0) {
    for (Finding& f : findings_from_pip_errors(r.out + "\n" + r.err, in)) res.findings.push_back(std::move(f));
    return res;
  }

  if (res.method == "dry-run-report") {
    json j = json::parse(read_file(report), nullptr, false);
    if (j.is_object() && j.contains("install") && j["install"].is_array()) {
      for (const json& item : j["install"]) {
        Resolved d;
        d.name = item.value("/metadata/name"_json_pointer, "");
        d.version = item.value("/metadata/version"_json_pointer, "");
        d.requested = item.value("requested", false);
        std::string url = item.value("/download_info/url"_json_pointer, "");
        d.file = basename_of_url(url);
        std::string hash = item.value("/download_info/archive_info/hash"_json_pointer, "");
        if (hash.rfind("sha256=", 0) == 0) d.sha256 = hash.substr(7);
        res.resolved.push_back(std::move(d));
      }
    }
  } else {
    // "Successfully installed a-1.0 b-2.0"
    for (const std::string& l : lines_of(r.out)) {
      if (l.rfind("Successfully installed ", 0) != 0) continue;
      std::istringstream s(l.substr(23));
      for (std::string nv; s >> nv;) {
        size_t dash = nv.rfind('-');
        if (dash == std::string::npos) continue;
        res.resolved.push_back({nv.substr(0, dash), nv.substr(dash + 1), "", "", false});
      }
    }
  }

  // Wheels nobody asked for travel to the node anyway; say so.
  if (!in.requirements.empty()) {
    std::set<std::string> used;
    for (const Resolved& d : res.resolved) used.insert(normalize_name(d.name));
    for (const WheelInfo& w : in.wheels)
      if (!used.count(normalize_name(w.metadata.name)))
        res.findings.push_back({Severity::kInfo, "unused-wheel", w.filename,
                                w.filename + " is in the wheelhouse but the requirements do not need it",
                                "remove it to keep the bundle small, or add it to the requirements"});
  }
  return res;
}

}  // namespace airlock::packer
