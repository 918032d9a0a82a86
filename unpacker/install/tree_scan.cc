// The installed tree's scan (installed_tree.h, scan_tree): a walk that
// never follows a symlink and checks each directory it opens, then the
// regular files hashed on several threads, or their digests taken from
// what the unpack knows of the files it wrote.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/hash.h"
#include "common/sha256_pair.h"
#include "common/io.h"
#include "common/progress.h"
#include "unpacker/install/installed_tree.h"

namespace airlock::unpacker {

namespace {

using FileId = TreeFileId;

std::string shown(const std::string& dest, const std::string& rel) { return rel.empty() ? dest : dest + "/" + rel; }

[[noreturn]] void changed(const std::string& where) {
  throw Error(Exit::kUsage, where + ": changed while the tree was being read", "run the check again");
}

// The tree under `root`, sorted by path, with the identity of each regular
// file. Directories are opened from the root by path and then checked to be
// the directory the listing showed, so a directory swapped for a symlink
// mid-walk is never followed.
WalkedTree walk(int root, const std::string& dest, bool skip_record) {
  auto t0 = std::chrono::steady_clock::now();
  struct stat top;
  if (::fstat(root, &top) != 0) throw_errno("cannot read", dest);
  struct Dir {
    std::string rel;
    dev_t dev;
    ino_t ino;
  };
  std::vector<Dir> todo{{"", top.st_dev, top.st_ino}};
  std::vector<TreeEntry> entries;
  std::vector<FileId> ids;
  while (!todo.empty()) {
    check_interrupted();
    Dir d = std::move(todo.back());
    todo.pop_back();
    UniqueFd fd(::openat(root, d.rel.empty() ? "." : d.rel.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("cannot open directory", shown(dest, d.rel));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) throw_errno("cannot read", shown(dest, d.rel));
    if (st.st_dev != d.dev || st.st_ino != d.ino) changed(shown(dest, d.rel));
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd.get()), ::closedir);
    if (!dir) throw_errno("cannot list directory", shown(dest, d.rel));
    fd.release();
    for (;;) {
      errno = 0;
      dirent* de = ::readdir(dir.get());
      if (!de) {
        if (errno != 0) throw_errno("cannot list directory", shown(dest, d.rel));
        break;
      }
      std::string name = de->d_name;
      if (name == "." || name == "..") continue;
      std::string rel = d.rel.empty() ? name : d.rel + "/" + name;
      if (skip_record && rel == kTreeRecordPath) continue;  // the record cannot hold its own digest
      if (::fstatat(::dirfd(dir.get()), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed since it was listed
        throw_errno("cannot read", shown(dest, rel));
      }
      TreeEntry e;
      e.path = rel;
      e.mode = st.st_mode & 07777;
      FileId id{st.st_dev, st.st_ino, st.st_nlink, S_ISREG(st.st_mode) ? FileStamp::of(st) : FileStamp{}};
      if (S_ISDIR(st.st_mode)) {
        e.type = NodeType::kDir;
        // A file system mounted below DEST is not part of what was unpacked.
        if (st.st_dev == top.st_dev) todo.push_back({rel, st.st_dev, st.st_ino});
      } else if (S_ISREG(st.st_mode)) {
        e.type = NodeType::kFile;
        e.size = static_cast<uint64_t>(st.st_size);
      } else if (S_ISLNK(st.st_mode)) {
        e.type = NodeType::kSymlink;
        e.mode = 0;
        std::string text(static_cast<size_t>(st.st_size) + 1, '\0');
        ssize_t n = ::readlinkat(::dirfd(dir.get()), name.c_str(), text.data(), text.size());
        if (n < 0) throw_errno("cannot read symbolic link", shown(dest, rel));
        if (static_cast<size_t>(n) >= text.size()) changed(shown(dest, rel));
        text.resize(static_cast<size_t>(n));
        e.target = std::move(text);
      } else {
        e.type = NodeType::kSpecial;  // never opened: a fifo would block
      }
      entries.push_back(std::move(e));
      ids.push_back(id);
    }
  }
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return entries[a].path < entries[b].path; });
  WalkedTree w;
  w.dev = top.st_dev;
  w.ino = top.st_ino;
  w.entries.reserve(entries.size());
  w.ids.reserve(entries.size());
  for (size_t i : order) {
    w.entries.push_back(std::move(entries[i]));
    w.ids.push_back(ids[i]);
  }
  w.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return w;
}

