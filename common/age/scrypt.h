// The scrypt (passphrase) stanza:
//   -> scrypt BASE64(16-byte salt) LOG2_N
//   BASE64(ChaCha20-Poly1305(scrypt(pass, label || salt, 2^LOG2_N, r=8, p=1), file key))
// It must be the only stanza in its header.
#pragma once

#include <optional>

#include "common/age/age.h"
#include "common/age/header.h"

namespace airlock::age {

Stanza scrypt_wrap(const SecureBytes& passphrase, const SecureBytes& file_key, int log_n);

// nullopt: not an scrypt stanza. Throws AgeError(kHeader) for a malformed
// stanza or a work factor above max_log_n (checked before any work), and
// AgeError(kIncorrectPassphrase) when the body does not open.
std::optional<SecureBytes> scrypt_unwrap(const SecureBytes& passphrase, const Stanza& s, int max_log_n);

}  // namespace airlock::age
