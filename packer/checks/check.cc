#include "packer/checks/check.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace airlock::packer {

const char* to_string(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "info";
  }
  return "?";
}

std::string CheckReport::label_needs_glibc() const {
  if (portable_plan.carry_glibc || needs_glibc.empty()) return "none";
  return needs_glibc;
}

size_t CheckReport::count(Severity s) const {
  return static_cast<size_t>(std::count_if(findings.begin(), findings.end(), [s](const Finding& f) { return f.severity == s; }));
}

CheckReport run_checks(const CheckOptions& opt) {
  CheckReport r;
  if (!opt.requirements.empty() && opt.wheelhouse.empty())
    throw Error(Exit::kUsage, "check: -r " + opt.requirements + " needs --wheelhouse DIR",
                "the rehearsal resolves the requirements against the wheelhouse alone, as the secure node will");
  if (!opt.requirements.empty() && !fs::is_regular_file(opt.requirements))
    throw_errno("cannot read requirements file", opt.requirements, ENOENT);
  if (opt.portable && opt.target.empty())
    throw Error(Exit::kUsage, "--portable needs --target: the bundle carries what the target lacks",
                "name the secure node with --target (a preset such as rhel8, glibc-X.Y, or the file "
                "'unpacker probe' wrote on the node); --target manylinux2014 assumes the least");
  if (!opt.target.empty()) r.target = resolve_target(opt.target);
  r.portable = opt.portable;
  r.environment = opt.environment ? *opt.environment : inspect_environment(opt.env_dir);
  const Environment& env = r.environment;
  std::string abs_interpreter = env.prefix + "/" + env.interpreter;
  std::string site_packages = "lib/" + fs::path(env.interpreter).filename().string() + "/site-packages";

  std::vector<std::string> wheel_paths;
  if (!opt.wheelhouse.empty()) {
    Wheelhouse h = list_wheelhouse(opt.wheelhouse);
    wheel_paths = h.wheels;
    r.sdists = h.sdists;
    for (const std::string& w : h.wheels) r.wheels.push_back(read_wheel(w));
  }

  if (opt.rehearse && !opt.wheelhouse.empty()) {
    RehearsalInput in;
    in.env_dir = env.prefix;
    in.interpreter = abs_interpreter;
    in.python_tag = env.python.interpreter_tag;
    in.platform_tag = env.python.platform_tag;
    in.requirements = opt.requirements;
    in.wheelhouse = fs::absolute(opt.wheelhouse).string();
    in.wheels = r.wheels;
    in.sdists = r.sdists;
    in.allow_sdist = opt.allow_sdist;
    if (!opt.target.empty()) {  // pip judges the wheels as the node's pip will
      Target t = resolve_target(opt.target);
      in.pip_target_args = target_pip_args(t, env.python);
      in.target_label = t.label();
    }
    r.rehearsal = rehearse_install(in);
    r.findings.insert(r.findings.end(), r.rehearsal.findings.begin(), r.rehearsal.findings.end());
  }
  if (opt.rehearsed) opt.rehearsed(r.ok());

  if (opt.doctor) {
    DoctorInput d;
    d.env_dir = env.prefix;
    d.prefix_strings = env.prefix_strings;
    d.interpreter = env.interpreter;
    d.site_packages = site_packages;
    d.wheels = wheel_paths;
    d.host_dirs = opt.host_dirs;
    d.target = r.target ? &*r.target : nullptr;
    d.portable = opt.portable;
    d.env_files = opt.env_files;
    DoctorResult dr = run_doctor(d);
    r.elf_files = dr.elf_files;
    r.needed = dr.needed;
    r.needs_glibc = dr.needs_glibc;
    r.needs_glibc_by = dr.needs_glibc_by;
    r.portable_plan = std::move(dr.portable);
    r.findings.insert(r.findings.end(), dr.findings.begin(), dr.findings.end());
  }

  std::stable_sort(r.findings.begin(), r.findings.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity < b.severity;
    return a.code < b.code;
  });
  return r;
}

namespace {

std::string plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

void format_section(std::ostringstream& o, const CheckReport& r, Severity s, const char* title) {
  std::map<std::string, std::vector<const Finding*>> by_code;
  std::vector<std::string> order;
  for (const Finding& f : r.findings) {
    if (f.severity != s) continue;
    if (!by_code.count(f.code)) order.push_back(f.code);
    by_code[f.code].push_back(&f);
  }
  if (order.empty()) return;
  o << "\n" << title << " (" << r.count(s) << ")\n";
  for (const std::string& code : order) {
    const auto& group = by_code[code];
    o << "  " << code << " (" << group.size() << ")\n";
    // A hint shared by the whole group is said once, after it.
    bool shared = group.size() > 1 && std::all_of(group.begin(), group.end(),
                                                  [&](const Finding* f) { return f->hint == group[0]->hint; });
    for (const Finding* f : group) {
      o << "    - " << f->message << "\n";
      if (!shared && !f->hint.empty()) o << "      hint: " << f->hint << "\n";
    }
    if (shared && !group[0]->hint.empty()) o << "    hint: " << group[0]->hint << "\n";
  }
}

}  // namespace

