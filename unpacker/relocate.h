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

}  // namespace airlock::unpacker
