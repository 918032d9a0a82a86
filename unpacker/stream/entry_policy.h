// The payload entry policy of DESIGN.md. Every tar entry passes through
// EntryPolicy::admit() before anything is written for it; a refusal is
// Error(kUnsafe) (exit 3) naming the entry.
//
// Refused: paths outside env/, wheels/, airlock/; absolute paths, `..`,
// `.`, empty components, empty names; duplicate paths; a path below a file;
// symlinks, devices, fifos, sockets, sparse files; hardlinks to anything
// but an earlier regular file; setuid, setgid and sticky bits; a path of
// more than kMaxPathBytes, a name of more than kMaxNameBytes, more than
// kMaxDepth components; more paths than kMaxHeldPathBytes can hold.
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

// Bounds on names, which a pax record could otherwise make 1 MiB long:
// what Linux accepts in one system call (PATH_MAX, NAME_MAX), and a depth
// that keeps a walk of the tree, one open directory a level, well below
// the usual limit of 1,024 open files.
inline constexpr size_t kMaxPathBytes = 4095;
inline constexpr size_t kMaxNameBytes = 255;
inline constexpr size_t kMaxDepth = 256;
// The policy holds every admitted path and every parent directory: a bound
// on their bytes (with a node's overhead each) keeps a payload of many
// long, distinct paths from costing more memory than this. A Python
// environment of 55,000 files holds about 7 MB.
inline constexpr uint64_t kMaxHeldPathBytes = uint64_t{256} << 20;

// Checks one path: returns it normalised (one trailing slash removed for
// directories) or throws UnsafeEntry.
std::string normalise_path(std::string_view stored, bool is_dir);

class EntryPolicy {
 public:
  explicit EntryPolicy(uint64_t max_held_bytes = kMaxHeldPathBytes) : max_held_(max_held_bytes) {}
  Admitted admit(const RawEntry& e);
  // Parent directories implied by admitted entries (created on the way).
  bool is_implicit_dir(const std::string& p) const;
  // Kind of an admitted path, if any.
  const Kind* kind_of(const std::string& p) const;
  // Every parent directory of an admitted entry, in first-seen order.
  const std::vector<std::string>& parent_dirs() const { return parent_order_; }

 private:
  void note_parents(const std::string& path);
  void hold(std::string_view path);  // counts a path kept, refuses past max_held_
  uint64_t max_held_, held_ = 0;
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
