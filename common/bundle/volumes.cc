#include "common/bundle/volumes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>

#include "common/bundle/format.h"
#include "common/hash.h"
#include "common/minisign/minisign.h"

namespace airlock::bundle {

namespace {

constexpr std::string_view kIndexSuffix = ".volumes";
constexpr std::string_view kSigSuffix = ".minisig";
constexpr std::string_view kCommentPrefix = "airlock-bundle/1 bundle-id:";

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

std::string base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string with_commas(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string accepted_sizes() {
  std::string s = "give bytes (4194304), K, M or G as powers of 1024 (4M, 4G), or a preset:";
  for (const auto& p : kVolumePresets)
    s += std::string(&p == &kVolumePresets[0] ? " " : ", ") + std::string(p.name) + " (" + with_commas(p.bytes) +
         " bytes, " + std::string(p.medium) + ")";
  return s;
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

uint64_t parse_volume_size(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Error(Exit::kUsage, "--volume-size " + quote(text) + ": " + why, accepted_sizes());
  };
  for (const auto& p : kVolumePresets)
    if (text == p.name) return p.bytes;
  size_t i = 0;
  uint64_t n = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (n > (UINT64_MAX - 9) / 10) throw bad("too large");
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == 0) throw bad("not a size");
  std::string_view unit = text.substr(i);
  int shift = 0;
  if (!unit.empty()) {
    char u = static_cast<char>(unit[0] & ~0x20);  // K, M, G in either case
    shift = u == 'K' ? 10 : u == 'M' ? 20 : u == 'G' ? 30 : -1;
    std::string_view rest = unit.substr(1);
    if (shift < 0 || !(rest.empty() || rest == "iB" || rest == "ib")) {
      // "4MB" could mean 4,000,000 or 4,194,304: refuse rather than guess.
      if (shift >= 0 && (rest == "B" || rest == "b"))
        throw bad("ambiguous unit " + quote(unit) + "; K, M and G are powers of 1024 here (4M = 4,194,304 bytes)");
      throw bad("unknown unit " + quote(unit));
    }
  }
  if (shift && n > (UINT64_MAX >> shift)) throw bad("too large");
  n <<= shift;
  if (n == 0) throw bad("a volume must hold at least one byte; the minimum is 1 MiB");
  if (n < kMinVolumeSize)
    throw Error(Exit::kUsage,
                "--volume-size " + quote(text) + " (" + with_commas(n) + " bytes) is below the minimum of 1 MiB (" +
                    with_commas(kMinVolumeSize) + " bytes)",
                "no removable medium is that small, and volume names stop at .999, so smaller volumes would only "
                "limit a bundle to less than 1 GiB; " +
                    accepted_sizes());
  return n;
}

std::string volume_size_text(uint64_t bytes) {
  std::string s = with_commas(bytes) + " bytes";
  for (const auto& p : kVolumePresets)
    if (p.bytes == bytes) return s + " (" + std::string(p.name) + ")";
  for (auto [shift, unit] : {std::pair{30, "GiB"}, std::pair{20, "MiB"}, std::pair{10, "KiB"}})
    if (bytes && bytes % (uint64_t{1} << shift) == 0)
      return s + " (" + std::to_string(bytes >> shift) + " " + unit + ")";
  return s;
}

uint64_t volumes_needed(uint64_t bytes, uint64_t volume_size) {
  return bytes == 0 ? 1 : (bytes - 1) / volume_size + 1;
}

std::string volume_path(std::string_view bundle, int number) {
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, ".%03d", number);
  return std::string(bundle) + suffix;
}

std::string index_path(std::string_view bundle) { return std::string(bundle) + std::string(kIndexSuffix); }
std::string index_sig_path(std::string_view bundle) { return index_path(bundle) + std::string(kSigSuffix); }

std::optional<int> volume_number(std::string_view path) {
  if (path.size() < 5 || path[path.size() - 4] != '.') return std::nullopt;
  int n = 0;
  for (char c : path.substr(path.size() - 3)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > kMaxVolumes) return std::nullopt;
  return n;
}

void check_volume_name(const std::string& bundle) {
  std::string name = base_name(bundle);
  if (name.empty() || name == "." || name == "..")
    throw Error(Exit::kUsage, quote(bundle) + ": not a file name for a bundle", "give -o NAME.sealed");
  // sha256sum writes such names escaped ("\\" first), which `-c` reads
  // back but other readers of the index would not.
  if (name.find_first_of("\\\n\r") != std::string::npos)
    throw Error(Exit::kUsage, quote(bundle) + ": a volume's name may not hold a backslash or a line break",
                "sha256sum would escape it in NAME.sealed.volumes; choose another name");
  if (name.size() + kIndexSuffix.size() + kSigSuffix.size() > 255)
    throw Error(Exit::kUsage, quote(bundle) + ": name too long for its index (NAME.sealed.volumes.minisig must fit "
                              "in 255 bytes)");
}

std::string format_index(const VolumeIndex& index) {
  std::string out;
  for (const auto& v : index.volumes) out += v.sha256 + "  " + v.name + "\n";
  return out;
}

VolumeIndex parse_index(std::string_view text, std::string_view index_file_name) {
  std::string file(index_file_name);
  if (file.size() <= kIndexSuffix.size() || !file.ends_with(kIndexSuffix))
    throw VolumeError(quote(file) + ": not the name of a volume index (NAME.sealed.volumes)");
  VolumeIndex ix;
  ix.bundle_name = file.substr(0, file.size() - kIndexSuffix.size());
  if (text.empty()) throw VolumeError(file + ": empty; an index lists at least one volume");
  if (text.back() != '\n') throw VolumeError(file + ": the last line does not end with a line feed (truncated?)");
  size_t pos = 0;
  for (int line = 1; pos < text.size(); ++line) {
    size_t end = text.find('\n', pos);
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    std::string where = file + " line " + std::to_string(line) + ": ";
    if (line > kMaxVolumes) throw VolumeError(where + "more than " + std::to_string(kMaxVolumes) + " volumes");
    if (l.find('\r') != std::string_view::npos) throw VolumeError(where + "carriage return (CRLF line endings?)");
    if (l.size() < 67 || !is_hex64(l.substr(0, 64)) || l.substr(64, 2) != "  ")
      throw VolumeError(where + "not \"<sha256 in lowercase hex>  <file>\": " + quote(l));
    std::string name(l.substr(66));
    std::string want = volume_path(ix.bundle_name, line);
    if (name != want)
      throw VolumeError(where + "lists " + quote(name) + ", expected \"" + want + "\"",
                        "an index lists its bundle's volumes in order, under the index's own name without .volumes");
    ix.volumes.push_back({std::move(name), std::string(l.substr(0, 64))});
  }
  return ix;
}

std::string index_trusted_comment(std::string_view bundle_id, std::string_view index_file_name, size_t volumes) {
  return std::string(kCommentPrefix) + std::string(bundle_id) + " file:" + std::string(index_file_name) +
         " volumes:" + std::to_string(volumes);
}

std::string check_index_comment(std::string_view comment, std::string_view index_file_name, size_t volumes) {
  std::string sig = std::string(index_file_name) + std::string(kSigSuffix);
  std::string id = comment.starts_with(kCommentPrefix) ? std::string(comment.substr(kCommentPrefix.size(), 36)) : "";
  if (!is_uuid(id))
    throw VolumeError(sig + ": trusted comment " + quote(comment) + " is not \"" + std::string(kCommentPrefix) +
                      "<uuid> file:" + std::string(index_file_name) + " volumes:<N>\"");
  std::string want = index_trusted_comment(id, index_file_name, volumes);
  if (comment != want)
    throw VolumeError(sig + ": trusted comment is " + quote(comment, 400) + ", expected \"" + want + "\"",
                      "the signed index names another file or another number of volumes than this one holds");
  return id;
}

// --- VolumeWriter ----------------------------------------------------------

// One new file: created O_EXCL (or under a temporary name with force),
// removed on destruction unless published.
class VolumeWriter::Pending {
 public:
  Pending(std::string path, bool force) : path_(std::move(path)) {
    work_ = force ? path_ + ".partial." + std::to_string(::getpid()) : path_;
    fd_ = UniqueFd(::open(work_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd_) {
      if (errno == EEXIST && !force)
        throw Error(Exit::kUsage, path_ + ": already exists; not overwriting it",
                    "remove it first, choose another name, or pass --force");
      throw_errno("cannot create", work_);
    }
    register_cleanup(work_, false);
    ::fchmod(fd_.get(), 0644);
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) throw_errno("cannot stat", work_);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    out_ = std::make_unique<FdWriter>(fd_.get(), path_);
  }
  ~Pending() {
    out_.reset();
    fd_ = UniqueFd();
    if (!published_) ::unlink(work_.c_str());
    unregister_cleanup(work_);
  }
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

