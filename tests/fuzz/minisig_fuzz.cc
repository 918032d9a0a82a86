// minisign signature files: Signature::parse, then verification against
// the test key of tests/vectors/minisign (prehashed and legacy), as
// `unpacker verify` checks both .minisig members of an envelope.
#include "common/minisign/minisign.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

namespace {
// tests/vectors/minisign/key.pub and message.txt, which the seeds sign.
constexpr std::string_view kPub = "RWTIBJoR674OEzOXKEODNq1TN23LtWIEMHeS4ukrVgNRbTQwUCdDnlu/";
constexpr std::string_view kMessage = "airlock minisign test vector\nsecond line\n";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const minisign::PublicKey pk = minisign::PublicKey::parse(kPub);
  minisign::Signature sig;
  try {
    sig = minisign::Signature::parse(fuzz::text(data, size), "fuzz.minisig");
  } catch (const Error&) {
    return 0;
  }
  try {
    minisign::verify_message(pk, sig, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kMessage.data()), kMessage.size()));
  } catch (const Error&) {
  }
  // What parses must be written back as a file that parses the same.
  auto again = minisign::Signature::parse(sig.file_text());
  if (again.trusted_comment != sig.trusted_comment || again.sig != sig.sig) std::abort();
  return 0;
}
