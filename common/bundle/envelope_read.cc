#include "common/bundle/envelope_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <array>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>
#include <optional>

#include "common/bundle/format.h"
#include "common/bundle/tar_header.h"
#include "common/hash.h"

namespace airlock::bundle {

namespace {

// Field places of the ustar header, from the one layout in tar_header.h.
constexpr size_t kBlock = kTarBlock;
constexpr size_t kNameOff = offsetof(UstarHeader, name), kNameLen = sizeof(UstarHeader::name);
constexpr size_t kSizeOff = offsetof(UstarHeader, size), kSizeLen = sizeof(UstarHeader::size);
constexpr size_t kSumOff = offsetof(UstarHeader, chksum), kSumLen = sizeof(UstarHeader::chksum);
constexpr size_t kTypeOff = offsetof(UstarHeader, typeflag);
constexpr size_t kMagicOff = offsetof(UstarHeader, magic);
constexpr size_t kPrefixOff = offsetof(UstarHeader, prefix), kPrefixLen = sizeof(UstarHeader::prefix);
static_assert(kSizeOff == 124 && kSumOff == 148 && kTypeOff == 156 && kMagicOff == 257 && kPrefixOff == 345);
constexpr uint64_t kMaxPaxBytes = 64 * 1024;

struct PayloadDigests {
  std::string sha256;  // hex
  std::array<uint8_t, 64> blake2b{};
};

// SHA-256 (the label's payload-sha256) and BLAKE2b-512 (the prehashed
// signature) of payload.age in one pass, on two threads: this one reads
// and runs SHA-256, the other runs BLAKE2b on the chunk before, through
// a ring of three buffers, so reading overlaps both digests.
PayloadDigests digest_payload(const Volumes& v, uint64_t data, uint64_t size, const std::string& bname,
                              const std::function<void(uint64_t, uint64_t)>& progress) {
  constexpr size_t kChunk = 4 << 20;
  constexpr size_t kRing = 3;
  struct Slot {
    std::vector<uint8_t> buf;
    size_t len = 0;
    bool full = false;  // read and SHA-hashed, waiting for BLAKE2b
  };
  std::array<Slot, kRing> ring;
  for (auto& s : ring) s.buf.resize(static_cast<size_t>(std::min<uint64_t>(kChunk, std::max<uint64_t>(size, 1))));
  std::mutex mu;
  std::condition_variable cv;
  bool end = false, quit = false;
  Blake2b512 b2;
  std::thread blake([&] {
    for (size_t i = 0;; i = (i + 1) % kRing) {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return ring[i].full || end || quit; });
      if (quit || !ring[i].full) return;
      lk.unlock();
      b2.update({ring[i].buf.data(), ring[i].len});
      lk.lock();
      ring[i].full = false;
      cv.notify_all();
    }
  });
  auto stop = [&](bool abandon) {
    {
      std::lock_guard lk(mu);
      end = true;
      quit = abandon;
    }
    cv.notify_all();
    blake.join();
  };
  Sha256 sha;
  try {
    size_t i = 0;
    for (uint64_t done = 0; done < size; i = (i + 1) % kRing) {
      check_interrupted();
      Slot& s = ring[i];
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return !s.full; });
      }
      size_t want = static_cast<size_t>(std::min<uint64_t>(s.buf.size(), size - done));
      size_t n = v.pread(data + done, {s.buf.data(), want});
      if (n != want) throw EnvelopeError(bname + ": payload.age ends early");
      sha.update({s.buf.data(), n});
      {
        std::lock_guard lk(mu);
        s.len = n;
        s.full = true;
      }
      cv.notify_all();
      done += n;
      if (progress) progress(done, size);
    }
  } catch (...) {
    stop(true);
    throw;
  }
  stop(false);
  return {sha.hex_digest(), b2.digest()};
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string field(const uint8_t* h, size_t off, size_t len) {
  const char* s = reinterpret_cast<const char*>(h + off);
  return std::string(s, strnlen(s, len));
}


// Octal (NUL/space terminated) or base-256 (high bit set) numeric field.
uint64_t number(const uint8_t* h, size_t off, size_t len, const std::string& what, uint64_t at) {
  if (h[off] & 0x80) {
    // Base-256: big-endian two's complement; a negative size is nonsense.
    if (h[off] & 0x40) throw EnvelopeError("negative " + what + " in the tar header at offset " + std::to_string(at));
    uint64_t v = h[off] & 0x3f;
    for (size_t i = 1; i < len; ++i) {
      if (v >> 56) throw EnvelopeError(what + " overflows in the tar header at offset " + std::to_string(at));
      v = (v << 8) | h[off + i];
    }
    return v;
  }
  size_t i = off, end = off + len;
  while (i < end && h[i] == ' ') ++i;
  uint64_t v = 0;
  bool digits = false;
  for (; i < end && h[i] >= '0' && h[i] <= '7'; ++i) {
    if (v >> 61) throw EnvelopeError(what + " overflows in the tar header at offset " + std::to_string(at));
    v = v * 8 + (h[i] - '0');
    digits = true;
  }
  for (; i < end; ++i)
    if (h[i] != ' ' && h[i] != '\0')
      throw EnvelopeError("bad " + what + " field " + quote(field(h, off, len)) + " in the tar header at offset " +
                          std::to_string(at));
  if (!digits) throw EnvelopeError("empty " + what + " field in the tar header at offset " + std::to_string(at));
  return v;
}

