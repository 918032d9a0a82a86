// What a binary was built with: for `--version --verbose`, so a security
// office can rebuild it with the same compiler and libraries and compare
// the bytes (docs/release.md).
#pragma once

#include <string>

namespace airlock {

// One "key: value" line each: build type, linkage, compiler, linker, CMake,
// glibc and the versions of libsodium, libzstd, libarchive and nettle this
// process runs with (linked in, for the static unpacker), and the Debian
// packages the build compiled and linked against.
std::string build_info();

}  // namespace airlock
