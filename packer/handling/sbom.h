// The bundle's software bill of materials: CycloneDX 1.5 JSON
// (airlock/sbom.cdx.json in every payload). Components: one per wheel
// (purl pkg:pypi/NAME@VERSION, SHA-256 of the wheel file, licences from its
// metadata), one per distribution already installed in the environment
// (.dist-info / .egg-info under site-packages, or conda-meta/*.json), and one
// for the interpreter. `dependencies` come from Requires-Dist (conda:
// "depends") where the target is itself in the SBOM.
#pragma once

#include <string>
#include <vector>

#include "packer/checks/wheel.h"

namespace airlock::packer {

inline constexpr const char* kSbomSpecVersion = "1.5";

// A file --portable carries from the packing host (a library, or a part
// of the C library runtime).
struct SbomCarried {
  std::string path;       // in the payload: "env/airlock-runtime/lib/libssl.so.3"
  std::string soname;
  std::string host_path;  // where it came from
  std::string kind;       // "library" or "glibc"
  std::string sha256;
  std::string package, version;  // Debian package "libssl3:amd64" and version, where dpkg knows
};

struct SbomInput {
  std::string env_dir;                 // the environment directory ("" = none)
  std::string python_version;          // "3.12.1" ("" = no interpreter component)
  std::string python_implementation = "cpython";
  std::vector<WheelInfo> wheels;       // from read_wheel()
  std::string bundle_id;               // lowercase UUID -> serialNumber "urn:uuid:..." ("" = none)
  std::string bundle_name;             // -> metadata.component ("" = none)
  std::string timestamp;               // RFC 3339 UTC; "" = now
  std::vector<SbomCarried> carried;    // --portable
};

// The SBOM as pretty-printed JSON (ends with a newline).
std::string make_sbom(const SbomInput& in);

// A distribution installed in an environment, as the SBOM lists it.
struct InstalledDist {
  std::string name, version;
  std::string purl;
  std::string source;  // path relative to the environment: "lib/python3.12/site-packages/x-1.dist-info"
  std::vector<std::string> licenses;
  std::vector<std::string> depends;  // normalised names
  std::string sha256;                // conda packages only (may be empty)
};
std::vector<InstalledDist> installed_distributions(const std::string& env_dir);

// purl helpers: "pkg:pypi/foo-bar@1.0%2Blocal".
std::string pypi_purl(const std::string& name, const std::string& version);

}  // namespace airlock::packer
