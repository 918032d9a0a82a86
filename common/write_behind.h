// A stage of a writer chain run on a thread of its own: write() copies the
// bytes into one of a few buffers and returns; the thread hands them, in
// order, to the next writer. The packer puts it between zstd and age, so
// that encrypting, hashing and writing the compressed stream (a third of a
// second for a 150 MB bundle) do not stop the main thread from feeding
// zstd's workers.
//
// Bounded: at most kBuffers x kBufferSize bytes wait. An exception thrown
// by the next writer is rethrown by the following write() or finish().
// finish() waits for everything to be written, then finishes the next
// writer on the calling thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "common/io.h"

namespace airlock {

class WriteBehind : public Writer {
 public:
  explicit WriteBehind(Writer& next);
  ~WriteBehind() override;  // stops the thread; what was not written is dropped
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  void write(std::span<const uint8_t> data) override;
  using Writer::write;
  void finish() override;

  static constexpr size_t kBuffers = 4;
  static constexpr size_t kBufferSize = 1 << 20;

 private:
  void run();
  void hand_over();  // the filling buffer to the thread; with mu_ held
  void rethrow_failure();  // with mu_ held

  Writer& next_;
  std::vector<std::vector<uint8_t>> buffers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> full_;   // in order, for the thread
  std::vector<int> free_;
  int filling_ = -1;       // the caller's
  bool busy_ = false;      // the thread is writing a buffer
  bool stop_ = false;
  std::exception_ptr failure_;
  std::thread thread_;
};

}  // namespace airlock
