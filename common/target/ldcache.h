// /etc/ld.so.cache: the dynamic loader's map from library name to file,
// written by ldconfig (glibc's sysdeps/generic/dl-cache.h, elf/cache.c and
// elf/dl-cache.c). Three layouts exist:
//
//   old      "ld.so-1.7.0", u32 nlibs, nlibs x {i32 flags, u32 key, u32 value},
//            then the strings; key and value count from the end of the
//            entries.
//   new      "glibc-ld.so.cache" "1.1", u32 nlibs, u32 len_strings, u8 flags,
//            3 pad, u32 extension_offset, u32 unused[3] (48 bytes), then
//            nlibs x {i32 flags, u32 key, u32 value, u32 osversion, u64 hwcap}
//            (24 bytes), then the strings; key and value count from the new
//            header's first byte. ldconfig's default since glibc 2.32.
//   compat   the old layout, padded to 8 bytes, then the new one (glibc
//            2.2 to 2.31); the loader reads the new part, and so do we.
//
// The file is read from the node, so it is hostile input: every count and
// offset is checked against the buffer before it is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace airlock::target {

namespace ldcache {

inline constexpr std::string_view kOldMagic = "ld.so-1.7.0";
inline constexpr std::string_view kNewMagic = "glibc-ld.so.cache1.1";  // magic + version

// flags: the library kind in the low byte, the ABI in the high byte
// (elf/ldconfig.h). x86-64 glibc libraries are FLAG_ELF_LIBC6 | FLAG_X8664_LIB64.
inline constexpr int32_t kFlagElfLibc6 = 0x0003;
inline constexpr int32_t kFlagX8664Lib64 = 0x0300;
inline constexpr int32_t kFlagsX8664Libc6 = kFlagElfLibc6 | kFlagX8664Lib64;

// The new header's flags byte: its low two bits give the byte order.
inline constexpr uint8_t kEndianMask = 3;
inline constexpr uint8_t kEndianUnset = 0;    // an old ldconfig wrote it
inline constexpr uint8_t kEndianInvalid = 1;  // "ignore this cache"
inline constexpr uint8_t kEndianLittle = 2;
inline constexpr uint8_t kEndianBig = 3;

// Read with memcpy from the buffer, never by casting into it.
struct OldHeader {
  char magic[11];
  uint32_t nlibs;
};
struct OldEntry {
  int32_t flags;
  uint32_t key, value;
};
struct NewHeader {
  char magic[20];  // kNewMagic, not NUL-terminated
  uint32_t nlibs;
  uint32_t len_strings;
  uint8_t flags;
  uint8_t padding[3];
  uint32_t extension_offset;
  uint32_t unused[3];
};
struct NewEntry {
  int32_t flags;
  uint32_t key, value;
  uint32_t osversion;
  uint64_t hwcap;
};
static_assert(sizeof(OldHeader) == 16);
static_assert(sizeof(OldEntry) == 12);
static_assert(sizeof(NewHeader) == 48);
static_assert(offsetof(NewHeader, flags) == 28);
static_assert(sizeof(NewEntry) == 24);
// Where the new header starts in a compat file: the old part rounded up
// to the new header's alignment (ALIGN_CACHE).
inline constexpr size_t kNewAlign = alignof(NewEntry);
static_assert(kNewAlign == 8);

}  // namespace ldcache

enum class LdCacheFormat { kOld, kNew, kCompat };

struct LdCacheEntry {
  std::string name;  // what the loader looks up: the soname (or the file name)
  std::string path;  // the file, absolute, as the node sees it
  int32_t flags = 0;
  uint64_t hwcap = 0;  // non-zero: a glibc-hwcaps or hwcap-subdirectory variant
};

struct LdCache {
  LdCacheFormat format = LdCacheFormat::kNew;
  std::vector<LdCacheEntry> entries;  // those with the wanted flags, in file order
  size_t other_abi = 0;               // entries left out for their flags (i386, x32, ...)
};

// "parsing ld.so.cache NAME: ...", exit 2.
class LdCacheError : public Error {
 public:
  LdCacheError(const std::string& name, const std::string& what);
};

// Parses a whole cache file held in memory; keeps the entries whose flags
// equal `want_flags`. `name` is used in errors.
LdCache parse_ldcache(std::span<const uint8_t> bytes, const std::string& name,
                      int32_t want_flags = ldcache::kFlagsX8664Libc6);

}  // namespace airlock::target
