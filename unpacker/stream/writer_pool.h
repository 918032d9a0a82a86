// File creation on several threads. Extracting a Python prefix is
// dominated by the kernel's per-file work (open/create, write, close), not
// by decompression: tar -x of 54,804 files spends nearly all its time in
// system calls, so the files are created by a small pool of threads while
// the tar reader runs ahead. Each job is one whole small file; the pool
// hashes it (SHA-256) while the data is hot, and the bytes queued are
// bounded so memory stays small whatever the payload.
#pragma once

#include <sys/stat.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <ctime>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace airlock::unpacker {

// A written file as the kernel saw it when it was closed: the
// installed-tree record takes the digest computed while writing for every
// file that still has this identity, size and these times, instead of
// reading it again.
struct FileStamp {
  uint64_t dev = 0, ino = 0;  // ino 0: not known
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  static FileStamp of(const struct stat& st);
  bool operator==(const FileStamp&) const = default;
};

// What the unpack knows of the files it wrote, by identity (device,
// inode): valid for a file while its stamp is the one recorded here (any
// write since, or a replacement, changes its ctime or its inode). The
// installed-tree record takes the digests, the link test the ELF-ness,
// instead of reading the files again.
struct KnownFile {
  FileStamp stamp;
  std::array<char, 64> sha256{};  // lowercase hex
  bool elf64 = false;             // begins as an ELF64 little-endian file (elf::probe)
};
// Kept compact (a sorted array, some 100 bytes a file): it lives through
// the link test and the record, the unpack's last and largest steps.
class KnownFiles {
 public:
  // sha256: 64 lowercase hex digits.
  void add(const FileStamp& stamp, std::string_view sha256, bool elf64);
  void reserve(size_t n) { files_.reserve(n); }
  // After the last add(), before find(): sorts (a file added twice keeps
  // the first). find() then only reads, from any number of threads.
  void done();
  // Null when the file (device, inode) is unknown or its stamp changed.
  const KnownFile* find(const FileStamp& now) const;
  size_t size() const { return files_.size(); }

 private:
  std::vector<KnownFile> files_;
};

// The digest and stamp of one written file.
struct WrittenFile {
  size_t index = 0;
  std::string sha256;
  FileStamp stamp;
};

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
  // returns the job index, SHA-256 hex and stamp of every file written.
  std::vector<WrittenFile> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Creates a new file relative to `dirfd` (O_EXCL, never following a
// symlink), writes `data`, sets its mtime, closes, checking every step.
// Throws Error naming `path`. With `stamp`, fills it in before closing.
void write_new_file_at(int dirfd, const std::string& path, uint32_t perm, const timespec& mtime,
                       const uint8_t* data, size_t size, FileStamp* stamp = nullptr);

}  // namespace airlock::unpacker