std::string format_errors(const CheckReport& r) {
  std::ostringstream o;
  format_section(o, r, Severity::kError, "ERRORS");
  return o.str();
}

std::string format_report(const CheckReport& r) {
  std::ostringstream o;
  const Environment& env = r.environment;
  o << "environment: " << env.prefix << " (" << to_string(env.kind) << ", Python " << env.python.version << ", "
    << env.python.interpreter_tag << "-" << env.python.abi_tag << "-" << env.python.platform_tag << ")\n";
  if (!r.wheels.empty() || !r.sdists.empty())
    o << "wheelhouse: " << plural(r.wheels.size(), "wheel") << ", " << plural(r.sdists.size(), "sdist") << "\n";
  const RehearsalResult& re = r.rehearsal;
  if (re.ran)
    o << "install rehearsal: pip " << re.pip_version << " ("
      << (re.method == "dry-run-report" ? "dry run" : "install into a throwaway directory")
      << ", --no-index, wheelhouse only): "
      << (re.resolved.empty() && r.count(Severity::kError) ? std::string("resolution failed")
                                                           : plural(re.resolved.size(), "distribution") + " would be installed")
      << "\n";
  else
    o << "install rehearsal: not run (no wheelhouse)\n";
  o << "shared libraries: " << plural(r.elf_files, "ELF file") << ", " << std::to_string(r.needed) + " needed librar" + (r.needed == 1 ? "y" : "ies")
    << " resolved\n";
  if (r.target) o << "target: " << r.target->label() << (r.portable ? ", --portable" : "") << "\n";
  if (r.portable_plan.carry_glibc)
    o << "C library: carried (glibc " << r.portable_plan.host_glibc << "); needs-glibc: none\n";
  else if (!r.needs_glibc.empty())
    o << "C library: runs where glibc >= " << r.needs_glibc << " (" << r.needs_glibc_by << " needs GLIBC_"
      << r.needs_glibc << ")\n";
  if (!r.portable_plan.libs.empty()) {
    o << "carried libraries: " << r.portable_plan.libs.size() << " (";
    for (size_t i = 0; i < r.portable_plan.libs.size(); ++i) o << (i ? ", " : "") << r.portable_plan.libs[i].soname;
    o << ")\n";
  }
  format_section(o, r, Severity::kError, "ERRORS");
  format_section(o, r, Severity::kWarning, "WARNINGS");
  format_section(o, r, Severity::kInfo, "NOTES");
  size_t e = r.count(Severity::kError), w = r.count(Severity::kWarning), n = r.count(Severity::kInfo);
  o << "\n" << plural(e, "error") << ", " << plural(w, "warning") << ", " << plural(n, "note") << ": "
    << (e ? "this bundle would fail on the secure node; fix the errors above"
          : w ? "no errors; read the warnings before the courier leaves"
              : "ready to pack")
    << "\n";
  return o.str();
}

json report_json(const CheckReport& r) {
  json findings = json::array();
  for (const Finding& f : r.findings)
    findings.push_back({{"severity", to_string(f.severity)}, {"code", f.code}, {"path", f.path},
                        {"message", f.message}, {"hint", f.hint}});
  json resolved = json::array();
  for (const Resolved& d : r.rehearsal.resolved)
    resolved.push_back({{"name", d.name}, {"version", d.version}, {"file", d.file}, {"sha256", d.sha256},
                        {"requested", d.requested}});
  const Environment& env = r.environment;
  return {{"ok", r.ok()},
          {"errors", r.count(Severity::kError)},
          {"warnings", r.count(Severity::kWarning)},
          {"notes", r.count(Severity::kInfo)},
          {"environment",
           {{"prefix", env.prefix}, {"kind", to_string(env.kind)}, {"interpreter", env.interpreter},
            {"python", {{"version", env.python.version}, {"tag", env.python.interpreter_tag},
                        {"abi", env.python.abi_tag}, {"platform", env.python.platform_tag}}}}},
          {"rehearsal",
           {{"ran", r.rehearsal.ran}, {"pip", r.rehearsal.pip_version}, {"method", r.rehearsal.method},
            {"resolved", resolved}}},
          {"doctor", {{"elf_files", r.elf_files}, {"needed", r.needed}}},
          {"target", r.target ? json(r.target->label()) : json(nullptr)},
          {"portable", r.portable},
          {"needs_glibc", r.label_needs_glibc()},
          {"needs_glibc_by", r.needs_glibc_by},
          {"carries_glibc", r.portable_plan.carry_glibc ? json(r.portable_plan.host_glibc) : json(nullptr)},
          {"carried_libraries", [&] {
             json a = json::array();
             for (const auto& l : r.portable_plan.libs) a.push_back({{"soname", l.soname}, {"host_path", l.host_path}});
             return a;
           }()},
          {"findings", findings}};
}

}  // namespace airlock::packer
