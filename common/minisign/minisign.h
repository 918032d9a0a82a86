// minisign key and signature files (jedisct1/minisign), byte-compatible.
// Wire layouts live in format.h with static_asserts; this is the interface
// the programs use.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/secure.h"

namespace airlock::minisign {

enum class ErrorKind {
  kKeyFormat,        // malformed key file
  kSignatureFormat,  // malformed .minisig
  kWrongKey,         // signature key id differs from the public key's
  kBadSignature,     // signature does not verify
  kBadGlobal,        // trusted comment signature does not verify
  kPassphrase,       // secret key checksum mismatch: wrong passphrase
};

class MinisignError : public Error {
 public:
  MinisignError(ErrorKind kind, std::string message, std::string hint = {});
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

using KeyId = std::array<uint8_t, 8>;

// "A1B2..." : 16 uppercase hex digits, most significant byte first, as
// minisign prints a key id (the little-endian id read as a number).
std::string key_id_hex(const KeyId& id);

struct PublicKey {
  KeyId key_id{};
  std::array<uint8_t, 32> key{};
  // A .pub file (untrusted comment line + base64 line) or the bare base64.
  static PublicKey parse(std::string_view text, const std::string& name = "public key");
  std::string base64() const;
  std::string file_text() const;  // "untrusted comment: minisign public key XXXX\n<b64>\n"
};

class SecretKey {
 public:
  static SecretKey generate();
  // Parses a .key file. Encrypted keys (kdf "Sc") need `passphrase`;
  // unencrypted ones ("\0\0") must not be given one... but it is ignored.
  static SecretKey parse(std::string_view text, const SecureBytes* passphrase, const std::string& name = "secret key");
  static bool is_encrypted(std::string_view text);
  // Serialises; with a passphrase the key is scrypt-encrypted as minisign
  // does (opslimit 33554432, memlimit 1073741824).
  std::string file_text(const SecureBytes* passphrase) const;
  PublicKey public_key() const;
  const KeyId& key_id() const { return key_id_; }

  friend class Signer;
  const SecureBytes& ed25519_secret() const { return sk_; }

 private:
  KeyId key_id_{};
  SecureBytes sk_{64};
};

struct Signature {
  bool prehashed = true;  // "ED" (BLAKE2b-512 prehash) vs legacy "Ed"
  KeyId key_id{};
  std::array<uint8_t, 64> sig{};
  std::string untrusted_comment;
  std::string trusted_comment;
  std::array<uint8_t, 64> global_sig{};

  static Signature parse(std::string_view text, const std::string& name = "signature");
  std::string file_text() const;
};

// Signs a BLAKE2b-512 digest of the message ("ED"), verifies the result
// before returning it.
Signature sign_prehashed(const SecretKey& sk, std::span<const uint8_t, 64> blake2b512,
                         std::string_view trusted_comment, std::string_view untrusted_comment);
Signature sign_prehashed(const SecretKey& sk, std::span<const uint8_t> message,
                         std::string_view trusted_comment, std::string_view untrusted_comment);

// Verifies: key id first (kWrongKey), then the signature over the message
// (prehashed or legacy), then the global signature over sig||trusted comment.
// For "ED" pass the BLAKE2b-512 digest; for legacy "Ed" the whole message is
// needed, so verify_message() covers both.
void verify_prehashed(const PublicKey& pk, const Signature& sig, std::span<const uint8_t, 64> blake2b512);
void verify_message(const PublicKey& pk, const Signature& sig, std::span<const uint8_t> message);

}  // namespace airlock::minisign
