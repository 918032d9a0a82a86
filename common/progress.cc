#include "common/progress.h"

#include <cstdio>
#include <string>

namespace airlock {

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

Progress::Progress(std::string verb, bool enabled, uint64_t total_files, uint64_t total_bytes, bool totals_final)
    : verb_(std::move(verb)),
      enabled_(enabled),
      total_files_(total_files),
      total_bytes_(total_bytes),
      totals_final_(totals_final),
      start_(std::chrono::steady_clock::now()),
      last_(start_ - std::chrono::seconds(1)) {}  // the first line at once

Progress::~Progress() { done(); }

void Progress::maybe_draw() {
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  std::string text = line(std::chrono::duration<double>(now - start_).count());
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

std::string Progress::line(double secs) const {
  const char* more = totals_final_ ? "" : "+";
  std::string l = verb_ + ": " + std::to_string(files_) + "/" + std::to_string(total_files_) + more + " files, " +
                  human_bytes(bytes_) + "/" + human_bytes(total_bytes_) + more;
  if (secs < 1) return l;  // too early for a rate
  double rate = static_cast<double>(bytes_) / secs;
  l += ", " + human_bytes(static_cast<uint64_t>(rate)) + "/s";
  if (!totals_final_) {
    l += ", counting";
  } else if (rate > 0 && total_bytes_ > bytes_) {
    char b[32];
    std::snprintf(b, sizeof b, ", %.0f s left", static_cast<double>(total_bytes_ - bytes_) / rate);
    l += b;
  }
  return l;
}

void Progress::done() {
  if (drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace airlock
