#include "common/age/armor.h"

#include <cstring>

#include "common/age/base64.h"
#include "common/age/header.h"

namespace airlock::age {

namespace {
[[noreturn]] void armor_error(const std::string& what) {
  throw AgeError(ErrorKind::kArmor, "invalid armor: " + what,
                 "the ASCII-armored file was altered (re-wrapped, edited, or cut); get a fresh copy");
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool all_space(std::string_view s) {
  for (char c : s)
    if (!is_space(c)) return false;
  return true;
}
}  // namespace

std::string ArmorReader::line() {
  bool too_long = false;
  std::string l = in_.read_line(wire::kColumnsPerLine + 2, too_long);
  if (too_long) armor_error("line longer than 64 columns: " + quote(in_.peek(80)));
  if (l.empty()) armor_error("unexpected end of file (no \"" + std::string(wire::kArmorEnd) + "\" line)");
  if (l.back() == '\n') l.pop_back();
  if (!l.empty() && l.back() == '\r') l.pop_back();  // CRLF is allowed
  return l;
}

void ArmorReader::drain_trailing() {
  // Only whitespace may follow the end line, and only a little of it.
  std::string rest(in_.peek(wire::kArmorMaxWhitespace + 1));
  if (!all_space(rest)) armor_error("trailing data after the end line: " + quote(rest));
  if (rest.size() > wire::kArmorMaxWhitespace) armor_error("too much trailing whitespace");
  done_ = true;
}

size_t ArmorReader::read(std::span<uint8_t> buf) {
  size_t out = 0;
  while (out < buf.size()) {
    if (pos_ < len_) {
      size_t n = std::min(len_ - pos_, buf.size() - out);
      std::memcpy(buf.data() + out, data_ + pos_, n);
      pos_ += n;
      out += n;
      continue;
    }
    if (done_) break;
    if (!started_) {
      size_t skipped = 0;
      for (;;) {
        bool too_long = false;
        std::string l = in_.read_line(wire::kArmorMaxWhitespace + 1, too_long);
        if (l.empty()) armor_error("no \"" + std::string(wire::kArmorBegin) + "\" line");
        std::string_view v = l;
        if (!too_long && all_space(v)) {
          skipped += l.size();
          if (skipped > wire::kArmorMaxWhitespace) armor_error("too much leading whitespace");
          continue;
        }
        if (too_long) armor_error("first line is not \"" + std::string(wire::kArmorBegin) + "\": " + quote(in_.peek(80)));
        if (v.ends_with('\n')) v.remove_suffix(1);
        if (v.ends_with('\r')) v.remove_suffix(1);
        if (v != wire::kArmorBegin)
          armor_error("first line is not \"" + std::string(wire::kArmorBegin) + "\": " + quote(v));
        break;
      }
      started_ = true;
    }
    std::string l = line();
    if (l == wire::kArmorEnd) {
      drain_trailing();
      break;
    }
    if (l.size() > wire::kColumnsPerLine) armor_error("line longer than 64 columns: " + quote(l));
    if (l.empty()) armor_error("empty line inside the armor");
    long n = base64_decode_into(l, true, data_);
    if (n < 0) armor_error("line is not canonical padded base64: " + quote(l));
    pos_ = 0;
    len_ = static_cast<size_t>(n);
    if (len_ < wire::kBytesPerLine) {
      // A short line (or padding) ends the data: the end line must follow.
      std::string end = line();
      if (end != wire::kArmorEnd)
        armor_error("expected \"" + std::string(wire::kArmorEnd) + "\" after a short line, got " + quote(end));
      drain_trailing();
    }
  }
  return out;
}

void ArmorWriter::write(std::span<const uint8_t> data) {
  if (!started_) {
    out_.write(std::string(wire::kArmorBegin) + "\n");
    started_ = true;
  }
  while (!data.empty()) {
    size_t n = std::min(data.size(), wire::kBytesPerLine - fill_);
    std::memcpy(pending_ + fill_, data.data(), n);
    fill_ += n;
    data = data.subspan(n);
    if (fill_ == wire::kBytesPerLine && !data.empty()) {
      out_.write(base64_encode(std::span<const uint8_t>(pending_, fill_), true) + "\n");
      fill_ = 0;
    }
  }
}

void ArmorWriter::finish() {
  if (!started_) write(std::span<const uint8_t>());
  if (fill_ > 0) out_.write(base64_encode(std::span<const uint8_t>(pending_, fill_), true) + "\n");
  fill_ = 0;
  out_.write(std::string(wire::kArmorEnd) + "\n");
  out_.finish();
}

}  // namespace airlock::age
