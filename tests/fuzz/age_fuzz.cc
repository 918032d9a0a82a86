// age v1 files: the Decryptor (header, X25519 and scrypt stanzas, header
// MAC, STREAM payload; armored input is detected), as `unpacker decrypt`
// and the unpacker's payload step run it. The keys are the public test
// identities and passphrase of tests/vectors/age, so the seeds reach the
// payload. The scrypt work factor is capped at 2^10 (the vectors' own) where
// the unpacker allows 2^22: the cap is checked before any work, and a
// larger one would only make each input slower.
#include <vector>

#include "common/age/age.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

namespace {
const age::DecryptKeys& keys() {
  static const age::DecryptKeys k = [] {
    age::DecryptKeys k;
    for (const char* id : {"AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0",
                           "AGE-SECRET-KEY-143WN7DCXU4G8R5AXQSSYD9AEPYDNT3HXSLWSPK36CDU6E8M59SSSAGZ3KG"})
      k.identities.push_back(age::X25519Identity::parse(id));
    std::string_view pw = "password";
    k.passphrase = SecureBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pw.data()), pw.size()));
    k.max_scrypt_log_n = 10;
    return k;
  }();
  return k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemoryReader in(std::span<const uint8_t>(data, size), "fuzz.age");
  try {
    // One thread: the same code as the unpacker's two, deterministic.
    age::Decryptor dec(in, keys(), 1);
    std::vector<uint8_t> buf(64 * 1024);
    while (dec.read(buf) != 0) {
    }
  } catch (const Error&) {
  }
  return 0;
}
