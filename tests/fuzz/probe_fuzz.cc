// The probe file `unpacker probe` writes on the secure node and
// `packer check|pack --target FILE` reads: parse_probe, the summary line,
// and the round trip through format_probe.
#include "common/target/probe_file.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  target::ProbeFile p;
  try {
    p = target::parse_probe(fuzz::text(data, size), "fuzz.probe");
  } catch (const Error&) {
    return 0;
  }
  (void)target::probe_summary(p);
  auto again = target::parse_probe(target::format_probe(p), "fuzz.probe");
  if (again.libs.size() != p.libs.size() || again.glibc != p.glibc) std::abort();
  return 0;
}
