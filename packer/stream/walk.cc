#include "packer/stream/walk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>

#include "common/io.h"
#include "packer/stream/environment.h"

namespace airlock::packer {

namespace {

const char* kind_of(mode_t m) {
  if (S_ISCHR(m)) return "character device";
  if (S_ISBLK(m)) return "block device";
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISSOCK(m)) return "socket";
  return "special file";
}

std::string octal(uint32_t m) {
  char b[16];
  std::snprintf(b, sizeof b, "%04o", m);
  return b;
}

}  // namespace

void Walker::broken(const std::string& path, const std::string& source, const std::string& reason, bool skippable) {
  if (skippable && opts_.skip_broken_links) {
    result_.skipped.push_back({path, source, reason});
    return;
  }
  throw WalkError(Exit::kUsage, source + ": " + reason,
                  skippable ? "fix or remove it, or pass --skip-broken-links to leave it out (it is then recorded "
                              "in the manifest)"
                            : "");
}

uint32_t Walker::permission_bits(mode_t mode, const std::string& source) {
  uint32_t m = static_cast<uint32_t>(mode) & 07777;
  // setuid/setgid/sticky bits have no business in a shipped environment and
  // the unpacker refuses them: drop them here, loudly.
  if (m & 07000) {
    result_.warnings.push_back(source + ": setuid/setgid/sticky bits dropped (mode " + octal(m) + " -> " +
                               octal(m & 0777) + ")");
    m &= 0777;
  }
  return m;
}

namespace {

// The roots walked in this process (a few: the environment, the
// wheelhouse), kept for as long as entries may name them.
std::mutex roots_mu;
std::deque<std::string> roots;

uint16_t intern_root(const std::string& dir) {
  std::lock_guard lk(roots_mu);
  for (size_t i = 0; i < roots.size(); ++i)
    if (roots[i] == dir) return static_cast<uint16_t>(i);
  if (roots.size() > UINT16_MAX) throw Error(Exit::kUsage, dir + ": too many walked roots in one process");
  roots.push_back(dir);
  return static_cast<uint16_t>(roots.size() - 1);
}

}  // namespace

const std::string& WalkEntry::no_link() {
  static const std::string empty;
  return empty;
}

void WalkEntry::set_link_target(std::string t) {
  if (t.empty() && !links) return;
  if (!links) links = std::make_unique<Links>();
  links->target = std::move(t);
}

void WalkEntry::set_was_link_to(std::string t) {
  if (t.empty() && !links) return;
  if (!links) links = std::make_unique<Links>();
  links->was_link_to = std::move(t);
}

void WalkEntry::set_source(std::string s) {
  if (!links) links = std::make_unique<Links>();
  links->source = std::move(s);
}

std::string WalkEntry::source() const {
  if (links && !links->source.empty()) return links->source;
  const std::string* r;
  {
    std::lock_guard lk(roots_mu);
    if (root >= roots.size()) return path;  // not from a walk
    r = &roots[root];  // a deque's elements stay where they are
  }
  std::string s;
  s.reserve(r->size() + path.size() - prefix_len);
  s += *r;
  s.append(path, prefix_len, std::string::npos);
  return s;
}

void Walker::walk(const std::string& dir, const std::string& archive_prefix) {
  euid_ = ::geteuid();
  char real[PATH_MAX];
  if (!::realpath(dir.c_str(), real)) throw_errno("cannot resolve", dir);
  struct stat st {};
  if (::stat(real, &st) != 0) throw_errno("cannot stat", dir);
  if (!S_ISDIR(st.st_mode)) throw WalkError(Exit::kUsage, dir + ": is not a directory");

  // The real ancestors of the root count as "on the current path": a link
  // to any of them (say, to "/") would walk back into the tree.
  std::vector<std::string> ancestors;
  std::string r = real;
  for (size_t pos = 0; (pos = r.find('/', pos + 1)) != std::string::npos;) ancestors.push_back(r.substr(0, pos));
  ancestors.insert(ancestors.begin(), "/");
  if (r == "/") ancestors.clear();
  std::vector<Frame> stack;
  stack.reserve(64);
  for (const auto& a : ancestors) {
    struct stat ast {};
    if (::stat(a.c_str(), &ast) == 0) stack.push_back({{ast.st_dev, ast.st_ino}, &a});
  }

  if (archive_prefix.size() > UINT8_MAX) throw Error(Exit::kUsage, archive_prefix + ": archive prefix too long");
  root_ = intern_root(dir);
  prefix_len_ = static_cast<uint8_t>(archive_prefix.size());
  int fd = ::open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open directory", dir);
  WalkEntry e;
  e.path = archive_prefix;
  e.type = EntryType::kDir;
  e.mode = permission_bits(st.st_mode, dir);
  e.mtime = st.st_mtim.tv_sec;
  add(std::move(e));
  ++result_.dirs;
  const std::string& root_source = dir;
  stack.push_back({{st.st_dev, st.st_ino}, &root_source});
  walk_dir(fd, root_source, archive_prefix, stack);
  if (feed_) {  // a reader waiting near the end gets the last entries now
    std::lock_guard lk(feed_->mu_);
    if (feed_->waiting_ > 0) feed_->cv_.notify_all();
  }
}

