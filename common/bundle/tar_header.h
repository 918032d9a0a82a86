// A ustar header for the envelope's members. The envelope is written by hand
// (not libarchive) because payload.age's header must be patched in place
// once its size is known: sizes under 8 GiB are octal, larger ones use the
// base-256 form that GNU tar, bsdtar and Python's tarfile all read.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace airlock::bundle {

inline constexpr size_t kTarBlock = 512;

struct UstarHeader {
  char name[100];
  char mode[8];
  char uid[8];
  char gid[8];
  char size[12];
  char mtime[12];
  char chksum[8];
  char typeflag;
  char linkname[100];
  char magic[6];
  char version[2];
  char uname[32];
  char gname[32];
  char devmajor[8];
  char devminor[8];
  char prefix[155];
  char pad[12];
};
static_assert(sizeof(UstarHeader) == kTarBlock);

// Writes v as exactly `digits` octal digits (leading zeros, no terminator).
// False when v does not fit; the field is then all '7's.
bool put_octal(char* field, size_t digits, uint64_t v);

// The checksum of a header whose chksum field is still to be filled: the
// sum of its bytes with that field counted as spaces.
unsigned ustar_checksum(const UstarHeader& h);

// A regular-file header for `name` (short names only: the envelope's four).
std::array<uint8_t, kTarBlock> ustar_file_header(std::string_view name, uint64_t size, uint64_t mtime, uint32_t mode);

// Bytes of padding after `size` bytes of data to reach a block boundary.
inline size_t tar_padding(uint64_t size) { return static_cast<size_t>((kTarBlock - size % kTarBlock) % kTarBlock); }

}  // namespace airlock::bundle
