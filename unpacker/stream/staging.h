// The staging directory: everything is extracted into DEST.airlock-staging-
// <pid> beside DEST and renamed to DEST only when it is complete and
// checked. Until then DEST does not exist; a failed or interrupted run
// removes its staging, and a staging left by a killed run (its pid no
// longer alive) is removed by the next run for the same DEST.
#pragma once

#include <cstdint>
#include <string>

#include "common/io.h"

namespace airlock::unpacker {

// Removes a tree without following symlinks, making read-only directories
// writable on the way. Throws on an error when `strict`; otherwise goes on
// with the rest and returns false if anything is left.
bool remove_tree(const std::string& path, bool strict = false);

// Absolute form of DEST (its parent resolved), without requiring DEST.
std::string absolute_dest(const std::string& dest);

class Staging {
 public:
  // Refuses an existing DEST (exit 2) and a missing parent; removes stale
  // stagings; creates the staging directory (mode 0700).
  explicit Staging(const std::string& dest);
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  const std::string& path() const { return path_; }
  const std::string& dest() const { return dest_; }
  int fd() const { return fd_.get(); }
  // Renames the staging directory to DEST; refuses if DEST appeared, and
  // fails (exit 1) if what now is DEST is not the directory it filled.
  void commit();

 private:
  std::string dest_, path_;
  UniqueFd fd_;
  bool committed_ = false;
};

// Exit 2 when DEST exists: unpacking never merges into or replaces anything.
void refuse_existing_dest(const std::string& dest);

// Free space of the file system that will hold DEST: exit 2 when fewer than
// `bytes` bytes or `files` inodes are available.
void check_free_space(const std::string& dest, uint64_t bytes, uint64_t files);

// Removes stale DEST.airlock-staging-<pid> directories; returns how many.
int remove_stale_stagings(const std::string& dest);

}  // namespace airlock::unpacker
