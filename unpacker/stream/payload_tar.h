// The payload's tar (docs/format.md, section 4), read straight from the
// decrypted stream's blocks: ustar headers, pax extended headers ahead of
// a member, nothing else. A general archive library would convert every
// name to wide characters and back, allocate per entry and copy each
// file's bytes once more; this reader hands out the bytes where they lie.
//
// What it refuses, as a damaged payload (exit 1): a header that is not
// ustar (magic "ustar\0", version "00") or whose checksum is wrong, a
// malformed number or pax record, a pax header that is not followed by
// a member, a stream that ends inside a header or a member's data, and
// anything but zeros after the end-of-archive blocks (data hidden there
// would travel with the bundle, listed nowhere). Member types it does not
// extract (symlinks, devices, GNU extensions) are handed on with their
// type, for the entry policy to refuse by name.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace airlock::unpacker {

struct TarMember {
  std::string path;      // pax "path", or ustar prefix "/" name; as stored
  std::string link;      // pax "linkpath", or the linkname field
  char type = '0';       // the typeflag ('\0' and '7' read as '0')
  unsigned filetype = 0;  // S_IFREG, S_IFDIR, S_IFLNK, ...; 0 for a type of no file
  uint32_t mode = 0;     // the mode field's bits (07777)
  uint64_t size = 0;     // bytes of data (pax "size" wins)
  int64_t mtime = 0;     // seconds (pax "mtime" wins)
  long mtime_nsec = 0;
  bool sparse = false;  // a GNU sparse member (type 'S' or GNU.sparse.* records)
  uint64_t offset = 0;  // of its header (or its first pax header) in the tar
};

class PayloadTar {
 public:
  // `next_block` hands out the stream's next bytes (any size), empty at
  // its end; what it returned stays valid until it is called again.
  explicit PayloadTar(std::function<std::span<const uint8_t>()> next_block);

  // Reads the next member's header, skipping what is left of the current
  // member's data. False at the end of the archive, once the rest of the
  // stream has been read and found to be zeros. Throws Error(kVerify).
  bool next(TarMember& m);

  // The current member's data, a piece at a time as it lies in the
  // stream (valid until the next call): empty once all `size` bytes were
  // handed out. Members other than regular files give nothing.
  std::span<const uint8_t> data();

  uint64_t offset() const { return offset_; }  // bytes of tar consumed

 private:
  bool fill();
  const uint8_t* header_block();  // 512 bytes, or null at the stream's end
  void read_exact(uint8_t* out, size_t n, const char* what);
  void skip(uint64_t n, const char* what);
  [[noreturn]] void fail(const std::string& what, const std::string& hint = {}) const;

  std::function<std::span<const uint8_t>()> next_block_;
  std::span<const uint8_t> blk_;
  size_t pos_ = 0;
  uint64_t offset_ = 0;
  uint64_t left_ = 0;     // data bytes of the current member not handed out
  uint64_t pad_ = 0;      // zeros after them to the next 512-byte boundary
  uint64_t member_ = 0;   // offset of the current member, for messages
  std::array<uint8_t, 512> hdr_{};
};

}  // namespace airlock::unpacker
