// Shared-library doctor: reads every ELF file of the environment and every
// ELF member of the wheels (at the path it would be installed to), and
// resolves each DT_NEEDED library the way the dynamic loader will on the
// secure node, after the environment has been moved and its absolute
// in-environment RUNPATHs rewritten to $ORIGIN:
//
//   1. DT_RPATH (only when there is no DT_RUNPATH), then DT_RUNPATH, with
//      $ORIGIN expanded at the file's place in the environment; absolute
//      entries that point into the environment count as inside it.
//   2. A library the interpreter itself already loaded (libpython...).
//   3. The host's default paths and /etc/ld.so.conf (the packing host).
//
// Found nowhere: error. Found only on the host and not in the manylinux2014
// baseline (auditwheel's policy): warning with the host path, because the
// secure node may lack it. Absolute RUNPATH/RPATH entries outside the
// environment: warning. Libraries in the environment are themselves in the
// scan, so the closure inside the environment is checked too.
//
// With a target (packer/target/target.h) every file is also judged against the
// secure node: the GLIBC_ versions it needs from the node's C library,
// the GLIBCXX_/CXXABI_/GCC_ versions from its C++ runtime, and every
// library found neither in the environment nor on the node is an error.
// With `portable`, what the node lacks and this host has is planned for
// carrying instead (PortablePlan): the libraries, their own dependencies,
// and the host's C library when the node's is older than the bundle needs.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/elf/elf.h"
#include "packer/checks/finding.h"
#include "packer/target/target.h"

namespace airlock::packer {

// The environment's ELF files as `packer pack` read them on its way to the
// payload: each file's tables were read once there, to plan the RUNPATH
// patch, and are judged here without opening the file again.
struct EnvElfFiles {
  // Relative path and tables, one entry per file (the first name the walk
  // met it by), every ELF64 LE file whether it is dynamic or not.
  std::vector<std::pair<std::string, std::shared_ptr<const elf::DynamicInfo>>> files;
  std::vector<std::string> other_names;  // more names of those files (hardlinks, dereferenced links)
};

struct DoctorInput {
  std::string env_dir;        // the environment's prefix (absolute)
  std::vector<std::string> prefix_strings;  // absolute spellings of the prefix (RUNPATHs may use any)
  std::string interpreter;    // relative to the prefix: "bin/python3.12" ("" = unknown)
  std::string site_packages;  // relative: "lib/python3.12/site-packages"
  std::vector<std::string> wheels;  // wheel files to look into
  // The host's library directories; empty = default paths + /etc/ld.so.conf.
  std::vector<std::string> host_dirs;
  const Target* target = nullptr;  // the secure node, when known
  bool portable = false;           // plan carrying what the target lacks
  // When set, called once the wheels are read, for the environment's ELF
  // files as the pack's stream read them (it may wait for the stream to
  // end); a null answer, or no function, and the doctor walks the
  // environment itself.
  std::function<const EnvElfFiles*()> env_files;
};

// What --portable carries, as the doctor planned it (packer/target/portable.h
// builds it).
struct PortablePlan {
  struct Lib {
    std::string soname;
    std::string host_path;           // where this host has it (realpath)
    std::vector<std::string> users;  // files that need it (display names)
  };
  std::vector<Lib> libs;          // host libraries to graft, dependencies included
  bool carry_glibc = false;       // the node's C library is older than needed
  std::string glibc_dir;          // the host directory of libc.so.6
  std::string host_glibc;         // "2.36": what the host's libc.so.6 defines
  std::string glibc_kernel;       // "3.2.0": the kernel the host's libc needs
  // Environment files with PT_INTERP (executables): with carry_glibc they
  // are pointed at the carried loader.
  std::vector<std::string> executables;
  // Environment files (not wheel members) that need a grafted library:
  // the grafted directory is added to their search path.
  std::vector<std::string> reach;
  bool empty() const { return libs.empty() && !carry_glibc; }
};

struct DoctorResult {
  std::vector<Finding> findings;
  size_t elf_files = 0;  // files examined (environment + wheel members)
  size_t needed = 0;     // DT_NEEDED entries resolved
  // The highest GLIBC_ version any file of the bundle needs from the node's
  // C library, and one file that needs it ("" when none is versioned).
  std::string needs_glibc, needs_glibc_by;
  PortablePlan portable;  // filled with DoctorInput::portable
};

DoctorResult run_doctor(const DoctorInput& in);

}  // namespace airlock::packer
