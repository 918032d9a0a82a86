// minisign key pairs: generation, public key files, secret key files
// (scrypt-encrypted exactly as minisign does, or unencrypted as
// `minisign -G -W` writes them).
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "common/io.h"
#include "common/minisign/codec.h"
#include "common/minisign/format.h"
#include "common/minisign/minisign.h"

namespace airlock::minisign {

namespace fmt = format;
using detail::quote;

static_assert(ScryptLimits{}.opslimit == fmt::kOpsLimit && ScryptLimits{}.memlimit == fmt::kMemLimit);

std::string key_id_hex(const KeyId& id) {
  // minisign prints le64_load(keynum) with %016" PRIX64: last byte first.
  static const char* digits = "0123456789ABCDEF";
  std::string s;
  for (size_t i = id.size(); i-- > 0;) {
    s.push_back(digits[id[i] >> 4]);
    s.push_back(digits[id[i] & 15]);
  }
  return s;
}

// ---------------------------------------------------------------- public key

PublicKey PublicKey::parse(std::string_view text, const std::string& name) {
  const auto err = [&](const std::string& what) {
    return MinisignError(ErrorKind::kKeyFormat, name + ": " + what,
                         "a minisign public key is a .pub file (comment line + base64 line) or its base64 line");
  };
  std::string_view b64 = text;
  if (text.find('\n') != std::string_view::npos) {
    auto lines = detail::split_lines(text, ErrorKind::kKeyFormat, name);
    if (lines.size() != 2) throw err("expected 2 lines (untrusted comment, key), found " + std::to_string(lines.size()));
    if (!lines[0].starts_with(fmt::kCommentPrefix))
      throw err("line 1 does not start with \"untrusted comment: \": " + quote(lines[0]));
    b64 = lines[1];
  }
  fmt::PubkeyStruct ps{};
  if (!detail::b64_decode_exact(b64, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&ps), sizeof ps)))
    throw err("not the base64 of a " + std::to_string(sizeof ps) + "-byte minisign public key: " + quote(b64));
  if (std::memcmp(ps.sig_alg, fmt::kSigAlg, 2) != 0)
    throw err("unsupported signature algorithm " + quote({reinterpret_cast<const char*>(ps.sig_alg), 2}) +
              " (expected \"Ed\")");
  PublicKey pk;
  std::copy_n(ps.keynum_pk.keynum, pk.key_id.size(), pk.key_id.begin());
  std::copy_n(ps.keynum_pk.pk, pk.key.size(), pk.key.begin());
  return pk;
}

std::string PublicKey::base64() const {
  fmt::PubkeyStruct ps{};
  std::memcpy(ps.sig_alg, fmt::kSigAlg, 2);
  std::copy(key_id.begin(), key_id.end(), ps.keynum_pk.keynum);
  std::copy(key.begin(), key.end(), ps.keynum_pk.pk);
  return detail::b64_encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&ps), sizeof ps));
}

std::string PublicKey::file_text() const {
  // minisign writes this comment's id with "%" PRIX64 (no leading zeros),
  // unlike the 16 digits it prints elsewhere; match its files byte for byte.
  std::string id = key_id_hex(key_id);
  id.erase(0, std::min(id.find_first_not_of('0'), id.size() - 1));
  return std::string(fmt::kCommentPrefix) + std::string(fmt::kPublicKeyComment) + id + "\n" +
         base64() + "\n";
}

// ---------------------------------------------------------------- secret key

namespace {

// The whole SeckeyStruct, in guarded memory.
class SeckeyBuf {
 public:
  SeckeyBuf() : mem_(sizeof(fmt::SeckeyStruct)) {}
  fmt::SeckeyStruct& operator*() { return *reinterpret_cast<fmt::SeckeyStruct*>(mem_.data()); }
  fmt::SeckeyStruct* operator->() { return &**this; }
  std::span<uint8_t> bytes() { return mem_.span(); }

