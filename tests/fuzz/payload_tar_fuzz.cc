// The payload's tar reader alone (PayloadTar), with every member through
// the entry policy as extract_payload passes them: the payload harness
// reaches the same code through zstd and age, at a fraction of the
// speed. The first byte of the input cuts the rest into stream pieces of
// 1 to 256 bytes, or one piece when 0, so headers and data fall across
// the pieces' edges as they may across the stream's blocks.
#include "tests/fuzz/harness.h"
#include "unpacker/stream/entry_policy.h"
#include "unpacker/stream/payload_tar.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = data[0] == 0 ? size : data[0];
  std::span<const uint8_t> rest(data + 1, size - 1);
  try {
    unpacker::PayloadTar tar([&]() -> std::span<const uint8_t> {
      std::span<const uint8_t> s = rest.first(std::min(piece, rest.size()));
      rest = rest.subspan(s.size());
      return s;
    });
    unpacker::EntryPolicy policy;
    unpacker::TarMember m;
    while (tar.next(m)) {
      unpacker::RawEntry raw;
      raw.path = m.path;
      raw.filetype = m.filetype;
      raw.mode = m.mode | m.filetype;
      if (m.type == '1') {
        raw.has_hardlink = true;
        raw.hardlink = m.link;
      }
      raw.sparse = m.sparse;
      policy.admit(raw);
      uint64_t got = 0;
      for (auto s = tar.data(); !s.empty(); s = tar.data()) got += s.size();
      if (m.type == '0' && got != m.size) std::abort();  // a member's bytes are all handed out
    }
  } catch (const Error&) {
  }
  return 0;
}
