// File creation on several threads. Extracting a Python prefix is
// dominated by the kernel's per-file work (open/create, write, close), not
// by decompression: tar -x of 54,804 files spends nearly all its time in
// system calls, so the files are created by a small pool of threads while
// the tar reader runs ahead. Each job is one whole small file; the pool
// hashes it (SHA-256) while the data is hot, and the bytes queued are
// bounded so memory stays small whatever the payload.
#pragma once

#include <ctime>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace airlock::unpacker {

struct FileJob {
  size_t index = 0;  // where the digest goes
  std::string path;  // relative to the pool's directory
  uint32_t perm = 0644;
  timespec mtime{};
  std::vector<uint8_t> data;
  size_t accounted = 0;  // bytes counted against the queue's bound (set by submit)
};

class WriterPool {
 public:
  // Files are created relative to `dirfd`.
  WriterPool(int dirfd, unsigned threads, size_t max_queued_bytes);
  ~WriterPool();  // stops and joins (pending jobs are dropped)
  WriterPool(const WriterPool&) = delete;
  WriterPool& operator=(const WriterPool&) = delete;

  // Queues a job; blocks while too many bytes are queued. Rethrows the
  // first worker error (e.g. disk full) so the reader stops early.
  void submit(FileJob job);
  // An empty buffer with room for `size` bytes, reused from written jobs
  // when one is big enough: no allocation per file.
  std::vector<uint8_t> take_buffer(size_t size);
  // Waits for every job, joins the threads and rethrows the first error;
  // returns (job index, SHA-256 hex) for every file written.
  std::vector<std::pair<size_t, std::string>> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Creates a new file relative to `dirfd` (O_EXCL, never following a
// symlink), writes `data`, sets its mtime, closes, checking every step.
// Throws Error naming `path`.
void write_new_file_at(int dirfd, const std::string& path, uint32_t perm, const timespec& mtime,
                       const uint8_t* data, size_t size);

}  // namespace airlock::unpacker