 private:
  SecureBytes mem_;
};

// BLAKE2b-256(sig_alg || keynum || sk), minisign's seckey_compute_chk.
void compute_chk(fmt::SeckeyStruct& s, uint8_t out[crypto_generichash_BYTES]) {
  crypto_generichash_state hs;
  crypto_generichash_init(&hs, nullptr, 0, crypto_generichash_BYTES);
  crypto_generichash_update(&hs, s.sig_alg, sizeof s.sig_alg);
  crypto_generichash_update(&hs, s.keynum_sk.keynum, sizeof s.keynum_sk.keynum);
  crypto_generichash_update(&hs, s.keynum_sk.sk, sizeof s.keynum_sk.sk);
  crypto_generichash_final(&hs, out, crypto_generichash_BYTES);
  sodium_memzero(&hs, sizeof hs);
}

// XORs keynum_sk with the scrypt stream derived from the passphrase.
// Returns false if scrypt could not get the memory it asked for.
bool xor_scrypt(fmt::SeckeyStruct& s, const SecureBytes& passphrase, uint64_t ops, uint64_t mem) {
  SecureBytes stream(sizeof s.keynum_sk);
  if (crypto_pwhash_scryptsalsa208sha256(stream.data(), stream.size(),
                                         reinterpret_cast<const char*>(passphrase.data()), passphrase.size(),
                                         s.kdf_salt, ops, static_cast<size_t>(mem)) != 0)
    return false;
  auto* k = reinterpret_cast<uint8_t*>(&s.keynum_sk);
  for (size_t i = 0; i < stream.size(); ++i) k[i] ^= stream.data()[i];
  return true;  // `stream` is wiped by SecureBytes
}

void check_passphrase_text(const SecureBytes& p, const std::string& name) {
  // minisign reads at most 1023 bytes as a C string: longer passphrases or
  // ones with NUL could never be typed into minisign for this key.
  if (p.empty()) throw MinisignError(ErrorKind::kPassphrase, name + ": the passphrase is empty");
  if (p.size() > fmt::kPassphraseMax)
    throw MinisignError(ErrorKind::kPassphrase, name + ": the passphrase is longer than " +
                                                    std::to_string(fmt::kPassphraseMax) + " bytes (minisign's limit)");
  if (std::memchr(p.data(), 0, p.size()))
    throw MinisignError(ErrorKind::kPassphrase, name + ": the passphrase contains a NUL byte");
}

// Decodes the two-line key file into `s` and checks the algorithm tags.
void decode_seckey(std::string_view text, const std::string& name, SeckeyBuf& s) {
  const auto err = [&](const std::string& what) {
    return MinisignError(ErrorKind::kKeyFormat, name + ": " + what,
                         "a minisign secret key file has an untrusted comment line and one base64 line");
  };
  auto lines = detail::split_lines(text, ErrorKind::kKeyFormat, name);
  if (lines.size() != 2) throw err("expected 2 lines (untrusted comment, key), found " + std::to_string(lines.size()));
  if (!lines[0].starts_with(fmt::kCommentPrefix))
    throw err("line 1 does not start with \"untrusted comment: \": " + quote(lines[0]));
  // The base64 line is secret material: never quote it.
  if (!detail::b64_decode_exact(lines[1], s.bytes()))
    throw err("line 2 is not the base64 of a " + std::to_string(sizeof(fmt::SeckeyStruct)) +
              "-byte minisign secret key (" + std::to_string(lines[1].size()) + " characters)");
  const auto tag = [](const uint8_t* t) { return quote({reinterpret_cast<const char*>(t), 2}); };
  if (std::memcmp(s->sig_alg, fmt::kSigAlg, 2) != 0)
    throw err("unsupported signature algorithm " + tag(s->sig_alg) + " (expected \"Ed\")");
  if (std::memcmp(s->chk_alg, fmt::kChkAlg, 2) != 0)
    throw err("unsupported checksum algorithm " + tag(s->chk_alg) + " (expected \"B2\")");
  if (std::memcmp(s->kdf_alg, fmt::kKdfAlg, 2) != 0 && std::memcmp(s->kdf_alg, fmt::kKdfNone, 2) != 0)
    throw err("unsupported key derivation " + tag(s->kdf_alg) + " (expected \"Sc\" or none)");
}

}  // namespace

SecretKey SecretKey::generate() {
  sodium_ready();
  SecretKey k;
  randombytes_buf(k.key_id_.data(), k.key_id_.size());
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  crypto_sign_keypair(pk.data(), k.sk_.data());
  return k;
}

bool SecretKey::is_encrypted(std::string_view text, const std::string& name) {
  SeckeyBuf s;
  decode_seckey(text, name, s);
  return std::memcmp(s->kdf_alg, fmt::kKdfAlg, 2) == 0;
}

SecretKey SecretKey::load(const std::string& path, const SecureBytes* passphrase) {
  SecureBytes text = read_secret_file(path);
  return parse(text.view(), passphrase, path);
}

