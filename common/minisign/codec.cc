#include "common/minisign/codec.h"

#include <sodium.h>

namespace airlock::minisign {

namespace {
Exit exit_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kKeyFormat:
    case ErrorKind::kPassphrase:
      return Exit::kUsage;  // the operator's own key or passphrase
    case ErrorKind::kSignatureFormat:
    case ErrorKind::kWrongKey:
    case ErrorKind::kBadSignature:
    case ErrorKind::kBadGlobal:
      return Exit::kVerify;
  }
  return Exit::kVerify;
}
}  // namespace

MinisignError::MinisignError(ErrorKind kind, std::string message, std::string hint)
    : Error(exit_for(kind), std::move(message), std::move(hint)), kind_(kind) {}

namespace detail {

std::string b64_encode(std::span<const uint8_t> data) {
  sodium_ready();
  std::string out(sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

bool b64_decode_exact(std::string_view s, std::span<uint8_t> out) {
  sodium_ready();
  // Exact length first: canonical padded base64 of n bytes is 4*ceil(n/3).
  if (s.size() != (out.size() + 2) / 3 * 4) return false;
  size_t len = 0;
  const char* end = nullptr;
  // libsodium refuses non-zero padding bits and missing padding; with no
  // ignore set, any space or stray character fails too.
  if (sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return false;
  return len == out.size() && end == s.data() + s.size();
}

std::vector<std::string_view> split_lines(std::string_view text, ErrorKind kind, const std::string& name) {
  if (text.find('\0') != std::string_view::npos)
    throw MinisignError(kind, name + ": contains a NUL byte at offset " + std::to_string(text.find('\0')));
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return lines;
}

std::string quote(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

uint64_t le64_load(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void le64_store(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

}  // namespace detail
}  // namespace airlock::minisign
