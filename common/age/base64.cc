#include "common/age/base64.h"

#include <array>

namespace airlock::age {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();
}  // namespace

std::string base64_encode(std::span<const uint8_t> data, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

long base64_decode_into(std::string_view s, bool padded, uint8_t* out) {
  size_t n = s.size();
  size_t tail = 0;  // characters in the final partial group
  if (padded) {
    if (n % 4 != 0) return -1;
    if (n >= 1 && s[n - 1] == '=') {
      --n;
      if (n >= 1 && s[n - 1] == '=') --n;
    }
    tail = n % 4;
  } else {
    tail = n % 4;
  }
  if (tail == 1) return -1;  // 6 bits cannot end a byte string
  long o = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    int a = kTable[static_cast<uint8_t>(s[i])], b = kTable[static_cast<uint8_t>(s[i + 1])];
    int c = kTable[static_cast<uint8_t>(s[i + 2])], d = kTable[static_cast<uint8_t>(s[i + 3])];
    if ((a | b | c | d) < 0) return -1;
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    out[o++] = static_cast<uint8_t>(v >> 16);
    out[o++] = static_cast<uint8_t>(v >> 8);
    out[o++] = static_cast<uint8_t>(v);
  }
  if (tail == 2 || tail == 3) {
    int a = kTable[static_cast<uint8_t>(s[i])], b = kTable[static_cast<uint8_t>(s[i + 1])];
    int c = tail == 3 ? kTable[static_cast<uint8_t>(s[i + 2])] : 0;
    if ((a | b | c) < 0) return -1;
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6);
    // Canonical: the bits past the last whole byte must be zero.
    if (tail == 2 && (v & 0xFFFF) != 0) return -1;
    if (tail == 3 && (v & 0xFF) != 0) return -1;
    out[o++] = static_cast<uint8_t>(v >> 16);
    if (tail == 3) out[o++] = static_cast<uint8_t>(v >> 8);
  }
  return o;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view s, bool padded) {
  std::vector<uint8_t> out(s.size() / 4 * 3 + 3);
  long n = base64_decode_into(s, padded, out.data());
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace airlock::age