// "LEN key=value\n" records; returns path and size when present.
void parse_pax(std::string_view data, std::string& path, std::optional<uint64_t>& size, uint64_t at) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t sp = data.find(' ', pos);
    if (sp == std::string_view::npos) throw EnvelopeError("malformed pax record at offset " + std::to_string(at));
    uint64_t len = 0;
    for (size_t i = pos; i < sp; ++i) {
      if (data[i] < '0' || data[i] > '9' || len > kMaxPaxBytes)
        throw EnvelopeError("malformed pax record length at offset " + std::to_string(at));
      len = len * 10 + static_cast<uint64_t>(data[i] - '0');
    }
    if (len <= sp - pos + 1 || pos + len > data.size() || data[pos + len - 1] != '\n')
      throw EnvelopeError("malformed pax record at offset " + std::to_string(at));
    std::string_view rec = data.substr(sp + 1, pos + len - sp - 2);
    size_t eq = rec.find('=');
    if (eq == std::string_view::npos) throw EnvelopeError("pax record without '=' at offset " + std::to_string(at));
    std::string_view key = rec.substr(0, eq), value = rec.substr(eq + 1);
    if (key == "path") {
      path = std::string(value);
    } else if (key == "size") {
      uint64_t v = 0;
      if (value.empty() || value.size() > 19) throw EnvelopeError("bad pax size " + quote(value));
      for (char c : value) {
        if (c < '0' || c > '9') throw EnvelopeError("bad pax size " + quote(value));
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      size = v;
    }
    pos += len;
  }
}

uint64_t round_up(uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

}  // namespace

Volumes Volumes::open(const std::string& bundle) {
  Volumes v;
  std::string base = bundle;
  bool split = false;
  if (bundle.size() > 4 && bundle.compare(bundle.size() - 4, 4, ".001") == 0) {
    base = bundle.substr(0, bundle.size() - 4);
    split = true;
  } else if (!exists(bundle) && exists(bundle + ".001")) {
    split = true;
  }
  v.name_ = base;
  if (!split) {
    v.paths_.push_back(bundle);
  } else {
    for (int i = 1; i <= 999; ++i) {
      char suffix[8];
      std::snprintf(suffix, sizeof suffix, ".%03d", i);
      std::string p = base + suffix;
      if (!exists(p)) break;
      v.paths_.push_back(p);
    }
    if (v.paths_.empty()) throw_errno("cannot open bundle", bundle, ENOENT);
  }
  for (const auto& p : v.paths_) {
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("cannot open bundle", p);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("cannot stat bundle", p);
    if (!S_ISREG(st.st_mode)) throw Error(Exit::kUsage, p + ": not a regular file");
    v.starts_.push_back(v.total_);
    v.total_ += static_cast<uint64_t>(st.st_size);
    v.fds_.push_back(std::move(fd));
  }
  return v;
}

size_t Volumes::pread(uint64_t offset, std::span<uint8_t> buf) const {
  size_t done = 0;
  while (done < buf.size() && offset < total_) {
    size_t i = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), offset) - starts_.begin()) - 1;
    uint64_t vol_end = i + 1 < starts_.size() ? starts_[i + 1] : total_;
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size() - done, vol_end - offset));
    ssize_t n = ::pread(fds_[i].get(), buf.data() + done, want, static_cast<off_t>(offset - starts_[i]));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read failed", paths_[i]);
    }
    if (n == 0) throw Error(Exit::kUsage, paths_[i] + ": file shrank while being read");
    done += static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return done;
}

size_t VolumeRangeReader::read(std::span<uint8_t> buf) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end_ - pos_));
  if (want == 0) return 0;
  size_t n = v_.pread(pos_, buf.first(want));
  if (n == 0) throw EnvelopeError(name_ + " ends early");
  pos_ += n;
  return n;
}

