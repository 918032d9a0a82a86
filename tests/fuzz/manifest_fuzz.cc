// airlock/manifest.json: Manifest::parse, as the unpacker reads the
// payload's last member; what parses must dump and parse again.
#include "common/bundle/manifest.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bundle::Manifest m;
  try {
    m = bundle::Manifest::parse(fuzz::text(data, size));
  } catch (const Error&) {
    return 0;
  }
  // The packer writes manifests with dump(): it must read them back.
  auto again = bundle::Manifest::parse(m.dump());
  if (again.files.size() != m.files.size()) std::abort();
  return 0;
}