void Walker::walk_dir(int fd, const std::string& source, const std::string& path, std::vector<Frame>& stack) {
  UniqueFd dir(fd);
  // getdents64 directly: opendir/fdopendir would add an fstat and two fcntl
  // calls per directory, and we need nothing but the names.
  std::vector<std::string> names;
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir.get(), dents_.data(), dents_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot read directory", source);
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
      const char* rec = dents_.data() + off;
      uint16_t reclen;
      std::memcpy(&reclen, rec + 16, sizeof reclen);
      const char* nm = rec + 19;
      if (!(nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))) names.emplace_back(nm);
      off += reclen;
    }
  }
  std::sort(names.begin(), names.end());
  int dfd = dir.get();
  for (const auto& n : names) {
    check_interrupted();
    visit(dfd, n.c_str(), source + "/" + n, path + "/" + n, stack);
  }
}

void Walker::visit(int dfd, const char* name, const std::string& source, const std::string& path,
                   std::vector<Frame>& stack) {
  struct stat st {};
  if (::fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return broken(path, source, std::string("cannot stat: ") + std::strerror(errno));

  std::string link;
  if (S_ISLNK(st.st_mode)) {
    std::string buf(st.st_size > 0 ? static_cast<size_t>(st.st_size) + 1 : PATH_MAX, '\0');
    ssize_t n = ::readlinkat(dfd, name, buf.data(), buf.size());
    if (n < 0) return broken(path, source, std::string("cannot read symbolic link: ") + std::strerror(errno));
    buf.resize(static_cast<size_t>(n));
    link = std::move(buf);
    if (::fstatat(dfd, name, &st, 0) != 0) {
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) return broken(path, source, "dangling symbolic link to '" + link + "'");
      if (err == ELOOP)
        return broken(path, source, "symbolic link to '" + link + "' never resolves (a loop of symbolic links)");
      return broken(path, source, "symbolic link to '" + link + "': " + std::strerror(err));
    }
  }

  DevIno id{st.st_dev, st.st_ino};
  if (S_ISDIR(st.st_mode)) {
    for (const auto& f : stack)
      if (f.id == id)
        return broken(path, source,
                      (link.empty() ? std::string("directory") : "symbolic link to '" + link + "'") +
                          " leads back to " + *f.source + ", which contains it (a directory loop)");
    int fd = ::openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return broken(path, source, std::string("cannot open directory: ") + std::strerror(errno));
    WalkEntry e;
    e.path = path;
    e.set_was_link_to(std::move(link));
    e.type = EntryType::kDir;
    e.mode = permission_bits(st.st_mode, source);
    e.mtime = st.st_mtim.tv_sec;
    add(std::move(e));
    ++result_.dirs;
    stack.push_back({id, &source});
    walk_dir(fd, source, path, stack);
    stack.pop_back();
    return;
  }

  if (!S_ISREG(st.st_mode))
    return broken(path, source,
                  std::string("is a ") + kind_of(st.st_mode) +
                      (link.empty() ? "" : " (reached through symbolic link '" + link + "')") +
                      "; only regular files and directories can be packed");

  auto [it, inserted] = seen_.try_emplace(id, static_cast<uint32_t>(result_.entries.size()));
  WalkEntry e;
  e.path = path;
  e.set_was_link_to(std::move(link));
  e.mtime = st.st_mtim.tv_sec;
  if (!inserted) {
    const WalkEntry& first = result_.entries[it->second];
    e.type = EntryType::kHardlink;
    e.set_link_target(first.path);
    e.mode = first.mode;
    e.size = static_cast<uint64_t>(st.st_size);
    add(std::move(e));
    ++result_.hardlinks;
    return;
  }
  // Cheap readability check: root reads everything, the owner's bits are
  // exact for the owner; only other cases need a system call.
  bool readable = euid_ == 0 || (st.st_uid == euid_ ? (st.st_mode & S_IRUSR) != 0
                                                    : ::faccessat(dfd, name, R_OK, AT_EACCESS) == 0);
  if (!readable) {
    seen_.erase(it);
    return broken(path, source, "cannot read: permission denied");
  }
  e.type = EntryType::kFile;
  e.size = static_cast<uint64_t>(st.st_size);
  if (replace)
    if (const Replacement* r = replace(st.st_dev, st.st_ino)) {
      e.size = r->size;
      e.set_source(r->source);
    }
  e.mode = permission_bits(st.st_mode, source);
  ++result_.files;
  result_.bytes += e.size;
  add(std::move(e));
}

