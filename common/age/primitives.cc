#include "common/age/primitives.h"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace airlock::age {

std::array<uint8_t, wire::kMacSize> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> msg) {
  sodium_ready();
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, msg.data(), msg.size());
  std::array<uint8_t, wire::kMacSize> out{};
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

void hkdf_sha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt, std::string_view info,
                 std::span<uint8_t> out) {
  sodium_ready();
  if (out.size() > 255 * crypto_auth_hmacsha256_BYTES) throw std::logic_error("HKDF output too long");
  // Extract. An empty salt is HashLen zero bytes, which HMAC's key padding
  // makes identical to an empty key.
  SecureBytes prk(crypto_auth_hmacsha256_BYTES);
  {
    crypto_auth_hmacsha256_state st;
    static const uint8_t kNone = 0;  // the key may not be a null pointer, even when empty
    crypto_auth_hmacsha256_init(&st, salt.empty() ? &kNone : salt.data(), salt.size());
    crypto_auth_hmacsha256_update(&st, ikm.data(), ikm.size());
    crypto_auth_hmacsha256_final(&st, prk.data());
    sodium_memzero(&st, sizeof st);
  }
  // Expand.
  SecureBytes t(crypto_auth_hmacsha256_BYTES);
  size_t done = 0;
  for (uint8_t counter = 1; done < out.size(); ++counter) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, prk.data(), prk.size());
    if (counter > 1) crypto_auth_hmacsha256_update(&st, t.data(), t.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const uint8_t*>(info.data()), info.size());
    crypto_auth_hmacsha256_update(&st, &counter, 1);
    crypto_auth_hmacsha256_final(&st, t.data());
    sodium_memzero(&st, sizeof st);
    size_t n = std::min(t.size(), out.size() - done);
    std::copy_n(t.data(), n, out.data() + done);
    done += n;
  }
}

SecureBytes hkdf_key(std::span<const uint8_t> ikm, std::span<const uint8_t> salt, std::string_view info, size_t size) {
  SecureBytes k(size);
  hkdf_sha256(ikm, salt, info, k.span());
  return k;
}

std::array<uint8_t, wire::kWrappedFileKeySize> aead_wrap_file_key(const SecureBytes& key, const SecureBytes& file_key) {
  static_assert(crypto_aead_chacha20poly1305_IETF_ABYTES == wire::kAeadTagSize);
  static_assert(crypto_aead_chacha20poly1305_IETF_NPUBBYTES == wire::kAeadNonceSize);
  static_assert(crypto_aead_chacha20poly1305_IETF_KEYBYTES == wire::kAeadKeySize);
  sodium_ready();
  std::array<uint8_t, wire::kWrappedFileKeySize> out{};
  const uint8_t nonce[wire::kAeadNonceSize] = {};
  unsigned long long n = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &n, file_key.data(), file_key.size(), nullptr, 0, nullptr,
                                            nonce, key.data());
  return out;
}

bool aead_unwrap_file_key(const SecureBytes& key, std::span<const uint8_t> body, SecureBytes& file_key) {
  sodium_ready();
  const uint8_t nonce[wire::kAeadNonceSize] = {};
  file_key = SecureBytes(wire::kFileKeySize);
  unsigned long long n = 0;
  return crypto_aead_chacha20poly1305_ietf_decrypt(file_key.data(), &n, nullptr, body.data(), body.size(), nullptr, 0,
                                                   nonce, key.data()) == 0 &&
         n == wire::kFileKeySize;
}

void aead_seal(const uint8_t* key, const uint8_t* nonce, const uint8_t* plain, size_t plain_len, uint8_t* out) {
  unsigned long long maclen = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + plain_len, &maclen, plain, plain_len, nullptr, 0,
                                                     nullptr, nonce, key);
}

bool aead_open(const uint8_t* key, const uint8_t* nonce, const uint8_t* in, size_t cipher_len, uint8_t* out) {
  if (cipher_len < wire::kAeadTagSize) return false;
  size_t plain_len = cipher_len - wire::kAeadTagSize;
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, nullptr, in, plain_len, in + plain_len, nullptr, 0,
                                                            nonce, key) == 0;
}

}  // namespace airlock::age
