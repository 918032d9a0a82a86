#include "common/target/ldcache.h"

#include <algorithm>
#include <cstring>

namespace airlock::target {

namespace lc = ldcache;

LdCacheError::LdCacheError(const std::string& name, const std::string& what)
    : Error(Exit::kUsage, "parsing ld.so.cache " + name + ": " + what) {}

namespace {

std::string_view as_chars(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

template <class T>
T read_at(std::span<const uint8_t> buf, size_t off) {
  T t;
  std::memcpy(&t, buf.data() + off, sizeof t);
  return t;
}

bool has_magic(std::span<const uint8_t> buf, size_t off, std::string_view magic) {
  return off <= buf.size() && buf.size() - off >= magic.size() &&
         std::memcmp(buf.data() + off, magic.data(), magic.size()) == 0;
}

// The strings of one part of the file: offsets count from `base`; a string
// must end with a NUL inside the buffer.
struct Strings {
  std::span<const uint8_t> buf;
  size_t base;
  const std::string& name;
  // What all entries may copy out together. Each string is found by its own
  // offset, so every entry of a hostile file could name its longest string
  // and make the result quadratic in the file's size. ldconfig shares bytes
  // (a name is the tail of its path, hwcap variants share names), so a real
  // cache copies out less than twice its size.
  mutable uint64_t budget = 4 * uint64_t{buf.size()} + 4096;

  std::string at(uint32_t off, size_t entry, const char* what) const {
    // base <= buf.size() is checked by the callers; the sum cannot wrap
    // (both are below 2^32 + buf.size()).
    uint64_t pos = static_cast<uint64_t>(base) + off;
    if (pos >= buf.size())
      throw LdCacheError(name, "entry " + std::to_string(entry) + ": " + what + " offset " + std::to_string(off) +
                                   " lies beyond the end of the file (" + std::to_string(buf.size()) + " bytes)");
    auto rest = as_chars(buf.subspan(static_cast<size_t>(pos)));
    size_t nul = rest.find('\0');
    if (nul == std::string_view::npos)
      throw LdCacheError(name, "entry " + std::to_string(entry) + ": " + what + " at offset " + std::to_string(off) +
                                   " is not NUL-terminated");
    if (nul == 0) throw LdCacheError(name, "entry " + std::to_string(entry) + ": empty " + what);
    if (nul > budget)
      throw LdCacheError(name, "entry " + std::to_string(entry) + ": the entries name more string bytes than " +
                                   "4 times the file's size (" + std::to_string(buf.size()) + " bytes)");
    budget -= nul;
    return std::string(rest.substr(0, nul));
  }
};

void add_entry(LdCache& out, const Strings& s, size_t i, int32_t flags, uint32_t key, uint32_t value,
               uint64_t hwcap, int32_t want_flags) {
  if (flags != want_flags) {
    ++out.other_abi;
    return;
  }
  LdCacheEntry e;
  e.name = s.at(key, i, "name");
  e.path = s.at(value, i, "path");
  e.flags = flags;
  e.hwcap = hwcap;
  // ldconfig writes absolute paths; the loader would open a relative one
  // against its working directory, which says nothing about the node.
  if (e.path.front() != '/')
    throw LdCacheError(s.name, "entry " + std::to_string(i) + ": path " + quote(e.path) + " is not absolute");
  if (e.name.find('/') != std::string::npos)
    throw LdCacheError(s.name, "entry " + std::to_string(i) + ": name " + quote(e.name) + " contains a '/'");
  out.entries.push_back(std::move(e));
}

// The new layout at `off` (0, or after the old part of a compat file).
void parse_new(std::span<const uint8_t> buf, size_t off, const std::string& name, int32_t want_flags,
               LdCache& out) {
  if (buf.size() - off < sizeof(lc::NewHeader))
    throw LdCacheError(name, "truncated: the header at offset " + std::to_string(off) + " needs " +
                                 std::to_string(sizeof(lc::NewHeader)) + " bytes, " +
                                 std::to_string(buf.size() - off) + " are left");
  auto h = read_at<lc::NewHeader>(buf, off);
  uint8_t endian = h.flags & lc::kEndianMask;
  if (endian == lc::kEndianInvalid) throw LdCacheError(name, "ldconfig marked this cache invalid (flags byte 1)");
  if (endian == lc::kEndianBig) throw LdCacheError(name, "big-endian cache on a little-endian node");
  // Checked by division, so a hostile count cannot overflow the product.
  size_t room = (buf.size() - off - sizeof(lc::NewHeader)) / sizeof(lc::NewEntry);
  if (h.nlibs > room)
    throw LdCacheError(name, "header claims " + std::to_string(h.nlibs) + " entries; the file has room for " +
                                 std::to_string(room));
  Strings s{buf, off, name};
  size_t first = off + sizeof(lc::NewHeader);
  for (size_t i = 0; i < h.nlibs; ++i) {
    auto e = read_at<lc::NewEntry>(buf, first + i * sizeof(lc::NewEntry));
    add_entry(out, s, i, e.flags, e.key, e.value, e.hwcap, want_flags);
  }
}

}  // namespace

LdCache parse_ldcache(std::span<const uint8_t> buf, const std::string& name, int32_t want_flags) {
  LdCache out;
  if (has_magic(buf, 0, lc::kNewMagic)) {
    out.format = LdCacheFormat::kNew;
    parse_new(buf, 0, name, want_flags, out);
    return out;
  }
  if (!has_magic(buf, 0, lc::kOldMagic)) {
    if (buf.empty()) throw LdCacheError(name, "empty file");
    throw LdCacheError(name, "not an ld.so.cache: starts with " +
                                 quote(as_chars(buf.first(std::min<size_t>(buf.size(), 20))), 20) + ", expected " +
                                 quote(lc::kNewMagic) + " or " + quote(lc::kOldMagic));
  }
  if (buf.size() < sizeof(lc::OldHeader))
    throw LdCacheError(name, "truncated: " + std::to_string(buf.size()) + " bytes, the header alone needs " +
                                 std::to_string(sizeof(lc::OldHeader)));
  auto h = read_at<lc::OldHeader>(buf, 0);
  size_t room = (buf.size() - sizeof(lc::OldHeader)) / sizeof(lc::OldEntry);
  if (h.nlibs > room)
    throw LdCacheError(name, "header claims " + std::to_string(h.nlibs) + " entries; the file has room for " +
                                 std::to_string(room));
  size_t old_end = sizeof(lc::OldHeader) + size_t{h.nlibs} * sizeof(lc::OldEntry);
  size_t new_off = (old_end + lc::kNewAlign - 1) / lc::kNewAlign * lc::kNewAlign;
  // A compat file: the loader uses the new part and ignores the old one.
  if (has_magic(buf, new_off, lc::kNewMagic)) {
    out.format = LdCacheFormat::kCompat;
    parse_new(buf, new_off, name, want_flags, out);
    return out;
  }
  out.format = LdCacheFormat::kOld;
  Strings s{buf, old_end, name};
  for (size_t i = 0; i < h.nlibs; ++i) {
    auto e = read_at<lc::OldEntry>(buf, sizeof(lc::OldHeader) + i * sizeof(lc::OldEntry));
    add_entry(out, s, i, e.flags, e.key, e.value, 0, want_flags);
  }
  return out;
}

}  // namespace airlock::target
