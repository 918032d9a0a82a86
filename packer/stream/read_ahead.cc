#include "packer/stream/read_ahead.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>

#include "common/elf/elf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/io.h"

namespace airlock::packer {

namespace {

struct Stopped {};  // unwinds the reader when the consumer has gone

size_t read_some(int fd, const std::string& path, std::span<uint8_t> buf) {
  if (buf.empty()) return 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) {
      check_interrupted();
      continue;
    }
    throw_errno("read failed", path);
  }
}

[[noreturn]] void changed_size(const WalkEntry& e, const std::string& now) {
  throw Error(Exit::kUsage,
              e.source() + ": file changed size while being packed (" + std::to_string(e.size) +
                  " bytes when walked, " + now + " now)",
              "pack again when nothing is writing to the environment");
}

}  // namespace

ReadAhead::ReadAhead(const std::deque<WalkEntry>& entries, const std::vector<std::string>& prefixes)
    : ReadAhead(WalkFeed::of(entries), nullptr, prefixes) {}

ReadAhead::ReadAhead(WalkFeed& feed, const std::vector<std::string>& prefixes) : ReadAhead(nullptr, &feed, prefixes) {}

ReadAhead::ReadAhead(std::unique_ptr<WalkFeed> own, WalkFeed* feed, const std::vector<std::string>& prefixes)
    : own_feed_(std::move(own)),
      feed_(feed ? *feed : *own_feed_),
      prefixes_(prefixes),
      buffers_(kBuffers, std::vector<uint8_t>(kBufferSize)),
      refs_(kBuffers, 0),
      scanner_(prefixes) {
  for (int i = 0; i < static_cast<int>(kBuffers); ++i) free_.push_back(i);
  prefetch_ = std::thread([this] { prefetch_run(); });
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    {
      std::lock_guard lk(pf_mu_);
      pf_stop_ = true;
    }
    pf_cv_.notify_all();
    prefetch_.join();
    throw;
  }
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  feed_.stop();  // a reader waiting for the walk returns
  thread_.join();
  {
    std::lock_guard lk(pf_mu_);
    pf_stop_ = true;
  }
  pf_cv_.notify_all();
  prefetch_.join();
}

std::optional<bool> page_cache_holds(int fd, uint64_t len) {
#if defined(SYS_cachestat)
  constexpr long kCachestat = SYS_cachestat;
#elif defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__arm__) || defined(__riscv) || \
    defined(__powerpc__) || defined(__s390__) || defined(__loongarch__)
  constexpr long kCachestat = 451;  // the common system call table's number (Linux 6.5)
#else
  constexpr long kCachestat = -1;  // unknown here: never asked
#endif
  static std::atomic<bool> unsupported{kCachestat < 0};
  if (unsupported.load(std::memory_order_relaxed)) return std::nullopt;
  struct {
    uint64_t off, len;
  } range{0, len};
  struct {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
  } cs{};
  if (::syscall(kCachestat, fd, &range, &cs, 0) != 0) {
    if (errno == ENOSYS || errno == EPERM) unsupported = true;  // EPERM: a seccomp filter
    return std::nullopt;
  }
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return cs.nr_cache >= (len + page - 1) / page;
}

ReadAhead::PrefetchStats ReadAhead::prefetch_stats() {
  std::lock_guard lk(pf_mu_);
  return pf_stats_;
}

void ReadAhead::went_cold() {
  {
    std::lock_guard lk(pf_mu_);
    ++cold_news_;  // a prefetcher about to sleep again sees this
    if (cold_) return;
    cold_ = true;
    ++pf_stats_.started;
  }
  pf_cv_.notify_all();
}

void ReadAhead::found_cold() {
  {
    std::lock_guard lk(pf_mu_);
    ++pf_stats_.cold_files;
  }
  cold_hits_[cold_count_++ % kColdHits] = files_started_;
  // Against the oldest of the last kColdHits.
  if (cold_count_ >= kColdHits && files_started_ - cold_hits_[cold_count_ % kColdHits] < kColdWindow) went_cold();
}

