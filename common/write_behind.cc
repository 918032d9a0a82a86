#include "common/write_behind.h"

#include <cstring>

namespace airlock {

WriteBehind::WriteBehind(Writer& next) : next_(next), buffers_(kBuffers) {
  for (int i = 0; i < static_cast<int>(kBuffers); ++i) {
    buffers_[static_cast<size_t>(i)].reserve(kBufferSize);
    free_.push_back(i);
  }
  thread_ = std::thread([this] { run(); });
}

WriteBehind::~WriteBehind() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WriteBehind::rethrow_failure() {
  if (failure_) {
    std::exception_ptr f = failure_;
    std::rethrow_exception(f);
  }
}

void WriteBehind::hand_over() {
  full_.push_back(filling_);
  filling_ = -1;
  cv_.notify_all();
}

void WriteBehind::write(std::span<const uint8_t> data) {
  while (!data.empty()) {
    if (filling_ < 0) {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return !free_.empty() || failure_; });
      rethrow_failure();
      filling_ = free_.back();
      free_.pop_back();
    }
    auto& buf = buffers_[static_cast<size_t>(filling_)];
    size_t k = std::min(data.size(), kBufferSize - buf.size());
    buf.insert(buf.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(k));
    data = data.subspan(k);
    if (buf.size() == kBufferSize) {
      std::lock_guard lk(mu_);
      rethrow_failure();
      hand_over();
    }
  }
}

void WriteBehind::finish() {
  {
    std::unique_lock lk(mu_);
    rethrow_failure();
    if (filling_ >= 0) hand_over();
    cv_.wait(lk, [&] { return (full_.empty() && !busy_) || failure_; });
    rethrow_failure();
  }
  next_.finish();
}

void WriteBehind::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return !full_.empty() || stop_; });
    if (stop_) return;
    int b = full_.front();
    full_.pop_front();
    auto& buf = buffers_[static_cast<size_t>(b)];
    if (!failure_) {  // nothing after a failed write is written
      busy_ = true;
      lk.unlock();
      std::exception_ptr failure;
      try {
        next_.write(std::span<const uint8_t>(buf.data(), buf.size()));
      } catch (...) {
        failure = std::current_exception();
      }
      lk.lock();
      busy_ = false;
      if (failure) failure_ = failure;
    }
    buf.clear();
    free_.push_back(b);
    cv_.notify_all();
  }
}

}  // namespace airlock
