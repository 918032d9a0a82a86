#include "packer/checks/rehearsal.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/io.h"
#include "packer/stream/environment.h"

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

bool has_target(const RehearsalInput& in) { return !in.pip_target_args.empty(); }

// What a wheel must be built for: "cp312/linux_x86_64", or with a target
// "cp312 on rhel8 (glibc 2.28)".
std::string wanted(const RehearsalInput& in) {
  return has_target(in) ? in.python_tag + " on " + in.target_label : in.python_tag + "/" + in.platform_tag;
}

std::string download_hint(const RehearsalInput& in, const std::string& req) {
  if (has_target(in)) {
    // The newest platform tag the target takes (the first --platform).
    std::string newest;
    for (size_t i = 0; i + 1 < in.pip_target_args.size() && newest.empty(); ++i)
      if (in.pip_target_args[i] == "--platform") newest = in.pip_target_args[i + 1];
    return "on a connected machine, fetch a wheel of '" + req + "' for " + wanted(in) +
           (newest.empty() ? "" : " (tagged " + newest + " or older)") +
           " into the wheelhouse: 'packer pack --download' with the same --target asks pip for exactly those";
  }
  return "on a connected machine, fetch a wheel for " + wanted(in) +
         " into the wheelhouse, e.g. with this environment's pip: " + in.interpreter +
         " -m pip download --only-binary :all: -d " + in.wheelhouse + " '" + req + "'";
}

// "a.whl (needs glibc 2.34), b.whl (is for cp311-cp311)": `files`, each
// with why pip refuses it for the target (refused_only: only those).
std::string files_with_reasons(const std::vector<std::string>& files, const RehearsalInput& in, bool refused_only,
                               std::string_view pip_version) {
  std::string s;
  for (const std::string& f : files) {
    std::string why = has_target(in) ? wheel_tag_mismatch(f, in.pip_target_args) : "";
    // Before 20.3 pip takes one platform tag (and no manylinux_2_Y at
    // all), here as on the node.
    if (why.empty() && has_target(in) && !pip_version.empty() && !pip_version_at_least(pip_version, 20, 3))
      why = "pip " + std::string(pip_version) +
            (f.find("manylinux_") != std::string::npos ? " knows no manylinux_2_Y tags"
                                                       : " takes only one platform tag") +
            "; pip 20.3 and later take it";
    if (refused_only && why.empty()) continue;
    s += (s.empty() ? "" : ", ") + f + (why.empty() ? "" : " (" + why + ")");
  }
  return s;
}

// One finding for a distribution pip could not find.
Finding missing_finding(const std::string& req_text, const std::string& from, const std::string& versions,
                        const RehearsalInput& in, const std::vector<RequirementLine>& reqs,
                        std::string_view pip_version) {
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
  bool no_version = versions.empty() || versions == "none";
  if (!have.empty()) {
    std::string files = files_with_reasons(have, in, false, pip_version);
    f.code = "incompatible-distribution";
    if (has_target(in) && no_version) {
      // pip was asked for the node's tags: say which system the wheels miss.
      f.message = "no wheel of " + req_text + " runs on " + in.target_label + ": the wheelhouse has " + files +
                  (requirer.empty() ? "" : "; required by " + requirer);
    } else {
      std::string refused = has_target(in) ? files_with_reasons(have, in, true, pip_version) : "";
      f.message = req_text + by + ": the wheelhouse has " + files + ", but " +
                  (no_version ? "no wheel pip accepts for this interpreter (" + in.python_tag + ", " + in.platform_tag + ")"
                              : "only versions " + versions + ", which do not satisfy '" + req_text + "'") +
                  (refused.empty() ? "" : "; on " + in.target_label + " pip cannot use " + refused);
    }
    f.hint = download_hint(in, req_text);
  } else if (!sdists.empty()) {
    f.code = "missing-distribution";
    f.message = req_text + by + ": the wheelhouse has only the source distribution " + sdists.front() +
                (!in.allow_sdist   ? ", and sdists are refused"
                 : has_target(in) ? ", and pip takes only wheels for another system (" + in.target_label + ")"
                                  : ", and pip could not use it offline");
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

std::vector<Finding> findings_from_pip_errors(const std::string& pip_output, const RehearsalInput& in,
                                             std::string_view pip_version) {
  std::vector<Finding> out;
  std::vector<RequirementLine> reqs = read_requirements(in.requirements);
  std::vector<std::string> ls = lines_of(pip_output);
  std::vector<std::string> errors;
  // pip 20 and later prefix it with "ERROR: "; older pips indent it.
  const std::string kNotFound = "Could not find a version that satisfies the requirement ";
  for (size_t i = 0; i < ls.size(); ++i) {
    const std::string& l = ls[i];
    if (l.rfind("ERROR: ", 0) == 0) errors.push_back(l.substr(7));
    std::string body = trim(l);
    if (body.rfind("ERROR: ", 0) == 0) body = body.substr(7);
    if (body.rfind(kNotFound, 0) == 0) {
      // "REQ (from X) (from versions: V)"; X may itself hold parentheses
      // ("-r req.txt (line 2)"), so cut from the right.
      std::string rest = body.substr(kNotFound.size()), versions, from;
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
      out.push_back(missing_finding(trim(rest), from, versions, in, reqs, pip_version));
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
                        : "replace it with a wheel for " + wanted(in) +
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

  // The node's tags, as this pip can be asked for them.
  std::vector<std::string> target_args;
  if (has_target(in)) {
    if (pip_version_at_least(res.pip_version, 18, 1)) {
      target_args = pip_target_args_for(in.pip_target_args, res.pip_version);
    } else {
      res.findings.push_back(
          {Severity::kWarning, "rehearsal-not-for-target", in.interpreter,
           "pip " + res.pip_version + " takes no --platform or --abi for an install, so the rehearsal judged the "
               "wheels for this host, not for " + in.target_label,
           "pip 18.1 or later in the environment rehearses for the target: " + in.interpreter +
               " -m pip install 'pip>=18.1' (the node installs with the environment's own pip)"});
    }
  }

  std::vector<std::string> args = {"install", "--no-index", "--find-links", in.wheelhouse, "--ignore-installed",
                                   "--no-cache-dir"};
  if (!in.allow_sdist) {
    args.push_back("--only-binary");
    args.push_back(":all:");
  }
  args.insert(args.end(), target_args.begin(), target_args.end());
  std::string report = scratch.str() + "/report.json";
  if (pip_version_at_least(res.pip_version, 22, 2)) {
    res.method = "dry-run-report";
    args.insert(args.end(), {"--dry-run", "--report", report});
    // Before 23.3 pip refuses --platform and the like unless --target names
    // a directory; a dry run writes nothing to it.
    if (!target_args.empty() && !pip_version_at_least(res.pip_version, 23, 3))
      args.insert(args.end(), {"--target", scratch.str() + "/target"});
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
    // Worded for the tags pip was given: the target's, or this host's when this pip takes none.
    RehearsalInput asked = in;
    if (target_args.empty()) asked.pip_target_args.clear();
    for (Finding& f : findings_from_pip_errors(r.out + "\n" + r.err, asked, res.pip_version))
      res.findings.push_back(std::move(f));
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