  void write(std::span<const uint8_t> data) {
    out_->write(data);
    sha_.update(data);
    size_ += data.size();
    // Write-behind, as OutputFile does: the fsync at the end finds little left.
    if ((unsynced_ += data.size()) >= (16u << 20)) {
      out_->flush();
      ::sync_file_range(fd_.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
      unsynced_ = 0;
    }
  }
  void flush() {
    if (out_) out_->flush();
  }
  // Flushes, fsyncs and records the hash (streamed, or read back if the
  // file was written again at a position); then closes unless `keep_open`.
  void finalize(bool keep_open) {
    flush();
    if (::fsync(fd_.get()) != 0 && errno != EINVAL) throw_errno("fsync failed", path_);
    sha256 = dirty_ ? hash_from_file() : sha_.hex_digest();
    dirty_ = false;
    final_ = true;
    if (!keep_open) close_fd();
  }
  void close_fd() {
    out_.reset();
    if (fd_ && ::close(fd_.release()) != 0) throw_errno("close failed", path_);
  }
  // The file again, for a positioned write or a re-read; it must still be
  // the one this writer created.
  int fd() {
    if (fd_) return fd_.get();
    fd_ = UniqueFd(::open(work_.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!fd_ || ::fstat(fd_.get(), &st) != 0) throw_errno("cannot open again", work_);
    if (st.st_dev != dev_ || st.st_ino != ino_)
      throw Error(Exit::kUsage, path_ + ": replaced by another file while being written");
    out_ = std::make_unique<FdWriter>(fd_.get(), path_);
    return fd_.get();
  }
  void pwrite_at(uint64_t offset, std::span<const uint8_t> data) {
    int f = fd();
    flush();
    if (::pwrite(f, data.data(), data.size(), static_cast<off_t>(offset)) != static_cast<ssize_t>(data.size()))
      throw_errno("cannot write back at offset " + std::to_string(offset) + " of", path_);
    dirty_ = true;
    final_ = false;  // its hash, if taken, is stale: taken again at close()
  }
  // Reads the file from the start through SHA-256 (and `also`, if given).
  std::string hash_from_file(const std::function<void(std::span<const uint8_t>)>& also = {}) {
    int f = fd();
    Sha256 h;
    std::vector<uint8_t> buf(4 << 20);
    uint64_t off = 0;
    for (;;) {
      check_interrupted();
      ssize_t n = ::pread(f, buf.data(), buf.size(), static_cast<off_t>(off));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("read failed", path_);
      }
      if (n == 0) break;
      std::span<const uint8_t> chunk(buf.data(), static_cast<size_t>(n));
      h.update(chunk);
      if (also) also(chunk);
      off += static_cast<uint64_t>(n);
    }
    if (off != size_)
      throw Error(Exit::kUsage, path_ + ": is " + std::to_string(off) + " bytes on disk, " + std::to_string(size_) +
                                    " were written");
    return h.hex_digest();
  }
  void publish() {
    if (work_ != path_ && ::rename(work_.c_str(), path_.c_str()) != 0) throw_errno("cannot rename into place", path_);
    published_ = true;
    unregister_cleanup(work_);
  }

  std::string path_, work_;
  std::string sha256;  // once final
  uint64_t size_ = 0;
  bool final_ = false;

 private:
  UniqueFd fd_;
  std::unique_ptr<FdWriter> out_;
  Sha256 sha_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  uint64_t unsynced_ = 0;
  bool dirty_ = false, published_ = false;
};

void VolumeWriter::refuse_existing(const std::string& bundle, bool force) {
  check_volume_name(bundle);
  size_t slash = bundle.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : bundle.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(Exit::kUsage, dir + ": no such directory for the volumes", "create it first, or choose another");
  if (force) return;
  std::vector<std::string> found;
  for (int i = 1; i <= kMaxVolumes; ++i)
    if (exists(volume_path(bundle, i))) found.push_back(volume_path(bundle, i));
  for (const auto& p : {index_path(bundle), index_sig_path(bundle)})
    if (exists(p)) found.push_back(p);
  if (!found.empty())
    throw Error(Exit::kUsage,
                found[0] + (found.size() > 1 ? " and " + std::to_string(found.size() - 1) + " more" : "") +
                    ": already exist" + (found.size() > 1 ? "" : "s") + "; not overwriting volumes",
                "remove the old set first (" + base_name(bundle) + ".[0-9][0-9][0-9] " + base_name(bundle) +
                    ".volumes*), choose another name, or pass --force");
}

VolumeWriter::VolumeWriter(std::string bundle, uint64_t volume_size, bool force)
    : bundle_(std::move(bundle)), index_path_(index_path(bundle_)), size_(volume_size), force_(force) {
  if (size_ == 0) throw Error(Exit::kUsage, "volume size 0");
  check_volume_name(bundle_);
}

VolumeWriter::~VolumeWriter() = default;  // Pending removes what was not committed

VolumeWriter::Pending& VolumeWriter::start_volume() {
  if (volumes_.size() >= static_cast<size_t>(kMaxVolumes))
    throw Error(Exit::kUsage,
                bundle_ + ": the bundle needs more than " + std::to_string(kMaxVolumes) + " volumes of " +
                    volume_size_text(size_) + " (names stop at .999); nothing was kept",
                "choose a larger --volume-size");
  // The one before is complete: synced and hashed now. The first stays
  // open: the envelope writes payload.age's header into it at the end.
  if (!volumes_.empty()) volumes_.back()->finalize(/*keep_open=*/volumes_.size() == 1);
  volumes_.push_back(std::make_unique<Pending>(volume_path(bundle_, static_cast<int>(volumes_.size()) + 1), force_));
  return *volumes_.back();
}

void VolumeWriter::write(std::span<const uint8_t> data) {
  if (closed_) throw std::logic_error("VolumeWriter: write after close");
  while (!data.empty()) {
    Pending* v = volumes_.empty() || volumes_.back()->size_ == size_ ? &start_volume() : volumes_.back().get();
    size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), size_ - v->size_));
    v->write(data.first(n));
    total_ += n;
    data = data.subspan(n);
  }
}

