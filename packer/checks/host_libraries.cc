#include "packer/checks/host_libraries.h"

#include <algorithm>
#include <array>

#include "common/target/ld_so_conf.h"
#include "common/target/node_root.h"

namespace airlock::packer {

namespace {

// auditwheel's manylinux_2_17 (manylinux2014) lib_whitelist, plus the
// dynamic loader, which every glibc system has at this name.
constexpr std::array<const char*, 24> kBaseline = {
    "libatomic.so.1", "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libanl.so.1", "libdl.so.2",
    "librt.so.1", "libc.so.6", "libnsl.so.1", "libutil.so.1", "libpthread.so.0", "libX11.so.6",
    "libXext.so.6", "libXrender.so.1", "libICE.so.6", "libSM.so.6", "libGL.so.1", "libgobject-2.0.so.0",
    "libgthread-2.0.so.0", "libglib-2.0.so.0", "libresolv.so.2", "libexpat.so.1", "libz.so.1",
    "ld-linux-x86-64.so.2"};

}  // namespace

bool is_driver_library(const std::string& soname) {
  static const char* const kPrefixes[] = {"libGL.", "libGLX", "libEGL.", "libGLES", "libOpenGL.", "libcuda.",
                                          "libnvidia-", "libOpenCL.", "libvulkan.", "libdrm."};
  for (const char* p : kPrefixes)
    if (soname.rfind(p, 0) == 0) return true;
  return false;
}

bool in_manylinux_baseline(const std::string& soname) {
  return std::find_if(kBaseline.begin(), kBaseline.end(), [&](const char* b) { return soname == b; }) != kBaseline.end();
}

std::vector<std::string> host_library_dirs() {
  std::vector<std::string> out = target::read_ld_so_conf(target::NodeRoot("")).dirs;
  for (const char* d : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"})
    out.push_back(d);
  std::vector<std::string> unique;
  for (const std::string& d : out)
    if (std::find(unique.begin(), unique.end(), d) == unique.end()) unique.push_back(d);
  return unique;
}

}  // namespace airlock::packer
