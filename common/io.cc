#include "common/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>
#include <vector>

#include "common/error.h"

namespace airlock {

void Reader::read_exact(std::span<uint8_t> buf) {
  size_t got = 0;
  while (got < buf.size()) {
    size_t n = read(buf.subspan(got));
    if (n == 0) throw Error(Exit::kVerify, name() + ": unexpected end of data");
    got += n;
  }
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

FileReader::FileReader(std::string path) : path_(std::move(path)) {
  if (path_ == "-") {
    fd_ = UniqueFd(::dup(0));
    path_ = "<stdin>";
  } else {
    fd_ = UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  }
  if (!fd_) throw_errno("cannot open", path_);
}

FileReader::FileReader(int fd, std::string name) : path_(std::move(name)), fd_(fd) {}

size_t FileReader::read(std::span<uint8_t> buf) {
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) { check_interrupted(); continue; }
    throw_errno("read failed", path_);
  }
}

size_t MemoryReader::read(std::span<uint8_t> buf) {
  size_t n = std::min(buf.size(), data_.size() - pos_);
  if (n) std::memcpy(buf.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

static void write_all(int fd, const uint8_t* p, size_t n, const std::string& name) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) { check_interrupted(); continue; }
      throw_errno("write failed", name);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void FdWriter::write(std::span<const uint8_t> data) {
  constexpr size_t kBuf = 1 << 20;
  if (buf_.size() + data.size() > kBuf) flush();
  if (data.size() >= kBuf) {
    write_all(fd_, data.data(), data.size(), name_);
    return;
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
}

void FdWriter::flush() {
  if (buf_.empty()) return;
  write_all(fd_, buf_.data(), buf_.size(), name_);
  buf_.clear();
}

namespace {
std::mutex g_cleanup_mu;
std::vector<std::pair<std::string, bool>> g_cleanup;  // path, is a tree
}  // namespace

void register_cleanup(const std::string& path, bool tree) {
  std::lock_guard lk(g_cleanup_mu);
  g_cleanup.emplace_back(path, tree);
}

void unregister_cleanup(const std::string& path) {
  std::lock_guard lk(g_cleanup_mu);
  std::erase_if(g_cleanup, [&](const auto& e) { return e.first == path; });
}

void remove_registered() noexcept {
  std::lock_guard lk(g_cleanup_mu);
  for (const auto& [path, tree] : g_cleanup) {
    std::error_code ec;
    if (tree) std::filesystem::remove_all(path, ec);
    else ::unlink(path.c_str());
  }
  g_cleanup.clear();
}

void refuse_existing_output(const std::string& path, bool force) {
  struct stat st {};
  if (!force && ::lstat(path.c_str(), &st) == 0)
    throw Error(Exit::kUsage, path + ": already exists; not overwriting it",
                "remove it first, choose another name, or pass --force");
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) throw_errno("cannot create", path, ENOENT);
}

OutputFile::OutputFile(std::string path, int mode, bool force) : path_(std::move(path)) {
  if (force) {
    tmp_ = path_ + ".partial." + std::to_string(::getpid());
    fd_ = UniqueFd(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd_) throw_errno("cannot create", tmp_);
  } else {
    fd_ = UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd_) {
      if (errno == EEXIST)
        throw Error(Exit::kUsage, path_ + ": already exists; not overwriting it",
                    "remove it first, choose another name, or pass --force");
      throw_errno("cannot create", path_);
    }
  }
  // The umask must not widen or narrow what we asked for (0600 for secrets).
  ::fchmod(fd_.get(), static_cast<mode_t>(mode));
  writer_ = std::make_unique<FdWriter>(fd_.get(), path_);
  register_cleanup(tmp_.empty() ? path_ : tmp_, false);
}

OutputFile::~OutputFile() {
  const std::string& working = tmp_.empty() ? path_ : tmp_;
  if (!committed_) {
    fd_ = UniqueFd();
    ::unlink(working.c_str());
  }
  unregister_cleanup(working);
}

void OutputFile::write(std::span<const uint8_t> data) {
  writer_->write(data);
  // Write-behind: start writing what is written so far every few MiB, so
  // the fsync in commit() finds little left to do (a large bundle's dirty
  // pages would otherwise all be written then, while nothing else runs).
  unflushed_ += data.size();
  if (unflushed_ >= kWriteBehind) {
    unflushed_ = 0;
    ::sync_file_range(fd_.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
  }
}

void OutputFile::commit() {
  writer_->flush();
  if (::fsync(fd_.get()) != 0 && errno != EINVAL) throw_errno("fsync failed", path_);
  if (::close(fd_.release()) != 0) throw_errno("close failed", path_);
  // From here on the file is the user's: an emergency exit must not remove it.
  unregister_cleanup(tmp_.empty() ? path_ : tmp_);
  if (!tmp_.empty() && ::rename(tmp_.c_str(), path_.c_str()) != 0) throw_errno("cannot rename into place", path_);
  committed_ = true;
}

std::string read_file(const std::string& path) {
  FileReader r(path);
  std::string out;
  uint8_t buf[65536];
  for (;;) {
    size_t n = r.read(buf);
    if (n == 0) break;
    out.append(reinterpret_cast<char*>(buf), n);
  }
  return out;
}

SecureBytes read_secret_file(const std::string& path) {
  FileReader r(path);
  struct stat st {};
  if (::fstat(r.fd(), &st) != 0) throw_errno("cannot stat", path);
  // Key and passphrase files are small; cap them so a wrong path (a device,
  // a huge file) cannot exhaust guarded memory.
  constexpr size_t kMax = 1 << 20;
  SecureBytes buf(kMax);
  size_t got = 0;
  for (;;) {
    if (got == kMax) throw Error(Exit::kUsage, path + ": too large for a key or passphrase file (over 1 MiB)");
    size_t n = r.read(buf.span().subspan(got));
    if (n == 0) break;
    got += n;
  }
  return SecureBytes(buf.span().subspan(0, got));
}

void write_new_file(const std::string& path, std::string_view data, int mode, bool force) {
  OutputFile f(path, mode, force);
  f.write(data);
  f.commit();
}

uint64_t copy_stream(Reader& in, Writer& out) {
  std::vector<uint8_t> buf(1 << 16);
  uint64_t total = 0;
  for (;;) {
    size_t n = in.read(buf);
    if (n == 0) break;
    out.write(std::span<const uint8_t>(buf.data(), n));
    total += n;
    check_interrupted();
  }
  return total;
}

unsigned current_umask() {
  mode_t u = ::umask(077);
  ::umask(u);
  return static_cast<unsigned>(u);
}

}  // namespace airlock
