// The signed volume index NAME.sealed.volumes, as `unpacker verify-volume`
// and the unpacker's volume check read it once its signature verifies:
// parse_index, the round trip through format_index, and the trusted
// comment's check (check_index_comment) on the same bytes.
#include "common/bundle/volumes.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s = fuzz::text(data, size);
  constexpr std::string_view kName = "fuzz.sealed.volumes";
  try {
    auto ix = bundle::parse_index(s, kName);
    // What the packer writes for a parsed index is the same text.
    if (bundle::format_index(ix) != s) std::abort();
  } catch (const Error&) {
  }
  try {
    (void)bundle::check_index_comment(s, kName, 3);
  } catch (const Error&) {
  }
  return 0;
}
