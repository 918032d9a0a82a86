// Step 6 of the unpack order: the files the manifest lists under `relocate`
// get the environment's original prefix (source_prefix) replaced by the
// absolute path it will have, DEST/env. Text files take any length; in
// binary files each C string holding the prefix is rewritten in place and
// NUL-padded, which works only when the new path is not longer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bundle/manifest.h"

namespace airlock::unpacker {

// Replaces `from` by `to` in `data`. Binary mode keeps the size: each
// occurrence's C string is rewritten and padded with NULs; returns false
// (data untouched) when `to` is longer than `from`. Returns the count.
struct RelocateResult {
  bool fits = true;
  size_t replaced = 0;
};
RelocateResult relocate_text(std::string& data, std::string_view from, std::string_view to);
RelocateResult relocate_binary(std::string& data, std::string_view from, std::string_view to);

// Applies the manifest's relocate list to the tree at `dirfd` (the staging
// directory), for the final environment path `new_env`. Returns the number
// of files changed. Throws Error naming the file when a binary file cannot
// take the new path.
size_t apply_relocation(int dirfd, const bundle::Manifest& m, const std::string& new_env);

// A bundle packed with --portable that carries its C library: the
// executables listed in the manifest's runtime.interp have a placeholder
// as their ELF interpreter; it is overwritten in place with the carried
// loader's final path, DEST/<runtime.loader>. `staging` is where the tree
// is now. Returns the number of executables placed. Throws Error (exit 2)
// when DEST is too long for the room the packer left, exit 1 when the
// manifest's record is malformed.
size_t place_runtime(const std::string& staging, const bundle::Manifest& m, const std::string& dest);

}  // namespace airlock::unpacker