Envelope read_envelope(const Volumes& v, const std::function<void(uint64_t, uint64_t)>& progress) {
  Envelope env;
  const std::string& bname = v.name();
  uint64_t off = 0;
  size_t index = 0;
  uint8_t h[kBlock];
  auto read_block = [&](uint64_t at) {
    if (v.pread(at, {h, kBlock}) != kBlock)
      throw EnvelopeError(bname + ": truncated tar header at offset " + std::to_string(at));
  };
  auto read_small = [&](uint64_t at, uint64_t size) {
    std::string s(static_cast<size_t>(size), '\0');
    if (v.pread(at, {reinterpret_cast<uint8_t*>(s.data()), s.size()}) != s.size())
      throw EnvelopeError(bname + ": member data ends early at offset " + std::to_string(at));
    return s;
  };

  for (;;) {
    read_block(off);
    if (std::all_of(h, h + kBlock, [](uint8_t b) { return b == 0; })) break;  // end-of-archive marker
    // Checksum: sum of the header with the checksum field read as spaces.
    uint64_t sum = 0;
    for (size_t i = 0; i < kBlock; ++i) sum += (i >= kSumOff && i < kSumOff + kSumLen) ? ' ' : h[i];
    if (number(h, kSumOff, kSumLen, "checksum", off) != sum)
      throw EnvelopeError(bname + ": bad tar header checksum at offset " + std::to_string(off),
                          "the file is damaged or not an airlock bundle");
    if (std::memcmp(h + kMagicOff, "ustar", 5) != 0)
      throw EnvelopeError(bname + ": not a POSIX (ustar/pax) tar header at offset " + std::to_string(off));

    std::string path;
    std::optional<uint64_t> pax_size;
    char type = static_cast<char>(h[kTypeOff]);
    if (type == 'x') {
      // One pax extended header may precede a member; it may carry its
      // path and its size (8 GiB and more need the pax size record).
      uint64_t n = number(h, kSizeOff, kSizeLen, "size", off);
      if (n > kMaxPaxBytes) throw EnvelopeError(bname + ": oversized pax header at offset " + std::to_string(off));
      std::string pax = read_small(off + kBlock, n);
      parse_pax(pax, path, pax_size, off);
      off += kBlock + round_up(n);
      read_block(off);
      type = static_cast<char>(h[kTypeOff]);
      if (type == 'x') throw EnvelopeError(bname + ": two pax headers in a row at offset " + std::to_string(off));
      uint64_t s2 = 0;
      for (size_t i = 0; i < kBlock; ++i) s2 += (i >= kSumOff && i < kSumOff + kSumLen) ? ' ' : h[i];
      if (number(h, kSumOff, kSumLen, "checksum", off) != s2 || std::memcmp(h + kMagicOff, "ustar", 5) != 0)
        throw EnvelopeError(bname + ": bad tar header at offset " + std::to_string(off));
    }
    if (path.empty()) {
      std::string prefix = field(h, kPrefixOff, kPrefixLen);
      path = field(h, kNameOff, kNameLen);
      if (!prefix.empty()) path = prefix + "/" + path;
    }
    // Only plain regular files: links, directories, devices and the other
    // tar types never belong in an envelope.
    if (type != '0' && type != '\0')
      throw EnvelopeError(bname + ": member " + quote(path) + " is not a regular file (tar type " + quote({&type, 1}) +
                          ")");
    if (index >= kMembers.size())
      throw EnvelopeError(bname + ": unexpected extra member " + quote(path),
                          "an envelope holds exactly payload.age, payload.age.minisig, LABEL.txt, LABEL.txt.minisig");
    if (path != kMembers[index]) {
      bool known = std::find(kMembers.begin(), kMembers.end(), path) != kMembers.end();
      throw EnvelopeError(bname + ": member " + std::to_string(index + 1) + " is " + quote(path) + ", expected \"" +
                              std::string(kMembers[index]) + "\"" + (known ? " (members out of order)" : ""),
                          "an envelope holds exactly payload.age, payload.age.minisig, LABEL.txt, LABEL.txt.minisig");
    }
    uint64_t size = pax_size ? *pax_size : number(h, kSizeOff, kSizeLen, "size", off);
    uint64_t data = off + kBlock;
    if (data + size > v.size() || data + size < data)
      throw EnvelopeError(bname + ": member " + quote(path) + " ends past the end of the file (truncated bundle?)");
    if (index == 0) {
      env.payload_offset = data;
      env.payload_size = size;
      PayloadDigests d = digest_payload(v, data, size, bname, progress);
      env.payload_sha256 = std::move(d.sha256);
      env.payload_blake2b = d.blake2b;
    } else {
      uint64_t cap = index == 2 ? kMaxLabelBytes : kMaxSignatureBytes;
      if (size > cap)
        throw EnvelopeError(bname + ": member " + quote(path) + " is " + std::to_string(size) + " bytes, more than " +
                            std::to_string(cap));
      std::string s = read_small(data, size);
      (index == 1 ? env.payload_sig : index == 2 ? env.label : env.label_sig) = std::move(s);
    }
    ++index;
    off = data + round_up(size);
  }
  if (index < kMembers.size())
    throw EnvelopeError(bname + ": member \"" + std::string(kMembers[index]) + "\" is missing",
                        "an envelope holds exactly payload.age, payload.age.minisig, LABEL.txt, LABEL.txt.minisig");
  // After the end-of-archive marker only zero padding may follow: data
  // hidden there would travel with the bundle unsigned.
  std::vector<uint8_t> buf(64 * 1024);
  for (uint64_t p = off; p < v.size();) {
    size_t n = v.pread(p, buf);
    if (!std::all_of(buf.begin(), buf.begin() + static_cast<long>(n), [](uint8_t b) { return b == 0; }))
      throw EnvelopeError(bname + ": data after the end of the tar archive (offset " + std::to_string(p) + ")");
    p += n;
  }
  if (v.size() < off + 2 * kBlock)
    throw EnvelopeError(bname + ": tar end-of-archive marker is incomplete (truncated bundle?)");
  return env;
}

}  // namespace airlock::bundle
