#include "packer/checks/pack_checks.h"

#include <filesystem>
#include <iostream>

#include "common/cli.h"
#include "packer/pack.h"
#include "packer/handling/sbom.h"

namespace airlock::packer {

nlohmann::json CheckSummary::to_json() const {
  nlohmann::json j = report_json(report);
  j["ran"] = ran;
  return j;
}

std::string CheckSummary::label_value() const {
  if (!ran) return "skipped (--no-check)";
  size_t w = report.count(Severity::kWarning);
  return std::string(report.ok() ? "passed" : "failed") + ", " + std::to_string(w) + (w == 1 ? " warning" : " warnings");
}

CheckSummary run_pack_checks(const Environment& env, const WheelSource& wheels, const PackOptions& o) {
  CheckOptions co;
  co.env_dir = o.env_dir;
  co.environment = &env;
  co.requirements = wheels.dir.empty() ? "" : o.requirements;
  co.wheelhouse = wheels.dir;
  co.allow_sdist = o.allow_sdist;
  co.rehearse = !o.no_check && !wheels.dir.empty();
  co.doctor = !o.no_check || o.portable;  // --portable is planned by the doctor
  co.target = o.target;
  co.portable = o.portable;
  CheckSummary s;
  s.ran = !o.no_check;
  note(o.no_check ? "checks skipped (--no-check)" : "checking: offline install rehearsal and shared libraries",
       o.output);
  s.report = run_checks(co);
  if (!s.ran) return s;
  if (!s.report.ok()) {
    std::cerr << format_report(s.report);
    size_t n = s.report.count(Severity::kError);
    throw Error(Exit::kVerify,
                "the checks found " + std::to_string(n) + (n == 1 ? " error" : " errors") +
                    "; no bundle was written (a bundle that fails on the secure node costs a courier trip)",
                "fix what is listed above and pack again; 'packer check' repeats the checks alone; "
                "--no-check seals anyway and says so in the label");
  }
  for (const Finding& f : s.report.findings)
    if (f.severity == Severity::kWarning && !o.output.quiet)
      warn(f.message);
  return s;
}

std::string make_pack_sbom(const CheckSummary& check, const bundle::Manifest& m, const PackOptions& o,
                           const std::vector<SbomCarried>& carried) {
  SbomInput in;
  in.env_dir = check.report.environment.prefix;
  in.python_version = check.report.environment.python.version;
  in.python_implementation = check.report.environment.python.implementation;
  in.wheels = check.report.wheels;
  in.bundle_id = m.bundle_id;
  in.bundle_name = std::filesystem::path(o.out).filename().string();
  in.timestamp = m.created;
  in.carried = carried;
  return make_sbom(in);
}

}  // namespace airlock::packer
