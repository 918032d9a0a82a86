// Progress on a terminal: files, bytes, rate, time left, redrawn a few times
// a second on stderr. Silent unless enabled (stderr is a TTY, or --progress).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace airlock {

std::string human_bytes(uint64_t n);  // "740.2 MB"

class Progress {
 public:
  // `totals_final` false: the totals are still growing (the walk is going
  // on); they are shown as "at least" and no time left is guessed until
  // set_totals(..., true).
  Progress(std::string verb, bool enabled, uint64_t total_files, uint64_t total_bytes, bool totals_final = true);
  ~Progress();
  void add(uint64_t files, uint64_t bytes) {
    files_ += files;
    bytes_ += bytes;
    if (enabled_ && (++ticks_ & 63) == 0) maybe_draw();
  }
  void set_totals(uint64_t files, uint64_t bytes, bool final = true) {
    total_files_ = files;
    total_bytes_ = bytes;
    totals_final_ = final;
  }
  void done();  // clears the line
  // The line drawn `secs` seconds after the start.
  std::string line(double secs) const;

 private:
  void maybe_draw();
  std::string verb_;
  bool enabled_;
  uint64_t total_files_, total_bytes_;
  bool totals_final_;
  uint64_t files_ = 0, bytes_ = 0, ticks_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
};

}  // namespace airlock
