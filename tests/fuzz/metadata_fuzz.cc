// Core metadata (METADATA, PKG-INFO) as the packer reads it from wheels and
// from an environment's installed distributions: parse_metadata, then
// parse_requirement on each Requires-Dist and the licence names. These
// never refuse: any input gives some answer.
#include "packer/checks/wheel.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s = fuzz::text(data, size);
  auto m = packer::parse_metadata(s);
  for (const auto& r : m.requires_dist) (void)packer::parse_requirement(r).only_for_extra();
  (void)packer::parse_requirement(s);
  (void)packer::license_names(m);
  (void)packer::normalize_name(m.name);
  (void)packer::dist_name_from_filename(std::string(s));
  return 0;
}