void ReadAhead::prefetch_run() {
  size_t next = 0;
  uint64_t ahead_bytes = 0;  // sum of sizes of files [0, next)
  size_t warm_streak = 0;    // files in a row found all in memory
  uint64_t streak_news = 0;  // cold_news_ when the streak began
  for (;;) {
    const WalkEntry* e = nullptr;
    {
      std::unique_lock lk(pf_mu_);
      auto room = [&] {
        return next < reading_.load() + kPrefetchFiles && ahead_bytes < read_bytes_.load() + kPrefetchBytes;
      };
      // Poll while cold: the reader does not signal every file it starts,
      // nor the walk every entry it publishes.
      for (;;) {
        if (pf_stop_) {
          pf_stats_.finished = true;
          return;
        }
        if (cold_ && room()) {
          try {
            if ((e = feed_.at(next, false))) break;
          } catch (...) {
            pf_stats_.finished = true;
            return;  // the walk failed: the reader reports it
          }
          if (feed_.done()) {
            pf_stats_.finished = true;
            return;
          }
        }
        if (cold_) pf_cv_.wait_for(lk, std::chrono::milliseconds(2));
        else pf_cv_.wait(lk);
      }
    }
    size_t i = next++;
    if (e->type != EntryType::kFile) continue;
    ahead_bytes += e->size;
    if (i <= reading_.load() || e->size == 0) continue;  // the reader is there or past it
    // Errors do not matter here: the reader reports them. A big file is
    // asked for up to the window only; the kernel's own read-ahead follows.
    const std::string source = e->source();
    UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME | O_NONBLOCK));
    if (!fd && errno == EPERM) fd = UniqueFd(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd) continue;
    uint64_t len = std::min(e->size, kPrefetchBytes);
    if (page_cache_holds(fd.get(), len).value_or(false)) {
      if (warm_streak++ == 0) {
        std::lock_guard lk(pf_mu_);
        streak_news = cold_news_;
      }
      if (warm_streak < kWarmStreak) continue;
      // Everything ahead is in memory again: sleep until the reader finds
      // cold files anew (unless it did during the streak).
      warm_streak = 0;
      std::lock_guard lk(pf_mu_);
      if (cold_news_ != streak_news) continue;
      cold_ = false;
      ++pf_stats_.stopped;
      continue;
    }
    warm_streak = 0;
    ::posix_fadvise(fd.get(), 0, static_cast<off_t>(len), POSIX_FADV_WILLNEED);
    std::lock_guard lk(pf_mu_);
    ++pf_stats_.advised;
  }
}

// Hand-off costs a lock and sometimes a wake-up per batch, not per event:
// the consumer takes everything queued at once, and each side signals the
// other only when it is waiting.
bool ReadAhead::next(Event& ev) {
  if (held_ >= 0 || batch_.empty()) {
    std::unique_lock lk(mu_);
    if (held_ >= 0) {
      release(held_);
      held_ = -1;
    }
    if (batch_.empty()) {
      consumer_waiting_ = true;
      cv_.wait(lk, [&] { return !queue_.empty() || done_; });
      consumer_waiting_ = false;
      if (queue_.empty()) {
        if (failure_) std::rethrow_exception(failure_);
        return false;
      }
      batch_.swap(queue_);
      if (producer_waiting_) cv_.notify_all();
    }
  }
  ev = std::move(batch_.front());
  batch_.pop_front();
  held_ = ev.buffer;
  return true;
}

void ReadAhead::push(Event ev) {
  pending_.push_back(std::move(ev));
  if (pending_.size() >= kBatchEvents) publish();
}

void ReadAhead::publish() {
  if (pending_.empty()) return;
  std::unique_lock lk(mu_);
  if (queue_.size() + pending_.size() > kMaxQueued && !stop_) {
    producer_waiting_ = true;
    if (consumer_waiting_) cv_.notify_all();
    cv_.wait(lk, [&] { return queue_.size() + pending_.size() <= kMaxQueued || stop_; });
    producer_waiting_ = false;
  }
  if (stop_) throw Stopped{};
  for (Event& ev : pending_) {
    if (ev.buffer >= 0) ++refs_[static_cast<size_t>(ev.buffer)];
    queue_.push_back(std::move(ev));
  }
  pending_.clear();
  if (consumer_waiting_) cv_.notify_all();
}

void ReadAhead::release(int b) {
  if (--refs_[static_cast<size_t>(b)] > 0) return;
  free_.push_back(b);
  if (producer_waiting_) cv_.notify_all();
}

std::span<uint8_t> ReadAhead::room_for(uint64_t want, int& buffer) {
  // A chunk smaller than this does not start in an almost full buffer.
  constexpr size_t kMinChunk = 64 * 1024;
  size_t left = kBufferSize - filled_;
  if (filling_ < 0 || left == 0 || (left < want && left < kMinChunk)) {
    if (filling_ >= 0) {
      publish();  // the events that point into it hold their references first
      std::lock_guard lk(mu_);
      release(filling_);
      filling_ = -1;
    }
    filling_ = acquire_buffer();
    filled_ = 0;
    left = kBufferSize;
  }
  buffer = filling_;
  return {buffers_[static_cast<size_t>(filling_)].data() + filled_, static_cast<size_t>(std::min<uint64_t>(left, want))};
}

int ReadAhead::acquire_buffer() {
  publish();  // before waiting for a buffer the consumer may free
  std::unique_lock lk(mu_);
  if (free_.empty() && !stop_) {
    producer_waiting_ = true;
    cv_.wait(lk, [&] { return !free_.empty() || stop_; });
    producer_waiting_ = false;
  }
  if (stop_) throw Stopped{};
  int b = free_.back();
  free_.pop_back();
  refs_[static_cast<size_t>(b)] = 1;  // the filling reader's
  return b;
}

