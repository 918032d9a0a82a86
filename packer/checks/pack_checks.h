// What `packer pack` runs from `packer check` before sealing, and the SBOM
// it puts in every payload.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/bundle/manifest.h"
#include "packer/checks/check.h"
#include "packer/stream/environment.h"
#include "packer/handling/sbom.h"
#include "packer/checks/wheelhouse.h"

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
// doctor are not run). Errors stop the pack: no bundle is written.
CheckSummary run_pack_checks(const Environment& env, const WheelSource& wheels, const PackOptions& o);

// CycloneDX JSON for airlock/sbom.cdx.json.
std::string make_pack_sbom(const CheckSummary& check, const bundle::Manifest& m, const PackOptions& o,
                           const std::vector<SbomCarried>& carried = {});

}  // namespace airlock::packer
