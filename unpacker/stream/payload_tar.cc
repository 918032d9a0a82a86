#include "unpacker/stream/payload_tar.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "common/bundle/tar_header.h"
#include "common/error.h"

namespace airlock::unpacker {

namespace {

using bundle::kTarBlock;
using bundle::UstarHeader;

constexpr uint64_t kMaxPaxBytes = 1 << 20;  // one member's pax records
constexpr uint64_t kMaxSize = uint64_t{1} << 62;

// What pax records ahead of one member say.
struct Pax {
  std::optional<std::string> path, link;
  std::optional<uint64_t> size;
  std::optional<std::pair<int64_t, long>> mtime;
  bool sparse = false;
};

size_t field_len(const char* f, size_t width) { return strnlen(f, width); }

// A ustar number: octal digits, leading spaces or zeros, ended by NUL or
// space; or base-256 (first byte 0x80 positive, 0xff negative), as GNU tar,
// libarchive and our packer write values octal cannot hold.
std::optional<int64_t> number(const char* f, size_t width) {
  const auto* u = reinterpret_cast<const uint8_t*>(f);
  if (u[0] == 0x80 || u[0] == 0xff) {
    bool neg = u[0] == 0xff;
    uint64_t v = neg ? ~uint64_t{0} : 0;
    for (size_t i = 1; i < width; ++i) {
      if (!neg && (v >> 55) != 0) return std::nullopt;  // more than 63 bits
      if (neg && (v >> 55) != 0x1ff) return std::nullopt;
      v = (v << 8) | u[i];
    }
    return static_cast<int64_t>(v);
  }
  size_t i = 0;
  while (i < width && f[i] == ' ') ++i;
  uint64_t v = 0;
  size_t digits = 0;
  for (; i < width && f[i] >= '0' && f[i] <= '7'; ++i, ++digits) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + static_cast<uint64_t>(f[i] - '0');
  }
  for (; i < width; ++i)
    if (f[i] != ' ' && f[i] != '\0') return std::nullopt;
  if (digits == 0) return 0;  // an empty field, as some writers leave devices
  return static_cast<int64_t>(v);
}

std::optional<uint64_t> decimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// "SECONDS[.FRACTION]", SECONDS possibly negative.
std::optional<std::pair<int64_t, long>> pax_time(std::string_view s) {
  bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  size_t dot = s.find('.');
  auto sec = decimal(s.substr(0, dot));
  if (!sec || *sec > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  long nsec = 0;
  if (dot != std::string_view::npos) {
    std::string_view frac = s.substr(dot + 1);
    if (frac.empty()) return std::nullopt;
    for (size_t i = 0; i < frac.size(); ++i) {
      if (frac[i] < '0' || frac[i] > '9') return std::nullopt;
      if (i < 9) nsec = nsec * 10 + (frac[i] - '0');
    }
    for (size_t i = frac.size(); i < 9; ++i) nsec *= 10;
  }
  int64_t v = static_cast<int64_t>(*sec);
  if (neg && nsec) return std::make_pair(-v - 1, 1000000000L - nsec);
  return std::make_pair(neg ? -v : v, nsec);
}

// pax records that change nothing here but are well formed: what GNU tar
// (atime, ctime) and Python's tarfile (uid, gid, uname, gname, hdrcharset)
// write. Their values are small and checked, so they carry nothing else.
bool ignorable_pax_record(std::string_view key, std::string_view value) {
  if (key == "atime" || key == "ctime") return pax_time(value).has_value();
  if (key == "uid" || key == "gid") return decimal(value).has_value();
  if (key == "uname" || key == "gname") return value.size() <= 32;
  if (key == "hdrcharset") return value == "BINARY" || value == "ISO-IR 10646 2000 UTF-8";
  return false;
}

unsigned filetype_of(char type) {
  switch (type) {
    case '0': case '1': case 'S': return S_IFREG;  // '1' hardlinks, 'S' GNU sparse: named apart
    case '2': return S_IFLNK;
    case '3': return S_IFCHR;
    case '4': return S_IFBLK;
    case '5': return S_IFDIR;
    case '6': return S_IFIFO;
    default: return 0;
  }
}

}  // namespace

PayloadTar::PayloadTar(std::function<std::span<const uint8_t>()> next_block) : next_block_(std::move(next_block)) {}

void PayloadTar::fail(const std::string& what, const std::string& hint) const {
  throw Error(Exit::kVerify, "payload tar: " + what + " (member at offset " + std::to_string(member_) + ")",
              hint.empty() ? "the payload is damaged or not an airlock payload" : hint);
}

bool PayloadTar::fill() {
  while (pos_ == blk_.size()) {
    blk_ = next_block_();
    pos_ = 0;
    if (blk_.empty()) return false;
  }
  return true;
}

void PayloadTar::read_exact(uint8_t* out, size_t n, const char* what) {
  while (n > 0) {
    if (!fill()) fail(std::string("the payload ends inside ") + what);
    size_t k = std::min(n, blk_.size() - pos_);
    std::memcpy(out, blk_.data() + pos_, k);
    out += k;
    n -= k;
    pos_ += k;
    offset_ += k;
  }
}

void PayloadTar::skip(uint64_t n, const char* what) {
  while (n > 0) {
    if (!fill()) fail(std::string("the payload ends inside ") + what);
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, blk_.size() - pos_));
    n -= k;
    pos_ += k;
    offset_ += k;
  }
}

