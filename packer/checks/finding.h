// One result of `packer check`: what was found, where, and what to do.
#pragma once

#include <string>

namespace airlock::packer {

enum class Severity { kError, kWarning, kInfo };
const char* to_string(Severity s);  // "error", "warning", "info"

struct Finding {
  Severity severity = Severity::kError;
  std::string code;     // stable, for scripts: "missing-distribution", "library-not-found", ...
  std::string path;     // the file or distribution concerned (may be empty)
  std::string message;  // one sentence a person can act on
  std::string hint;     // what to do about it (may be empty)
};

}  // namespace airlock::packer
