// `packer check` as a library: the checks `packer pack` runs before it
// seals anything, so a bundle that would fail on the secure node is never
// written. Two checks:
//   - the offline install rehearsal (packer/checks/rehearsal.h): the environment's
//     own pip resolves the requirements against the wheelhouse alone;
//   - the shared-library doctor (packer/checks/doctor.h): every DT_NEEDED of every
//     ELF file in the environment and the wheels resolves after relocation.
// The result is a list of findings (error / warning / info), printed for
// people by format_report() and for scripts by report_json().
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "packer/checks/doctor.h"
#include "packer/stream/environment.h"
#include "packer/checks/finding.h"
#include "packer/checks/rehearsal.h"
#include "packer/checks/wheel.h"

namespace airlock::packer {

struct CheckOptions {
  std::string env_dir;       // required
  std::string requirements;  // "" = every wheel of the wheelhouse
  std::string wheelhouse;    // "" = no rehearsal, doctor on the environment only
  bool allow_sdist = false;
  bool rehearse = true;      // run the pip rehearsal
  bool doctor = true;        // run the shared-library doctor
  std::string target;        // --target: preset, glibc-X.Y or probe file ("" = none)
  bool portable = false;     // --portable: judge as if what the target lacks is carried
  std::vector<std::string> host_dirs;  // library dirs of the host; empty = ld.so.conf + defaults
  // env_dir as inspect_environment() already found it (the packer asked
  // first); null: the checks ask the interpreter themselves.
  const Environment* environment = nullptr;
  // `packer pack`: the environment's ELF files as its stream read them
  // (see DoctorInput::env_files), and word of the rehearsal's outcome as
  // soon as it is known (true: no errors), so a failing pack stops early.
  std::function<const EnvElfFiles*()> env_files;
  std::function<void(bool ok)> rehearsed;
};

struct CheckReport {
  Environment environment;          // what inspect_environment() found
  std::vector<WheelInfo> wheels;    // the wheelhouse's wheels, read (also what the SBOM lists)
  std::vector<std::string> sdists;  // sdist files in the wheelhouse
  RehearsalResult rehearsal;        // resolved distributions, pip version, method
  size_t elf_files = 0, needed = 0; // what the doctor examined
  std::optional<Target> target;     // --target, resolved
  bool portable = false;
  std::string needs_glibc;          // "2.35": highest GLIBC_ any file needs ("" = none versioned)
  std::string needs_glibc_by;       // a file that needs it
  PortablePlan portable_plan;       // what --portable carries
  // The label's needs-glibc: "none" when the C library is carried.
  std::string label_needs_glibc() const;
  std::vector<Finding> findings;    // errors first, then warnings, then info

  size_t count(Severity s) const;
  bool ok() const { return count(Severity::kError) == 0; }
};

// Runs the checks. Throws Error (exit 2) for unusable input (not a Python
// environment, unreadable wheelhouse or requirements file, unreadable
// wheel); everything about the bundle's chances is a finding.
CheckReport run_checks(const CheckOptions& opt);

// Person-readable summary: what was checked, findings grouped by severity
// and code with their hints, and a closing line with the counts.
std::string format_report(const CheckReport& r);
// Only the error findings, in the same form (for --quiet).
std::string format_errors(const CheckReport& r);
// For scripts (--json) and for the manifest's "check" record.
nlohmann::json report_json(const CheckReport& r);

}  // namespace airlock::packer
