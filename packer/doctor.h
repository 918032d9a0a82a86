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
#pragma once

#include <string>
#include <vector>

#include "packer/finding.h"

namespace airlock::packer {

struct DoctorInput {
  std::string env_dir;        // the environment's prefix (absolute)
  std::vector<std::string> prefix_strings;  // absolute spellings of the prefix (RUNPATHs may use any)
  std::string interpreter;    // relative to the prefix: "bin/python3.12" ("" = unknown)
  std::string site_packages;  // relative: "lib/python3.12/site-packages"
  std::vector<std::string> wheels;  // wheel files to look into
  // The host's library directories; empty = default paths + /etc/ld.so.conf.
  std::vector<std::string> host_dirs;
};

struct DoctorResult {
  std::vector<Finding> findings;
  size_t elf_files = 0;  // files examined (environment + wheel members)
  size_t needed = 0;     // DT_NEEDED entries resolved
};

DoctorResult run_doctor(const DoctorInput& in);

// True for libraries every manylinux2014 system provides (PEP 599's list,
// as auditwheel's policy has it, plus the dynamic loader itself).
bool in_manylinux_baseline(const std::string& soname);

// The host's library search directories: /etc/ld.so.conf (with includes)
// and the loader's defaults.
std::vector<std::string> host_library_dirs();

}  // namespace airlock::packer
