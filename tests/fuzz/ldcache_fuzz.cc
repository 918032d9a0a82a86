// /etc/ld.so.cache of a node (the old, new and compat layouts):
// parse_ldcache, as `unpacker probe` and --target ROOT read it.
#include "common/target/ldcache.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)target::parse_ldcache(std::span<const uint8_t>(data, size), "fuzz.cache");
  } catch (const Error&) {
  }
  return 0;
}
