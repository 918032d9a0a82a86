// What `packer pack` runs from `packer check` before sealing, and the SBOM
// it puts in every payload.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/bundle/manifest.h"
#include "packer/environment.h"
#include "packer/wheelhouse.h"

namespace airlock::packer {

struct PackOptions;

struct CheckSummary {
  bool ran = false;  // false with --no-check
  size_t errors = 0, warnings = 0;
  nlohmann::json report = nlohmann::json::object();
  nlohmann::json to_json() const;
  std::string label_value() const;  // "passed, 2 warnings" / "skipped (--no-check)"
};

// Runs the checks of `packer check`; throws (no bundle is written) when they
// find errors, unless --no-check.
CheckSummary run_pack_checks(const Environment& env, const Wheelhouse& wheels, const PackOptions& o);

// CycloneDX JSON for airlock/sbom.cdx.json.
std::string make_pack_sbom(const Environment& env, const bundle::Manifest& m, const PackOptions& o);

}  // namespace airlock::packer
