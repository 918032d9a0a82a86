// minisign key and signature files (jedisct1/minisign), byte-compatible.
// Wire layouts live in format.h with static_asserts; this is the interface
// the programs use.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/io.h"
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

// scrypt work factors for encrypting a secret key. The defaults are
// minisign's; smaller ones still make files minisign reads (it takes the
// factors from the file), which keeps tests fast.
struct ScryptLimits {
  uint64_t opslimit = 33'554'432;
  uint64_t memlimit = 1'073'741'824;
};

class SecretKey {
 public:
  static SecretKey generate();
  // Parses a .key file. Encrypted keys (kdf "Sc") need `passphrase`
  // (kPassphrase without one, or with a wrong one); for unencrypted ones
  // ("\0\0", as `minisign -G -W` writes) it is ignored.
  static SecretKey parse(std::string_view text, const SecureBytes* passphrase, const std::string& name = "secret key");
  // Reads and parses a key file; the text stays in guarded memory.
  static SecretKey load(const std::string& path, const SecureBytes* passphrase);
  // Whether a key file's text is encrypted (throws kKeyFormat if malformed).
  static bool is_encrypted(std::string_view text, const std::string& name = "secret key");
  // Serialises to the two-line .key text, in guarded memory. With a
  // passphrase the key is scrypt-encrypted as minisign does; without, it is
  // written unencrypted (kdf "\0\0") with its checksum.
  SecureBytes file_text(const SecureBytes* passphrase, ScryptLimits limits = {}) const;
  PublicKey public_key() const;
  const KeyId& key_id() const { return key_id_; }

  // Ed25519 secret key (seed || public key), 64 bytes.
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
// Streams `message` (constant memory for "ED"; a legacy "Ed" signature
// buffers the message, up to 1 GiB as minisign allows).
void verify_stream(const PublicKey& pk, const Signature& sig, Reader& message);

}  // namespace airlock::minisign
