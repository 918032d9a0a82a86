// age v1 wire constants (C2SP age spec), in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace airlock::age::wire {

// Header grammar.
inline constexpr std::string_view kIntro = "age-encryption.org/v1\n";
inline constexpr std::string_view kIntroPrefix = "age-encryption.org/";  // any version: binary, not armor
inline constexpr std::string_view kStanzaPrefix = "->";
inline constexpr std::string_view kFooterPrefix = "---";
inline constexpr size_t kColumnsPerLine = 64;  // base64 characters per body line
inline constexpr size_t kBytesPerLine = kColumnsPerLine / 4 * 3;
static_assert(kBytesPerLine == 48);

// Keys and labels.
inline constexpr size_t kFileKeySize = 16;
inline constexpr size_t kMacSize = 32;         // HMAC-SHA-256
inline constexpr size_t kAeadKeySize = 32;     // ChaCha20-Poly1305
inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadTagSize = 16;
inline constexpr size_t kWrappedFileKeySize = kFileKeySize + kAeadTagSize;
static_assert(kWrappedFileKeySize == 32);
inline constexpr std::string_view kHeaderMacInfo = "header";
inline constexpr std::string_view kPayloadInfo = "payload";

inline constexpr std::string_view kX25519Type = "X25519";
inline constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
inline constexpr size_t kX25519Size = 32;  // scalars and points
inline constexpr std::string_view kRecipientHrp = "age";
inline constexpr std::string_view kIdentityHrp = "AGE-SECRET-KEY-";

inline constexpr std::string_view kScryptType = "scrypt";
inline constexpr std::string_view kScryptLabel = "age-encryption.org/v1/scrypt";
inline constexpr size_t kScryptSaltSize = 16;
inline constexpr int kScryptDefaultLogN = 18;  // encrypting
inline constexpr int kScryptMaxLogN = 22;      // decrypting: refuse more work than this
inline constexpr uint32_t kScryptR = 8;
inline constexpr uint32_t kScryptP = 1;

// STREAM payload.
inline constexpr size_t kStreamNonceSize = 16;  // HKDF salt for the payload key
inline constexpr size_t kChunkSize = 64 * 1024;
inline constexpr size_t kEncChunkSize = kChunkSize + kAeadTagSize;
static_assert(kEncChunkSize == 65'552);
inline constexpr size_t kCounterSize = 11;  // big-endian chunk counter, then the last-chunk flag
static_assert(kCounterSize + 1 == kAeadNonceSize);
inline constexpr uint8_t kLastChunkFlag = 0x01;

// ASCII armor (strict PEM).
inline constexpr std::string_view kArmorBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
inline constexpr std::string_view kArmorEnd = "-----END AGE ENCRYPTED FILE-----";
inline constexpr std::string_view kArmorPreamble = "-----";  // what marks input as armor
inline constexpr size_t kArmorMaxWhitespace = 1024;  // allowed around the armor

}  // namespace airlock::age::wire
