// Wheels: read_wheel (the zip central directory and members through
// libarchive, METADATA, WHEEL) with the doctor's visitor, which reads each
// ELF member with read_dynamic; then what `packer check` and the SBOM take
// from the metadata (Requires-Dist, licence names).
#include "common/elf/elf.h"
#include "packer/checks/wheel.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = fuzz::write_scratch("fuzz-1.0-py3-none-any.whl", std::span<const uint8_t>(data, size));
  try {
    auto w = packer::read_wheel(path, [](const std::string& member, std::span<const uint8_t> bytes) {
      if (elf::probe(bytes).kind != elf::Kind::kElf64Le) return;
      try {
        (void)elf::read_dynamic(bytes, member);
      } catch (const elf::ElfError&) {
      }
    });
    for (const auto& r : w.metadata.requires_dist) (void)packer::parse_requirement(r).only_for_extra();
    (void)packer::license_names(w.metadata);
    (void)packer::normalize_name(w.metadata.name);
  } catch (const Error&) {
  }
  return 0;
}