// Hashes entries[jobs[k]] on `threads` threads, largest files first so no
// thread is left alone with a big one at the end. Each file is opened from
// the root without following a final symlink and must still be the file
// the walk saw.
void hash_files(int root, const std::string& dest, std::vector<TreeEntry>& entries, const std::vector<FileId>& ids,
                std::vector<size_t> jobs, unsigned threads, Progress& progress) {
  std::sort(jobs.begin(), jobs.end(), [&](size_t a, size_t b) { return entries[a].size > entries[b].size; });
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::exception_ptr err;
  auto work = [&] {
    std::vector<uint8_t> buf(1 << 20);
    // Small files are read whole and hashed a few at a time, two by two
    // (sha256_each); bigger ones are hashed as they are read.
    constexpr size_t kWhole = 1 << 20, kBatch = 8;
    std::vector<std::vector<uint8_t>> whole(kBatch);
    std::vector<size_t> batch;
    auto flush = [&] {
      std::vector<std::span<const uint8_t>> msgs;
      for (size_t b = 0; b < batch.size(); ++b) msgs.emplace_back(whole[b]);
      std::vector<std::array<uint8_t, 32>> digests = sha256_each(msgs);
      uint64_t n = 0;
      for (size_t b = 0; b < batch.size(); ++b) {
        TreeEntry& e = entries[jobs[batch[b]]];
        e.size = whole[b].size();  // what was hashed, even if the file grew since the walk
        e.sha256 = to_hex(digests[b]);
        n += e.size;
      }
      std::lock_guard lk(mu);
      progress.add(batch.size(), n);
      batch.clear();
    };
    // Reads what is left of `fd` into `out`, or hashes it into `h`.
    auto read_rest = [&](int fd, const TreeEntry& e, std::vector<uint8_t>* out, Sha256* h) -> uint64_t {
      uint64_t n = 0;
      for (;;) {
        ssize_t r = ::read(fd, buf.data(), buf.size());
        if (r < 0) {
          if (errno == EINTR) continue;
          throw_errno("read failed", shown(dest, e.path));
        }
        if (r == 0) break;
        auto got = std::span<const uint8_t>(buf.data(), static_cast<size_t>(r));
        if (out) out->insert(out->end(), got.begin(), got.end());
        if (h) h->update(got);
        n += static_cast<uint64_t>(r);
        if (stop.load(std::memory_order_relaxed)) break;
      }
      return n;
    };
    while (!stop.load(std::memory_order_relaxed)) {
      size_t k = next.fetch_add(1);
      try {
        if (k >= jobs.size()) {
          if (!batch.empty()) flush();
          return;
        }
        TreeEntry& e = entries[jobs[k]];
        if (interrupted()) throw Error(Exit::kInterrupted, "interrupted");
        UniqueFd fd(::openat(root, e.path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
        if (!fd) throw_errno("cannot open", shown(dest, e.path));
        struct stat st;
        if (::fstat(fd.get(), &st) != 0) throw_errno("cannot read", shown(dest, e.path));
        const FileId& id = ids[jobs[k]];
        if (!S_ISREG(st.st_mode) || st.st_dev != id.dev || st.st_ino != id.ino) changed(shown(dest, e.path));
        if (static_cast<uint64_t>(st.st_size) <= kWhole) {
          std::vector<uint8_t>& out = whole[batch.size()];
          out.clear();
          read_rest(fd.get(), e, &out, nullptr);
          batch.push_back(k);
          if (batch.size() == kBatch) flush();
          continue;
        }
        Sha256 h;
        uint64_t n = read_rest(fd.get(), e, nullptr, &h);
        e.size = n;  // what was hashed, even if the file grew since the walk
        e.sha256 = h.hex_digest();
        std::lock_guard lk(mu);
        progress.add(1, n);
      } catch (...) {
        std::lock_guard lk(mu);
        if (!err) err = std::current_exception();
        stop = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (err) std::rethrow_exception(err);
}

unsigned default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return std::clamp(n, 1u, 8u);
}

}  // namespace

WalkedTree walk_tree(const std::string& dest, bool skip_record) {
  UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("cannot open directory", dest);
  return walk(root.get(), dest, skip_record);
}

std::vector<TreeEntry> hash_walked(const std::string& dest, WalkedTree w, const ScanOptions& o, ScanStats* stats) {
  auto t0 = std::chrono::steady_clock::now();
  UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("cannot open directory", dest);
  struct stat top;
  if (::fstat(root.get(), &top) != 0) throw_errno("cannot read", dest);
  if (top.st_dev != w.dev || top.st_ino != w.ino) changed(dest);

  // First name of each file (in path order): hashed; later names of the
  // same file: hardlinks to it.
  std::map<FileId, size_t> first;
  std::vector<size_t> jobs, links;
  uint64_t bytes = 0, files = 0, all_bytes = 0, reused = 0;
  for (size_t i = 0; i < w.entries.size(); ++i) {
    if (w.entries[i].type != NodeType::kFile) continue;
    if (w.ids[i].nlink > 1) {
      auto [it, fresh] = first.emplace(w.ids[i], i);
      if (!fresh) {
        links.push_back(i);
        continue;
      }
    }
    ++files;
    all_bytes += w.entries[i].size;
    if (o.known) {
      const FileId& id = w.ids[i];
      if (const KnownFile* k = o.known->find(id.stamp)) {
        w.entries[i].sha256.assign(k->sha256.data(), k->sha256.size());
        ++reused;
        continue;
      }
    }
    jobs.push_back(i);
    bytes += w.entries[i].size;
  }
  unsigned threads = o.threads ? o.threads : default_threads();
  threads = static_cast<unsigned>(std::clamp<size_t>(jobs.size(), 1, threads));
  {
    Progress progress("hashing", o.progress, jobs.size(), bytes);
    hash_files(root.get(), dest, w.entries, w.ids, jobs, threads, progress);
  }
  for (size_t i : links) {
    const TreeEntry& f = w.entries[first.at(w.ids[i])];
    TreeEntry& l = w.entries[i];
    l.type = NodeType::kHardlink;
    l.target = f.path;
    l.size = f.size;
    l.sha256 = f.sha256;
    l.mode = f.mode;
  }
  if (stats) {
    stats->files = files;
    stats->bytes = all_bytes;
    stats->reused = reused;
    stats->threads = threads;
    stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() + w.seconds;
  }
  return std::move(w.entries);
}

std::vector<TreeEntry> scan_tree(const std::string& dest, const ScanOptions& o, ScanStats* stats) {
  return hash_walked(dest, walk_tree(dest), o, stats);
}

}  // namespace airlock::unpacker
