// Step 8 of the unpack order: the offline install.
//
//   DEST/<interpreter> -m pip install --no-index --find-links DEST/wheels
//       --require-hashes -r DEST/airlock/requirements.lock
//
// pip runs isolated: PIP_CONFIG_FILE=/dev/null, PYTHONNOUSERSITE=1, no
// PIP_*/PYTHON* variables from the caller, no proxy variables, no prompts,
// no version check. Its output goes to stderr (never stdout, which --json
// keeps for the summary) and always to DEST/airlock/install.log.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/bundle/manifest.h"

namespace airlock::unpacker {

struct InstallResult {
  bool ran = false;  // false: nothing to install (empty lock file)
  std::string log_path;
};

// Whether a requirements.lock names anything to install: a line that is
// neither blank nor a comment.
bool lock_names_anything(std::string_view lock);

// The argument vector and environment pip is run with (tested directly).
std::vector<std::string> pip_argv(const std::string& dest, const bundle::Manifest& m);
std::vector<std::string> pip_environment(const std::vector<std::string>& current);

// Runs pip; throws Error(kInstall) with pip's last lines on failure.
InstallResult pip_install(const std::string& dest, const bundle::Manifest& m, bool echo);

}  // namespace airlock::unpacker
