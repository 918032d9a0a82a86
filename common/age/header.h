// The age v1 header: intro line, recipient stanzas, MAC line.
//
//   age-encryption.org/v1
//   -> TYPE ARG...            one stanza per recipient
//   BASE64 BODY (64 columns, the last line shorter, possibly empty)
//   --- BASE64(HMAC)
//
// Parsing is strict and canonical (see parse_header); writing produces the
// one canonical form.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/age/age.h"
#include "common/age/format.h"
#include "common/age/input.h"

namespace airlock::age {

struct Stanza {
  std::string type;
  std::vector<std::string> args;
  std::vector<uint8_t> body;
};

struct Header {
  std::vector<Stanza> stanzas;
  std::array<uint8_t, wire::kMacSize> mac{};
  // The header bytes the MAC covers: from the intro through "---".
  std::string mac_input;
};

// Limits that keep a hostile header from using unbounded memory.
inline constexpr size_t kMaxHeaderLine = 64 * 1024;
inline constexpr size_t kMaxHeaderBytes = 16 * 1024 * 1024;

// Reads the header from `in`, leaving `in` at the first payload byte.
// Throws AgeError(kHeader) "parsing age header: ...".
Header parse_header(BufferedInput& in);

// Serialises stanzas and the "---" line without the MAC (the MAC input).
std::string encode_header_without_mac(const std::vector<Stanza>& stanzas);
// The full header given the MAC input and the MAC.
std::string encode_header(const std::string& mac_input, std::span<const uint8_t> mac);

// HMAC-SHA-256 under HKDF(file key, "", "header") over mac_input.
std::array<uint8_t, wire::kMacSize> header_mac(const SecureBytes& file_key, std::string_view mac_input);

// Quotes untrusted input for an error message: printable ASCII kept, the
// rest escaped, long input cut.
std::string quote(std::string_view s, size_t max = 80);

[[noreturn]] void header_error(const std::string& what);

}  // namespace airlock::age
