#include "packer/stream/payload_writer.h"

#include <algorithm>
#include <cstring>

#include "common/bundle/format.h"
#include "common/bundle/tar_header.h"
#include "common/error.h"

namespace airlock::packer {

namespace {

using bundle::kTarBlock;
using bundle::UstarHeader;

constexpr size_t kStage = 256 * 1024;  // gathered before a write to `out`
constexpr size_t kDirect = 64 * 1024;  // chunks this big skip the gathering
constexpr uint64_t kMaxOctal11 = (uint64_t{1} << 33) - 1;  // 11 octal digits
// libarchive records an mtime in pax from here on (and below 0): many
// readers keep time in a signed 32-bit value.
constexpr int64_t kMaxPlainMtime = 0x7ffffffe;

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// ustar keeps a path in name (100 bytes) or prefix (155) "/" name (100).
// Returns the split point (index of the '/'), 0 when it fits in name
// alone, or npos when it does not fit. The split is libarchive's: the
// first '/' that leaves at most 100 bytes after it.
size_t ustar_split(std::string_view path) {
  constexpr size_t kName = sizeof(UstarHeader::name), kPrefix = sizeof(UstarHeader::prefix);
  if (path.size() <= kName) return 0;
  size_t slash = path.find('/', path.size() - kName - 1);
  if (slash == 0) slash = path.find('/', 1);  // no empty prefix
  if (slash == std::string_view::npos || slash + 1 == path.size() || slash > kPrefix) return std::string_view::npos;
  return slash;
}

// "%d key=value\n", the length counting itself.
void pax_record(std::string& out, std::string_view key, std::string_view value) {
  size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  out += std::to_string(len);
  out += ' ';
  out += key;
  out += '=';
  out += value;
  out += '\n';
}

// A stand-in name for the ustar field when the real one is in a pax
// record (which every pax reader takes instead): ASCII, the first `max`
// bytes, and no "." or ".." component, so that even a reader that ignores
// pax cannot be led outside its directory by the cut.
std::string ascii_stand_in(std::string_view s, size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  for (char c : s.substr(0, max)) out += static_cast<unsigned char>(c) >= 0x80 ? '_' : c;
  for (size_t start = 0; start < out.size();) {
    size_t end = out.find('/', start);
    if (end == std::string::npos) end = out.size();
    std::string_view part(out.data() + start, end - start);
    if (part == "." || part == "..") std::fill(out.begin() + static_cast<std::ptrdiff_t>(start),
                                               out.begin() + static_cast<std::ptrdiff_t>(end), '_');
    start = end + 1;
  }
  return out;
}

// A 12-byte number field as libarchive's non-strict ustar writer fills
// it: 11 octal digits and a space; for a larger value, when `width` is 12
// (size), 12 digits over the space; else base-256 over `width` bytes
// (big-endian two's complement, top bit set), the space kept after 11.
void put_number12(char* field, int64_t v, size_t width) {
  field[11] = ' ';
  if (v >= 0 && static_cast<uint64_t>(v) <= kMaxOctal11) {
    bundle::put_octal(field, 11, static_cast<uint64_t>(v));
  } else if (v >= 0 && width == 12 && static_cast<uint64_t>(v) < (uint64_t{1} << 36)) {
    bundle::put_octal(field, 12, static_cast<uint64_t>(v));
  } else {
    auto* p = reinterpret_cast<uint8_t*>(field);
    for (size_t i = width; i-- > 0; v >>= 8) p[i] = static_cast<uint8_t>(v & 0xff);
    p[0] |= 0x80;
  }
}

// The fields every header shares, filled as libarchive fills them:
// "000644 \0" style octal, uid/gid 0, no user or group names, devices 0.
UstarHeader base_header(char type, uint32_t mode, int64_t mtime, uint64_t size) {
  UstarHeader h;
  std::memset(&h, 0, sizeof h);
  auto field6 = [](char* f, uint64_t v) {  // 6 digits, space, NUL
    bundle::put_octal(f, 6, v);
    f[6] = ' ';
  };
  field6(h.mode, mode & 0777);
  field6(h.uid, 0);
  field6(h.gid, 0);
  // Out of octal's range these are also in pax records.
  put_number12(h.size, static_cast<int64_t>(size), 12);
  put_number12(h.mtime, mtime, 11);
  h.typeflag = type;
  std::memcpy(h.magic, "ustar", 6);
  std::memcpy(h.version, "00", 2);
  field6(h.devmajor, 0);
  field6(h.devminor, 0);
  return h;
}

void seal(UstarHeader& h) {
  bundle::put_octal(h.chksum, 6, bundle::ustar_checksum(h));
  h.chksum[6] = '\0';
  h.chksum[7] = ' ';
}

std::span<const uint8_t> bytes_of(const UstarHeader& h) {
  return {reinterpret_cast<const uint8_t*>(&h), sizeof h};
}

}  // namespace

PayloadWriter::PayloadWriter(Writer& out) : out_(out), stage_(kStage) {}

void PayloadWriter::flush() {
  if (staged_ == 0) return;
  out_.write(std::span<const uint8_t>(stage_.data(), staged_));
  staged_ = 0;
}

void PayloadWriter::put(std::span<const uint8_t> bytes) {
  bytes_out_ += bytes.size();
  if (bytes.size() >= kDirect) {
    flush();
    out_.write(bytes);
    return;
  }
  if (staged_ + bytes.size() > stage_.size()) flush();
  std::memcpy(stage_.data() + staged_, bytes.data(), bytes.size());
  staged_ += bytes.size();
}

void PayloadWriter::put_zeros(size_t n) {
  static const uint8_t zeros[2 * kTarBlock] = {};
  while (n > 0) {
    size_t k = std::min(n, sizeof zeros);
    put(std::span<const uint8_t>(zeros, k));
    n -= k;
  }
}

void PayloadWriter::header(std::string_view path, char type, uint32_t mode, int64_t mtime, uint64_t size,
                           std::string_view link) {
  if (closed_) throw Error(Exit::kUsage, "payload tar: " + std::string(path) + " added after the end");
  if (remaining_ != 0)
    throw Error(Exit::kUsage, "payload tar: " + member_ + ": " + std::to_string(remaining_) + " of " +
                                     std::to_string(file_size_) + " bytes never written");
  if (path.empty() || path.find('\0') != std::string_view::npos || link.find('\0') != std::string_view::npos)
    throw Error(Exit::kUsage, "payload tar: empty or NUL-containing name");

  // What ustar cannot hold goes in a pax extended header before the member.
  std::string pax;
  size_t split = is_ascii(path) ? ustar_split(path) : std::string_view::npos;
  bool link_fits = is_ascii(link) && link.size() <= sizeof(UstarHeader::linkname);
  bool mtime_fits = mtime >= 0 && mtime <= kMaxPlainMtime;
  if ((split == std::string_view::npos || !link_fits) && !(bundle::valid_utf8(path) && bundle::valid_utf8(link)))
    pax_record(pax, "hdrcharset", "BINARY");
  if (split == std::string_view::npos) pax_record(pax, "path", path);
  if (!link_fits) pax_record(pax, "linkpath", link);
  if (size > kMaxOctal11) pax_record(pax, "size", std::to_string(size));
  if (!mtime_fits) pax_record(pax, "mtime", std::to_string(mtime));

  if (!pax.empty()) {
    // Named like libarchive's: DIR/PaxHeader/BASE, cut to fit.
    std::string_view p = path;
    while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
    size_t cut = p.rfind('/');
    std::string dir(cut == std::string_view::npos ? "" : p.substr(0, cut + 1));
    std::string base(cut == std::string_view::npos ? p : p.substr(cut + 1));
    std::string name = ascii_stand_in(dir, 40) + "PaxHeader/" + ascii_stand_in(base, 50);
    UstarHeader x = base_header('x', 0644, std::clamp<int64_t>(mtime, 0, kMaxPlainMtime + 1), pax.size());
    std::memcpy(x.name, name.data(), std::min(name.size(), sizeof x.name));
    seal(x);
    put(bytes_of(x));
    put(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pax.data()), pax.size()));
    put_zeros(bundle::tar_padding(pax.size()));
  }

  UstarHeader h = base_header(type, mode, mtime, size);
  if (split == 0) {
    std::memcpy(h.name, path.data(), path.size());
  } else if (split != std::string_view::npos) {
    std::memcpy(h.prefix, path.data(), split);
    std::memcpy(h.name, path.data() + split + 1, path.size() - split - 1);
  } else {
    std::string stand_in = ascii_stand_in(path, sizeof h.name);
    std::memcpy(h.name, stand_in.data(), stand_in.size());
  }
  if (link_fits) {
    if (!link.empty()) std::memcpy(h.linkname, link.data(), link.size());
  } else {
    std::string stand_in = ascii_stand_in(link, sizeof h.linkname);
    std::memcpy(h.linkname, stand_in.data(), stand_in.size());
  }
  seal(h);
  put(bytes_of(h));
  ++members_;
}

