// --portable: builds what the doctor planned (packer/checks/doctor.h,
// PortablePlan) into a temporary tree the pack walks as
// env/airlock-runtime, and patched copies of the environment's own ELF
// files that the pack reads in place of the originals:
//
//   env/airlock-runtime/lib/    host libraries the target lacks, each with
//                               RUNPATH $ORIGIN (they find each other);
//   env/airlock-runtime/glibc/  this host's C library runtime (the loader,
//                               libc, libm, ..., the files and dns NSS
//                               modules), when the target's is older.
//
// With the C library carried, each executable of the environment gets
//  - a PT_INTERP placeholder of kInterpRoom bytes, which the unpacker
//    overwrites in place with DEST/env/airlock-runtime/glibc/ld-linux-*.so.2
//    (an interpreter path must be absolute, and DEST is known only there);
//  - a DT_RPATH (not RUNPATH: it also serves the libraries it loads that
//    have no search path of their own, and dlopen from them) of its own
//    relocated entries, the glibc directory and the grafted directory;
//  - DT_NEEDED entries for every carried glibc library, so that all of
//    them are loaded from the carried directory at start: a library loaded
//    later whose own RUNPATH would reach the node's older copy finds the
//    carried one already loaded, by soname.
// Environment files that need a grafted library get the grafted directory
// on their own search path. Debian's patchelf edits the copies; the
// environment itself is never modified.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "packer/checks/doctor.h"
#include "packer/stream/environment.h"
#include "packer/checks/wheelhouse.h"

namespace airlock::packer {

// Where the carried files go inside the payload, and the room reserved for
// the interpreter path (the NUL included): DEST may be up to
// kInterpRoom - 1 - strlen("/env/airlock-runtime/glibc/ld-linux-x86-64.so.2") bytes long.
inline constexpr const char* kRuntimeDir = "airlock-runtime";
inline constexpr size_t kInterpRoom = 1024;

// The placeholder written as the interpreter at pack time: an absolute path
// that exists nowhere, so an executable not yet placed by the unpacker
// fails with "no such file" naming it, exactly kInterpRoom - 1 bytes long.
std::string interp_placeholder();

struct CarriedFile {
  std::string path;       // archive path: "env/airlock-runtime/lib/libssl.so.3"
  std::string soname;
  std::string host_path;  // where it came from
  std::string kind;       // "library" or "glibc"
  std::string sha256;
  uint64_t size = 0;
  std::string package, version;  // the Debian package that ships it, where dpkg knows
};

struct PortableBuild {
  std::unique_ptr<TempTree> tmp;
  std::string runtime_dir;  // walked as env/airlock-runtime; "" when nothing is carried
  struct Replacement {
    std::string source;  // the patched copy
    uint64_t size = 0;
    std::string rel;     // the original's path inside the environment
  };
  // Environment files read from a patched copy, by (st_dev, st_ino).
  std::map<std::pair<uint64_t, uint64_t>, Replacement> replacements;
  std::vector<CarriedFile> carried;
  nlohmann::json record = nlohmann::json::object();  // the manifest's "runtime"
  uint64_t carried_bytes = 0;
};

// Checks that patchelf can be run (before any long work).
void require_patchelf();

PortableBuild build_portable(const PortablePlan& plan, const Environment& env, const std::string& target_label);

}  // namespace airlock::packer
