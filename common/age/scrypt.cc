#include "common/age/scrypt.h"

#include <sodium.h>

#include "common/age/base64.h"
#include "common/age/primitives.h"

namespace airlock::age {

namespace {
SecureBytes scrypt_key(const SecureBytes& passphrase, std::span<const uint8_t> salt, int log_n) {
  sodium_ready();
  std::vector<uint8_t> full_salt(wire::kScryptLabel.begin(), wire::kScryptLabel.end());
  full_salt.insert(full_salt.end(), salt.begin(), salt.end());
  SecureBytes key(wire::kAeadKeySize);
  if (crypto_pwhash_scryptsalsa208sha256_ll(passphrase.data(), passphrase.size(), full_salt.data(), full_salt.size(),
                                            uint64_t{1} << log_n, wire::kScryptR, wire::kScryptP, key.data(),
                                            key.size()) != 0)
    throw Error(Exit::kUsage, "scrypt failed (out of memory for work factor " + std::to_string(log_n) + "?)");
  return key;
}
}  // namespace

Stanza scrypt_wrap(const SecureBytes& passphrase, const SecureBytes& file_key, int log_n) {
  if (log_n < 1 || log_n > 30) throw AgeError(ErrorKind::kKey, "scrypt work factor must be 1..30");
  sodium_ready();
  std::array<uint8_t, wire::kScryptSaltSize> salt{};
  randombytes_buf(salt.data(), salt.size());
  SecureBytes key = scrypt_key(passphrase, salt, log_n);
  auto body = aead_wrap_file_key(key, file_key);
  return Stanza{std::string(wire::kScryptType), {base64_encode(salt, false), std::to_string(log_n)},
                {body.begin(), body.end()}};
}

std::optional<SecureBytes> scrypt_unwrap(const SecureBytes& passphrase, const Stanza& s, int max_log_n) {
  if (s.type != wire::kScryptType) return std::nullopt;
  if (s.args.size() != 2) header_error("invalid scrypt stanza: want 2 arguments, got " + std::to_string(s.args.size()));
  auto salt = base64_decode(s.args[0], false);
  if (!salt || salt->size() != wire::kScryptSaltSize)
    header_error("invalid scrypt stanza: salt " + quote(s.args[0]) + " is not 16 bytes of canonical base64");
  // The work factor is plain decimal: no sign, no leading zero, no hex or octal.
  const std::string& w = s.args[1];
  bool digits = !w.empty() && w[0] != '0' && w.size() <= 2;
  for (char c : w) digits = digits && c >= '0' && c <= '9';
  if (!digits) header_error("invalid scrypt stanza: work factor " + quote(w) + " is not a decimal number 1..99");
  int log_n = std::stoi(w);
  // Refuse before doing any work: a high work factor is a denial of service
  // (2^23 and up needs 8 GiB and minutes).
  if (log_n > max_log_n)
    header_error("scrypt work factor " + w + " is above the limit of " + std::to_string(max_log_n));
  if (s.body.size() != wire::kWrappedFileKeySize)
    header_error("invalid scrypt stanza: body is " + std::to_string(s.body.size()) + " bytes, want 32");
  SecureBytes key = scrypt_key(passphrase, *salt, log_n);
  SecureBytes file_key;
  if (!aead_unwrap_file_key(key, s.body, file_key))
    throw AgeError(ErrorKind::kIncorrectPassphrase, "incorrect passphrase",
                   "check the passphrase file: its first line is the passphrase, without the line ending");
  return file_key;
}

}  // namespace airlock::age