void VolumeWriter::finish() {
  if (!volumes_.empty()) volumes_.back()->flush();
}

void VolumeWriter::patch(uint64_t offset, std::span<const uint8_t> data) {
  if (offset + data.size() > total_ || offset + data.size() < offset)
    throw std::logic_error("VolumeWriter::patch past what was written");
  while (!data.empty()) {
    size_t i = static_cast<size_t>(offset / size_);
    uint64_t within = offset % size_;
    size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), size_ - within));
    volumes_[i]->pwrite_at(within, data.first(n));
    offset += n;
    data = data.subspan(n);
  }
}

const VolumeIndex& VolumeWriter::close() {
  if (closed_) return index_;
  if (volumes_.empty()) throw std::logic_error("VolumeWriter::close with nothing written");
  index_.bundle_name = base_name(bundle_);
  for (auto& v : volumes_) {
    if (!v->final_) v->finalize(false);
    v->close_fd();
    index_.volumes.push_back({base_name(v->path_), v->sha256});
  }
  closed_ = true;
  return index_;
}

std::string VolumeWriter::write_signed_index(const minisign::SecretKey& key, std::string_view bundle_id) {
  close();
  std::string text = format_index(index_);
  std::string name = base_name(index_path_);
  auto sig = minisign::sign_prehashed(
      key, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
      index_trusted_comment(bundle_id, name, index_.volumes.size()), "signature from airlock packer");
  index_files_.clear();
  for (const auto& [path, content] : {std::pair{index_path_, text}, std::pair{index_sig_path(bundle_), sig.file_text()}}) {
    auto f = std::make_unique<Pending>(path, force_);
    f->write({reinterpret_cast<const uint8_t*>(content.data()), content.size()});
    f->finalize(false);
    index_files_.push_back(std::move(f));
  }
  return sha256_hex(text);
}