void Walker::add(WalkEntry&& e) {
  e.root = root_;
  e.prefix_len = prefix_len_;
  if (!feed_) {
    result_.entries.push_back(std::move(e));
    return;
  }
  // The deque changes under the feed's lock (readers index it under that
  // lock); the walker's own reads of it need none.
  std::lock_guard lk(feed_->mu_);
  if (feed_->stopped_) throw WalkFeed::Stopped{};
  if (e.type == EntryType::kFile) feed_->bytes_ += e.size;
  result_.entries.push_back(std::move(e));
  if (!publish_) return;
  feed_->published_ = result_.entries.size();
  // A reader that caught up is woken every 64 entries, not at each one.
  if (feed_->waiting_ > 0 && feed_->published_ % 64 == 0) feed_->cv_.notify_all();
}

void Walker::hold() {
  publish_ = false;
  if (!feed_) return;
  std::lock_guard lk(feed_->mu_);
  feed_->holding_ = true;
  // A reader waiting for the next entry gets what is published so far now,
  // not after the held part has been walked.
  if (feed_->waiting_ > 0) feed_->cv_.notify_all();
}

void Walker::publish_held(const std::function<void(std::vector<WalkEntry>&)>& edit) {
  std::lock_guard lk(feed_->mu_);
  std::vector<WalkEntry> held;
  while (result_.entries.size() > feed_->published_) {
    held.push_back(std::move(result_.entries.back()));
    result_.entries.pop_back();
  }
  std::reverse(held.begin(), held.end());
  for (const auto& e : held)
    if (e.type == EntryType::kFile) feed_->bytes_ -= e.size;
  edit(held);
  for (auto& e : held) {
    if (e.type == EntryType::kFile) feed_->bytes_ += e.size;
    result_.entries.push_back(std::move(e));
  }
  publish_ = true;
  feed_->holding_ = false;
  feed_->published_ = result_.entries.size();
  feed_->cv_.notify_all();
}

std::unique_ptr<WalkFeed> WalkFeed::of(const std::deque<WalkEntry>& entries) {
  auto f = std::make_unique<WalkFeed>();
  f->entries_ = &entries;
  f->published_ = entries.size();
  f->done_ = true;
  return f;
}

const WalkEntry* WalkFeed::at(size_t i, bool wait) {
  std::unique_lock lk(mu_);
  if (failure_) std::rethrow_exception(failure_);
  while (i >= published_) {
    if (done_) return nullptr;
    if (stopped_ || !wait) return nullptr;
    ++waiting_;
    cv_.wait(lk);
    --waiting_;
  }
  return &(*entries_)[i];
}

std::pair<uint64_t, uint64_t> WalkFeed::totals() {
  std::lock_guard lk(mu_);
  return {entries_ ? entries_->size() : 0, bytes_};
}

bool WalkFeed::done() {
  std::lock_guard lk(mu_);
  return done_;
}

void WalkFeed::check() {
  std::lock_guard lk(mu_);
  if (failure_) std::rethrow_exception(failure_);
}

void WalkFeed::finish(std::exception_ptr failure) {
  std::lock_guard lk(mu_);
  if (entries_ && !failure && !holding_) published_ = entries_->size();
  failure_ = failure;
  done_ = true;
  cv_.notify_all();
}

void WalkFeed::stop() {
  std::lock_guard lk(mu_);
  stopped_ = true;
  cv_.notify_all();
}

WalkResult walk_tree(const std::string& dir, const std::string& archive_prefix, const WalkOptions& opts) {
  Walker w(opts);
  w.walk(dir, archive_prefix);
  return w.take();
}

WalkResult walk_environment(const Environment& env, const WalkOptions& opts) { return walk_tree(env.prefix, "env", opts); }

}  // namespace airlock::packer
