// The ELF reader and rewriters on a file, as `unpacker unpack` relocates a
// payload file and the packer reads an environment's files:
// read_dynamic_file, rewrite_string_file (RPATH/RUNPATH) and
// rewrite_interp_file (PT_INTERP) on a scratch copy.
#include "common/elf/elf.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = fuzz::write_scratch("fuzz.so", std::span<const uint8_t>(data, size));
  elf::DynamicInfo info;
  try {
    info = elf::read_dynamic_file(path);
  } catch (const elf::ElfError&) {
    return 0;
  }
  try {
    if (info.runpath) elf::rewrite_string_file(path, info, *info.runpath, "$ORIGIN", "RUNPATH");
    else if (info.rpath) elf::rewrite_string_file(path, info, *info.rpath, "$ORIGIN", "RPATH");
  } catch (const elf::ElfRewriteError&) {
  }
  // The file is read again from disk; a hostile file's tables may overlap,
  // so the string just written may have changed what it says.
  if (info.interp) {
    try {
      elf::rewrite_interp_file(path, info.interp->value, "/lib/ld.so");
      (void)elf::read_dynamic_file(path);
    } catch (const elf::ElfRewriteError&) {
    } catch (const elf::ElfError&) {
    }
  }
  return 0;
}
