// Byte streams and files. Every handle is RAII; every write, flush and close
// is checked; errors name the path.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secure.h"

namespace airlock {

// Pull side of a pipeline. read() returns 0 only at end of stream.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual size_t read(std::span<uint8_t> buf) = 0;
  // Reads exactly buf.size() bytes or throws (via on_short) at EOF.
  void read_exact(std::span<uint8_t> buf);
  // Name used in error messages.
  virtual std::string name() const { return "input"; }
};

// Push side of a pipeline. finish() flushes whatever the writer buffers and
// writes any trailer; a writer that was not finished is incomplete.
class Writer {
 public:
  virtual ~Writer() = default;
  virtual void write(std::span<const uint8_t> data) = 0;
  virtual void finish() {}
  void write(std::string_view s) {
    write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
};

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

class FileReader : public Reader {
 public:
  explicit FileReader(std::string path);  // "-" is stdin
  FileReader(int fd, std::string name);   // takes ownership
  size_t read(std::span<uint8_t> buf) override;
  std::string name() const override { return path_; }
  int fd() const { return fd_.get(); }

 private:
  std::string path_;
  UniqueFd fd_;
};

class MemoryReader : public Reader {
 public:
  explicit MemoryReader(std::span<const uint8_t> data, std::string name = "input")
      : data_(data), name_(std::move(name)) {}
  explicit MemoryReader(std::string_view s, std::string name = "input")
      : MemoryReader(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()),
                     std::move(name)) {}
  size_t read(std::span<uint8_t> buf) override;
  std::string name() const override { return name_; }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  std::string name_;
};

// Writes to a file descriptor, buffered; finish() flushes. Does not close.
class FdWriter : public Writer {
 public:
  FdWriter(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  ~FdWriter() override = default;
  void write(std::span<const uint8_t> data) override;
  using Writer::write;
  void finish() override { flush(); }
  void flush();

 private:
  int fd_;
  std::string name_;
  std::vector<uint8_t> buf_;
};

class VectorWriter : public Writer {
 public:
  void write(std::span<const uint8_t> data) override { out.insert(out.end(), data.begin(), data.end()); }
  using Writer::write;
  std::string str() const { return std::string(out.begin(), out.end()); }
  std::vector<uint8_t> out;
};

// What OutputFile would refuse, asked before any long work: `path` exists
// and `force` is not given (exit 2, the same message), or its directory
// does not exist.
void refuse_existing_output(const std::string& path, bool force);

// A new output file that is removed unless commit() is called: a failed or
// interrupted run leaves no partial output. The file is written in place at
// `path` (created with O_EXCL unless `force`, then replaced atomically by
// writing to a temporary name and renaming on commit).
class OutputFile : public Writer {
 public:
  OutputFile(std::string path, int mode, bool force);
  ~OutputFile() override;
  void write(std::span<const uint8_t> data) override;
  using Writer::write;
  void finish() override { writer_->flush(); }
  // fsyncs, closes and renames into place.
  void commit();
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_;
  UniqueFd fd_;
  std::unique_ptr<FdWriter> writer_;
  bool committed_ = false;
  static constexpr uint64_t kWriteBehind = 16 << 20;
  uint64_t unflushed_ = 0;
};

// Outputs being written, for a process that must exit at once (an
// interrupt while a thread cannot be stopped, such as a zstd job at a high
// level): OutputFile and temporary trees register what they would remove
// on unwinding; remove_registered() removes it all. Thread-safe.
void register_cleanup(const std::string& path, bool tree);
void unregister_cleanup(const std::string& path);
void remove_registered() noexcept;

// Whole-file helpers.
std::string read_file(const std::string& path);
SecureBytes read_secret_file(const std::string& path);
// Writes a new file with `mode` (e.g. 0600 for secrets); refuses to replace
// an existing one unless `force` (error says to pass --force).
void write_new_file(const std::string& path, std::string_view data, int mode, bool force);

// The process's umask (umask() can only be read by setting it: 077 is set
// for that moment, so a file another thread creates meanwhile is no more
// open than intended).
unsigned current_umask();

// Pumps a reader into a writer until EOF; returns bytes copied.
uint64_t copy_stream(Reader& in, Writer& out);

}  // namespace airlock