std::string VolumeWriter::reread(const std::function<void(uint64_t)>& progress) {
  close();
  Sha256 whole;
  for (auto& v : volumes_) {
    std::string got = v->hash_from_file([&](std::span<const uint8_t> chunk) {
      whole.update(chunk);
      if (progress) progress(chunk.size());
    });
    v->close_fd();
    if (got != v->sha256)
      throw Error(Exit::kUsage, v->path_ + ": read back with SHA-256 " + got + ", but " + v->sha256 +
                                    " was written: the file system or the medium changed it");
  }
  return whole.hex_digest();
}

void VolumeWriter::commit() {
  if (!closed_ || index_files_.empty()) throw std::logic_error("VolumeWriter::commit before the index was written");
  // Everything is synced already (finalize); now the names.
  for (auto& v : volumes_) v->publish();
  for (auto& f : index_files_) f->publish();
  committed_ = true;
  // With --force, volumes of an earlier, larger set would be taken for
  // extra volumes of this one.
  if (force_)
    for (int i = static_cast<int>(volumes_.size()) + 1; i <= kMaxVolumes; ++i)
      if (std::string p = volume_path(bundle_, i); exists(p) && ::unlink(p.c_str()) != 0)
        throw_errno("cannot remove an old volume", p);
}

std::vector<std::string> VolumeWriter::paths() const {
  std::vector<std::string> out;
  for (const auto& v : volumes_) out.push_back(v->path_);
  return out;
}

// --- BundleOutput ------------------------------------------------------------

BundleOutput::BundleOutput(const std::string& path, uint64_t volume_size, bool force) {
  if (volume_size) {
    volumes_ = std::make_unique<VolumeWriter>(path, volume_size, force);
  } else {
    file_ = std::make_unique<OutputFile>(path, 0644, force);
    file_out_ = std::make_unique<FileEnvelopeOutput>(*file_);
  }
}

BundleOutput::~BundleOutput() = default;

EnvelopeOutput& BundleOutput::stream() {
  if (volumes_) return *volumes_;
  return *file_out_;
}

void BundleOutput::seal(const minisign::SecretKey& key, std::string_view bundle_id) {
  if (volumes_) index_sha256_ = volumes_->write_signed_index(key, bundle_id);
}

uint64_t BundleOutput::bytes() const {
  if (volumes_) return volumes_->bytes();
  struct stat st {};
  if (::fstat(file_->fd(), &st) != 0) throw_errno("cannot stat", file_->path());
  return static_cast<uint64_t>(st.st_size);
}

void BundleOutput::commit() {
  if (volumes_) volumes_->commit();
  else file_->commit();
}

}  // namespace airlock::bundle
