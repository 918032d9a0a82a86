#include "unpacker/writer_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "common/hash.h"

namespace airlock::unpacker {

void write_new_file_at(int dirfd, const std::string& path, uint32_t perm, const timespec& mtime, const uint8_t* data,
                       size_t size) {
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
  if (::close(fd.release()) != 0) throw_errno("close failed", path);
}

struct WriterPool::Impl {
  int dirfd;
  size_t max_bytes;
  std::vector<std::pair<size_t, std::string>> digests;
  std::mutex mu;
  std::condition_variable cv_work, cv_space;
  std::deque<FileJob> jobs;
  size_t queued_bytes = 0, busy = 0;
  bool stop = false;
  std::exception_ptr err;
  std::vector<std::thread> threads;

  void work() {
    for (;;) {
      FileJob job;
      {
        std::unique_lock lk(mu);
        cv_work.wait(lk, [&] { return stop || !jobs.empty(); });
        if (stop && (jobs.empty() || err)) return;
        job = std::move(jobs.front());
        jobs.pop_front();
        ++busy;
      }
      std::string digest;
      try {
        Sha256 sha;
        sha.update(std::span<const uint8_t>(job.data));
        digest = sha.hex_digest();
        write_new_file_at(dirfd, job.path, job.perm, job.mtime, job.data.data(), job.data.size());
      } catch (...) {
        std::lock_guard lk(mu);
        if (!err) err = std::current_exception();
      }
      std::lock_guard lk(mu);
      digests.emplace_back(job.index, std::move(digest));
      queued_bytes -= job.data.size();
      --busy;
      cv_space.notify_all();
    }
  }
};

WriterPool::WriterPool(int dirfd, unsigned threads, size_t max_queued_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->dirfd = dirfd;
  impl_->max_bytes = max_queued_bytes;
  for (unsigned i = 0; i < std::max(1u, threads); ++i) impl_->threads.emplace_back([this] { impl_->work(); });
}

WriterPool::~WriterPool() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stop = true;
    impl_->jobs.clear();
    impl_->cv_work.notify_all();
  }
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

void WriterPool::submit(FileJob job) {
  Impl& s = *impl_;
  std::unique_lock lk(s.mu);
  // Bounded memory: wait while the queue holds too many bytes (a single
  // job bigger than the bound still goes through, alone).
  s.cv_space.wait(lk, [&] { return s.err || s.queued_bytes == 0 || s.queued_bytes + job.data.size() <= s.max_bytes; });
  if (s.err) std::rethrow_exception(s.err);
  s.queued_bytes += job.data.size();
  s.jobs.push_back(std::move(job));
  s.cv_work.notify_one();
}

std::vector<std::pair<size_t, std::string>> WriterPool::finish() {
  Impl& s = *impl_;
  {
    std::unique_lock lk(s.mu);
    s.cv_space.wait(lk, [&] { return s.err || (s.jobs.empty() && s.busy == 0); });
    s.stop = true;
    s.cv_work.notify_all();
  }
  for (auto& t : s.threads)
    if (t.joinable()) t.join();
  if (s.err) std::rethrow_exception(s.err);
  return std::move(s.digests);
}

}  // namespace airlock::unpacker
