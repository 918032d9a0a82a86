// What a binary was built with: for `--version --verbose`, so a security
// office can rebuild it with the same compiler and libraries and compare
// the bytes (docs/release.md).
#pragma once

#include <string>

namespace airlock {

// One "key: value" line each: build type, linkage, compiler, linker, CMake,
// glibc and the versions of libsodium, libzstd and nettle this process runs
// with (linked in, for the static unpacker), then `own_libraries` (lines
// for what only this program links: the packer's libarchive), and the
// Debian packages the build compiled and linked against.
std::string build_info(const std::string& own_libraries = "");
// One such line: "key:" padded to 13 columns, the value, a newline.
std::string build_info_line(const char* key, const std::string& value);

}  // namespace airlock
