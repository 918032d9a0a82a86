#include "common/build_info.h"

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

}  // namespace

std::string build_info_line(const char* key, const std::string& value) {
  std::string s = key;
  s += ':';
  s.append(s.size() < 13 ? 13 - s.size() : 1, ' ');
  return s + value + "\n";
}

std::string build_info(const std::string& own_libraries) {
  auto line = build_info_line;
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
  s += line("nettle", std::to_string(::nettle_version_major()) + "." + std::to_string(::nettle_version_minor()));
  s += own_libraries;
  s += line("built with", AIRLOCK_BUILD_PACKAGES);
  return s;
}

}  // namespace airlock