void PayloadWriter::add_dir(std::string_view path, uint32_t mode, int64_t mtime) {
  std::string p(path);
  if (!p.empty() && p.back() != '/') p += '/';  // as tar writers name directories
  header(p, '5', mode, mtime, 0, {});
}

void PayloadWriter::begin_file(std::string_view path, uint32_t mode, int64_t mtime, uint64_t size) {
  header(path, '0', mode, mtime, size, {});
  member_ = path;
  file_size_ = remaining_ = size;
}

void PayloadWriter::data(std::span<const uint8_t> bytes) {
  if (bytes.size() > remaining_)
    throw Error(Exit::kUsage, "payload tar: " + member_ + ": more than its " + std::to_string(file_size_) +
                                     " bytes written");
  put(bytes);
  remaining_ -= bytes.size();
  if (remaining_ == 0 && !bytes.empty()) put_zeros(bundle::tar_padding(file_size_));
}

void PayloadWriter::add_hardlink(std::string_view path, std::string_view target, int64_t mtime) {
  header(path, '1', 0644, mtime, 0, target);
}

void PayloadWriter::add_bytes(std::string_view path, uint32_t mode, int64_t mtime, std::string_view content) {
  begin_file(path, mode, mtime, content.size());
  data(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
}

void PayloadWriter::close() {
  if (closed_) return;
  if (remaining_ != 0)
    throw Error(Exit::kUsage, "payload tar: " + member_ + ": " + std::to_string(remaining_) + " of " +
                                     std::to_string(file_size_) + " bytes never written");
  closed_ = true;
  put_zeros(2 * kTarBlock);
  flush();
}

}  // namespace airlock::packer
