// The X25519 recipient stanza:
//   -> X25519 BASE64(ephemeral share)
//   BASE64(ChaCha20-Poly1305(HKDF(shared, share || recipient, label), file key))
#pragma once

#include <optional>

#include "common/age/age.h"
#include "common/age/header.h"

namespace airlock::age {

Stanza x25519_wrap(const X25519Recipient& to, const SecureBytes& file_key);

// nullopt: not an X25519 stanza, or not for this identity. Throws
// AgeError(kHeader) for a malformed X25519 stanza or an all-zero shared secret.
std::optional<SecureBytes> x25519_unwrap(const X25519Identity& id, const Stanza& s);

}  // namespace airlock::age
