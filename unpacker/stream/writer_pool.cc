#include "unpacker/stream/writer_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>

#include "common/error.h"
#include "common/hash.h"
#include "common/sha256_pair.h"

namespace airlock::unpacker {

FileStamp FileStamp::of(const struct stat& st) {
  FileStamp s;
  s.dev = static_cast<uint64_t>(st.st_dev);
  s.ino = static_cast<uint64_t>(st.st_ino);
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return s;
}

void KnownFiles::add(const FileStamp& stamp, std::string_view sha256, bool elf64) {
  KnownFile f;
  f.stamp = stamp;
  std::memcpy(f.sha256.data(), sha256.data(), std::min(sha256.size(), f.sha256.size()));
  f.elf64 = elf64;
  files_.push_back(f);
}

namespace {
std::pair<uint64_t, uint64_t> key(const KnownFile& f) { return {f.stamp.dev, f.stamp.ino}; }
}  // namespace

void KnownFiles::done() {
  std::stable_sort(files_.begin(), files_.end(), [](const KnownFile& a, const KnownFile& b) { return key(a) < key(b); });
  files_.erase(std::unique(files_.begin(), files_.end(),
                           [](const KnownFile& a, const KnownFile& b) { return key(a) == key(b); }),
               files_.end());
  files_.shrink_to_fit();
}

const KnownFile* KnownFiles::find(const FileStamp& now) const {
  auto want = std::make_pair(now.dev, now.ino);
  auto it = std::lower_bound(files_.begin(), files_.end(), want,
                             [&](const KnownFile& f, const std::pair<uint64_t, uint64_t>& k) { return key(f) < k; });
  if (it == files_.end() || key(*it) != want || !(it->stamp == now)) return nullptr;
  return &*it;
}

void write_new_file_at(int dirfd, const std::string& path, uint32_t perm, const timespec& mtime, const uint8_t* data,
                       size_t size, FileStamp* stamp) {
  // O_EXCL|O_NOFOLLOW: never reuse or follow something already there.
  UniqueFd fd(::openat(dirfd, path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm));
  if (!fd) throw_errno("cannot create", path);
  for (size_t done = 0; done < size;) {
    ssize_t n = ::write(fd.get(), data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write failed", path);
    }
    done += static_cast<size_t>(n);
  }
  timespec times[2] = {mtime, mtime};
  if (::futimens(fd.get(), times) != 0) throw_errno("cannot set modification time", path);
  if (stamp) {
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("cannot read", path);
    *stamp = FileStamp::of(st);
  }
  if (::close(fd.release()) != 0) throw_errno("close failed", path);
}

struct WriterPool::Impl {
  int dirfd;
  size_t max_bytes;
  std::vector<WrittenFile> written;
  std::mutex mu;
  std::condition_variable cv_space;
  // One queue per thread: files of one directory always go to the same
  // thread, so threads do not contend for a directory's lock (and, on
  // ext4, mostly allocate inodes in different block groups).
  std::vector<std::deque<FileJob>> queues;
  std::vector<std::condition_variable> cv_work;
  size_t pending = 0;
  size_t queued_bytes = 0, busy = 0;
  bool stop = false;
  std::exception_ptr err;
  std::vector<std::thread> threads;
  // Buffers of written jobs, for take_buffer(); bounded in bytes.
  std::vector<std::vector<uint8_t>> spare;
  size_t spare_bytes = 0;
  static constexpr size_t kSpareMax = 64;
  static constexpr size_t kSpareBytes = 4 << 20;
  static constexpr size_t kBatch = 8;  // jobs a thread takes at once

