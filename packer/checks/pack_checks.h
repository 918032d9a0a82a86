// What `packer pack` runs from `packer check` before sealing, and the SBOM
// it puts in every payload.
#pragma once

#include <atomic>
#include <exception>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/bundle/manifest.h"
#include "packer/checks/check.h"
#include "packer/stream/environment.h"
#include "packer/handling/sbom.h"
#include "packer/checks/wheelhouse.h"
#include "packer/stream/read_ahead.h"
#include "packer/stream/walk.h"

namespace airlock::packer {

struct PackOptions;

struct CheckSummary {
  bool ran = false;  // false with --no-check
  CheckReport report;
  nlohmann::json to_json() const;
  std::string label_value() const;  // "passed, 2 warnings" / "skipped (--no-check)"
};

// Runs the checks of `packer check` (with --no-check only what the SBOM
// needs: the environment and the wheels are read, pip and the library
// doctor are not run). Errors stop the pack: no bundle is written. For
// --portable, whose plan the walk needs; otherwise see PackChecks.
CheckSummary run_pack_checks(const Environment& env, const WheelSource& wheels, const PackOptions& o);

// Gathers the environment's ELF files from the pack's stream for the
// library doctor (EnvElfFiles): fed every file as the reader finishes it
// and every hardlink entry, in walk order. A file is named by its first
// name that is not a symbolic link (libpython3.12.so.1.0, not the
// libpython3.12.so that leads to it), as the doctor's own walk names it.
class EnvElfCollector {
 public:
  void file(const WalkEntry& e, const FileResult& r);
  void hardlink(const WalkEntry& e);
  const EnvElfFiles& files() const { return files_; }

 private:
  EnvElfFiles files_;
  // Archive path of each file's first name -> its place in files_, and
  // whether the name it is listed under was a symbolic link.
  std::unordered_map<std::string, std::pair<size_t, bool>> index_;
};

// The same checks on a thread of their own, alongside the walk and the
// stream: the pip rehearsal and the wheels at once, and the library doctor
// on the environment's ELF files as the stream reads them (each file is
// read once, by the stream). The report is the one run_pack_checks gives.
class PackChecks {
 public:
  PackChecks(const Environment& env, const WheelSource& wheels, const PackOptions& o);  // starts them
  ~PackChecks();  // an abandoned pack: the doctor is told, the thread joined
  PackChecks(const PackChecks&) = delete;
  PackChecks& operator=(const PackChecks&) = delete;

  // True once the outcome is known to be a failure before the stream has
  // ended (the rehearsal found an error, or the checks could not run): the
  // stream may stop and call finish(nullptr).
  bool failed_early() const { return failed_early_.load(std::memory_order_relaxed); }
  // Hands the doctor the environment's ELF files (null: the stream did not
  // reach the end, and the doctor reads the environment itself), waits for
  // the checks and returns them; with errors, prints the report and throws
  // as run_pack_checks does.
  CheckSummary finish(const EnvElfFiles* files);
  // Prints the warnings (after the progress line is gone).
  void print_warnings(const CheckSummary& s) const;

 private:
  struct Cancelled {};
  const PackOptions& o_;
  std::promise<const EnvElfFiles*> files_;
  bool files_given_ = false;
  std::atomic<bool> failed_early_{false};
  CheckSummary summary_;
  std::exception_ptr failure_;
  std::thread thread_;
};

// CycloneDX JSON for airlock/sbom.cdx.json.
std::string make_pack_sbom(const CheckSummary& check, const bundle::Manifest& m, const PackOptions& o,
                           const std::vector<SbomCarried>& carried = {});

}  // namespace airlock::packer
