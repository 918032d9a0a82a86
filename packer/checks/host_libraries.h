// What the packing host's libraries are to the doctor: the manylinux
// baseline every node has, the drivers a node brings itself, and where
// this host's loader looks.
#pragma once

#include <string>
#include <vector>

namespace airlock::packer {

// True for libraries every manylinux2014 system provides (PEP 599's list,
// as auditwheel's policy has it, plus the dynamic loader itself).
bool in_manylinux_baseline(const std::string& soname);

// Libraries that belong to the node's hardware drivers (libGL, libcuda,
// ...): never carried from this host.
bool is_driver_library(const std::string& soname);

// The host's library search directories: /etc/ld.so.conf (with includes)
// and the loader's defaults.
std::vector<std::string> host_library_dirs();

}  // namespace airlock::packer
