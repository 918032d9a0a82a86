// age v1 (C2SP age spec): the public interface used by the programs.
//
// Files under common/age/ follow the format's concepts: header.* (grammar),
// x25519.*, scrypt.*, stream.* (STREAM payload), armor.*, bech32.*,
// primitives.* (HKDF/HMAC/AEAD helpers). This header is what the rest of
// airlock sees.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/io.h"
#include "common/secure.h"

namespace airlock::age {

enum class ErrorKind {
  kNoMatch,              // header parsed, no identity unwrapped a file key
  kIncorrectPassphrase,  // scrypt stanza did not open with the passphrase
  kHeader,               // header grammar or stanza rule broken
  kHmac,                 // a file key unwrapped but the header MAC is wrong
  kPayload,              // STREAM chunk failed, truncation, trailing data
  kArmor,                // PEM armor malformed
  kKey,                  // identity / recipient string malformed
};

// All age errors exit 1 (authentication/verification) except kKey (usage).
class AgeError : public Error {
 public:
  AgeError(ErrorKind kind, std::string message, std::string hint = {});
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

struct X25519Recipient {
  std::array<uint8_t, 32> public_key{};
  // "age1..." (lowercase Bech32, HRP "age"). Throws AgeError(kKey).
  static X25519Recipient parse(std::string_view s);
  std::string encode() const;
};

class X25519Identity {
 public:
  static X25519Identity generate();
  // "AGE-SECRET-KEY-1..." (uppercase Bech32). Throws AgeError(kKey).
  static X25519Identity parse(std::string_view s);
  std::string encode() const;  // kept in guarded memory by callers that can
  SecureBytes encode_secure() const;  // the same, in guarded memory
  X25519Recipient recipient() const;
  const SecureBytes& secret() const { return secret_; }

 private:
  SecureBytes secret_{32};
};

// An identity file as age-keygen writes it: one identity per line, `#`
// comments and empty lines ignored. Errors name `path` and the line number.
std::vector<X25519Identity> parse_identity_file(std::string_view text, const std::string& path);
// The file age-keygen writes: created/public-key comments, then the key.
std::string format_identity_file(const X25519Identity& id);
SecureBytes format_identity_file_secure(const X25519Identity& id);
// A recipients file: one age1... per line, comments and blanks ignored.
std::vector<X25519Recipient> parse_recipients_file(std::string_view text, const std::string& path);

// What decryption may use. Scrypt stanzas with a work factor above
// max_scrypt_log_n are refused before any work is done.
struct DecryptKeys {
  std::vector<X25519Identity> identities;
  std::optional<SecureBytes> passphrase;
  int max_scrypt_log_n = 22;
};

// Streaming encryptor: plaintext written in, age v1 binary out to `out`.
// finish() writes the final chunk (an empty payload gives one empty final
// chunk) and calls out.finish(). Memory is constant: one 64 KiB chunk.
class Encryptor : public Writer {
 public:
  static std::unique_ptr<Encryptor> to_recipients(Writer& out, std::span<const X25519Recipient> recipients);
  static std::unique_ptr<Encryptor> to_passphrase(Writer& out, const SecureBytes& passphrase, int log_n = 18);
  ~Encryptor() override;
  void write(std::span<const uint8_t> data) override;
  using Writer::write;
  void finish() override;

 private:
  struct Impl;
  explicit Encryptor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Streaming decryptor: opens the header at construction (throws AgeError on
// a bad header, no match, wrong passphrase, bad MAC), then read() releases
// authenticated plaintext chunk by chunk. Armored input is detected and
// decoded. read() throws AgeError(kPayload) on a bad or truncated chunk and
// on data after the final chunk.
struct DecryptSummary {
  bool armored = false;
  std::vector<std::string> stanza_types;  // of the header, in order
  uint64_t plaintext_bytes = 0;           // released so far
};

class Decryptor : public Reader {
 public:
  // threads: how many threads open payload chunks (0: up to 2, as the
  // machine allows).
  Decryptor(Reader& in, const DecryptKeys& keys, unsigned threads = 0);
  ~Decryptor() override;
  size_t read(std::span<uint8_t> buf) override;
  // Writes all remaining plaintext to `out` without an extra copy (does not
  // finish `out`); returns the byte count. Throws like read().
  uint64_t copy_to(Writer& out);
  const DecryptSummary& summary() const;
  std::string name() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Armor helpers (PEM "AGE ENCRYPTED FILE", strict decoding).
std::string armor(std::span<const uint8_t> binary);

}  // namespace airlock::age
