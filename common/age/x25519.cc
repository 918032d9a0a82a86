#include "common/age/x25519.h"

#include <sodium.h>

#include <algorithm>

#include "common/age/base64.h"
#include "common/age/bech32.h"
#include "common/age/primitives.h"

namespace airlock::age {

static_assert(crypto_scalarmult_BYTES == wire::kX25519Size && crypto_scalarmult_SCALARBYTES == wire::kX25519Size);

X25519Recipient X25519Recipient::parse(std::string_view s) {
  // A recipient is public: quote it (identities are never quoted).
  Bech32Decoded d;
  try {
    d = bech32_decode(s);
  } catch (const AgeError& e) {
    throw AgeError(ErrorKind::kKey, "malformed recipient " + quote(s) + ": " + e.what());
  }
  if (d.hrp != wire::kRecipientHrp)
    throw AgeError(ErrorKind::kKey, "malformed recipient " + quote(s) + ": want a lowercase \"age1...\" key");
  if (d.data.size() != wire::kX25519Size)
    throw AgeError(ErrorKind::kKey, "malformed recipient " + quote(s) + ": wrong key length");
  X25519Recipient r;
  std::copy_n(d.data.data(), wire::kX25519Size, r.public_key.begin());
  return r;
}

std::string X25519Recipient::encode() const { return bech32_encode(wire::kRecipientHrp, public_key); }

X25519Identity X25519Identity::generate() {
  sodium_ready();
  X25519Identity id;
  randombytes_buf(id.secret_.data(), id.secret_.size());
  return id;
}

X25519Identity X25519Identity::parse(std::string_view s) {
  // Never quote a secret key in a message.
  auto d = bech32_decode(s);
  if (d.hrp != wire::kIdentityHrp)
    throw AgeError(ErrorKind::kKey, "malformed identity: want an uppercase \"AGE-SECRET-KEY-1...\" key");
  if (d.data.size() != wire::kX25519Size) throw AgeError(ErrorKind::kKey, "malformed identity: wrong key length");
  X25519Identity id;
  std::copy_n(d.data.data(), wire::kX25519Size, id.secret_.data());
  return id;
}

std::string X25519Identity::encode() const { return bech32_encode(wire::kIdentityHrp, secret_.span()); }

SecureBytes X25519Identity::encode_secure() const {
  std::string s = encode();
  SecureBytes out(bytes_of(s));
  sodium_memzero(s.data(), s.size());
  return out;
}

X25519Recipient X25519Identity::recipient() const {
  sodium_ready();
  X25519Recipient r;
  crypto_scalarmult_base(r.public_key.data(), secret_.data());
  return r;
}

namespace {
SecureBytes wrapping_key(const SecureBytes& shared, std::span<const uint8_t> share, std::span<const uint8_t> recipient) {
  uint8_t salt[2 * wire::kX25519Size];
  std::copy(share.begin(), share.end(), salt);
  std::copy(recipient.begin(), recipient.end(), salt + wire::kX25519Size);
  return hkdf_key(shared.span(), salt, wire::kX25519Label);
}
}  // namespace

Stanza x25519_wrap(const X25519Recipient& to, const SecureBytes& file_key) {
  sodium_ready();
  SecureBytes eph(wire::kX25519Size);
  randombytes_buf(eph.data(), eph.size());
  std::array<uint8_t, wire::kX25519Size> share{};
  crypto_scalarmult_base(share.data(), eph.data());
  SecureBytes shared(wire::kX25519Size);
  if (crypto_scalarmult(shared.data(), eph.data(), to.public_key.data()) != 0)
    throw AgeError(ErrorKind::kKey, "recipient " + to.encode() + " is a low-order point: refusing to encrypt to it");
  SecureBytes key = wrapping_key(shared, share, to.public_key);
  auto body = aead_wrap_file_key(key, file_key);
  return Stanza{std::string(wire::kX25519Type), {base64_encode(share, false)}, {body.begin(), body.end()}};
}

std::optional<SecureBytes> x25519_unwrap(const X25519Identity& id, const Stanza& s) {
  if (s.type != wire::kX25519Type) return std::nullopt;  // case-sensitive: "x25519" is another type
  if (s.args.size() != 1) header_error("invalid X25519 stanza: want 1 argument, got " + std::to_string(s.args.size()));
  auto share = base64_decode(s.args[0], false);
  if (!share || share->size() != wire::kX25519Size)
    header_error("invalid X25519 stanza: share " + quote(s.args[0]) + " is not 32 bytes of canonical base64");
  // Check the wrapped key length before any decryption: 16-byte key + tag.
  if (s.body.size() != wire::kWrappedFileKeySize)
    header_error("invalid X25519 stanza: body is " + std::to_string(s.body.size()) + " bytes, want 32");
  SecureBytes shared(wire::kX25519Size);
  // libsodium fails on an all-zero result (a low-order share): the spec
  // requires aborting, since such a share makes the secret predictable.
  if (crypto_scalarmult(shared.data(), id.secret().data(), share->data()) != 0)
    header_error("invalid X25519 stanza: share " + quote(s.args[0]) + " gives an all-zero shared secret");
  auto ours = id.recipient();
  SecureBytes key = wrapping_key(shared, *share, ours.public_key);
  SecureBytes file_key;
  if (!aead_unwrap_file_key(key, s.body, file_key)) return std::nullopt;
  return file_key;
}

}  // namespace airlock::age
