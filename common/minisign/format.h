// minisign wire format, written down once (jedisct1/minisign, src/minisign.h).
//
// Every file is text: an "untrusted comment: " line, then the padded
// standard base64 of one of the packed structs below. Signature files add a
// "trusted comment: " line and the base64 of the global signature. Multi-byte
// integers (kdf limits) are little-endian; the key id is 8 opaque bytes that
// minisign prints as a little-endian 64-bit number in uppercase hex.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace airlock::minisign::format {

// Algorithm tags (2 bytes each, no terminator on the wire).
inline constexpr char kSigAlg[2] = {'E', 'd'};        // Ed25519 over the raw message (legacy)
inline constexpr char kSigAlgHashed[2] = {'E', 'D'};  // Ed25519 over BLAKE2b-512(message)
inline constexpr char kKdfAlg[2] = {'S', 'c'};        // scrypt (xsalsa208sha256 flavour)
inline constexpr char kKdfNone[2] = {'\0', '\0'};     // unencrypted secret key (minisign -W)
inline constexpr char kChkAlg[2] = {'B', '2'};        // BLAKE2b-256 checksum

inline constexpr std::string_view kCommentPrefix = "untrusted comment: ";
inline constexpr std::string_view kTrustedCommentPrefix = "trusted comment: ";
inline constexpr std::string_view kPublicKeyComment = "minisign public key ";  // + key id
inline constexpr std::string_view kEncryptedKeyComment = "minisign encrypted secret key";
inline constexpr std::string_view kUnencryptedKeyComment = "minisign unencrypted secret key";
inline constexpr std::string_view kDefaultSignatureComment = "signature from minisign secret key";

// Line limits of minisign's readers (fgets buffers of COMMENTMAXBYTES = 1024
// and TRUSTEDCOMMENTMAXBYTES = 8192, each holding prefix, text, newline and
// NUL). Longer lines would be split by minisign, so we neither write nor
// accept them.
inline constexpr size_t kCommentLineMax = 1024 - 1;          // with prefix and LF
inline constexpr size_t kTrustedCommentLineMax = 8192 - 1;   // with prefix and LF
inline constexpr size_t kUntrustedCommentMax = kCommentLineMax - kCommentPrefix.size() - 1;
inline constexpr size_t kTrustedCommentMax = kTrustedCommentLineMax - kTrustedCommentPrefix.size() - 1;
// minisign reads passwords into a 1024-byte buffer.
inline constexpr size_t kPassphraseMax = 1023;

// scrypt work factors minisign writes (crypto_pwhash_scryptsalsa208sha256_
// {OPS,MEM}LIMIT_SENSITIVE). minisign halves both while the derivation
// fails for lack of memory, so files may carry smaller values, never larger.
inline constexpr uint64_t kOpsLimit = 33'554'432;
inline constexpr uint64_t kMemLimit = 1'073'741'824;
static_assert(kOpsLimit == crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE);
static_assert(kMemLimit == crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE);

inline constexpr size_t kKeyNumBytes = 8;

#pragma pack(push, 1)
struct KeynumSK {
  uint8_t keynum[kKeyNumBytes];
  uint8_t sk[crypto_sign_SECRETKEYBYTES];  // Ed25519 seed || public key
  uint8_t chk[crypto_generichash_BYTES];   // BLAKE2b-256(sig_alg || keynum || sk)
};

struct SeckeyStruct {
  uint8_t sig_alg[2];
  uint8_t kdf_alg[2];
  uint8_t chk_alg[2];
  uint8_t kdf_salt[crypto_pwhash_scryptsalsa208sha256_SALTBYTES];
  uint8_t kdf_opslimit_le[8];
  uint8_t kdf_memlimit_le[8];
  KeynumSK keynum_sk;  // XORed with the scrypt output when kdf_alg is "Sc"
};

struct KeynumPK {
  uint8_t keynum[kKeyNumBytes];
  uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};

struct PubkeyStruct {
  uint8_t sig_alg[2];  // always "Ed", also for keys that make "ED" signatures
  KeynumPK keynum_pk;
};

struct SigStruct {
  uint8_t sig_alg[2];  // "Ed" or "ED"
  uint8_t keynum[kKeyNumBytes];
  uint8_t sig[crypto_sign_BYTES];
};
#pragma pack(pop)

static_assert(sizeof(KeynumSK) == 104);
static_assert(sizeof(SeckeyStruct) == 158);
static_assert(offsetof(SeckeyStruct, keynum_sk) == 54);
static_assert(sizeof(KeynumPK) == 40);
static_assert(sizeof(PubkeyStruct) == 42);
static_assert(sizeof(SigStruct) == 74);
static_assert(crypto_sign_BYTES == 64 && crypto_sign_PUBLICKEYBYTES == 32 &&
              crypto_sign_SECRETKEYBYTES == 64 && crypto_generichash_BYTES == 32 &&
              crypto_pwhash_scryptsalsa208sha256_SALTBYTES == 32);

}  // namespace airlock::minisign::format
