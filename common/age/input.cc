#include "common/age/input.h"

#include <algorithm>
#include <cstring>

namespace airlock::age {

bool BufferedInput::fill(size_t want) {
  if (buf_.size() - pos_ >= want) return true;
  if (pos_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  while (buf_.size() < want && !eof_) {
    size_t old = buf_.size();
    size_t room = std::max<size_t>(want - old, 16 * 1024);
    buf_.resize(old + room);
    size_t n = src_.read(std::span<uint8_t>(buf_.data() + old, room));
    buf_.resize(old + n);
    if (n == 0) eof_ = true;
  }
  return buf_.size() >= want;
}

std::string_view BufferedInput::peek(size_t n) {
  fill(n);
  return {reinterpret_cast<const char*>(buf_.data() + pos_), std::min(n, buf_.size() - pos_)};
}

std::string BufferedInput::read_line(size_t max, bool& too_long) {
  too_long = false;
  size_t scanned = 0;
  for (;;) {
    size_t have = buf_.size() - pos_;
    const uint8_t* start = buf_.data() + pos_;
    const void* nl = have > scanned ? std::memchr(start + scanned, '\n', have - scanned) : nullptr;
    if (nl) {
      size_t len = static_cast<size_t>(static_cast<const uint8_t*>(nl) - start) + 1;
      if (len > max) { too_long = true; return {}; }
      std::string line(reinterpret_cast<const char*>(start), len);
      pos_ += len;
      return line;
    }
    scanned = have;
    if (have > max) { too_long = true; return {}; }
    if (!fill(have + 1)) {  // end of input: return the unterminated rest
      std::string line(reinterpret_cast<const char*>(buf_.data() + pos_), buf_.size() - pos_);
      pos_ = buf_.size();
      return line;
    }
  }
}

size_t BufferedInput::read(std::span<uint8_t> out) {
  size_t have = buf_.size() - pos_;
  if (have > 0) {
    size_t n = std::min(have, out.size());
    std::memcpy(out.data(), buf_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  if (eof_) return 0;
  return src_.read(out);
}

}  // namespace airlock::age
