// The audit log: audit_verify, as `unpacker audit-verify FILE` checks a
// log's hash chain. A broken chain is an answer (ok = false), not an error.
#include "common/audit.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = fuzz::write_scratch("audit.jsonl", std::span<const uint8_t>(data, size));
  try {
    auto r = audit_verify(path);
    if (r.ok != r.problem.empty()) std::abort();
  } catch (const Error&) {
  }
  return 0;
}
