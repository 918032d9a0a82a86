// minisign key files: PublicKey::parse (the .pub files given with -p, and
// bare base64) and SecretKey::parse of a .key file. Encrypted secret keys
// are parsed without a passphrase: their scrypt work factors are checked
// against minisign's own maximum (1 GiB, by design), so opening one costs
// seconds whatever the input; the structure is read all the same.
#include "common/minisign/minisign.h"
#include "tests/fuzz/harness.h"

using namespace airlock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s = fuzz::text(data, size);
  try {
    auto pk = minisign::PublicKey::parse(s, "fuzz.pub");
    auto again = minisign::PublicKey::parse(pk.file_text());
    if (again.key != pk.key || again.key_id != pk.key_id) std::abort();
  } catch (const Error&) {
  }
  try {
    (void)minisign::SecretKey::is_encrypted(s, "fuzz.key");
    auto sk = minisign::SecretKey::parse(s, nullptr, "fuzz.key");
    (void)sk.public_key();
  } catch (const Error&) {
  }
  return 0;
}
