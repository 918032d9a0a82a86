// Offline install rehearsal: the environment's own pip resolves the
// requirements against the wheelhouse alone, as the unpacker's pip will on
// the secure node (--no-index --find-links), for this interpreter's tags.
//
// pip >= 22.2: `pip install --dry-run --report FILE` (nothing is installed).
// Older pips: an install into a throwaway --target directory.
//
// For a target (--target: the secure node's OS and this interpreter's
// tags, packer/target/platform_tags.h) pip is given --platform, --abi, ... as
// the node's pip will judge the wheels. pip takes those options with
// --dry-run only from 23.3 on; from 22.2 to 23.2 the dry run also names a
// throwaway --target directory (nothing is written to it), and before 22.2
// the install into --target takes them (18.1 and later; pips before 20.3
// take one --platform and one --abi: pip_target_args_for()).
// pip runs with a cleared environment (env -i) plus PIP_CONFIG_FILE=/dev/null
// and PYTHONNOUSERSITE=1: no site configuration, proxies or user site can
// make the rehearsal pass here and the real install fail there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "packer/checks/finding.h"
#include "packer/target/platform_tags.h"
#include "packer/checks/wheel.h"

namespace airlock::packer {

struct RehearsalInput {
  std::string env_dir;          // the environment's prefix
  std::string interpreter;      // absolute path of its python
  std::string python_tag;       // "cp312" (for messages)
  std::string platform_tag;     // "linux_x86_64" (for messages)
  std::string requirements;     // requirements file; "" = every wheel in the wheelhouse
  std::string wheelhouse;       // directory of wheels
  std::vector<WheelInfo> wheels;  // what the wheelhouse holds (read_wheel)
  std::vector<std::string> sdists;  // sdist files in the wheelhouse
  bool allow_sdist = false;
  // pip's --platform/--python-version/--implementation/--abi/--only-binary
  // for the secure node's target (packer/target/platform_tags.h); empty: this host.
  std::vector<std::string> pip_target_args;
  std::string target_label;  // "rhel8 (glibc 2.28)", for messages ("" with no target)
  int timeout_ms = 600'000;
};

// A distribution pip would install.
struct Resolved {
  std::string name, version;
  std::string file;    // basename of the wheel (or sdist) pip chose
  std::string sha256;  // from pip's report ("" when unknown)
  bool requested = false;
};

struct RehearsalResult {
  std::vector<Finding> findings;
  std::vector<Resolved> resolved;  // empty when resolution failed
  std::string pip_version;         // "23.2.1"
  std::string method;              // "dry-run-report" or "target-install"
  bool ran = false;                // pip was run (false when there was nothing to do)
};

RehearsalResult rehearse_install(const RehearsalInput& in);

// Exposed for tests: turns pip's output (stdout, then stderr) into findings, naming each missing
// distribution and what required it (from pip's "(from X)", else from the
// requirements file or the wheels' Requires-Dist). With a target, each
// wheel pip refused is named with why (`pip_version`: the pip that ran).
std::vector<Finding> findings_from_pip_errors(const std::string& pip_output, const RehearsalInput& in,
                                             std::string_view pip_version = {});

}  // namespace airlock::packer
