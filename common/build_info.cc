#include "common/build_info.h"

#include <archive.h>
#include <gnu/libc-version.h>
#include <nettle/version.h>
#include <sodium.h>
#include <sys/auxv.h>
#include <zstd.h>

#include "version.h"

namespace airlock {

namespace {

// A static executable has no program interpreter, so the kernel passes no
// interpreter base address.
bool statically_linked() { return ::getauxval(AT_BASE) == 0; }

std::string line(const char* key, const std::string& value) {
  std::string s = key;
  s += ':';
  s.append(s.size() < 13 ? 13 - s.size() : 1, ' ');
  return s + value + "\n";
}

}  // namespace

std::string build_info() {
  std::string s;
  s += line("build type", AIRLOCK_BUILD_TYPE);
  s += line("linkage", statically_linked() ? "static (the libraries below are part of this file)"
                                           : "dynamic (the libraries below are the ones loaded now)");
  s += line("compiler", AIRLOCK_BUILD_COMPILER);
  s += line("linker", AIRLOCK_BUILD_LINKER);
  s += line("cmake", AIRLOCK_BUILD_CMAKE);
  s += line("glibc", ::gnu_get_libc_version());
  s += line("libsodium", ::sodium_version_string());
  s += line("libzstd", ::ZSTD_versionString());
  std::string archive = ::archive_version_details();  // "libarchive 3.6.2 zlib/1.2.13 ..."
  if (archive.starts_with("libarchive ")) archive.erase(0, 11);
  s += line("libarchive", archive);
  s += line("nettle", std::to_string(::nettle_version_major()) + "." + std::to_string(::nettle_version_minor()));
  s += line("built with", AIRLOCK_BUILD_PACKAGES);
  return s;
}

}  // namespace airlock
