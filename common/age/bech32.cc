#include "common/age/bech32.h"

#include <sodium.h>

#include <cstring>

#include "common/age/age.h"

namespace airlock::age {

namespace {
constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t polymod(const std::vector<uint8_t>& v) {
  constexpr uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t x : v) {
    uint32_t b = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ x;
    for (int i = 0; i < 5; ++i)
      if ((b >> i) & 1) chk ^= gen[i];
  }
  return chk;
}

std::vector<uint8_t> hrp_expand(std::string_view hrp) {
  std::vector<uint8_t> v;
  for (char c : hrp) v.push_back(static_cast<uint8_t>(static_cast<unsigned char>(c) >> 5));
  v.push_back(0);
  for (char c : hrp) v.push_back(static_cast<uint8_t>(c & 31));
  return v;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

[[noreturn]] void key_error(const std::string& what) {
  throw AgeError(ErrorKind::kKey, "malformed key: " + what);
}
}  // namespace

std::string bech32_encode(std::string_view hrp, std::span<const uint8_t> data) {
  bool up = !hrp.empty() && hrp[0] >= 'A' && hrp[0] <= 'Z';
  std::string lhrp;
  for (char c : hrp) lhrp += lower(c);
  // 8-bit to 5-bit groups, zero padded.
  std::vector<uint8_t> five;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : data) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      five.push_back(static_cast<uint8_t>((acc >> bits) & 31));
    }
  }
  if (bits > 0) five.push_back(static_cast<uint8_t>((acc << (5 - bits)) & 31));
  std::vector<uint8_t> v = hrp_expand(lhrp);
  v.insert(v.end(), five.begin(), five.end());
  v.insert(v.end(), 6, 0);
  uint32_t mod = polymod(v) ^ 1;
  for (int i = 0; i < 6; ++i) five.push_back(static_cast<uint8_t>((mod >> (5 * (5 - i))) & 31));
  std::string out;
  out.reserve(lhrp.size() + 1 + five.size());  // no reallocation leaves copies of a secret key behind
  out = lhrp + "1";
  for (uint8_t x : five) out += kCharset[x];
  if (up)
    for (char& c : out) c = upper(c);
  sodium_memzero(&acc, sizeof acc);
  return out;
}

Bech32Decoded bech32_decode(std::string_view s) {
  bool has_lower = false, has_upper = false;
  for (char c : s) {
    if (c < 33 || c > 126) key_error("invalid character (code " + std::to_string(static_cast<unsigned char>(c)) + ")");
    if (c >= 'a' && c <= 'z') has_lower = true;
    if (c >= 'A' && c <= 'Z') has_upper = true;
  }
  if (has_lower && has_upper) key_error("mixed upper and lower case");
  size_t pos = s.rfind('1');
  if (pos == std::string_view::npos || pos < 1 || pos + 7 > s.size())
    key_error("no separator '1' with a 6-character checksum after it");
  std::string lhrp;
  for (char c : s.substr(0, pos)) lhrp += lower(c);
  std::vector<uint8_t> v = hrp_expand(lhrp);
  std::vector<uint8_t> five;
  for (char c : s.substr(pos + 1)) {
    const char* p = std::strchr(kCharset, lower(c));
    if (!p || !*p) key_error("invalid data character " + std::string(1, c));
    five.push_back(static_cast<uint8_t>(p - kCharset));
  }
  v.insert(v.end(), five.begin(), five.end());
  if (polymod(v) != 1) key_error("invalid checksum (a typo, or a truncated key)");
  five.resize(five.size() - 6);
  // 5-bit to 8-bit; padding must be under 5 bits and zero.
  std::vector<uint8_t> bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t x : five) {
    acc = (acc << 5) | x;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0) key_error("invalid padding");
  Bech32Decoded d{std::string(s.substr(0, pos)), SecureBytes(std::span<const uint8_t>(bytes))};
  sodium_memzero(bytes.data(), bytes.size());
  sodium_memzero(five.data(), five.size());
  return d;
}

}  // namespace airlock::age