void ReadAhead::run() {
  try {
    for (size_t i = 0;; ++i) {
      const WalkEntry* e = feed_.at(i, false);  // rethrows the walk's failure
      if (!e) {
        publish();  // before waiting for the walk
        e = feed_.at(i);
      }
      if (!e) break;  // the walk ended (or the feed was stopped)
      check_interrupted();
      push(Event{Kind::kEntry, i, e});
      if (e->type == EntryType::kFile) stream_file(i, *e);
    }
    publish();
  } catch (const Stopped&) {
  } catch (...) {
    std::lock_guard lk(mu_);
    failure_ = std::current_exception();
  }
  std::lock_guard lk(mu_);
  done_ = true;
  cv_.notify_all();
}

UniqueFd ReadAhead::open_source(const std::string& source) {
  // Files come in walk order, most in the same directory as the one
  // before: that directory stays open, so an open looks up one name, not
  // every component of the path again.
  size_t slash = source.rfind('/');
  const char* name = source.c_str();
  int at = AT_FDCWD;
  if (slash != std::string::npos && slash > 0) {
    std::string_view dir(source.data(), slash);
    if (!dir_fd_ || dir != dir_path_) {
      dir_path_.assign(dir);
      dir_fd_ = UniqueFd(::open(dir_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    if (dir_fd_) {
      at = dir_fd_.get();
      name += slash + 1;
    }
  }
  UniqueFd fd(::openat(at, name, O_RDONLY | O_CLOEXEC | O_NOATIME));
  if (!fd && errno == EPERM) fd = UniqueFd(::openat(at, name, O_RDONLY | O_CLOEXEC));
  return fd;
}

void ReadAhead::stream_file(size_t index, const WalkEntry& e) {
  reading_.store(index);
  read_bytes_.fetch_add(e.size);
  ++files_started_;
  const bool in_env = e.path.rfind("env/", 0) == 0;
  const std::string rel = in_env ? e.path.substr(4) : e.path;
  const std::string source = e.source();
  UniqueFd fd = open_source(source);
  if (!fd) throw_errno("cannot open", source);

  FileResult res;
  Sha256 sha;
  PrefixScanner& scanner = scanner_;
  scanner.reset();
  std::optional<ElfPatch> patch;
  bool scan = false;
  uint64_t total = 0;
  bool at_end = false;  // a read came back short: the file ends where the walk said
  for (bool first = true; total < e.size; first = false) {
    int b;
    // Room for one byte more than the file should still have, where it
    // fits: a read that returns less has met the end, so small files need
    // no second read to show they did not grow.
    uint64_t rest = e.size - total;
    std::span<uint8_t> want = room_for(rest + 1, b);
    size_t n;
    bool partial_ok = false;  // RWF_NOWAIT returns what is cached: short is not the end
    if (first && nowait_ok_ && !want.empty()) {
      // Is the data in memory? If not, the cache is cold: start prefetching.
      iovec iov{want.data(), want.size()};
      ssize_t r = ::preadv2(fd.get(), &iov, 1, -1, RWF_NOWAIT);
      if (r > 0) {
        n = static_cast<size_t>(r);
        partial_ok = true;
      } else {
        if (r < 0 && errno == EAGAIN) found_cold();
        else if (r < 0 && errno == EOPNOTSUPP) nowait_ok_ = false;
        publish();  // before waiting for the disk
        n = read_some(fd.get(), source, want);
      }
    } else {
      // Without RWF_NOWAIT there is no telling whether this read waits for
      // the disk: what is gathered goes first.
      if (first && !nowait_ok_) publish();
      n = read_some(fd.get(), source, want);
    }
    if (n == 0) changed_size(e, std::to_string(total));
    if (n > rest) changed_size(e, "more");
    if (!partial_ok && want.size() > rest && n == rest) at_end = true;
    std::span<uint8_t> chunk(want.data(), n);
    filled_ += n;
    if (first) {
      bool elf = in_env && elf::has_elf_magic(chunk);
      // ELF files: RPATH/RUNPATH planned from the file's own tables (pread),
      // then patched chunk by chunk: the source is never modified, and the
      // archive and the manifest see the patched bytes.
      if (elf) patch = plan_elf_patch_file(rel, source, prefixes_, &res.elf);
      // Scan for the prefix only what may be listed for relocation: not ELF
      // files, not bytecode or archives. They are most of a prefix's bytes.
      scan = in_env && !elf && !never_relocated(rel);
    }
    if (patch) patch->apply_at(total, chunk);
    if (scan) scanner.feed(chunk);
    sha.update(chunk);
    total += n;
    Event ev{Kind::kData, index, &e};
    ev.data = chunk;
    ev.buffer = b;
    push(std::move(ev));
  }
  uint8_t extra;
  if (!at_end && ::read(fd.get(), &extra, 1) > 0) changed_size(e, "more");
  res.size = total;
  res.sha256 = sha.hex_digest();
  res.elf_patched = patch.has_value();
  if (scan) res.relocate = relocation_mode(rel, scanner);
  Event end{Kind::kFileEnd, index, &e};
  end.result = std::move(res);
  push(std::move(end));
}

}  // namespace airlock::packer
