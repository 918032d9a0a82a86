// What kind of Python environment a directory is, and what its own
// interpreter says about itself (version, implementation, tags).
//
// Accepted: a conda env (has conda-meta/) or a standalone CPython prefix
// (bin/python3.X with lib/python3.X/os.py). Refused: a venv (pyvenv.cfg),
// which only points at a base interpreter elsewhere, and anything else.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace airlock::packer {

// "DIR: is not a Python environment ...", exit 2, with a hint.
class EnvironmentError : public Error {
 public:
  using Error::Error;
};

enum class EnvKind { kConda, kCPythonPrefix };
const char* to_string(EnvKind k);

// Tags as pip/packaging spell them.
struct PythonInfo {
  std::string version;          // "3.12.1" (sys.version's first word)
  std::string implementation;   // "cpython"
  std::string interpreter_tag;  // "cp312"
  std::string abi_tag;          // "cp312" ("cp313t", "cp37m", ...)
  std::string platform_tag;     // "linux_x86_64"
  std::string soabi;            // "cpython-312-x86_64-linux-gnu" (may be empty)
  std::string glibc;            // "2.36" (empty on other C libraries)
  std::string sys_prefix;       // what the interpreter reports
  std::string executable;       // sys.executable
};

struct Environment {
  EnvKind kind = EnvKind::kCPythonPrefix;
  std::string given;        // the directory as the user passed it
  std::string prefix;       // canonical absolute path (realpath)
  std::string interpreter;  // relative to prefix: "bin/python3.12"
  PythonInfo python;
  // Absolute spellings of the prefix that files in the environment may
  // contain (canonical first; then the absolute form of `given` and the
  // interpreter's sys.prefix where they differ), for relocation.
  std::vector<std::string> prefix_strings;
};

// Classifies `dir` and queries its interpreter (run as `python -I -S -c`,
// bounded by `timeout_ms`). Throws EnvironmentError saying why a directory
// is refused and what to do instead.
Environment inspect_environment(const std::string& dir, int timeout_ms = 30'000);

// Runs argv[0] (a path, no PATH search) with arguments, capturing stdout and
// stderr (each capped at 16 MiB); kills it after `timeout_ms`. Errors (cannot
// start, killed by the timeout) name argv[0].
struct ProcessResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  bool timed_out = false;
  std::string out, err;
};
ProcessResult run_process(const std::vector<std::string>& argv, int timeout_ms);

}  // namespace airlock::packer
