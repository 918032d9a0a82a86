// Strict base64 (RFC 4648 standard alphabet) as age uses it: unpadded in the
// header, padded in the armor. Decoding is canonical: wrong length, padding
// where none is allowed, characters outside the alphabet (CR, LF, spaces) and
// non-zero unused trailing bits are all refused, so one byte string has one
// encoding (no malleability).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::age {

std::string base64_encode(std::span<const uint8_t> data, bool pad);
// nullopt when `s` is not the canonical encoding of some byte string.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view s, bool padded);
// Decodes into `out` (room for s.size() / 4 * 3 + 2 bytes); returns the byte count or -1.
long base64_decode_into(std::string_view s, bool padded, uint8_t* out);

}  // namespace airlock::age
