// The sealed envelope, as `unpacker verify` reads it: verify_bundle opens
// the file, walks the tar (read_envelope), parses both .minisig members,
// verifies them under the trusted test key, and only then parses the label
// and checks the binding. The seeds are bundles signed with that key
// (tests/vectors/minisign/key.key), so mutations reach every step.
#include "common/minisign/minisign.h"
#include "tests/fuzz/harness.h"
#include "unpacker/checks/verify.h"

using namespace airlock;

namespace {
// tests/vectors/minisign/key.pub
constexpr std::string_view kPub =
    "untrusted comment: minisign public key 130EBEEB119A04C8\n"
    "RWTIBJoR674OEzOXKEODNq1TN23LtWIEMHeS4ukrVgNRbTQwUCdDnlu/\n";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string pub = fuzz::write_scratch("signer.pub", kPub);
  std::string path = fuzz::write_scratch("fuzz.sealed", std::span<const uint8_t>(data, size));
  try {
    auto vb = unpacker::verify_bundle(path, {pub}, false);
    (void)unpacker::label_text(vb);
  } catch (const Error&) {
  }
  return 0;
}