  void work(size_t me) {
    auto& jobs = queues[me];
    std::vector<FileJob> batch;
    std::vector<std::span<const uint8_t>> data;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lk(mu);
        cv_work[me].wait(lk, [&] { return stop || !jobs.empty(); });
        if (stop && (jobs.empty() || err)) return;
        // What is queued, up to a few files: hashed two at a time.
        while (!jobs.empty() && batch.size() < kBatch) {
          batch.push_back(std::move(jobs.front()));
          jobs.pop_front();
          --pending;
          ++busy;
        }
      }
      data.clear();
      for (const FileJob& job : batch) data.emplace_back(job.data);
      std::vector<std::array<uint8_t, 32>> digests = sha256_each(data);
      for (size_t i = 0; i < batch.size(); ++i) {
        FileJob& job = batch[i];
        WrittenFile done{job.index, to_hex(digests[i]), {}};
        try {
          write_new_file_at(dirfd, job.path, job.perm, job.mtime, job.data.data(), job.data.size(), &done.stamp);
        } catch (...) {
          std::lock_guard lk(mu);
          if (!err) err = std::current_exception();
        }
        std::lock_guard lk(mu);
        written.push_back(std::move(done));
        queued_bytes -= job.accounted;
        if (spare.size() < kSpareMax && spare_bytes + job.data.capacity() <= kSpareBytes) {
          spare_bytes += job.data.capacity();
          job.data.clear();
          spare.push_back(std::move(job.data));
        }
        --busy;
        cv_space.notify_all();
      }
    }
  }

};

WriterPool::WriterPool(int dirfd, unsigned threads, size_t max_queued_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->dirfd = dirfd;
  impl_->max_bytes = max_queued_bytes;
  unsigned n = std::max(1u, threads);
  impl_->queues.resize(n);
  impl_->cv_work = std::vector<std::condition_variable>(n);
  for (unsigned i = 0; i < n; ++i) impl_->threads.emplace_back([this, i] { impl_->work(i); });
}

WriterPool::~WriterPool() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stop = true;
    for (auto& q : impl_->queues) q.clear();
    for (auto& c : impl_->cv_work) c.notify_all();
  }
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

void WriterPool::submit(FileJob job) {
  Impl& s = *impl_;
  std::unique_lock lk(s.mu);
  // Bounded memory: wait while the queue holds too many bytes (a single
  // job bigger than the bound still goes through, alone).
  size_t bytes = job.data.capacity();
  s.cv_space.wait(lk, [&] { return s.err || s.queued_bytes == 0 || s.queued_bytes + bytes <= s.max_bytes; });
  if (s.err) std::rethrow_exception(s.err);
  s.queued_bytes += bytes;
  job.accounted = bytes;
  auto slash = job.path.rfind('/');
  size_t q = std::hash<std::string_view>{}(std::string_view(job.path).substr(0, slash)) % s.queues.size();
  s.queues[q].push_back(std::move(job));
  ++s.pending;
  s.cv_work[q].notify_one();
}

std::vector<uint8_t> WriterPool::take_buffer(size_t size) {
  Impl& s = *impl_;
  {
    std::lock_guard lk(s.mu);
    // Never a big buffer for a small file: the queue's bound counts
    // capacity, and a few MiB held by a 100-byte file would waste it.
    size_t most = std::max<size_t>(2 * size, 64 << 10);
    for (size_t i = s.spare.size(); i-- > 0;) {
      if (s.spare[i].capacity() < size || s.spare[i].capacity() > most) continue;
      std::vector<uint8_t> b = std::move(s.spare[i]);
      s.spare[i] = std::move(s.spare.back());
      s.spare.pop_back();
      s.spare_bytes -= b.capacity();
      return b;
    }
  }
  std::vector<uint8_t> b;
  b.reserve(std::max<size_t>(size, 64 << 10));
  return b;
}

std::vector<WrittenFile> WriterPool::finish() {
  Impl& s = *impl_;
  {
    std::unique_lock lk(s.mu);
    s.cv_space.wait(lk, [&] { return s.err || (s.pending == 0 && s.busy == 0); });
    s.stop = true;
    for (auto& c : s.cv_work) c.notify_all();
  }
  for (auto& t : s.threads)
    if (t.joinable()) t.join();
  if (s.err) std::rethrow_exception(s.err);
  return std::move(s.written);
}

}  // namespace airlock::unpacker
