// /etc/ld.so.conf of a node (`unpacker probe`, `--target ROOT`), with its
// includes: read_ld_so_conf on a scratch root whose /etc/ld.so.conf and
// /etc/ld.so.conf.d/{a,b}.conf all hold the input, so include lines reach
// files of the same making. Warnings are answers; an Error is a refusal.
#include <sys/stat.h>

#include "common/target/ld_so_conf.h"
#include "common/target/node_root.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string root = [] {
    std::string r = fuzz::scratch_dir() + "/root";
    ::mkdir(r.c_str(), 0700);
    ::mkdir((r + "/etc").c_str(), 0700);
    ::mkdir((r + "/etc/ld.so.conf.d").c_str(), 0700);
    return r;
  }();
  std::span<const uint8_t> bytes(data, size);
  for (const char* f : {"root/etc/ld.so.conf", "root/etc/ld.so.conf.d/a.conf", "root/etc/ld.so.conf.d/b.conf"})
    fuzz::write_scratch(f, bytes);
  try {
    (void)target::read_ld_so_conf(target::NodeRoot(root));
  } catch (const Error&) {
  }
  return 0;
}
