// The wheelhouse side of a pack: where the wheels come from (a directory,
// or `pip download` into a temporary one), which files of it go into the
// payload, and the hash-pinned requirements.lock made from them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/bundle/manifest.h"
#include "packer/stream/environment.h"
#include "packer/stream/walk.h"

namespace airlock::packer {

struct PackOptions;

// A directory removed with everything in it at scope exit.
class TempTree {
 public:
  explicit TempTree(const std::string& tag);
  ~TempTree();
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct WheelName {
  std::string name;     // as in the file name ("tiny_app")
  std::string version;  // "2.1.0"
  bool sdist = false;
};
// Parses "NAME-VERSION(-BUILD)?-PY-ABI-PLAT.whl" or "NAME-VERSION" and one of
// kSdistExtensions (wheel.h); nullopt for anything else.
std::optional<WheelName> parse_distribution_filename(const std::string& filename);

struct WheelSource {
  std::string dir;                // empty: no wheels
  std::string requirements_text;  // -r as given ("" when none)
  std::unique_ptr<TempTree> tmp;  // --download's directory
  // Adds the manifest's `wheels` record for a payload member under wheels/.
  void record_hash(const std::string& archive_path, const std::string& sha256,
                   std::vector<bundle::WheelEntry>& out) const;
};

// With --target, pip download is asked for the target's wheels
// (packer/target/platform_tags.h).
WheelSource prepare_wheelhouse(const Environment& env, const PackOptions& o);

// --target with --download sets pip's --platform, --python-version,
// --implementation, --abi and --only-binary: given as well, they are a
// usage error (exit 2). Cheap; prepare_wheelhouse() calls it first.
void check_target_download_options(const PackOptions& o);

// Keeps wheels (and sdists when allowed) under wheels/; other files there
// are dropped with a warning.
void filter_wheelhouse_entries(std::vector<WalkEntry>& entries, WalkResult& counts, bool allow_sdist);

// "name==version --hash=sha256:..." per distribution, every file's hash.
std::string requirements_lock(const std::vector<bundle::WheelEntry>& wheels);

}  // namespace airlock::packer
