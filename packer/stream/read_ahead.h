// Reads the walked files on a thread of its own while the main thread
// writes the tar and feeds zstd: the two overlap instead of waiting on each
// other. The reader hashes (SHA-256), patches ELF RUNPATHs and scans for
// the prefix on the way, and hands chunks over in order through a small
// pool of buffers, so memory stays bounded (8 x 512 KiB). Small files share
// a buffer (one after the other), so thousands of them can be in flight
// and the two threads hand over in large batches, not file by file.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/elf/elf.h"
#include "common/io.h"
#include "packer/stream/relocate.h"
#include "packer/stream/walk.h"

namespace airlock::packer {

struct FileResult {
  std::string sha256;
  uint64_t size = 0;
  std::optional<RelocateMode> relocate;
  bool elf_patched = false;
  // An ELF64 LE file of the environment: its dynamic tables, as read to
  // plan the patch (the library doctor's input when pack runs it).
  std::shared_ptr<const elf::DynamicInfo> elf;
};

// Whether the first `len` bytes of the open file are all in the page
// cache: true or false where the kernel can say (cachestat, Linux 6.5),
// nullopt where it cannot.
std::optional<bool> page_cache_holds(int fd, uint64_t len);

class ReadAhead {
 public:
  enum class Kind { kEntry, kData, kFileEnd };
  struct Event {
    Kind kind = Kind::kEntry;
    size_t index = 0;                 // into the entries
    const WalkEntry* entry = nullptr;
    std::span<const uint8_t> data;    // kData: valid until the next call to next()
    FileResult result;                // kFileEnd
    int buffer = -1;
  };

  // Reads the entries of `feed` as they are published (the walk may still
  // be going on).
  ReadAhead(WalkFeed& feed, const std::vector<std::string>& prefixes);
  // Reads the entries of a finished walk.
  ReadAhead(const std::deque<WalkEntry>& entries, const std::vector<std::string>& prefixes);
  ~ReadAhead();  // stops the reader (and the feed) and joins it
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next event, in entry order; false after the last. Rethrows what the
  // reader thread threw (an unreadable file, a file that changed size, an
  // interrupt). Gives the previous kData buffer back to the pool.
  bool next(Event& ev);
  // What the prefetch thread did: how often it started (cold files met)
  // and went back to sleep (the files ahead were all in memory), and how
  // many files it asked the kernel for. `finished` once it has returned.
  struct PrefetchStats {
    int started = 0, stopped = 0;
    uint64_t advised = 0;
    uint64_t cold_files = 0;  // files the reader found not all in memory
    bool finished = false;
  };
  PrefetchStats prefetch_stats();
  // True once a read found data not in the page cache and read-ahead of
  // the next files began (it may have stopped since).
  bool prefetching() { return prefetch_stats().started > 0; }

 private:
  void run();
  ReadAhead(std::unique_ptr<WalkFeed> own, WalkFeed* feed, const std::vector<std::string>& prefixes);
  void stream_file(size_t index, const WalkEntry& e);
  UniqueFd open_source(const std::string& source);  // errno set when it fails
  int acquire_buffer();
  // Where the next `want` bytes (at most) of a file go: the rest of the
  // buffer being filled, or a fresh one when too little of it is left.
  std::span<uint8_t> room_for(uint64_t want, int& buffer);
  void release(int buffer);  // one reference fewer; with mu_ held
  // Events are gathered on the reader's side and handed over in batches:
  // a lock and at most one wake-up per batch, not per file. A batch goes
  // when a buffer is full, when kBatchEvents have gathered, and before the
  // reader may wait (for a buffer, the walk or the disk).
  void push(Event ev);
  void publish();

  // Cold page cache: while the reader finds a file's data not yet in
  // memory, a second thread asks the kernel to read the next files ahead
  // (posix_fadvise WILLNEED), so several reads are in flight instead of
  // one at a time. With a warm cache it stays asleep; where the kernel
  // can tell what is cached (cachestat, Linux 6.5), it skips files already
  // in memory and goes back to sleep after kWarmStreak of them in a row.
  void prefetch_run();
  // A file whose data was not all in memory. One now and then happens in a
  // warm cache too (RWF_NOWAIT also gives up on a page that is busy for a
  // moment); prefetching starts when kColdHits of them come within
  // kColdWindow files (files, not directories).
  void found_cold();
  void went_cold();

  static constexpr size_t kBuffers = 8;
  static constexpr uint64_t kPrefetchBytes = 64 << 20;  // ahead of the reader
  static constexpr size_t kPrefetchFiles = 1024;
  static constexpr size_t kBufferSize = 512 * 1024;
  static constexpr size_t kMaxQueued = 4096;
  static constexpr size_t kBatchEvents = 512;
  static constexpr size_t kColdHits = 4;
  static constexpr size_t kColdWindow = 64;
  static constexpr size_t kWarmStreak = 256;

  std::unique_ptr<WalkFeed> own_feed_;
  WalkFeed& feed_;
  const std::vector<std::string>& prefixes_;
  std::vector<std::vector<uint8_t>> buffers_;
  std::vector<int> refs_;  // events (and the filling reader) holding each buffer; under mu_
  int filling_ = -1;       // the reader's buffer being filled, and how far
  size_t filled_ = 0;
  PrefixScanner scanner_;  // the reader thread's own
  std::string dir_path_;   // the reader's: the directory of the last file opened
  UniqueFd dir_fd_;        //   and an O_PATH descriptor of it
  std::vector<Event> pending_;  // the reader's, not yet handed over; their
                                // data is all in filling_ (or none)

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  std::deque<Event> batch_;  // the consumer's: taken from queue_ in one go
  bool consumer_waiting_ = false, producer_waiting_ = false;
  std::vector<int> free_;
  bool done_ = false, stop_ = false;
  std::exception_ptr failure_;
  int held_ = -1;  // the buffer the consumer holds

  std::mutex pf_mu_;
  std::condition_variable pf_cv_;
  bool cold_ = false, pf_stop_ = false;
  PrefetchStats pf_stats_;  // under pf_mu_
  uint64_t cold_news_ = 0;  // under pf_mu_: went_cold() calls
  bool nowait_ok_ = true;                    // the reader's; false if RWF_NOWAIT is unsupported
  size_t files_started_ = 0;                    // the reader's
  std::array<size_t, kColdHits> cold_hits_{};  // the reader's: files_started_ of the last files found cold
  size_t cold_count_ = 0;
  std::atomic<size_t> reading_{0};           // entry the reader is at
  std::atomic<uint64_t> read_bytes_{0};      // sum of sizes of the files it has started
  std::thread prefetch_;
  std::thread thread_;
};

}  // namespace airlock::packer
