// The cryptographic building blocks of age v1, all from libsodium:
// HKDF-SHA-256 (RFC 5869, over crypto_auth_hmacsha256), HMAC-SHA-256 and
// ChaCha20-Poly1305 (IETF, 96-bit nonce).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/age/format.h"
#include "common/secure.h"

namespace airlock::age {

inline std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// HKDF-SHA-256 extract-then-expand into `out` (at most 255 * 32 bytes).
void hkdf_sha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt, std::string_view info,
                 std::span<uint8_t> out);
SecureBytes hkdf_key(std::span<const uint8_t> ikm, std::span<const uint8_t> salt, std::string_view info,
                     size_t size = wire::kAeadKeySize);

std::array<uint8_t, wire::kMacSize> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> msg);

// Seals `plain` with an all-zero nonce (each key wraps exactly one message).
std::array<uint8_t, wire::kWrappedFileKeySize> aead_wrap_file_key(const SecureBytes& key, const SecureBytes& file_key);
// Opens a wrapped file key. Returns false when authentication fails; the
// caller has checked the ciphertext length.
bool aead_unwrap_file_key(const SecureBytes& key, std::span<const uint8_t> body, SecureBytes& file_key);

// STREAM chunk operations. seal: `plain` (plain_len bytes) to `out`
// (plain_len + 16 bytes, may alias `plain`). open: `in` holds ciphertext||tag;
// the plaintext goes to `out`, which must not alias `in` (libsodium wipes the
// output on failure, and a failed open may be retried with the last flag).
// Returns false if the chunk is forged.
void aead_seal(const uint8_t* key, const uint8_t* nonce, const uint8_t* plain, size_t plain_len, uint8_t* out);
bool aead_open(const uint8_t* key, const uint8_t* nonce, const uint8_t* in, size_t cipher_len, uint8_t* out);

}  // namespace airlock::age
