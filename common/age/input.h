// A buffered view of a Reader for the line-oriented parts of age (the header
// and the armor): bounded line reads and peeks, then plain reads of whatever
// follows, buffered bytes first.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/io.h"

namespace airlock::age {

class BufferedInput : public Reader {
 public:
  explicit BufferedInput(Reader& src, size_t buffer = 64 * 1024) : src_(src) { buf_.reserve(buffer); }
  // Up to `n` bytes without consuming them (fewer only at end of input).
  std::string_view peek(size_t n);
  // The next line including its '\n'. At end of input the line has no '\n'
  // (an empty string means nothing was left). Sets `too_long` (and returns
  // nothing) when no '\n' comes within `max` bytes.
  std::string read_line(size_t max, bool& too_long);
  size_t read(std::span<uint8_t> buf) override;
  std::string name() const override { return src_.name(); }

 private:
  bool fill(size_t want);  // false at end of input
  Reader& src_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  bool eof_ = false;
};

}  // namespace airlock::age
