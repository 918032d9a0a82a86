// minisign signature files (.minisig): parsing, writing, and signing.
//
//   untrusted comment: <text>
//   base64(SigStruct: "ED" | keynum | Ed25519 signature)
//   trusted comment: <text>
//   base64(Ed25519 signature over sig || trusted comment)
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "common/hash.h"
#include "common/minisign/codec.h"
#include "common/minisign/format.h"
#include "common/minisign/minisign.h"

namespace airlock::minisign {

namespace fmt = format;
using detail::quote;

namespace {

MinisignError format_error(const std::string& name, const std::string& what) {
  return MinisignError(ErrorKind::kSignatureFormat, name + ": " + what,
                       "a minisign signature file has four lines: untrusted comment, signature, "
                       "trusted comment, global signature");
}

// A comment must stay on its line and within what minisign reads back.
// Returns an empty string if fine, else what is wrong.
std::string comment_problem(std::string_view c, size_t max) {
  if (c.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    return "contains a line break or NUL byte";
  if (c.size() > max) return "is " + std::to_string(c.size()) + " bytes, over minisign's limit of " + std::to_string(max);
  return {};
}

}  // namespace

Signature Signature::parse(std::string_view text, const std::string& name) {
  auto lines = detail::split_lines(text, ErrorKind::kSignatureFormat, name);
  if (lines.size() != 4)
    throw format_error(name, "expected 4 lines, found " + std::to_string(lines.size()));
  Signature s;

  if (!lines[0].starts_with(fmt::kCommentPrefix))
    throw format_error(name, "line 1 does not start with \"untrusted comment: \": " + quote(lines[0]));
  s.untrusted_comment = lines[0].substr(fmt::kCommentPrefix.size());
  if (auto p = comment_problem(s.untrusted_comment, fmt::kUntrustedCommentMax); !p.empty())
    throw format_error(name, "line 1: untrusted comment " + p);

  fmt::SigStruct ss{};
  if (!detail::b64_decode_exact(lines[1], std::span<uint8_t>(reinterpret_cast<uint8_t*>(&ss), sizeof ss)))
    throw format_error(name, "line 2 is not the base64 of a " + std::to_string(sizeof ss) +
                                 "-byte minisign signature: " + quote(lines[1]));
  if (std::memcmp(ss.sig_alg, fmt::kSigAlgHashed, 2) == 0) s.prehashed = true;
  else if (std::memcmp(ss.sig_alg, fmt::kSigAlg, 2) == 0) s.prehashed = false;
  else
    throw format_error(name, "line 2: unsupported signature algorithm " +
                                 quote({reinterpret_cast<const char*>(ss.sig_alg), 2}) + " (expected \"ED\" or \"Ed\")");
  std::copy_n(ss.keynum, s.key_id.size(), s.key_id.begin());
  std::copy_n(ss.sig, s.sig.size(), s.sig.begin());

  if (!lines[2].starts_with(fmt::kTrustedCommentPrefix))
    throw format_error(name, "line 3 does not start with \"trusted comment: \": " + quote(lines[2]));
  s.trusted_comment = lines[2].substr(fmt::kTrustedCommentPrefix.size());
  if (auto p = comment_problem(s.trusted_comment, fmt::kTrustedCommentMax); !p.empty())
    throw format_error(name, "line 3: trusted comment " + p);

  if (!detail::b64_decode_exact(lines[3], s.global_sig))
    throw format_error(name, "line 4 is not the base64 of a 64-byte global signature: " + quote(lines[3]));
  return s;
}

std::string Signature::file_text() const {
  if (auto p = comment_problem(untrusted_comment, fmt::kUntrustedCommentMax); !p.empty())
    throw Error(Exit::kUsage, "untrusted comment " + p + ": " + quote(untrusted_comment));
  if (auto p = comment_problem(trusted_comment, fmt::kTrustedCommentMax); !p.empty())
    throw Error(Exit::kUsage, "trusted comment " + p + ": " + quote(trusted_comment));
  fmt::SigStruct ss{};
  std::memcpy(ss.sig_alg, prehashed ? fmt::kSigAlgHashed : fmt::kSigAlg, 2);
  std::copy(key_id.begin(), key_id.end(), ss.keynum);
  std::copy(sig.begin(), sig.end(), ss.sig);
  std::string out;
  out += fmt::kCommentPrefix;
  out += untrusted_comment;
  out += '\n';
  out += detail::b64_encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&ss), sizeof ss));
  out += '\n';
  out += fmt::kTrustedCommentPrefix;
  out += trusted_comment;
  out += '\n';
  out += detail::b64_encode(global_sig);
  out += '\n';
  return out;
}

Signature sign_prehashed(const SecretKey& sk, std::span<const uint8_t, 64> blake2b512,
                         std::string_view trusted_comment, std::string_view untrusted_comment) {
  sodium_ready();
  Signature s;
  s.prehashed = true;
  s.key_id = sk.key_id();
  s.trusted_comment = trusted_comment;
  s.untrusted_comment = untrusted_comment.empty() ? fmt::kDefaultSignatureComment : untrusted_comment;
  if (auto p = comment_problem(s.trusted_comment, fmt::kTrustedCommentMax); !p.empty())
    throw Error(Exit::kUsage, "trusted comment " + p + ": " + quote(s.trusted_comment));
  if (auto p = comment_problem(s.untrusted_comment, fmt::kUntrustedCommentMax); !p.empty())
    throw Error(Exit::kUsage, "untrusted comment " + p + ": " + quote(s.untrusted_comment));

  const uint8_t* key = sk.ed25519_secret().data();
  crypto_sign_detached(s.sig.data(), nullptr, blake2b512.data(), blake2b512.size(), key);
  std::string global(s.sig.begin(), s.sig.end());
  global += trusted_comment;
  crypto_sign_detached(s.global_sig.data(), nullptr, reinterpret_cast<const uint8_t*>(global.data()),
                       global.size(), key);
  // Check our own work before anyone relies on it (a fault while signing
  // must not produce a bundle that fails only on the secure side).
  verify_prehashed(sk.public_key(), s, blake2b512);
  return s;
}

Signature sign_prehashed(const SecretKey& sk, std::span<const uint8_t> message, std::string_view trusted_comment,
                         std::string_view untrusted_comment) {
  Blake2b512 h;
  h.update(message);
  auto digest = h.digest();
  return sign_prehashed(sk, std::span<const uint8_t, 64>(digest), trusted_comment, untrusted_comment);
}

}  // namespace airlock::minisign
