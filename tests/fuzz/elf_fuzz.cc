// The ELF reader on memory (read_dynamic, as the doctor reads a wheel's
// members) and the in-memory RPATH/RUNPATH rewrite (rewrite_string) on a
// copy. The doctor catches only elf::ElfError, so only ElfError and
// ElfRewriteError count as clean refusals here: any other airlock::Error
// would end `packer check` instead of becoming a finding about one file.
#include <vector>

#include "common/elf/elf.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> file(data, size);
  (void)elf::probe(file);
  elf::DynamicInfo info;
  try {
    info = elf::read_dynamic(file, "fuzz.so");
  } catch (const elf::ElfError&) {
    return 0;
  }
  std::vector<uint8_t> copy(data, data + size);
  for (const auto* s : {&info.rpath, &info.runpath}) {
    if (!*s) continue;
    // The relocation's new value: shorter, equal or longer than the old.
    for (size_t len : {size_t{0}, (*s)->value.size() / 2, (*s)->value.size(), (*s)->value.size() + 1}) {
      try {
        elf::rewrite_string(copy, info, **s, std::string(len, 'x'), "RUNPATH", "fuzz.so");
        // A hostile file's tables may overlap, so the rewritten copy need not
        // read back the same; reading it must still be safe.
        (void)elf::read_dynamic(copy, "fuzz.so");
      } catch (const elf::ElfRewriteError&) {
      } catch (const elf::ElfError&) {
      }
      copy.assign(data, data + size);
    }
  }
  return 0;
}
