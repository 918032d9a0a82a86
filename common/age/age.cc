// The public age API: key files, Encryptor and Decryptor, wiring the
// header, recipient stanzas, STREAM payload and armor together.
#include "common/age/age.h"

#include <sodium.h>

#include <cstring>
#include <ctime>
#include <thread>

#include "common/age/armor.h"
#include "common/age/header.h"
#include "common/age/input.h"
#include "common/age/scrypt.h"
#include "common/age/stream.h"
#include "common/age/x25519.h"

namespace airlock::age {

AgeError::AgeError(ErrorKind kind, std::string message, std::string hint)
    : Error(kind == ErrorKind::kKey ? Exit::kUsage : Exit::kVerify, std::move(message), std::move(hint)),
      kind_(kind) {}

// ---- key files ----

namespace {
template <typename F>
void for_each_line(std::string_view text, F f) {
  size_t n = 1;
  for (size_t s = 0; s < text.size(); ++n) {
    size_t e = text.find('\n', s);
    std::string_view line = text.substr(s, e == std::string_view::npos ? std::string_view::npos : e - s);
    if (line.ends_with('\r')) line.remove_suffix(1);
    f(n, line);
    if (e == std::string_view::npos) break;
    s = e + 1;
  }
}

std::string with_line(const std::string& path, size_t n, const AgeError& e) {
  return path + ":" + std::to_string(n) + ": " + e.what();
}
}  // namespace

std::vector<X25519Identity> parse_identity_file(std::string_view text, const std::string& path) {
  std::vector<X25519Identity> ids;
  for_each_line(text, [&](size_t n, std::string_view line) {
    if (line.empty() || line.starts_with('#')) return;
    try {
      ids.push_back(X25519Identity::parse(line));
    } catch (const AgeError& e) {
      std::string hint = line.starts_with("age1")
                             ? "this is a recipient (public key); decryption needs the AGE-SECRET-KEY-1... identity file"
                             : "an identity file holds AGE-SECRET-KEY-1... lines, as written by 'unpacker keygen' or age-keygen";
      throw AgeError(ErrorKind::kKey, with_line(path, n, e), hint);
    }
  });
  if (ids.empty())
    throw AgeError(ErrorKind::kKey, path + ": no identity found",
                   "an identity file holds AGE-SECRET-KEY-1... lines, as written by 'unpacker keygen' or age-keygen");
  return ids;
}

namespace {
std::string identity_file_comments(const X25519Identity& id) {
  char when[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string("# created: ") + when + "\n# public key: " + id.recipient().encode() + "\n";
}
}  // namespace

std::string format_identity_file(const X25519Identity& id) {
  return identity_file_comments(id) + id.encode() + "\n";
}

SecureBytes format_identity_file_secure(const X25519Identity& id) {
  std::string head = identity_file_comments(id);
  SecureBytes key = id.encode_secure();
  SecureBytes out(head.size() + key.size() + 1);
  std::memcpy(out.data(), head.data(), head.size());
  std::memcpy(out.data() + head.size(), key.data(), key.size());
  out.data()[out.size() - 1] = '\n';
  return out;
}

std::vector<X25519Recipient> parse_recipients_file(std::string_view text, const std::string& path) {
  std::vector<X25519Recipient> rs;
  for_each_line(text, [&](size_t n, std::string_view line) {
    if (line.empty() || line.starts_with('#')) return;
    try {
      rs.push_back(X25519Recipient::parse(line));
    } catch (const AgeError& e) {
      throw AgeError(ErrorKind::kKey, with_line(path, n, e), "a recipients file holds one age1... key per line");
    }
  });
  if (rs.empty()) throw AgeError(ErrorKind::kKey, path + ": no recipient found", "a recipients file holds one age1... key per line");
  return rs;
}

// ---- encryption ----

struct Encryptor::Impl {
  Writer& out;
  std::unique_ptr<StreamEncryptor> stream;
  bool finished = false;
};

namespace {
std::unique_ptr<StreamEncryptor> start(Writer& out, const std::vector<Stanza>& stanzas, const SecureBytes& file_key) {
  std::string mac_input = encode_header_without_mac(stanzas);
  auto mac = header_mac(file_key, mac_input);
  out.write(encode_header(mac_input, mac));
  uint8_t nonce[wire::kStreamNonceSize];
  randombytes_buf(nonce, sizeof nonce);
  out.write(std::span<const uint8_t>(nonce, sizeof nonce));
  return std::make_unique<StreamEncryptor>(out, payload_key(file_key, nonce));
}

SecureBytes new_file_key() {
  sodium_ready();
  SecureBytes k(wire::kFileKeySize);
  randombytes_buf(k.data(), k.size());
  return k;
}
}  // namespace

Encryptor::Encryptor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encryptor::~Encryptor() = default;

std::unique_ptr<Encryptor> Encryptor::to_recipients(Writer& out, std::span<const X25519Recipient> recipients) {
  if (recipients.empty()) throw AgeError(ErrorKind::kKey, "no recipients to encrypt to");
  SecureBytes file_key = new_file_key();
  std::vector<Stanza> stanzas;
  for (const auto& r : recipients) stanzas.push_back(x25519_wrap(r, file_key));
  return std::unique_ptr<Encryptor>(new Encryptor(std::make_unique<Impl>(Impl{out, start(out, stanzas, file_key)})));
}

std::unique_ptr<Encryptor> Encryptor::to_passphrase(Writer& out, const SecureBytes& passphrase, int log_n) {
  if (passphrase.empty()) throw AgeError(ErrorKind::kKey, "empty passphrase");
  SecureBytes file_key = new_file_key();
  std::vector<Stanza> stanzas{scrypt_wrap(passphrase, file_key, log_n)};
  return std::unique_ptr<Encryptor>(new Encryptor(std::make_unique<Impl>(Impl{out, start(out, stanzas, file_key)})));
}

void Encryptor::write(std::span<const uint8_t> data) {
  if (impl_->finished) throw std::logic_error("age: write after finish");
  impl_->stream->write(data);
}

void Encryptor::finish() {
  if (impl_->finished) return;
  impl_->finished = true;
  impl_->stream->finish();
  impl_->out.finish();
}

std::string armor(std::span<const uint8_t> binary) {
  VectorWriter v;
  ArmorWriter a(v);
  a.write(binary);
  a.finish();
  return v.str();
}

// ---- decryption ----

struct Decryptor::Impl {
  std::unique_ptr<BufferedInput> raw;
  std::unique_ptr<ArmorReader> armor;
  std::unique_ptr<BufferedInput> header_in;  // over raw or armor
  std::unique_ptr<StreamDecryptor> stream;
  std::span<const uint8_t> pending;
  std::string name;
  DecryptSummary summary;
};

namespace {
std::string describe_stanzas(const std::vector<Stanza>& stanzas) {
  std::string d;
  for (const auto& s : stanzas) {
    if (!d.empty()) d += ", ";
    d += s.type;
  }
  return d.empty() ? "none" : d;
}

SecureBytes unwrap_file_key(const Header& h, const DecryptKeys& keys) {
  bool has_scrypt = false, has_x25519 = false;
  for (const auto& s : h.stanzas) {
    has_scrypt = has_scrypt || s.type == wire::kScryptType;
    has_x25519 = has_x25519 || s.type == wire::kX25519Type;
  }
  // The passphrase stanza must stand alone: otherwise anyone holding one of
  // the other identities could silently swap the file under a passphrase user.
  if (has_scrypt && h.stanzas.size() != 1)
    header_error("an scrypt stanza must be the only stanza in the header, found: " + describe_stanzas(h.stanzas));
  if (has_scrypt && keys.passphrase) {
    auto k = scrypt_unwrap(*keys.passphrase, h.stanzas[0], keys.max_scrypt_log_n);
    if (k) return std::move(*k);
  }
  for (const auto& id : keys.identities)
    for (const auto& s : h.stanzas)
      if (auto k = x25519_unwrap(id, s)) return std::move(*k);
  std::string what = "no identity matched any of the file's recipients (stanzas: " + describe_stanzas(h.stanzas) + ")";
  if (has_scrypt && !keys.passphrase)
    throw AgeError(ErrorKind::kNoMatch, what, "this file is encrypted with a passphrase: use --passphrase-file");
  if (!has_scrypt && keys.identities.empty() && keys.passphrase)
    throw AgeError(ErrorKind::kNoMatch, what,
                   "this file is encrypted to public keys, not a passphrase: use -i with the identity file");
  throw AgeError(ErrorKind::kNoMatch, what,
                 "an age file does not say whom it is encrypted to; check that you have the identity "
                 "(AGE-SECRET-KEY-1...) matching the age1... recipient the sender used");
}
}  // namespace

Decryptor::Decryptor(Reader& in, const DecryptKeys& keys, unsigned threads) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.name = in.name();
  m.raw = std::make_unique<BufferedInput>(in);
  // Binary age begins with its intro line. Armor is recognised by its
  // preamble near the start (whitespace or garbage before it is then an armor
  // error); anything else is reported as a damaged or foreign binary header.
  std::string_view head = m.raw->peek(wire::kArmorMaxWhitespace + wire::kArmorBegin.size());
  if (head.starts_with(wire::kIntroPrefix) || head.find(wire::kArmorPreamble) == std::string_view::npos) {
    m.header_in = std::make_unique<BufferedInput>(*m.raw);
  } else {
    m.armor = std::make_unique<ArmorReader>(*m.raw);
    m.header_in = std::make_unique<BufferedInput>(*m.armor);
    m.summary.armored = true;
  }
  Header h = parse_header(*m.header_in);
  for (const auto& s : h.stanzas) m.summary.stanza_types.push_back(s.type);
  SecureBytes file_key = unwrap_file_key(h, keys);
  auto mac = header_mac(file_key, h.mac_input);
  // Constant-time: the MAC authenticates the whole header with the file key.
  if (sodium_memcmp(mac.data(), h.mac.data(), mac.size()) != 0)
    throw AgeError(ErrorKind::kHmac, "header MAC mismatch: the header was altered after encryption",
                   "the file key unwrapped but the header does not authenticate; get a fresh copy");
  uint8_t nonce[wire::kStreamNonceSize];
  size_t got = 0;
  while (got < sizeof nonce) {
    size_t n = m.header_in->read(std::span<uint8_t>(nonce + got, sizeof nonce - got));
    if (n == 0) header_error("file ends inside the 16-byte payload nonce (" + std::to_string(got) + " bytes)");
    got += n;
  }
  if (threads == 0) threads = std::min(2u, std::max(1u, std::thread::hardware_concurrency()));
  m.stream = std::make_unique<StreamDecryptor>(*m.header_in, payload_key(file_key, nonce), threads);
}

Decryptor::~Decryptor() = default;

size_t Decryptor::read(std::span<uint8_t> buf) {
  auto& m = *impl_;
  if (m.pending.empty()) m.pending = m.stream->next();
  // At the end the span is empty and may have no buffer: memcpy from a null
  // pointer is undefined even for zero bytes.
  if (m.pending.empty()) return 0;
  size_t n = std::min(buf.size(), m.pending.size());
  std::memcpy(buf.data(), m.pending.data(), n);
  m.pending = m.pending.subspan(n);
  m.summary.plaintext_bytes += n;
  return n;
}

uint64_t Decryptor::copy_to(Writer& out) {
  auto& m = *impl_;
  uint64_t total = 0;
  for (;;) {
    if (m.pending.empty()) m.pending = m.stream->next();
    if (m.pending.empty()) break;
    out.write(m.pending);
    total += m.pending.size();
    m.summary.plaintext_bytes += m.pending.size();
    m.pending = {};
  }
  return total;
}

const DecryptSummary& Decryptor::summary() const { return impl_->summary; }

std::string Decryptor::name() const { return impl_->name; }

}  // namespace airlock::age
