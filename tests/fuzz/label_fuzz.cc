// LABEL.txt: Label::parse, then what `unpacker verify` reads from a label
// (format, bundle-id, the numbers, the designation indicator).
#include "common/bundle/format.h"
#include "common/bundle/label.h"
#include "tests/fuzz/harness.h"
#include "unpacker/checks/verify.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto label = bundle::Label::parse(fuzz::text(data, size));
    (void)bundle::is_uuid(label.get("bundle-id"));
    (void)bundle::designation_text(label);
    for (const char* key : {"payload-bytes", "content-bytes", "content-files"}) {
      try {
        (void)unpacker::label_number(label, key);
      } catch (const Error&) {
      }
    }
    // What the packer writes must read back the same.
    auto again = bundle::Label::parse(label.format());
    if (again.fields != label.fields || again.marking != label.marking) std::abort();
  } catch (const Error&) {
  }
  return 0;
}
