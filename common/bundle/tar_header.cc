#include "common/bundle/tar_header.h"

#include <cstdio>
#include <cstring>

namespace airlock::bundle {

bool put_octal(char* field, size_t digits, uint64_t v) {
  if (digits < 22 && v >> (3 * digits) != 0) {
    std::memset(field, '7', digits);
    return false;
  }
  for (size_t i = digits; i-- > 0;) {
    field[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
  return true;
}

unsigned ustar_checksum(const UstarHeader& h) {
  const auto* b = reinterpret_cast<const uint8_t*>(&h);
  unsigned sum = 0;
  for (size_t i = 0; i < sizeof h; ++i) sum += b[i];
  const auto* c = reinterpret_cast<const uint8_t*>(h.chksum);
  for (size_t i = 0; i < sizeof h.chksum; ++i) sum += ' ' - c[i];
  return sum;
}

namespace {
void octal(char* field, size_t width, uint64_t v) {
  // width-1 octal digits and a NUL, as ustar writes them.
  put_octal(field, width - 1, v);
  field[width - 1] = '\0';
}
}  // namespace

std::array<uint8_t, kTarBlock> ustar_file_header(std::string_view name, uint64_t size, uint64_t mtime, uint32_t mode) {
  UstarHeader h;
  std::memset(&h, 0, sizeof h);
  std::memcpy(h.name, name.data(), std::min(name.size(), sizeof h.name));
  octal(h.mode, sizeof h.mode, mode);
  octal(h.uid, sizeof h.uid, 0);
  octal(h.gid, sizeof h.gid, 0);
  if (size < (uint64_t{1} << 33)) {
    octal(h.size, sizeof h.size, size);
  } else {
    // base-256: high bit of the first byte set, big-endian value after it.
    auto* p = reinterpret_cast<uint8_t*>(h.size);
    p[0] = 0x80;
    for (int i = 11; i >= 4; --i) {
      p[i] = static_cast<uint8_t>(size & 0xff);
      size >>= 8;
    }
  }
  octal(h.mtime, sizeof h.mtime, mtime);
  h.typeflag = '0';
  std::memcpy(h.magic, "ustar", 6);
  std::memcpy(h.version, "00", 2);
  octal(h.chksum, 7, ustar_checksum(h));  // six digits, NUL, space
  h.chksum[7] = ' ';
  std::array<uint8_t, kTarBlock> out{};
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

}  // namespace airlock::bundle
