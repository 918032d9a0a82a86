// Bech32 (BIP 173 checksum), as age encodes keys: "age1..." recipients
// (lowercase) and "AGE-SECRET-KEY-1..." identities (uppercase). Unlike BIP
// 173 there is no 90-character limit; mixed case is refused.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secure.h"

namespace airlock::age {

// `hrp` is used as given (its case sets the output case).
std::string bech32_encode(std::string_view hrp, std::span<const uint8_t> data);

struct Bech32Decoded {
  std::string hrp;  // as written (case preserved)
  SecureBytes data;
};
// Throws AgeError(kKey) quoting what is wrong (never the whole string, which
// may be a secret key).
Bech32Decoded bech32_decode(std::string_view s);

}  // namespace airlock::age
