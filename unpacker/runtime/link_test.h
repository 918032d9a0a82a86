// The link test (DESIGN.md, "The secure node's operating system"): every
// shared object under DEST/env is loaded by the environment's own
// interpreter, dlopen with RTLD_NOW through ctypes, each in a child process
// of its own and with no module initialisation (no PyInit_*). A library
// this node lacks, or a symbol version its C library does not define, is
// named now with the loader's own message, not later when someone imports
// the module.
//
//   DEST/<interpreter> -I -S -c SCRIPT TIMEOUT JOBS < paths (NUL-separated)
//
// runs with a cleared environment (PATH and LC_ALL=C only: no
// LD_LIBRARY_PATH, no LD_PRELOAD, no PYTHON* variables), so what passes
// loads without help. The script prints one JSON line per object. An
// interpreter that cannot start at all ("version `GLIBC_2.34' not found",
// exit 127) is the first failure, with what it printed.
//
// Plugin objects that load only inside their host library are exempted by
// globs on their path relative to DEST/env: `--link-test-skip GLOB` and the
// manifest's "link_test": {"skip": [GLOB...]} (packer pack --link-test-skip).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/bundle/manifest.h"
#include "common/elf/elf.h"
#include "common/error.h"
#include "unpacker/install/installed_tree.h"
#include "unpacker/stream/writer_pool.h"

namespace airlock::unpacker {

inline constexpr unsigned kObjectTimeoutSeconds = 60;     // one object's load
inline constexpr unsigned kOverallTimeoutSeconds = 3600;  // the whole test

// --link-test-skip, as `unpack` and `link-test` describe it.
inline constexpr const char* kLinkTestSkipHelp =
    "Leave out of the link test the shared objects matching this glob, a path relative to DEST/env "
    "('*' also matches '/'), e.g. 'lib/python3.12/site-packages/foo/plugins/*.so': plugins that load "
    "only inside their host library (repeatable)";

// A shared object dlopen can load: ET_DYN without PT_INTERP (a PIE
// executable is ET_DYN too, and has one).
bool is_loadable_object(const elf::DynamicInfo& info);

// fnmatch(3) with no flags (so `*` also matches `/`) of any glob against
// `rel`, the path relative to DEST/env.
bool skip_matches(std::span<const std::string> globs, const std::string& rel);

struct SharedObject {
  std::string rel;  // relative to DEST/env: "lib/python3.12/lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so"
  uint64_t size = 0;
};

struct ObjectScan {
  std::vector<SharedObject> objects;    // to load, sorted by path; one name per file
  std::vector<std::string> skipped;     // exempt by a glob (any of the file's names), sorted
  std::vector<std::string> unreadable;  // "rel: why": ELF files whose headers cannot be read
};

// Every regular file under `env_dir` that is_loadable_object(); hardlinked
// names of one file count once (the first name in path order). Throws
// Error(kUsage) when the tree cannot be read.
// With `known`, a file whose stamp is still the one the unpack recorded
// is opened only when the unpack saw it begin as ELF.
ObjectScan find_shared_objects(const std::string& env_dir, std::span<const std::string> skip_globs,
                               const KnownFiles* known = nullptr);

// The same from a walk of DEST (walk_tree): the regular files under
// DEST/env, opened only when they may be ELF objects.
ObjectScan find_shared_objects(const WalkedTree& dest_walk, const std::string& dest,
                               std::span<const std::string> skip_globs, const KnownFiles* known = nullptr);

// The same among `paths` (relative to DEST; those outside DEST/env are
// left out): when the unpack knows every file it wrote, the ones that
// began as ELF or were rewritten since, under all their names.
ObjectScan find_shared_objects_among(const std::string& dest, std::span<const std::string> paths,
                                     std::span<const std::string> skip_globs, const KnownFiles* known = nullptr);

// The manifest's exemptions: extra["link_test"]["skip"], an array of
// globs. Throws ManifestError when it is there with another shape.
std::vector<std::string> manifest_skip_globs(const bundle::Manifest& m);

enum class LoadStatus : uint8_t {
  kLoaderError,  // dlopen failed: the message is dlerror()'s
  kCrashed,      // killed by a signal while loading (a constructor crashed)
  kExited,       // a constructor ended the process
  kTimedOut,     // still loading after the per-object timeout
  kNoStart,      // the interpreter itself cannot start, or ctypes cannot be imported
  kNotRun,       // the test stopped before this object (the interpreter died, overall timeout)
};
const char* to_string(LoadStatus s);

struct LoadFailure {
  std::string path;  // relative to DEST: "env/lib/..."; the interpreter's for kNoStart
  LoadStatus status = LoadStatus::kLoaderError;
  std::string message;  // the loader's message, or what happened
  std::string output;   // what the process printed while loading, when anything
};

// One line of the script's output about the object at DEST/`rel`
// ("env/..."): nullopt when it loaded. Throws Error(kInstall) on a line
// that is not one the script writes.
std::optional<LoadFailure> load_outcome(const nlohmann::json& line, const std::string& rel, const std::string& abs);

struct LinkTestOptions {
  std::vector<std::string> skip_globs;  // the command line's and the manifest's
  bool progress = false;
  unsigned object_timeout = kObjectTimeoutSeconds;
  unsigned overall_timeout = kOverallTimeoutSeconds;
  unsigned jobs = 0;  // objects loaded at once; 0: up to 4, no more than the CPUs
  const KnownFiles* known = nullptr;  // what the unpack knows of its files (find_shared_objects)
  // The objects, when found already (in the unpack's walk); otherwise
  // DEST/env is walked with `known`.
  std::optional<ObjectScan> scan;
};

struct LinkTestResult {
  std::string interpreter;  // "env/bin/python3.12"
  size_t objects = 0;       // found and not exempt
  size_t loaded = 0;
  std::vector<std::string> skipped, unreadable;
  std::vector<LoadFailure> failures;  // the interpreter first when it cannot start, then by path
  bool ok() const { return failures.empty(); }
};

// The interpreter and its environment (tested directly).
std::vector<std::string> link_test_argv(const std::string& dest, const bundle::Manifest& m, const LinkTestOptions& o);
std::vector<std::string> link_test_environment();

// Runs the test on the unpacked tree at `dest` (absolute). Objects that do
// not load are in the result; throws Error for what stops the test itself
// (kUsage: unreadable tree; kInstall: objects but no interpreter named;
// kInterrupted).
LinkTestResult run_link_test(const std::string& dest, const bundle::Manifest& m, const LinkTestOptions& o);

// The --json summary, the audit record's detail (counts and the first
// failures), and the exit-4 error naming every failure with its message.
nlohmann::json link_test_json(const LinkTestResult& r);
std::string link_test_summary(const LinkTestResult& r);
Error link_test_error(const LinkTestResult& r, const std::string& dest, const std::string& hint);

// The link test failed: exit 4. Thrown after the audit record is written,
// so callers that audit every error let this one through.
class LinkTestFailed : public Error {
 public:
  explicit LinkTestFailed(const Error& e) : Error(e) {}
};

}  // namespace airlock::unpacker
