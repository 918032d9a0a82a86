// age ASCII armor: ArmorReader, as `unpacker decrypt` reads an armored file.
#include <vector>

#include "common/age/armor.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemoryReader src(std::span<const uint8_t>(data, size), "fuzz.age");
  age::ArmorReader armor(src);
  std::vector<uint8_t> buf(4096);
  try {
    while (armor.read(buf) != 0) {
    }
  } catch (const Error&) {
  }
  return 0;
}