const uint8_t* PayloadTar::header_block() {
  if (!fill()) return nullptr;
  if (blk_.size() - pos_ >= kTarBlock) {  // the usual case: no copy
    const uint8_t* h = blk_.data() + pos_;
    pos_ += kTarBlock;
    offset_ += kTarBlock;
    return h;
  }
  read_exact(hdr_.data(), kTarBlock, "a member's header");
  return hdr_.data();
}

std::span<const uint8_t> PayloadTar::data() {
  if (left_ == 0) return {};
  if (!fill()) fail("the payload ends inside a member's data");
  size_t k = static_cast<size_t>(std::min<uint64_t>(left_, blk_.size() - pos_));
  std::span<const uint8_t> s(blk_.data() + pos_, k);
  pos_ += k;
  offset_ += k;
  left_ -= k;
  return s;
}

bool PayloadTar::next(TarMember& m) {
  skip(left_, "a member's data");
  skip(pad_, "a member's padding");
  left_ = pad_ = 0;
  Pax pax;
  bool have_pax = false;
  member_ = offset_;
  for (;;) {
    const uint8_t* b = header_block();
    if (!b) {
      if (have_pax) fail("a pax header is the last thing in the payload");
      fail("the payload ends without the end-of-archive blocks");
    }
    if (std::all_of(b, b + kTarBlock, [](uint8_t c) { return c == 0; })) {
      if (have_pax) fail("a pax header is followed by the end of the archive");
      // The end: two zero blocks, then only zeros (GNU tar pads to its
      // record size). One zero block and the end of the stream is a
      // payload cut short.
      uint64_t zeros = 0;
      for (;;) {
        if (!fill()) {
          if (zeros < kTarBlock) fail("the payload ends after one end-of-archive block (a tar ends with two)");
          return false;
        }
        std::span<const uint8_t> rest = blk_.subspan(pos_);
        if (!std::all_of(rest.begin(), rest.end(), [](uint8_t c) { return c == 0; }))
          fail("data after the end-of-archive blocks",
               "the payload carries bytes no member holds; report the bundle to your security staff");
        offset_ += rest.size();
        zeros += rest.size();
        pos_ = blk_.size();
      }
    }
    UstarHeader h;
    std::memcpy(&h, b, sizeof h);
    if (std::memcmp(h.magic, "ustar", 6) != 0 || std::memcmp(h.version, "00", 2) != 0)
      fail("not a POSIX ustar header (magic and version must be \"ustar\\0\" \"00\")");
    auto sum = number(h.chksum, sizeof h.chksum);
    if (!sum || static_cast<unsigned>(*sum) != bundle::ustar_checksum(h)) {
      // Some old writers summed signed bytes.
      unsigned long signed_sum = 0;
      for (size_t i = 0; i < sizeof h; ++i) {
        bool in_sum_field = i >= offsetof(UstarHeader, chksum) && i < offsetof(UstarHeader, chksum) + sizeof h.chksum;
        signed_sum += static_cast<unsigned long>(static_cast<long>(in_sum_field ? ' ' : static_cast<int8_t>(b[i])));
      }
      if (!sum || static_cast<unsigned long>(*sum) != (signed_sum & 0xffffffffUL))
        fail("bad header checksum");
    }
    auto size_field = number(h.size, sizeof h.size);
    if (!size_field || *size_field < 0) fail("bad size field");
    char type = h.typeflag;

    if (type == 'g')
      fail("a global pax header: airlock payloads have none, and its records would apply to every later member",
           "the payload was not written by airlock's packer; report the bundle to your security staff");
    if (type == 'x') {
      if (have_pax) fail("two pax headers in a row");
      if (static_cast<uint64_t>(*size_field) > kMaxPaxBytes)
        fail("a pax header of " + std::to_string(*size_field) + " bytes (at most " + std::to_string(kMaxPaxBytes) +
             ")");
      std::string text(static_cast<size_t>(*size_field), '\0');
      read_exact(reinterpret_cast<uint8_t*>(text.data()), text.size(), "a pax header");
      skip(bundle::tar_padding(text.size()), "a pax header's padding");
      for (size_t p = 0; p < text.size();) {
        size_t sp = text.find(' ', p);
        if (sp == std::string::npos) fail("malformed pax record (no length)");
        auto len = decimal(std::string_view(text).substr(p, sp - p));
        if (!len || *len <= sp - p + 1 || *len > text.size() - p) fail("malformed pax record (bad length)");
        std::string_view rec(text.data() + sp + 1, static_cast<size_t>(*len) - (sp - p + 1));
        if (rec.empty() || rec.back() != '\n') fail("malformed pax record (no newline)");
        rec.remove_suffix(1);
        size_t eq = rec.find('=');
        if (eq == std::string_view::npos || eq == 0) fail("malformed pax record (no key)");
        std::string_view key = rec.substr(0, eq), value = rec.substr(eq + 1);
        if (key == "path") {
          pax.path = std::string(value);
        } else if (key == "linkpath") {
          pax.link = std::string(value);
        } else if (key == "size") {
          auto v = decimal(value);
          if (!v || *v > kMaxSize) fail("bad pax size " + quote(value));
          pax.size = *v;
        } else if (key == "mtime") {
          auto t = pax_time(value);
          if (!t) fail("bad pax mtime " + quote(value));
          pax.mtime = *t;
        } else if (key.substr(0, 11) == "GNU.sparse.") {
          pax.sparse = true;
        } else if (!ignorable_pax_record(key, value)) {
          // Anything else would be bytes that travel in the payload and
          // that no member, and so no manifest entry, accounts for.
          fail("pax record " + quote(key) + " (" + std::to_string(value.size()) +
                   " bytes): not one a payload may carry (path, linkpath, size, mtime; atime, ctime, uid, gid, "
                   "uname, gname and hdrcharset are read and ignored)",
               "the payload was not written by airlock's packer or GNU tar; report the bundle to your security "
               "staff");
        }
        p += static_cast<size_t>(*len);
      }
      have_pax = true;
      continue;
    }

    m = TarMember{};
    m.offset = member_;
    m.type = type == '\0' || type == '7' ? '0' : type;
    m.filetype = filetype_of(m.type);
    auto mode = number(h.mode, sizeof h.mode);
    if (!mode || *mode < 0) fail("bad mode field");
    m.mode = static_cast<uint32_t>(*mode) & 07777;
    if (pax.path) {
      m.path = std::move(*pax.path);
    } else {
      size_t pl = field_len(h.prefix, sizeof h.prefix), nl = field_len(h.name, sizeof h.name);
      if (pl) {
        m.path.assign(h.prefix, pl);
        m.path += '/';
      }
      m.path.append(h.name, nl);
    }
    m.link = pax.link ? std::move(*pax.link) : std::string(h.linkname, field_len(h.linkname, sizeof h.linkname));
    m.size = pax.size ? *pax.size : static_cast<uint64_t>(*size_field);
    if (pax.mtime) {
      m.mtime = pax.mtime->first;
      m.mtime_nsec = pax.mtime->second;
    } else {
      auto t = number(h.mtime, sizeof h.mtime);
      if (!t) fail("bad mtime field");
      m.mtime = *t;
    }
    m.sparse = pax.sparse || m.type == 'S';
    // A hardlink or a directory with a size: GNU tar and Python's tarfile
    // read the next header where the size says data would be, others skip
    // it, so two readers would see two different sets of members.
    if ((m.type == '1' || m.type == '5') && m.size != 0)
      fail(std::string(m.type == '1' ? "a hardlink" : "a directory") + " member with a size of " +
               std::to_string(m.size) + " bytes: readers differ on whether data follows it",
           "the payload was not written by airlock's packer; report the bundle to your security staff");
    // Only a regular file's bytes are handed out; those of a member the
    // entry policy refuses anyway (an unknown type) are skipped.
    // POSIX: symlinks, devices, directories and fifos have no data.
    bool none = m.type == '2' || m.type == '3' || m.type == '4' || m.type == '5' || m.type == '6';
    uint64_t stored = none ? 0 : m.size;
    if (m.type == '0') {
      left_ = m.size;
    } else {
      left_ = 0;
      skip(stored, "a member's data");
    }
    pad_ = bundle::tar_padding(stored);
    return true;
  }
}

}  // namespace airlock::unpacker
