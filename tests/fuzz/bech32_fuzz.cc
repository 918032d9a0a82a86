// Bech32 keys: identities (AGE-SECRET-KEY-1...) and recipients (age1...),
// alone and as the identity and recipients files the programs read.
#include "common/age/age.h"
#include "common/age/bech32.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

namespace {
template <class F>
void refused_cleanly(F f) {
  try {
    f();
  } catch (const Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s = fuzz::text(data, size);
  refused_cleanly([&] { (void)age::bech32_decode(s); });
  refused_cleanly([&] {
    auto id = age::X25519Identity::parse(s);
    // A key that parses must encode back to the same text (in upper case).
    if (age::X25519Identity::parse(id.encode()).recipient().public_key != id.recipient().public_key) std::abort();
  });
  refused_cleanly([&] {
    auto r = age::X25519Recipient::parse(s);
    if (age::X25519Recipient::parse(r.encode()).public_key != r.public_key) std::abort();
  });
  refused_cleanly([&] { (void)age::parse_identity_file(s, "fuzz.txt"); });
  refused_cleanly([&] { (void)age::parse_recipients_file(s, "fuzz.txt"); });
  return 0;
}
