// The payload entry policy of DESIGN.md. Every tar entry passes through
// EntryPolicy::admit() before anything is written for it; a refusal is
// Error(kUnsafe) (exit 3) naming the entry.
//
// Refused: paths outside env/, wheels/, airlock/; absolute paths, `..`,
// `.`, empty components, empty names; duplicate paths; a path below a file;
// symlinks, devices, fifos, sockets, sparse files; hardlinks to anything
// but an earlier regular file; setuid, setgid and sticky bits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/error.h"

namespace airlock::unpacker {

class UnsafeEntry : public Error {
 public:
  UnsafeEntry(std::string_view path, const std::string& why);
};

enum class Kind { kDir, kFile, kHardlink };

// What the tar header says, before any checks.
struct RawEntry {
  std::string path;      // as stored (a directory may end in "/")
  unsigned filetype = 0;  // S_IFMT bits
  uint32_t mode = 0;      // full mode bits including setuid/setgid/sticky
  bool has_hardlink = false;
  std::string hardlink;  // target as stored
  bool sparse = false;
};

struct Admitted {
  std::string path;  // normalised: "env/bin/python3"
  Kind kind = Kind::kFile;
  uint32_t perm = 0644;  // permission bits only
  std::string target;    // hardlinks: normalised target
};

// Checks one path: returns it normalised (one trailing slash removed for
// directories) or throws UnsafeEntry.
std::string normalise_path(std::string_view stored, bool is_dir);

class EntryPolicy {
 public:
  Admitted admit(const RawEntry& e);
  // Parent directories implied by admitted entries (created on the way).
  bool is_implicit_dir(const std::string& p) const;
  // Kind of an admitted path, if any.
  const Kind* kind_of(const std::string& p) const;
  // Every parent directory of an admitted entry, in first-seen order.
  const std::vector<std::string>& parent_dirs() const { return parent_order_; }

 private:
  void note_parents(const std::string& path);
  std::unordered_map<std::string, Kind> seen_;
  std::unordered_set<std::string> implicit_dirs_;
  std::vector<std::string> parent_order_;
  // The parent directory of the last admitted entry: its ancestors are
  // already checked and noted, and a noted parent can never later become a
  // file (that entry would be a duplicate of a directory). Consecutive
  // entries of one directory skip the walk up the path.
  std::string last_parent_;
};

}  // namespace airlock::unpacker