SecretKey SecretKey::parse(std::string_view text, const SecureBytes* passphrase, const std::string& name) {
  SeckeyBuf s;
  decode_seckey(text, name, s);
  uint8_t chk[crypto_generichash_BYTES];
  const bool encrypted = std::memcmp(s->kdf_alg, fmt::kKdfAlg, 2) == 0;
  if (encrypted) {
    if (!passphrase)
      throw MinisignError(ErrorKind::kPassphrase, name + ": the secret key is encrypted and no passphrase was given",
                          "pass --key-passphrase-file FILE (the passphrase on its first line)");
    check_passphrase_text(*passphrase, name);
    uint64_t ops = detail::le64_load(s->kdf_opslimit_le);
    uint64_t mem = detail::le64_load(s->kdf_memlimit_le);
    // A key file names its own scrypt cost. Refuse more than minisign ever
    // writes (and less than libsodium accepts), so a crafted file cannot
    // make us allocate or grind without bound.
    if (ops > fmt::kOpsLimit || mem > fmt::kMemLimit || ops < crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN ||
        mem < crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN)
      throw MinisignError(ErrorKind::kKeyFormat, name + ": scrypt limits out of range (opslimit " +
                                                     std::to_string(ops) + ", memlimit " + std::to_string(mem) + ")");
    if (!xor_scrypt(*s, *passphrase, ops, mem))
      throw MinisignError(ErrorKind::kKeyFormat,
                          name + ": scrypt could not allocate " + std::to_string(mem >> 20) + " MiB to decrypt the key");
    compute_chk(*s, chk);
    // The checksum is all we have to tell a wrong passphrase from a right
    // one: after a wrong XOR stream it cannot match.
    if (sodium_memcmp(chk, s->keynum_sk.chk, sizeof chk) != 0) {
      sodium_memzero(chk, sizeof chk);
      throw MinisignError(ErrorKind::kPassphrase, name + ": wrong passphrase for this secret key",
                          "check the passphrase file; its first line, without the line ending, is the passphrase");
    }
  } else {
    // `minisign -G -W` leaves the checksum all zero; `minisign -C -W` keeps
    // the old one; we write it. Check it whenever it is there.
    static const uint8_t zero[crypto_generichash_BYTES] = {};
    compute_chk(*s, chk);
    if (sodium_memcmp(s->keynum_sk.chk, zero, sizeof zero) != 0 &&
        sodium_memcmp(chk, s->keynum_sk.chk, sizeof chk) != 0) {
      sodium_memzero(chk, sizeof chk);
      throw MinisignError(ErrorKind::kKeyFormat, name + ": checksum mismatch: the secret key file is damaged");
    }
  }
  sodium_memzero(chk, sizeof chk);

  // The 64-byte Ed25519 secret is seed || public key; a key whose halves
  // disagree would sign with a public key nobody can verify against.
  SecretKey k;
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  crypto_sign_seed_keypair(pk.data(), k.sk_.data(), s->keynum_sk.sk);
  if (sodium_memcmp(k.sk_.data(), s->keynum_sk.sk, crypto_sign_SECRETKEYBYTES) != 0)
    throw MinisignError(ErrorKind::kKeyFormat, name + ": the secret key's public half does not match its seed");
  std::copy_n(s->keynum_sk.keynum, k.key_id_.size(), k.key_id_.begin());
  return k;
}

SecureBytes SecretKey::file_text(const SecureBytes* passphrase, ScryptLimits limits) const {
  SeckeyBuf s;
  std::memcpy(s->sig_alg, fmt::kSigAlg, 2);
  std::memcpy(s->chk_alg, fmt::kChkAlg, 2);
  std::copy(key_id_.begin(), key_id_.end(), s->keynum_sk.keynum);
  std::memcpy(s->keynum_sk.sk, sk_.data(), sizeof s->keynum_sk.sk);
  compute_chk(*s, s->keynum_sk.chk);
  std::string_view comment = fmt::kUnencryptedKeyComment;
  if (passphrase) {
    check_passphrase_text(*passphrase, "new secret key");
    if (limits.opslimit > fmt::kOpsLimit || limits.memlimit > fmt::kMemLimit)
      throw Error(Exit::kUsage, "scrypt limits above minisign's (which it would refuse to read back)");
    comment = fmt::kEncryptedKeyComment;
    std::memcpy(s->kdf_alg, fmt::kKdfAlg, 2);
    randombytes_buf(s->kdf_salt, sizeof s->kdf_salt);
    // As minisign: halve both factors while scrypt cannot get the memory.
    while (!xor_scrypt(*s, *passphrase, limits.opslimit, limits.memlimit)) {
      limits.opslimit /= 2;
      limits.memlimit /= 2;
      if (limits.opslimit < crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN ||
          limits.memlimit < crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN)
        throw Error(Exit::kUsage, "scrypt could not get enough memory to encrypt the secret key");
    }
    detail::le64_store(s->kdf_opslimit_le, limits.opslimit);
    detail::le64_store(s->kdf_memlimit_le, limits.memlimit);
  } else {
    std::memcpy(s->kdf_alg, fmt::kKdfNone, 2);
  }
  const std::string prefix = std::string(fmt::kCommentPrefix) + std::string(comment) + "\n";
  const size_t b64_len = sodium_base64_ENCODED_LEN(sizeof(fmt::SeckeyStruct), sodium_base64_VARIANT_ORIGINAL);
  SecureBytes out(prefix.size() + b64_len);  // b64_len counts a NUL: it becomes the LF
  std::memcpy(out.data(), prefix.data(), prefix.size());
  char* b64 = reinterpret_cast<char*>(out.data() + prefix.size());
  sodium_bin2base64(b64, b64_len, s.bytes().data(), s.bytes().size(), sodium_base64_VARIANT_ORIGINAL);
  out.data()[out.size() - 1] = '\n';
  return out;
}

PublicKey SecretKey::public_key() const {
  PublicKey pk;
  pk.key_id = key_id_;
  crypto_sign_ed25519_sk_to_pk(pk.key.data(), sk_.data());
  return pk;
}

}  // namespace airlock::minisign
