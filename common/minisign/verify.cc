// minisign signature verification, in minisign's order: key id, then the
// signature over the message (or its BLAKE2b-512 for "ED"), then the
// global signature over sig || trusted comment.
#include <sodium.h>

#include <vector>

#include "common/hash.h"
#include "common/minisign/minisign.h"

namespace airlock::minisign {

namespace {

// Legacy signatures need the whole message in memory; minisign refuses
// messages over 1 GiB for them, and so do we.
constexpr uint64_t kLegacyMessageMax = uint64_t{1} << 30;

void check_key_id(const PublicKey& pk, const Signature& sig) {
  // Checked first: a signature by another key is "wrong key", not "forged",
  // and the message says which two keys are involved.
  if (sig.key_id != pk.key_id)
    throw MinisignError(ErrorKind::kWrongKey,
                        "signature key id " + key_id_hex(sig.key_id) + " is not the public key's id " +
                            key_id_hex(pk.key_id),
                        "the file was signed by a different key; check which public key you trust");
}

void check_signatures(const PublicKey& pk, const Signature& sig, std::span<const uint8_t> signed_bytes) {
  sodium_ready();
  if (crypto_sign_verify_detached(sig.sig.data(), signed_bytes.data(), signed_bytes.size(), pk.key.data()) != 0)
    throw MinisignError(ErrorKind::kBadSignature,
                        "signature verification failed with key " + key_id_hex(pk.key_id) +
                            ": the file was modified or the signature is damaged");
  // The trusted comment is only trusted once this passes.
  std::vector<uint8_t> global(sig.sig.begin(), sig.sig.end());
  global.insert(global.end(), sig.trusted_comment.begin(), sig.trusted_comment.end());
  if (crypto_sign_verify_detached(sig.global_sig.data(), global.data(), global.size(), pk.key.data()) != 0)
    throw MinisignError(ErrorKind::kBadGlobal,
                        "trusted comment signature verification failed with key " + key_id_hex(pk.key_id) +
                            ": the trusted comment was modified");
}

}  // namespace

void verify_prehashed(const PublicKey& pk, const Signature& sig, std::span<const uint8_t, 64> blake2b512) {
  check_key_id(pk, sig);
  if (!sig.prehashed)
    throw MinisignError(ErrorKind::kSignatureFormat,
                        "legacy (non-prehashed \"Ed\") signature where a prehashed \"ED\" one is required",
                        "sign with minisign 0.11 or later without -l");
  check_signatures(pk, sig, blake2b512);
}

void verify_message(const PublicKey& pk, const Signature& sig, std::span<const uint8_t> message) {
  check_key_id(pk, sig);
  if (sig.prehashed) {
    Blake2b512 h;
    h.update(message);
    auto digest = h.digest();
    check_signatures(pk, sig, digest);
  } else {
    check_signatures(pk, sig, message);
  }
}

void verify_stream(const PublicKey& pk, const Signature& sig, Reader& message) {
  check_key_id(pk, sig);
  std::vector<uint8_t> buf(1 << 16);
  if (sig.prehashed) {
    Blake2b512 h;
    for (size_t n; (n = message.read(buf)) > 0;) {
      h.update(std::span<const uint8_t>(buf.data(), n));
      check_interrupted();
    }
    auto digest = h.digest();
    check_signatures(pk, sig, digest);
    return;
  }
  std::vector<uint8_t> all;
  for (size_t n; (n = message.read(buf)) > 0;) {
    if (all.size() + n > kLegacyMessageMax)
      throw MinisignError(ErrorKind::kSignatureFormat,
                          message.name() + ": over 1 GiB, too large for a legacy (\"Ed\") signature");
    all.insert(all.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    check_interrupted();
  }
  check_signatures(pk, sig, all);
}

}  // namespace airlock::minisign
